"""Multi-rank traces in the window: ranks are a parameter (no reload), the selector, findings of any rank."""
from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui

from tests.conftest import REFERENCE_DIR as REF  # noqa: E402
from tests.conftest import REPO as ROOT  # noqa: E402

TWO_RANKS = REF / "hta_two_ranks"
SAMPLE = ROOT / "sample_traces" / "slow_loader_workers0"


def run(qtbot, win, start, timeout_ms=60_000) -> str:
    with qtbot.waitSignal(win.taskFinished, timeout=timeout_ms) as blocker:
        start()
    return blocker.args[0]


def open_two_ranks(qtbot, win):
    if not TWO_RANKS.is_dir():
        pytest.skip("reference trace hta_two_ranks absent")
    assert run(qtbot, win, lambda: win.open_path(str(TWO_RANKS))) == "done", win.last_error
    return win.session


def test_single_rank_has_no_selector(qtbot, win):
    assert run(qtbot, win, lambda: win.open_path(str(SAMPLE))) == "done", win.last_error
    assert not win.ranks.toolbar.isVisible()
    assert win.overview.dist_box.isHidden()
    assert win.select_rank(1) is None and win.rank == win.session.first_rank


def test_two_ranks_selector_switches_every_view_without_recomputing(qtbot, win):
    session = open_two_ranks(qtbot, win)
    assert win.rank == 0 and session.ranks == [0, 1]
    combo = win.ranks.combo
    assert win.ranks.toolbar.isVisible() and combo.count() == 2
    slowest = session.slowest_rank
    assert "(slowest)" in combo.itemText(combo.findData(slowest))
    assert "(slowest)" not in combo.itemText(combo.findData(1 - slowest))
    # distributed summary on the Overview
    text = win.overview.dist.text()
    d = session.distributed
    assert win.overview.dist_box.isVisible()
    assert d["ranks"] == 2 and "slowest rank" in text and f"<b>{d['slowest_rank']}</b>" in text
    r0 = session.rank(0)
    counts0 = dict(r0.memo.counts)
    kernels0 = win.kernels_view.model.rowCount()
    win.show_tab("kernels")
    idx = combo.findData(1)
    with qtbot.waitSignal(win.rankShown, timeout=60_000) as blocker:
        combo.setCurrentIndex(idx)
        combo.activated.emit(idx)
    assert blocker.args == [1], win.last_error
    assert win.session is session  # nothing reloaded
    r1 = session.rank(1)
    assert win.shown is r1 and win.current_tab() == "kernels"  # the user stays where they were
    assert win.timeline.model is r1.model
    # rank 1's own figures
    assert win.kernels_view.model.rowCount() == len(r1.kernel_table) > 0 and kernels0 > 0
    assert win.overview.step_count() == r1.steps.count
    assert "showing rank <b>1</b>" in win.overview.facts.text() and "1 (shown)" in win.overview.dist.text()
    assert "rank 1" in win.status_label.text() and combo.currentData() == 1
    # each analysis computed once: rank 0's were not recomputed, rank 1's once
    assert dict(r0.memo.counts) == counts0
    assert set(r0.memo.counts.values()) == {1} and set(r1.memo.counts.values()) == {1}
    # and back: already computed, shown at once
    with qtbot.waitSignal(win.rankShown, timeout=10_000):
        assert win.select_rank(0) is None
    assert win.rank == 0 and combo.currentData() == 0 and dict(r0.memo.counts) == counts0


def test_show_in_timeline_switches_to_the_findings_rank(qtbot, win):
    session = open_two_ranks(qtbot, win)
    findings = win.findings_view.findings
    idx = next((i for i, f in enumerate(findings) if f.rank == 1 and (f.evidence_rows or f.evidence_ranges)), None)
    if idx is None:
        pytest.skip("no rank-1 finding with timeline evidence in hta_two_ranks")
    f = findings[idx]
    assert win.rank == 0
    assert "(rank 1" in win.findings_view.list.item(idx).text()
    win.show_tab("findings")
    win.findings_view.select(idx)
    with qtbot.waitSignal(win.rankShown, timeout=60_000):
        win.findings_view.show_button.click()
    qtbot.waitUntil(lambda: win.current_tab() == "timeline", timeout=10_000)
    assert win.rank == 1 and win.shown is session.rank(1) and win.timeline.model is session.rank(1).model
    assert win.timeline.highlighted_rows == [int(r) for r in f.evidence_rows]
    if f.evidence_rows:
        assert win.timeline.selected_row == int(f.evidence_rows[0])
