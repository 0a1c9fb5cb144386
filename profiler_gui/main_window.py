"""The TorchScope main window: wires the start page, the tabs (views/registry), menus, tasks, ranks, compare.

The window holds the open trace (:class:`~profiler_gui.analysis.Opened`: one
AnalysisSession) and the rank shown; every view gets ``show_rank(session,
rank)``.  Background jobs: :mod:`profiler_gui.tasks`; ranks:
:mod:`profiler_gui.ranks`; compare and A/B: :mod:`profiler_gui.compare_flow`;
exports: :mod:`profiler_gui.export`; menus: :mod:`profiler_gui.menus`.
"""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from analyzers.rank_analysis import RankAnalysis
from analyzers.session import AnalysisSession

from . import menus
from . import navigation
from . import theme as theme_mod
from .analysis import Opened, shown_findings
from .compare_flow import AB_ROUNDS, RUN_DIR, TRACE_FILTER, CompareFlow
from .export import Exports
from .ranks import RankSelector
from .settings import Settings
from .tasks import TaskRunner
from .views.common import Banner
from .views.registry import VIEWS, build_views, label
from .views.start_page import StartPage
from .workers import Task, load_task

__all__ = ["MainWindow", "AB_ROUNDS", "RUN_DIR"]


class MainWindow(QMainWindow):
    """Holds trace A (and B for comparisons); every heavy job runs in a Task."""

    analysisLoaded = Signal(object)  # Opened (A)
    rankShown = Signal(int)  # the rank every view now shows
    comparisonReady = Signal(object)  # compare dict
    taskFinished = Signal(str)  # 'done' | 'failed' | 'cancelled'

    TABS = tuple(name for name, _ in VIEWS)

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.opened: Opened | None = None
        self.rank: int | None = None
        self.last_error: str | None = None
        self.setWindowTitle("TorchScope")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._build_body()
        self.tasks = TaskRunner(self)
        self.ranks = RankSelector(self)
        self.compare = CompareFlow(self)
        self.exports = Exports(self)
        menus.build_file_menu(self)
        menus.build_view_menu(self, list(self.TABS))
        menus.build_shortcuts(self)
        menus.update_actions(self)
        self._connect()
        self.start_page.set_recent(self.settings.recent())
        self.apply_theme(self.settings.theme())
        geo, state = self.settings.geometry(), self.settings.state()
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state)
        self.ranks.toolbar.setVisible(False)  # restoreState must not show it without a multi-rank trace

    def _build_body(self) -> None:
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
        self.views = build_views()
        for name, view in self.views.items():
            self.tabs.addTab(view, label(name))
        v = self.views
        self.overview, self.timeline, self.ops_view = v["overview"], v["timeline"], v["operators"]
        self.kernels_view, self.memory_view = v["kernels"], v["memory"]
        self.findings_view, self.compare_view = v["findings"], v["compare"]

    def _connect(self) -> None:
        sp = self.start_page
        sp.openPath.connect(self.open_path)
        sp.openDialog.connect(self.open_dialog)
        sp.profileDialog.connect(self.profile_dialog)
        self.overview.findingActivated.connect(self._overview_finding)
        self.findings_view.showInTimeline.connect(self.show_finding_in_timeline)
        self.findings_view.applyFix.connect(self.apply_fix_and_rerun)
        self.views["critical path"].showInTimeline.connect(lambda: navigation.show_critical_path(self))
        self.findings_view.findBestFix.connect(lambda: self.compare.find_best_fix())
        self.ops_view.rowActivated.connect(lambda r: self.jump_to_name(r.get("name")))
        self.kernels_view.rowActivated.connect(lambda r: self.jump_to_name(r.get("name")))
        self.views["modules"].rowActivated.connect(lambda row: navigation.select_in_timeline(self, row))

    # ------------------------------------------------------------------ state
    @property
    def session(self) -> AnalysisSession | None:
        return self.opened.session if self.opened is not None else None

    @property
    def shown(self) -> RankAnalysis | None:
        """The analysis of the rank every view shows."""
        return self.opened.session.rank(self.rank) if self.opened is not None else None

    @property
    def task(self) -> Task | None:
        return self.tasks.task

    @property
    def status_label(self) -> Any:
        return self.tasks.status_label

    @property
    def comparison(self) -> dict[str, Any] | None:
        return self.compare.comparison

    # ------------------------------------------------------------------ theme, messages, tabs
    def apply_theme(self, name: str) -> None:
        app = QApplication.instance()
        t = theme_mod.apply(app, name) if app is not None else theme_mod.get(name)
        self.theme_name, self.theme = t.name, t
        self.settings.set_theme(t.name)
        self.theme_actions[t.name].setChecked(True)
        for view in self.views.values():
            view.set_theme(t)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.settings.save_layout(self.saveGeometry(), self.saveState())
        self.settings.sync()
        if self.tasks.is_busy():
            self.tasks.task.cancel()
        super().closeEvent(event)

    def timeline_key(self, key: str) -> None:
        if self.opened is None:
            return
        self.show_tab("timeline")
        self.timeline.focus_timeline()
        self.timeline.forward_key(key)

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
        if self.opened is None and name != "compare":
            return
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(self.TABS.index(name))

    def current_tab(self) -> str:
        return self.TABS[self.tabs.currentIndex()] if self.stack.currentWidget() is self.tabs else "start"

    def show_start_page(self) -> None:
        self.start_page.set_recent(self.settings.recent())
        self.stack.setCurrentWidget(self.start_page)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    # ------------------------------------------------------------------ opening and showing
    def cancel_task(self) -> None:
        self.tasks.cancel()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open trace", self.settings.last_dir(), TRACE_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_dir())
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> Task:
        """Load ``path`` in the background (session built and warmed in the worker) and show it as trace A."""
        self.settings.set_last_dir(os.path.dirname(os.path.abspath(path)))
        return self.tasks.start(load_task(path), lambda o: self.set_opened(o, remember=True),
                                f"Opening {os.path.basename(path.rstrip(os.sep))}...")

    def set_opened(self, opened: Opened, remember: bool = False) -> None:
        self.opened = opened
        if remember:
            self.settings.add_recent(opened.path)
            self.start_page.set_recent(self.settings.recent())
        self.setWindowTitle(f"TorchScope - {os.path.basename(opened.path.rstrip(os.sep))}")
        self.timeline.pyramids = opened.pyramids
        self.timeline.model = None  # a new session: the timeline takes the new model
        menus.update_actions(self)
        self.show_rank(opened.rank)
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(0)
        if not self.shown.model.has_gpu:
            self.show_info("CPU-only trace: no GPU kernels were recorded; GPU views are empty.")
        self.analysisLoaded.emit(opened)

    def show_rank(self, rank: int) -> None:
        """Show ``rank`` (its view pieces already computed) in every view; the current tab stays."""
        self.rank = self.opened.rank = rank
        session = self.opened.session
        for view in self.views.values():
            view.show_rank(session, rank)
        self.ranks.update()
        findings, _ = shown_findings(session, rank)
        rank_txt = f", showing rank {rank}" if session.is_multi_rank else ""
        self.status_label.setText(f"{session.path}: {len(self.shown.model):,} slices, {len(session.ranks)} rank(s)"
                                  f"{rank_txt}, {len(findings)} finding(s)")
        self.rankShown.emit(rank)

    def select_rank(self, rank: int, then: Any = None) -> Task | None:
        """Show ``rank``: at once when its pieces are computed, else after warming them in a worker (returned)."""
        return self.ranks.select(rank, then)

    # ------------------------------------------------------------------ navigation
    def jump_to_name(self, name: str | None) -> int | None:
        """Select the longest instance of ``name`` in the timeline (tables call this on selection)."""
        return navigation.jump_to_name(self, name)

    def _overview_finding(self, index: int) -> None:
        self.show_tab("findings")
        self.findings_view.select(index)

    def show_finding_in_timeline(self, index: int) -> Task | None:
        """Switch to the finding's rank when it is another one, then highlight its evidence."""
        return navigation.show_finding_in_timeline(self, index)

    # ------------------------------------------------------------------ compare, runs, exports (delegated)
    def compare_with(self, path: str) -> Task:
        return self.compare.compare_with(path)

    def profile_dialog(self) -> None:
        self.compare.profile_dialog()

    def profile_workload(self, *args: Any, **kwargs: Any) -> Task:
        return self.compare.profile_workload(*args, **kwargs)

    def apply_fix_and_rerun(self, index: int, *args: Any, **kwargs: Any) -> Task | None:
        return self.compare.apply_fix_and_rerun(index, *args, **kwargs)

    def run_ab_compare(self, *args: Any, **kwargs: Any) -> Task:
        return self.compare.run_ab_compare(*args, **kwargs)

    def export_report(self, path: str) -> str | None:
        return self.exports.report(path)

    def export_csv(self, which: str, path: str) -> str | None:
        return self.exports.csv(which, path)

    def export_png(self, path: str) -> str | None:
        return self.exports.png(path)
