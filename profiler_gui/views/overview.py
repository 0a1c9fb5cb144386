"""Overview tab: trace facts, devices, step times, step-time breakdown, GPU metrics, top findings."""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from .. import theme as theme_mod
from analyzers.gpu_metrics import GpuMetrics
from analyzers.rank_analysis import RankAnalysis
from analyzers.session import AnalysisSession

from ..analysis import rank_text, shown_findings, step_ms, timed_steps_ms
from .common import fmt_ms, fmt_num
from .step_axis import step_ticks, use_line_chart


def _kv_html(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='padding-right:14px'><b>{html.escape(k)}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<table cellspacing='2'>{cells}</table>"


def _metric_label(key: str) -> tuple[str, str]:
    """('Utilization', ' %') for 'utilization_pct': a readable label and the unit its suffix names."""
    unit = ""
    for suffix, u in (("_pct", " %"), ("_ms", " ms")):
        if key.endswith(suffix):
            key, unit = key[: -len(suffix)], u
    label = key.replace("_", " ").replace("sm ", "SM ").replace("tc ", "Tensor Core ")
    return label[:1].upper() + label[1:], unit


def gpu_metric_items(gpus: list[GpuMetrics]) -> list[tuple[str, str]]:
    """(label, value) pairs of each device's GPU metrics, prefixed with the device when there are several."""
    out: list[tuple[str, str]] = []
    for g in gpus:
        prefix = f"GPU {g.device}: " if len(gpus) > 1 else ""
        for key, value in g.to_dict().items():
            label, unit = _metric_label(key)
            text = fmt_num(value)
            out.append((prefix + label, html.escape(text + unit if text else "n/a")))
    return out


class OverviewView(QWidget):
    """The first tab after opening a trace."""

    findingActivated = Signal(int)  # index into the findings listed (shown_findings)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: AnalysisSession | None = None
        self.rank: int | None = None
        self.theme = theme_mod.LIGHT
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        grid = QGridLayout(body)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        self.quality = QLabel()  # measurement-quality banner: shown when the profile is noisy or poor
        self.quality.setWordWrap(True)
        self.quality.setObjectName("qualityBanner")
        self.quality.hide()
        grid.addWidget(self.quality, 0, 0, 1, 2)

        self.facts_box, self.facts = self._box("Trace")
        self.devices_box, self.devices = self._box("Devices")
        self.gpu_box, self.gpu = self._box("GPU efficiency")
        self.findings_box, self.findings = self._box("Top findings")
        self.dist_box, self.dist = self._box("Ranks (distributed summary)")
        self.dist_box.hide()
        self.findings.setOpenExternalLinks(False)
        self.findings.linkActivated.connect(lambda link: self.findingActivated.emit(int(link.split(":")[1])))
        left = QVBoxLayout()
        for w in (self.facts_box, self.dist_box, self.devices_box, self.gpu_box, self.findings_box):
            left.addWidget(w)
        left.addStretch(1)
        grid.addLayout(left, 1, 0)

        right = QVBoxLayout()
        self.steps_box = QGroupBox("Step time per step")
        sl = QVBoxLayout(self.steps_box)
        self.step_summary = QLabel()
        self.step_summary.setWordWrap(True)
        sl.addWidget(self.step_summary)
        self.step_plot = pg.PlotWidget()
        self.step_plot.setFixedHeight(240)
        self.step_plot.setLabel("left", "step time (ms)")
        self.step_plot.setLabel("bottom", "step")
        self.step_plot.setMouseEnabled(x=True, y=False)
        sl.addWidget(self.step_plot)
        right.addWidget(self.steps_box)

        self.bd_box = QGroupBox("Step-time breakdown")
        bl = QVBoxLayout(self.bd_box)
        self.bd_plot = pg.PlotWidget()
        self.bd_plot.setFixedHeight(280)
        self.bd_plot.setLabel("left", "time (ms)")
        self.bd_plot.setLabel("bottom", "step")
        # the legend is the table under the plot (colour swatches): inside the plot it covered the bars
        bl.addWidget(self.bd_plot)
        self.bd_table = QLabel()
        self.bd_table.setTextFormat(Qt.RichText)
        bl.addWidget(self.bd_table)
        right.addWidget(self.bd_box)
        right.addStretch(1)
        grid.addLayout(right, 1, 1)

    def _box(self, title: str) -> tuple[QGroupBox, QLabel]:
        box = QGroupBox(title)
        lay = QVBoxLayout(box)
        lab = QLabel()
        lab.setWordWrap(True)
        lab.setTextFormat(Qt.RichText)
        lab.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.LinksAccessibleByMouse)
        lab.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        lay.addWidget(lab)
        return box, lab

    def set_theme(self, t: theme_mod.Theme) -> None:
        self.theme = t
        for p in (self.step_plot, self.bd_plot):
            theme_mod.style_plot(p, t)
        if self.session is not None:
            self.show_rank(self.session, self.rank)

    # ------------------------------------------------------------------ content
    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        self.session, self.rank = session, rank
        ra = session.rank(rank)
        self.facts.setText(_kv_html(_facts(session, ra)))
        self._set_quality(ra)
        self.devices.setText(_devices_html(ra))
        self._set_gpu(ra)
        self._set_distributed(session, rank)
        self._set_findings(session, rank)
        self._set_steps(ra)
        self._set_breakdown(ra)

    def _set_quality(self, ra: RankAnalysis) -> None:
        q, err = ra.try_get("measurement_quality")
        if err is not None or not q or q.get("status") == "good":
            self.quality.hide()
            return
        colour = "#b00020" if q["status"] == "poor" else "#8a5a00"
        self.quality.setText(f"<span style='color:{colour}'><b>Measurement quality: {q['status']}</b></span> - "
                             + html.escape("; ".join(q.get("reasons") or []))
                             + ". Findings use per-step medians; re-profile on a quiet machine before trusting "
                               "small gains.")
        self.quality.show()

    def _set_gpu(self, ra: RankAnalysis) -> None:
        if not ra.model.has_gpu:
            self.gpu.setText("<i>Not applicable: CPU-only trace.</i>")
            return
        gpu, err = ra.try_get("gpu_metrics")
        if err is not None:
            self.gpu.setText(f"<i>GPU utilization, SM efficiency, occupancy and Tensor Core share: "
                             f"{html.escape(err)}</i>")
        else:
            self.gpu.setText(_kv_html(gpu_metric_items(gpu)))

    def _set_distributed(self, session: AnalysisSession, rank: int) -> None:
        """Per-rank step time, comm vs compute and their overlap, the slowest rank (only with > 1 rank)."""
        if not session.is_multi_rank:
            self.dist_box.hide()
            self.dist.setText("")
            return
        self.dist_box.show()
        try:
            d = session.distributed
        except Exception as exc:  # noqa: BLE001 - AnalysisError: its message is shown
            self.dist.setText(f"<i>Distributed summary: {html.escape(str(exc))}</i>")
            return
        self.dist.setText(_distributed_html(d, rank))

    def _set_findings(self, session: AnalysisSession, rank: int) -> None:
        findings, err = shown_findings(session, rank)
        self.findings_box.setTitle("Top findings (all ranks)" if session.is_multi_rank else "Top findings")
        if not findings:
            self.findings.setText(f"<i>{html.escape(err)}</i>" if err else "<i>No findings: nothing stood out.</i>")
            return
        items = []
        for i, f in enumerate(findings[:5]):
            gain_txt = f" &mdash; est. gain {fmt_ms(float(f.gain_ms))}/step" if f.gain_ms else ""
            where = rank_text(session, f)
            items.append(f"<li><a href='finding:{i}'>{html.escape(str(f.title))}</a>{where} "
                         f"<span>[{html.escape(str(f.severity))}]</span>{gain_txt}</li>")
        more = f"<br>{len(findings) - 5} more in the Findings tab" if len(findings) > 5 else ""
        self.findings.setText(f"<ol style='margin-left:-20px'>{''.join(items)}</ol>{more}")

    def step_count(self) -> int:
        if self.session is None:
            return 0
        steps, err = self.session.rank(self.rank).try_get("steps")
        return 0 if err is not None else int(steps.count)

    def _set_steps(self, ra: RankAnalysis) -> None:
        self.step_plot.clear()
        steps, err = ra.try_get("steps")
        if err is not None:
            self.step_summary.setText(f"<i>Steps: {html.escape(err)}</i>")
            return
        if not steps.count:
            self.step_summary.setText("<i>No ProfilerStep ranges in this trace: step metrics are not available.</i>")
            return
        vals = step_ms(ra)
        text = (f"{steps.count} profiled steps: mean {fmt_ms(float(vals.mean()))}, median "
                f"{fmt_ms(float(np.median(vals)))}, min {fmt_ms(float(vals.min()))}, max {fmt_ms(float(vals.max()))}")
        timed = timed_steps_ms(ra)
        if timed:
            text += (f"<br>{len(timed)} timed steps without the profiler: median "
                     f"<b>{fmt_ms(float(np.median(timed)))}</b> (the figure A/B comparisons use)")
        self.step_summary.setText(text)
        x = np.arange(len(vals))
        if use_line_chart(len(vals)):
            self.step_plot.addItem(pg.PlotDataItem(x, vals, pen=pg.mkPen(self.theme.series[0], width=2)))
        else:
            self.step_plot.addItem(pg.BarGraphItem(x=x, height=vals, width=0.7, brush=self.theme.series[0],
                                                   pen=pg.mkPen(None)))
        self.step_plot.getAxis("bottom").setTicks([step_ticks(np.asarray(steps.number).tolist())])
        self.step_plot.setXRange(-0.6, len(vals) - 0.4, padding=0)
        self.step_plot.setYRange(0, float(vals.max()) * 1.1, padding=0)

    def _stack(self, x: np.ndarray, bottom: np.ndarray, h: np.ndarray, colour: str, lines: bool) -> None:
        """One component of the stacked breakdown: bars, or a filled band past ~40 steps."""
        if not lines:
            self.bd_plot.addItem(pg.BarGraphItem(x=x, y0=bottom, height=h, width=0.7, brush=colour,
                                                 pen=pg.mkPen(None)))
            return
        low = pg.PlotDataItem(x, bottom.copy(), pen=pg.mkPen(None))
        high = pg.PlotDataItem(x, bottom + h, pen=pg.mkPen(colour, width=1))
        self.bd_plot.addItem(low)
        self.bd_plot.addItem(high)
        self.bd_plot.addItem(pg.FillBetweenItem(low, high, brush=colour))

    def _set_breakdown(self, ra: RankAnalysis) -> None:
        self.bd_plot.clear()
        df, err = ra.try_get("breakdown")
        mean, err_mean = ra.try_get("mean_breakdown_ms")
        if err or err_mean or df is None or not len(df):
            self.bd_table.setText(f"<i>Breakdown: {html.escape(err or err_mean or 'no steps')}</i>")
            self.bd_plot.hide()
            return
        self.bd_plot.show()
        comps = [str(c).removesuffix("_ms") for c in df.columns if str(c).endswith("_ms") and str(c) != "step_ms"]
        # categories that never occur (GPU ones on a CPU-only trace, accelerator-only ones on CUDA) are not listed
        comps = [c for c in comps if float(df[f"{c}_ms"].sum()) > 0 or c == "other"]
        bottom = np.zeros(len(df))
        x = np.arange(len(df))
        lines = use_line_chart(len(df))
        for i, c in enumerate(comps):
            h = np.nan_to_num(df[f"{c}_ms"].to_numpy(dtype=float))
            self._stack(x, bottom, h, self.theme.series[i % len(self.theme.series)], lines)
            bottom += h
        steps = [str(v) for v in df.index] if df.index.name == "step" else [str(i) for i in range(len(df))]
        self.bd_plot.getAxis("bottom").setTicks([step_ticks(steps)])
        self.bd_plot.setXRange(-0.6, len(df) - 0.4, padding=0)
        total = float(df["step_ms"].mean()) if "step_ms" in df.columns else float(sum(mean.values()))
        self.bd_table.setText(_breakdown_html(comps, mean, total, self.theme.series))


