"""Compare and A/B orchestration: open B and compare, run a workload, 'Apply fix & rerun'.

Loading, running and comparing all happen in workers; the window only shows
the results (trace A via ``win.set_opened``, the comparison in the Compare tab).
"""
from __future__ import annotations

import os
import tempfile
from typing import Any

from PySide6.QtWidgets import QFileDialog

from analyzers.bundle_reader import rerun_spec

from .analysis import Opened
from .comparison import compare_sessions
from .workers import Task, run_ab_and_load, run_workload_and_load

RUN_DIR = os.path.join(tempfile.gettempdir(), "torchscope-runs")
AB_ROUNDS = 2  # interleaved A/B rounds for 'Apply fix & rerun' (each round: one A child, one B child)
TRACE_FILTER = "PyTorch traces (*.json *.json.gz *.pt.trace.json *.pt.trace.json.gz);;All files (*)"


class CompareFlow:
    """Trace B, the comparison and the workload runs of ``win``."""

    def __init__(self, win: Any) -> None:
        self.win = win
        self.opened_b: Opened | None = None
        self.opened_a_run: Opened | None = None  # A's bundle of the last A/B run
        self.comparison: dict[str, Any] | None = None

    def compare_dialog(self) -> None:
        if self.win.opened is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.win, "Compare with (B)", self.win.settings.last_dir(), TRACE_FILTER)
        if path:
            self.compare_with(path)

    def compare_with(self, path: str) -> Task:
        """Open ``path`` as B and compare it with A (loading and comparing run in the worker)."""
        from .isolated_load import load_and_analyze_auto

        a = self.win.opened

        def work(progress: Any, cancel: Any) -> tuple[Opened, dict[str, Any] | None]:
            b = load_and_analyze_auto(path, progress, cancel)
            progress("comparing A and B", 0.99)
            return b, (compare_sessions(a.session, b.session) if a is not None else None)

        return self.win.tasks.start(Task("compare", work), lambda res: self.set_comparison_b(*res),
                                    f"Opening B: {os.path.basename(path)}...")

    def set_comparison_b(self, b: Opened, comparison: dict[str, Any] | None = None, ab: Any = None) -> None:
        win = self.win
        if win.opened is None:
            win.set_opened(b)
            return
        self.opened_b = b
        self.comparison = comparison if comparison is not None else compare_sessions(win.opened.session, b.session, ab)
        win.compare_view.set_result(self.comparison)
        win.show_tab("compare")
        sp = self.comparison.get("speedup")
        win.tasks.status_label.setText(f"Compared A with {b.path}" + (f": {sp:.2f}x" if sp else ""))
        win.comparisonReady.emit(self.comparison)

    def find_best_fix(self, out_dir: str | None = None, config: Any = None, runner: Any = None) -> Any:
        """Open the Tune window on the current run bundle's workload and start the tune."""
        win = self.win
        info = win.opened.session.rank(win.rank).model.run_info if win.opened is not None else None
        if not info or not info.get("workload"):
            win.show_error("Find the best fix needs a TorchScope run bundle that names its workload.")
            return None
        workload, args, settings, kwargs = rerun_spec(info)
        return self.start_tune(workload, settings, args, kwargs.get("device", "auto"), out_dir, config, runner)

    def start_tune(self, workload: str, settings: dict[str, Any], args: list[str] | None = None,
                   device: str = "auto", out_dir: str | None = None, config: Any = None, runner: Any = None) -> Any:
        """Open a Tune window for ``workload`` with ``settings`` as the baseline and start it."""
        from .tune_window import TuneWindow
        self.tune_window = TuneWindow(self.win)
        self.tune_window.openAB.connect(self.open_pair)
        self.tune_window.show()
        self.tune_window.start(workload, settings, out_dir or RUN_DIR, config, workload_args=args,
                               device=device, runner=runner)
        return self.tune_window

    def open_pair(self, a_path: str, b_path: str) -> Task:
        """Open ``a_path`` as the trace and compare it with ``b_path`` (both loaded in the worker)."""
        from .isolated_load import load_and_analyze_auto

        def work(progress: Any, cancel: Any) -> tuple[Opened, Opened, dict[str, Any]]:
            a = load_and_analyze_auto(a_path, progress, cancel)
            b = load_and_analyze_auto(b_path, progress, cancel)
            return a, b, compare_sessions(a.session, b.session)

        def done(res: tuple[Opened, Opened, dict[str, Any]]) -> None:
            self.win.set_opened(res[0], remember=True)
            self.set_comparison_b(res[1], res[2])
        return self.win.tasks.start(Task("A/B", work), done, f"Opening {os.path.basename(b_path)} vs baseline...")

    def profile_dialog(self) -> None:
        from .dialogs.profile_dialog import ProfileDialog

        dlg = ProfileDialog(self.win)
        if not dlg.exec():
            return
        if dlg.tune_requested:
            self.start_tune(dlg.workload_ref(), dlg.settings(), dlg.workload_args(),
                            dlg.run_kwargs().get("device", "auto"), dlg.out_dir())
            return
        fix = dlg.ab_fix()
        if fix:
            self.win.run_ab_compare(dlg.workload_ref(), dlg.settings(), fix, dlg.workload_args(), dlg.run_kwargs(),
                                    dlg.out_dir(), dlg.ab_rounds.value())
        else:
            self.win.profile_workload(dlg.workload_ref(), dlg.settings(), dlg.workload_args(), dlg.run_kwargs(),
                                      dlg.out_dir())

    def profile_workload(self, workload: str, settings: dict[str, Any], workload_args: list[str] | None = None,
                         run_kwargs: dict[str, Any] | None = None, out_dir: str = RUN_DIR) -> Task:
        os.makedirs(out_dir, exist_ok=True)
        task = Task("run", lambda progress, cancel: run_workload_and_load(
            workload, settings, out_dir, workload_args=workload_args, run_kwargs=run_kwargs, progress=progress,
            cancel=cancel))
        return self.win.tasks.start(task, lambda o: self.win.set_opened(o, remember=True), f"Running {workload}...")

    def apply_fix_and_rerun(self, index: int, out_dir: str = RUN_DIR, rounds: int = AB_ROUNDS) -> Task | None:
        """A/B the finding's knob: A = the bundle's settings, B = + the knob, interleaved; open B and compare."""
        win = self.win
        findings = win.findings_view.findings
        if win.opened is None or not 0 <= index < len(findings):
            return None
        f = findings[index]
        ok, why = win.findings_view.can_apply(f)
        if not ok:
            win.show_error(why)
            return None
        rank = f.rank if f.rank in win.opened.session.ranks else None
        workload, args, settings, kwargs = rerun_spec(win.opened.session.rank(rank).model.run_info)
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

        def work(progress: Any, cancel: Any) -> tuple[Opened, Opened, dict[str, Any]]:
            a, b, ab = run_ab_and_load(workload, base_settings, fix, out_dir, rounds=rounds,
                                       workload_args=workload_args, run_kwargs=run_kwargs,
                                       progress=progress, cancel=cancel)
            progress("comparing A and B", 0.99)
            return a, b, compare_sessions(a.session, b.session, ab)

        def done(res: tuple[Opened, Opened, dict[str, Any]]) -> None:
            a, b, comparison = res
            self.opened_a_run = a
            if show_a or self.win.opened is None:
                self.win.set_opened(a, remember=True)
            self.set_comparison_b(b, comparison)

        return self.win.tasks.start(Task(title, work), done,
                                    f"A/B of {workload}: baseline vs {fix_text} ({rounds} interleaved rounds)...")
