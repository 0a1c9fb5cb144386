"""The desktop app end to end (pytest-qt, offscreen): opening, views, findings, compare, rerun, export, errors."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent, QGuiApplication  # noqa: E402

from analyzers.categories import Kind  # noqa: E402
from analyzers.loader import load_traces  # noqa: E402
from profiler_gui.samples import find_samples  # noqa: E402
from profiler_gui.main_window import MainWindow  # noqa: E402
from profiler_gui.settings import Settings  # noqa: E402

pytestmark = pytest.mark.gui

from tests.conftest import REFERENCE_DIR as REF  # noqa: E402
from tests.conftest import REPO as ROOT  # noqa: E402

SAMPLES = ROOT / "sample_traces"
RESNET0 = REF / "tb_resnet50_num_workers_0.pt.trace.json.gz"
RESNET4 = REF / "tb_resnet50_num_workers_4.pt.trace.json.gz"
CPU_ONLY = REF / "hta_cpu_only.pt.trace.json.gz"


def ref(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference trace {path.name} absent (expected in ../shared/reference_traces)")
    return path


def reference_files() -> list[Path]:
    if not REF.is_dir():
        return []
    files = sorted(p for p in REF.glob("*.json.gz"))
    return files + [p for p in (REF / "hta_two_ranks", REF / "hta_compare") if p.is_dir()]


def wait_task(qtbot, win: MainWindow, start, timeout_ms: int = 60_000) -> str:
    with qtbot.waitSignal(win.taskFinished, timeout=timeout_ms) as blocker:
        start()
    return blocker.args[0]


def open_ok(qtbot, win: MainWindow, path: Path | str) -> None:
    result = wait_task(qtbot, win, lambda: win.open_path(str(path)))
    assert result == "done", win.last_error
    assert win.opened is not None and win.session is not None


# ----------------------------------------------------------------------------- every view on real traces
def check_views(win: MainWindow) -> None:
    from analyzers.steps import step_table

    m = win.shown.model
    findings = win.findings_view.findings
    assert win.current_tab() == "overview"
    assert win.overview.step_count() == step_table(m).count
    assert m.source.path in win.overview.facts.text()
    kernel_names = np.unique(m.names[m.rows_of_kind(Kind.KERNEL)]) if len(m.rows_of_kind(Kind.KERNEL)) else []
    assert win.kernels_view.model.rowCount() == len(kernel_names)
    if len(m.rows_of_kind(Kind.CPU_OP)):
        assert win.ops_view.model.rowCount() > 0
    if not m.has_gpu:
        assert "CPU-only" in win.overview.devices.text()
    else:
        assert "GPU" in win.overview.devices.text()
    assert win.findings_view.list.count() == len(findings)
    gains = [f.gain_ms for f in findings]
    assert gains == sorted(gains, reverse=True)
    assert win.timeline.model is m
    if len(m.memory):
        assert win.memory_view.curves, "memory curves missing"
        assert win.memory_view.table.model.rowCount() > 0
    else:
        assert win.memory_view.empty.isVisible() or not win.memory_view.isVisible()


@pytest.mark.parametrize("path", reference_files() or [pytest.param(None, marks=pytest.mark.skip(
    reason="../shared/reference_traces absent"))], ids=lambda p: getattr(p, "name", "none"))
def test_reference_trace_populates_every_view(qtbot, win, path):
    open_ok(qtbot, win, path)
    check_views(win)


@pytest.mark.parametrize("path", find_samples(str(SAMPLES)) or [pytest.param(None, marks=pytest.mark.skip(
    reason="no run bundles in sample_traces/ yet"))], ids=lambda p: os.path.basename(str(p)))
def test_sample_bundle_populates_every_view(qtbot, win, path):
    open_ok(qtbot, win, path)
    check_views(win)
    assert win.shown.model.run_info is not None
    assert "Workload" in win.overview.facts.text()


def test_overview_shows_tensorboard_plugin_figures(qtbot, win):
    """The figures the Overview shows against the TensorBoard profiler plugin's own numbers for this trace."""
    open_ok(qtbot, win, ref(RESNET0))
    steps = win.overview.step_summary.text()
    assert "mean 177.59 ms" in steps, steps
    gpu = win.overview.gpu.text()  # plugin: GPU utilization 55.514 %, SM efficiency 54.679 %, occupancy 49.128 %
    for label, value in (("Utilization", "55.51 %"), ("SM efficiency", "54.68 %"), ("Achieved occupancy", "49.13 %")):
        assert f"<b>{label}</b></td><td>{value}</td>" in gpu, gpu
    assert "dataloader" in win.overview.bd_table.text()
    assert "Data loading" in win.overview.findings.text()


