"""Rules read per-step figures: one outlier step never decides a finding (issue: advice that holds)."""
from __future__ import annotations

import numpy as np
import pytest

from analyzers.step_stats import StepSeries, per_step_ns, step_cv, step_index

from test_rules_synthetic import rules_of
from trace_builder import TraceBuilder

STEP_US = 1000.0


def _cpu_steps(b: TraceBuilder, n: int, step_us: float = STEP_US) -> list[float]:
    return list(b.steps(n, step_us))


def _cpu_optimizer(b: TraceBuilder, t0: float, opt_us: float, name: str = "AdamW") -> None:
    b.annotation(f"Optimizer.step#{name}.step", t0, opt_us)
    for i in range(20):
        b.cpu_op("aten::mul_", t0 + 1 + i * (opt_us - 2) / 20, (opt_us - 2) / 20 * 0.9)


def test_step_series_median_and_most_steps() -> None:
    s = StepSeries(ms=np.array([1.0, 1.0, 60.0, 1.0, 1.0]), step_ms=np.full(5, 100.0))
    assert s.median_ms == 1.0 and s.median_share_pct == 1.0
    assert not s.holds_in_most(10.0)  # one step in five over 10 %
    assert s.holds_in_most(0.5)
    assert s.spread()["max_ms"] == 60.0 and s.spread()["per_step_ms"][2] == 60.0


def test_per_step_sums_by_start() -> None:
    starts, ends = np.array([0, 100, 200]), np.array([100, 200, 300])
    assert step_index(np.array([-5, 0, 99, 100, 299, 300]), starts, ends).tolist() == [-1, 0, 0, 1, 2, -1]
    assert per_step_ns(np.array([10, 20, 150, 350]), np.array([1, 2, 4, 8]), starts, ends).tolist() == [3, 4, 0]
    assert step_cv(np.array([10.0, 10.0, 10.0])) == 0.0 and step_cv(np.array([1.0, 2.0])) is None


def test_one_slow_optimizer_step_raises_no_opt1(tmp_path) -> None:
    """The GPT-2 case: AdamW.step took 25, 50 and 696 ms; the mean crossed the threshold, no step did."""
    b = TraceBuilder.bare()
    for i, t in enumerate(_cpu_steps(b, 5)):
        b.cpu_op("aten::addmm", t + 10, 500)
        _cpu_optimizer(b, t + 520, 600.0 if i == 2 else 50.0)
    assert "OPT1" not in rules_of(b.load(tmp_path))


def test_cpu_optimizer_advice_is_fused_never_foreach(tmp_path) -> None:
    b = TraceBuilder.bare()
    for t in _cpu_steps(b, 5):
        b.cpu_op("aten::addmm", t + 10, 500)
        _cpu_optimizer(b, t + 520, 300.0)
    f = rules_of(b.load(tmp_path / "a"))["OPT1"]
    assert (f.knob, f.knob_value) == ("optimizer_impl", "fused")
    # median optimizer step 0.300 ms; a fused step saves half of it on a CPU
    assert f.evidence["optimizer_ms_per_step"] == pytest.approx(0.300)
    assert f.gain_ms == pytest.approx(0.150)
    assert f.evidence["per_step"]["per_step_ms"] == pytest.approx([0.3] * 5)


def test_cpu_optimizer_without_fused_kernel_gets_no_foreach_advice(tmp_path) -> None:
    b = TraceBuilder.bare()
    for t in _cpu_steps(b, 5):
        b.cpu_op("aten::addmm", t + 10, 500)
        _cpu_optimizer(b, t + 520, 300.0, name="RMSprop")
    assert "OPT1" not in rules_of(b.load(tmp_path))


@pytest.mark.parametrize("slow_steps, fires", [(1, False), (2, False), (3, True), (5, True)])
def test_dl1_fires_only_when_most_steps_stall(tmp_path, slow_steps: int, fires: bool) -> None:
    """A loaded machine slowed the loader in one step: no DL1; a stall in most steps: DL1 with that median."""
    b = TraceBuilder.bare()
    for i, t in enumerate(_cpu_steps(b, 5)):
        b.dataloader(t + 1, 400.0 if i < slow_steps else 20.0)
        b.cpu_op("aten::addmm", t + 450, 500)
    got = rules_of(b.load(tmp_path))
    assert ("DL1" in got) is fires
    if fires:
        assert got["DL1"].evidence["dataloader_ms_per_step"] == pytest.approx(0.400 if slow_steps >= 3 else 0.020)
        assert got["DL1"].evidence["per_step"]["min_ms"] == pytest.approx(0.400 if slow_steps == 5 else 0.020)


# ------------------------------------------------------------------ GPU rules: per step, by the launching step
def _gpu_steps(b: TraceBuilder, n: int = 5) -> list[float]:
    return list(b.steps(n, STEP_US))


def _fp32_gemm_step(b: TraceBuilder, t: float, gemm_us: float, *, kernel_ts: float | None = None) -> None:
    """One step: an FP32 GEMM (Tensor-Core eligible) and an elementwise filler; 900 us of GPU time."""
    b.op_with_kernel("aten::mm", "sm80_sgemm_128x64_nn", t + 10, 30, gemm_us, kernel_ts=kernel_ts,
                     args={"Input type": ["float", "float"], "Input Dims": [[64, 64], [64, 64]]})
    b.op_with_kernel("aten::add", "elementwise_kernel", t + 50, 20, 900 - gemm_us,
                     kernel_ts=(kernel_ts or t + 46) + gemm_us + 10)


