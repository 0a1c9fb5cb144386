"""The Tune window: 'Find the best fix' runs ``collectors.tune`` in a worker and shows it live.

A forest plot (one row per candidate: its speedup and 95 % CI, the no-effect
band shaded, 1x marked) narrows as rounds come in; the table ranks the
candidates with verdicts and reasons; the current leader and, at the end, the
recommended settings with their code.  Cancel stops the tune and keeps what was
measured; "Open A/B" compares the baseline bundle with the selected candidate's.
The tune runs in a :class:`workers.Task` thread; updates cross to the GUI
thread as plain dicts through a queued signal, so the window never freezes.
"""
from __future__ import annotations

import copy
import threading
from typing import Any, Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .views.common import code_box
from .workers import Task

COLUMNS = ("candidate", "speedup", "95% CI", "rounds", "verdict", "why")
VERDICT_COLOURS = {"faster": (46, 160, 67), "slower": (207, 34, 46), "no effect": (130, 130, 130),
                   "running": (31, 111, 235), "failed": (154, 103, 0)}
X_LIMITS = (0.25, 4.0)  # an interval wider than this is drawn clipped (few rounds: very wide)


class _Relay(QObject):
    """Carries snapshots from the tune thread to the GUI thread (queued connection)."""

    updated = Signal(object)


def _label(entry: dict[str, Any]) -> str:
    from analyzers.knobs import format_assignment
    return " ".join(format_assignment(k, v) for k, v in (entry.get("settings") or {}).items())


