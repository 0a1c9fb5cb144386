"""The Timeline view: CPU threads, GPU streams, steps and counters of one trace.

Usage::

    data = build_pyramids(model)          # any thread (pure numpy)
    w = TimelineWidget()
    w.set_model(model, data)              # GUI thread
    w.eventSelected.connect(show_details) # row of the slice in the model

Keys (Perfetto / chrome://tracing): W/S zoom in/out around the mouse (or the
centre), A/D pan, F fit the selection (or the whole trace), '/' search,
Enter next match, Esc clear selection.  Wheel zooms, drag pans, shift+wheel
scrolls the tracks, clicking a track label collapses it.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from analyzers.categories import Kind
from analyzers.trace_model import TraceModel

from .data import GROUP_STEPS, TimelineData, build_pyramids, event_at
from .axes import CounterAxis, GutterAxis, TimeAxis
from .items import OverlayItem, TimelineViewBox, TrackGroupItem, format_ns
from .palette import THEMES, event_palette
from .raster import draw_level, row_drawn_at
from .text_cache import StaticTextCache

Qt = QtCore.Qt
QPointF = QtCore.QPointF

GUTTER_W = 210
LANE_H = 18
GROUP_PAD = 4
COUNTER_H = 46
ZOOM_STEP = 0.8
PAN_STEP = 0.2
MIN_SPAN_NS = 200.0


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
            w._toggle_group(gi)

    def scroll_by(self, dy: float) -> None:
        w = self._w()
        if w is not None:
            w._scroll_to(w._scroll + dy)

    def click_at_scene(self, pos: QPointF) -> None:
        w = self._w()
        if w is not None:
            w._click(pos)

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


class _BuildSignals(QtCore.QObject):
    done = QtCore.Signal(object, object)


class _BuildTask(QtCore.QRunnable):
    def __init__(self, model: TraceModel, screen_px: int) -> None:
        super().__init__()
        self.model = model
        self.screen_px = screen_px
        self.signals = _BuildSignals()

    def run(self) -> None:  # worker thread: numpy only
        data = build_pyramids(self.model, self.screen_px)
        self.signals.done.emit(self.model, data)


class TimelineWidget(QtWidgets.QWidget):
    """Timeline of one trace (see module doc)."""

    #: a slice was selected (click, select_row, search navigation): its row in the model
    eventSelected = QtCore.Signal(int)
    #: the selection was cleared (Esc, click on empty space)
    selectionCleared = QtCore.Signal()
    #: the visible time range changed: (start_ns, end_ns)
    viewRangeChanged = QtCore.Signal(float, float)
    #: number of search matches after search()
    searchMatchesChanged = QtCore.Signal(int)
    #: build_pyramids finished in the background (load_model_async)
    dataReady = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None, theme: str = "light") -> None:
        super().__init__(parent)
        self._st = _State(self)
        self._theme = theme
        self._st.apply_theme(theme)
        self._scroll = 0.0
        self._items: list[TrackGroupItem] = []
        self._counter_plots: list[pg.PlotItem] = []
        self._search_rows = np.empty(0, np.int64)
        self._search_pos = -1
        self._hover_row: int | None = None
        self.hover_text = ""
        self._tasks: list[_BuildTask] = []
        self.show_empty_counters = False  # counters holding only zeros stay hidden until asked for
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        # --- toolbar: search box + info
        self.search_box = QtWidgets.QLineEdit(self)
        self.search_box.setPlaceholderText("Search slices  ( / )")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMaximumWidth(320)
        self._search_timer = QtCore.QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(180)  # debounce typing on million-slice traces
        self._search_timer.timeout.connect(lambda: self.search(self.search_box.text()))
        self.search_box.textChanged.connect(self._on_search_text)
        self.search_box.returnPressed.connect(self._on_search_enter)
        self.search_box.installEventFilter(self)
        self.match_label = QtWidgets.QLabel("", self)
        self.info_label = QtWidgets.QLabel("", self)
        self.info_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 2)
        top.addWidget(self.search_box)
        top.addWidget(self.match_label)
        top.addStretch(1)
        top.addWidget(self._make_empty_counters_box())
        top.addWidget(self.info_label)

        # --- graphics
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setAntialiasing(False)
        self.view.ci.setContentsMargins(0, 0, 0, 0)
        self.view.ci.setSpacing(0)
        self.view.installEventFilter(self)
        self.view.viewport().installEventFilter(self)
        self.vb = TimelineViewBox(self._st, enableMenu=False)
        self.gutter = GutterAxis(self._st)
        self.time_axis = TimeAxis("top")
        self.plot = pg.PlotItem(viewBox=self.vb, axisItems={"left": self.gutter, "top": self.time_axis})
        self.plot.showAxis("top")
        self.plot.hideAxis("bottom")
        self.plot.hideButtons()
        self.plot.setContentsMargins(0, 0, 0, 0)
        self.plot.layout.setContentsMargins(0, 0, 0, 0)
        self.gutter.setWidth(GUTTER_W)
        self.view.addItem(self.plot, row=0, col=0)
        self.vb.setMouseEnabled(x=True, y=False)
        self.vb.invertY(True)
        self.vb.disableAutoRange()
        self.vb.sigResized.connect(self._apply_y)
        self.vb.sigXRangeChanged.connect(self._on_x_range)
        self.overlay = OverlayItem(self._st)
        self.vb.addItem(self.overlay, ignoreBounds=True)
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.vscroll = QtWidgets.QScrollBar(Qt.Orientation.Vertical, self)
        self.vscroll.valueChanged.connect(lambda v: self._scroll_to(float(v), from_bar=True))
        mid = QtWidgets.QHBoxLayout()
        mid.setContentsMargins(0, 0, 0, 0)
        mid.setSpacing(0)
        mid.addWidget(self.view, 1)
        mid.addWidget(self.vscroll)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addLayout(mid, 1)
        self._apply_theme_to_widgets()

    # ------------------------------------------------------------------ data
    @property
    def model(self) -> TraceModel | None:
        return self._st.model

    @property
    def data(self) -> TimelineData | None:
        return self._st.data

    @property
    def selected_row(self) -> int | None:
        return self._st.selected

    def load_model_async(self, model: TraceModel, screen_px: int = 1920) -> None:
        """Build the pyramids on a worker thread, then set_model() (emits dataReady)."""
        task = _BuildTask(model, screen_px)
        task.setAutoDelete(False)
        task.signals.done.connect(self._on_built, Qt.ConnectionType.QueuedConnection)
        self._tasks.append(task)
        QtCore.QThreadPool.globalInstance().start(task)

    def _on_built(self, model: TraceModel, data: TimelineData) -> None:
        self._tasks = [t for t in self._tasks if t.model is not model]
        self.set_model(model, data)
        self.dataReady.emit()

    def set_model(self, model: TraceModel | None, data: TimelineData | None = None) -> None:
        """Show ``model``; ``data`` from build_pyramids(model) (built here when None)."""
        st = self._st
        for it in self._items:
            self.vb.removeItem(it)
        self._items = []
        for plot in self._counter_plots:
            self.view.removeItem(plot)
        self._counter_plots = []
        st.selected = None
        st.row_hl, st.search_hl, st.ranges = {}, {}, []
        self._search_rows = np.empty(0, np.int64)
        self._search_pos = -1
        st.collapsed = set()
        st.model = model
        if model is None:
            st.data = None
            st.layout = []
            self.vb.update()
            return
        if data is None:
            data = build_pyramids(model)
        st.data = data
        st.group_of_track = {g.track_id: i for i, g in enumerate(data.groups) if g.track_id is not None}
        st.step_row_set = set(int(r) for r in data.step_rows)
        self._relayout()
        for gi in range(len(data.groups)):
            item = TrackGroupItem(st, gi)
            self.vb.addItem(item, ignoreBounds=True)
            self._items.append(item)
        self._build_counters()
        span = data.t_max - data.t_min
        pad = max(span * 0.02, 1000.0)
        self.vb.setLimits(xMin=data.t_min - 4 * pad, xMax=data.t_max + 4 * pad, minXRange=MIN_SPAN_NS)
        self._fit_profiled_window()
        self._scroll_to(0.0)
        n_ev = data.n_events
        hidden = len(data.empty_counters)
        self.empty_counters_box.setVisible(bool(hidden))
        self.info_label.setText(f"{n_ev:,} slices · {len(data.groups)} tracks · "
                                f"{format_ns(data.view_max - data.view_min, 2)}"
                                + (f" · {hidden} empty counter{'s' * (hidden != 1)} hidden" if hidden else ""))
        self.search_box.clear()

    def _make_empty_counters_box(self) -> QtWidgets.QCheckBox:
        """'Show empty counters': shown only when a trace has counters that hold only zeros."""
        self.empty_counters_box = QtWidgets.QCheckBox("Show empty counters", self)
        self.empty_counters_box.toggled.connect(self.set_show_empty_counters)
        self.empty_counters_box.hide()
        return self.empty_counters_box

    def _fit_profiled_window(self) -> None:
        """Show the profiled window (the slices), not the longer span of the host samples."""
        d = self._st.data
        pad = max((d.view_max - d.view_min) * 0.02, 1000.0)
        self.zoom_to(d.view_min - pad, d.view_max + pad)

    def set_show_empty_counters(self, show: bool) -> None:
        """Draw (or hide again) the counter tracks that hold only zeros."""
        if self._st.data is None or self.show_empty_counters == bool(show):
            return
        self.show_empty_counters = bool(show)
        for plot in self._counter_plots:
            self.view.removeItem(plot)
        self._counter_plots = []
        self._build_counters()

    def _shown_counters(self) -> list:
        d = self._st.data
        return list(d.counters) + (list(d.empty_counters) if self.show_empty_counters else [])

    def _build_counters(self) -> None:
        st = self._st
        for i, c in enumerate(self._shown_counters()):
            peak = float(np.nanmax(c.values)) if len(c.values) else 0.0
            axis = CounterAxis(st, c.name, c.unit, peak)
            vb = pg.ViewBox(enableMenu=False)
            vb.setMouseEnabled(x=True, y=False)
            plot = pg.PlotItem(viewBox=vb, axisItems={"left": axis})
            plot.hideAxis("bottom")
            plot.hideButtons()
            plot.setContentsMargins(0, 0, 0, 0)
            axis.setWidth(GUTTER_W)
            plot.setFixedHeight(COUNTER_H)
            curve = pg.PlotDataItem(c.ts_ns.astype(np.float64), c.values, pen=pg.mkPen(st.colors["counter"], width=1),
                                    fillLevel=0.0, brush=st.colors["counter_fill"], stepMode=None)
            plot.addItem(curve)
            # PlotItem.addItem applies the plot's modes to the item: set them on the plot
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            vb.setXLink(self.vb)
            vb.setYRange(0, peak * 1.08 if peak > 0 else 1.0, padding=0)
            vb.disableAutoRange()
            self.view.addItem(plot, row=i + 1, col=0)
            self._counter_plots.append(plot)

    def _relayout(self) -> None:
        st = self._st
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
        for it in self._items:
            it.relayout()
        self.overlay.relayout()
        self._update_scrollbar()

    def _toggle_group(self, gi: int) -> None:
        key = self._st.data.groups[gi].key
        if len(self._st.data.groups[gi].lanes) <= 1:
            return
        self._st.collapsed.symmetric_difference_update({key})
        self._relayout()
        self._scroll_to(self._scroll)
        self.gutter.update()

    def set_collapsed(self, track_id: int | None, collapsed: bool) -> None:
        """Collapse (or expand) a track group; ``None`` is the steps lane."""
        for gi, g in enumerate(self._st.data.groups):
            if g.track_id == track_id:
                if (g.key in self._st.collapsed) != collapsed:
                    self._toggle_group(gi)

    # ------------------------------------------------------------------ vertical scroll
    def _view_height(self) -> float:
        return max(float(self.vb.height()), 1.0)

    def _update_scrollbar(self) -> None:
        h = self._view_height()
        maxv = max(0, int(self._st.total_height - h + 0.5))
        self.vscroll.blockSignals(True)
        self.vscroll.setRange(0, maxv)
        self.vscroll.setPageStep(int(h))
        self.vscroll.setSingleStep(LANE_H)
        self.vscroll.setValue(int(self._scroll))
        self.vscroll.blockSignals(False)
        self.vscroll.setVisible(maxv > 0)

    def _scroll_to(self, y: float, from_bar: bool = False) -> None:
        h = self._view_height()
        y = max(0.0, min(float(y), max(0.0, self._st.total_height - h)))
        self._scroll = y
        self._apply_y()
        if not from_bar:
            self._update_scrollbar()

    def _apply_y(self, *args) -> None:
        h = self._view_height()
        self.vb.setYRange(self._scroll, self._scroll + h, padding=0)
        self._update_scrollbar()

    def _ensure_lane_visible(self, y0: float, y1: float) -> None:
        h = self._view_height()
        if y0 < self._scroll:
            self._scroll_to(y0 - 4)
        elif y1 > self._scroll + h:
            self._scroll_to(y1 - h + 4)

    # ------------------------------------------------------------------ view range
    def view_range(self) -> tuple[float, float]:
        """Visible (start_ns, end_ns)."""
        (x0, x1), _ = self.vb.viewRange()
        return float(x0), float(x1)

    def zoom_to(self, start_ns: float, end_ns: float) -> None:
        """Show [start_ns, end_ns]."""
        if end_ns < start_ns:
            start_ns, end_ns = end_ns, start_ns
        if end_ns - start_ns < MIN_SPAN_NS:
            mid = (start_ns + end_ns) / 2
            start_ns, end_ns = mid - MIN_SPAN_NS / 2, mid + MIN_SPAN_NS / 2
        self.vb.setXRange(float(start_ns), float(end_ns), padding=0)

    def fit(self) -> None:
        """Fit the selection (F), or the profiled window when nothing is selected."""
        st = self._st
        if st.data is None:
            return
        if st.selected is not None:
            s, e = float(st.model.start_ns[st.selected]), float(st.model.end_ns[st.selected])
            pad = max((e - s) * 0.1, 50.0)
            self.zoom_to(s - pad, e + pad)
        else:
            self._fit_profiled_window()

    def zoom_by(self, factor: float, center_ns: float | None = None) -> None:
        """Multiply the visible span by ``factor`` around ``center_ns`` (default: the centre)."""
        x0, x1 = self.view_range()
        c = (x0 + x1) / 2 if center_ns is None else float(center_ns)
        self.zoom_to(c - (c - x0) * factor, c + (x1 - c) * factor)

    def pan_by(self, fraction: float) -> None:
        """Pan by ``fraction`` of the visible span (positive: right)."""
        x0, x1 = self.view_range()
        d = (x1 - x0) * fraction
        self.vb.setXRange(x0 + d, x1 + d, padding=0)

    def _on_x_range(self, *args) -> None:
        x0, x1 = self.view_range()
        self.viewRangeChanged.emit(x0, x1)

    def _mouse_time(self) -> float | None:
        pos = self.view.mapFromGlobal(QtGui.QCursor.pos())
        if not self.view.rect().contains(pos):
            return None
        scene = self.view.mapToScene(pos)
        if not self.vb.sceneBoundingRect().contains(scene):
            return None
        return float(self.vb.mapSceneToView(scene).x())

    # ------------------------------------------------------------------ keys
    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QtCore.QEvent.Type.KeyPress:
            if obj is self.search_box:
                if ev.key() == Qt.Key.Key_Escape:
                    self.view.setFocus()
                    return True
                return False
            if self._handle_key(ev):
                return True
        return super().eventFilter(obj, ev)

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        if not self._handle_key(ev):
            super().keyPressEvent(ev)

    def _handle_key(self, ev) -> bool:
        key = ev.key()
        if self._st.data is None:
            return False
        if key == Qt.Key.Key_W:
            self.zoom_by(ZOOM_STEP, self._mouse_time())
        elif key == Qt.Key.Key_S:
            self.zoom_by(1 / ZOOM_STEP, self._mouse_time())
        elif key == Qt.Key.Key_A:
            self.pan_by(-PAN_STEP)
        elif key == Qt.Key.Key_D:
            self.pan_by(PAN_STEP)
        elif key == Qt.Key.Key_F:
            self.fit()
        elif key == Qt.Key.Key_Slash:
            self.search_box.setFocus()
            self.search_box.selectAll()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and len(self._search_rows):
            if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.search_prev()
            else:
                self.search_next()
        elif key == Qt.Key.Key_Escape:
            self.clear_selection()
        else:
            return False
        return True

    # ------------------------------------------------------------------ hit testing
    def row_at_scene(self, pos: QPointF) -> int | None:
        """Model row of the slice under a scene position (None on empty space)."""
        st = self._st
        if st.data is None or not self.vb.sceneBoundingRect().contains(pos):
            return None
        v = self.vb.mapSceneToView(pos)
        x, y = float(v.x()), float(v.y())
        for gi, lay in enumerate(st.layout):
            if not (lay.y0 <= y < lay.y0 + lay.height):
                continue
            n = 1 if lay.collapsed else len(lay.lane_y)
            for li in range(n):
                if lay.lane_y[li] <= y < lay.lane_y[li] + lay.lane_h:
                    lane = st.data.groups[gi].lanes[li]
                    (x0, x1), _ = self.vb.viewRange()
                    ns_per_px = (x1 - x0) / max(self.vb.width(), 1.0)
                    drawn = row_drawn_at(draw_level(lane, ns_per_px), x0, ns_per_px, x)
                    if drawn >= 0:  # exactly what is painted under the pointer
                        return drawn
                    idx = event_at(lane.raw, x, 3.0 * ns_per_px)  # a near miss: the closest slice
                    return None if idx < 0 else int(lane.raw.row[idx])
        return None

    def row_pos(self, row: int) -> QtCore.QPoint | None:
        """Viewport position (of self.view) of the middle of the visible part of ``row``."""
        st = self._st
        anchor = st.row_anchor(row)
        if anchor is None:
            return None
        x0, x1 = self.view_range()
        s = max(float(st.model.start_ns[row]), x0)
        e = min(float(st.model.end_ns[row]), x1)
        scene = self.vb.mapViewToScene(QPointF((s + e) / 2, anchor[1]))
        return self.view.mapFromScene(scene)

    def tooltip_text(self, row: int) -> str:
        """The hover text of a slice: name, duration, start, kind, track."""
        m = self._st.model
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

    def _on_mouse_moved(self, pos: QPointF) -> None:
        row = self.row_at_scene(pos)
        self._hover_row = row
        if row is None:
            self.hover_text = ""
            QtWidgets.QToolTip.hideText()
            return
        self.hover_text = self.tooltip_text(row)
        gpos = self.view.mapToGlobal(self.view.mapFromScene(pos))
        QtWidgets.QToolTip.showText(gpos + QtCore.QPoint(12, 12), self.hover_text, self.view)

    def _click(self, pos: QPointF) -> None:
        row = self.row_at_scene(pos)
        if row is None:
            self.clear_selection()
        else:
            self._set_selected(row)

    # ------------------------------------------------------------------ selection
    def _set_selected(self, row: int | None) -> None:
        st = self._st
        changed = st.selected != row
        st.selected = row
        self._repaint()
        if changed:
            if row is None:
                self.selectionCleared.emit()
            else:
                self.eventSelected.emit(int(row))

    def clear_selection(self) -> None:
        self._set_selected(None)

    def select_row(self, row: int) -> None:
        """Select slice ``row``, scroll to its track and zoom so it is visible; emits eventSelected."""
        st = self._st
        if st.data is None or not (0 <= int(row) < len(st.model)):
            return
        row = int(row)
        gl = int(st.data.row_lane[row])
        if gl >= 0:
            gi = int(st.data.lane_group[gl])
            if st.layout[gi].collapsed and int(st.data.lane_index[gl]) > 0:
                self._toggle_group(gi)
            lay = st.layout[gi]
            li = int(st.data.lane_index[gl])
            self._ensure_lane_visible(lay.lane_y[li], lay.lane_y[li] + lay.lane_h)
        s, e = float(st.model.start_ns[row]), float(st.model.end_ns[row])
        x0, x1 = self.view_range()
        px = (e - s) / max(x1 - x0, 1.0) * max(self.vb.width(), 1.0)
        if s < x0 or e > x1 or px < 3:
            d = max(e - s, 2000.0)
            if px >= 3 and (x1 - x0) >= 3 * d:  # zoom level fine: just centre it
                c = (s + e) / 2
                half = (x1 - x0) / 2
                self.zoom_to(c - half, c + half)
            else:
                self.zoom_to(s - 2 * d, e + 2 * d)
        self._set_selected(row)

    # ------------------------------------------------------------------ highlights
    def _lane_sets(self, rows: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        st = self._st
        out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
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
        rows, lanes = rows[order], lanes[order]
        brk = np.flatnonzero(np.diff(lanes)) + 1
        bounds = np.concatenate(([0], brk, [len(rows)]))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            gl = int(lanes[a])
            if gl < 0 or b <= a:
                continue
            r = rows[a:b]
            e = st.model.end_ns[r]
            out[gl] = (st.model.start_ns[r], e, np.maximum.accumulate(e))
        if step_lane is not None and len(st.data.step_rows):
            sr = np.sort(rows[np.isin(rows, st.data.step_rows)])
            if len(sr):
                e = st.model.end_ns[sr]
                out[step_lane] = (st.model.start_ns[sr], e, np.maximum.accumulate(e))
        return out

    def highlight_rows(self, rows: Iterable[int], zoom: bool = True) -> None:
        """Outline these slices (e.g. a finding's evidence); zoom to them when ``zoom``."""
        st = self._st
        if st.data is None:
            return
        arr = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        st.row_hl = self._lane_sets(arr)
        if zoom and len(arr):
            arr = arr[(arr >= 0) & (arr < len(st.model))]
            if len(arr):
                s = float(st.model.start_ns[arr].min())
                e = float(st.model.end_ns[arr].max())
                pad = max((e - s) * 0.05, 1000.0)
                self.zoom_to(s - pad, e + pad)
                first = int(arr[np.argmin(st.model.start_ns[arr])])
                gl = int(st.data.row_lane[first])
                if gl >= 0:
                    lay = st.layout[int(st.data.lane_group[gl])]
                    self._ensure_lane_visible(lay.y0, lay.y0 + lay.height)
        self._repaint()

    def highlight_ranges(self, ranges: Sequence[tuple[float, float, int | None]], zoom: bool = True) -> None:
        """Shade time ranges, on one track (track_id) or on all (None); zoom to them when ``zoom``."""
        st = self._st
        st.ranges = [(float(a), float(b), None if t is None else int(t)) for a, b, t in ranges]
        if zoom and st.ranges:
            s = min(r[0] for r in st.ranges)
            e = max(r[1] for r in st.ranges)
            pad = max((e - s) * 0.05, 1000.0)
            self.zoom_to(s - pad, e + pad)
            tracks = [r[2] for r in st.ranges if r[2] is not None]
            if tracks and tracks[0] in st.group_of_track:
                lay = st.layout[st.group_of_track[tracks[0]]]
                self._ensure_lane_visible(lay.y0, lay.y0 + lay.height)
        self._repaint()

    def clear_highlights(self) -> None:
        """Remove row and range highlights (not the search)."""
        self._st.row_hl = {}
        self._st.ranges = []
        self._repaint()

    # ------------------------------------------------------------------ search
    def search(self, text: str) -> int:
        """Highlight slices whose name contains ``text`` (case-insensitive); returns the match count."""
        st = self._st
        self._search_timer.stop()
        text = (text or "").strip().lower()
        if self.search_box.text().strip().lower() != text:
            self.search_box.blockSignals(True)
            self.search_box.setText(text)
            self.search_box.blockSignals(False)
        if st.data is None or not text:
            self._search_rows = np.empty(0, np.int64)
            st.search_hl = {}
            self._search_pos = -1
            self.match_label.setText("")
            self._repaint()
            self.searchMatchesChanged.emit(0)
            return 0
        ids = [i for i, s in enumerate(st.model.strings) if text in s.lower()]
        rows = np.flatnonzero(np.isin(st.model.name_id, ids)) if ids else np.empty(0, np.int64)
        rows = rows[st.data.row_lane[rows] >= 0] if len(rows) else rows
        self._search_rows = rows
        self._search_pos = -1
        st.search_hl = self._lane_sets(rows)
        self.match_label.setText(f"{len(rows):,} match{'' if len(rows) == 1 else 'es'}" if len(rows) else "no match")
        self._repaint()
        self.searchMatchesChanged.emit(int(len(rows)))
        return int(len(rows))

    def _on_search_text(self, text: str) -> None:
        self._search_timer.start()

    def _on_search_enter(self) -> None:
        if self._search_timer.isActive():
            self.search(self.search_box.text())
        self.search_next()

    def search_next(self) -> int | None:
        """Go to the next match (Enter); returns its row."""
        return self._search_step(+1)

    def search_prev(self) -> int | None:
        """Go to the previous match (Shift+Enter); returns its row."""
        return self._search_step(-1)

    def _search_step(self, step: int) -> int | None:
        n = len(self._search_rows)
        if not n:
            return None
        if self._search_pos < 0:
            # first match at or after the left of the view
            x0, _ = self.view_range()
            starts = self._st.model.start_ns[self._search_rows]
            i = int(np.searchsorted(starts, x0))
            self._search_pos = (i if step > 0 else i - 1) % n
        else:
            self._search_pos = (self._search_pos + step) % n
        row = int(self._search_rows[self._search_pos])
        self.match_label.setText(f"{self._search_pos + 1:,} / {n:,}")
        self.select_row(row)
        return row

    # ------------------------------------------------------------------ flows
    def flow_partner(self, row: int) -> int | None:
        """The launch's GPU work, or the work's launch (first link), or None."""
        d = self._st.data
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

    # ------------------------------------------------------------------ theme / export
    def set_theme(self, theme: str) -> None:
        """'light' or 'dark'."""
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r} (light or dark)")
        self._theme = theme
        self._st.apply_theme(theme)
        self._apply_theme_to_widgets()
        for plot in self._counter_plots:
            for it in plot.listDataItems():
                it.setPen(pg.mkPen(self._st.colors["counter"], width=1))
                it.setBrush(self._st.colors["counter_fill"])
        self._repaint()

    @property
    def theme(self) -> str:
        return self._theme

    def _apply_theme_to_widgets(self) -> None:
        c = self._st.colors
        self.view.setBackground(c["background"])
        self.time_axis.setPen(pg.mkPen(c["separator"]))
        self.time_axis.setTextPen(pg.mkPen(c["axis"]))
        self.time_axis.setStyle(tickLength=-5)
        pal = self.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, c["gutter"])
        self.setAutoFillBackground(True)
        self.setPalette(pal)
        box = self.search_box.palette()
        box.setColor(QtGui.QPalette.ColorRole.Base, c["background"])
        box.setColor(QtGui.QPalette.ColorRole.Text, c["text"])
        box.setColor(QtGui.QPalette.ColorRole.PlaceholderText, c["text_dim"])
        self.search_box.setPalette(box)
        txt = c["text_dim"].name()
        self.match_label.setStyleSheet(f"color: {txt};")
        self.info_label.setStyleSheet(f"color: {txt};")

    def export_png(self, path: str) -> bool:
        """Save what the timeline shows as a PNG; True on success."""
        return bool(self.grab().save(str(path), "PNG"))

    def render_image(self) -> QtGui.QImage:
        """Offscreen render of the whole widget (tests, benchmarks)."""
        return self.grab().toImage()

    def rect_count(self) -> int:
        """Rectangles drawn in the last paint (all tracks)."""
        return sum(it.last_rect_count for it in self._items)

    def _repaint(self) -> None:
        for it in self._items:
            it.update()
        self.overlay.update()
        self.gutter.update()
