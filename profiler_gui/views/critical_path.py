"""Critical path tab: what bounds one step (HTA's model): length, shares by bound, the top ops, the path's edges."""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from analyzers.critical_path import BOUND_BY, CriticalPath, path_table
from analyzers.errors import AnalysisError
from analyzers.session import AnalysisSession

from .. import theme as theme_mod
from .common import fmt_ms, note_label
from .tables import TableView

BOUND_LABELS = {"cpu_bound": "CPU", "gpu_compute_bound": "GPU compute",
                "gpu_kernel_kernel_overhead": "kernel-kernel gaps", "gpu_kernel_launch_overhead": "launch delays"}


class CriticalPathView(QWidget):
    """Summary (length, shares, top ops) above the path's edges in order; 'Show on timeline' outlines the path."""

    showInTimeline = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: AnalysisSession | None = None
        self.rank: int | None = None
        self.path: CriticalPath | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.note = note_label("")
        self.note.hide()
        lay.addWidget(self.note)
        bar = QHBoxLayout()
        self.show_button = QPushButton("Show on timeline")
        self.show_button.setToolTip("Outline the events on the critical path and shade its launch delays and gaps")
        self.show_button.clicked.connect(self.showInTimeline)
        self.show_button.setEnabled(False)
        bar.addWidget(self.show_button)
        bar.addStretch(1)
        lay.addLayout(bar)
        split = QSplitter(Qt.Vertical)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setWordWrap(True)
        self.summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        split.addWidget(self.summary)
        self.table = TableView("Edges on the path")
        split.addWidget(self.table)
        split.setSizes([260, 500])
        lay.addWidget(split, 1)

    def set_theme(self, t: theme_mod.Theme) -> None:
        """Nothing drawn: text and a table follow the application palette."""

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        self.session, self.rank, self.path = session, rank, None
        ra = session.rank(rank)
        try:
            cp = ra.critical_path()
        except AnalysisError as exc:
            return self._empty(str(exc))
        if not isinstance(cp, CriticalPath):
            return self._empty(f"No critical path: {cp.split(': ', 1)[-1]}")
        self.path = cp
        self.note.setText(" ".join(cp.warnings))
        self.note.setVisible(bool(cp.warnings))
        self.summary.setText(_summary_html(cp.to_dict()))
        self.table.set_frame(path_table(cp, ra.model))
        self.show_button.setEnabled(True)

    def _empty(self, text: str) -> None:
        self.show_button.setEnabled(False)
        self.note.setText(text)
        self.note.show()
        self.summary.setText("")
        self.table.set_frame(None)


def _summary_html(cp: dict[str, Any]) -> str:
    shares = "".join(
        f"<tr><td style='padding-right:12px'>{BOUND_LABELS[k]}</td><td align='right'>{cp['bound_by_pct'][k]:.1f} %"
        f"</td><td align='right' style='padding-left:12px'>{fmt_ms(cp['bound_by_ms'][k])}</td></tr>"
        for k in BOUND_BY)
    ops = "".join(
        f"<tr><td>{html.escape(op['name'][:90])}</td><td style='padding-left:12px'>{BOUND_LABELS.get(op['bound_by'], op['bound_by'])}"
        f"</td><td align='right' style='padding-left:12px'>{fmt_ms(op['ms'])}</td>"
        f"<td align='right' style='padding-left:12px'>{op['share_pct']:.1f} %</td></tr>" for op in cp["top_ops"])
    delays = "".join(
        f"<tr><td>{fmt_ms(d['gap_ms'])} before {html.escape(d['next_gpu_op'][:60])}</td>"
        f"<td style='padding-left:12px'>delayed by {html.escape(d['delayed_by'][:60])}</td>"
        f"<td align='right' style='padding-left:12px'>{fmt_ms(d['delayed_by_ms'])}</td></tr>"
        for d in cp.get("gpu_idle_delays") or [])
    return (f"<b>Critical path of {html.escape(str(cp['window']))}</b> (instance {cp['instance']}): "
            f"{fmt_ms(cp['length_ms'])} over a {fmt_ms(cp['window_ms'])} window"
            f"<table>{shares}</table><p><b>Ops on the path</b></p><table>{ops}</table>"
            + (f"<p><b>GPU idle on the path, and the host op that delayed it</b></p><table>{delays}</table>"
               if delays else ""))