def test_failed_analysis_shows_its_message(qtbot, win, monkeypatch, tmp_path):
    """An analysis that raises: its one-line message is in the view, never a silently empty table."""
    import analyzers.rank_analysis as rank_analysis

    def broken(*args, **kwargs):
        raise RuntimeError("kernel table exploded")

    monkeypatch.setattr(rank_analysis, "kernel_table", broken)
    open_ok(qtbot, win, ref(RESNET0))
    note = win.kernels_view.note
    assert not note.isHidden() and "kernel_table could not be computed" in note.text()
    assert "kernel table exploded" in note.text()
    assert win.kernels_view.model.rowCount() == 0
    assert win.ops_view.model.rowCount() > 0  # the others still stand
    report = win.session.report(win.rank)
    assert any("kernel table exploded" in v for v in report["errors"].values()), report["errors"]
    md = Path(win.export_report(str(tmp_path / "r.md"))).read_text()
    assert "## Errors" in md and "kernel table exploded" in md


def test_views_implement_the_interface_and_registry_builds_tabs(win):
    from profiler_gui.views.base import SessionView
    from profiler_gui.views.registry import VIEWS, label

    assert [name for name, _ in VIEWS] == list(win.TABS)
    assert [win.tabs.tabText(i) for i in range(win.tabs.count())] == [label(n) for n, _ in VIEWS]
    for i, (name, cls) in enumerate(VIEWS):
        assert callable(getattr(cls, "show_rank", None)) and callable(getattr(cls, "set_theme", None)), name
        view = win.tabs.widget(i)
        assert type(view) is cls and isinstance(view, SessionView) and win.views[name] is view


def test_cpu_only_trace_says_so(qtbot, win):
    open_ok(qtbot, win, ref(CPU_ONLY))
    assert "CPU-only" in win.overview.devices.text()
    assert "CPU-only" in win.overview.gpu.text()
    assert win.kernels_view.model.rowCount() == 0


# ----------------------------------------------------------------------------- navigation
def test_finding_show_in_timeline_selects_its_events(qtbot, win):
    open_ok(qtbot, win, ref(RESNET0))
    findings = win.findings_view.findings
    idx = next(i for i, f in enumerate(findings) if f.evidence_rows)
    f = findings[idx]
    win.show_tab("findings")
    win.findings_view.select(idx)
    qtbot.mouseClick(win.findings_view.show_button, Qt.LeftButton)
    assert win.current_tab() == "timeline"
    assert win.timeline.highlighted_rows == [int(r) for r in f.evidence_rows]
    assert len(win.timeline.highlighted_ranges) == len(f.evidence_ranges)
    assert win.timeline.selected_row == int(f.evidence_rows[0])
    if win.timeline.available:
        assert win.timeline.widget.selected_row == int(f.evidence_rows[0])
    assert win.shown.model.name(int(f.evidence_rows[0])) in win.timeline.details.plain_text()


