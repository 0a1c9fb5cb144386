"""Distributed tab: the rank x step heatmap, waits at the collectives and overlap per rank, the straggler.

Everything comes from ``session.cross_rank`` (warmed in the worker with the
session's ``distributed`` figures); with one rank the tab says how to get
several.  The shown rank is highlighted in the charts.
"""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QSplitter, QVBoxLayout, QWidget

from analyzers.errors import AnalysisError
from analyzers.session import AnalysisSession

from .. import theme as theme_mod
from ..timeline.widget import TimelineWidget
from .common import summary_header
from .tables import TableView

ONE_RANK = ("One rank: open a folder of rank traces or a multi-rank run bundle "
            "(torchscope profile SCRIPT --nproc-per-node N) to compare ranks.")


def rank_table(cross: Any) -> pd.DataFrame:
    """Per rank: mean step, wait / transfer / late ms per step at the collectives, times last, overlap."""
    overlap = {o["rank"]: o.get("overlap_pct") for o in cross.overlap}
    means = cross.spread.get("rank_mean_ms", {})
    rows = [{"rank": w.rank, "step ms": means.get(w.rank, np.nan), "wait ms": w.wait_ms,
             "transfer ms": w.transfer_ms, "late ms": w.late_ms, "last at": f"{w.times_last}/{w.calls}",
             "comm overlapped %": overlap.get(w.rank)} for w in cross.per_rank]
    return pd.DataFrame(rows)


def straggler_html(cross: Any) -> str:
    """The straggler finding in one paragraph (or why there is none)."""
    s = cross.straggler
    if s is None:
        how = ("no collectives matched across ranks" if not cross.per_rank or not any(w.calls for w in cross.per_rank)
               else "no rank is late enough at the collectives to matter")
        return f"<b>No straggler</b>: {html.escape(how)} (collectives: {html.escape(cross.source)})."
    cause = s["cause"]
    text = (f"<b>Straggler: rank {s['rank']}</b>, +{s['extra_ms_per_step']:.2f} ms per step "
            f"(last at {s['times_last']} of {s['calls']} collectives).")
    if cause.get("category"):
        text += (f" Cause: {html.escape(cause['what'])} (+{cause['excess_ms']:.2f} ms/step beyond the other ranks)."
                 f"<br><i>Fix:</i> {html.escape(cause['fix'])}")
    return text


class _MergeSignals(QObject):
    done = Signal(object, object)  # (session, merged model or the error text)


class _MergeTask(QRunnable):
    """Build the session's merged-ranks model off the GUI thread."""

    def __init__(self, session: AnalysisSession) -> None:
        super().__init__()
        self.session = session
        self.signals = _MergeSignals()

    def run(self) -> None:  # worker thread: numpy only
        try:
            self.signals.done.emit(self.session, self.session.merged_ranks)
        except Exception as exc:  # noqa: BLE001 - shown in the tab instead of the timeline
            self.signals.done.emit(self.session, f"merged timeline failed: {type(exc).__name__}: {exc}")


