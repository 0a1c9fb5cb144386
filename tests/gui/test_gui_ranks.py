"""Multi-rank traces in the window: the rank selector and the distributed summary on the Overview."""
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


def test_single_rank_has_no_selector(qtbot, win):
    assert run(qtbot, win, lambda: win.open_path(str(SAMPLE))) == "done", win.last_error
    assert not win.rank_toolbar.isVisible()
    assert win.overview.dist_box.isHidden()
    assert win.select_rank(1) is None


def test_two_ranks_selector_switches_every_view(qtbot, win):
    if not TWO_RANKS.is_dir():
        pytest.skip("reference trace hta_two_ranks absent")
    assert run(qtbot, win, lambda: win.open_path(str(TWO_RANKS))) == "done", win.last_error
    a0 = win.analysis
    assert a0.current_rank == 0 and a0.ranks == [0, 1]
    assert win.rank_toolbar.isVisible() and win.rank_combo.count() == 2
    # distributed summary on the Overview
    assert win.overview.dist_box.isVisible()
    text = win.overview.dist.text()
    d = a0.distributed
    assert d["ranks"] == 2 and "slowest rank" in text and f"<b>{d['slowest_rank']}</b>" in text
    assert "overlap" in text and "comm" in text
    kernels0 = win.kernels_view.model.rowCount()
    win.show_tab("kernels")
    idx = win.rank_combo.findData(1)
    with qtbot.waitSignal(win.taskFinished, timeout=60_000) as blocker:
        win.rank_combo.setCurrentIndex(idx)
        win.rank_combo.activated.emit(idx)
    assert blocker.args == ["done"], win.last_error
    a1 = win.analysis
    assert a1.current_rank == 1 and a1.model is a0.models[1]
    assert win.current_tab() == "kernels"  # the user stays where they were
    assert win.overview.analysis is a1 and win.memory_view.analysis is a1
    assert win.timeline.model is a0.models[1]
    assert win.findings_view.analysis is a1
    assert a1.steps is not None and a1.kernels is not None
    assert win.kernels_view.model.rowCount() > 0 and kernels0 > 0
    assert "rank 1" in win.status_label.text()
    assert win.rank_combo.currentData() == 1
    assert "1 (shown)" in win.overview.dist.text()
    # and back
    assert run(qtbot, win, lambda: win.select_rank(0)) == "done"
    assert win.analysis.current_rank == 0 and win.rank_combo.currentData() == 0
