"""Each rule on synthetic traces: it fires above its threshold and stays quiet just under it."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from analyzers.findings import Finding
from analyzers.knobs import KNOBS
from analyzers.rules import RULES, run_rules
from analyzers.session import AnalysisSession
from analyzers.trace_model import CounterTrack

from trace_builder import TraceBuilder

STEP = 1000.0  # us
N = 4


def rules_of(model: Any, **kw: Any) -> dict[str, Finding]:
    found = run_rules([model], **kw)
    check_findings(found)
    return {f.rule: f for f in found}


def strict_findings(models: Any) -> list[Finding]:
    """Findings of ``models`` through the analysis session; fails when any rule raised."""
    session = AnalysisSession([models] if not isinstance(models, list) else models)
    found = session.findings()
    assert not session.rule_errors(), session.rule_errors()
    check_findings(found)
    return found


def check_findings(found: list[Finding]) -> None:
    """Ranked by gain; each finding names its rule, is JSON-safe and proposes only known knobs."""
    gains = [f.gain_ms for f in found]
    assert gains == sorted(gains, reverse=True), "findings must be ranked by gain"
    for f in found:
        assert f.rule in RULES and f.title, f
        if f.knob is not None:
            assert f.knob in KNOBS
            KNOBS[f.knob].parse(f.knob_value)
        d = f.to_dict()
        json.dumps(d)
        for key in ("rule", "title", "severity", "gain_ms", "evidence", "fix"):
            assert key in d


def gpu_steps(b: TraceBuilder, busy_kernel_us: float = 0.0, n: int = N) -> list[float]:
    """ProfilerStep ranges; optionally one filler elementwise kernel per step (not TC-eligible)."""
    starts = list(b.steps(n, STEP))
    if busy_kernel_us:
        for t in starts:
            b.op_with_kernel("aten::add", "elementwise_kernel_add", t + 600, 20, busy_kernel_us,
                             kernel_ts=t + 990 - busy_kernel_us)
    return starts


# ---------------------------------------------------------------------------------------------- DL1
@pytest.mark.parametrize("dl_us, fires", [(60.0, True), (45.0, False)])
def test_dl1_threshold(tmp_path, dl_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.dataloader(t + 1, dl_us)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 100, 20, 800)
    got = rules_of(b.load(tmp_path))
    assert ("DL1" in got) is fires
    if fires:
        f = got["DL1"]
        assert f.knob == "num_workers" and f.knob_value >= 2
        assert f.evidence["single_process_iter"]
        assert f.gain_ms <= dl_us / 1e3 + 1e-9


def test_dl1_multiprocess_does_not_suggest_num_workers_blindly(tmp_path):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.dataloader(t + 1, 200, multi=True)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 300, 20, 600)
    f = rules_of(b.load(tmp_path))["DL1"]
    assert f.knob is None  # workers already used, count unknown: advice in words only
    assert f.evidence["multi_process_iter"]


def test_dl1_no_more_workers_than_cores(tmp_path):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.dataloader(t + 1, 200, multi=True)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 300, 20, 600)
    m = b.load(tmp_path)
    m.run_info = {"settings": {"num_workers": 2}, "env": {"cpu_count": 2, "torch_threads": 1}}
    f = rules_of(m)["DL1"]
    assert f.knob is None and "oversubscribe" in f.fix
    m.run_info["env"]["cpu_count"] = 8
    f = rules_of(m)["DL1"]
    assert f.knob == "num_workers" and f.knob_value == 4


# ---------------------------------------------------------------------------------------------- H2D1
@pytest.mark.parametrize("copy_us, fires", [(30.0, True), (15.0, False)])
def test_h2d1_threshold(tmp_path, copy_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.memcpy("Memcpy HtoD (Pageable -> Device)", t + 20, copy_us, launch_ts=t + 10, launch_dur=4)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 100, 20, 700)
    got = rules_of(b.load(tmp_path))
    assert ("H2D1" in got) is fires
    if fires:
        assert got["H2D1"].knob == "pin_memory" and got["H2D1"].knob_value is True


def test_h2d1_quiet_for_pinned(tmp_path):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.memcpy("Memcpy HtoD (Pinned -> Device)", t + 20, 100, launch_ts=t + 10)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 200, 20, 700)
    assert "H2D1" not in rules_of(b.load(tmp_path))


# ---------------------------------------------------------------------------------------------- SYNC1
def _sync_trace(b: TraceBuilder, syncs_per_step: int, kernel_us: float) -> None:
    for t in gpu_steps(b):
        cursor = t + 5
        for _ in range(syncs_per_step):
            k = b.kernel("elementwise_kernel", cursor + 10, kernel_us, launch_ts=cursor, launch_dur=5)
            b.cpu_op("aten::item", cursor + 6, kernel_us + 8)
            b.sync(cursor + 6, kernel_us + 6)
            cursor = k["ts"] + kernel_us + 30  # the next launch comes after the sync returns: GPU gap
        del cursor


def test_sync1_fires_on_many_syncs(tmp_path):
    b = TraceBuilder()
    _sync_trace(b, 3, 100.0)
    f = rules_of(b.load(tmp_path))["SYNC1"]
    assert f.evidence["sync_calls_per_step"] == pytest.approx(3.0)
    assert 0 < f.gain_ms <= f.bottleneck_ms


def test_sync1_quiet_under_threshold(tmp_path):
    b = TraceBuilder()
    _sync_trace(b, 2, 10.0)  # 2 per step (not > 2), ~3 % of the step
    assert "SYNC1" not in rules_of(b.load(tmp_path))


# ---------------------------------------------------------------------------------------------- PREC1 / TC1
def _gemm_trace(b: TraceBuilder, gemm_us: float, dtype: str | None, kernel: str = "sm80_sgemm_128x64_nn",
                dims: list | None = None, op: str = "aten::mm") -> None:
    for t in gpu_steps(b):
        args = {}
        if dtype is not None:
            args["Input type"] = [dtype, dtype]
            args["Input Dims"] = dims or [[64, 64], [64, 64]]
        b.op_with_kernel(op, kernel, t + 10, 30, gemm_us, args=args)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 50, 20, 900 - gemm_us, kernel_ts=t + 60 + gemm_us)


@pytest.mark.parametrize("gemm_us, fires", [(300.0, True), (150.0, False)])
def test_prec1_threshold(tmp_path, gemm_us, fires):
    b = TraceBuilder()
    _gemm_trace(b, gemm_us, "float")
    got = rules_of(b.load(tmp_path))
    assert ("PREC1" in got) is fires
    if fires:
        f = got["PREC1"]
        assert f.knob == "amp" and f.knob_value == "bf16"  # A100: bf16
        assert f.gain_ms <= gemm_us / 1e3 + 1e-9


def test_prec1_volta_suggests_fp16(tmp_path):
    b = TraceBuilder(device_name="Tesla V100-SXM2-32GB", compute_major=7, num_sms=80)
    _gemm_trace(b, 400.0, "float")
    f = rules_of(b.load(tmp_path))["PREC1"]
    assert f.knob_value == "fp16"
    assert any("GradScaler" in c for c in f.caveats)


def test_prec1_never_when_already_half(tmp_path):
    b = TraceBuilder()
    _gemm_trace(b, 600.0, "c10::BFloat16", kernel="sm80_xmma_gemm_bf16bf16_bf16f32")
    got = rules_of(b.load(tmp_path))
    assert "PREC1" not in got and "TC1" not in got


def test_prec1_not_before_volta(tmp_path):
    b = TraceBuilder(device_name="Tesla P100-PCIE-16GB", compute_major=6, num_sms=56)
    _gemm_trace(b, 600.0, "float")
    got = rules_of(b.load(tmp_path))
    assert "PREC1" not in got and "TC1" not in got


def test_prec1_amd_without_nvidia_claims(tmp_path):
    b = TraceBuilder(device_name="AMD Instinct MI250X", compute_major=9, num_sms=110)
    _gemm_trace(b, 600.0, "float", kernel="Cijk_Ailk_Bljk_SB_MT64x64")
    got = rules_of(b.load(tmp_path))
    assert "PREC1" in got
    f = got["PREC1"]
    assert not f.vendor_specific and "Tensor Core" not in f.summary and "TF32" not in f.summary
    for rule in ("TC1", "OCC1", "CUDNN1", "CL1", "THR1"):
        assert rule not in got
    assert not any(x.vendor_specific for x in got.values())


@pytest.mark.parametrize("kernel, fires", [("volta_sgemm_128x64_nn", True), ("volta_h884gemm_128x64_nn", False)])
def test_tc1_without_dtypes(tmp_path, kernel, fires):
    b = TraceBuilder(device_name="Tesla V100-SXM2-32GB", compute_major=7, num_sms=80)
    _gemm_trace(b, 400.0, None, kernel=kernel)
    got = rules_of(b.load(tmp_path))
    assert ("TC1" in got) is fires
    assert "PREC1" not in got  # no dtypes recorded: PREC1 cannot know
    if fires:
        assert got["TC1"].vendor_specific and got["TC1"].knob == "amp"


def test_tc1_under_threshold(tmp_path):
    b = TraceBuilder(device_name="Tesla V100-SXM2-32GB", compute_major=7, num_sms=80)
    _gemm_trace(b, 150.0, None, kernel="volta_sgemm_128x64_nn")
    assert "TC1" not in rules_of(b.load(tmp_path))


# ---------------------------------------------------------------------------------------------- ALIGN1
@pytest.mark.parametrize("dims, fires", [([[32, 1000], [1001, 1000], [1001]], True),
                                         ([[32, 1024], [1024, 1024], [1024]], False)])
def test_align1(tmp_path, dims, fires):
    b = TraceBuilder()
    _gemm_trace(b, 500.0, "c10::BFloat16", kernel="sm80_xmma_gemm_bf16bf16_bf16f32", dims=dims, op="aten::linear")
    got = rules_of(b.load(tmp_path))
    assert ("ALIGN1" in got) is fires
    if fires:
        assert 1001 in got["ALIGN1"].evidence["sizes"]


# ---------------------------------------------------------------------------------------------- OCC1
@pytest.mark.parametrize("small_us, fires", [(150.0, True), (80.0, False)])
def test_occ1_threshold(tmp_path, small_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.op_with_kernel("aten::add", "small_grid_kernel", t + 10, 20, small_us, grid=(54, 1, 1))  # 0.5 blocks/SM
        b.op_with_kernel("aten::mul", "big_grid_kernel", t + 40, 20, 900 - small_us, kernel_ts=t + 60 + small_us,
                         grid=(1080, 1, 1))
    got = rules_of(b.load(tmp_path))
    assert ("OCC1" in got) is fires
    if fires:
        assert got["OCC1"].vendor_specific


# ---------------------------------------------------------------------------------------------- LAUNCH1 / CPUOH1
def test_launch1_fires_on_tiny_kernels(tmp_path):
    b = TraceBuilder()
    for t in gpu_steps(b):
        for i in range(40):
            b.op_with_kernel("aten::add", "tiny_elementwise", t + 10 + i * 24, 20, 3)
    got = rules_of(b.load(tmp_path))
    f = got["LAUNCH1"]
    assert f.knob == "compile" and f.knob_value == "reduce-overhead"
    assert f.evidence["gpu_busy_pct"] < 50
    assert "CPUOH1" not in got  # one explanation for the same idle time


def test_launch1_quiet_when_gpu_busy(tmp_path):
    b = TraceBuilder()
    for t in gpu_steps(b):
        for i in range(40):
            b.op_with_kernel("aten::add", "elementwise", t + 2 + i * 24, 20, 23, kernel_ts=t + 30 + i * 24)
    assert "LAUNCH1" not in rules_of(b.load(tmp_path))


@pytest.mark.parametrize("python_us, fires", [(400.0, True), (40.0, False)])
def test_cpuoh1(tmp_path, python_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.op_with_kernel("aten::mm", "elementwise_a", t + 2, 20, 300, kernel_ts=t + 20)
        b.cpu_op("aten::python_glue", t + 25, python_us)  # host busy: the next launch comes late
        nxt = t + 20 + 300 + python_us
        b.op_with_kernel("aten::mul", "elementwise_b", nxt - 5, 20, 990 - (320 + python_us) - 5, kernel_ts=nxt + 2)
    got = rules_of(b.load(tmp_path))
    assert ("CPUOH1" in got) is fires


# ---------------------------------------------------------------------------------------------- OPT1
@pytest.mark.parametrize("opt_us, fires", [(150.0, True), (80.0, False)])
def test_opt1(tmp_path, opt_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.op_with_kernel("aten::add", "elementwise", t + 2, 20, 500)
        t0 = t + 600
        b.annotation("Optimizer.step#SGD.step", t0, opt_us)
        for i in range(60):
            o = b.cpu_op("aten::add_", t0 + 1 + i * (opt_us - 2) / 60, (opt_us - 2) / 60 * 0.9)
            b.kernel("elementwise_add_", o["ts"] + 1.5, 1.0, launch_ts=o["ts"] + 0.1, launch_dur=1.0)
    got = rules_of(b.load(tmp_path))
    assert ("OPT1" in got) is fires
    if fires:
        assert got["OPT1"].knob == "optimizer_impl" and got["OPT1"].knob_value == "fused"


@pytest.mark.parametrize("fills, zg_us, fires", [(True, 40.0, True), (True, 8.0, False), (False, 40.0, False)])
def test_opt2_zero_grad(tmp_path, fills, zg_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.op_with_kernel("aten::add", "elementwise", t + 2, 20, 500)
        b.annotation("Optimizer.zero_grad#SGD.zero_grad", t + 600, zg_us)
        if fills:
            for i in range(4):
                b.cpu_op("aten::zero_", t + 601 + i * zg_us / 4, zg_us / 5)
    got = rules_of(b.load(tmp_path))
    assert ("OPT2" in got) is fires
    if fires:
        assert got["OPT2"].knob == "zero_grad_to_none" and got["OPT2"].gain_ms <= zg_us / 1e3 + 1e-9


# ---------------------------------------------------------------------------------------------- MEM1
@pytest.mark.parametrize("frac, fires", [(0.95, True), (0.85, False)])
def test_mem1(tmp_path, frac, fires):
    total = 40 * 2**30
    b = TraceBuilder(total_mem=total)
    for t in gpu_steps(b, busy_kernel_us=500):
        b.memory(t + 5, 1 << 20, int(total * frac * 0.5))
        b.memory(t + 50, 1 << 20, int(total * frac))
    got = rules_of(b.load(tmp_path))
    assert ("MEM1" in got) is fires


def test_prec1_ampere_fp32_convs_count_tf32(tmp_path):
    b = TraceBuilder()  # A100
    _conv_trace(b, 400.0, "float", NCHW)
    f = rules_of(b.load(tmp_path))["PREC1"]
    assert "TF32" in f.summary
    assert f.gain_ms == pytest.approx(0.25 * 0.4, rel=0.05)  # convs already run TF32: a smaller gain


# ---------------------------------------------------------------------------------------------- CUDNN1 / CL1
def _conv_trace(b: TraceBuilder, conv_us: float, dtype: str, strides: list) -> None:
    for t in gpu_steps(b):
        b.op_with_kernel("aten::conv2d", "sm80_xmma_fprop_implicit_gemm_kernel", t + 5, 30, conv_us,
                         args={"Input type": [dtype, dtype], "Input Dims": [[32, 64, 56, 56], [64, 64, 3, 3]],
                               "Input Strides": [strides, [576, 9, 3, 1]]})
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 40, 20, 900 - conv_us, kernel_ts=t + 50 + conv_us)


NCHW = [200704, 3136, 56, 1]
NHWC = [200704, 1, 3584, 64]


def _bundle(model: Any, **settings: Any) -> Any:
    model.run_info = {"settings": settings, "env": {"cpu_count": 8, "torch_threads": 4}, "workload_kind": "train",
                      "timed_steps": {"median_ms": 1.0}}
    return model


@pytest.mark.parametrize("conv_us, fires", [(300.0, True), (150.0, False)])
def test_cudnn1_threshold(tmp_path, conv_us, fires):
    b = TraceBuilder()
    _conv_trace(b, conv_us, "float", NCHW)
    got = rules_of(_bundle(b.load(tmp_path), cudnn_benchmark=False))
    assert ("CUDNN1" in got) is fires
    if fires:
        assert got["CUDNN1"].knob == "cudnn_benchmark" and got["CUDNN1"].knob_value is True


def test_cudnn1_only_for_collected_runs_with_benchmark_off(tmp_path):
    b = TraceBuilder()
    _conv_trace(b, 500.0, "float", NCHW)
    m = b.load(tmp_path)
    assert "CUDNN1" not in rules_of(m)  # a foreign trace: the setting is unknown
    assert "CUDNN1" not in rules_of(_bundle(m, cudnn_benchmark=True))


@pytest.mark.parametrize("strides, conv_us, fires", [(NCHW, 400.0, True), (NHWC, 400.0, False), (NCHW, 150.0, False)])
def test_cl1(tmp_path, strides, conv_us, fires):
    b = TraceBuilder()
    _conv_trace(b, conv_us, "c10::Half", strides)
    got = rules_of(b.load(tmp_path))
    assert ("CL1" in got) is fires
    if fires:
        assert got["CL1"].knob == "channels_last"


def test_cl1_quiet_for_fp32(tmp_path):
    b = TraceBuilder()
    _conv_trace(b, 400.0, "float", NCHW)
    assert "CL1" not in rules_of(b.load(tmp_path))


# ---------------------------------------------------------------------------------------------- COPY1
@pytest.mark.parametrize("copy_us, fires", [(150.0, True), (80.0, False)])
def test_copy1(tmp_path, copy_us, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.memcpy("Memcpy DtoD (Device -> Device)", t + 20, copy_us, launch_ts=t + 10)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 30, 20, 900 - copy_us, kernel_ts=t + 40 + copy_us)
    got = rules_of(b.load(tmp_path))
    assert ("COPY1" in got) is fires


# ---------------------------------------------------------------------------------------------- DIST1
@pytest.mark.parametrize("comm_us, overlapped, fires", [(200.0, False, True), (80.0, False, False),
                                                         (200.0, True, False)])
def test_dist1(tmp_path, comm_us, overlapped, fires):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.op_with_kernel("aten::mm", "compute_kernel", t + 5, 20, 500, kernel_ts=t + 20)
        k_ts = t + 100 if overlapped else t + 530
        b.annotation("nccl:all_reduce", k_ts - 10, 15)
        b.kernel("ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*, unsigned long, ncclWork*)", k_ts, comm_us,
                 launch_ts=k_ts - 8, launch_dur=4, stream=20)
    got = rules_of(b.load(tmp_path))
    assert ("DIST1" in got) is fires
    if fires:
        assert got["DIST1"].evidence["overlap_pct"] < 50


# ---------------------------------------------------------------------------------------------- THR1
@pytest.mark.parametrize("value, fires", [(0x4, True), (0x1, False)])
def test_thr1(tmp_path, value, fires):
    b = TraceBuilder()
    gpu_steps(b, busy_kernel_us=500)
    m = _bundle(b.load(tmp_path))
    ts = np.arange(0, int(N * STEP * 1000), 100_000, dtype=np.int64)
    vals = np.zeros(len(ts))
    vals[len(ts) // 2:] = value
    m.counters.append(CounterTrack("GPU 0 Clock event reasons", "bitmask", ts, vals, device=0, source="samples"))
    got = rules_of(m)
    assert ("THR1" in got) is fires
    if fires:
        assert "SW power cap" in got["THR1"].evidence["reasons"]
        assert got["THR1"].gain_ms == 0.0


# ---------------------------------------------------------------------------------------------- CPU rules
def _cpu_trace(b: TraceBuilder, linear_us: float, backward: bool = False, seq: bool = False) -> None:
    for t in b.steps(N, STEP):
        extra = {"Sequence number": 1} if seq else {}
        b.cpu_op("aten::linear", t + 5, linear_us, args={"Input Dims": [[1, 1024], [1024, 1024], [1024]],
                                                          "Input type": ["float"] * 3, **extra})
        for i in range(50):
            b.cpu_op("aten::relu", t + 10 + linear_us + i * 15, 14, args=dict(extra))
        if backward:
            b.cpu_op("autograd::engine::evaluate_function: AddmmBackward0", t + 900, 50)


def test_cpu1_on_cpu_only_and_not_on_gpu(tmp_path):
    b = TraceBuilder(gpu=False)
    _cpu_trace(b, 200)
    got = rules_of(b.load(tmp_path))
    assert "CPU1" in got and got["CPU1"].severity == "info"
    gpu_rules = {s.id for s in RULES.values() if s.gpu}
    assert not gpu_rules & set(got)
    b2 = TraceBuilder()
    _gemm_trace(b2, 300, "float")
    assert "CPU1" not in rules_of(b2.load(tmp_path, name="g.json"))


@pytest.mark.parametrize("linear_us, backward, fires", [(600.0, False, True), (200.0, False, False),
                                                        (600.0, True, False)])
def test_cpuq1(tmp_path, linear_us, backward, fires):
    b = TraceBuilder(gpu=False)
    _cpu_trace(b, linear_us, backward=backward)
    got = rules_of(b.load(tmp_path))
    assert ("CPUQ1" in got) is fires
    if fires:
        assert got["CPUQ1"].knob == "dynamic_quant" and got["CPUQ1"].knob_value is True


def test_cpuq1_not_when_already_set(tmp_path):
    b = TraceBuilder(gpu=False)
    _cpu_trace(b, 600)
    m = _bundle(b.load(tmp_path), dynamic_quant=True)
    m.run_info["workload_kind"] = "infer"
    assert "CPUQ1" not in rules_of(m)


@pytest.mark.parametrize("threads, workers, fires", [(2, 2, True), (1, 1, False)])
def test_thread1(tmp_path, threads, workers, fires):
    b = TraceBuilder(gpu=False)
    _cpu_trace(b, 300)
    m = b.load(tmp_path)
    m.run_info = {"settings": {"num_workers": workers}, "env": {"cpu_count": 2, "torch_threads": threads},
                  "workload_kind": "train"}
    got = rules_of(m)
    assert ("THREAD1" in got) is fires
    if fires:
        assert got["THREAD1"].knob == "threads" and got["THREAD1"].knob_value == 1
    assert "THREAD1" not in rules_of(b.load(tmp_path, name="foreign.json"))  # foreign trace: unknown


@pytest.mark.parametrize("seq, fires", [(True, True), (False, False)])
def test_inf1(tmp_path, seq, fires):
    b = TraceBuilder(gpu=False)
    _cpu_trace(b, 200, seq=seq)
    got = rules_of(b.load(tmp_path))
    assert ("INF1" in got) is fires
    if fires:
        assert got["INF1"].knob == "inference_mode"


def test_inf1_not_when_set(tmp_path):
    b = TraceBuilder(gpu=False)
    _cpu_trace(b, 200, seq=True)
    m = _bundle(b.load(tmp_path), inference_mode=True)
    m.run_info["workload_kind"] = "infer"
    assert "INF1" not in rules_of(m)


# ---------------------------------------------------------------------------------------------- settings
def test_no_suggestion_of_a_knob_already_set(tmp_path):
    b = TraceBuilder()
    for t in gpu_steps(b):
        b.dataloader(t + 1, 100)
        b.memcpy("Memcpy HtoD (Pageable -> Device)", t + 120, 60, launch_ts=t + 110)
        b.op_with_kernel("aten::mm", "sm80_sgemm", t + 200, 20, 600, args={"Input type": ["float", "float"]})
    m = _bundle(b.load(tmp_path), amp="bf16", pin_memory=True)
    got = rules_of(m)
    for f in got.values():
        if f.knob is not None:
            assert m.settings.get(f.knob) != f.knob_value, f"{f.rule} suggests {f.knob} which is already set"
    assert "PREC1" not in got and "H2D1" not in got


def test_every_catalog_rule_is_registered():
    """The registry holds exactly the catalog (RULES.md), OPT2, INF1 and the CPU speed rules: none lost, none unlisted."""
    catalog = {"DL1", "H2D1", "SYNC1", "PREC1", "TC1", "ALIGN1", "OCC1", "LAUNCH1", "CPUOH1", "OPT1", "OPT2", "MEM1",
               "CUDNN1", "CL1", "COPY1", "DIST1", "CPU1", "CPUQ1", "THREAD1", "THR1", "INF1",
               "CPUBF16", "CPUFUSE1", "CPUCL1", "GRAPHBRK1", "RECOMP1", "STRAG1"}
    assert set(RULES) == catalog
    assert all(spec.title and spec.id == rid for rid, spec in RULES.items())