class TuneWindow(QWidget):
    """Live view of one tune; ``start`` begins it, ``cancel`` stops it keeping the measurements."""

    openAB = Signal(str, str)  # baseline bundle, candidate bundle
    finished = Signal(str)  # the tune's status: ok, cancelled, failed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Find the best fix")
        self.snapshot: dict[str, Any] | None = None
        self.updates = 0
        self.status = "idle"
        self.error = ""
        self.task: Task | None = None
        self.cancel_event = threading.Event()
        self.band = 0.02
        self.rows: list[dict[str, Any]] = []
        self.forest_rows = 0
        self.relay = _Relay(self)
        self.relay.updated.connect(self.show_snapshot)
        self._build()

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        lay.addWidget(self.header)
        split = QSplitter(Qt.Vertical)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "speedup (baseline / candidate), 95 % CI")
        self.plot.setMouseEnabled(x=False, y=False)
        split.addWidget(self.plot)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        split.addWidget(self.table)
        lay.addWidget(split, 1)
        self.leader = QLabel("")
        lay.addWidget(self.leader)
        self.recommended = code_box(140)
        lay.addWidget(self.recommended)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel (keep what is measured)")
        self.cancel_button.clicked.connect(self.cancel)
        self.ab_button = QPushButton("Open A/B")
        self.ab_button.setEnabled(False)
        self.ab_button.clicked.connect(self._open_ab)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.ab_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.resize(1000, 760)

    # -- running ---------------------------------------------------------------------------------
    def start(self, workload: str, base: dict[str, Any], out_dir: str, config: Any = None, *,
              candidates: list[str] | None = None, workload_args: list[str] | None = None, device: str = "auto",
              runner: Callable[..., Any] | None = None) -> Task:
        """Run the tune in a worker thread; snapshots arrive through ``show_snapshot``."""
        from collectors.tune import TuneConfig, run_tune
        from collectors.tune_report import to_json
        cfg = config or TuneConfig()
        self.header.setText(f"<b>{workload}</b>: baseline {base or 'defaults'}; budget {cfg.budget_s:.0f} s; "
                            f"runs kept under {out_dir}")
        self.status, self.cancel_event, self.band = "running", threading.Event(), cfg.band
        kwargs: dict[str, Any] = {"candidates": candidates, "workload_args": workload_args or (), "device": device}
        if runner is not None:
            kwargs["runner"] = runner

        def work(progress: Any, cancel: Any) -> dict[str, Any]:
            result = run_tune(workload, base, out_dir, cfg, cancel=self.cancel_event,
                              on_update=lambda r: self.relay.updated.emit(copy.deepcopy(to_json(r))), **kwargs)
            return copy.deepcopy(to_json(result))

        self.task = Task("tune", work, self)
        self.task.done.connect(self._done)
        self.task.failed.connect(self._failed)
        self.cancel_button.setEnabled(True)
        return self.task.start()

    def cancel(self) -> None:
        """Stop the tune after the run in progress is killed; the table keeps what was measured."""
        self.cancel_event.set()
        self.cancel_button.setEnabled(False)
        self.leader.setText("Cancelling: the run in progress is stopped...")

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Closing the window stops the tune (the run in progress is killed)."""
        if self.status == "running":
            self.cancel()
        super().closeEvent(event)

    def _done(self, snapshot: dict[str, Any]) -> None:
        self.show_snapshot(snapshot)
        self.status = snapshot.get("status", "ok")
        self.cancel_button.setEnabled(False)
        self.finished.emit(self.status)

    def _failed(self, message: str) -> None:
        self.status, self.error = "failed", message
        self.leader.setText(f"Tune failed: {message}")
        self.cancel_button.setEnabled(False)
        self.finished.emit("failed")

    # -- showing ---------------------------------------------------------------------------------
    def show_snapshot(self, snap: dict[str, Any]) -> None:
        """Redraw table, forest plot, leader and recommendation from one snapshot (GUI thread)."""
        self.snapshot = snap
        self.updates += 1
        rows = list(snap.get("candidates") or [])
        if snap.get("stack"):
            rows.append({**snap["stack"], "knob": "stack", "source": "stack"})
        self._fill_table(rows)
        self._draw_forest([r for r in rows if r.get("speedup") is not None])
        measured = [r for r in rows if r.get("speedup") is not None and r.get("verdict") != "failed"]
        if measured:
            best = max(measured, key=lambda r: r["speedup"])
            self.leader.setText(f"Current leader: {_label(best)} {best['speedup']:.2f}x "
                                f"[{best['ci_low']:.2f}, {best['ci_high']:.2f}] after {best['rounds']} rounds"
                                + ("" if snap.get("status") == "running" else f"  ({snap.get('status')})"))
        self._show_recommended(snap)

    def _fill_table(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            sp = f"{r['speedup']:.2f}x" if r.get("speedup") is not None else "-"
            ci = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]" if r.get("ci_low") is not None else "-"
            values = (_label(r) + (" (stack)" if r.get("source") == "stack" else ""), sp, ci, str(r.get("rounds", 0)),
                      str(r.get("verdict", "")), str(r.get("reason", "")))
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()

    def _draw_forest(self, rows: list[dict[str, Any]]) -> None:
        self.plot.clear()
        self.forest_rows = len(rows)
        band = self.band
        self.plot.addItem(pg.LinearRegionItem((1 - band, 1 + band), movable=False,
                                              brush=pg.mkBrush(128, 128, 128, 40)))
        self.plot.addItem(pg.InfiniteLine(pos=1.0, angle=90, pen=pg.mkPen((128, 128, 128), style=Qt.DashLine)))
        lo_x, hi_x = X_LIMITS
        for i, r in enumerate(rows):
            colour = VERDICT_COLOURS.get(r.get("verdict", ""), (31, 111, 235))
            s = float(r["speedup"])
            lo, hi = max(float(r["ci_low"]), lo_x), min(float(r["ci_high"]), hi_x)
            self.plot.addItem(pg.PlotDataItem([lo, hi], [i, i], pen=pg.mkPen(colour, width=3)))
            self.plot.addItem(pg.ScatterPlotItem([min(max(s, lo_x), hi_x)], [i], size=10, brush=pg.mkBrush(colour)))
        self.plot.getAxis("left").setTicks([[(i, _label(r)) for i, r in enumerate(rows)]])
        highs = [min(float(r["ci_high"]), hi_x) for r in rows] + [1.2]
        lows = [max(float(r["ci_low"]), lo_x) for r in rows] + [0.8]
        self.plot.setXRange(min(lows) * 0.95, max(highs) * 1.05, padding=0)
        self.plot.setYRange(-0.7, max(len(rows), 1) - 0.3, padding=0)

    def _show_recommended(self, snap: dict[str, Any]) -> None:
        from analyzers.knobs import format_assignment
        if snap.get("status") == "running":
            self.recommended.setPlainText("Measuring... (the recommendation appears when the tune ends)")
            return
        rec = snap.get("recommended") or {}
        if not rec:
            self.recommended.setPlainText("Keep the current settings: no candidate was clearly faster.")
            return
        snippets = {(c["knob"], str(c["value"])): c.get("snippet", "") for c in snap.get("candidates") or []}
        lines = ["Recommended: " + " ".join(format_assignment(k, v) for k, v in rec.items())]
        for k, v in rec.items():
            code = snippets.get((k, str(v)), "")
            if code:
                lines += ["", f"# {format_assignment(k, v)}", code]
        lines += [f"note: {n}" for n in snap.get("notes") or []]
        self.recommended.setPlainText("\n".join(lines))

    def _selection_changed(self) -> None:
        self.ab_button.setEnabled(self._selected_bundles() is not None)

    def _selected_bundles(self) -> tuple[str, str] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or self.snapshot is None or rows[0].row() >= len(self.rows):
            return None
        r = self.rows[rows[0].row()]
        base = (self.snapshot.get("baseline") or {}).get("bundle")
        bundles = r.get("bundles") or []
        return (base, bundles[0]) if base and bundles else None

    def _open_ab(self) -> None:
        pair = self._selected_bundles()
        if pair is not None:
            self.openAB.emit(*pair)
