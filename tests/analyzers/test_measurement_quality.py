"""Measurement quality: step spread, profiler overhead and CPU contention, with figures computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from analyzers.session import AnalysisSession
from analyzers.trace_model import CounterTrack
from tests.conftest import reference_path
from trace_builder import TraceBuilder


def _steps(tmp_path, durations_us: list[float], name: str = "t.json"):
    b = TraceBuilder.bare()
    t = 0.0
    for i, d in enumerate(durations_us):
        b.step(i, t, d)
        b.cpu_op("aten::addmm", t + 1, d - 2)
        t += d
    return b.load(tmp_path, name)


def _quality(model) -> dict:
    return AnalysisSession([model]).report()["measurement_quality"]


def test_steady_steps_are_good(tmp_path) -> None:
    q = _quality(_steps(tmp_path, [1000.0] * 5))
    assert q["status"] == "good" and q["reasons"] == []
    assert q["step_cv"] == pytest.approx(0.0) and q["max_over_median"] == pytest.approx(1.0)


def test_one_slow_step_makes_the_profile_poor(tmp_path) -> None:
    durations = [1000.0, 1000.0, 5000.0, 1000.0, 1000.0]
    q = _quality(_steps(tmp_path, durations))
    assert q["max_over_median"] == pytest.approx(5.0)
    assert q["step_cv"] == pytest.approx(float(np.std(durations, ddof=1) / np.mean(durations)))
    assert q["status"] == "poor"
    assert any("5.0x the median" in r for r in q["reasons"])


def test_profiler_overhead_from_timed_steps(tmp_path) -> None:
    m = _steps(tmp_path, [2000.0] * 4)
    m.run_info = {"timed_steps": {"median_ms": 1.0, "mean_ms": 1.0, "count": 10}}
    q = _quality(m)
    assert q["profiler_overhead_ratio"] == pytest.approx(2.0) and q["status"] == "noisy"


def test_other_processes_on_the_cpu(tmp_path) -> None:
    m = _steps(tmp_path, [1000.0] * 5)
    ts = np.arange(0, 5_000_001, 500_000, dtype=np.int64)  # samples every 0.5 ms across the 5 ms window
    m.counters.append(CounterTrack("Host CPU", "%", ts, np.full(len(ts), 95.0), device=-1, source="samples"))
    m.counters.append(CounterTrack("Workload CPU", "%", ts, np.full(len(ts), 30.0), device=-1, source="samples"))
    q = _quality(m)
    assert q["host_cpu_other_pct"] == pytest.approx(65.0)
    assert q["status"] == "poor" and any("other processes used 65 %" in r for r in q["reasons"])


def test_quality_in_text_report_and_reference(tmp_path) -> None:
    from analyzers.report_text import format_text
    report = AnalysisSession([_steps(tmp_path, [1000.0, 1000.0, 5000.0, 1000.0, 1000.0])]).report()
    assert "Measurement quality: POOR" in format_text(report)
    resnet = AnalysisSession.load(str(reference_path("tb_resnet50_num_workers_0.pt.trace.json.gz"))).report()
    assert resnet["measurement_quality"]["status"] == "good"  # six steady steps (cv 0.04)
