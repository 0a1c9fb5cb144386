"""What is under the pointer: hit testing, the hover tooltip, and flow partners (launch <-> GPU work)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pyqtgraph.Qt import QtCore, QtWidgets

from analyzers.categories import Kind

from .data import event_at
from .items import format_ns
from .raster import draw_level, row_drawn_at

if TYPE_CHECKING:
    from .widget import TimelineWidget

QPointF = QtCore.QPointF


class Picker:
    """Slices under scene positions, their tooltips and their flow partners, for one TimelineWidget."""

    def __init__(self, widget: "TimelineWidget") -> None:
        self.w = widget
        self.st = widget._st
        self.hover_row: int | None = None
        self.hover_text = ""

    def row_at_scene(self, pos: QPointF) -> int | None:
        st, vb = self.st, self.w.vb
        if st.data is None or not vb.sceneBoundingRect().contains(pos):
            return None
        v = vb.mapSceneToView(pos)
        x, y = float(v.x()), float(v.y())
        for gi, lay in enumerate(st.layout):
            if not (lay.y0 <= y < lay.y0 + lay.height):
                continue
            n = 1 if lay.collapsed else len(lay.lane_y)
            for li in range(n):
                if lay.lane_y[li] <= y < lay.lane_y[li] + lay.lane_h:
                    lane = st.data.groups[gi].lanes[li]
                    (x0, x1), _ = vb.viewRange()
                    ns_per_px = (x1 - x0) / max(vb.width(), 1.0)
                    drawn = row_drawn_at(draw_level(lane, ns_per_px), x0, ns_per_px, x)
                    if drawn >= 0:  # exactly what is painted under the pointer
                        return drawn
                    idx = event_at(lane.raw, x, 3.0 * ns_per_px)  # a near miss: the closest slice
                    return None if idx < 0 else int(lane.raw.row[idx])
        return None

    def row_pos(self, row: int) -> QtCore.QPoint | None:
        st = self.st
        anchor = st.row_anchor(row)
        if anchor is None:
            return None
        x0, x1 = self.w.viewport.view_range()
        s = max(float(st.model.start_ns[row]), x0)
        e = min(float(st.model.end_ns[row]), x1)
        scene = self.w.vb.mapViewToScene(QPointF((s + e) / 2, anchor[1]))
        return self.w.view.mapFromScene(scene)

    def tooltip_text(self, row: int) -> str:
        m = self.st.model
        name = m.name(row)
        kind = Kind(int(m.kind[row])).name.lower().replace("_", " ")
        lines = [name if len(name) < 140 else name[:137] + "...",
                 f"Duration: {format_ns(float(m.dur_ns[row]))}",
                 f"Start: {format_ns(float(m.start_ns[row]))}",
                 f"{kind} · {m.category(row)} · {m.tracks.label(int(m.track_id[row]))}"]
        if m.kind[row] == int(Kind.KERNEL):
            if m.grid_blocks[row] >= 0:
                lines.append(f"grid {int(m.grid_blocks[row]):,} blocks × {int(m.block_threads[row]):,} threads")
            if not np.isnan(m.occupancy_pct[row]):
                lines.append(f"est. occupancy {float(m.occupancy_pct[row]):.0f} %")
        if m.bytes[row] >= 0 and m.kind[row] in (int(Kind.MEMCPY), int(Kind.MEMSET)):
            lines.append(f"{int(m.bytes[row]):,} bytes")
        return "\n".join(lines)

    def on_mouse_moved(self, pos: QPointF) -> None:
        row = self.row_at_scene(pos)
        self.hover_row = row
        view = self.w.view
        if row is None:
            self.hover_text = ""
            QtWidgets.QToolTip.hideText()
            return
        self.hover_text = self.tooltip_text(row)
        gpos = view.mapToGlobal(view.mapFromScene(pos))
        QtWidgets.QToolTip.showText(gpos + QtCore.QPoint(12, 12), self.hover_text, view)

    def flow_partner(self, row: int) -> int | None:
        d = self.st.data
        if d is None:
            return None
        row = int(row)
        i = int(np.searchsorted(d.flow_src, row))
        if i < len(d.flow_src) and d.flow_src[i] == row:
            return int(d.flow_src_dst[i])
        i = int(np.searchsorted(d.flow_dst, row))
        if i < len(d.flow_dst) and d.flow_dst[i] == row:
            return int(d.flow_dst_src[i])
        return None
