"""Details side panel: the selected event (name, category, time, track, args, flow partner)."""
from __future__ import annotations

import html
import json

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from analyzers.categories import Kind
from analyzers.trace_model import TraceModel

from .common import fmt_ms


def _wrap(text: str) -> str:
    """HTML-escape and allow line breaks inside long paths / call stacks / template names."""
    out = html.escape(text)
    for ch in ("/", ";", ",", "::", "(", "_"):
        out = out.replace(ch, ch + "&#8203;")
    return out


def flow_partners(model: TraceModel, row: int) -> list[tuple[int, str]]:
    """(partner row, label) for flows starting or ending at ``row``."""
    f = model.flows
    out: list[tuple[int, str]] = []
    if not len(f):
        return out
    kinds = {f.LAUNCH: "launch", f.FWD_BWD: "fwd/bwd"}
    for i in np.flatnonzero(f.src_row == row)[:8]:
        out.append((int(f.dst_row[i]), f"{kinds.get(int(f.kind[i]), 'flow')} -> {model.name(int(f.dst_row[i]))}"))
    for i in np.flatnonzero(f.dst_row == row)[:8]:
        out.append((int(f.src_row[i]), f"{kinds.get(int(f.kind[i]), 'flow')} <- {model.name(int(f.src_row[i]))}"))
    return out


class DetailsPanel(QWidget):
    """Shows one slice; emits jumpToRow(row) when a flow partner button is pressed."""

    jumpToRow = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: TraceModel | None = None
        self.row: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        inner = QWidget()
        self.inner_lay = QVBoxLayout(inner)
        self.label = QLabel("<i>Select an event in the timeline to see its details.</i>")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.inner_lay.addWidget(self.label)
        self.buttons_lay = QVBoxLayout()
        self.inner_lay.addLayout(self.buttons_lay)
        self.inner_lay.addStretch(1)
        scroll.setWidget(inner)
        lay.addWidget(scroll)
        self.setMinimumWidth(260)

    def plain_text(self) -> str:
        """What the panel shows, as plain text (for tests and copying)."""
        from PySide6.QtGui import QTextDocumentFragment
        return QTextDocumentFragment.fromHtml(self.label.text()).toPlainText().replace("\u200b", "")

    def set_model(self, model: TraceModel | None) -> None:
        self.model = model
        self.show_row(None)

    def _clear_buttons(self) -> None:
        while self.buttons_lay.count():
            w = self.buttons_lay.takeAt(0).widget()
            if w is not None:
                w.deleteLater()

    def show_row(self, row: int | None) -> None:
        self._clear_buttons()
        m = self.model
        if m is None or row is None or row < 0 or row >= len(m):
            self.row = None
            self.label.setText("<i>Select an event in the timeline to see its details.</i>")
            return
        self.row = int(row)
        start, dur = int(m.start_ns[row]), int(m.dur_ns[row])
        rows = [
            ("Name", _wrap(m.name(row))),
            ("Category", html.escape(f"{m.category(row)} ({Kind(int(m.kind[row])).name.lower()})")),
            ("Start", f"{start / 1e6:,.3f} ms"),
            ("Duration", fmt_ms(dur / 1e6)),
            ("Track", html.escape(m.tracks.label(int(m.track_id[row])))),
            ("Depth", str(int(m.depth[row]))),
        ]
        if m.correlation[row] >= 0:
            rows.append(("Correlation", str(int(m.correlation[row]))))
        if m.external_id[row] >= 0:
            rows.append(("External id", str(int(m.external_id[row]))))
        args = m.args(row)
        for key in ("Input Dims", "Input dims", "Input type", "Input Strides"):
            if key in args:
                rows.append((key.replace("Input type", "Input dtypes"), _wrap(json.dumps(args[key]))))
        table = "".join(f"<tr><td valign='top' style='padding-right:10px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        other = {k: v for k, v in args.items() if k not in ("Input Dims", "Input dims", "Input type", "Input Strides")}
        arg_rows = "".join(f"<tr><td valign='top' style='padding-right:10px'>{html.escape(str(k))}</td>"
                           f"<td>{_wrap((json.dumps(v) if not isinstance(v, str) else v)[:400])}</td></tr>"
                           for k, v in list(other.items())[:60])
        self.label.setText(f"<table>{table}</table>" + (f"<p><b>Args</b></p><table>{arg_rows}</table>" if arg_rows else ""))
        for partner, text in flow_partners(m, row):
            b = QPushButton(f"Go to {text[:70]}")
            b.setToolTip(text)
            b.clicked.connect(lambda _=False, r=partner: self.jumpToRow.emit(r))
            self.buttons_lay.addWidget(b)
