"""Render every view of the app to docs/screenshots/*.png (1400x900).

    xvfb-run -a -s '-screen 0 1600x1000x24' python scripts/screenshots.py [--trace PATH] [--theme light|dark]

Opens a reference trace (../shared/reference_traces/tb_resnet50_num_workers_0)
when present, else a bundled sample, for overview / timeline / operators /
kernels / memory / findings; then opens the slow_loader samples (num_workers
0 vs 2).  The compare view shows a real interleaved A/B run of slow_loader
(num_workers=0 vs 2, 2 rounds, threads=1: about half a minute) with its 95 %
CI; ``--no-ab`` compares the two sample bundles instead (measured speedup with
the bootstrap CI of analyzers.compare).  ``--only compare`` writes just that
screenshot (names separated by commas).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

REF = os.path.join(os.path.dirname(ROOT), "shared", "reference_traces")  # absent: samples are used
OUT = os.path.join(ROOT, "docs", "screenshots")


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace")
    ap.add_argument("--theme", default="light")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--no-ab", action="store_true", help="compare the sample bundles instead of running an A/B")
    ap.add_argument("--only", default="", help="comma-separated screenshot names to write (default: all)")
    ap.add_argument("--stack-trace", default=None,
                    help="a trace or bundle recorded with Python stacks (the collector's default): shoots the "
                         "Modules and Flame views (e.g. a bundle of `torchscope profile` on a GPT-2 workload)")
    ap.add_argument("--two-ranks", action="store_true",
                    help="also shoot hta_two_ranks (overview, findings with the rank selector; not in the README)")
    return ap.parse_args()


class Shooter:
    """Drives one main window through the views and saves a PNG of each."""

    def __init__(self, args: argparse.Namespace) -> None:
        from PySide6.QtCore import QSettings
        from profiler_gui.app import make_app
        from profiler_gui.main_window import MainWindow
        from profiler_gui.settings import Settings

        self.args = args
        self.only = {n.strip() for n in args.only.split(",") if n.strip()}
        self.app = make_app()
        settings = Settings(QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.IniFormat))
        self.win = MainWindow(settings)
        self.win.apply_theme(args.theme)
        self.win.resize(1400, 900)
        self.win.show()
        os.makedirs(args.out, exist_ok=True)

    def settle(self, ms: int = 300) -> None:
        from PySide6.QtCore import QEventLoop, QTimer
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(self, start) -> str:  # noqa: ANN001
        """Start a task and wait for its outcome ('done', 'failed', ... or 'timeout')."""
        from PySide6.QtCore import QEventLoop, QTimer
        loop = QEventLoop()
        out: list[str] = []
        self.win.taskFinished.connect(lambda r: (out.append(r), loop.quit()))
        start()
        QTimer.singleShot(120_000, loop.quit)
        loop.exec()
        self.win.taskFinished.disconnect()
        return out[0] if out else "timeout"

    def shot(self, name: str) -> None:
        if self.only and name not in self.only:
            return
        self.settle()
        path = os.path.join(self.args.out, f"{name}.png")
        self.win.grab().save(path)
        print("wrote", path)

    def trace_views(self, trace: str) -> bool:
        """Overview, Findings (with evidence shown in the timeline), Timeline, Operators, Kernels, Memory."""
        win = self.win
        if self.wait(lambda: win.open_path(trace)) != "done":
            print("failed to open", trace, win.last_error)
            return False
        win.banner.hide()
        self.shot("overview")
        findings = win.findings_view.findings
        idx = next((i for i, f in enumerate(findings) if f.evidence_rows or f.evidence_ranges), None)
        win.show_tab("findings")
        if idx is not None:
            win.findings_view.select(idx)
        self.shot("findings")
        if idx is not None:
            win.show_finding_in_timeline(idx)
        else:
            win.show_tab("timeline")
        self.shot("timeline")
        win.show_tab("operators")
        win.ops_view.view.selectRow(0)
        self.shot("operators")
        for tab in ("kernels", "memory"):
            win.show_tab(tab)
            self.shot(tab)
        win.show_tab("critical path")
        self.shot("critical_path")
        return True

    def bundle_views(self) -> None:
        """A run bundle's Overview and Findings, then Compare after a real A/B (or the two samples)."""
        win = self.win
        a_path = os.path.join(ROOT, "sample_traces", "slow_loader_workers0")
        b_path = os.path.join(ROOT, "sample_traces", "slow_loader_workers2")
        if not (os.path.isdir(a_path) and os.path.isdir(b_path)):
            return
        self.wait(lambda: win.open_path(a_path))
        win.banner.hide()
        self.shot("overview_run_bundle")
        win.show_tab("findings")
        self.shot("findings_run_bundle")
        if self.args.no_ab:
            self.wait(lambda: win.compare_with(b_path))
        else:
            runs = tempfile.mkdtemp(prefix="torchscope-shots-")
            kwargs = dict(warmup_steps=3, profile_steps=1, timed_steps=8, device="cpu")
            res = self.wait(lambda: win.run_ab_compare("slow_loader", {"threads": 1}, {"num_workers": 2}, [], kwargs,
                                                       runs, rounds=2, show_a=False))
            if res != "done":
                print("A/B failed; comparing the sample bundles instead:", win.last_error)
                self.wait(lambda: win.compare_with(b_path))
        win.banner.hide()
        win.show_tab("compare")
        self.shot("compare")

    def two_rank_views(self) -> None:
        win = self.win
        two = os.path.join(REF, "hta_two_ranks")
        if not (os.path.isdir(two) and self.wait(lambda: win.open_path(two)) == "done"):
            return
        win.banner.hide()
        self.shot("overview_two_ranks")
        win.show_tab("distributed")
        self.shot("distributed")
        win.show_tab("findings")
        self.shot("findings_two_ranks")
        other = [r for r in win.session.ranks if r != win.rank]
        if other:
            win.select_rank(other[0])
            self.settle(3000)
            win.show_tab("overview")
            self.shot("overview_two_ranks_switched")

    def user_code_views(self, trace: str) -> None:
        """Modules (a block selected) and Flame (matmuls searched) of a trace with Python stacks."""
        win = self.win
        if self.wait(lambda: win.open_path(trace)) != "done":
            print("failed to open", trace, win.last_error)
            return
        win.banner.hide()
        win.show_tab("modules")
        view = win.views["modules"]
        names = [it.text(0) for it in view.items]
        if "GPT2Block_1" in names:
            win.show_tab("modules")
            view.tree.setCurrentItem(view.items[names.index("GPT2Block_1")])
            view.chart.select(names.index("GPT2Block_1"))
        self.shot("modules")
        win.show_tab("flame")
        flame = win.views["flame"]
        flame.search.setText("aten::addmm")
        self.shot("flame")

    def other_theme(self, trace: str) -> None:
        win = self.win
        win.apply_theme("dark" if self.args.theme == "light" else "light")
        self.wait(lambda: win.open_path(trace))
        win.banner.hide()
        self.shot(f"overview_{win.theme_name}")
        win.show_tab("timeline")
        self.shot(f"timeline_{win.theme_name}")


def main() -> int:
    args = _args()
    shooter = Shooter(args)
    if args.stack_trace:
        shooter.user_code_views(args.stack_trace)
    if shooter.only and shooter.only <= {"modules", "flame"}:
        return 0
    shooter.shot("start_page")
    trace = args.trace or os.path.join(REF, "tb_resnet50_num_workers_0.pt.trace.json.gz")
    if not os.path.exists(trace):
        trace = os.path.join(ROOT, "sample_traces", "slow_loader_workers0")
    if not shooter.trace_views(trace):
        return 1
    shooter.bundle_views()
    if args.two_ranks:
        shooter.two_rank_views()
    shooter.other_theme(trace)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
