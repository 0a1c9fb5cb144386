"""Hosts the TimelineWidget (profiler_gui.timeline.widget) next to the details panel.

If the widget cannot be imported or started (a broken install), a note says
why and the host keeps the same methods, remembering the selection and
highlights, so findings and tables still work.
"""
from __future__ import annotations

import traceback
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from analyzers.session import AnalysisSession
from analyzers.trace_model import TraceModel

from .common import note_label
from .details import DetailsPanel


def _timeline_class() -> tuple[type | None, str]:
    try:
        from profiler_gui.timeline.widget import TimelineWidget
        return TimelineWidget, ""
    except ImportError as exc:
        return None, f"The timeline is not available ({exc})."
    except Exception as exc:  # a broken timeline must not take the window down
        traceback.print_exc()
        return None, f"The timeline failed to import: {exc}"


class TimelineHost(QWidget):
    """Timeline + details; a stable facade over TimelineWidget."""

    eventSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: TraceModel | None = None
        self.selected_row: int | None = None
        self.highlighted_rows: list[int] = []
        self.highlighted_ranges: list[tuple[int, int, int | None]] = []
        self.pyramids: dict[int, Any] = {}  # by rank, built in the worker (the window hands them over)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Horizontal)
        lay.addWidget(self.splitter)
        cls, why = _timeline_class()
        self.widget: Any = None
        if cls is not None:
            try:
                self.widget = cls()
            except Exception as exc:
                traceback.print_exc()
                why = f"The timeline failed to start: {exc}"
        if self.widget is not None:
            self.splitter.addWidget(self.widget)
            sig = getattr(self.widget, "eventSelected", None)
            if sig is not None:
                sig.connect(self._on_widget_selected)
        else:
            holder = QWidget()
            hl = QVBoxLayout(holder)
            self.placeholder = note_label(why)
            self.placeholder.setAlignment(Qt.AlignCenter)
            hl.addWidget(self.placeholder)
            self.status = QLabel("")
            self.status.setWordWrap(True)
            self.status.setAlignment(Qt.AlignCenter)
            hl.addWidget(self.status)
            self.splitter.addWidget(holder)
        self.details = DetailsPanel()
        self.details.jumpToRow.connect(self.select_row)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, 320])

    @property
    def available(self) -> bool:
        return self.widget is not None

    def _call(self, name: str, *args: Any) -> Any:
        fn = getattr(self.widget, name, None) if self.widget is not None else None
        if fn is None:
            return None
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            return None

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        ra = session.rank(rank)
        if self.model is not ra.model:
            self.set_model(ra.model, self.pyramids.get(ra.rank))

    def set_model(self, model: TraceModel | None, data: Any = None) -> None:
        self.model = model
        self.selected_row = None
        self.highlighted_rows, self.highlighted_ranges = [], []
        self.details.set_model(model)
        if model is not None:
            self._call("set_model", model, data)
        self._placeholder_status()

    def _on_widget_selected(self, row: int) -> None:
        self.selected_row = int(row) if row is not None and row >= 0 else None
        self.details.show_row(self.selected_row)
        if self.selected_row is not None:
            self.eventSelected.emit(self.selected_row)

    def select_row(self, row: int) -> None:
        self.selected_row = int(row)
        self.details.show_row(self.selected_row)
        self._call("select_row", int(row))
        self._placeholder_status()

    def highlight_rows(self, rows: list[int]) -> None:
        self.highlighted_rows = [int(r) for r in rows]
        self._call("highlight_rows", self.highlighted_rows)
        self._placeholder_status()

    def highlight_ranges(self, ranges: list[tuple[int, int, int | None]]) -> None:
        self.highlighted_ranges = [(int(a), int(b), None if t is None else int(t)) for a, b, t in ranges]
        self._call("highlight_ranges", self.highlighted_ranges)
        if self.highlighted_ranges:
            lo = min(r[0] for r in self.highlighted_ranges)
            hi = max(r[1] for r in self.highlighted_ranges)
            pad = max((hi - lo) // 20, 1000)
            self.zoom_to(lo - pad, hi + pad)
        self._placeholder_status()

    def zoom_to(self, start_ns: int, end_ns: int) -> None:
        self._call("zoom_to", int(start_ns), int(end_ns))

    def search(self, text: str) -> Any:
        return self._call("search", text)

    def set_theme(self, theme: Any) -> None:
        self._call("set_theme", getattr(theme, "name", theme))

    def export_png(self, path: str) -> bool:
        if self.widget is None:
            return False
        if hasattr(self.widget, "export_png"):
            return self._call("export_png", path) is not False
        return self.widget.grab().save(path)

    def focus_timeline(self) -> None:
        if self.widget is not None:
            self.widget.setFocus(Qt.ShortcutFocusReason)

    def forward_key(self, key: str) -> None:
        """W/S zoom, A/D pan, F fit, '/' search: the window's shortcuts land here (never as key events,
        which would re-trigger the window shortcut)."""
        w = self.widget
        if w is None:
            return
        import profiler_gui.timeline.widget as tw
        zoom = getattr(tw, "ZOOM_STEP", 1.5)
        pan = getattr(tw, "PAN_STEP", 0.2)
        mouse = getattr(w, "_mouse_time", None)
        center = None
        try:
            center = mouse() if callable(mouse) else None
        except Exception:  # noqa: BLE001
            center = None
        if key == "w":
            self._call("zoom_by", zoom, center)
        elif key == "s":
            self._call("zoom_by", 1 / zoom, center)
        elif key == "a":
            self._call("pan_by", -pan)
        elif key == "d":
            self._call("pan_by", pan)
        elif key == "f":
            self._call("fit")
        elif key == "/":
            box = getattr(w, "search_box", None)
            if box is not None:
                box.setFocus(Qt.ShortcutFocusReason)
                box.selectAll()

    def _placeholder_status(self) -> None:
        if self.widget is not None or self.model is None:
            return
        parts = [f"Loaded {len(self.model):,} slices."]
        if self.selected_row is not None:
            parts.append(f"Selected: {self.model.name(self.selected_row)}")
        if self.highlighted_rows or self.highlighted_ranges:
            parts.append(f"Highlighted: {len(self.highlighted_rows)} events, {len(self.highlighted_ranges)} ranges")
        self.status.setText("\n".join(parts))