def test_table_selection_jumps_to_longest_instance(qtbot, win):
    open_ok(qtbot, win, ref(RESNET0))
    m = win.shown.model
    win.show_tab("kernels")
    view = win.kernels_view
    view.view.setFocus()
    view.view.selectRow(0)
    name = view.model.row_dict(view.proxy.mapToSource(view.proxy.index(0, 0)).row())["name"]
    rows = np.flatnonzero(m.names == name)
    assert win.timeline.selected_row == int(rows[np.argmax(m.dur_ns[rows])])
    # filter + sort
    view.filter.setText("volta_sgemm")
    assert 0 < view.proxy.rowCount() < view.model.rowCount()
    ops = win.ops_view
    n_by_name = ops.model.rowCount()
    ops.toggle.setChecked(True)
    assert "input_shapes" in list(ops.frame().columns)
    assert ops.model.rowCount() >= n_by_name


def test_details_panel_flow_partner(qtbot, win):
    open_ok(qtbot, win, ref(REF / "hta_alexnet_a100.json.gz"))
    m = win.shown.model
    src = int(m.flows.src_row[0])
    win.timeline.select_row(src)
    buttons = [b for b in win.timeline.details.findChildren(type(win.findings_view.show_button)) if b.text().startswith("Go to")]
    assert buttons
    buttons[0].click()
    assert win.timeline.selected_row == int(m.flows.dst_row[0])


def test_keyboard_shortcuts_go_to_timeline(qtbot, win):
    open_ok(qtbot, win, ref(RESNET0))
    win.show_tab("overview")
    win.activateWindow()
    before = win.timeline.widget.view_range() if win.timeline.available else None
    win.timeline_key("w")
    assert win.current_tab() == "timeline"
    if before is not None:
        after = win.timeline.widget.view_range()
        assert (after[1] - after[0]) < (before[1] - before[0])
    assert [s.key().toString() for s in win.timeline_shortcuts] == ["W", "A", "S", "D", "F", "/"]
    assert win.act_open.shortcut().toString() == "Ctrl+O"
    assert win.act_quit.shortcut().toString() == "Ctrl+Q"


# ----------------------------------------------------------------------------- errors, cancel
def test_broken_file_shows_error_and_app_goes_on(qtbot, win, tmp_path):
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"this is not gzip at all \x00\x01\x02" * 10)
    assert wait_task(qtbot, win, lambda: win.open_path(str(bad))) == "failed"
    assert win.banner.isVisible()
    assert "bad.json.gz" in win.banner.text()
    assert "\n" not in win.last_error
    assert win.opened is None
    open_ok(qtbot, win, ref(CPU_ONLY))
    assert not (win.banner.isVisible() and win.banner.kind == "error")


def test_missing_and_empty_paths(qtbot, win, tmp_path):
    assert wait_task(qtbot, win, lambda: win.open_path(str(tmp_path / "nope.json"))) == "failed"
    assert "nope.json" in win.last_error
    (tmp_path / "empty").mkdir()
    assert wait_task(qtbot, win, lambda: win.open_path(str(tmp_path / "empty"))) == "failed"


def test_cancel_load(qtbot, win, monkeypatch, tmp_path):
    import analyzers.loader as loader

    def slow_load(path, progress=None):
        for i in range(200):
            progress("parsing", i / 200)  # the GUI's callback raises Cancelled here once Cancel is pressed
            time.sleep(0.02)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(loader, "load_traces", slow_load)
    with qtbot.waitSignal(win.taskFinished, timeout=10_000) as blocker:
        win.open_path(str(tmp_path / "x.json"))
        qtbot.waitUntil(lambda: win.tasks.progress.value() > 0, timeout=5000)
        assert win.tasks.cancel_button.isVisible()
        qtbot.mouseClick(win.tasks.cancel_button, Qt.LeftButton)
    assert blocker.args == ["cancelled"]
    assert not win.tasks.cancel_button.isVisible()


def test_window_stays_responsive_while_loading(qtbot, win):
    path = ref(RESNET0)
    ticks = []
    from PySide6.QtCore import QTimer
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    open_ok(qtbot, win, path)
    timer.stop()
    assert len(ticks) >= 3
    gaps = np.diff(ticks) * 1000
    assert gaps.max() < 1000  # generous: CI machines are noisy; benchmarks/bench_gui_latency.py measures properly


