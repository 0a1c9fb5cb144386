"""The Flame tab: host call stacks (Python frames and ops) as a zoomable icicle chart, with search.

Reads ``session.rank(r).flame`` (:class:`analyzers.flame.FlameGraph`, computed in
the loading worker).  Click a frame to see its stack and times; double click to
zoom into it; the search box marks every frame whose name contains the text.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QVBoxLayout, QWidget

from analyzers.session import AnalysisSession

from .common import fmt_ms, note_label
from .icicle import ROW_PX, IcicleWidget


class FlameView(QWidget):
    """Search bar, the icicle chart, and the selected frame's details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph: Any = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search frames (substring)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.set_search)
        self.hits_label = QLabel("")
        self.reset_button = QPushButton("Reset zoom")
        bar.addWidget(QLabel("<b>Host call stacks</b> (double click a frame to zoom)"))
        bar.addWidget(self.search, 1)
        bar.addWidget(self.hits_label)
        bar.addWidget(self.reset_button)
        lay.addLayout(bar)
        self.note = note_label("")
        self.note.hide()
        lay.addWidget(self.note)
        self.chart = IcicleWidget()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.chart)
        lay.addWidget(self.scroll, 1)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        lay.addWidget(self.details)
        self.reset_button.clicked.connect(self.chart.reset_zoom)
        self.chart.nodeClicked.connect(self.show_details)

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        graph, err = session.rank(rank).try_get("flame")
        self.graph = graph
        self.details.setText("")
        if err is not None or graph is None or len(graph) <= 1:
            self.note.setText(err or "No host call stacks in this trace.")
            self.note.show()
            self.chart.set_nodes([], *([[]] * 3))
            return
        if not graph.has_python:
            self.note.setText("Ops only: this trace has no Python stacks (record with with_stack=True, "
                              "the collector's default).")
            self.note.show()
        else:
            self.note.hide()
        self.chart.set_nodes(graph.name, graph.x_ns, graph.total_ns, graph.depth)
        self.chart.setMinimumHeight((int(graph.depth.max()) + 1) * ROW_PX)
        self.set_search(self.search.text())

    def set_search(self, text: str) -> None:
        """Mark the frames containing ``text`` (nothing marked for an empty text)."""
        if self.graph is None or not text.strip():
            self.chart.set_highlight(None)
            self.hits_label.setText("")
            return
        hits = self.graph.find(text.strip())
        self.chart.set_highlight(hits)
        total = int(self.graph.self_ns[hits].sum()) if len(hits) else 0
        self.hits_label.setText(f"{len(hits)} frame(s), {fmt_ms(total / 1e6)} self")

    def show_details(self, node: int) -> None:
        g = self.graph
        if g is None or not 0 <= node < len(g):
            return
        share = 100.0 * g.total_ns[node] / max(int(g.total_ns[0]), 1)
        stack = " &gt; ".join(_esc(s) for s in g.stack(node)[-6:])
        self.details.setText(f"<b>{_esc(g.name[node])}</b>: total {fmt_ms(g.total_ns[node] / 1e6)} "
                             f"({share:.1f} %), self {fmt_ms(g.self_ns[node] / 1e6)}, {int(g.calls[node]):,} "
                             f"call(s)<br><small>{stack}</small>")

    def set_theme(self, t: Any) -> None:
        self.chart.set_colours(t.base, t.text, t.highlight)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
