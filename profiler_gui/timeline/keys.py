"""Keyboard (Perfetto / chrome://tracing): W/S zoom, A/D pan, F fit, '/' search, Enter next match, Esc."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pyqtgraph.Qt import QtCore

from .viewport import PAN_STEP, ZOOM_STEP

if TYPE_CHECKING:
    from .widget import TimelineWidget

Qt = QtCore.Qt


class KeyHandler(QtCore.QObject):
    """The keys of one TimelineWidget; also the event filter of its search box and graphics view."""

    def __init__(self, widget: "TimelineWidget") -> None:
        super().__init__(widget)
        self.w = widget

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QtCore.QEvent.Type.KeyPress:
            if obj is self.w.search_box:
                if ev.key() == Qt.Key.Key_Escape:
                    self.w.view.setFocus()
                    return True
                return False
            if self.handle(ev):
                return True
        return super().eventFilter(obj, ev)

    def handle(self, ev) -> bool:
        """Act on a key press; False when the key is not the timeline's."""
        w = self.w
        key = ev.key()
        if w._st.data is None:
            return False
        vp = w.viewport
        if key == Qt.Key.Key_W:
            vp.zoom_by(ZOOM_STEP, vp.mouse_time())
        elif key == Qt.Key.Key_S:
            vp.zoom_by(1 / ZOOM_STEP, vp.mouse_time())
        elif key == Qt.Key.Key_A:
            vp.pan_by(-PAN_STEP)
        elif key == Qt.Key.Key_D:
            vp.pan_by(PAN_STEP)
        elif key == Qt.Key.Key_F:
            vp.fit()
        elif key == Qt.Key.Key_Slash:
            w.search_box.setFocus()
            w.search_box.selectAll()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and len(w.searcher.rows):
            w.searcher.step(-1 if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier else +1)
        elif key == Qt.Key.Key_Escape:
            w.selection.clear()
        else:
            return False
        return True
