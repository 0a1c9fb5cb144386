"""Compare (A/B) tab: speedup (+CI), step-time distributions, breakdown side by side, top changes, findings."""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from .. import theme as theme_mod
from .common import fmt_ms, note_label
from .tables import TableView


class CompareView(QWidget):
    """Shows the dict from :func:`profiler_gui.comparison.compare_sessions` (A is the open session)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: dict[str, Any] | None = None
        self.theme = theme_mod.LIGHT
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.empty = note_label("Nothing to compare yet. Use File > Compare with... to open a second trace, "
                                "or 'Apply fix & rerun' on a finding of a run bundle.")
        lay.addWidget(self.empty)
        self.body = QWidget()
        lay.addWidget(self.body, 1)
        bl = QVBoxLayout(self.body)
        bl.setContentsMargins(0, 0, 0, 0)
        self.headline = QLabel()
        self.headline.setTextFormat(Qt.RichText)
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextSelectableByMouse)
        bl.addWidget(self.headline)
        top = QHBoxLayout()
        dist_box = QGroupBox("Step-time distributions")
        dl = QVBoxLayout(dist_box)
        self.dist_plot = pg.PlotWidget()
        self.dist_plot.setLabel("left", "step time (ms)")
        self.dist_plot.setMinimumHeight(200)
        self.dist_legend = self.dist_plot.addLegend(offset=(-10, 10))
        dl.addWidget(self.dist_plot)
        top.addWidget(dist_box, 1)
        bd_box = QGroupBox("Breakdown per step (A vs B)")
        bdl = QVBoxLayout(bd_box)
        self.bd_plot = pg.PlotWidget()
        self.bd_plot.setLabel("left", "mean per step (ms)")
        self.bd_plot.setMinimumHeight(200)
        self.bd_legend = self.bd_plot.addLegend(offset=(-10, 10))
        bdl.addWidget(self.bd_plot)
        self.bd_note = note_label("")
        self.bd_note.hide()
        bdl.addWidget(self.bd_note)
        top.addWidget(bd_box, 1)
        bl.addLayout(top, 2)
        split = QSplitter(Qt.Horizontal)
        self.changes = TableView("Ops and kernels that changed most (ms per step)")
        split.addWidget(self.changes)
        self.findings_label = QLabel()
        self.findings_label.setTextFormat(Qt.RichText)
        self.findings_label.setWordWrap(True)
        self.findings_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        fbox = QGroupBox("Findings resolved and new")
        fl = QVBoxLayout(fbox)
        fl.addWidget(self.findings_label)
        fl.addStretch(1)
        split.addWidget(fbox)
        split.setSizes([800, 380])
        bl.addWidget(split, 3)
        self.body.hide()

    def set_theme(self, t: theme_mod.Theme) -> None:
        self.theme = t
        for p in (self.dist_plot, self.bd_plot):
            theme_mod.style_plot(p, t)
        if self.result is not None:
            self.set_result(self.result)

    def show_rank(self, session: Any, rank: int) -> None:
        """The comparison is of whole sessions (every rank); switching the shown rank keeps it."""

    def speedup(self) -> float | None:
        return None if self.result is None else self.result.get("speedup")

    def set_result(self, r: dict[str, Any]) -> None:
        self.result = r
        self.empty.hide()
        self.body.show()
        sp = r.get("speedup")
        ci = r.get("ci")
        head = [f"<b>A</b>: {html.escape(str(r.get('a_path')))}<br><b>B</b>: {html.escape(str(r.get('b_path')))}"]
        if sp:
            has_ci = bool(ci and ci[0] is not None and ci[1] is not None)
            unclear = has_ci and ci[0] <= 1.0 <= ci[1]  # the CI includes 1: say that alone
            verdict = "no clear difference" if unclear else ("faster" if sp >= 1 else "slower")
            colour = "#7a7a7a" if unclear else ("#2e9d57" if sp > 1 else "#c8473e")
            ci_txt = f" (95% CI {ci[0]:.2f}x - {ci[1]:.2f}x)" if has_ci else ""
            head.append(f"<span style='font-size:20pt; color:{colour}'><b>{sp:.2f}x</b></span> "
                        f"{verdict}{ci_txt} &mdash; from {html.escape(r.get('speedup_source', ''))}")
        else:
            head.append("<i>No speedup: one side has no step times.</i>")
        ab = r.get("ab")
        if ab:
            fix = ", ".join(f"{k}={v}" for k, v in (ab.get("fix") or {}).items())
            rs = ", ".join(f"{x:.2f}x" for x in ab.get("round_speedups") or [])
            sig = ("the 95% CI excludes 1: a real change" if ab.get("significant")
                   else "the 95% CI includes 1: no clear difference")
            head.append(f"A/B with <b>{html.escape(fix)}</b>: {ab.get('rounds')} interleaved rounds, "
                        f"{ab.get('a_count')} + {ab.get('b_count')} timed steps "
                        f"(median A {fmt_ms(ab.get('a_median_ms'))}, B {fmt_ms(ab.get('b_median_ms'))}); "
                        f"per round: {html.escape(rs) or '-'}; {sig}"
                        + ("; batch sizes differ: time per sample compared" if ab.get("per_sample") else ""))
            for line in ab.get("prediction_lines") or []:  # predicted vs measured; a noisy profile warned
                style = " style='color:#c8473e'" if line.startswith("warning") else ""
                head.append(f"<span{style}>{html.escape(line)}</span>")
        bits = [f"median step A {fmt_ms(r.get('a_median_ms'))} ({html.escape(r.get('a_steps_label', ''))}), "
                f"B {fmt_ms(r.get('b_median_ms'))} ({html.escape(r.get('b_steps_label', ''))})"]
        if r.get("profiled_ratio"):
            bits.append(f"profiled step ratio {r['profiled_ratio']:.2f}x")
        head.append("; ".join(bits))
        for k, v in (r.get("unavailable") or {}).items():
            head.append(f"<i>{html.escape(v)}</i>")
        self.headline.setText("<br>".join(head))
        self._plot_dist(r)
        self._plot_breakdown(r)
        changes = r.get("changes")
        self.changes.set_frame(changes if isinstance(changes, pd.DataFrame) else None)
        self._findings(r)

    def _plot_dist(self, r: dict[str, Any]) -> None:
        p = self.dist_plot
        p.clear()
        self.dist_legend.clear()
        for i, (key, label) in enumerate((("a_steps", "A"), ("b_steps", "B"))):
            vals = np.asarray(r.get(key) or [], dtype=float)
            if not len(vals):
                continue
            colour = self.theme.series[i]
            rng = np.random.default_rng(i)
            x = i + rng.uniform(-0.18, 0.18, len(vals))
            sc = pg.ScatterPlotItem(x=x, y=vals, size=7, brush=pg.mkBrush(colour), pen=pg.mkPen(None))
            p.addItem(sc)
            self.dist_legend.addItem(sc, f"{label}: {r.get(key + '_label', '')} (n={len(vals)})")
            med = float(np.median(vals))
            p.addItem(pg.PlotDataItem([i - 0.3, i + 0.3], [med, med], pen=pg.mkPen(colour, width=3)))
        p.getAxis("bottom").setTicks([[(0, "A"), (1, "B")]])
        p.setXRange(-0.6, 1.6, padding=0)

    def _plot_breakdown(self, r: dict[str, Any]) -> None:
        p = self.bd_plot
        p.clear()
        self.bd_legend.clear()
        df = r.get("breakdown")
        if not isinstance(df, pd.DataFrame) or "a_ms" not in df.columns:
            self.bd_note.setText("Breakdown side by side: not available (needs analyzers.breakdown on both traces).")
            self.bd_note.show()
            return
        self.bd_note.hide()
        df = df[df["component"] != "step_ms"].reset_index(drop=True)
        x = np.arange(len(df))
        for i, (col, label) in enumerate((("a_ms", "A"), ("b_ms", "B"))):
            item = pg.BarGraphItem(x=x + (i - 0.5) * 0.38, height=df[col].to_numpy(float), width=0.36,
                                   brush=self.theme.series[i], pen=pg.mkPen(None))
            p.addItem(item)
            self.bd_legend.addItem(item, label)
        p.getAxis("bottom").setTicks([[(i, str(c).removesuffix("_ms")) for i, c in enumerate(df["component"])]])
        p.setXRange(-0.7, len(df) - 0.3, padding=0)

    def _findings(self, r: dict[str, Any]) -> None:
        def items(fs: list[Any]) -> str:
            if not fs:
                return "<i>none</i>"
            return "<ul>" + "".join(f"<li>{html.escape(str(getattr(f, 'title', f)))}</li>" for f in fs) + "</ul>"
        an = r.get("analyzer") or {}

        def costs(rows: list[dict[str, Any]]) -> str:
            if not rows:
                return "<i>none</i>"
            return "<ul>" + "".join(
                f"<li>{html.escape(str(p.get('title')))}: {fmt_ms(p.get('a_cost_ms', p.get('a_gain_ms')))} -> "
                f"{fmt_ms(p.get('b_cost_ms', p.get('b_gain_ms')))} per step</li>" for p in rows) + "</ul>"
        notes = list(dict.fromkeys(str(n.get("title")) for n in an.get("info") or []))
        notes_html = ("<p><b>Notes</b> (information, not bottlenecks)</p><ul>"
                      + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>") if notes else ""
        self.findings_label.setText(f"<p><b>Resolved in B</b></p>{items(r.get('resolved') or [])}"
                                    f"<p><b>Reduced in B</b> (cost per step A -> B)</p>{costs(an.get('reduced') or [])}"
                                    f"<p><b>New in B</b></p>{items(r.get('new') or [])}"
                                    "<p><b>Still present</b> (cost per step A -> B)</p>"
                                    f"{costs(an.get('persisting') or [])}{notes_html}")
