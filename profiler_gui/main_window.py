"""The TorchScope main window: start page, tabs, menus, status-bar progress, background tasks."""
from __future__ import annotations

import os
import tempfile
import traceback
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QLabel, QMainWindow, QProgressBar, QPushButton,
                               QStackedWidget, QTabWidget, QToolBar, QVBoxLayout, QWidget)

from . import theme as theme_mod
from .analysis import Analysis, analyze, compare_analyses, models_for_rank
from .settings import Settings
from .views.common import Banner
from .views.compare import CompareView
from .views.findings import FindingsView
from .views.memory import MemoryView
from .views.overview import OverviewView
from .views.start_page import StartPage
from .views.tables import TableView
from .views.timeline_host import TimelineHost
from .workers import Task, load_task, run_ab_and_load, run_workload_and_load

TRACE_FILTER = "PyTorch traces (*.json *.json.gz *.pt.trace.json *.pt.trace.json.gz);;All files (*)"
TIMELINE_KEYS = ("w", "a", "s", "d", "f", "/")
RUN_DIR = os.path.join(tempfile.gettempdir(), "torchscope-runs")
AB_ROUNDS = 2  # interleaved A/B rounds for 'Apply fix & rerun' (each round: one A child, one B child)


class MainWindow(QMainWindow):
    """Holds trace A (and B for comparisons); every heavy job runs in a Task."""

    analysisLoaded = Signal(object)  # Analysis (A)
    comparisonReady = Signal(object)  # compare dict
    taskFinished = Signal(str)  # 'done' | 'failed' | 'cancelled'

    TABS = ("overview", "timeline", "operators", "kernels", "memory", "findings", "compare")

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.analysis: Analysis | None = None
        self.analysis_b: Analysis | None = None
        self.comparison: dict[str, Any] | None = None
        self.analysis_a_run: Analysis | None = None  # A's bundle of the last A/B run
        self.task: Task | None = None
        self.last_error: str | None = None
        self.setWindowTitle("TorchScope")
        self.setAcceptDrops(True)
        self.resize(1400, 900)

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.banner = Banner()
        lay.addWidget(self.banner)
        self.stack = QStackedWidget()
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.start_page = StartPage()
        self.stack.addWidget(self.start_page)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.stack.addWidget(self.tabs)
        self.overview = OverviewView()
        self.timeline = TimelineHost()
        self.ops_view = TableView("Operators", toggle_text="Group by input shape")
        self.kernels_view = TableView("Kernels")
        self.memory_view = MemoryView()
        self.findings_view = FindingsView()
        self.compare_view = CompareView()
        for view, label in ((self.overview, "Overview"), (self.timeline, "Timeline"), (self.ops_view, "Operators"),
                            (self.kernels_view, "Kernels"), (self.memory_view, "Memory"),
                            (self.findings_view, "Findings"), (self.compare_view, "Compare")):
            self.tabs.addTab(view, label)

        # status bar: message, progress, cancel
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_task)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self._set_busy(False)

        # rank selector: only shown for traces with more than one rank
        self.rank_toolbar = QToolBar("Rank")
        self.rank_toolbar.setObjectName("rank_toolbar")
        self.rank_toolbar.setMovable(False)
        self.rank_toolbar.addWidget(QLabel(" Rank: "))
        self.rank_combo = QComboBox()
        self.rank_combo.setToolTip("Show this rank in Overview, Timeline, Operators, Kernels, Memory and Findings")
        self.rank_combo.activated.connect(lambda i: self.select_rank(int(self.rank_combo.itemData(i))))
        self.rank_toolbar.addWidget(self.rank_combo)
        self.addToolBar(Qt.TopToolBarArea, self.rank_toolbar)
        self.rank_toolbar.setVisible(False)

        self._build_menus()
        self._build_shortcuts()
        self._connect()
        self.start_page.set_recent(self.settings.recent())
        self.theme_name = self.settings.theme()
        self.apply_theme(self.theme_name)
        geo, state = self.settings.geometry(), self.settings.state()
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state)
        self.rank_toolbar.setVisible(False)  # restoreState must not show it without a multi-rank trace

    # ------------------------------------------------------------------ construction
    def _build_menus(self) -> None:
        mb = self.menuBar()
        fm = mb.addMenu("&File")
        self.act_open = fm.addAction("&Open trace...", self.open_dialog)
        self.act_open.setShortcut(QKeySequence.Open)
        self.act_open_folder = fm.addAction("Open &folder (TensorBoard logs, ranks, run bundle)...", self.open_folder_dialog)
        self.recent_menu = fm.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.act_compare = fm.addAction("&Compare with...", self.compare_dialog)
        self.act_profile = fm.addAction("&Profile a workload...", self.profile_dialog)
        fm.addSeparator()
        em = fm.addMenu("&Export")
        self.act_export_html = em.addAction("Report as &HTML...", lambda: self.export_report_dialog("html"))
        self.act_export_md = em.addAction("Report as &Markdown...", lambda: self.export_report_dialog("md"))
        self.act_export_ops = em.addAction("&Operators table as CSV...", lambda: self.export_csv_dialog("operators"))
        self.act_export_kernels = em.addAction("&Kernels table as CSV...", lambda: self.export_csv_dialog("kernels"))
        self.act_export_png = em.addAction("&Timeline as PNG...", self.export_png_dialog)
        self.export_menu = em
        fm.addSeparator()
        self.act_close = fm.addAction("Close trace", self.show_start_page)
        self.act_quit = fm.addAction("&Quit", self.close)
        self.act_quit.setShortcut(QKeySequence("Ctrl+Q"))
        vm = mb.addMenu("&View")
        vm.addAction("Start page", self.show_start_page)
        vm.addSeparator()
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, label in (("light", "Light theme"), ("dark", "Dark theme")):
            act = QAction(label, self, checkable=True)
            act.triggered.connect(lambda _=False, n=name: self.apply_theme(n))
            group.addAction(act)
            vm.addAction(act)
            self.theme_actions[name] = act
        vm.addSeparator()
        for i, name in enumerate(self.TABS):
            act = vm.addAction(name.capitalize(), lambda i=i: self.show_tab(self.TABS[i]))
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
        hm = mb.addMenu("&Help")
        hm.addAction("Keyboard shortcuts", self._show_shortcuts)
        self._update_actions()

    def _build_shortcuts(self) -> None:
        self.timeline_shortcuts = []
        for key in TIMELINE_KEYS:
            sc = QShortcut(QKeySequence(key.upper() if key != "/" else "/"), self)
            sc.setContext(Qt.WindowShortcut)
            sc.activated.connect(lambda k=key: self.timeline_key(k))
            self.timeline_shortcuts.append(sc)

    def _connect(self) -> None:
        sp = self.start_page
        sp.openPath.connect(self.open_path)
        sp.openDialog.connect(self.open_dialog)
        sp.profileDialog.connect(self.profile_dialog)
        self.overview.findingActivated.connect(self._overview_finding)
        self.findings_view.showInTimeline.connect(self.show_finding_in_timeline)
        self.findings_view.applyFix.connect(self.apply_fix_and_rerun)
        self.ops_view.rowActivated.connect(lambda r: self.jump_to_name(r.get("name")))
        self.kernels_view.rowActivated.connect(lambda r: self.jump_to_name(r.get("name")))
        self.ops_view.toggled.connect(self._ops_group_toggled)

    # ------------------------------------------------------------------ theme, layout, shortcuts
    def apply_theme(self, name: str) -> None:
        app = QApplication.instance()
        t = theme_mod.apply(app, name) if app is not None else theme_mod.get(name)
        self.theme_name = t.name
        self.theme = t
        self.settings.set_theme(t.name)
        self.theme_actions[t.name].setChecked(True)
        for v in (self.overview, self.memory_view, self.compare_view):
            v.set_theme(t)
        self.timeline.set_theme(t.name)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.settings.save_layout(self.saveGeometry(), self.saveState())
        self.settings.sync()
        if self.task is not None and self.task.is_running():
            self.task.cancel()
        super().closeEvent(event)

    def timeline_key(self, key: str) -> None:
        if self.analysis is None:
            return
        self.show_tab("timeline")
        self.timeline.focus_timeline()
        self.timeline.forward_key(key)

    def _show_shortcuts(self) -> None:
        self.banner.show_message("W/S zoom in/out, A/D pan, F fit the selection, / search (all go to the timeline); "
                                 "Ctrl+O open, Ctrl+Q quit, Ctrl+1..7 switch tabs.", "info", self._banner_colours())

    def _banner_colours(self) -> dict[str, str]:
        t = getattr(self, "theme", theme_mod.LIGHT)
        return {"error": t.banner_error, "info": t.banner_info}

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.banner.show_message(message, "error", self._banner_colours())
        self.status_label.setText("Error: " + message[:160])

    def show_info(self, message: str) -> None:
        self.banner.show_message(message, "info", self._banner_colours())

    def show_tab(self, name: str) -> None:
        if self.analysis is None and name != "compare":
            return
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(self.TABS.index(name))

    def current_tab(self) -> str:
        return self.TABS[self.tabs.currentIndex()] if self.stack.currentWidget() is self.tabs else "start"

    def show_start_page(self) -> None:
        self.start_page.set_recent(self.settings.recent())
        self.stack.setCurrentWidget(self.start_page)

    def _update_actions(self) -> None:
        has = self.analysis is not None
        for act in (self.act_compare, self.act_export_html, self.act_export_md, self.act_export_ops,
                    self.act_export_kernels, self.act_export_png, self.act_close):
            act.setEnabled(has)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.recent():
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))
        if not self.settings.recent():
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", self.settings.clear_recent)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    # ------------------------------------------------------------------ tasks
    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setValue(0)
            self.status_label.setText(message)

    def is_busy(self) -> bool:
        return self.task is not None and self.task.is_running()

    def start_task(self, task: Task, on_done: Any, message: str) -> Task:
        if self.is_busy():
            self.task.cancel()  # the newest request wins
        self.task = task
        task.setParent(self)
        task.progress.connect(self._on_progress)
        task.done.connect(lambda result: self._task_done(task, on_done, result))
        task.failed.connect(lambda msg: self._task_failed(task, msg))
        task.cancelled.connect(lambda: self._task_cancelled(task))
        self.banner.hide()
        self._set_busy(True, message)
        task.start()
        return task

    def _on_progress(self, message: str, fraction: float) -> None:
        if self.sender() is not self.task:
            return
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.status_label.setText(message)

    def _task_done(self, task: Task, on_done: Any, result: Any) -> None:
        if task is not self.task:
            return
        self._set_busy(False)
        try:
            on_done(result)
        except Exception as exc:  # noqa: BLE001 - a view bug shows as a message
            traceback.print_exc()
            self.show_error(f"internal error while showing the result ({type(exc).__name__}: {exc})")
            self.taskFinished.emit("failed")
            return
        self.taskFinished.emit("done")

    def _task_failed(self, task: Task, message: str) -> None:
        if task is not self.task:
            return
        self._set_busy(False)
        self.show_error(f"{task.title.capitalize()} failed: {message}")
        self.taskFinished.emit("failed")

    def _task_cancelled(self, task: Task) -> None:
        if task is not self.task:
            return
        self._set_busy(False)
        self.status_label.setText(f"{task.title.capitalize()} cancelled.")
        self.taskFinished.emit("cancelled")

    def cancel_task(self) -> None:
        if self.task is not None and self.task.is_running():
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling...")

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open trace", self.settings.last_dir(), TRACE_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_dir())
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> Task:
        """Load ``path`` in the background and show it as trace A."""
        self.settings.set_last_dir(os.path.dirname(os.path.abspath(path)))
        return self.start_task(load_task(path), lambda a: self.set_analysis(a, remember=True),
                               f"Opening {os.path.basename(path.rstrip(os.sep))}...")

    def set_analysis(self, a: Analysis, remember: bool = False, keep_tab: bool = False) -> None:
        self.analysis = a
        if remember:
            self.settings.add_recent(a.path)
            self.start_page.set_recent(self.settings.recent())
        self.setWindowTitle(f"TorchScope - {os.path.basename(a.path.rstrip(os.sep))}")
        self.overview.set_analysis(a)
        self.timeline.set_model(a.model, a.timeline_data)
        self.ops_view.set_frame(self._ops_frame(), note=self._table_note("ops"))
        self.kernels_view.set_frame(a.kernels, note=self._table_note("kernels"))
        self.memory_view.set_analysis(a)
        self.findings_view.set_analysis(a)
        self._update_actions()
        self._update_rank_selector(a)
        self.stack.setCurrentWidget(self.tabs)
        if not keep_tab:
            self.tabs.setCurrentIndex(0)
        m = a.model
        rank_txt = f", showing rank {a.current_rank}" if len(a.models) > 1 else ""
        self.status_label.setText(f"{a.path}: {len(m):,} slices, {len(a.models)} rank(s){rank_txt}, "
                                  f"{len(a.findings)} finding(s)")
        if not m.has_gpu:
            self.show_info("CPU-only trace: no GPU kernels were recorded; GPU views are empty.")
        self.analysisLoaded.emit(a)

    # ------------------------------------------------------------------ ranks
    def _update_rank_selector(self, a: Analysis) -> None:
        ranks = a.ranks
        self.rank_combo.blockSignals(True)
        self.rank_combo.clear()
        slowest = (a.distributed or {}).get("slowest_rank")
        for r in ranks:
            self.rank_combo.addItem(f"rank {r}" + (" (slowest)" if r == slowest and len(ranks) > 1 else ""), r)
        idx = self.rank_combo.findData(a.current_rank)
        self.rank_combo.setCurrentIndex(max(idx, 0))
        self.rank_combo.blockSignals(False)
        self.rank_toolbar.setVisible(len(ranks) > 1)

    def select_rank(self, rank: int) -> Task | None:
        """Show ``rank`` in every per-rank view (its tables are computed in the worker)."""
        a = self.analysis
        if a is None or len(a.models) < 2 or rank == a.current_rank:
            return None
        try:
            models = models_for_rank(a.models, rank)
        except ValueError as exc:
            self.show_error(str(exc))
            return None
        path = a.path

        def work(progress: Any, cancel: Any) -> Analysis:
            return analyze(path, models, progress, cancel)

        task = self.start_task(Task("rank switch", work), lambda new: self.set_analysis(new, keep_tab=True),
                               f"Switching to rank {rank}...")
        # failed or cancelled: the selector goes back to the rank still shown
        task.finished.connect(lambda: self.analysis is not None and self._update_rank_selector(self.analysis))
        return task

    def _table_note(self, name: str) -> str:
        a = self.analysis
        if a is None:
            return ""
        if name in a.unavailable:
            return a.unavailable[name]
        if name == "kernels" and not a.model.has_gpu:
            return "CPU-only trace: no kernels."
        return ""

    def _ops_frame(self) -> Any:
        a = self.analysis
        if a is None:
            return None
        toggle = self.ops_view.toggle
        return a.ops_by_shape if toggle is not None and toggle.isChecked() and a.ops_by_shape is not None else a.ops

    def _ops_group_toggled(self, _checked: bool) -> None:
        if self.analysis is not None:
            self.ops_view.set_frame(self._ops_frame(), note=self._table_note("ops"))

    # ------------------------------------------------------------------ navigation
    def longest_row(self, name: str | None) -> int | None:
        if self.analysis is None or not name:
            return None
        m = self.analysis.model
        sid = m.string_id(str(name))
        if sid < 0:
            return None
        rows = np.flatnonzero(m.name_id == sid)
        if not len(rows):
            return None
        return int(rows[np.argmax(m.dur_ns[rows])])

    def jump_to_name(self, name: str | None) -> int | None:
        """Select the longest instance of ``name`` in the timeline (tables call this on selection)."""
        row = self.longest_row(name)
        if row is None:
            return None
        m = self.analysis.model
        self.timeline.select_row(row)
        pad = max(int(m.dur_ns[row]) // 2, 1000)
        self.timeline.zoom_to(int(m.start_ns[row]) - pad, int(m.end_ns[row]) + pad)
        return row

    def open_selected_in_timeline(self) -> None:
        self.show_tab("timeline")

    def _overview_finding(self, index: int) -> None:
        self.show_tab("findings")
        self.findings_view.select(index)

    def show_finding_in_timeline(self, index: int) -> None:
        if self.analysis is None or not 0 <= index < len(self.analysis.findings):
            return
        f = self.analysis.findings[index]
        ranges = list(getattr(f, "evidence_ranges", []) or [])
        rows = [int(r) for r in (getattr(f, "evidence_rows", []) or [])]
        self.timeline.highlight_rows(rows)
        self.timeline.highlight_ranges(ranges)
        if rows:
            self.timeline.select_row(rows[0])
        self.show_tab("timeline")

    # ------------------------------------------------------------------ compare
    def compare_dialog(self) -> None:
        if self.analysis is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Compare with (B)", self.settings.last_dir(), TRACE_FILTER)
        if path:
            self.compare_with(path)

    def compare_with(self, path: str) -> Task:
        """Open ``path`` as B and compare it with A (loading and comparing run in the worker)."""
        from .isolated_load import load_and_analyze_auto

        a = self.analysis

        def work(progress: Any, cancel: Any) -> tuple[Analysis, dict[str, Any] | None]:
            b = load_and_analyze_auto(path, progress, cancel)
            progress("comparing A and B", 0.99)
            return b, (compare_analyses(a, b) if a is not None else None)

        return self.start_task(Task("compare", work), lambda res: self.set_comparison_b(*res),
                               f"Opening B: {os.path.basename(path)}...")

    def set_comparison_b(self, b: Analysis, comparison: dict[str, Any] | None = None, ab: Any = None) -> None:
        if self.analysis is None:
            self.set_analysis(b)
            return
        self.analysis_b = b
        self.comparison = comparison if comparison is not None else compare_analyses(self.analysis, b, ab)
        self.compare_view.set_result(self.comparison)
        self.show_tab("compare")
        sp = self.comparison.get("speedup")
        self.status_label.setText(f"Compared A with {b.path}" + (f": {sp:.2f}x" if sp else ""))
        self.comparisonReady.emit(self.comparison)

    # ------------------------------------------------------------------ running workloads
    def profile_dialog(self) -> None:
        from .dialogs.profile_dialog import ProfileDialog

        dlg = ProfileDialog(self)
        if not dlg.exec():
            return
        fix = dlg.ab_fix()
        if fix:
            self.run_ab_compare(dlg.workload_ref(), dlg.settings(), fix, dlg.workload_args(), dlg.run_kwargs(),
                                dlg.out_dir(), dlg.ab_rounds.value())
        else:
            self.profile_workload(dlg.workload_ref(), dlg.settings(), dlg.workload_args(), dlg.run_kwargs(),
                                  dlg.out_dir())

    def profile_workload(self, workload: str, settings: dict[str, Any], workload_args: list[str] | None = None,
                         run_kwargs: dict[str, Any] | None = None, out_dir: str = RUN_DIR) -> Task:
        os.makedirs(out_dir, exist_ok=True)
        task = Task("run", lambda progress, cancel: run_workload_and_load(
            workload, settings, out_dir, workload_args=workload_args, run_kwargs=run_kwargs, progress=progress,
            cancel=cancel))
        return self.start_task(task, lambda a: self.set_analysis(a, remember=True), f"Running {workload}...")

    def rerun_settings(self, finding: Any) -> tuple[str, list[str], dict[str, Any], dict[str, Any]]:
        """(workload, args, the bundle's own settings, run kwargs): side A of 'Apply fix & rerun'."""
        info = self.analysis.model.run_info or {}
        settings = dict(info.get("settings") or {})
        loop = info.get("loop") or {}
        kwargs: dict[str, Any] = {}
        for key in ("warmup_steps", "profile_steps", "timed_steps"):
            if isinstance(loop.get(key), int):
                kwargs[key] = loop[key]
        if info.get("device") in ("cpu", "cuda"):
            kwargs["device"] = info["device"]
        return str(info.get("workload")), [str(x) for x in info.get("workload_args") or []], settings, kwargs

    def apply_fix_and_rerun(self, index: int, out_dir: str = RUN_DIR, rounds: int = AB_ROUNDS) -> Task | None:
        """A/B the finding's knob: A = the bundle's settings, B = + the knob, interleaved; open B and compare."""
        a = self.analysis
        if a is None or not 0 <= index < len(a.findings):
            return None
        f = a.findings[index]
        ok, why = self.findings_view.can_apply(f)
        if not ok:
            self.show_error(why)
            return None
        workload, args, settings, kwargs = self.rerun_settings(f)
        return self.run_ab_compare(workload, settings, {f.knob: f.knob_value}, args, kwargs, out_dir, rounds,
                                   title="rerun", show_a=False)

    def run_ab_compare(self, workload: str, base_settings: dict[str, Any], fix: dict[str, Any],
                       workload_args: list[str] | None = None, run_kwargs: dict[str, Any] | None = None,
                       out_dir: str = RUN_DIR, rounds: int = AB_ROUNDS, *, title: str = "A/B",
                       show_a: bool = True) -> Task:
        """Run A (``base_settings``) and B (+ ``fix``) interleaved (collectors.ab.run_ab) in a worker.

        When done, B's bundle is the comparison target and the Compare tab shows the speedup with
        its 95 % CI.  ``show_a``: also open A's bundle as the current trace (always when none is open).
        """
        os.makedirs(out_dir, exist_ok=True)
        fix_text = " ".join(f"{k}={v}" for k, v in fix.items())

        def work(progress: Any, cancel: Any) -> tuple[Analysis, Analysis, dict[str, Any]]:
            a, b, ab = run_ab_and_load(workload, base_settings, fix, out_dir, rounds=rounds,
                                       workload_args=workload_args, run_kwargs=run_kwargs,
                                       progress=progress, cancel=cancel)
            progress("comparing A and B", 0.99)
            return a, b, compare_analyses(a, b, ab)

        def done(res: tuple[Analysis, Analysis, dict[str, Any]]) -> None:
            a, b, comparison = res
            self.analysis_a_run = a
            if show_a or self.analysis is None:
                self.set_analysis(a, remember=True)
            self.set_comparison_b(b, comparison)

        return self.start_task(Task(title, work), done,
                               f"A/B of {workload}: baseline vs {fix_text} ({rounds} interleaved rounds)...")

    # ------------------------------------------------------------------ export
    def export_report_dialog(self, fmt: str) -> None:
        if self.analysis is None:
            return
        filt = "HTML (*.html)" if fmt == "html" else "Markdown (*.md)"
        path, _ = QFileDialog.getSaveFileName(self, "Export report", f"torchscope-report.{fmt}", filt)
        if path:
            self.export_report(path)

    def export_report(self, path: str) -> str | None:
        from .export import export_report
        try:
            export_report(self.analysis, path)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            self.show_error(f"Export failed: {exc}")
            return None
        self.status_label.setText(f"Report written to {path}")
        return path

    def export_csv_dialog(self, which: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {which}", f"{which}.csv", "CSV (*.csv)")
        if path:
            self.export_csv(which, path)

    def export_csv(self, which: str, path: str) -> str | None:
        from .export import export_csv
        view = self.ops_view if which == "operators" else self.kernels_view
        try:
            export_csv(view.visible_frame(), path)
        except OSError as exc:
            self.show_error(f"Export failed: {exc}")
            return None
        self.status_label.setText(f"{which.capitalize()} written to {path}")
        return path

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export timeline", "timeline.png", "PNG (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> str | None:
        if not self.timeline.available:
            self.show_error("Timeline export: the timeline is not available yet.")
            return None
        if not self.timeline.export_png(path):
            self.show_error(f"Timeline export failed: could not write {path}")
            return None
        self.status_label.setText(f"Timeline written to {path}")
        return path
