"""The timeline's axes: the time axis on top, the track gutter and the counter gutters on the left.

Both hot ones are cheap to repaint on every zoom: the time axis draws its
ticks itself with prepared text (no pyqtgraph draw specs), and the gutter is
rendered once into an image and reused until the tracks, the size or the
theme change.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from .data import format_counter_value
from .text_cache import StaticTextCache

if TYPE_CHECKING:  # pragma: no cover
    from .state import _State

QRectF = QtCore.QRectF
QPointF = QtCore.QPointF
Qt = QtCore.Qt
AXIS_H_PX = 24
TICK_SPACING_PX = 110  # about one labelled tick per this many pixels
MINOR_PER_MAJOR = 5


def nice_step(span: float, n_ticks: float) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``n_ticks`` pieces."""
    raw = span / max(n_ticks, 1.0)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10.0 * mag


class TimeAxis(pg.AxisItem):
    """Time axis in ns, labelled with readable units relative to the trace start."""

    def __init__(self, orientation: str = "top", **kw: Any) -> None:
        super().__init__(orientation, **kw)
        self.enableAutoSIPrefix(False)  # its label would be re-laid out (setHtml) on every zoom
        self.setHeight(AXIS_H_PX)
        self._texts = StaticTextCache(2000)
        self._font = QtGui.QFont()
        self._font.setPointSizeF(8.0)

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

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        vb = self.linkedView()
        if vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        rect = self.boundingRect()
        left = self.mapFromScene(vb.mapViewToScene(QPointF(x0, 0))).x()
        right = self.mapFromScene(vb.mapViewToScene(QPointF(x1, 0))).x()
        if right <= left or x1 <= x0:
            return
        scale = (right - left) / (x1 - x0)
        step = nice_step(x1 - x0, (right - left) / TICK_SPACING_PX)
        first = math.ceil(x0 / step)
        majors = [k * step for k in range(first, int(math.floor(x1 / step)) + 1)]
        minor = step / MINOR_PER_MAJOR
        bottom = rect.bottom()
        lines = [QtCore.QLineF(left + (m - x0) * scale, bottom, left + (m - x0) * scale, bottom - 3)
                 for m in (k * minor for k in range(math.ceil(x0 / minor), int(math.floor(x1 / minor)) + 1))]
        lines += [QtCore.QLineF(left + (m - x0) * scale, bottom, left + (m - x0) * scale, bottom - 7) for m in majors]
        p.save()
        p.setPen(self.pen())
        p.drawLines(lines)
        p.setFont(self._font)
        p.setPen(self.textPen())
        for m, text in zip(majors, self.tickStrings(majors, 1.0, step)):
            st = self._texts.get(text, self._font, "axis")
            x = left + (m - x0) * scale - st.size().width() / 2
            if x >= rect.left() - 2 and x + st.size().width() <= rect.right() + 2:
                p.drawStaticText(QPointF(x, rect.top() + 2), st)
        p.restore()


class GutterAxis(pg.AxisItem):
    """Left gutter with the track labels; click a label to collapse/expand its track."""

    def __init__(self, state: "_State", **kw) -> None:
        super().__init__("left", **kw)
        self.st = state
        self.enableAutoSIPrefix(False)
        self.setStyle(showValues=False, tickLength=0)
        self._cache: tuple[tuple, QtGui.QImage] | None = None

    def _group_rows(self) -> list[tuple[int, float, float]]:
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
        """Blit the cached rendering; re-render only when tracks, size, scroll or theme changed."""
        rect = self.mapRectFromParent(self.geometry())
        rows = self._group_rows()
        dev = p.device()
        dpr = dev.devicePixelRatioF() if dev is not None else 1.0
        key = (round(rect.width()), round(rect.height()), dpr, id(self.st.data), id(self.st.colors),
               tuple((gi, round(top, 1), round(bot, 1), self.st.layout[gi].collapsed) for gi, top, bot in rows))
        if self._cache is None or self._cache[0] != key:
            img = QtGui.QImage(max(1, math.ceil(rect.width() * dpr)), max(1, math.ceil(rect.height() * dpr)),
                               QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            img.setDevicePixelRatio(dpr)
            img.fill(0)
            ip = QtGui.QPainter(img)
            ip.translate(-rect.left(), -rect.top())
            self._render(ip, rect, rows)
            ip.end()
            self._cache = (key, img)
        p.drawImage(rect.topLeft(), self._cache[1])

    def _render(self, p: QtGui.QPainter, rect: QRectF, rows: list[tuple[int, float, float]]) -> None:
        st = self.st
        p.save()
        p.setClipRect(rect)
        p.fillRect(rect, st.colors["gutter"])
        if st.data is not None:
            fm = st.gutter_metrics
            for gi, top, bot in rows:
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
