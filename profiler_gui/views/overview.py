"""Overview tab: trace facts, devices, step times, step-time breakdown, GPU metrics, top findings."""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from .. import theme as theme_mod
from ..analysis import Analysis, step_count, timed_steps_ms
from .common import fmt_ms, fmt_num
from .step_axis import step_ticks, use_line_chart


def _kv_html(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='padding-right:14px'><b>{html.escape(k)}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<table cellspacing='2'>{cells}</table>"


def gpu_metric_items(gpu: Any) -> list[tuple[str, str]]:
    """Flatten whatever analyzers.gpu_metrics returned into (label, value) pairs."""
    if gpu is None:
        return []
    if isinstance(gpu, (list, tuple)):
        out: list[tuple[str, str]] = []
        for item in gpu:
            dev = getattr(item, "device", None)
            prefix = f"GPU {dev}: " if dev is not None and len(gpu) > 1 else ""
            out.extend((prefix + k, v) for k, v in gpu_metric_items(item))
        return out
    if hasattr(gpu, "to_dict") and not isinstance(gpu, pd.DataFrame):
        try:
            gpu = gpu.to_dict()
        except TypeError:
            pass
    if isinstance(gpu, pd.DataFrame):
        if len(gpu) == 1:
            gpu = gpu.iloc[0].to_dict()
        else:
            num = gpu.select_dtypes("number")
            gpu = {f"{c} (mean)": float(num[c].mean()) for c in num.columns}
    if hasattr(gpu, "__dataclass_fields__"):
        from dataclasses import asdict
        gpu = asdict(gpu)
    if not isinstance(gpu, dict):
        return [("value", html.escape(str(gpu)))]
    out = []
    for k, v in gpu.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if not isinstance(v2, (dict, list)):
                    out.append((f"{k} {k2}", html.escape(fmt_num(v2))))
        elif not isinstance(v, (list, np.ndarray, pd.DataFrame)):
            key = str(k)
            unit = ""
            for suffix, u in (("_pct", " %"), ("_ms", " ms")):
                if key.endswith(suffix):
                    key, unit = key[: -len(suffix)], u
            label = key.replace("_", " ").replace("sm ", "SM ").replace("tc ", "Tensor Core ")
            label = label[:1].upper() + label[1:]
            text = fmt_num(v)
            out.append((label, html.escape(text + unit if text else "n/a")))
    return out


class OverviewView(QWidget):
    """The first tab after opening a trace."""

    findingActivated = Signal(int)  # index into analysis.findings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: Analysis | None = None
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
        grid.addLayout(left, 0, 0)

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
        grid.addLayout(right, 0, 1)

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
        if self.analysis is not None:
            self.set_analysis(self.analysis)

    # ------------------------------------------------------------------ content
    def set_analysis(self, a: Analysis) -> None:
        self.analysis = a
        m = a.model
        s = m.summary()
        facts = [
            ("Source", html.escape(m.source.path)),
            ("Format", html.escape(f"{m.source.format} (schema: {m.source.schema})")),
            ("Events", f"{s['events']:,} raw, {s['slices']:,} slices"),
            ("Span", fmt_ms(s["span_ms"])),
            ("Ranks", f"{len(a.models)}" + (f" (world size {m.world_size})" if m.world_size else "")
             + (f"; showing rank <b>{a.current_rank}</b>" if len(a.models) > 1 else "")),
            ("Kernels / copies / CPU ops", f"{s['kernels']:,} / {s['memcpys']:,} / {s['cpu_ops']:,}"),
        ]
        ri = m.run_info
        if ri is not None:
            facts.append(("Workload", html.escape(str(ri.get("workload", "?")))))
            settings = m.settings
            facts.append(("Settings", html.escape(", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults")))
            facts.append(("Run status", html.escape(str(ri.get("status", "?")))))
        warns = [w for mm in a.models for w in mm.warnings]
        if warns:
            facts.append(("Warnings", "<br>".join(html.escape(w) for w in warns[:8])
                          + (f"<br>... {len(warns) - 8} more" if len(warns) > 8 else "")))
        self.facts.setText(_kv_html(facts))

        # devices
        if not m.has_gpu:
            dev_html = "<b>CPU-only trace</b>: no GPU kernels or copies were recorded, so GPU metrics do not apply."
        else:
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
                rows.append((f"GPU {d}", html.escape(str(p.get("name", "unknown name")) + (f" ({', '.join(extra)})" if extra else ""))))
            rows.append(("Vendor", html.escape(m.vendor)))
            dev_html = _kv_html(rows)
        self.devices.setText(dev_html)

        # GPU metrics
        if not m.has_gpu:
            self.gpu.setText("<i>Not applicable: CPU-only trace.</i>")
        elif a.gpu is None:
            self.gpu.setText(f"<i>GPU utilization, SM efficiency, occupancy and Tensor Core share: "
                             f"{html.escape(a.unavailable.get('gpu', 'not available'))}</i>")
        else:
            self.gpu.setText(_kv_html(gpu_metric_items(a.gpu)))

        self._set_distributed(a)
        self._set_findings(a)
        self._set_steps(a)
        self._set_breakdown(a)

    def _set_distributed(self, a: Analysis) -> None:
        """Per-rank step time, comm vs compute and their overlap, the slowest rank (only with > 1 rank)."""
        if len(a.models) < 2:
            self.dist_box.hide()
            self.dist.setText("")
            return
        self.dist_box.show()
        d = a.distributed
        if not d:
            msg = a.unavailable.get("distributed", "not available")
            self.dist.setText(f"<i>Distributed summary: {html.escape(msg)}</i>")
            return
        slow = d.get("slowest_rank")
        rows = []
        for p in d.get("per_rank") or []:
            r = p.get("rank")
            mark = " &#9664; slowest" if r == slow else ""
            shown = " (shown)" if r == a.current_rank else ""
            pct = p.get("overlap_pct")
            rows.append(f"<tr><td>{html.escape(str(r))}{shown}</td><td align='right'>{fmt_ms(p.get('step_mean_ms'))}</td>"
                        f"<td align='right'>{fmt_ms(p.get('computation_ms'))}</td>"
                        f"<td align='right'>{fmt_ms(p.get('communication_ms'))}</td>"
                        f"<td align='right'>{fmt_ms(p.get('overlap_ms'))}"
                        f"{f' ({float(pct):.0f} %)' if pct is not None else ''}</td><td>{mark}</td></tr>")
        skew = d.get("step_skew_pct")
        head = (f"{d.get('ranks')} ranks; slowest rank <b>{html.escape(str(slow))}</b> "
                f"({fmt_ms(d.get('slowest_step_ms'))} per step"
                + (f", {float(skew):.1f} % slower than the fastest" if skew is not None else "") + ").")
        self.dist.setText(f"{head}<table cellspacing='4'><tr><th align='left'>rank</th><th>step</th><th>compute</th>"
                          f"<th>comm</th><th>overlap</th><th></th></tr>{''.join(rows)}</table>"
                          "<small>per step, GPU kernel time inside the step window; overlap = communication "
                          "hidden under computation. Switch ranks with the Rank selector in the toolbar.</small>")

    def _set_findings(self, a: Analysis) -> None:
        if not a.findings:
            msg = a.unavailable.get("findings")
            self.findings.setText(f"<i>Findings: {html.escape(msg)}</i>" if msg else "<i>No findings: nothing stood out.</i>")
            return
        items = []
        for i, f in enumerate(a.findings[:5]):
            gain = getattr(f, "gain_ms", None)
            sev = str(getattr(f, "severity", ""))
            gain_txt = f" &mdash; est. gain {fmt_ms(float(gain))}/step" if gain else ""
            items.append(f"<li><a href='finding:{i}'>{html.escape(str(getattr(f, 'title', f)))}</a> "
                         f"<span>[{html.escape(sev)}]</span>{gain_txt}</li>")
        more = f"<br>{len(a.findings) - 5} more in the Findings tab" if len(a.findings) > 5 else ""
        self.findings.setText(f"<ol style='margin-left:-20px'>{''.join(items)}</ol>{more}")

    def step_count(self) -> int:
        return 0 if self.analysis is None or self.analysis.steps is None else len(self.analysis.steps)

    def _set_steps(self, a: Analysis) -> None:
        self.step_plot.clear()
        steps = a.steps
        if steps is None or not len(steps):
            self.step_summary.setText("<i>No ProfilerStep ranges in this trace: step metrics are not available.</i>")
            return
        vals = steps["step_ms"].to_numpy(dtype=float)
        n = step_count(a.steps_raw, steps)
        text = (f"{n} profiled steps: median {fmt_ms(float(np.median(vals)))}, "
                f"min {fmt_ms(float(vals.min()))}, max {fmt_ms(float(vals.max()))}")
        timed = timed_steps_ms(a.model)
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
        self.step_plot.getAxis("bottom").setTicks([step_ticks(steps["step"].tolist())])
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

    def _set_breakdown(self, a: Analysis) -> None:
        self.bd_plot.clear()
        df = a.breakdown
        if df is None or not len(df):
            msg = a.unavailable.get("breakdown", "no steps")
            self.bd_table.setText(f"<i>Breakdown: {html.escape(msg)}</i>")
            self.bd_plot.hide()
            return
        self.bd_plot.show()
        comps = [c for c in df.columns if str(c).endswith("_ms") and str(c) != "step_ms"]
        bottom = np.zeros(len(df))
        x = np.arange(len(df))
        lines = use_line_chart(len(df))
        for i, c in enumerate(comps):
            h = np.nan_to_num(df[c].to_numpy(dtype=float))
            self._stack(x, bottom, h, self.theme.series[i % len(self.theme.series)], lines)
            bottom += h
        steps = [str(v) for v in df.index] if df.index.name == "step" else [str(i) for i in range(len(df))]
        self.bd_plot.getAxis("bottom").setTicks([step_ticks(steps)])
        self.bd_plot.setXRange(-0.6, len(df) - 0.4, padding=0)
        mean = a.mean_breakdown or {}
        total = float(mean.get("step_ms") or sum(v for k, v in mean.items() if k in comps) or 0.0)
        rows = "".join(
            f"<tr><td><span style='color:{self.theme.series[i % len(self.theme.series)]}'>&#9632;</span> "
            f"{html.escape(str(c).removesuffix('_ms'))}</td><td align='right'>{fmt_ms(float(mean.get(c, 0.0)))}</td>"
            f"<td align='right'>{(100.0 * float(mean.get(c, 0.0)) / total) if total else 0:.1f} %</td></tr>"
            for i, c in enumerate(comps))
        self.bd_table.setText(f"<table cellspacing='4'><tr><th align='left'>mean per step</th><th>time</th>"
                              f"<th>% of step</th></tr>{rows}<tr><td><b>step</b></td><td align='right'><b>{fmt_ms(total)}"
                              f"</b></td><td></td></tr></table>")
