"""Graphics items of the timeline: one item per track group, overlay, gutter and axes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui
from pyqtgraph.Qt import compat

from .data import visible_slice
from .raster import GroupFrame, draw_level, rasterize

if TYPE_CHECKING:  # pragma: no cover
    from .state import _State

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


@dataclass
class _Frame:
    """The view of one paint, in device pixels."""

    x0: float  # view start, ns
    x1: float  # view end, ns
    sx: float  # px per ns
    ox: float  # device x of the view's left edge
    width_px: float
    lane_boxes: list  # (lane, y, h, global lane) of the lanes on screen


class TrackGroupItem(pg.GraphicsObject):
    """Draws every lane of one track group (a thread, a stream, the steps).

    Slices are rasterized per frame (:mod:`.raster`): one image row per lane,
    drawn with one ``drawImage`` per lane; labels on slices >= 24 px wide.
    """

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

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        st = self.st
        vb = self.getViewBox()
        if vb is None or st.data is None:
            return
        (x0, x1), _ = vb.viewRange()
        tr = p.transform()
        sx, sy = tr.m11(), tr.m22()
        if sx <= 0 or x1 <= x0:
            return
        lay = st.layout[self.gi]
        group = st.data.groups[self.gi]
        dev_h = p.device().height() if p.device() is not None else 10000
        f = _Frame(x0, x1, sx, sx * x0 + tr.dx(), (x1 - x0) * sx, [])
        n_lanes = 1 if lay.collapsed else len(group.lanes)
        for li in range(n_lanes):
            ly = sy * lay.lane_y[li] + tr.dy()
            lh = sy * lay.lane_h - 1.0
            if not (ly + lh < -2 or ly > dev_h + 2):
                f.lane_boxes.append((group.lanes[li], ly, lh, lay.global_lane[li]))
        p.save()
        p.resetTransform()
        self._draw_band(p, f, sy * lay.y0 + tr.dy(), sy * (lay.y0 + lay.height) + tr.dy())
        self._draw_slices(p, f)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for lane, ly, lh, gl in f.lane_boxes:
            self._draw_highlights(p, f, ly, lh, gl)
        self._draw_selection(p, f, group)
        p.restore()

    def _draw_band(self, p: QtGui.QPainter, f: _Frame, gy0: float, gy1: float) -> None:
        """The alternating group background and its bottom separator."""
        st = self.st
        if self.gi % 2 == 1:
            p.fillRect(QRectF(f.ox, gy0, f.width_px, gy1 - gy0), st.colors["band_alt"])
        p.fillRect(QRectF(f.ox, math.floor(gy1 - 0.5), f.width_px, 1.0), st.colors["separator"])  # 1 px line
        p.setPen(Qt.PenStyle.NoPen)

    def _draw_slices(self, p: QtGui.QPainter, f: _Frame) -> None:
        """Rasterize the visible lanes and draw one image row per lane, then the labels."""
        st = self.st
        self.last_rect_count = 0
        if not f.lane_boxes:
            return
        ns_per_px = 1.0 / f.sx
        width = max(int(math.ceil(f.width_px)), 1)
        frame = rasterize([draw_level(lane, ns_per_px) for lane, _, _, _ in f.lane_boxes], f.x0, ns_per_px, width)
        self.last_rect_count = len(frame)
        if not len(frame):
            return
        # one image for the whole group: lane k fills device rows [round(ly), round(ly + lh)), gaps stay clear
        tops = np.array([round(ly) for _, ly, _, _ in f.lane_boxes], dtype=np.int64)
        bottoms = np.maximum(tops + 1, [round(ly + lh) for _, ly, lh, _ in f.lane_boxes])
        gaps = np.maximum(np.append(tops[1:], bottoms[-1]) - bottoms, 0)
        y0 = int(tops[0])
        rows = np.zeros((2 * len(tops), width), dtype=np.uint32)  # lane row, clear row, lane row, ...
        rows[0::2] = st.palette_argb[frame.pixels]
        reps = np.empty(2 * len(tops), dtype=np.int64)
        reps[0::2], reps[1::2] = bottoms - tops, gaps
        argb = np.repeat(rows, reps, axis=0)
        img = QtGui.QImage(argb.data, width, len(argb), width * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        p.drawImage(QPointF(round(f.ox), y0), img)
        del img
        self._draw_labels(p, f, frame)

    def _draw_labels(self, p: QtGui.QPainter, f: _Frame, frame: GroupFrame) -> None:
        """Slice names on entries at least 24 px wide (at most 600 per group)."""
        st = self.st
        wide = np.flatnonzero(frame.w_px >= 24)
        if not len(wide) or self.st.layout[self.gi].lane_h < 12:
            return
        p.setFont(st.label_font)
        fm, cache, texts = st.label_metrics, st.elide_cache, st.static_texts
        strings, name_id = st.model.strings, st.model.name_id
        for i in wide[:600].tolist():
            _, ly, lh, _ = f.lane_boxes[int(frame.lane_pos[i])]
            xs = float(frame.x_px[i]) + f.ox
            x = max(xs, f.ox)
            w = min(xs + float(frame.w_px[i]), f.ox + f.width_px) - x
            if w < 24:
                continue
            nid = int(name_id[frame.row[i]])
            key = (nid, int(w - 6) >> 3)  # 8 px width buckets
            text = cache.get(key)
            if text is None:
                if len(cache) > 50_000:
                    cache.clear()
                text = fm.elidedText(strings[nid], Qt.TextElideMode.ElideRight, (key[1] << 3))
                cache[key] = text
            if not text or text == "…":
                continue
            p.setPen(st.label_pens[int(frame.color[i])])
            texts.draw_centered_v(p, x + 3, ly, lh, text, st.label_font, "label")
        p.setPen(Qt.PenStyle.NoPen)

    def _draw_highlights(self, p: QtGui.QPainter, f: _Frame, ly: float, lh: float, gl: int) -> None:
        """Outlines of highlighted / search-matching rows on one lane."""
        st = self.st
        x0, x1, sx, ox, width_px = f.x0, f.x1, f.sx, f.ox, f.width_px
        ns_per_px = 1.0 / sx
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

    def _draw_selection(self, p: QtGui.QPainter, f: _Frame, group) -> None:
        """The outline of the selected slice, on its lane."""
        st = self.st
        x0, x1, sx, ox, width_px = f.x0, f.x1, f.sx, f.ox, f.width_px
        lane_boxes = f.lane_boxes
        sel = st.selected
        if sel is not None:
            s, e = float(st.model.start_ns[sel]), float(st.model.end_ns[sel])
            if group.kind == "steps" and sel in st.step_row_set:
                s, e = _step_span(group.lanes[0].raw, sel, s, e)  # the step as drawn: stretched to its GPU work
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


def _step_span(raw, row: int, s: float, e: float) -> tuple[float, float]:
    """(start, end) of ``row``'s entry in the steps lane ``raw`` level; (s, e) when it has none."""
    k = np.flatnonzero(raw.row == row)
    return (float(raw.start[k[0]]), float(raw.end[k[0]])) if len(k) else (s, e)


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
