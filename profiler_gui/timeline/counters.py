"""Counter tracks (memory, NVML samples) drawn as lines under the slices, x-linked to them."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtWidgets

from .axes import CounterAxis
from .state import COUNTER_H, GUTTER_W

if TYPE_CHECKING:
    from .widget import TimelineWidget


class CounterTracks:
    """The counter plots of one TimelineWidget and its 'Show empty counters' box."""

    def __init__(self, widget: "TimelineWidget") -> None:
        self.w = widget
        self.st = widget._st
        self.plots: list[pg.PlotItem] = []
        self.show_empty = False  # counters holding only zeros stay hidden until asked for
        # 'Show empty counters': shown only when a trace has counters that hold only zeros
        self.box = QtWidgets.QCheckBox("Show empty counters", widget)
        self.box.toggled.connect(self.set_show_empty)
        self.box.hide()

    def clear(self) -> None:
        for plot in self.plots:
            self.w.view.removeItem(plot)
        self.plots = []

    def set_show_empty(self, show: bool) -> None:
        """Draw (or hide again) the counter tracks that hold only zeros."""
        if self.st.data is None or self.show_empty == bool(show):
            return
        self.show_empty = bool(show)
        self.clear()
        self.build()

    def shown(self) -> list:
        d = self.st.data
        return list(d.counters) + (list(d.empty_counters) if self.show_empty else [])

    def build(self) -> None:
        st = self.st
        for i, c in enumerate(self.shown()):
            peak = float(np.nanmax(c.values)) if len(c.values) else 0.0
            axis = CounterAxis(st, c.name, c.unit, peak)
            vb = pg.ViewBox(enableMenu=False)
            vb.setMouseEnabled(x=True, y=False)
            plot = pg.PlotItem(viewBox=vb, axisItems={"left": axis})
            plot.hideAxis("bottom")
            plot.hideButtons()
            plot.setContentsMargins(0, 0, 0, 0)
            axis.setWidth(GUTTER_W)
            plot.setFixedHeight(COUNTER_H)
            curve = pg.PlotDataItem(c.ts_ns.astype(np.float64), c.values, pen=pg.mkPen(st.colors["counter"], width=1),
                                    fillLevel=0.0, brush=st.colors["counter_fill"], stepMode=None)
            plot.addItem(curve)
            # PlotItem.addItem applies the plot's modes to the item: set them on the plot
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            vb.setXLink(self.w.vb)
            vb.setYRange(0, peak * 1.08 if peak > 0 else 1.0, padding=0)
            vb.disableAutoRange()
            self.w.view.addItem(plot, row=i + 1, col=0)
            self.plots.append(plot)

    def apply_theme(self) -> None:
        for plot in self.plots:
            for it in plot.listDataItems():
                it.setPen(pg.mkPen(self.st.colors["counter"], width=1))
                it.setBrush(self.st.colors["counter_fill"])
