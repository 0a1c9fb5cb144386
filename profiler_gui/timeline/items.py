"""Graphics items of the timeline: one item per track group, overlay, gutter and axes."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui
from pyqtgraph.Qt import compat

from .data import format_counter_value, frame_rects, visible_slice

if TYPE_CHECKING:  # pragma: no cover
    from .widget import _State

QRectF = QtCore.QRectF
QPointF = QtCore.QPointF
Qt = QtCore.Qt

_RECT_BYTES = 4 * 8  # QRectF = 4 doubles


class _RectBuffer:
    """A growable float64 (n, 4) buffer passed to QPainter.drawRects without copies."""

    def __init__(self) -> None:
        self.arr = np.empty((1024, 4), dtype=np.float64)

    def fill(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        n = len(x)
        if n > len(self.arr):
            self.arr = np.empty((max(n, 2 * len(self.arr)), 4), dtype=np.float64)
        a = self.arr
        a[:n, 0] = x
        a[:n, 1] = y
        a[:n, 2] = w
        a[:n, 3] = h
        return a

    def draw(self, p: QtGui.QPainter, start: int, count: int) -> None:
        if count <= 0:
            return
        ptr = compat.wrapinstance(self.arr.ctypes.data + start * _RECT_BYTES, QRectF)
        p.drawRects(ptr, count)


def format_ns(ns: float, digits: int = 3) -> str:
    """12345 -> '12.345 us' (readable duration)."""
    a = abs(ns)
    if a >= 1e9:
        return f"{ns / 1e9:.{digits}f} s"
    if a >= 1e6:
        return f"{ns / 1e6:.{digits}f} ms"
    if a >= 1e3:
        return f"{ns / 1e3:.{digits}f} us"
    return f"{ns:.0f} ns"


class TrackGroupItem(pg.GraphicsObject):
    """Draws every lane of one track group (a thread, a stream, the steps)."""

    def __init__(self, state: "_State", group_index: int) -> None:
        super().__init__()
        self.st = state
        self.gi = group_index
        self.buf = _RectBuffer()
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption, False)
        self.last_rect_count = 0

    def boundingRect(self) -> QRectF:
        lay = self.st.layout[self.gi]
        d = self.st.data
        return QRectF(float(d.t_min), lay.y0, float(d.t_max - d.t_min), lay.height)

    def relayout(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:  # noqa: C901 - one hot path
        st = self.st
        vb = self.getViewBox()
        if vb is None or st.data is None:
            return
        (x0, x1), _ = vb.viewRange()
        tr = p.transform()
        sx, sy = tr.m11(), tr.m22()
        if sx <= 0 or x1 <= x0:
            return
        ns_per_px = 1.0 / sx
        ox = sx * x0 + tr.dx()
        width_px = (x1 - x0) * sx
        group = st.data.groups[self.gi]
        lay = st.layout[self.gi]
        dev_h = p.device().height() if p.device() is not None else 10000
        p.save()
        p.resetTransform()
        # group band and separator
        gy0 = sy * lay.y0 + tr.dy()
        gy1 = sy * (lay.y0 + lay.height) + tr.dy()
        if self.gi % 2 == 1:
            p.fillRect(QRectF(ox, gy0, width_px, gy1 - gy0), st.colors["band_alt"])
        p.setPen(QtGui.QPen(st.colors["separator"], 1))
        p.drawLine(QPointF(ox, gy1 - 0.5), QPointF(ox + width_px, gy1 - 0.5))
        p.setPen(Qt.PenStyle.NoPen)

        xs_l, ys_l, ws_l, hs_l, cs_l, rows_l = [], [], [], [], [], []
        lane_boxes = []  # (lane, y, h, global lane)
        n_lanes = 1 if lay.collapsed else len(group.lanes)
        for li in range(n_lanes):
            lane = group.lanes[li]
            ly = sy * lay.lane_y[li] + tr.dy()
            lh = sy * lay.lane_h - 1.0
            if ly + lh < -2 or ly > dev_h + 2:
                continue
            gl = lay.global_lane[li]
            lane_boxes.append((lane, ly, lh, gl))
            lvl = lane.level_for(ns_per_px)
            xs, w, col, row, cnt = frame_rects(lvl, x0, ns_per_px, width_px)
            if not len(xs):
                continue
            xs_l.append(xs + ox)
            ws_l.append(w)
            ys_l.append(np.full(len(xs), ly))
            hs_l.append(np.full(len(xs), lh))
            cs_l.append(col)
            rows_l.append(row)
        total = 0
        if xs_l:
            xs = np.concatenate(xs_l)
            ws = np.concatenate(ws_l)
            ys = np.concatenate(ys_l)
            hs = np.concatenate(hs_l)
            cs = np.concatenate(cs_l)
            rows = np.concatenate(rows_l)
            total = len(xs)
            order = np.argsort(cs, kind="stable")
            cs_sorted = cs[order]
            self.buf.fill(xs[order], ys[order], ws[order], hs[order])
            bounds = np.flatnonzero(np.diff(cs_sorted)) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.append(bounds, total)
            brushes = st.brushes
            for a, b in zip(starts.tolist(), ends.tolist()):
                p.setBrush(brushes[int(cs_sorted[a])])
                self.buf.draw(p, a, b - a)
            # labels on rectangles wide enough
            wide = np.flatnonzero(ws >= 24)
            if len(wide) and lay.lane_h >= 12:
                p.setFont(st.label_font)
                fm = st.label_metrics
                strings = st.model.strings
                name_id = st.model.name_id
                label_pens = st.label_pens
                cache = st.elide_cache
                for i in wide[:600].tolist():
                    x = max(xs[i], ox)
                    w = min(xs[i] + ws[i], ox + width_px) - x
                    if w < 24:
                        continue
                    nid = int(name_id[rows[i]])
                    key = (nid, int(w - 6) >> 3)  # 8 px width buckets
                    text = cache.get(key)
                    if text is None:
                        if len(cache) > 50_000:
                            cache.clear()
                        text = fm.elidedText(strings[nid], Qt.TextElideMode.ElideRight, (key[1] << 3))
                        cache[key] = text
                    if not text or text == "…":
                        continue
                    p.setPen(label_pens[int(cs[i])])
                    p.drawText(QRectF(x + 3, ys[i], w - 6, hs[i]),
                               int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
                p.setPen(Qt.PenStyle.NoPen)
        self.last_rect_count = total

        # highlight overlays: outlines of highlighted / matching rows
        p.setBrush(Qt.BrushStyle.NoBrush)
        for lane, ly, lh, gl in lane_boxes:
            for hl, pen in ((st.search_hl.get(gl), st.pens["search"]), (st.row_hl.get(gl), st.pens["highlight"])):
                if hl is None:
                    continue
                s_arr, e_arr, cm = hl
                lo = int(np.searchsorted(cm, np.int64(math.floor(x0)), side="left"))
                hi = int(np.searchsorted(s_arr, np.int64(math.ceil(x1)), side="right"))
                if hi <= lo:
                    continue
                if hi - lo > 4 * width_px:
                    # dense: one outline per pixel column (the first match starting in it),
                    # plus the longest one reaching in from the left
                    grid = np.int64(math.floor(x0)) + (np.arange(int(width_px) + 2) * ns_per_px).astype(np.int64)
                    gi_ = np.searchsorted(s_arr, grid)
                    pick = gi_[:-1][np.diff(gi_) > 0]
                    first_in = int(gi_[0])
                    if first_in > lo:
                        pick = np.concatenate(([int(np.searchsorted(cm, cm[first_in - 1]))], pick))
                    hs, he = s_arr[pick], e_arr[pick]
                else:
                    hs, he = s_arr[lo:hi], e_arr[lo:hi]
                hx = (hs - x0) * sx
                hw = np.maximum((he - hs) * sx, 1.0)
                keep = (hx + hw) >= -2
                hx, hw = hx[keep], hw[keep]
                hxe = np.minimum(hx + hw, width_px + 3.0)
                hx = np.maximum(hx, -3.0)
                if len(hx) > 1:  # touching outlines fold into one box (few strokes, readable)
                    reach = np.maximum.accumulate(hxe)
                    idx = np.flatnonzero(np.concatenate(([True], hx[1:] > reach[:-1] + 3.0)))
                    if len(idx) < len(hx):
                        hxe = np.maximum.reduceat(hxe, idx)
                        hx = hx[idx]
                hw = np.maximum(hxe - hx, 1.0)
                hx = hx + ox
                p.setPen(pen)
                n = len(hx)
                self.buf.fill(hx - 1, np.full(n, ly - 1), hw + 2, np.full(n, lh + 2))
                self.buf.draw(p, 0, n)
        # selection
        sel = st.selected
        if sel is not None:
            s, e = float(st.model.start_ns[sel]), float(st.model.end_ns[sel])
            if e >= x0 and s <= x1:
                for lane, ly, lh, gl in lane_boxes:
                    in_lane = gl == st.data.row_lane[sel] or (group.kind == "steps" and sel in st.step_row_set)
                    if not in_lane:
                        continue
                    hx = max((s - x0) * sx, -3.0)
                    hw = max(min((e - x0) * sx, width_px + 3.0) - hx, 1.0)
                    hx += ox
                    p.setPen(st.pens["selection"])
                    p.drawRect(QRectF(hx - 1, ly - 1, hw + 2, lh + 2))
        p.restore()


class OverlayItem(pg.GraphicsObject):
    """Range highlights (findings) and the flow arrow of the selected slice."""

    def __init__(self, state: "_State") -> None:
        super().__init__()
        self.st = state
        self.setZValue(10)

    def boundingRect(self) -> QRectF:
        d = self.st.data
        if d is None:
            return QRectF()
        span = float(d.t_max - d.t_min)
        return QRectF(float(d.t_min) - span, -10.0, 3 * span, self.st.total_height + 20)

    def relayout(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        st = self.st
        vb = self.getViewBox()
        if vb is None or st.data is None:
            return
        (x0, x1), _ = vb.viewRange()
        tr = p.transform()
        sx, sy = tr.m11(), tr.m22()
        ox = sx * x0 + tr.dx()
        width_px = (x1 - x0) * sx
        p.save()
        p.resetTransform()
        for start, end, track in st.ranges:
            if end < x0 or start > x1:
                continue
            rx = max((start - x0) * sx, -3.0)
            rw = max(min((end - x0) * sx, width_px + 3.0) - rx, 2.0)
            rx += ox
            if track is None:
                ry0, ry1 = 0.0, st.total_height
            else:
                gi = st.group_of_track.get(int(track))
                if gi is None:
                    continue
                lay = st.layout[gi]
                ry0, ry1 = lay.y0, lay.y0 + lay.height
            y0d = sy * ry0 + tr.dy()
            y1d = sy * ry1 + tr.dy()
            rect = QRectF(rx, y0d, rw, y1d - y0d)
            p.fillRect(rect, st.colors["range_fill"])
            p.setPen(st.pens["range_edge"])
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
        sel = st.selected
        if sel is not None:
            partner = st.flow_partner(sel)
            if partner is not None:
                a = st.row_anchor(sel)
                b = st.row_anchor(partner)
                if a is not None and b is not None:
                    src, dst = (a, b) if st.is_launch(sel) else (b, a)
                    (sxn, sy_), (dxn, dy_) = src, dst
                    p1 = QPointF((sxn - x0) * sx + ox, sy * sy_ + tr.dy())
                    p2 = QPointF((dxn - x0) * sx + ox, sy * dy_ + tr.dy())
                    self._arrow(p, p1, p2)
        p.restore()

    def _arrow(self, p: QtGui.QPainter, p1: QPointF, p2: QPointF) -> None:
        pen = QtGui.QPen(self.st.colors["flow"], 1.6)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        path = QtGui.QPainterPath(p1)
        dy = (p2.y() - p1.y()) * 0.5
        path.cubicTo(QPointF(p1.x(), p1.y() + dy), QPointF(p2.x(), p2.y() - dy), p2)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.drawPath(path)
        ang = math.atan2(p2.y() - (p2.y() - dy), 0.0001)
        size = 7.0
        left = QPointF(p2.x() - size * math.cos(ang - 0.45), p2.y() - size * math.sin(ang - 0.45))
        right = QPointF(p2.x() - size * math.cos(ang + 0.45), p2.y() - size * math.sin(ang + 0.45))
        p.setBrush(self.st.colors["flow"])
        p.drawPolygon(QtGui.QPolygonF([p2, left, right]))
        p.drawEllipse(p1, 2.5, 2.5)


class TimeAxis(pg.AxisItem):
    """Time axis in ns, labelled with readable units relative to the trace start."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (Qt naming)
        units = ((1e9, "s"), (1e6, "ms"), (1e3, "us"), (1.0, "ns"))
        k = next((i for i, (d, _) in enumerate(units) if spacing >= d), 3)
        top = max((abs(v) for v in values), default=0.0)
        while k > 0 and top / units[k][0] >= 1e4:  # '9876500 us' -> '9.8765 s'
            k -= 1
        div, unit = units[k]
        step = spacing / div
        digits = max(0, min(9, -int(math.floor(math.log10(step) + 1e-9)))) if step > 0 else 0
        return [f"{v / div:.{digits}f} {unit}" for v in values]


