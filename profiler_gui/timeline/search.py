"""Search: the search box, matching slice names, stepping through the matches."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

if TYPE_CHECKING:
    from .widget import TimelineWidget


class Search:
    """The search box and match label of one TimelineWidget, and its matches (emits searchMatchesChanged)."""

    def __init__(self, widget: "TimelineWidget") -> None:
        self.w = widget
        self.st = widget._st
        self.rows = np.empty(0, np.int64)
        self.pos = -1
        self.box = QtWidgets.QLineEdit(widget)
        self.box.setPlaceholderText("Search slices  ( / )")
        self.box.setClearButtonEnabled(True)
        self.box.setMaximumWidth(320)
        self.timer = QtCore.QTimer(widget)
        self.timer.setSingleShot(True)
        self.timer.setInterval(180)  # debounce typing on million-slice traces
        self.timer.timeout.connect(lambda: self.search(self.box.text()))
        self.box.textChanged.connect(self._on_text)
        self.box.returnPressed.connect(self._on_enter)
        self.match_label = QtWidgets.QLabel("", widget)

    def reset(self) -> None:
        self.rows = np.empty(0, np.int64)
        self.pos = -1

    def search(self, text: str) -> int:
        st = self.st
        self.timer.stop()
        text = (text or "").strip().lower()
        if self.box.text().strip().lower() != text:
            self.box.blockSignals(True)
            self.box.setText(text)
            self.box.blockSignals(False)
        if st.data is None or not text:
            self.reset()
            st.search_hl = {}
            self.match_label.setText("")
            self.w._repaint()
            self.w.searchMatchesChanged.emit(0)
            return 0
        ids = [i for i, s in enumerate(st.model.strings) if text in s.lower()]
        rows = np.flatnonzero(np.isin(st.model.name_id, ids)) if ids else np.empty(0, np.int64)
        rows = rows[st.data.row_lane[rows] >= 0] if len(rows) else rows
        self.rows = rows
        self.pos = -1
        st.search_hl = self.w.selection.lane_sets(rows)
        self.match_label.setText(f"{len(rows):,} match{'' if len(rows) == 1 else 'es'}" if len(rows) else "no match")
        self.w._repaint()
        self.w.searchMatchesChanged.emit(int(len(rows)))
        return int(len(rows))

    def _on_text(self, text: str) -> None:
        self.timer.start()

    def _on_enter(self) -> None:
        if self.timer.isActive():
            self.search(self.box.text())
        self.step(+1)

    def step(self, step: int) -> int | None:
        """Go to the next (+1) or previous (-1) match and select it; returns its row."""
        n = len(self.rows)
        if not n:
            return None
        if self.pos < 0:
            # first match at or after the left of the view
            x0, _ = self.w.viewport.view_range()
            starts = self.st.model.start_ns[self.rows]
            i = int(np.searchsorted(starts, x0))
            self.pos = (i if step > 0 else i - 1) % n
        else:
            self.pos = (self.pos + step) % n
        row = int(self.rows[self.pos])
        self.match_label.setText(f"{self.pos + 1:,} / {n:,}")
        self.w.selection.select_row(row)
        return row
