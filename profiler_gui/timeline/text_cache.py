"""Prepared text for the timeline's hot paths: laying a string out once, drawing it many times."""
from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtGui


class StaticTextCache:
    """``QStaticText`` per (font key, text), laid out once; cleared when it grows past ``limit``."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._items: dict[tuple[str, str], QtGui.QStaticText] = {}

    def get(self, text: str, font: QtGui.QFont, font_key: str) -> QtGui.QStaticText:
        key = (font_key, text)
        st = self._items.get(key)
        if st is None:
            if len(self._items) >= self.limit:
                self._items.clear()
            st = QtGui.QStaticText(text)
            st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            st.setPerformanceHint(QtGui.QStaticText.PerformanceHint.AggressiveCaching)
            st.prepare(QtGui.QTransform(), font)
            self._items[key] = st
        return st

    def draw_centered_v(self, p: QtGui.QPainter, x: float, y: float, h: float, text: str, font: QtGui.QFont,
                        font_key: str) -> None:
        """Draw ``text`` at ``x``, vertically centred in the band [y, y + h]."""
        st = self.get(text, font, font_key)
        p.drawStaticText(QtCore.QPointF(x, y + (h - st.size().height()) / 2), st)
