"""Memory tab: allocated and reserved over time per device, the peak marked, what was live at the peak."""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from .. import theme as theme_mod
from analyzers.errors import AnalysisError
from analyzers.session import AnalysisSession

from ..analysis import memory_view
from .common import summary_header
from .tables import TableView

MB = 2**20


class MemoryView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: AnalysisSession | None = None
        self.rank: int | None = None
        self.memory: dict[str, Any] = {}
        self.theme = theme_mod.LIGHT
        self.curves: dict[str, Any] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.summary, self.empty = summary_header(lay)
        split = QSplitter(Qt.Vertical)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "memory (MiB)")
        self.plot.setLabel("bottom", "time (ms)")
        self.legend = self.plot.addLegend()
        split.addWidget(self.plot)
        self.table = TableView("Live at the peak")
        split.addWidget(self.table)
        split.setSizes([450, 300])
        lay.addWidget(split, 1)

    def set_theme(self, t: theme_mod.Theme) -> None:
        self.theme = t
        theme_mod.style_plot(self.plot, t)
        if self.session is not None:
            self.show_rank(self.session, self.rank)

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        self.session, self.rank = session, rank
        self.plot.clear()
        self.legend.clear()
        self.curves = {}
        try:
            mem, err = memory_view(session.rank(rank)), None
        except AnalysisError as exc:
            mem, err = {}, str(exc)
        self.memory = mem
        devices = mem.get("devices") or []
        if not devices:
            why = err or ("this trace has no [memory] events; record with "
                          "torch.profiler.profile(profile_memory=True) to see memory")
            self.summary.setText("")
            self.empty.setText(f"Memory: {why}.")
            self.empty.show()
            self.plot.hide()
            self.table.hide()
            return
        self.empty.hide()
        self.plot.show()
        self.table.show()
        lines = []
        for i, d in enumerate(devices):
            colour = self.theme.series[i % len(self.theme.series)]
            t_ms = d["ts_ns"] / 1e6
            name = f"{d['label']} allocated"
            c = self.plot.plot(t_ms, d["allocated"] / MB, pen=pg.mkPen(colour, width=2), name=name, stepMode=None)
            self.curves[name] = c
            res = d["reserved"]
            if np.isfinite(res).any():
                name_r = f"{d['label']} reserved"
                self.curves[name_r] = self.plot.plot(t_ms, res / MB, pen=pg.mkPen(colour, width=1, style=Qt.DashLine),
                                                     name=name_r)
            peak_ms = d["peak_ts_ns"] / 1e6
            sc = pg.ScatterPlotItem([peak_ms], [d["peak_bytes"] / MB], size=12, symbol="t",
                                    brush=pg.mkBrush(colour), pen=pg.mkPen(self.theme.plot_fg))
            self.plot.addItem(sc)
            txt = pg.TextItem(f"peak {d['peak_bytes'] / MB:,.1f} MiB", color=self.theme.plot_fg, anchor=(0.5, 1.3))
            txt.setPos(peak_ms, d["peak_bytes"] / MB)
            self.plot.addItem(txt)
            self.plot.addItem(pg.InfiniteLine(peak_ms, angle=90, pen=pg.mkPen(colour, style=Qt.DotLine)))
            lines.append(f"<b>{html.escape(d['label'])}</b>: peak allocated {d['peak_bytes'] / MB:,.1f} MiB at "
                         f"{peak_ms:,.2f} ms")
        note = mem.get("live_note", "")
        self.summary.setText("; ".join(lines))
        self.table.set_frame(mem.get("live_at_peak"), note=(f"At the peak of {mem.get('peak_device', '')}. {note}").strip())

    def peak_bytes(self) -> dict[str, float]:
        mem = self.memory or {}
        return {d["label"]: d["peak_bytes"] for d in mem.get("devices") or []}