# ----------------------------------------------------------------------------- compare, rerun
def test_compare_with_by_hand(qtbot, win):
    open_ok(qtbot, win, ref(RESNET0))
    assert wait_task(qtbot, win, lambda: win.compare_with(str(ref(RESNET4)))) == "done"
    assert win.current_tab() == "compare"
    r = win.comparison
    assert r["speedup"] > 1.0
    assert r["speedup_source"] == "profiled step medians"
    assert win.compare_view.changes.model.rowCount() > 0
    assert "faster" in win.compare_view.headline.text()
    assert "DL1" in [getattr(f, "rule", None) for f in r["resolved"]] or r.get("resolved_names")


@pytest.mark.slow
def test_apply_fix_and_rerun_end_to_end(qtbot, win, tmp_path):
    # threads=1 on both sides (as tests/collectors/test_ab.py): a shared 2-core box stalls a 2-thread pool
    kwargs = dict(warmup_steps=3, profile_steps=1, timed_steps=8, device="cpu")  # warm-up absorbs worker start-up
    res = wait_task(qtbot, win, lambda: win.profile_workload("slow_loader", {"threads": 1}, [], kwargs,
                                                             str(tmp_path)), 60_000)
    assert res == "done", win.last_error
    run_info = win.shown.model.run_info
    assert run_info is not None and run_info["workload"] == "slow_loader"
    findings = win.findings_view.findings
    idx = next(i for i, f in enumerate(findings) if f.knob == "num_workers")
    win.show_tab("findings")
    win.findings_view.select(idx)
    assert win.findings_view.apply_button.isEnabled()
    messages: list[str] = []
    with qtbot.waitSignal(win.taskFinished, timeout=90_000) as blocker:
        task = win.apply_fix_and_rerun(idx, out_dir=str(tmp_path), rounds=2)
        task.progress.connect(lambda msg, frac: messages.append(msg))
    assert blocker.args == ["done"], win.last_error
    assert any("round 2/2, side B" in m for m in messages), messages[-5:]
    assert win.current_tab() == "compare"
    b = win.compare.opened_b
    assert b.session.rank().model.settings == {"threads": 1, "num_workers": findings[idx].knob_value}
    assert win.compare.opened_a_run.session.rank().model.settings == {"threads": 1}
    r = win.comparison
    assert r["speedup_source"] == "interleaved A/B timing"
    assert r["ab"]["rounds"] == 2 and len(r["ab"]["round_speedups"]) == 2
    lo, hi = r["ci"]
    assert lo <= r["speedup"] <= hi
    assert r["speedup"] > 1.0, (r["a_steps"], r["b_steps"], r["ab"])
    assert len(r["a_steps"]) == 8 and len(r["b_steps"]) == 8  # each bundle's timed steps
    assert "95% CI" in win.compare_view.headline.text() and "interleaved" in win.compare_view.headline.text()
    # the finding's predicted gain beside the measured speedup
    rule = findings[idx].rule
    assert any(x.startswith(f"predicted by {rule}:") for x in r["ab"]["prediction_lines"]), r["ab"]
    assert f"predicted by {rule}" in win.compare_view.headline.text()


def test_ab_user_error_shows_banner(qtbot, win, tmp_path):
    assert wait_task(qtbot, win, lambda: win.run_ab_compare("slow_loader", {}, {"num_workers": "many"}, [], {},
                                                            str(tmp_path))) == "failed"
    assert win.banner.isVisible() and "num_workers" in win.banner.text()
    assert wait_task(qtbot, win, lambda: win.run_ab_compare("no_such_workload_xyz", {}, {"num_workers": 2}, [], {},
                                                            str(tmp_path))) == "failed"
    assert "no_such_workload_xyz" in win.banner.text() and "internal error" not in win.banner.text()


