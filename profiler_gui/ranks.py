"""The rank selector: ranks are a parameter of the views, never a reload.

Switching shows ``session.rank(r)``; when that rank's view pieces are not
computed yet they are warmed in a worker first (nothing of the other ranks is
recomputed).  The selector names the slowest rank.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

from analyzers.session import AnalysisSession

from .analysis import WARM, Opened
from .workers import Task, warm_task


def rank_label(session: AnalysisSession, rank: int) -> str:
    try:
        slowest = session.slowest_rank if session.is_multi_rank else None
    except Exception:  # noqa: BLE001 - AnalysisError: no "(slowest)" mark then
        slowest = None
    return f"rank {rank}" + (" (slowest)" if rank == slowest else "")


def is_warm(opened: Opened, rank: int) -> bool:
    """True when every piece the views read for ``rank`` was computed (or failed) and its timeline is built."""
    memo = opened.session.rank(rank).memo
    keys = [name if not args else f"{name}[{args[0]}]" for name, args in WARM]
    return rank in opened.pyramids and all(memo.has(k) or k in memo.errors for k in keys)


class RankSelector:
    """The 'Rank' toolbar of ``win`` (shown for traces with more than one rank)."""

    def __init__(self, win: Any) -> None:
        self.win = win
        self.toolbar = QToolBar("Rank")
        self.toolbar.setObjectName("rank_toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(QLabel(" Rank: "))
        self.combo = QComboBox()
        self.combo.setToolTip("Show this rank in Overview, Timeline, Operators, Kernels and Memory")
        self.combo.activated.connect(lambda i: self.select(int(self.combo.itemData(i))))
        self.toolbar.addWidget(self.combo)
        win.addToolBar(Qt.TopToolBarArea, self.toolbar)
        self.toolbar.setVisible(False)

    def update(self) -> None:
        """List the ranks of the open session, the shown one selected."""
        opened = self.win.opened
        ranks = opened.session.ranks if opened is not None else []
        self.combo.blockSignals(True)
        self.combo.clear()
        for r in ranks:
            self.combo.addItem(rank_label(opened.session, r), r)
        self.combo.setCurrentIndex(max(self.combo.findData(self.win.rank), 0))
        self.combo.blockSignals(False)
        self.toolbar.setVisible(len(ranks) > 1)

    def select(self, rank: int, then: Callable[[], None] | None = None) -> Task | None:
        """Show ``rank``; ``then`` runs once it is shown.  Returns the warming task, or None when none was needed."""
        win, opened = self.win, self.win.opened
        if opened is None or rank not in opened.session.ranks:
            if opened is not None and opened.session.is_multi_rank:
                win.show_error(f"no rank {rank} in this trace (ranks: {', '.join(map(str, opened.session.ranks))})")
            return None
        if rank == win.rank:
            if then is not None:
                then()
            return None
        if is_warm(opened, rank):
            win.show_rank(rank)
            if then is not None:
                then()
            return None

        def done(result: Opened) -> None:
            win.show_rank(rank)
            if then is not None:
                then()

        task = win.tasks.start(warm_task(opened, rank), done, f"Switching to rank {rank}...")
        task.finished.connect(self.update)  # failed or cancelled: back to the rank still shown
        return task