class GutterAxis(pg.AxisItem):
    """Left gutter with the track labels; click a label to collapse/expand its track."""

    def __init__(self, state: "_State", **kw) -> None:
        super().__init__("left", **kw)
        self.st = state
        self.setStyle(showValues=False, tickLength=0)

    def _group_rows(self):
        vb = self.linkedView()
        if vb is None or self.st.data is None:
            return []
        out = []
        for gi, lay in enumerate(self.st.layout):
            top = self.mapFromScene(vb.mapViewToScene(QPointF(0, lay.y0))).y()
            bot = self.mapFromScene(vb.mapViewToScene(QPointF(0, lay.y0 + lay.height))).y()
            out.append((gi, top, bot))
        return out

    def paint(self, p, opt, widget=None) -> None:
        st = self.st
        rect = self.mapRectFromParent(self.geometry())
        p.save()
        p.setClipRect(rect)
        p.fillRect(rect, st.colors["gutter"])
        if st.data is not None:
            fm = st.gutter_metrics
            for gi, top, bot in self._group_rows():
                if bot < rect.top() or top > rect.bottom():
                    continue
                lay = st.layout[gi]
                group = st.data.groups[gi]
                band = QRectF(rect.left(), top, rect.width(), bot - top)
                if gi % 2 == 1:
                    p.fillRect(band, st.colors["gutter_alt"])
                p.setPen(QtGui.QPen(st.colors["separator"], 1))
                p.drawLine(QPointF(rect.left(), bot - 0.5), QPointF(rect.right(), bot - 0.5))
                arrow = "" if len(group.lanes) <= 1 else ("▸ " if lay.collapsed else "▾ ")
                p.setFont(st.gutter_font)
                p.setPen(st.colors["text"])
                line_h = max(fm.height(), 14)
                text = arrow + fm.elidedText(group.label, Qt.TextElideMode.ElideMiddle,
                                             int(rect.width() - 12 - fm.horizontalAdvance(arrow)))
                p.drawText(QRectF(rect.left() + 6, top + 2, rect.width() - 10, line_h),
                           int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
                if not lay.collapsed and (bot - top) > 2 * line_h + 4:
                    sub = f"{len(group.lanes)} lanes" if group.kind == "cpu" else ", ".join(
                        sorted({l.name.split(" ")[0] for l in group.lanes}))
                    n_ev = sum(len(l.raw) for l in group.lanes)
                    p.setFont(st.small_font)
                    p.setPen(st.colors["text_dim"])
                    p.drawText(QRectF(rect.left() + 6 + fm.horizontalAdvance(arrow), top + 2 + line_h,
                                      rect.width() - 12, line_h),
                               int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                               f"{sub} · {n_ev:,} events")
        p.setPen(QtGui.QPen(st.colors["separator"], 1))
        p.drawLine(QPointF(rect.right() - 0.5, rect.top()), QPointF(rect.right() - 0.5, rect.bottom()))
        p.restore()

    def group_at(self, y: float) -> int | None:
        for gi, top, bot in self._group_rows():
            if top <= y < bot:
                return gi
        return None

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            gi = self.group_at(ev.pos().y())
            if gi is not None:
                self.st.toggle_collapsed(gi)
                ev.accept()
                return
        ev.ignore()

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - no y panning from the gutter
        ev.ignore()

    def wheelEvent(self, ev) -> None:  # noqa: N802
        self.st.scroll_by(-ev.delta() * 0.5)
        ev.accept()


class CounterAxis(pg.AxisItem):
    """Left gutter of a counter track: its name and its peak value."""

    def __init__(self, state: "_State", name: str, unit: str, peak: float, **kw) -> None:
        super().__init__("left", **kw)
        self.st = state
        self.name = name
        self.unit = unit
        self.peak = peak
        self.setStyle(showValues=False, tickLength=0)

    def paint(self, p, opt, widget=None) -> None:
        st = self.st
        rect = self.mapRectFromParent(self.geometry())
        p.save()
        p.setClipRect(rect)
        p.fillRect(rect, st.colors["gutter"])
        fm = st.gutter_metrics
        p.setFont(st.gutter_font)
        p.setPen(st.colors["text"])
        p.drawText(QRectF(rect.left() + 6, rect.top() + 2, rect.width() - 10, fm.height()),
                   int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                   fm.elidedText(self.name, Qt.TextElideMode.ElideRight, int(rect.width() - 12)))
        p.setFont(st.small_font)
        p.setPen(st.colors["text_dim"])
        peak = format_counter_value(self.peak, self.unit)
        p.drawText(QRectF(rect.left() + 6, rect.top() + 2 + fm.height(), rect.width() - 10, fm.height()),
                   int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), f"max {peak}")
        p.setPen(QtGui.QPen(st.colors["separator"], 1))
        p.drawLine(QPointF(rect.left(), rect.bottom() - 0.5), QPointF(rect.right(), rect.bottom() - 0.5))
        p.drawLine(QPointF(rect.right() - 0.5, rect.top()), QPointF(rect.right() - 0.5, rect.bottom()))
        p.restore()

    def mouseDragEvent(self, ev) -> None:  # noqa: N802
        ev.ignore()


class TimelineViewBox(pg.ViewBox):
    """x-only zoom/pan; shift+wheel scrolls the tracks; clicks select."""

    def __init__(self, state: "_State", **kw) -> None:
        super().__init__(**kw)
        self.st = state

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.st.scroll_by(-ev.delta() * 0.5)
            ev.accept()
            return
        super().wheelEvent(ev, axis=0)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            self.st.click_at_scene(ev.scenePos())
            ev.accept()
            return
        super().mouseClickEvent(ev)


def visible_count(level, t0: float, t1: float) -> int:
    lo, hi = visible_slice(level, t0, t1)
    return hi - lo
