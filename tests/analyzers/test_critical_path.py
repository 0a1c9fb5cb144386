"""Critical path (HTA's model): a hand-built step whose path is worked out below, HTA 0.5's figures on the
reference traces, and the one-line reasons when there is no path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.critical_path import CriticalPath
from analyzers.session import AnalysisSession
from profiler_gui.cli import main
from tests.conftest import reference_path
from tests.analyzers.trace_builder import TraceBuilder

ALEXNET_FORWARD = "[param|pytorch.model.alex_net|0|0|0|measure|forward]"


def _sync_step(tmp_path: Path) -> Path:
    """One step: op 0-100 us launches A (stream 7, 20-80) at 10, then B (82-85, queued behind A) at 22, then
    blocks in cudaStreamSynchronize 25-90 until the stream drains (GPU 'Stream Sync' event ends at 85).

    Longest path by hand: op start 0 -> A's launch call 10 (cpu 10) -> A starts 20 (launch delay 10: nothing
    else was queued on the stream at its launch nor at its start) -> A ends 80 (gpu 60) -> B starts 82
    (kernel-kernel gap 2: B was launched while A was queued) -> B ends 85 (gpu 3) -> sync edge (0) -> the sync
    call ends 90 -> op ends 100 (cpu 10).  95 us: cpu 20, gpu 63, gap 2, launch 10.  The host-only route
    (0 -> 10 -> 15 -> 22 -> 24 -> 25 -> 90 (a blocking call weighs 0) -> 100) is 35 us.  HTA 0.5 on this file
    (annotation ProfilerStep, instance 0) gives the same: cpu 20, gpu 63, gap 2, launch 10."""
    b = TraceBuilder.bare(gpu=True)
    b.step(1, 0, 100)
    b.cpu_op("aten::work", 0, 100)
    b.kernel("A", 20, 60, launch_ts=10, launch_dur=5)
    b.kernel("B", 82, 3, launch_ts=22, launch_dur=2)
    b.runtime("cudaStreamSynchronize", 25, 65, correlation=999)
    b.host_event("cuda_sync", "Stream Sync", 25, 60, args={"stream": 7, "device": 0, "correlation": 999})
    b.events[-1].update(pid=0, tid=7)  # the sync event sits on the GPU stream's track
    return b.write(tmp_path / "step.pt.trace.json")


def test_synthetic_step_path(tmp_path: Path) -> None:
    ra = AnalysisSession.load(_sync_step(tmp_path)).rank(0)
    cp = ra.critical_path()
    assert isinstance(cp, CriticalPath), cp
    assert cp.window == "ProfilerStep#1" and cp.instance == 0
    assert cp.length_us == 95
    assert cp.bound_by_us == {"cpu_bound": 20, "gpu_compute_bound": 63, "gpu_kernel_kernel_overhead": 2,
                              "gpu_kernel_launch_overhead": 10}
    assert [op["name"] for op in cp.top_ops][:3] == ["A", "aten::work", "B"]
    assert cp.warnings == []
    assert ra.critical_path() is cp and ra.memo.counts["critical_path[None|None]"] == 1


@pytest.mark.parametrize("trace, length_us, shares", [
    # HolisticTraceAnalysis 0.5.0 (pandas 2.3.3): ta.critical_path_analysis(rank=0, annotation=ALEXNET_FORWARD,
    # instance_id=1); edf = cp.get_critical_path_breakdown(); edf.groupby("bound_by").duration.sum()
    ("hta_alexnet_a100.json.gz", 35834, {"cpu_bound": 89.417871, "gpu_compute_bound": 10.358877,
                                         "gpu_kernel_kernel_overhead": 0.139532, "gpu_kernel_launch_overhead": 0.083719}),
    ("hta_simple_add_a100.json.gz", 241724, {"cpu_bound": 99.779087, "gpu_compute_bound": 0.210157,
                                             "gpu_kernel_kernel_overhead": 0.003723,
                                             "gpu_kernel_launch_overhead": 0.007033}),
])
def test_reference_matches_hta(trace: str, length_us: int, shares: dict[str, float]) -> None:
    ra = AnalysisSession.load(reference_path(trace)).rank(0)
    cp = ra.critical_path(ALEXNET_FORWARD, 1)
    assert isinstance(cp, CriticalPath), cp
    assert cp.length_us == pytest.approx(length_us, rel=0.01)
    for key, pct in shares.items():
        assert cp.bound_by_pct[key] == pytest.approx(pct, abs=1.0), key


def test_nccl_step_matches_hta() -> None:
    """HTA 0.5 on hta_nccl_a100 (annotation 'ProfilerStep', instance 1): 101,398 us, all cpu_bound."""
    cp = AnalysisSession.load(reference_path("hta_nccl_a100.json.gz")).rank(0).critical_path()
    assert (cp.window, cp.instance) == ("ProfilerStep#5", 1)
    assert cp.length_us == pytest.approx(101398, rel=0.01) and cp.bound_by_pct["cpu_bound"] == pytest.approx(100.0)


def test_alexnet_top_op_is_cudamalloc() -> None:
    """HTA attributes 31,525 us of the forward's path to cudaMalloc (its breakdown, grouped by name)."""
    cp = AnalysisSession.load(reference_path("hta_alexnet_a100.json.gz")).rank(0).critical_path(ALEXNET_FORWARD, 1)
    assert cp.top_ops[0]["name"] == "cudaMalloc" and cp.top_ops[0]["ms"] == pytest.approx(31.525, abs=0.05)


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["critical-path", str(_sync_step(tmp_path)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["length_ms"] == pytest.approx(0.095)
    assert set(out["bound_by_pct"]) == {"cpu_bound", "gpu_compute_bound", "gpu_kernel_kernel_overhead",
                                        "gpu_kernel_launch_overhead"}
    assert out["top_ops"][0]["name"] == "A"


@pytest.mark.parametrize("args, reason", [
    (["--annotation", "nothing-like-this"], "no annotation containing 'nothing-like-this'"),
    (["--instance", "5"], "instance 5 of 'ProfilerStep' does not exist"),
])
def test_cli_bad_window(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], reason: str) -> None:
    path = _sync_step(tmp_path)
    assert main(["critical-path", str(path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and reason in err and str(path) in err


def test_cli_no_steps_no_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = TraceBuilder.bare(gpu=True)
    b.kernel("k", 20, 5, launch_ts=10)
    path = b.write(tmp_path / "nostep.pt.trace.json")
    assert main(["critical-path", str(path)]) == 2
    assert "no profiler steps in this trace (pass --annotation NAME)" in capsys.readouterr().err
    cpu = TraceBuilder.bare()
    cpu.step(1, 0, 10)
    cpu.cpu_op("aten::add", 1, 5)
    assert main(["critical-path", str(cpu.write(tmp_path / "cpu.pt.trace.json"))]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no GPU work" in err


def test_no_sync_events_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = TraceBuilder.bare(gpu=True)
    b.step(1, 0, 50)
    b.cpu_op("aten::mm", 0, 50)
    b.kernel("gemm", 20, 40, launch_ts=5, launch_dur=5)
    path = str(b.write(tmp_path / "nosync.pt.trace.json"))
    assert main(["critical-path", path]) == 0
    out = capsys.readouterr().out
    assert "Critical path of ProfilerStep#1" in out and "note: no CUDA sync events" in out
    assert main(["critical-path", path, "--json"]) == 0
    captured = capsys.readouterr()
    assert "no CUDA sync events" in captured.err and json.loads(captured.out)["warnings"]


def test_gpu_idle_gap_named_after_the_host_op_that_delayed_it(tmp_path: Path) -> None:
    """Each 1 ms step: mm's kernel runs 20-320 us, then 400 us of Python glue (25-425) delays mul's launch
    (715-735, kernel at 722): the GPU idles 320 -> 722 = 402 us, on the critical path, because of the glue.
    CPUOH1 names it in its evidence."""
    b = TraceBuilder()
    for t in b.steps(4, 1000.0):
        b.op_with_kernel("aten::mm", "elementwise_a", t + 2, 20, 300, kernel_ts=t + 20)
        b.cpu_op("aten::python_glue", t + 25, 400)
        b.op_with_kernel("aten::mul", "elementwise_b", t + 715, 20, 990 - 720 - 5, kernel_ts=t + 722)
    ra = AnalysisSession.load(b.write(tmp_path / "glue.pt.trace.json")).rank(0)
    cp = ra.critical_path()
    assert (cp.window, cp.instance) == ("ProfilerStep#1", 1)
    (delay,) = cp.idle_delays
    assert delay["delayed_by"] == "aten::python_glue" and delay["next_gpu_op"] == "elementwise_b"
    assert delay["gap_ms"] == pytest.approx(0.402) and delay["delayed_by_ms"] == pytest.approx(0.4, abs=0.002)
    (cpuoh,) = [f for f in ra.findings if f.rule == "CPUOH1"]
    assert cpuoh.evidence["critical_path_gpu_idle_delayed_by"][0]["op"] == "aten::python_glue"


def test_cli_failed_analysis_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import analyzers.rank_analysis as rank_analysis

    def broken(*_: object) -> None:
        raise ValueError("the critical path graph has a cycle")

    monkeypatch.setattr(rank_analysis, "critical_path_or_reason", broken)
    path = _sync_step(tmp_path)
    assert main(["critical-path", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "has a cycle" in err and str(path) in err
