"""The Finding object: gain clamping, JSON form, knob validation; the registry and ranking."""
from __future__ import annotations

import json

import pytest

from analyzers.findings import MAX_EVIDENCE_ROWS, Finding
from analyzers.knobs import KnobError
from analyzers.rules import RULES, run_rules
from analyzers.session import AnalysisSession
from analyzers.rules.registry import rule

from trace_builder import TraceBuilder


def test_gain_clamped_to_bottleneck_and_step():
    f = Finding("X1", "t", "high", "s", gain_ms=50.0, bottleneck_ms=10.0, step_ms=100.0)
    assert f.gain_ms == 10.0 and f.gain_pct == pytest.approx(10.0)
    f = Finding("X1", "t", "high", "s", gain_ms=500.0, bottleneck_ms=None, step_ms=100.0)
    assert f.gain_ms == 100.0 and f.gain_pct == pytest.approx(100.0)
    f = Finding("X1", "t", "low", "s", gain_ms=-3.0)
    assert f.gain_ms == 0.0
    f = Finding("X1", "t", "low", "s", gain_ms=float("nan"), bottleneck_ms=1.0)
    assert f.gain_ms == 0.0


def test_to_dict_json_safe_and_capped():
    import numpy as np
    f = Finding("X1", "t", "medium", "s", evidence={"a": np.float32(1.5), "b": np.int64(3), "c": float("inf"),
                                                     "d": np.arange(3)},
                evidence_rows=list(range(1000)), evidence_ranges=[(np.int64(1), np.int64(2), np.int32(3)), (1, 2, -1)],
                gain_ms=1.0, knob="num_workers", knob_value="4", fix="f")
    d = f.to_dict()
    json.dumps(d)
    assert d["evidence"] == {"a": 1.5, "b": 3, "c": None, "d": [0, 1, 2]}
    assert len(d["evidence_rows"]) == MAX_EVIDENCE_ROWS
    assert d["evidence_ranges"][1] == [1, 2, None]
    assert d["knob_value"] == 4  # parsed through the knob vocabulary
    for key in ("rule", "title", "severity", "summary", "gain_ms", "gain_pct", "evidence", "evidence_ranges",
                "evidence_rows", "fix", "fix_snippet", "knob", "knob_value", "caveats", "vendor_specific"):
        assert key in d


def test_unknown_knob_and_bad_severity_rejected():
    with pytest.raises(KnobError):
        Finding("X1", "t", "low", "s", knob="warp_speed", knob_value=True)
    with pytest.raises(ValueError):
        Finding("X1", "t", "urgent", "s")


def test_broken_rule_does_not_hide_others(tmp_path):
    @rule("ZZTEST", "always fails")
    def _boom(f):  # noqa: ANN001
        raise RuntimeError("boom")

    try:
        b = TraceBuilder()
        for t in b.steps(3, 1000.0):
            b.dataloader(t + 1, 300)
            b.op_with_kernel("aten::add", "elementwise_kernel", t + 310, 20, 600)
        session = AnalysisSession([b.load(tmp_path)])
        assert any(f.rule == "DL1" for f in session.findings())
        (err,) = session.rule_errors()
        assert err[:2] == ("ZZTEST", 0) and "RuntimeError: boom" in err[2]
        report = session.report()
        assert any("ZZTEST" in w and "boom" in w for w in report["warnings"])
    finally:
        RULES.pop("ZZTEST", None)


def test_run_rules_accepts_single_model_and_ranks_by_gain(tmp_path):
    b = TraceBuilder()
    for t in b.steps(3, 1000.0):
        b.dataloader(t + 1, 300)
        b.op_with_kernel("aten::mm", "sm80_sgemm", t + 310, 20, 500, args={"Input type": ["float", "float"]})
    found = run_rules(b.load(tmp_path))
    # computed by hand: the 300 us DataLoader range per 1000 us step leaves the GPU idle (gain = all of it);
    # the FP32 matmul kernel runs 500 us per step and PREC1 expects half of it back under AMP
    assert [f.rule for f in found][:2] == ["DL1", "PREC1"]
    assert found[0].gain_ms == pytest.approx(0.300, abs=1e-6)
    assert found[1].gain_ms == pytest.approx(0.250, abs=1e-6)
    assert all(f.rank == 0 for f in found)


def test_only_filter(tmp_path):
    b = TraceBuilder()
    for t in b.steps(3, 1000.0):
        b.dataloader(t + 1, 300)
        b.op_with_kernel("aten::mm", "sm80_sgemm", t + 310, 20, 500, args={"Input type": ["float", "float"]})
    found = run_rules(b.load(tmp_path), only=["PREC1"])
    assert [f.rule for f in found] == ["PREC1"]
