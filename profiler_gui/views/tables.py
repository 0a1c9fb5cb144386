"""Sortable, filterable tables over pandas DataFrames (operators, kernels, and anything else)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRegularExpression, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QTableView,
                               QVBoxLayout, QWidget)

from analyzers.session import AnalysisSession

from .common import fmt_num, note_label

SORT_ROLE = Qt.UserRole + 1


class DataFrameModel(QAbstractTableModel):
    """Read-only Qt model over a DataFrame; numeric columns sort numerically (SORT_ROLE)."""

    def __init__(self, df: pd.DataFrame | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._df = pd.DataFrame()
        self._n = self._ncols = 0
        self._values: list[np.ndarray] = []
        self._numeric: list[bool] = []
        self.set_frame(df if df is not None else pd.DataFrame())

    def set_frame(self, df: pd.DataFrame) -> None:
        self.beginResetModel()
        self._df = df.reset_index(drop=True)
        self._n, self._ncols = len(self._df), len(self._df.columns)
        self._values = [self._df[c].to_numpy() for c in self._df.columns]
        self._numeric = [pd.api.types.is_numeric_dtype(self._df[c]) and not pd.api.types.is_bool_dtype(self._df[c])
                         for c in self._df.columns]
        self.endResetModel()

    def frame(self) -> pd.DataFrame:
        return self._df

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._ncols

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v = self._values[index.column()][index.row()]
        if role == Qt.DisplayRole:
            if isinstance(v, (np.floating, float)):
                return fmt_num(float(v))
            if isinstance(v, (np.integer,)):
                return fmt_num(int(v))
            return "" if v is None else str(v)
        if role == SORT_ROLE:
            if self._numeric[index.column()]:
                f = float(v)
                return -math.inf if math.isnan(f) else f
            return "" if v is None else str(v).lower()
        if role == Qt.ToolTipRole:
            return None if v is None else str(v)
        if role == Qt.TextAlignmentRole and self._numeric[index.column()]:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if role != Qt.DisplayRole:
            return None
        if orientation == Qt.Horizontal:
            return str(self._df.columns[section])
        return str(section + 1)

    def row_dict(self, row: int) -> dict[str, Any]:
        return {str(c): self._values[i][row] for i, c in enumerate(self._df.columns)}


class FilterProxy(QSortFilterProxyModel):
    """Case-insensitive substring filter over every text column."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.setFilterKeyColumn(-1)


class TableView(QWidget):
    """A filter box, an optional toggle and a sortable table; emits rowActivated(row dict)."""

    rowActivated = Signal(dict)
    toggled = Signal(bool)

    def __init__(self, title: str = "", toggle_text: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.title = QLabel(f"<b>{title}</b>") if title else None
        if self.title:
            bar.addWidget(self.title)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (substring, any column)")
        self.filter.setClearButtonEnabled(True)
        bar.addWidget(self.filter, 1)
        self.toggle: QCheckBox | None = None
        if toggle_text:
            self.toggle = QCheckBox(toggle_text)
            self.toggle.toggled.connect(self.toggled)
            bar.addWidget(self.toggle)
        self.count_label = QLabel("")
        bar.addWidget(self.count_label)
        lay.addLayout(bar)
        self.note = note_label("")
        self.note.hide()
        lay.addWidget(self.note)
        self.model = DataFrameModel()
        self.proxy = FilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(False)
        self.view.horizontalHeader().setResizeContentsPrecision(60)  # size columns from the first rows only
        self.view.setWordWrap(False)
        lay.addWidget(self.view, 1)
        self.filter.textChanged.connect(self._on_filter)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self.view.activated.connect(lambda idx: self._emit(idx))

    def set_frame(self, df: pd.DataFrame | None, note: str = "") -> None:
        self.model.set_frame(df if df is not None else pd.DataFrame())
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.view.sortByColumn(-1, Qt.AscendingOrder)
        header = self.view.horizontalHeader()
        if self.model.columnCount():
            header.setSectionResizeMode(QHeaderView.Interactive)
            fm = self.view.fontMetrics()
            sample = min(self.model.rowCount(), 40)
            for c in range(self.model.columnCount()):
                texts = [str(self.model.headerData(c, Qt.Horizontal))]
                texts += [self.model.data(self.model.index(r, c)) or "" for r in range(sample)]
                width = max(fm.horizontalAdvance(t) for t in texts) + 24
                header.resizeSection(c, min(max(width, 70), 520))
        self._update_count()

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterRegularExpression(
            QRegularExpression(QRegularExpression.escape(text), QRegularExpression.CaseInsensitiveOption))
        self._update_count()

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.proxy.rowCount():,} of {self.model.rowCount():,} rows")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._emit(current)

    def _emit(self, index: QModelIndex) -> None:
        if index.isValid():
            src = self.proxy.mapToSource(index)
            self.rowActivated.emit(self.model.row_dict(src.row()))

    def select_source_row(self, row: int) -> None:
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            self.view.setCurrentIndex(idx)

    def frame(self) -> pd.DataFrame:
        return self.model.frame()

    def visible_frame(self) -> pd.DataFrame:
        """The rows as filtered and sorted on screen (for CSV export)."""
        rows = [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
        return self.model.frame().iloc[rows]


class _RankTable(TableView):
    """A table of one rank's analysis; a failed analysis shows its message instead of rows."""

    def __init__(self, title: str, toggle_text: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(title, toggle_text=toggle_text, parent=parent)
        self.session: AnalysisSession | None = None
        self.rank: int | None = None

    def set_theme(self, theme: Any) -> None:
        pass

    def show_rank(self, session: AnalysisSession, rank: int) -> None:
        self.session, self.rank = session, rank
        frame, err = self.table_of(session, rank)
        self.set_frame(frame, note=err or self.empty_note(session, rank, frame))

    def table_of(self, session: AnalysisSession, rank: int) -> tuple[pd.DataFrame | None, str | None]:
        raise NotImplementedError

    def empty_note(self, session: AnalysisSession, rank: int, frame: pd.DataFrame | None) -> str:
        return ""


class OperatorsView(_RankTable):
    """Operators of the shown rank, by name or by name and input shapes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Operators", toggle_text="Group by input shape", parent=parent)
        self.toggled.connect(lambda _checked: self.session is not None and self.show_rank(self.session, self.rank))

    def table_of(self, session: AnalysisSession, rank: int) -> tuple[pd.DataFrame | None, str | None]:
        group = "name+shapes" if self.toggle is not None and self.toggle.isChecked() else "name"
        return session.rank(rank).try_get("op_table", group)


class KernelsView(_RankTable):
    """GPU kernels of the shown rank."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Kernels", parent=parent)

    def table_of(self, session: AnalysisSession, rank: int) -> tuple[pd.DataFrame | None, str | None]:
        return session.rank(rank).try_get("kernel_table")

    def empty_note(self, session: AnalysisSession, rank: int, frame: pd.DataFrame | None) -> str:
        return "" if session.rank(rank).model.has_gpu else "CPU-only trace: no kernels."
