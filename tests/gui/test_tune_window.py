"""The Tune window ('Find the best fix'): live forest plot, leader, cancel, recommendation; a fast fake workload."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collectors"))
from tune_fakes import FakeRunner  # noqa: E402

from collectors import tune as tune_mod  # noqa: E402
from collectors.tune import TuneConfig  # noqa: E402
from profiler_gui.tune_window import TuneWindow  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "sample_traces" / "slow_loader_workers0"


def slow_fake(effects, delay_s=0.03, **kw):
    """A fake runner whose runs take ``delay_s`` of real time, so updates arrive while the GUI runs."""
    return FakeRunner(effects, on_run=lambda r: time.sleep(delay_s), **kw)


@pytest.fixture
def tune_win(qtbot):
    w = TuneWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.cancel_event.set()
    if w.task is not None:
        w.task.wait(30)


def test_tune_window_shows_live_rows_leader_and_recommendation(qtbot, tune_win, tmp_path):
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    runner = slow_fake({"num_workers=2": 0.5, "threads=1": 1.0, "optimizer_impl=foreach": 1.25})
    with qtbot.waitSignal(tune_win.finished, timeout=60_000) as blocker:
        tune_win.start("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=600),
                       candidates=["num_workers=2", "threads=1", "optimizer_impl=foreach"], runner=runner)
    timer.stop()
    assert blocker.args == ["ok"]
    # 1 baseline + 3 candidates in round 1, then 2 more rounds: many snapshots, and the event loop kept running
    assert tune_win.updates >= 4 and len(ticks) > 10
    labels = [tune_win.table.item(i, 0).text() for i in range(tune_win.table.rowCount())]
    verdicts = [tune_win.table.item(i, 4).text() for i in range(tune_win.table.rowCount())]
    assert labels[0] == "num_workers=2" and verdicts[0] == "faster"
    assert dict(zip(labels, verdicts))["optimizer_impl=foreach"] == "slower"
    assert tune_win.forest_rows == 3
    assert "Current leader: num_workers=2 2.0" in tune_win.leader.text()
    text = tune_win.recommended.toPlainText()
    assert "Recommended: num_workers=2" in text and "DataLoader(dataset" in text and "num_workers=2" in text


def test_cancel_keeps_the_measured_rows(qtbot, tune_win, tmp_path):
    runner = slow_fake({"num_workers=2": 0.9, "threads=1": 1.0}, delay_s=0.05, run_sd=0.1)
    tune_win.start("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=600, max_rounds=50),
                   candidates=["num_workers=2", "threads=1"], runner=runner)
    qtbot.waitUntil(lambda: tune_win.snapshot is not None and all(
        (c.get("rounds") or 0) >= 2 for c in tune_win.snapshot["candidates"]), timeout=30_000)
    with qtbot.waitSignal(tune_win.finished, timeout=30_000) as blocker:
        qtbot.mouseClick(tune_win.cancel_button, Qt.LeftButton)
    assert blocker.args == ["cancelled"]
    assert tune_win.table.rowCount() == 2
    assert all(tune_win.table.item(i, 1).text().endswith("x") for i in range(2))  # speedups kept
    assert len(runner.calls) < 1 + 2 * 50


def test_open_ab_emits_the_baseline_and_candidate_bundles(qtbot, tune_win, tmp_path):
    runner = FakeRunner({"num_workers=2": 0.5})
    with qtbot.waitSignal(tune_win.finished, timeout=30_000):
        tune_win.start("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=600), candidates=["num_workers=2"],
                       runner=runner)
    tune_win.table.selectRow(0)
    assert tune_win.ab_button.isEnabled()
    with qtbot.waitSignal(tune_win.openAB) as blocker:
        qtbot.mouseClick(tune_win.ab_button, Qt.LeftButton)
    base, cand = blocker.args
    assert base.endswith("baseline") and cand.endswith("num_workers-2-r1")


def test_find_best_fix_button_on_the_findings_view(qtbot, win, tmp_path, monkeypatch):
    from test_gui_app import open_ok
    open_ok(qtbot, win, SAMPLE)
    assert win.findings_view.tune_button.isEnabled()
    monkeypatch.setattr(tune_mod, "run_workload", slow_fake({"num_workers=2": 0.5}, delay_s=0.01))
    monkeypatch.setattr("profiler_gui.compare_flow.RUN_DIR", str(tmp_path))
    qtbot.mouseClick(win.findings_view.tune_button, Qt.LeftButton)
    tw = win.compare.tune_window
    assert tw.isVisible()
    qtbot.waitUntil(lambda: tw.status != "running", timeout=60_000)
    assert tw.status == "ok", tw.error
    assert tw.snapshot["baseline"]["settings"] == {"num_workers": 0}
    labels = [tw.table.item(i, 0).text() for i in range(tw.table.rowCount())]
    assert "channels_last=true" in labels  # skipped standard knobs are listed with their reason
    assert "no 2-D convolution" in tw.table.item(labels.index("channels_last=true"), 5).text()


def test_profile_dialog_find_the_best_fix_starts_a_tune(qtbot, win, tmp_path, monkeypatch):
    from profiler_gui.dialogs.profile_dialog import ProfileDialog
    dlg = ProfileDialog(win, out_dir=str(tmp_path))
    qtbot.addWidget(dlg)
    idx = dlg.workload.findData("slow_loader")
    dlg.workload.setCurrentIndex(idx)
    qtbot.mouseClick(dlg.tune_button, Qt.LeftButton)
    assert dlg.tune_requested and dlg.result()
    started = []
    monkeypatch.setattr(win.compare, "start_tune", lambda *a, **kw: started.append(a))

    def fake_exec(self):  # the user picks slow_loader and clicks "Find the best fix"
        self.workload.setCurrentIndex(self.workload.findData("slow_loader"))
        self._tune()
        return self.result()
    monkeypatch.setattr("profiler_gui.dialogs.profile_dialog.ProfileDialog.exec", fake_exec)
    win.profile_dialog()
    assert started and started[0][0] == "slow_loader"


def test_closing_the_window_stops_the_tune(qtbot, tune_win, tmp_path):
    runner = slow_fake({"threads=1": 1.0}, delay_s=0.05, run_sd=0.1)
    tune_win.start("slow_loader", {}, str(tmp_path), TuneConfig(budget_s=600, max_rounds=50),
                   candidates=["threads=1"], runner=runner)
    qtbot.waitUntil(lambda: len(runner.calls) >= 3, timeout=30_000)
    with qtbot.waitSignal(tune_win.finished, timeout=30_000) as blocker:
        tune_win.close()
    assert blocker.args == ["cancelled"] and len(runner.calls) < 20
