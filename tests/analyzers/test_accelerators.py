"""Accelerators beyond CUDA and ROCm (MTIA, Intel XPU, unknown): device activity from the trace's structure.

Every trace here is written in the shape the issue describes (``process_name`` 'MTIA <n>', category
``mtia_ccp_events`` with jobs, ``dma_request`` copies and ``event_wait`` waits, ``mtia_runtime`` calls with
``correlation`` and ``ac2g`` flows).  Expected figures are worked out by hand below each layout.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzers.breakdown import mean_breakdown_ms, step_breakdown
from analyzers.categories import Kind
from analyzers.gpu_metrics import gpu_metrics
from analyzers.idle_time import idle_time_summary
from analyzers.launch_stats import launch_summary
from analyzers.report_text import format_text
from analyzers.session import AnalysisSession
from analyzers.rules import run_rules
from tests.conftest import reference_path
from trace_builder import TraceBuilder

STEP_US = 1000.0
N_STEPS = 3
MTIA_PID = 17
LAUNCH = "runFunction - job_prep_and_submit_for_execution"


def mtia_trace(device_properties: list[dict[str, Any]] | None = None) -> TraceBuilder:
    """Per step (offsets in us from the step start), all device work on MTIA 0 (pid 17):

    host:   aten::linear [10, 400] with launches [20, 50] (fc job) and [60, 70] (dma); aten::add [655, 690] with
            launch [660, 680] (add job)
    stream 3: fc-dtype_Float [100, 400], dma_request [450, 550], add-dtype_Float [700, 800]
    stream 4: event_wait [600, 650] (no launch)
    Breakdown per step: kernel 400, memcpy 100, device wait 50, runtime 30 + 10 + 20 = 60,
    CPU exec (390 - 300 - 40) + (35 - 20) = 65, other 1000 - 675 = 325.
    """
    b = TraceBuilder.bare()
    b.device_properties = list(device_properties or [])
    b.device_process(MTIA_PID, "MTIA 0")
    for t in b.steps(N_STEPS, STEP_US):
        b.cpu_op("aten::linear", t + 10, 390)
        b.accel_op("mtia_ccp_events", "fc-dtype_Float", t + 100, 300, pid=MTIA_PID, stream=3, launch_name=LAUNCH,
                   launch_ts=t + 20, launch_dur=30)
        b.accel_op("mtia_ccp_events", "dma_request", t + 450, 100, pid=MTIA_PID, stream=3, launch_name=LAUNCH,
                   launch_ts=t + 60, launch_dur=10)
        b.accel_op("mtia_ccp_events", "event_wait", t + 600, 50, pid=MTIA_PID, stream=4)
        b.cpu_op("aten::add", t + 655, 35)
        b.accel_op("mtia_ccp_events", "add-dtype_Float", t + 700, 100, pid=MTIA_PID, stream=3, launch_name=LAUNCH,
                   launch_ts=t + 660, launch_dur=20)
    return b


def test_mtia_device_is_used_with_vendor_devices_and_kinds(tmp_path: Path) -> None:
    m = mtia_trace().load(tmp_path)
    assert m.has_gpu and m.vendor == "mtia"
    assert m.gpu_devices == [0]  # 'MTIA 0' names device 0; no deviceProperties to say otherwise
    kinds = {m.name(r): Kind(int(m.kind[r])) for r in range(len(m)) if m.device[r] >= 0}
    assert kinds == {"fc-dtype_Float": Kind.KERNEL, "add-dtype_Float": Kind.KERNEL, "dma_request": Kind.MEMCPY,
                     "event_wait": Kind.DEVICE_WAIT}
    dev_rows = np.flatnonzero(m.device >= 0)
    assert sorted(set(m.stream[dev_rows].tolist())) == [3, 4]
    labels = {m.tracks.label(t) for t in np.flatnonzero(m.tracks.is_device)}
    assert labels == {"MTIA 0 stream 3", "MTIA 0 stream 4"}
    assert not m.warnings


def test_mtia_breakdown_separates_compute_copies_and_waits(tmp_path: Path) -> None:
    m = mtia_trace().load(tmp_path)
    mean = mean_breakdown_ms(step_breakdown(m))
    expected = {"kernel": 0.400, "memcpy": 0.100, "memset": 0.0, "device_other": 0.0, "device_wait": 0.050,
                "communication": 0.0, "runtime": 0.060, "dataloader": 0.0, "cpu_exec": 0.065, "other": 0.325}
    assert mean == pytest.approx(expected, abs=1e-9)


def test_mtia_utilization_idle_and_launch_statistics(tmp_path: Path) -> None:
    m = mtia_trace().load(tmp_path)
    (g,) = gpu_metrics(m)
    # window = 3 steps of 1000 us; compute jobs 300 + 100 us per step
    assert g.device == 0 and g.window_ms == pytest.approx(3.0)
    assert g.utilization_pct == pytest.approx(100.0 * 3 * 400 / 3000)
    assert g.sm_efficiency_pct is None and g.achieved_occupancy_pct is None
    assert g.tensor_core_pct is None and g.tc_eligible_pct is None  # NVIDIA-only metrics stay off
    launch = launch_summary(m)
    # per step: fc launch 30 us, job 300 us, delay 80 us; add launch 20 us, job 100 us, delay 40 us
    assert launch["kernels"] == 6 and launch["short_kernels"] == 0
    assert launch["median_launch_us"] == pytest.approx(25.0)
    assert launch["median_gpu_us"] == pytest.approx(200.0)
    assert launch["median_delay_us"] == pytest.approx(60.0)
    idle = idle_time_summary(m)
    # stream 3 gaps: 400->450 (dma launched long before: other), 550->700 (add launched at 660: host wait),
    # and 800->1100 between steps (next fc launched at 1020: host wait)
    assert idle["idle_ms"] == pytest.approx((3 * (50 + 150) + 2 * 300) / 1e3)
    assert idle["host_wait_ms"] == pytest.approx((3 * 150 + 2 * 300) / 1e3)
    assert idle["other_ms"] == pytest.approx(3 * 50 / 1e3)


def test_mtia_report_has_no_cpu_only_note_and_no_cpu1(tmp_path: Path) -> None:
    m = mtia_trace([{"id": 0, "name": "ARTEMIS"}]).load(tmp_path)
    findings = run_rules([m])
    assert "CPU1" not in {f.rule for f in findings}
    assert not {"TC1", "OCC1", "CUDNN1", "CL1", "PREC1"} & {f.rule for f in findings}
    # copies: 100 of the 500 us of device work per step (20 %); 'dma_request' names no direction
    copy = next(f for f in findings if f.rule == "COPY1")
    assert copy.evidence["copy_pct_of_gpu"] == pytest.approx(20.0)
    assert "direction not recorded" in copy.summary and "HtoD" not in copy.summary and "cuda" not in copy.fix_snippet
    report = AnalysisSession([m], str(tmp_path)).report()
    assert report["source"]["vendor"] == "mtia"
    assert [d["id"] for d in report["devices"] if d["used"]] == [0]
    assert report["devices"][0]["name"] == "ARTEMIS"
    assert not any("CPU-only" in n for n in report["notes"])
    assert report["launch"]["kernels"] == 6
    assert report["breakdown_ms"]["device_wait"] == pytest.approx(0.050)
    text = format_text(report)
    assert "CPU-only" not in text and "Device wait" in text
    assert "vendor mtia" in text


def test_mtia_device_index_follows_device_properties(tmp_path: Path) -> None:
    # deviceProperties that know the pid (17) win over the number in the process name
    m = mtia_trace([{"id": MTIA_PID, "name": "ARTEMIS"}]).load(tmp_path)
    assert m.gpu_devices == [MTIA_PID]
    report = AnalysisSession([m], str(tmp_path)).report()
    assert [(d["id"], d["used"]) for d in report["devices"]] == [(MTIA_PID, True)]


def xpu_trace() -> TraceBuilder:
    """Intel XPU as XPUPTI writes it: 'kernel' / 'gpu_memcpy' device events with device, stream and correlation
    args, 'xpu_runtime' launches.  Per step: kernel [100, 600] launched at [10, 20], copy [700, 800] launched at
    [30, 35] -> utilization 500 / 1000 per step."""
    b = TraceBuilder.bare(gpu=True, device_name="Intel(R) Data Center GPU Max 1550")
    for t in b.steps(N_STEPS, STEP_US):
        b.accel_op("kernel", "gemm_kernel", t + 100, 500, pid=0, stream=2, device_args=True,
                   launch_name="urEnqueueKernelLaunch", runtime_cat="xpu_runtime", launch_ts=t + 10, launch_dur=10)
        b.accel_op("gpu_memcpy", "Memcpy M2D", t + 700, 100, pid=0, stream=2, device_args=True,
                   launch_name="urEnqueueUSMMemcpy", runtime_cat="xpu_runtime", launch_ts=t + 30, launch_dur=5)
    return b


def test_xpu_trace_is_an_intel_accelerator_run(tmp_path: Path) -> None:
    m = xpu_trace().load(tmp_path)
    assert m.has_gpu and m.vendor == "intel" and m.gpu_devices == [0]
    (g,) = gpu_metrics(m)
    assert g.utilization_pct == pytest.approx(50.0)
    assert g.tensor_core_pct is None and g.sm_efficiency_pct is None
    mean = mean_breakdown_ms(step_breakdown(m))
    assert mean["kernel"] == pytest.approx(0.5) and mean["memcpy"] == pytest.approx(0.1)
    assert mean["runtime"] == pytest.approx(0.015)
    assert launch_summary(m)["kernels"] == N_STEPS
    rules = {f.rule for f in run_rules([m])}
    assert "CPU1" not in rules and not {"TC1", "OCC1", "CUDNN1", "CL1", "PREC1"} & rules


def unknown_trace() -> TraceBuilder:
    """An accelerator TorchScope does not know: category 'npu_task' on process 'NPU 0' launched by
    'privateuse1_runtime' calls, plus one 'npu_dma' event on an unnamed process reached only by its ac2g flow.
    Per step: task [100, 400] (launch [10, 20]), dma [500, 600] on pid 5 (launch [30, 40])."""
    b = TraceBuilder.bare()
    b.device_process(9, "NPU 0")
    for t in b.steps(N_STEPS, STEP_US):
        b.accel_op("npu_task", "matmul_task", t + 100, 300, pid=9, stream=1, launch_name="npuLaunchTask",
                   runtime_cat="privateuse1_runtime", launch_ts=t + 10, launch_dur=10)
        b.accel_op("npu_dma", "dma", t + 500, 100, pid=5, stream=1, launch_name="npuMemcpy",
                   runtime_cat="privateuse1_runtime", launch_ts=t + 30, launch_dur=10)
    return b


def test_unknown_device_work_is_kept_with_a_warning(tmp_path: Path) -> None:
    m = unknown_trace().load(tmp_path)
    dev = np.flatnonzero(m.kind == int(Kind.DEVICE_OTHER))
    assert sorted({m.name(r) for r in dev}) == ["dma", "matmul_task"] and len(dev) == 2 * N_STEPS
    assert m.has_gpu and m.vendor == "unknown"
    assert sorted(m.gpu_devices) == [0, 5]  # 'NPU 0' by name; pid 5 by its pid
    assert any("'npu_task'" in w and "device" in w for w in m.warnings)
    assert any("'npu_dma'" in w for w in m.warnings)
    assert all(m.correlation[r] >= 0 for r in dev)  # linked to the launches by their flows
    mean = mean_breakdown_ms(step_breakdown(m))
    assert mean["device_other"] == pytest.approx(0.4) and mean["kernel"] == 0.0
    assert "CPU1" not in {f.rule for f in run_rules([m])}
    report = AnalysisSession([m], str(tmp_path)).report()
    assert not any("CPU-only" in n for n in report["notes"])
    assert "CPU-only" not in format_text(report)


def test_cpu_only_trace_still_cpu_only(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    for t in b.steps(2, STEP_US):
        b.cpu_op("aten::mm", t + 10, 500)
    m = b.load(tmp_path)
    assert not m.has_gpu and m.vendor == "cpu"
    assert "CPU1" in {f.rule for f in run_rules([m])}


def _raw_events(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path) as fh:
        return json.load(fh)["traceEvents"]


def test_amd_reference_trace_is_amd_with_its_device_work() -> None:
    path = reference_path("hta_amd_mi250_rocm.json.gz")
    from analyzers.loader import load_trace

    m = load_trace(path)
    raw = [e for e in _raw_events(path) if e.get("ph") == "X"]
    assert m.vendor == "amd" and m.has_gpu
    assert int((m.kind == int(Kind.KERNEL)).sum()) == sum(e.get("cat") == "kernel" for e in raw)
    assert int((m.kind == int(Kind.MEMCPY)).sum()) == sum(e.get("cat") == "gpu_memcpy" for e in raw)
    assert not np.isin(m.kind, [int(Kind.DEVICE_WAIT), int(Kind.DEVICE_OTHER)]).any()
    assert m.gpu_devices == sorted({e["args"]["device"] for e in raw if e.get("cat") in ("kernel", "gpu_memcpy")})
    # launches: kernels whose correlation a hip runtime call carries
    runtime_corr = {e["args"].get("correlation") for e in raw if e.get("cat") == "cuda_runtime"}
    linked = sum(e.get("cat") == "kernel" and e["args"].get("correlation") in runtime_corr for e in raw)
    assert launch_summary(m)["kernels"] == linked
    assert not any("device work" in w for w in m.warnings)


def test_unknown_host_events_stay_host_events(tmp_path: Path) -> None:
    # an unknown category on a host thread, with no flow into it, is not device work
    b = mtia_trace()
    b.host_event("my_marker", "checkpoint", 5.0, 2.0)
    m = b.load(tmp_path)
    (row,) = [r for r in range(len(m)) if m.name(r) == "checkpoint"]
    assert Kind(int(m.kind[row])) == Kind.OTHER and m.device[row] == -1
    assert not m.warnings


def test_stream_named_in_text(tmp_path: Path) -> None:
    # args.stream may name the stream ('stream 5') instead of numbering it
    b = TraceBuilder.bare()
    b.device_process(MTIA_PID, "MTIA 1")
    b.step(0, 0.0, STEP_US)
    b.accel_op("mtia_ccp_events", "fc-dtype_Float", 100.0, 300.0, pid=MTIA_PID, stream=5, launch_name=LAUNCH,
               launch_ts=20.0, launch_dur=30.0, args={"stream": "stream 5"})
    m = b.load(tmp_path)
    (row,) = np.flatnonzero(m.kind == int(Kind.KERNEL))
    assert (int(m.device[row]), int(m.stream[row])) == (1, 5)
    assert not m.warnings
    assert launch_summary(m)["kernels"] == 1


ODD_EVENTS = {
    "superscript pid": [{"ph": "X", "cat": "cpu_op", "name": "a", "pid": "²", "tid": 1, "ts": 1.0, "dur": 1.0}],
    "flow ids of odd types": [
        {"ph": "X", "cat": "mtia_runtime", "name": "run", "pid": 1, "tid": 1, "ts": 1.0, "dur": 1.0},
        {"ph": "X", "cat": "mtia_ccp_events", "name": "job", "pid": 2, "tid": 3, "ts": 5.0, "dur": 1.0,
         "args": {"stream": [1], "device": "x"}},
        {"ph": "s", "cat": "ac2g", "name": "ac2g", "id": "zz", "pid": 1, "tid": 1, "ts": 1.0},
        {"ph": "f", "cat": "ac2g", "name": "ac2g", "id": -4, "pid": 2, "tid": 3, "ts": 5.0},
        {"ph": "f", "cat": "ac2g", "name": "ac2g", "id": 7, "pid": 99, "tid": 3, "ts": 5.0},
    ],
    "device process names of odd types": [
        {"ph": "M", "name": "process_name", "pid": 2, "args": {"name": ["MTIA 0"]}},
        {"ph": "M", "name": "process_name", "pid": 3, "args": {"name": "MTIA 99999999999999999999"}},
        {"ph": "X", "cat": "weird", "name": "w", "pid": 3, "tid": 1, "ts": 1.0, "dur": 1.0},
    ],
}


@pytest.mark.parametrize("case", sorted(ODD_EVENTS))
def test_odd_accelerator_inputs_load(tmp_path: Path, case: str) -> None:
    from analyzers.loader import load_trace

    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"traceEvents": ODD_EVENTS[case]}))
    m = load_trace(path)
    assert len(m) >= 1 and all(isinstance(w, str) for w in m.warnings)