@pytest.mark.parametrize("fp32_steps, fires", [(1, False), (2, False), (3, True), (5, True)])
def test_prec1_fires_only_when_most_steps_are_fp32_heavy(tmp_path, fp32_steps: int, fires: bool) -> None:
    """One 800 us FP32 GEMM step and four 50 us ones: the window mean is 22 % (over 20 %), no step pattern."""
    b = TraceBuilder()
    for i, t in enumerate(_gpu_steps(b)):
        _fp32_gemm_step(b, t, 800.0 if i < fp32_steps else 50.0)
    got = rules_of(b.load(tmp_path))
    assert ("PREC1" in got) is fires
    if fires:
        f = got["PREC1"]
        # the median step's FP32 GEMM: 0.8 ms, its share 800/900 of that step's GPU time
        assert f.evidence["fp32_eligible_ms_per_step"] == pytest.approx(0.800 if fp32_steps >= 3 else 0.050)
        assert f.evidence["fp32_eligible_pct_of_gpu"] == pytest.approx(100 * 800 / 900)
        assert f.gain_ms == pytest.approx(0.5 * 0.800)  # A100, not convolutions: half of the FP32 time


def test_gpu_work_counts_in_the_step_that_launched_it(tmp_path) -> None:
    """The GPU runs 1.1 steps behind the host: each step's GEMM executes in the next step's window."""
    b = TraceBuilder()
    for t in _gpu_steps(b):
        _fp32_gemm_step(b, t, 300.0, kernel_ts=t + 1100)
    f = rules_of(b.load(tmp_path))["PREC1"]
    assert f.evidence["per_step"]["per_step_ms"] == pytest.approx([0.300] * 5)


def test_tc1_needs_most_steps(tmp_path) -> None:
    b = TraceBuilder(device_name="Tesla V100-SXM2-32GB", compute_major=7, num_sms=80)
    for i, t in enumerate(_gpu_steps(b)):
        gemm_us = 800.0 if i == 0 else 50.0
        b.op_with_kernel("aten::mm", "volta_sgemm_128x64_nn", t + 10, 30, gemm_us)
        b.op_with_kernel("aten::add", "elementwise_kernel", t + 50, 20, 900 - gemm_us, kernel_ts=t + 60 + gemm_us)
    assert "TC1" not in rules_of(b.load(tmp_path))


def test_occ1_needs_most_steps(tmp_path) -> None:
    """Small-grid kernels fill one step (80 %); 5 % in the others: the window share (20 %) is no pattern."""
    b = TraceBuilder()
    for i, t in enumerate(_gpu_steps(b)):
        small = 720.0 if i == 0 else 45.0
        b.op_with_kernel("aten::add", "small_grid_kernel", t + 10, 20, small, grid=(54, 1, 1))
        b.op_with_kernel("aten::mul", "big_grid_kernel", t + 40, 20, 900 - small, kernel_ts=t + 60 + small,
                         grid=(1080, 1, 1))
    assert "OCC1" not in rules_of(b.load(tmp_path))


def _conv_step(b: TraceBuilder, t: float, conv_us: float) -> None:
    nchw = [200704, 3136, 56, 1]
    b.op_with_kernel("aten::conv2d", "sm80_xmma_fprop_implicit_gemm_kernel", t + 5, 30, conv_us,
                     args={"Input type": ["c10::Half", "c10::Half"], "Input Dims": [[32, 64, 56, 56], [64, 64, 3, 3]],
                           "Input Strides": [nchw, [576, 9, 3, 1]]})
    b.op_with_kernel("aten::add", "elementwise_kernel", t + 40, 20, 900 - conv_us, kernel_ts=t + 50 + conv_us)


@pytest.mark.parametrize("conv_steps, fires", [(1, False), (4, True)])
def test_cl1_needs_most_steps(tmp_path, conv_steps: int, fires: bool) -> None:
    """One conv-heavy step (98 %) and four light ones (7 %): the window share, 25 %, is over 20 %."""
    b = TraceBuilder()
    for i, t in enumerate(_gpu_steps(b)):
        _conv_step(b, t, 880.0 if i < conv_steps else 60.0)
    got = rules_of(b.load(tmp_path))
    assert ("CL1" in got) is fires
    if fires:
        assert got["CL1"].evidence["conv_ms_per_step"] == pytest.approx(0.880)


def test_launch1_needs_most_steps(tmp_path) -> None:
    """The GPU 12 % busy in two steps and 57 % in three: 39 % over the window, launch-bound in no majority."""
    b = TraceBuilder()
    for i, t in enumerate(_gpu_steps(b)):
        for j in range(40):
            b.op_with_kernel("aten::add", "tiny_elementwise", t + 10 + j * 24, 20, 3)
        if i >= 2:
            b.op_with_kernel("aten::mul", "elementwise_long", t + 500, 4, 450, kernel_ts=t + 510, stream=8)
    assert "LAUNCH1" not in rules_of(b.load(tmp_path))


def test_launch1_per_step_figures(tmp_path) -> None:
    b = TraceBuilder()
    for t in _gpu_steps(b):
        for j in range(40):
            b.op_with_kernel("aten::add", "tiny_elementwise", t + 10 + j * 24, 20, 3)
    f = rules_of(b.load(tmp_path))["LAUNCH1"]
    # 40 kernels of 3 us in a 1000 us step: busy 12 %, idle 880 us
    assert f.evidence["gpu_busy_pct"] == pytest.approx(12.0)
    assert f.evidence["idle_ms_per_step"] == pytest.approx(0.880)
    assert f.evidence["steps_launch_bound"] == 5