def _facts(session: AnalysisSession, ra: RankAnalysis) -> list[tuple[str, str]]:
    m = ra.model
    s = m.summary()
    n = len(session.ranks)
    facts = [
        ("Source", html.escape(m.source.path)),
        ("Format", html.escape(f"{m.source.format} (schema: {m.source.schema})")),
        ("Events", f"{s['events']:,} raw, {s['slices']:,} slices"),
        ("Span", fmt_ms(s["span_ms"])),
        ("Ranks", f"{n}" + (f" (world size {m.world_size})" if m.world_size else "")
         + (f"; showing rank <b>{ra.rank}</b>" if n > 1 else "")),
        ("Kernels / copies / CPU ops", f"{s['kernels']:,} / {s['memcpys']:,} / {s['cpu_ops']:,}"),
    ]
    ri = m.run_info
    if ri is not None:
        facts.append(("Workload", html.escape(str(ri.get("workload", "?")))))
        facts.append(("Settings", html.escape(", ".join(f"{k}={v}" for k, v in m.settings.items()) or "defaults")))
        facts.append(("Run status", html.escape(str(ri.get("status", "?")))))
    warns = list(m.warnings)
    if warns:
        facts.append(("Warnings", "<br>".join(html.escape(w) for w in warns[:8])
                      + (f"<br>... {len(warns) - 8} more" if len(warns) > 8 else "")))
    return facts


