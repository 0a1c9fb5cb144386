"""analyzers.compare on two run bundles: the measured (timed-step) speedup comes with a bootstrap CI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analyzers.compare import compare, format_compare_text
from analyzers.stats import bootstrap_speedup_ci

SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces"
W0, W2 = SAMPLES / "slow_loader_workers0", SAMPLES / "slow_loader_workers2"


def _timed(path: Path) -> list[float]:
    return json.loads((path / "run.json").read_text())["timed_steps"]["step_ms"]


@pytest.fixture(scope="module")
def result():
    if not (W0 / "run.json").exists() or not (W2 / "run.json").exists():
        pytest.skip("sample bundles absent")
    from analyzers.loader import load_traces
    return compare(load_traces(str(W0)), load_traces(str(W2)), findings_a=[], findings_b=[])


def test_measured_speedup_has_a_ci(result):
    a, b = _timed(W0), _timed(W2)
    sp, low, high = bootstrap_speedup_ci(a, b, seed=0)
    assert result["measured_speedup"] == pytest.approx(sp)
    assert result["measured_speedup"] == pytest.approx(np.median(a) / np.median(b))
    assert result["measured_ci_low"] == pytest.approx(low) and result["measured_ci_high"] == pytest.approx(high)
    assert 1.0 < result["measured_ci_low"] <= result["measured_speedup"] <= result["measured_ci_high"]
    assert "95% CI" in format_compare_text(result)
    json.dumps(result)


def test_no_ci_without_timed_step_lists(result):
    from analyzers.loader import load_traces
    ma = load_traces(str(W0))
    ma[0].run_info = {**(ma[0].run_info or {}), "timed_steps": {}}
    d = compare(ma, load_traces(str(W2)), findings_a=[], findings_b=[])
    assert d["measured_ci_low"] is None and d["measured_ci_high"] is None
