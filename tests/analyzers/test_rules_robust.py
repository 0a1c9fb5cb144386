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