def test_ab_progress_text():
    from profiler_gui.workers import ab_progress_text

    msg, frac = ab_progress_text({"side": "B", "round": 2, "rounds": 3, "phase": "timed", "step": 4, "total": 8})
    assert "round 2/3" in msg and "side B" in msg
    assert 0.02 + 0.78 * 3.5 / 6 == pytest.approx(frac)


def test_profile_dialog_ab_option_runs_the_shared_ab_worker(qtbot, win, monkeypatch, tmp_path):
    from profiler_gui.dialogs.profile_dialog import ProfileDialog

    def fake_exec(dlg):
        names = [dlg.workload.itemData(i) for i in range(dlg.workload.count())]
        dlg.workload.setCurrentIndex(names.index("slow_loader"))
        dlg.out_edit.setText(str(tmp_path))
        dlg.ab_box.setChecked(True)
        dlg.ab_knob.setCurrentIndex(dlg.ab_knob.findData("num_workers"))
        dlg.ab_value.setText("2")
        dlg.ab_rounds.setValue(3)
        return True

    calls = []
    monkeypatch.setattr(ProfileDialog, "exec", fake_exec)
    monkeypatch.setattr(win, "run_ab_compare", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(win, "profile_workload", lambda *a, **k: pytest.fail("A/B option ignored"))
    win.profile_dialog()
    (args, kwargs), = calls
    assert args[0] == "slow_loader" and args[1] == {} and args[2] == {"num_workers": 2}
    assert args[5] == str(tmp_path) and args[6] == 3


def test_compare_two_bundles_by_hand_shows_measured_ci(qtbot, win):
    open_ok(qtbot, win, SAMPLES / "slow_loader_workers0")
    assert wait_task(qtbot, win, lambda: win.compare_with(str(SAMPLES / "slow_loader_workers2"))) == "done"
    r = win.comparison
    an = r["analyzer"]
    assert r["ci"] == (an["measured_ci_low"], an["measured_ci_high"])
    assert r["speedup"] == pytest.approx(an["measured_speedup"]) and r["ci"][0] > 1.0
    assert "95% CI" in win.compare_view.headline.text()


def test_apply_fix_disabled_for_foreign_trace(qtbot, win):
    open_ok(qtbot, win, ref(RESNET0))
    win.show_tab("findings")
    assert not win.findings_view.apply_button.isEnabled()
    assert "run bundle" in win.findings_view.apply_note.text()


def test_copy_fix_snippet(qtbot, win):
    open_ok(qtbot, win, ref(RESNET0))
    win.findings_view.select(0)
    f = win.findings_view.findings[0]
    qtbot.mouseClick(win.findings_view.copy_button, Qt.LeftButton)
    assert QGuiApplication.clipboard().text() == (f.fix_snippet or f.fix)


# ----------------------------------------------------------------------------- export, settings, drop, entry
def test_exports(qtbot, win, tmp_path):
    open_ok(qtbot, win, ref(RESNET0))
    html_path = win.export_report(str(tmp_path / "r.html"))
    md_path = win.export_report(str(tmp_path / "r.md"))
    assert "<html>" in Path(html_path).read_text() and "Data loading" in Path(html_path).read_text()
    md = Path(md_path).read_text()
    assert md.startswith("# TorchScope report") and "Data loading" in md
    csv = win.export_csv("kernels", str(tmp_path / "k.csv"))
    import pandas as pd
    assert len(pd.read_csv(csv)) == win.kernels_view.model.rowCount()
    png = win.export_png(str(tmp_path / "t.png"))
    if win.timeline.available:
        assert png and os.path.getsize(png) > 1000


def test_theme_recent_and_layout_persist(qtbot, settings, tmp_path):
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    open_ok(qtbot, w, ref(CPU_ONLY))
    w.apply_theme("dark")
    w.close()
    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    assert w2.theme_name == "dark"
    assert settings.recent()[0] == str(CPU_ONLY)
    assert settings.geometry() is not None
    assert w2.start_page.recent.item(0).data(Qt.UserRole) == str(CPU_ONLY)
    w2.apply_theme("light")


def test_drag_and_drop_opens(qtbot, win):
    path = ref(CPU_ONLY)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(win.taskFinished, timeout=30_000) as blocker:
        win.dropEvent(ev)
    assert blocker.args == ["done"]
    assert win.opened.path == str(path)


def test_start_page_lists_samples_and_opens(qtbot, win):
    assert win.current_tab() == "start"
    found = win.start_page.refresh_samples(str(SAMPLES))
    assert win.start_page.samples.count() == max(len(found), 1)
    win.start_page.open_button.isEnabled()


def test_run_gui_entry_point(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QApplication

    import profiler_gui.app as app_mod
    import profiler_gui.main_window as mw

    monkeypatch.setattr(mw, "Settings", lambda: Settings(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)))
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)
    assert app_mod.run_gui(None) == 0
    assert app_mod.run_gui(str(tmp_path / "missing.json")) == 0


