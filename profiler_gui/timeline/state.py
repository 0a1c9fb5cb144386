"""What the timeline's graphics items read: data, layout, colours, highlights, selection."""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pyqtgraph.Qt import QtCore, QtGui

from analyzers.trace_model import TraceModel

from .data import TimelineData
from .palette import THEMES, event_palette
from .text_cache import StaticTextCache

if TYPE_CHECKING:
    from .widget import TimelineWidget

QPointF = QtCore.QPointF

GUTTER_W = 210
LANE_H = 18
GROUP_PAD = 4
COUNTER_H = 46


@dataclass
class _GroupLayout:
    y0: float
    height: float
    lane_y: list[float]
    lane_h: float
    collapsed: bool
    global_lane: list[int]


class _State:
    """What the graphics items read: data, layout, colours, highlights, selection."""

    def __init__(self, widget: "TimelineWidget") -> None:
        self._w = weakref.ref(widget)
        self.model: TraceModel | None = None
        self.data: TimelineData | None = None
        self.layout: list[_GroupLayout] = []
        self.total_height = 0.0
        self.collapsed: set[str] = set()
        self.selected: int | None = None
        self.row_hl: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.search_hl: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.ranges: list[tuple[float, float, int | None]] = []
        self.group_of_track: dict[int, int] = {}
        self.step_row_set: set[int] = set()
        self.colors: dict[str, QtGui.QColor] = {}
        self.pens: dict[str, QtGui.QPen] = {}
        self.brushes: list[QtGui.QBrush] = []
        self.palette_argb = np.zeros(1, dtype=np.uint32)
        self.label_pens: list[QtGui.QPen] = []
        self.label_font = QtGui.QFont()
        self.label_font.setPointSizeF(7.5)
        self.label_metrics = QtGui.QFontMetrics(self.label_font)
        self.elide_cache: dict[tuple[int, int], str] = {}
        self.static_texts = StaticTextCache()
        self.gutter_font = QtGui.QFont()
        self.gutter_font.setPointSizeF(8.5)
        self.gutter_font.setBold(True)
        self.gutter_metrics = QtGui.QFontMetrics(self.gutter_font)
        self.small_font = QtGui.QFont()
        self.small_font.setPointSizeF(7.5)

    # ---- theme
    def apply_theme(self, theme: str) -> None:
        spec = THEMES[theme]
        self.colors = {k: QtGui.QColor(*v) for k, v in spec.items()}
        pal = event_palette(theme)
        self.brushes = [QtGui.QBrush(QtGui.QColor(*rgb)) for rgb in pal]
        # colour index -> premultiplied ARGB pixel; the extra last entry (index -1) is transparent
        self.palette_argb = np.array([QtGui.QColor(*rgb).rgba() for rgb in pal] + [0], dtype=np.uint32)
        self.label_pens = []
        for r, g, b in pal:
            lum = 0.299 * r + 0.587 * g + 0.114 * b
            self.label_pens.append(QtGui.QPen(self.colors["label_dark"] if lum > 140 else self.colors["label_light"]))
        self.pens = {
            "highlight": QtGui.QPen(self.colors["highlight"], 2.0),
            "search": QtGui.QPen(self.colors["search"], 1.5),
            "selection": QtGui.QPen(self.colors["selection"], 2.0),
            "range_edge": QtGui.QPen(self.colors["range_edge"], 1.0),
        }

    # ---- callbacks into the widget
    def toggle_collapsed(self, gi: int) -> None:
        w = self._w()
        if w is not None:
            w.viewport.toggle_group(gi)

    def scroll_by(self, dy: float) -> None:
        w = self._w()
        if w is not None:
            w.viewport.scroll_to(w.viewport.scroll + dy)

    def click_at_scene(self, pos: QPointF) -> None:
        w = self._w()
        if w is not None:
            w.selection.click(pos)

    def flow_partner(self, row: int) -> int | None:
        w = self._w()
        return w.flow_partner(row) if w is not None else None

    def is_launch(self, row: int) -> bool:
        d = self.data
        i = int(np.searchsorted(d.flow_src, row))
        return i < len(d.flow_src) and d.flow_src[i] == row

    def row_anchor(self, row: int) -> tuple[float, float] | None:
        """(x ns, y) where a flow line attaches to ``row``: its start, mid-height of its lane."""
        gl = int(self.data.row_lane[row])
        if gl < 0:
            return None
        gi = int(self.data.lane_group[gl])
        li = int(self.data.lane_index[gl])
        lay = self.layout[gi]
        if lay.collapsed and li > 0:
            li = 0
        return float(self.model.start_ns[row]), lay.lane_y[li] + lay.lane_h / 2