class DistributedView(QWidget):
    """Cross-rank figures of the session; the shown rank is highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: AnalysisSession | None = None
        self.rank: int | None = None
        self.theme = theme_mod.LIGHT
        self.cross: Any = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.summary, self.empty = summary_header(lay)
        self.charts = QWidget()
        grid = QGridLayout(self.charts)
        grid.setContentsMargins(0, 0, 0, 0)
        self.heatmap = pg.PlotWidget(title="Step time per rank (ms)")
        self.heatmap.setLabel("left", "rank")
        self.heatmap.setLabel("bottom", "step")
        self.heat_image = pg.ImageItem()
        self.heatmap.addItem(self.heat_image)
        self.waits = pg.PlotWidget(title="At the collectives, ms per step")
        self.waits.setLabel("bottom", "rank")
        self.waits.addLegend()
        self.overlap = pg.PlotWidget(title="Communication overlapped with compute (%)")
        self.overlap.setLabel("bottom", "rank")
        grid.addWidget(self.heatmap, 0, 0, 1, 2)
        grid.addWidget(self.waits, 1, 0)
        grid.addWidget(self.overlap, 1, 1)
        bar = QHBoxLayout()
        self.merge_button = QPushButton("Merged timeline: every rank's streams and collectives")
        self.merge_button.clicked.connect(self.show_merged_timeline)
        bar.addWidget(self.merge_button)
        bar.addStretch(1)
        lay.addLayout(bar)
        self.split = split = QSplitter(Qt.Vertical)
        split.addWidget(self.charts)
        self.table = TableView("Per rank")
        split.addWidget(self.table)
        self.timeline = TimelineWidget()
        self.timeline.hide()
        split.addWidget(self.timeline)
        lay.addWidget(split, 1)
        self.labels: list[Any] = []
        self._merge_tasks: list[_MergeTask] = []

    def set_theme(self, t: theme_mod.Theme) -> None:
        self.theme = t
        for plot in (self.heatmap, self.waits, self.overlap):
            theme_mod.style_plot(plot, t)
        self.timeline.set_theme(getattr(t, "name", "light"))
        if self.session is not None and self.rank is not None:
            self.show_rank(self.session, self.rank)

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        self.session, self.rank = session, rank
        if not session.is_multi_rank:
            self._empty(ONE_RANK)
            return
        try:
            cross = session.cross_rank
        except AnalysisError as exc:
            self._empty(str(exc))
            return
        self.cross = cross
        self.empty.hide()
        self.charts.show()
        self.table.show()
        self.merge_button.show()
        if self.timeline.model is not None and self.timeline.model is not self._merged_of(session):
            self.timeline.set_model(None)
            self.timeline.hide()
        self.summary.setText(straggler_html(cross))
        self._draw_heatmap(cross.matrix)
        self._draw_waits(cross, rank)
        self._draw_overlap(cross, rank)
        self.table.set_frame(rank_table(cross), note=f"Collectives: {cross.source}; per step means.")

    def show_merged_timeline(self) -> None:
        """Merge the ranks in a worker, then show them in the timeline below (one group per rank and track)."""
        if self.session is None or not self.session.is_multi_rank:
            return
        self.merge_button.setEnabled(False)
        task = _MergeTask(self.session)
        task.setAutoDelete(False)
        task.signals.done.connect(self._on_merged, Qt.ConnectionType.QueuedConnection)
        self._merge_tasks.append(task)
        QThreadPool.globalInstance().start(task)

    def _on_merged(self, session: AnalysisSession, merged: Any) -> None:
        self._merge_tasks = [t for t in self._merge_tasks if t.session is not session]
        self.merge_button.setEnabled(True)
        if session is not self.session:
            return  # another trace was opened meanwhile
        if isinstance(merged, str):
            self.summary.setText(self.summary.text() + "<br>" + html.escape(merged))
            return
        self.timeline.show()
        total = max(sum(self.split.sizes()), 600)
        self.split.setSizes([int(total * 0.35), int(total * 0.15), int(total * 0.5)])
        self.timeline.load_model_async(merged)

    def _empty(self, why: str) -> None:
        self.cross = None
        self.summary.setText("")
        self.empty.setText(f"Distributed: {why}")
        self.empty.show()
        self.charts.hide()
        self.table.hide()
        self.merge_button.hide()
        self.timeline.hide()

    def _draw_heatmap(self, matrix: pd.DataFrame) -> None:
        for item in self.labels:
            self.heatmap.removeItem(item)
        self.labels = []
        if matrix.empty:
            self.heat_image.clear()
            return
        data = matrix.to_numpy(dtype=float)  # ranks x steps
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.heat_image.setImage(np.nan_to_num(data.T, nan=lo), levels=(lo, hi if hi > lo else lo + 1e-9))
        self.heat_image.setColorMap(pg.colormap.get("viridis"))
        self.heat_image.setRect(-0.5, -0.5, data.shape[1], data.shape[0])
        ranks, steps = [int(r) for r in matrix.index], [int(s) for s in matrix.columns]
        self.heatmap.getAxis("left").setTicks([[(i, str(r)) for i, r in enumerate(ranks)]])
        self.heatmap.getAxis("bottom").setTicks([[(j, str(s)) for j, s in enumerate(steps)]])
        if data.size <= 400:  # write the values when they fit
            for i in range(data.shape[0]):
                for j in range(data.shape[1]):
                    if np.isfinite(data[i, j]):
                        txt = pg.TextItem(f"{data[i, j]:.1f}", color="w", anchor=(0.5, 0.5))
                        txt.setPos(j, i)
                        self.heatmap.addItem(txt)
                        self.labels.append(txt)

    def _bars(self, plot: pg.PlotWidget, x: np.ndarray, heights: np.ndarray, colour: str, name: str,
              base: np.ndarray | None = None) -> None:
        bars = pg.BarGraphItem(x=x, height=heights, width=0.6, y0=base if base is not None else 0,
                               brush=pg.mkBrush(colour), pen=pg.mkPen(self.theme.plot_fg), name=name)
        plot.addItem(bars)

    def _draw_waits(self, cross: Any, rank: int) -> None:
        self.waits.clear()
        per = cross.per_rank
        x = np.array([w.rank for w in per], dtype=float)
        wait = np.array([w.wait_ms for w in per])
        transfer = np.array([w.transfer_ms for w in per])
        series = self.theme.series
        self._bars(self.waits, x, wait, series[1 % len(series)], "wait")
        self._bars(self.waits, x, transfer, series[0], "transfer", base=wait)
        self.waits.getAxis("bottom").setTicks([[(w.rank, f"{w.rank}*" if w.rank == rank else str(w.rank))
                                                for w in per]])

    def _draw_overlap(self, cross: Any, rank: int) -> None:
        self.overlap.clear()
        rows = [(o["rank"], o.get("overlap_pct")) for o in cross.overlap if o.get("overlap_pct") is not None]
        if not rows:
            return
        x = np.array([r for r, _ in rows], dtype=float)
        self._bars(self.overlap, x, np.array([v for _, v in rows]), self.theme.series[2 % len(self.theme.series)],
                   "overlap")
        self.overlap.setYRange(0, 100)
        self.overlap.getAxis("bottom").setTicks([[(r, f"{r}*" if r == rank else str(r)) for r, _ in rows]])

    @staticmethod
    def _merged_of(session: AnalysisSession) -> Any:
        """The session's merged model if it was built already (never builds it here)."""
        return session.memo.values.get("merged_ranks")

    def figures(self) -> dict[str, Any]:
        """What the tab shows, for tests: the heatmap shape, straggler rank, per-rank table."""
        if self.cross is None:
            return {}
        img = self.heat_image.image
        return {"heatmap_shape": None if img is None else tuple(img.shape),
                "straggler": (self.cross.straggler or {}).get("rank"),
                "table": self.table.model.frame(), "summary": self.summary.text()}
