"""torch.compile panel (in the Modules tab): compiled regions with the kernels they ran, graph breaks, recompiles.

Reads ``session.rank(r).compiled_regions`` (:mod:`analyzers.compiled_regions`);
clicking a region emits ``rowActivated`` with the trace row of its first call.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from analyzers.session import AnalysisSession

from .common import fmt_num

HEADERS = ["region / kernel", "calls", "host ms", "device ms", "kernel calls"]


class CompiledPanel(QWidget):
    """A summary line and a tree: region -> kernels; hidden when the trace has no compiled regions."""

    rowActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.regions: Any = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(HEADERS)
        lay.addWidget(self.tree, 1)
        self.tree.itemClicked.connect(self._clicked)

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        cr, err = session.rank(rank).try_get("compiled_regions")
        self.tree.clear()
        self.regions = None
        if err is not None:
            self.summary.setText(err)
            self.setVisible(True)
            return
        self.setVisible(bool(cr is not None and cr.present))
        if cr is None or not cr.present:
            return
        self.regions = cr.regions
        recompiled = ", ".join(map(str, cr.recompiled_frames)) or "none"
        self.summary.setText(
            f"<b>torch.compile</b>: {len(cr.regions)} compiled region(s), {cr.graph_breaks_per_step:.0f} graph "
            f"break(s) per step, recompiled frames: {recompiled}, {cr.compile_ns / 1e6:,.1f} ms compiling "
            "in the trace")
        for i, r in cr.regions.iterrows():
            item = QTreeWidgetItem(self.tree, [f"Torch-Compiled Region {r['region']}", fmt_num(int(r["calls"])),
                                               fmt_num(r["host_total_ns"] / 1e6), fmt_num(r["device_ns"] / 1e6),
                                               fmt_num(int(r["kernel_calls"]))])
            item.setData(0, Qt.UserRole, int(i))
            for _, k in cr.kernels[cr.kernels["region"] == r["region"]].iterrows():
                QTreeWidgetItem(item, [str(k["kernel"]), fmt_num(int(k["calls"])), "", fmt_num(k["total_ns"] / 1e6), ""])
        self.tree.expandToDepth(0)
        self.tree.resizeColumnToContents(0)

    def _clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        top = item if item.parent() is None else item.parent()
        i = top.data(0, Qt.UserRole)
        if self.regions is not None and i is not None:
            self.rowActivated.emit(int(self.regions["first_row"].iloc[int(i)]))
