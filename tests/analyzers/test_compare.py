"""compare(A, B) on synthetic traces: speedup, breakdown delta, top changes, resolved/new findings."""
from __future__ import annotations

import json

import pytest

from analyzers.compare import classify_findings, compare, format_compare_text
from analyzers.findings import Finding

from trace_builder import TraceBuilder


def _trace(tmp_path, name: str, *, dl_us: float, step_us: float, n: int = 4, kernel: str = "elementwise_kernel",
           dims: list | None = None):
    b = TraceBuilder()
    for t in b.steps(n, step_us):
        if dl_us:
            b.dataloader(t + 1, dl_us)
        args = {"Input Dims": dims, "Input type": ["float", "float"]} if dims else None
        b.op_with_kernel("aten::add", kernel, t + dl_us + 5, 20, step_us - dl_us - 40, args=args)
    return b.load(tmp_path, name=name)


def test_compare_dataloader_fix(tmp_path):
    a = _trace(tmp_path, "a.json", dl_us=300, step_us=1000)
    b = _trace(tmp_path, "b.json", dl_us=0, step_us=700, n=6)
    d = compare(a, b)
    json.dumps(d)
    assert d["a"]["steps"]["mean_ms"] == pytest.approx(1.0)
    assert d["b"]["steps"]["mean_ms"] == pytest.approx(0.7)
    assert d["speedup"] == pytest.approx(1.0 / 0.7)
    assert d["a"]["path"].endswith("a.json") and d["b"]["path"].endswith("b.json")
    assert d["breakdown_delta_ms"]["dataloader"] == pytest.approx(-0.3, abs=0.02)
    assert "DL1" in d["resolved"] and d["new"] == []
    top = d["top_changes"][0]
    assert top["name"].startswith("enumerate(DataLoader)") and top["kind"] == "op"
    assert top["a_ms"] == pytest.approx(0.3) and top["b_ms"] == 0.0 and top["delta_ms"] == pytest.approx(-0.3)
    assert d["measured_speedup"] is None
    text = format_compare_text(d)
    assert "1.43x" in text and "DL1" in text and "dataloader" in text


def test_compare_per_step_normalised_kernels(tmp_path):
    a = _trace(tmp_path, "a.json", dl_us=0, step_us=1000, n=2, kernel="k_old")
    b = _trace(tmp_path, "b.json", dl_us=0, step_us=1000, n=5, kernel="k_new")
    d = compare(a, b)
    kernels = {c["name"]: c for c in d["top_changes"] if c["kind"] == "kernel"}
    assert kernels["k_old"]["a_ms"] == pytest.approx(0.96) and kernels["k_old"]["b_ms"] == 0.0
    assert kernels["k_new"]["b_ms"] == pytest.approx(0.96)  # per step, not the 5-step total
    assert d["speedup"] == pytest.approx(1.0)


def test_compare_matches_shapes_when_both_have_them(tmp_path):
    a = _trace(tmp_path, "a.json", dl_us=0, step_us=1000, dims=[[32, 64], [32, 64]])
    b = _trace(tmp_path, "b.json", dl_us=0, step_us=1000, dims=[[64, 64], [64, 64]])
    d = compare(a, b)
    assert d["matched_by"] == "name+shapes"
    names = [c["name"] for c in d["top_changes"] if c["kind"] == "op"]
    assert any("[[32, 64]" in n for n in names) and any("[[64, 64]" in n for n in names)


def test_compare_measured_speedup_from_bundles(tmp_path):
    a = _trace(tmp_path, "a.json", dl_us=300, step_us=1000)
    b = _trace(tmp_path, "b.json", dl_us=0, step_us=700)
    a.run_info = {"settings": {}, "timed_steps": {"median_ms": 12.0, "mean_ms": 12.5, "count": 20}}
    b.run_info = {"settings": {"num_workers": 2}, "timed_steps": {"median_ms": 8.0, "mean_ms": 8.2, "count": 20}}
    d = compare([a], [b])
    assert d["measured_speedup"] == pytest.approx(1.5)
    assert d["speedup"] == pytest.approx(1.0 / 0.7)
    assert "Measured" in format_compare_text(d)


