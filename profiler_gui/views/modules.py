"""The Modules tab: the nn.Module tree (per step) as a tree table and an icicle chart.

Reads ``session.rank(r).module_tree`` (:mod:`analyzers.module_tree`).  Selecting a
module in either selects it in the other and emits ``rowActivated(row)`` with the
trace row of its longest call, which the window selects in the timeline.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from analyzers.session import AnalysisSession

from .common import fmt_num, note_label
from .compiled import CompiledPanel
from .icicle import ROW_PX, IcicleWidget

HEADERS = ["module", "calls/step", "host total ms", "host self ms", "device total ms", "device self ms",
           "GFLOP/step", "TFLOP/s", "bwd host ms", "bwd device ms", "bwd GFLOP"]
SORT_ROLE = Qt.UserRole + 1


class _Item(QTreeWidgetItem):
    """Sorts numeric columns by value, not text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        a, b = self.data(col, SORT_ROLE), other.data(col, SORT_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(self.text(col)).lower() < str(other.text(col)).lower()


def icicle_x(parent: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Left edges: children side by side from their parent's left edge, in table order (parents first)."""
    x = np.zeros(len(parent))
    next_left: dict[int, float] = {}
    for i, p in enumerate(parent):
        p = int(p)
        left = next_left.get(p, x[p] if p >= 0 else 0.0)
        x[i] = left
        next_left[p] = left + float(width[i])
    return x


class ModulesView(QWidget):
    """Tree table on top, icicle chart of host time below."""

    rowActivated = Signal(int)  # trace row of the module's longest call

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table: Any = None
        self.items: list[QTreeWidgetItem] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel("<b>Modules</b> (per step; click to select in the timeline)")
        lay.addWidget(self.title)
        self.note = note_label("")
        self.note.hide()
        lay.addWidget(self.note)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(HEADERS)
        self.tree.setSortingEnabled(True)
        self.tree.setUniformRowHeights(True)
        self.chart = IcicleWidget()
        self.compiled = CompiledPanel()
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.chart)
        split.addWidget(self.compiled)
        split.setSizes([450, 220, 180])
        lay.addWidget(split, 1)
        self.tree.itemClicked.connect(lambda item, _col: self._tree_clicked(item))
        self.chart.nodeClicked.connect(self.select_module)
        self.compiled.rowActivated.connect(self.rowActivated)

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        self.compiled.show_rank(session, rank)
        tree, err = session.rank(rank).try_get("module_tree")
        self.tree.clear()
        self.items = []
        self.table = None
        if err is not None or tree is None or tree.empty:
            text = err or ("No nn.Module calls in this trace: record with with_stack=True (the collector's default)."
                           if tree is None or not tree.has_stacks else "No nn.Module calls inside the steps.")
            self.note.setText(text)
            self.note.show()
            self.chart.set_nodes([], *([[]] * 3))
            return
        self.note.hide()
        self.table = tree.table
        self._fill(tree)
        width = tree.table["host_total_ns"].to_numpy(dtype=float)
        parent = tree.table["parent"].to_numpy()
        self.chart.set_nodes(tree.table["name"].tolist(), icicle_x(parent, width), width, tree.table["depth"].to_numpy())
        self.chart.setMinimumHeight((int(tree.table["depth"].max()) + 1) * ROW_PX)
        cover = tree.roots_cover_pct()
        self.title.setText("<b>Modules</b> (per step; click to select in the timeline)"
                           + (f": top-level modules cover {cover:.1f} % of the step" if not math.isnan(cover) else ""))

    def _fill(self, tree: Any) -> None:
        t, n = tree.table, max(tree.steps, 1)
        self.tree.setSortingEnabled(False)
        for i in range(len(t)):
            r = t.iloc[i]
            values = [r["name"], r["calls"] / n, r["host_total_ns"] / n / 1e6, r["host_self_ns"] / n / 1e6,
                      r["device_total_ns"] / n / 1e6, r["device_self_ns"] / n / 1e6, r["flop_total"] / n / 1e9,
                      float(r["tflops"]), r["bwd_host_total_ns"] / n / 1e6, r["bwd_device_total_ns"] / n / 1e6,
                      r["bwd_flop_total"] / n / 1e9]
            p = int(r["parent"])
            item = _Item(self.items[p]) if p >= 0 else _Item(self.tree)
            for c, v in enumerate(values):
                item.setText(c, v if c == 0 else fmt_num(float(v)))
                item.setData(c, SORT_ROLE, v if c == 0 else (-1.0 if math.isnan(float(v)) else float(v)))
                if c:
                    item.setTextAlignment(c, Qt.AlignRight | Qt.AlignVCenter)
            item.setData(0, Qt.UserRole, i)
            item.setToolTip(0, str(r["path"]))
            self.items.append(item)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(2, Qt.DescendingOrder)  # the heaviest modules first, at every level
        gpu = bool(t["device_total_ns"].sum() > 0)
        bwd = bool(t["bwd_host_total_ns"].sum() > 0)
        for col, shown in ((4, gpu), (5, gpu), (8, bwd), (9, bwd and gpu), (10, bwd)):
            self.tree.setColumnHidden(col, not shown)
        self.tree.expandToDepth(2)
        for col in range(len(HEADERS)):
            self.tree.resizeColumnToContents(col)

    def _tree_clicked(self, item: QTreeWidgetItem) -> None:
        self.select_module(int(item.data(0, Qt.UserRole)))

    def select_module(self, index: int) -> None:
        """Select module ``index`` (a row of the module table) in the tree and chart; emit its longest call's row."""
        if self.table is None or not 0 <= index < len(self.items):
            return
        item = self.items[index]
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)
        self.chart.select(index)
        self.rowActivated.emit(int(self.table["longest_row"].iloc[index]))

    def set_theme(self, t: Any) -> None:
        self.chart.set_colours(t.base, t.text, t.highlight)
