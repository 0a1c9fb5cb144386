"""Findings tab: ranked by estimated gain; evidence, 'Show in timeline', the fix, 'Apply fix & rerun'."""
from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)

from analyzers.session import AnalysisSession

from ..analysis import rank_text, shown_findings
from .common import code_box, fmt_ms, fmt_num, note_label

SEVERITY_ORDER = {"critical": 0, "high": 1, "warning": 2, "medium": 2, "low": 3, "info": 4}


def _evidence_html(ev: Any) -> str:
    if not ev:
        return ""
    if isinstance(ev, dict):
        rows = []
        for k, v in list(ev.items())[:25]:
            text = v if isinstance(v, str) else (fmt_num(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 else json.dumps(v, default=str))
            if len(text) > 300:
                text = text[:300] + "..."
            rows.append(f"<tr><td valign='top' style='padding-right:10px'>{html.escape(str(k).replace('_', ' '))}</td>"
                        f"<td>{html.escape(text)}</td></tr>")
        return "<table>" + "".join(rows) + "</table>"
    return html.escape(str(ev))


class FindingsView(QWidget):
    """List on the left, the selected finding on the right."""

    showInTimeline = Signal(int)  # index into self.findings (each finding names its rank)
    applyFix = Signal(int)  # index into self.findings
    findBestFix = Signal()  # tune the run bundle's workload (profiler_gui.tune_window)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: AnalysisSession | None = None
        self.rank: int | None = None
        self.findings: list[Any] = []
        self.current: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.note = note_label("")
        self.note.hide()
        lay.addWidget(self.note)
        split = QSplitter(Qt.Horizontal)
        lay.addWidget(split, 1)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show)
        split.addWidget(self.list)
        right = QWidget()
        rl = QVBoxLayout(right)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.RichText)
        rl.addWidget(self.title)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        rl.addWidget(self.body)
        self.snippet = code_box(120)
        rl.addWidget(self.snippet)
        buttons = QHBoxLayout()
        self.show_button = QPushButton("Show in timeline")
        self.copy_button = QPushButton("Copy fix")
        self.apply_button = QPushButton("Apply fix && rerun")
        for b in (self.show_button, self.copy_button, self.apply_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.tune_button = QPushButton("Find the best fix")
        self.tune_button.setToolTip("A/B every applicable knob against this run (interleaved rounds, early stopping)")
        self.tune_button.setEnabled(False)
        self.tune_button.clicked.connect(self.findBestFix.emit)
        buttons.addWidget(self.tune_button)
        rl.addLayout(buttons)
        self.apply_note = QLabel()
        self.apply_note.setWordWrap(True)
        self.apply_note.setStyleSheet("color: palette(placeholder-text);")
        rl.addWidget(self.apply_note)
        rl.addStretch(1)
        split.addWidget(right)
        split.setSizes([380, 800])
        self.show_button.clicked.connect(lambda: self.current is not None and self.showInTimeline.emit(self.current))
        self.apply_button.clicked.connect(lambda: self.current is not None and self.applyFix.emit(self.current))
        self.copy_button.clicked.connect(self.copy_fix)
        self._show(-1)

    def set_theme(self, theme: Any) -> None:
        pass

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        """Every rank's findings (each labelled with its rank when there are several)."""
        self.session, self.rank = session, rank
        self.findings, msg = shown_findings(session, rank)
        info = session.rank(rank if rank in session.ranks else None).model.run_info
        self.tune_button.setEnabled(bool(info and info.get("workload")))
        self.list.clear()
        if msg:
            self.note.setText(msg)
        elif not self.findings:
            self.note.setText("No findings: no rule found a bottleneck worth fixing in this trace.")
        self.note.setVisible(bool(msg) or not self.findings)
        for f in self.findings:
            gain = float(getattr(f, "gain_ms", 0) or 0)
            sev = str(getattr(f, "severity", ""))
            where = rank_text(session, f)
            item = QListWidgetItem(f"[{sev}] {getattr(f, 'title', f)}{where}\n    est. gain {fmt_ms(gain)} per step")
            self.list.addItem(item)
        if self.findings:
            self.list.setCurrentRow(0)
        else:
            self._show(-1)

    def _show(self, index: int) -> None:
        f = self.findings[index] if 0 <= index < len(self.findings) else None
        self.current = index if f is not None else None
        for b in (self.show_button, self.copy_button, self.apply_button):
            b.setEnabled(f is not None)
        if f is None:
            self.title.setText("")
            self.body.setText("")
            self.snippet.setPlainText("")
            self.snippet.hide()
            self.apply_note.setText("")
            return
        gain = float(getattr(f, "gain_ms", 0) or 0)
        pct = getattr(f, "gain_pct", None)
        self.title.setText(f"<h3>{html.escape(str(f.title))}</h3><b>Severity:</b> {html.escape(str(f.severity))} &nbsp; "
                           f"<b>Estimated gain:</b> {fmt_ms(gain)} per step"
                           + (f" ({float(pct):.0f} % of the step)" if pct else "")
                           + f" &nbsp; <b>Rule:</b> {html.escape(str(f.rule))}"
                           + (f" &nbsp; <b>Rank:</b> {f.rank}" if f.rank is not None and self.session is not None
                              and self.session.is_multi_rank else ""))
        parts = [f"<p>{html.escape(str(f.summary))}</p>"]
        ev = _evidence_html(getattr(f, "evidence", None))
        if ev:
            parts.append(f"<p><b>Evidence</b></p>{ev}")
        n_ranges, n_rows = len(getattr(f, "evidence_ranges", []) or []), len(getattr(f, "evidence_rows", []) or [])
        parts.append(f"<p>{n_ranges} time ranges and {n_rows} events in the timeline.</p>")
        if getattr(f, "fix", ""):
            parts.append(f"<p><b>Fix</b>: {html.escape(str(f.fix))}</p>")
        if getattr(f, "caveats", None):
            parts.append("<p><b>Caveats</b></p><ul>" + "".join(f"<li>{html.escape(str(c))}</li>" for c in f.caveats) + "</ul>")
        self.body.setText("".join(parts))
        snippet = str(getattr(f, "fix_snippet", "") or "")
        self.snippet.setPlainText(snippet)
        self.snippet.setVisible(bool(snippet))
        self.copy_button.setEnabled(bool(snippet or getattr(f, "fix", "")))
        self.show_button.setEnabled(bool(n_ranges or n_rows))
        can, why = self.can_apply(f)
        self.apply_button.setEnabled(can)
        self.apply_note.setText(why)

    def can_apply(self, f: Any) -> tuple[bool, str]:
        knob = getattr(f, "knob", None)
        info = self.session.rank(f.rank if f.rank in self.session.ranks else None).model.run_info \
            if self.session is not None else None
        if info is None:
            return False, "Apply fix & rerun needs a TorchScope run bundle (this trace was recorded elsewhere)."
        if not knob:
            return False, "This finding has no knob TorchScope can set automatically; apply the fix by hand."
        if not info.get("workload"):
            return False, "The run bundle does not name its workload."
        return True, (f"Runs {info.get('workload')} A/B: this bundle's settings (A) against "
                      f"+ {knob}={getattr(f, 'knob_value', None)} (B), interleaved rounds, then shows the speedup "
                      "with its 95 % CI in Compare.")

    def copy_fix(self) -> str:
        if self.current is None:
            return ""
        f = self.findings[self.current]
        text = str(getattr(f, "fix_snippet", "") or getattr(f, "fix", "") or "")
        QGuiApplication.clipboard().setText(text)
        return text

    def select(self, index: int) -> None:
        if 0 <= index < len(self.findings):
            self.list.setCurrentRow(index)
