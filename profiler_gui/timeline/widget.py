"""The Timeline view: CPU threads, GPU streams, steps and counters of one trace.

Usage::

    data = build_pyramids(model, steps)   # any thread (pure numpy); steps: the rank's step table
    w = TimelineWidget()
    w.set_model(model, data)              # GUI thread
    w.eventSelected.connect(show_details) # row of the slice in the model

Keys (Perfetto / chrome://tracing): W/S zoom in/out around the mouse (or the
centre), A/D pan, F fit the selection (or the whole trace), '/' search,
Enter next match, Esc clear selection.  Wheel zooms, drag pans, shift+wheel
scrolls the tracks, clicking a track label collapses it.

The widget wires its parts: :class:`~.viewport.Viewport` (layout, scroll,
zoom), :class:`~.selection.Selection` (selection, highlights),
:class:`~.search.Search`, :class:`~.picking.Picker` (hit testing, hover,
flows), :class:`~.keys.KeyHandler` and :class:`~.counters.CounterTracks`;
the graphics items read the shared :class:`~.state._State`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from analyzers.trace_model import TraceModel

from .axes import GutterAxis, TimeAxis
from .counters import CounterTracks
from .data import TimelineData, build_pyramids
from .items import OverlayItem, TimelineViewBox, TrackGroupItem, format_ns
from .keys import KeyHandler
from .palette import THEMES
from .picking import Picker
from .search import Search
from .selection import Selection
from .state import COUNTER_H, GROUP_PAD, GUTTER_W, LANE_H, _GroupLayout, _State  # noqa: F401 (re-exported)
from .viewport import MIN_SPAN_NS, PAN_STEP, ZOOM_STEP, Viewport  # noqa: F401 (re-exported)

Qt = QtCore.Qt
QPointF = QtCore.QPointF


class _BuildSignals(QtCore.QObject):
    done = QtCore.Signal(object, object)


class _BuildTask(QtCore.QRunnable):
    def __init__(self, model: TraceModel, screen_px: int, steps=None) -> None:
        super().__init__()
        self.model = model
        self.screen_px = screen_px
        self.steps = steps
        self.signals = _BuildSignals()

    def run(self) -> None:  # worker thread: numpy only
        data = build_pyramids(self.model, self.steps, screen_px=self.screen_px)
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
        self._items: list[TrackGroupItem] = []
        self._tasks: list[_BuildTask] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport = Viewport(self)
        self.picker = Picker(self)
        self.selection = Selection(self)
        self.searcher = Search(self)
        self.counters = CounterTracks(self)
        self.keys = KeyHandler(self)
        self.search_box = self.searcher.box
        self.match_label = self.searcher.match_label
        self.empty_counters_box = self.counters.box
        self.search_box.installEventFilter(self.keys)
        self.info_label = QtWidgets.QLabel("", self)
        self.info_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 2)
        top.addWidget(self.search_box)
        top.addWidget(self.match_label)
        top.addStretch(1)
        top.addWidget(self.empty_counters_box)
        top.addWidget(self.info_label)
        self._build_graphics()
        self.vscroll = QtWidgets.QScrollBar(Qt.Orientation.Vertical, self)
        self.vscroll.valueChanged.connect(lambda v: self.viewport.scroll_to(float(v), from_bar=True))
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
        _style_chrome(self)

    def _build_graphics(self) -> None:
        """The graphics view: one plot whose left axis is the track gutter, the time axis on top."""
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setAntialiasing(False)
        self.view.ci.setContentsMargins(0, 0, 0, 0)
        self.view.ci.setSpacing(0)
        self.view.installEventFilter(self.keys)
        self.view.viewport().installEventFilter(self.keys)
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
        self.vb.sigResized.connect(self.viewport.apply_y)
        self.vb.sigXRangeChanged.connect(self.viewport.on_x_range)
        self.overlay = OverlayItem(self._st)
        self.vb.addItem(self.overlay, ignoreBounds=True)
        self.view.scene().sigMouseMoved.connect(self.picker.on_mouse_moved)

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

    def load_model_async(self, model: TraceModel, screen_px: int = 1920, steps=None) -> None:
        """Build the pyramids on a worker thread, then set_model() (emits dataReady)."""
        task = _BuildTask(model, screen_px, steps)
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
        self.counters.clear()
        st.selected = None
        st.row_hl, st.search_hl, st.ranges = {}, {}, []
        self.searcher.reset()
        st.collapsed = set()
        st.model = model
        if model is None:
            st.data = None
            st.layout = []
            self.vb.update()
            return
        st.data = data = build_pyramids(model) if data is None else data
        st.group_of_track = {g.track_id: i for i, g in enumerate(data.groups) if g.track_id is not None}
        st.step_row_set = set(int(r) for r in data.step_rows)
        self.viewport.relayout()
        for gi in range(len(data.groups)):
            item = TrackGroupItem(st, gi)
            self.vb.addItem(item, ignoreBounds=True)
            self._items.append(item)
        self.counters.build()
        self.viewport.set_limits()
        self.viewport.fit_profiled_window()
        self.viewport.scroll_to(0.0)
        hidden = len(data.empty_counters)
        self.empty_counters_box.setVisible(bool(hidden))
        self.info_label.setText(f"{data.n_events:,} slices · {len(data.groups)} tracks · "
                                f"{format_ns(data.view_max - data.view_min, 2)}"
                                + (f" · {hidden} empty counter{'s' * (hidden != 1)} hidden" if hidden else ""))
        self.search_box.clear()

    # ------------------------------------------------------------------ counters
    @property
    def show_empty_counters(self) -> bool:
        return self.counters.show_empty

    @show_empty_counters.setter
    def show_empty_counters(self, show: bool) -> None:
        self.counters.show_empty = bool(show)

    @property
    def _counter_plots(self) -> list[pg.PlotItem]:
        return self.counters.plots

    def set_show_empty_counters(self, show: bool) -> None:
        """Draw (or hide again) the counter tracks that hold only zeros."""
        self.counters.set_show_empty(show)

    # ------------------------------------------------------------------ navigation (Viewport)
    @property
    def _scroll(self) -> float:
        return self.viewport.scroll

    def set_collapsed(self, track_id: int | None, collapsed: bool) -> None:
        """Collapse (or expand) a track group; ``None`` is the steps lane."""
        self.viewport.set_collapsed(track_id, collapsed)

    def view_range(self) -> tuple[float, float]:
        """Visible (start_ns, end_ns)."""
        return self.viewport.view_range()

    def zoom_to(self, start_ns: float, end_ns: float) -> None:
        """Show [start_ns, end_ns]."""
        self.viewport.zoom_to(start_ns, end_ns)

    def fit(self) -> None:
        """Fit the selection (F), or the profiled window when nothing is selected."""
        self.viewport.fit()

    def zoom_by(self, factor: float, center_ns: float | None = None) -> None:
        """Multiply the visible span by ``factor`` around ``center_ns`` (default: the centre)."""
        self.viewport.zoom_by(factor, center_ns)

    def pan_by(self, fraction: float) -> None:
        """Pan by ``fraction`` of the visible span (positive: right)."""
        self.viewport.pan_by(fraction)

    def _mouse_time(self) -> float | None:
        return self.viewport.mouse_time()

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        if not self.keys.handle(ev):
            super().keyPressEvent(ev)

    # ------------------------------------------------------------------ hit testing, flows (Picker)
    @property
    def hover_text(self) -> str:
        return self.picker.hover_text

    def row_at_scene(self, pos: QPointF) -> int | None:
        """Model row of the slice under a scene position (None on empty space)."""
        return self.picker.row_at_scene(pos)

    def row_pos(self, row: int) -> QtCore.QPoint | None:
        """Viewport position (of self.view) of the middle of the visible part of ``row``."""
        return self.picker.row_pos(row)

    def tooltip_text(self, row: int) -> str:
        """The hover text of a slice: name, duration, start, kind, track."""
        return self.picker.tooltip_text(row)

    def _on_mouse_moved(self, pos: QPointF) -> None:
        self.picker.on_mouse_moved(pos)

    def flow_partner(self, row: int) -> int | None:
        """The launch's GPU work, or the work's launch (first link), or None."""
        return self.picker.flow_partner(row)

    # ------------------------------------------------------------------ selection, highlights, search
    def clear_selection(self) -> None:
        self.selection.clear()

    def select_row(self, row: int) -> None:
        """Select slice ``row``, scroll to its track and zoom so it is visible; emits eventSelected."""
        self.selection.select_row(row)

    def highlight_rows(self, rows: Iterable[int], zoom: bool = True) -> None:
        """Outline these slices (e.g. a finding's evidence); zoom to them when ``zoom``."""
        self.selection.highlight_rows(rows, zoom)

    def highlight_ranges(self, ranges: Sequence[tuple[float, float, int | None]], zoom: bool = True) -> None:
        """Shade time ranges, on one track (track_id) or on all (None); zoom to them when ``zoom``."""
        self.selection.highlight_ranges(ranges, zoom)

    def clear_highlights(self) -> None:
        """Remove row and range highlights (not the search)."""
        self.selection.clear_highlights()

    def search(self, text: str) -> int:
        """Highlight slices whose name contains ``text`` (case-insensitive); returns the match count."""
        return self.searcher.search(text)

    def search_next(self) -> int | None:
        """Go to the next match (Enter); returns its row."""
        return self.searcher.step(+1)

    def search_prev(self) -> int | None:
        """Go to the previous match (Shift+Enter); returns its row."""
        return self.searcher.step(-1)

    # ------------------------------------------------------------------ theme / export
    def set_theme(self, theme: str) -> None:
        """'light' or 'dark'."""
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r} (light or dark)")
        self._theme = theme
        self._st.apply_theme(theme)
        _style_chrome(self)
        self.counters.apply_theme()
        self._repaint()

    @property
    def theme(self) -> str:
        return self._theme

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


def _style_chrome(w: "TimelineWidget") -> None:
    """Theme colours of the plain Qt parts: background, time axis, search box, labels."""
    c = w._st.colors
    w.view.setBackground(c["background"])
    w.time_axis.setPen(pg.mkPen(c["separator"]))
    w.time_axis.setTextPen(pg.mkPen(c["axis"]))
    w.time_axis.setStyle(tickLength=-5)
    pal = w.palette()
    pal.setColor(QtGui.QPalette.ColorRole.Window, c["gutter"])
    w.setAutoFillBackground(True)
    w.setPalette(pal)
    box = w.search_box.palette()
    box.setColor(QtGui.QPalette.ColorRole.Base, c["background"])
    box.setColor(QtGui.QPalette.ColorRole.Text, c["text"])
    box.setColor(QtGui.QPalette.ColorRole.PlaceholderText, c["text_dim"])
    w.search_box.setPalette(box)
    txt = c["text_dim"].name()
    w.match_label.setStyleSheet(f"color: {txt};")
    w.info_label.setStyleSheet(f"color: {txt};")
