"""Small shared widgets: banners, 'not available' notes, number formatting."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QWidget


def fmt_num(v: Any, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:,.{max(digits - 1, 1)}f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:.1f}"
        return f"{v:.{digits}g}"
    return str(v)


def fmt_ms(ms: float | None) -> str:
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.1f} us"


def summary_header(lay: Any) -> tuple[QLabel, QLabel]:
    """Add a rich-text summary label and a hidden 'not available' note to ``lay``; return both."""
    summary = QLabel()
    summary.setTextFormat(Qt.RichText)
    summary.setWordWrap(True)
    lay.addWidget(summary)
    empty = note_label("")
    empty.hide()
    lay.addWidget(empty)
    return summary, empty


def code_box(max_height: int) -> QPlainTextEdit:
    """A read-only monospace box for code snippets."""
    box = QPlainTextEdit()
    box.setReadOnly(True)
    mono = QFont("monospace")
    mono.setStyleHint(QFont.Monospace)
    box.setFont(mono)
    box.setMaximumHeight(max_height)
    return box


def note_label(text: str) -> QLabel:
    """A grey, word-wrapped note used for 'not available' states."""
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setObjectName("note")
    lab.setStyleSheet("color: palette(placeholder-text); font-style: italic; padding: 6px;")
    lab.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return lab


class Banner(QFrame):
    """An inline message bar (error or info) with a close button."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_button)
        self.kind = "info"
        self.hide()

    def show_message(self, text: str, kind: str = "error", colours: dict[str, str] | None = None) -> None:
        self.kind = kind
        colours = colours or {"error": "#fde2e1", "info": "#e3eefc"}
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"Banner {{ background: {colours.get(kind, '#e3eefc')}; }}")
        self.label.setText(text)
        self.show()

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()

    def text(self) -> str:
        return self.label.text()
