"""The analyze report: JSON-safe dict with the promised keys, readable text, odd traces."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.breakdown import CATEGORIES
from analyzers.loader import load_traces
from analyzers.report_text import format_text
from analyzers.session import AnalysisSession
from tests.conftest import reference_path
from trace_builder import V100, TraceBuilder

KEYS = {"source", "devices", "steps", "breakdown_ms", "gpus", "findings", "top_ops", "top_kernels", "idle",
        "memory", "warnings"}


def report_of(models: list, path: str, rank: int | None = None) -> dict:
    return AnalysisSession(models, path).report(rank)


def _strict_json(report: dict) -> dict:
    return json.loads(json.dumps(report, allow_nan=False))


def test_reference_report() -> None:
    path = reference_path("tb_resnet50_num_workers_0.pt.trace.json.gz")
    report = _strict_json(report_of(load_traces(path), str(path)))
    assert KEYS <= set(report)
    assert report["source"]["events"] == 75718 and report["source"]["ranks"] == 1
    assert report["devices"][0]["sms"] == 80 and report["devices"][0]["compute_capability"] == "7.0"
    assert report["steps"]["count"] == 6
    assert report["steps"]["mean_ms"] == pytest.approx(177.592, rel=0.02)  # TensorBoard plugin 0.4.3: 177592 us
    assert set(report["breakdown_ms"]) == set(CATEGORIES)
    assert sum(report["breakdown_ms"].values()) == pytest.approx(report["steps"]["mean_ms"])
    assert report["breakdown_ms"]["dataloader"] / report["steps"]["mean_ms"] == pytest.approx(1 / 3, abs=0.05)
    (gpu,) = report["gpus"]
    assert {"device", "utilization_pct", "sm_efficiency_pct", "achieved_occupancy_pct", "tensor_core_pct"} <= set(gpu)
    assert gpu["tensor_core_pct"] == 0.0
    # DL1 first (a third of the step), then the AMP advice; ranked by gain
    assert [f["rule"] for f in report["findings"]][:2] == ["DL1", "PREC1"]
    gains = [f["gain_ms"] for f in report["findings"]]
    assert gains == sorted(gains, reverse=True)
    assert len(report["top_ops"]) == 10 and len(report["top_kernels"]) == 10
    assert report["memory"] and report["idle"]["idle_ms"] > 0
    assert "distributed" not in report
    text = format_text(report)
    for needle in ("Steps: 6", "DataLoader", "% of step", "utilization", "Top 10 kernels", "Top 10 operators",
                   "1. [HIGH] Data loading stalls the step", "fix: Load batches in"):
        assert needle in text, needle
    assert text.index("[DL1]") < text.index("[PREC1]")


def test_two_rank_report_has_distributed_section() -> None:
    models = load_traces(reference_path("hta_two_ranks"))
    report = _strict_json(report_of(models, "hta_two_ranks"))
    assert report["source"]["ranks"] == 2
    assert report["distributed"]["ranks"] == 2
    assert len(report["gpus"]) == 2
    assert "Distributed: 2 ranks" in format_text(report)


def test_cpu_only_reference_says_so() -> None:
    path = reference_path("hta_cpu_only.pt.trace.json.gz")
    report = _strict_json(report_of(load_traces(path), str(path)))
    assert report["gpus"] == [] and report["top_kernels"] == []
    assert "No GPU activity in this trace (CPU-only)" in format_text(report)


def test_empty_trace(tmp_path: Path) -> None:
    p = tmp_path / "empty.json"
    p.write_text('{"traceEvents": []}')
    report = _strict_json(report_of(load_traces(p), str(p)))
    assert KEYS <= set(report)
    assert report["steps"]["count"] == 0 and report["gpus"] == []
    text = format_text(report)
    assert "nothing to analyze" in text


def test_no_models() -> None:
    report = _strict_json(report_of([], "x"))
    assert report["source"]["ranks"] == 0
    assert "no events" in format_text(report).lower()


def test_no_steps_gpu_trace(tmp_path: Path) -> None:
    b = TraceBuilder.bare(gpu=True, **V100)
    b.cpu_op("aten::mm", 0, 20)
    b.kernel("volta_sgemm_128x64_nn", 10, 50, launch_ts=5, blocks_per_sm=0.5, occupancy=30)
    report = _strict_json(report_of(load_traces(b.write(tmp_path / "t.json")), "t.json"))
    assert report["steps"]["count"] == 1 and report["steps"]["from_profiler_steps"] is False
    assert report["gpus"][0]["utilization_pct"] == pytest.approx(100 * 50 / 60)
    text = format_text(report)
    assert "whole trace" in text
    assert "volta_sgemm_128x64_nn" in text


def test_cpu_only_synthetic_with_steps(tmp_path: Path) -> None:
    b = TraceBuilder.bare()
    for i in range(3):
        b.step(i, i * 100, 90)
        b.cpu_op("aten::addmm", i * 100 + 10, 50)
    report = _strict_json(report_of(load_traces(b.write(tmp_path / "c.json")), "c.json"))
    assert report["steps"]["count"] == 3
    assert report["breakdown_ms"]["cpu_exec"] == pytest.approx(0.05)
    assert report["top_ops"][0]["name"] == "aten::addmm"
    assert "CPU-only" in format_text(report)


ALL_REFERENCES = [
    "hta_alexnet_a100.json.gz", "hta_amd_mi250_rocm.json.gz", "hta_cpu_only.pt.trace.json.gz", "hta_compare",
    "hta_nccl_a100.json.gz", "hta_simple_add_a100.json.gz", "hta_triton_a100.json.gz", "hta_two_ranks",
    "hta_v100_68k_events.pt.trace.json.gz", "tb_resnet50_num_workers_0.pt.trace.json.gz",
    "tb_resnet50_num_workers_4.pt.trace.json.gz",
]


@pytest.mark.parametrize("name", ALL_REFERENCES)
def test_every_reference_trace_reports_cleanly(name: str) -> None:
    path = reference_path(name)
    report = _strict_json(report_of(load_traces(path), str(path)))
    assert not [w for w in report["warnings"] if "could not be computed" in w]
    assert report["steps"]["count"] >= 1
    assert sum(report["breakdown_ms"].values()) == pytest.approx(report["steps"]["mean_ms"])
    for g in report["gpus"]:
        if g["sm_efficiency_pct"] is not None:
            assert g["sm_efficiency_pct"] <= g["utilization_pct"] + 1e-9
    assert format_text(report).strip()
