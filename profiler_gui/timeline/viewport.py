"""Where the timeline looks: track layout and collapsing, vertical scroll, time range (zoom, pan, fit)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pyqtgraph.Qt import QtGui

from .state import GROUP_PAD, LANE_H, _GroupLayout

if TYPE_CHECKING:
    from .widget import TimelineWidget

ZOOM_STEP = 0.8
PAN_STEP = 0.2
MIN_SPAN_NS = 200.0


class Viewport:
    """Layout of the track groups, the vertical scroll and the visible time range of one TimelineWidget."""

    def __init__(self, widget: "TimelineWidget") -> None:
        self.w = widget
        self.st = widget._st
        self.scroll = 0.0  # top of the view, in layout units (y)

    # ------------------------------------------------------------------ layout
    def relayout(self) -> None:
        st = self.st
        st.layout = []
        y = 0.0
        gl = 0
        for g in st.data.groups:
            collapsed = g.key in st.collapsed
            n = len(g.lanes)
            lane_y = [y + GROUP_PAD + i * LANE_H for i in range(n)]
            shown = 1 if collapsed else n
            height = 2 * GROUP_PAD + shown * LANE_H
            st.layout.append(_GroupLayout(y, height, lane_y, LANE_H, collapsed, list(range(gl, gl + n))))
            gl += n
            y += height
        st.total_height = y
        for it in self.w._items:
            it.relayout()
        self.w.overlay.relayout()
        self.update_scrollbar()

    def toggle_group(self, gi: int) -> None:
        key = self.st.data.groups[gi].key
        if len(self.st.data.groups[gi].lanes) <= 1:
            return
        self.st.collapsed.symmetric_difference_update({key})
        self.relayout()
        self.scroll_to(self.scroll)
        self.w.gutter.update()

    def set_collapsed(self, track_id: int | None, collapsed: bool) -> None:
        """Collapse (or expand) a track group; ``None`` is the steps lane."""
        for gi, g in enumerate(self.st.data.groups):
            if g.track_id == track_id:
                if (g.key in self.st.collapsed) != collapsed:
                    self.toggle_group(gi)

    # ------------------------------------------------------------------ vertical scroll
    def view_height(self) -> float:
        return max(float(self.w.vb.height()), 1.0)

    def update_scrollbar(self) -> None:
        h = self.view_height()
        bar = self.w.vscroll
        maxv = max(0, int(self.st.total_height - h + 0.5))
        bar.blockSignals(True)
        bar.setRange(0, maxv)
        bar.setPageStep(int(h))
        bar.setSingleStep(LANE_H)
        bar.setValue(int(self.scroll))
        bar.blockSignals(False)
        bar.setVisible(maxv > 0)

    def scroll_to(self, y: float, from_bar: bool = False) -> None:
        h = self.view_height()
        y = max(0.0, min(float(y), max(0.0, self.st.total_height - h)))
        self.scroll = y
        self.apply_y()
        if not from_bar:
            self.update_scrollbar()

    def apply_y(self, *args) -> None:
        h = self.view_height()
        self.w.vb.setYRange(self.scroll, self.scroll + h, padding=0)
        self.update_scrollbar()

    def ensure_lane_visible(self, y0: float, y1: float) -> None:
        h = self.view_height()
        if y0 < self.scroll:
            self.scroll_to(y0 - 4)
        elif y1 > self.scroll + h:
            self.scroll_to(y1 - h + 4)

    # ------------------------------------------------------------------ time range
    def view_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.w.vb.viewRange()
        return float(x0), float(x1)

    def zoom_to(self, start_ns: float, end_ns: float) -> None:
        if end_ns < start_ns:
            start_ns, end_ns = end_ns, start_ns
        if end_ns - start_ns < MIN_SPAN_NS:
            mid = (start_ns + end_ns) / 2
            start_ns, end_ns = mid - MIN_SPAN_NS / 2, mid + MIN_SPAN_NS / 2
        self.w.vb.setXRange(float(start_ns), float(end_ns), padding=0)

    def zoom_around(self, s: float, e: float, frac: float, min_pad: float) -> None:
        """Show [s, e] with ``frac`` of its span (at least ``min_pad`` ns) on each side."""
        pad = max((e - s) * frac, min_pad)
        self.zoom_to(s - pad, e + pad)

    def fit_profiled_window(self) -> None:
        """Show the profiled window (the slices), not the longer span of the host samples."""
        d = self.st.data
        self.zoom_around(d.view_min, d.view_max, 0.02, 1000.0)

    def fit(self) -> None:
        st = self.st
        if st.data is None:
            return
        if st.selected is not None:
            self.zoom_around(float(st.model.start_ns[st.selected]), float(st.model.end_ns[st.selected]), 0.1, 50.0)
        else:
            self.fit_profiled_window()

    def zoom_by(self, factor: float, center_ns: float | None = None) -> None:
        x0, x1 = self.view_range()
        c = (x0 + x1) / 2 if center_ns is None else float(center_ns)
        self.zoom_to(c - (c - x0) * factor, c + (x1 - c) * factor)

    def pan_by(self, fraction: float) -> None:
        x0, x1 = self.view_range()
        d = (x1 - x0) * fraction
        self.w.vb.setXRange(x0 + d, x1 + d, padding=0)

    def set_limits(self) -> None:
        """Pan/zoom limits of a newly shown trace: its whole span plus a margin."""
        d = self.st.data
        span = d.t_max - d.t_min
        pad = max(span * 0.02, 1000.0)
        self.w.vb.setLimits(xMin=d.t_min - 4 * pad, xMax=d.t_max + 4 * pad, minXRange=MIN_SPAN_NS)

    def on_x_range(self, *args) -> None:
        x0, x1 = self.view_range()
        self.w.viewRangeChanged.emit(x0, x1)

    def mouse_time(self) -> float | None:
        """Time under the mouse pointer (None when it is not over the slices)."""
        view, vb = self.w.view, self.w.vb
        pos = view.mapFromGlobal(QtGui.QCursor.pos())
        if not view.rect().contains(pos):
            return None
        scene = view.mapToScene(pos)
        if not vb.sceneBoundingRect().contains(scene):
            return None
        return float(vb.mapSceneToView(scene).x())