def test_compare_uses_given_findings(tmp_path):
    a = _trace(tmp_path, "a.json", dl_us=0, step_us=1000)
    b = _trace(tmp_path, "b.json", dl_us=0, step_us=1000)
    fa = [Finding("X1", "old", "low", "s", gain_ms=1.0), Finding("X2", "both", "low", "s", gain_ms=2.0)]
    fb = [Finding("X2", "both", "low", "s", gain_ms=0.5), Finding("X3", "new", "low", "s")]
    d = compare(a, b, findings_a=fa, findings_b=fb)
    assert d["resolved"] == ["X1"] and d["new"] == ["X3"]
    assert d["persisting"] == [] and d["reduced"] == [{"rule": "X2", "title": "both", "a_gain_ms": 2.0,
                                                        "b_gain_ms": 0.5, "a_cost_ms": 2.0, "b_cost_ms": 0.5}]


def test_classify_findings_resolved_reduced_persisting_info():
    fa = [Finding("DL1", "Data loading stalls the step", "high", "s", gain_ms=17.8, bottleneck_ms=17.8),
          Finding("OPT1", "optimizer", "medium", "s", gain_ms=3.0, bottleneck_ms=4.0),
          Finding("GONE", "fixed", "low", "s", gain_ms=1.0),
          Finding("CPU1", "No GPU used", "info", "s")]
    fb = [Finding("DL1", "Data loading stalls the step", "low", "s", gain_ms=2.0, bottleneck_ms=2.0),
          Finding("OPT1", "optimizer", "medium", "s", gain_ms=2.5, bottleneck_ms=3.5),
          Finding("NEW1", "new one", "low", "s", gain_ms=0.4),
          Finding("CPU1", "No GPU used", "info", "s")]
    c = classify_findings(fa, fb)
    assert c["resolved"] == ["GONE"] and c["new"] == ["NEW1"]
    assert [r["rule"] for r in c["reduced"]] == ["DL1"]
    assert c["reduced"][0]["a_cost_ms"] == pytest.approx(17.8) and c["reduced"][0]["b_cost_ms"] == pytest.approx(2.0)
    assert [r["rule"] for r in c["persisting"]] == ["OPT1"]
    assert c["info"] == [{"rule": "CPU1", "title": "No GPU used", "side": "a"},
                         {"rule": "CPU1", "title": "No GPU used", "side": "b"}]
    # dicts (as in JSON results) classify the same way; the threshold is a parameter
    as_dicts = [{"rule": f.rule, "title": f.title, "severity": f.severity, "gain_ms": f.gain_ms,
                 "bottleneck_ms": f.bottleneck_ms} for f in fa]
    assert classify_findings(as_dicts, fb, reduced_fraction=0.05)["reduced"] == []


def test_compare_text_keeps_info_notes_apart(tmp_path):
    a = _trace(tmp_path, "a.json", dl_us=0, step_us=1000)
    b = _trace(tmp_path, "b.json", dl_us=0, step_us=1000)
    note = Finding("CPU1", "No GPU used", "info", "s")
    d = compare(a, b, findings_a=[note, Finding("DL1", "dl", "high", "s", bottleneck_ms=9.0, gain_ms=9.0)],
                findings_b=[note, Finding("DL1", "dl", "low", "s", bottleneck_ms=1.0, gain_ms=1.0)])
    text = format_compare_text(d)
    assert "Still present" not in text and "Reduced (ms/step): DL1 (9.00 -> 1.00)" in text
    assert "Notes (info only): CPU1 No GPU used" in text


SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_traces"


def test_compare_sample_bundles_slow_loader():
    a, b = SAMPLES / "slow_loader_workers0", SAMPLES / "slow_loader_workers2"
    if not (a / "run.json").is_file() or not (b / "run.json").is_file():
        pytest.skip(f"sample bundles not found under {SAMPLES}")
    from analyzers.loader import load_traces
    from analyzers.rules import run_rules
    ma, mb = load_traces(a), load_traces(b)
    fa = {f.rule: f for f in run_rules(ma)}
    fb = {f.rule: f for f in run_rules(mb)}
    assert fa["DL1"].knob == "num_workers"
    # the run with 2 workers on 2 cores must not be told to add workers
    assert "DL1" not in fb or fb["DL1"].knob is None
    d = compare(ma, mb, findings_a=list(fa.values()), findings_b=list(fb.values()))
    assert d["speedup"] > 1.5 and d["measured_speedup"] > 1.5
    assert d["measured"]["a_median_ms"] == ma[0].run_info["timed_steps"]["median_ms"]
    # the fixed stall is resolved or reduced, never "still present"; the CPU-only note is info, not a finding
    assert "DL1" in d["resolved"] or "DL1" in [r["rule"] for r in d["reduced"]]
    assert all(r["rule"] not in ("DL1", "CPU1") for r in d["persisting"])
    assert {"rule": "CPU1", "title": "No GPU used", "side": "b"} in d["info"]
