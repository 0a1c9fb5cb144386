"""The selected slice and the highlights (a finding's evidence rows, shaded time ranges)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
from pyqtgraph.Qt import QtCore

from .data import GROUP_STEPS

if TYPE_CHECKING:
    from .widget import TimelineWidget

LaneSets = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]


class Selection:
    """Selection and highlights of one TimelineWidget (emits its eventSelected / selectionCleared)."""

    def __init__(self, widget: "TimelineWidget") -> None:
        self.w = widget
        self.st = widget._st

    # ------------------------------------------------------------------ selection
    def click(self, pos: QtCore.QPointF) -> None:
        row = self.w.picker.row_at_scene(pos)
        if row is None:
            self.clear()
        else:
            self.set_selected(row)

    def set_selected(self, row: int | None) -> None:
        st = self.st
        changed = st.selected != row
        st.selected = row
        self.w._repaint()
        if changed:
            if row is None:
                self.w.selectionCleared.emit()
            else:
                self.w.eventSelected.emit(int(row))

    def clear(self) -> None:
        self.set_selected(None)

    def select_row(self, row: int) -> None:
        st, vp = self.st, self.w.viewport
        if st.data is None or not (0 <= int(row) < len(st.model)):
            return
        row = int(row)
        gl = int(st.data.row_lane[row])
        if gl >= 0:
            gi = int(st.data.lane_group[gl])
            if st.layout[gi].collapsed and int(st.data.lane_index[gl]) > 0:
                vp.toggle_group(gi)
            lay = st.layout[gi]
            li = int(st.data.lane_index[gl])
            vp.ensure_lane_visible(lay.lane_y[li], lay.lane_y[li] + lay.lane_h)
        s, e = float(st.model.start_ns[row]), float(st.model.end_ns[row])
        x0, x1 = vp.view_range()
        px = (e - s) / max(x1 - x0, 1.0) * max(self.w.vb.width(), 1.0)
        if s < x0 or e > x1 or px < 3:
            d = max(e - s, 2000.0)
            if px >= 3 and (x1 - x0) >= 3 * d:  # zoom level fine: just centre it
                c = (s + e) / 2
                half = (x1 - x0) / 2
                vp.zoom_to(c - half, c + half)
            else:
                vp.zoom_to(s - 2 * d, e + 2 * d)
        self.set_selected(row)

    # ------------------------------------------------------------------ highlights
    def lane_sets(self, rows: np.ndarray) -> LaneSets:
        """Per global lane: (start, end, running max of end) of these rows (the steps lane: its own times)."""
        st = self.st
        out: LaneSets = {}
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        rows = rows[(rows >= 0) & (rows < len(st.model))]
        if not len(rows):
            return out
        lanes = st.data.row_lane[rows]
        step_lane = None
        for gi, g in enumerate(st.data.groups):
            if g.kind == GROUP_STEPS:
                step_lane = st.layout[gi].global_lane[0]
        order = np.argsort(lanes, kind="stable")  # rows stay sorted (by start) inside each lane
        srt, lanes = rows[order], lanes[order]
        brk = np.flatnonzero(np.diff(lanes)) + 1
        bounds = np.concatenate(([0], brk, [len(srt)]))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            gl = int(lanes[a])
            if gl < 0 or b <= a:
                continue
            r = srt[a:b]
            e = st.model.end_ns[r]
            out[gl] = (st.model.start_ns[r], e, np.maximum.accumulate(e))
        if step_lane is not None and len(st.data.step_rows):
            raw = st.data.lane(step_lane).raw  # steps are stretched to their GPU work: outline what is drawn
            k = np.flatnonzero(np.isin(raw.row, rows))
            if len(k):
                e = raw.end[k]
                out[step_lane] = (raw.start[k], e, np.maximum.accumulate(e))
        return out

    def highlight_rows(self, rows: Iterable[int], zoom: bool = True) -> None:
        st = self.st
        if st.data is None:
            return
        arr = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        st.row_hl = self.lane_sets(arr)
        if zoom and len(arr):
            arr = arr[(arr >= 0) & (arr < len(st.model))]
            if len(arr):
                s = float(st.model.start_ns[arr].min())
                e = float(st.model.end_ns[arr].max())
                self.w.viewport.zoom_around(s, e, 0.05, 1000.0)
                first = int(arr[np.argmin(st.model.start_ns[arr])])
                gl = int(st.data.row_lane[first])
                if gl >= 0:
                    lay = st.layout[int(st.data.lane_group[gl])]
                    self.w.viewport.ensure_lane_visible(lay.y0, lay.y0 + lay.height)
        self.w._repaint()

    def highlight_ranges(self, ranges: Sequence[tuple[float, float, int | None]], zoom: bool = True) -> None:
        st = self.st
        st.ranges = [(float(a), float(b), None if t is None else int(t)) for a, b, t in ranges]
        if zoom and st.ranges:
            s = min(r[0] for r in st.ranges)
            e = max(r[1] for r in st.ranges)
            self.w.viewport.zoom_around(s, e, 0.05, 1000.0)
            tracks = [r[2] for r in st.ranges if r[2] is not None]
            if tracks and tracks[0] in st.group_of_track:
                lay = st.layout[st.group_of_track[tracks[0]]]
                self.w.viewport.ensure_lane_visible(lay.y0, lay.y0 + lay.height)
        self.w._repaint()

    def clear_highlights(self) -> None:
        self.st.row_hl = {}
        self.st.ranges = []
        self.w._repaint()
