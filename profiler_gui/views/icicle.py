"""A zoomable icicle chart (a flame graph drawn top-down) over precomputed nodes.

Nodes come as arrays: name, left edge ``x`` and width ``w`` (any unit, e.g. ns
of total time) and ``depth``.  Click selects a node (``nodeClicked``), double
click zooms to it (its width fills the view), ``reset_zoom`` shows everything;
``set_highlight`` marks search hits and dims the rest.  Only nodes at least a
pixel wide are drawn, so large graphs stay fast.
"""
from __future__ import annotations

import zlib
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

ROW_PX = 18
MIN_TEXT_PX = 28
PALETTE = ("#f2a65a", "#eec170", "#e07a5f", "#f4d35e", "#ee964b", "#f95738", "#d6a05a", "#e9c46a")


class IcicleWidget(QWidget):
    """Rectangles per node, one row per depth; emits ``nodeClicked(node)`` and ``zoomed(node)``."""

    nodeClicked = Signal(int)
    zoomed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.names: list[str] = []
        self.x = self.w = self.depth = np.zeros(0)
        self.view = (0.0, 1.0)  # visible [left, right) in node units
        self.selected: int | None = None
        self.zoom_node: int | None = None
        self.highlight: np.ndarray | None = None  # bool per node, None: no search
        self.background, self.text_colour, self.select_colour = QColor("#ffffff"), QColor("#1d2330"), QColor("#2f6fd6")

    # ------------------------------------------------------------------ data
    def set_nodes(self, names: Sequence[str], x: np.ndarray, w: np.ndarray, depth: np.ndarray) -> None:
        self.names = list(names)
        self.x, self.w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
        self.depth = np.asarray(depth, dtype=np.int64)
        self.selected = self.zoom_node = None
        self.highlight = None
        self.reset_zoom()

    def set_colours(self, background: str, text: str, selection: str) -> None:
        self.background, self.text_colour, self.select_colour = QColor(background), QColor(text), QColor(selection)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = int(self.depth.max()) + 1 if len(self.depth) else 1
        return QSize(600, max(rows * ROW_PX, 120))

    # ------------------------------------------------------------------ zoom, selection, search
    def reset_zoom(self) -> None:
        total = float((self.x + self.w).max()) if len(self.x) else 1.0
        self.view = (float(self.x.min()) if len(self.x) else 0.0, max(total, 1e-9))
        self.zoom_node = None
        self.update()

    def zoom_to(self, node: int) -> None:
        """Fit ``node``'s width to the view."""
        if 0 <= node < len(self.x) and self.w[node] > 0:
            self.view = (float(self.x[node]), float(self.x[node] + self.w[node]))
            self.zoom_node = node
            self.update()
            self.zoomed.emit(node)

    def select(self, node: int | None) -> None:
        self.selected = node
        self.update()

    def set_highlight(self, nodes: np.ndarray | None) -> None:
        """Mark ``nodes`` (search hits; the others are dimmed); None clears."""
        if nodes is None:
            self.highlight = None
        else:
            self.highlight = np.zeros(len(self.x), dtype=bool)
            self.highlight[np.asarray(nodes, dtype=np.int64)] = True
        self.update()

    def visible_nodes(self) -> np.ndarray:
        """Nodes drawn now: inside the view and at least one pixel wide."""
        if not len(self.x):
            return np.zeros(0, dtype=np.int64)
        left, right = self.view
        scale = self.width() / max(right - left, 1e-12)
        lo, hi = np.maximum(self.x, left), np.minimum(self.x + self.w, right)
        return np.flatnonzero((hi - lo) * scale >= 1.0)

    def node_at(self, px: float, py: float) -> int | None:
        """The node under widget point (px, py), or None."""
        if not len(self.x):
            return None
        left, right = self.view
        xv = left + px / max(self.width(), 1) * (right - left)
        d = int(py // ROW_PX)
        hit = np.flatnonzero((self.depth == d) & (self.x <= xv) & (xv < self.x + self.w))
        return int(hit[-1]) if len(hit) else None

    # ------------------------------------------------------------------ Qt events
    def mousePressEvent(self, event: Any) -> None:  # noqa: N802
        node = self.node_at(event.position().x(), event.position().y())
        if node is not None:
            self.select(node)
            self.nodeClicked.emit(node)

    def mouseDoubleClickEvent(self, event: Any) -> None:  # noqa: N802
        node = self.node_at(event.position().x(), event.position().y())
        if node is None:
            self.reset_zoom()
        else:
            self.zoom_to(node)

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802
        node = self.node_at(event.position().x(), event.position().y())
        self.setToolTip(self.names[node] if node is not None else "")

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), self.background)
        left, right = self.view
        scale = self.width() / max(right - left, 1e-12)
        fm = QFontMetrics(p.font())
        for i in self.visible_nodes():
            x0 = (max(self.x[i], left) - left) * scale
            x1 = (min(self.x[i] + self.w[i], right) - left) * scale
            rect = QRectF(x0, int(self.depth[i]) * ROW_PX, max(x1 - x0 - 1, 1.0), ROW_PX - 1)
            p.fillRect(rect, self._colour(int(i)))
            if i == self.selected:
                p.setPen(QPen(self.select_colour, 2))
                p.drawRect(rect)
            if rect.width() >= MIN_TEXT_PX:
                p.setPen(self.text_colour if self.highlight is None or self.highlight[i] else QColor("#8a8f99"))
                text = fm.elidedText(self.names[i], Qt.ElideRight, int(rect.width()) - 4)
                p.drawText(rect.adjusted(2, 0, -2, 0), int(Qt.AlignVCenter | Qt.AlignLeft), text)
        p.end()

    def _colour(self, node: int) -> QColor:
        if self.highlight is not None and not self.highlight[node]:
            return QColor("#d9dce1")
        if self.highlight is not None:
            return QColor("#c678dd")
        return QColor(PALETTE[zlib.crc32(self.names[node].encode()) % len(PALETTE)])