def _devices_html(ra: RankAnalysis) -> str:
    m = ra.model
    if not m.has_gpu:
        return "<b>CPU-only trace</b>: no GPU kernels or copies were recorded, so GPU metrics do not apply."
    rows = []
    for d in m.gpu_devices:
        p = m.device_property(d)
        extra = []
        if p.get("totalGlobalMem"):
            extra.append(f"{float(p['totalGlobalMem']) / 2**30:.0f} GiB")
        if p.get("numSms"):
            extra.append(f"{p['numSms']} SMs")
        if p.get("computeMajor") is not None:
            extra.append(f"sm_{p.get('computeMajor')}{p.get('computeMinor', '')}")
        rows.append((f"GPU {d}", html.escape(str(p.get("name", "unknown name"))
                                             + (f" ({', '.join(extra)})" if extra else ""))))
    rows.append(("Vendor", html.escape(m.vendor)))
    return _kv_html(rows)


def _distributed_html(d: dict[str, Any], shown: int) -> str:
    slow = d.get("slowest_rank")
    rows = []
    for p in d.get("per_rank") or []:
        r = p.get("rank")
        mark = " &#9664; slowest" if r == slow else ""
        pct = p.get("overlap_pct")
        rows.append(f"<tr><td>{html.escape(str(r))}{' (shown)' if r == shown else ''}</td>"
                    f"<td align='right'>{fmt_ms(p.get('step_mean_ms'))}</td>"
                    f"<td align='right'>{fmt_ms(p.get('computation_ms'))}</td>"
                    f"<td align='right'>{fmt_ms(p.get('communication_ms'))}</td>"
                    f"<td align='right'>{fmt_ms(p.get('overlap_ms'))}"
                    f"{f' ({float(pct):.0f} %)' if pct is not None else ''}</td><td>{mark}</td></tr>")
    skew = d.get("step_skew_pct")
    head = (f"{d.get('ranks')} ranks; slowest rank <b>{html.escape(str(slow))}</b> "
            f"({fmt_ms(d.get('slowest_step_ms'))} per step"
            + (f", {float(skew):.1f} % slower than the fastest" if skew is not None else "") + ").")
    return (f"{head}<table cellspacing='4'><tr><th align='left'>rank</th><th>step</th><th>compute</th>"
            f"<th>comm</th><th>overlap</th><th></th></tr>{''.join(rows)}</table>"
            "<small>per step, GPU kernel time inside the step window; overlap = communication "
            "hidden under computation. Switch ranks with the Rank selector in the toolbar.</small>")


def _breakdown_html(comps: list[str], mean: dict[str, float], total: float, series: list[str]) -> str:
    rows = "".join(
        f"<tr><td><span style='color:{series[i % len(series)]}'>&#9632;</span> "
        f"{html.escape(c)}</td><td align='right'>{fmt_ms(float(mean.get(c, 0.0)))}</td>"
        f"<td align='right'>{(100.0 * float(mean.get(c, 0.0)) / total) if total else 0:.1f} %</td></tr>"
        for i, c in enumerate(comps))
    return (f"<table cellspacing='4'><tr><th align='left'>mean per step</th><th>time</th>"
            f"<th>% of step</th></tr>{rows}<tr><td><b>step</b></td><td align='right'><b>{fmt_ms(total)}"
            f"</b></td><td></td></tr></table>")
