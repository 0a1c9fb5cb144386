"""The analysis session: ranks as a parameter, every analysis computed once, failures named."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers import rank_analysis
from analyzers.compare import compare
from analyzers.loader import load_traces
from analyzers.session import AnalysisSession
from profiler_gui.cli import main
from tests.conftest import reference_path
from trace_builder import TraceBuilder

TWO_RANKS = "hta_two_ranks"


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_rank_option_reports_that_ranks_own_figures(capsys: pytest.CaptureFixture[str]) -> None:
    folder = reference_path(TWO_RANKS)
    r1 = _cli_json(capsys, "analyze", str(folder), "--rank", "1", "--json", "--quiet")
    r0 = _cli_json(capsys, "analyze", str(folder), "--rank", "0", "--json", "--quiet")
    assert (r1["rank"], r0["rank"]) == (1, 0)
    assert r1["steps"]["mean_ms"] != r0["steps"]["mean_ms"]
    assert r1["breakdown_ms"] != r0["breakdown_ms"]
    assert [g["rank"] for g in r1["gpus"]] == [1]
    # independent path: rank 1's trace file opened on its own gives the same figures
    (rank1_file,) = [p for p in sorted(Path(folder).iterdir()) if load_traces(p)[0].rank == 1]
    alone = _cli_json(capsys, "analyze", str(rank1_file), "--json", "--quiet")
    assert r1["steps"] == alone["steps"]
    assert r1["breakdown_ms"] == alone["breakdown_ms"]
    assert r1["top_kernels"] == alone["top_kernels"]
    assert [f["rule"] for f in r1["findings"]] == [f["rule"] for f in alone["findings"]]


def test_json_without_rank_holds_every_rank(capsys: pytest.CaptureFixture[str]) -> None:
    report = _cli_json(capsys, "analyze", str(reference_path(TWO_RANKS)), "--json", "--quiet")
    assert report["rank"] == 0
    assert [r["rank"] for r in report["ranks"]] == [0, 1]
    assert [r["rank"] for r in report["rank_summary"]] == [0, 1]
    assert report["ranks"][0]["steps"] == report["steps"]
    assert report["ranks"][1]["steps"]["mean_ms"] != report["steps"]["mean_ms"]
    for row, sec in zip(report["rank_summary"], report["ranks"]):
        assert row["step_mean_ms"] == pytest.approx(sec["steps"]["mean_ms"])
        assert row["findings"] == len(sec["findings"])
    assert report["distributed"]["slowest_rank"] in (0, 1)
    text_ok = main(["analyze", str(reference_path(TWO_RANKS)), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert text_ok and out.index("Ranks") < out.index("Rank 0 in detail") < out.index("Steps:")


def test_unknown_rank_is_one_line_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(reference_path(TWO_RANKS)), "--rank", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no rank 7" in err[0] and "ranks: 0, 1" in err[0]


def test_each_analysis_computed_once_per_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {}

    def spy(name: str):  # count calls of the pure function behind each analysis
        real = getattr(rank_analysis, name)

        def wrapper(*args, **kw):  # noqa: ANN002, ANN003
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kw)
        monkeypatch.setattr(rank_analysis, name, wrapper)

    spied = ("step_table", "step_breakdown", "gpu_metrics", "tensor_core_flags", "kernel_table", "op_times",
             "launch_pairs", "gpu_gaps", "memory_peaks", "rank_comm_stats")
    for name in spied:
        spy(name)
    session = AnalysisSession(load_traces(reference_path(TWO_RANKS)), TWO_RANKS)
    session.report()
    session.report(1)
    session.findings()
    compare(session, session)
    for ra in session:
        _ = (ra.gpu_metrics, ra.kernel_table, ra.op_table(), ra.idle_summary, ra.findings)
        assert set(ra.memo.counts.values()) == {1}, ra.memo.counts
    assert {calls[n] for n in spied} == {2}, calls  # once per rank, two ranks


def test_failed_analysis_is_named_not_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = TraceBuilder()
    for t in b.steps(3, 1000.0):
        b.op_with_kernel("aten::mm", "sm80_sgemm", t + 10, 20, 500)

    def broken(*args, **kw):  # noqa: ANN002, ANN003
        raise ZeroDivisionError("kernel table broke")
    monkeypatch.setattr(rank_analysis, "kernel_table", broken)
    session = AnalysisSession([b.load(tmp_path)], "t.json")
    report = session.report()
    assert report["top_kernels"] == []
    assert report["errors"] == {"rank 0: kernel_table": "kernel_table could not be computed: "
                                                        "ZeroDivisionError: kernel table broke"}
    assert any("kernel table broke" in w for w in report["warnings"])
    assert report["steps"]["count"] == 3 and report["gpus"]  # the rest of the report stands
    ra = session.rank()
    assert ra.try_get("kernel_table") == (None, report["errors"]["rank 0: kernel_table"])
    assert ra.memo.counts["kernel_table"] == 1  # a failure is kept, not recomputed
    session.report()
    assert ra.memo.counts["kernel_table"] == 1


def test_compare_covers_every_rank_and_names_the_slowest() -> None:
    a = AnalysisSession(load_traces(reference_path(TWO_RANKS)))
    b = AnalysisSession(load_traces(reference_path(TWO_RANKS)))
    means = {ra.rank: float(ra.steps.dur_ns.mean()) / 1e6 for ra in a}
    slowest = max(means, key=means.get)
    d = compare(a, b)
    assert [r["rank"] for r in d["per_rank"]] == [0, 1]
    for r in d["per_rank"]:
        assert r["a_step_ms"] == pytest.approx(means[r["rank"]]) and r["speedup"] == pytest.approx(1.0)
    assert d["slowest_rank"] == {"a": slowest, "b": slowest}
    assert d["a"]["steps"]["mean_ms"] == pytest.approx(means[slowest])


def test_findings_carry_their_rank() -> None:
    session = AnalysisSession(load_traces(reference_path(TWO_RANKS)))
    for ra in session:
        assert ra.findings and {f.rank for f in ra.findings} == {ra.rank}
    merged = session.findings()
    cross = {f.rule for f in session.cross_rank_findings}  # STRAG1: found across ranks, names its rank
    assert all(f.rank is not None and f.evidence["ranks"] == [f.rank] for f in merged if f.rule in cross)
    for f in (f for f in merged if f.rule not in cross):
        raised = [ra.rank for ra in session if any(g.rule == f.rule and g.title == f.title for g in ra.findings)]
        assert f.evidence["ranks"] == raised
        best = max((g for ra in session for g in ra.findings if g.rule == f.rule and g.title == f.title),
                   key=lambda g: g.gain_ms)
        assert (f.rank, f.gain_ms) == (best.rank, best.gain_ms)
    assert "ranks" not in session.rank(0).findings[0].evidence  # the rank's own finding is not mutated


def test_a_session_with_results_and_failures_pickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GUI hands analysed sessions between processes: results and kept failures survive the trip."""
    import pickle

    b = TraceBuilder()
    for t in b.steps(3, 1000.0):
        b.op_with_kernel("aten::mm", "sm80_sgemm", t + 10, 20, 500)
    monkeypatch.setattr(rank_analysis, "kernel_table", lambda *a, **k: 1 / 0)
    session = AnalysisSession([b.load(tmp_path)], "t.json")
    report = session.report()
    back = pickle.loads(pickle.dumps(session))
    ra = back.rank()
    assert ra.memo.counts == session.rank().memo.counts
    assert ra.steps.count == 3 and ra.memo.counts["steps"] == 1  # kept, not recomputed
    assert ra.try_get("kernel_table")[1] == report["errors"]["rank 0: kernel_table"]


def test_a_failed_dependency_fails_its_dependents_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = TraceBuilder()
    for t in b.steps(3, 1000.0):
        b.op_with_kernel("aten::mm", "sm80_sgemm", t + 10, 20, 500)
    monkeypatch.setattr(rank_analysis, "step_table", lambda *a, **k: 1 / 0)
    ra = AnalysisSession([b.load(tmp_path)], "t.json").rank()
    for _ in range(2):
        assert ra.try_get("breakdown")[1] == "steps could not be computed: ZeroDivisionError: division by zero"
    assert ra.memo.counts["steps"] == 1 and ra.memo.counts["breakdown"] == 1