def test_big_trace_loads_in_child_process(qtbot, win, monkeypatch):
    """Large inputs load in a child process (no GIL stalls); the result is the same as in-process."""
    import profiler_gui.isolated_load as iso

    monkeypatch.setattr(iso, "THRESHOLD_BYTES", 0)
    path = ref(RESNET0)
    assert iso.should_isolate(str(path))
    open_ok(qtbot, win, path)
    check_views(win)
    m = win.shown.model
    assert isinstance(m.args_raw, iso.PackedArgs)
    assert m.args(int(m.rows_of_kind(Kind.CPU_OP)[0])) == load_traces(str(path))[0].args(int(m.rows_of_kind(Kind.CPU_OP)[0]))
    # errors and cancel cross the process boundary
    assert wait_task(qtbot, win, lambda: win.open_path(str(path) + ".missing")) == "failed"
    with qtbot.waitSignal(win.taskFinished, timeout=20_000) as blocker:
        win.open_path(str(path))
        win.cancel_task()
    assert blocker.args == ["cancelled"]


def test_failed_run_shows_error(qtbot, win, tmp_path):
    assert wait_task(qtbot, win, lambda: win.profile_workload("no_such_workload_xyz", {}, [], {}, str(tmp_path))) == "failed"
    assert win.banner.isVisible() and "no_such_workload_xyz" in win.banner.text()
    assert wait_task(qtbot, win, lambda: win.profile_workload("slow_loader", {"num_workers": "many"}, [], {},
                                                            str(tmp_path))) == "failed"
    assert "num_workers" in win.last_error


def test_profile_dialog_collects_workload_and_knobs(qtbot):
    from analyzers.knobs import KNOBS
    from profiler_gui.dialogs.profile_dialog import ProfileDialog

    dlg = ProfileDialog()
    qtbot.addWidget(dlg)
    names = [dlg.workload.itemData(i) for i in range(dlg.workload.count())]
    assert "slow_loader" in names and "__file__" in names
    assert set(dlg.knob_widgets) == set(KNOBS)
    dlg.workload.setCurrentIndex(names.index("slow_loader"))
    use, editor = dlg.knob_widgets["num_workers"]
    use.setChecked(True)
    editor.setValue(2)
    assert dlg.workload_ref() == "slow_loader"
    assert dlg.settings() == {"num_workers": 2}
    assert set(dlg.run_kwargs()) == {"warmup_steps", "profile_steps", "timed_steps", "device"}
    assert dlg.ab_fix() == {}
    dlg.ab_box.setChecked(True)
    dlg.ab_knob.setCurrentIndex(dlg.ab_knob.findData("pin_memory"))
    dlg.ab_value.setText("true")
    assert dlg.ab_fix() == {"pin_memory": True}


def test_qt_free_modules_do_not_import_qt():
    import subprocess
    import sys

    code = ("import sys; import profiler_gui.analysis, profiler_gui.report_export, profiler_gui.isolated_load; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; print(bad); "
            "raise SystemExit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
