"""Critical path tab: the path of a hand-built step (see tests/analyzers/test_critical_path.py) and the reasons."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


def test_view_lists_path_and_shares(qtbot, tmp_path: Path) -> None:
    from analyzers.session import AnalysisSession
    from profiler_gui.views.critical_path import CriticalPathView
    from tests.analyzers.test_critical_path import _sync_step

    session = AnalysisSession.load(_sync_step(tmp_path))
    view = CriticalPathView()
    qtbot.addWidget(view)
    view.show_rank(session, 0)
    text = view.summary.text()
    assert "ProfilerStep#1" in text and "95.0 us" in text
    # shares worked out by hand: cpu 20, gpu 63, gaps 2, launch 10 of 95 us
    for share in ("21.1 %", "66.3 %", "2.1 %", "10.5 %"):
        assert share in text
    model = view.table.model
    assert model.rowCount() == len(view.path.edges)
    kinds = [model.row_dict(r)["kind"] for r in range(model.rowCount())]
    assert kinds == ["op", "launch_delay", "op", "kernel_kernel", "op", "sync", "op"]
    names = [model.row_dict(r)["to"] for r in range(model.rowCount())]
    assert names[1] == "A" and names[3] == "B" and names[-1] == "aten::work"
    assert view.note.isHidden()


def test_view_says_why_there_is_no_path(qtbot, tmp_path: Path) -> None:
    from analyzers.session import AnalysisSession
    from profiler_gui.views.critical_path import CriticalPathView
    from tests.analyzers.trace_builder import TraceBuilder

    b = TraceBuilder.bare(gpu=True)
    b.kernel("k", 20, 5, launch_ts=10)
    view = CriticalPathView()
    qtbot.addWidget(view)
    view.show_rank(AnalysisSession.load(b.write(tmp_path / "t.pt.trace.json")), 0)
    assert "no profiler steps in this trace" in view.note.text() and not view.note.isHidden()
    assert view.table.model.rowCount() == 0


def test_main_window_has_the_tab(win) -> None:
    from profiler_gui.views.critical_path import CriticalPathView

    assert isinstance(win.views["critical path"], CriticalPathView)
    assert win.tabs.tabText(win.tabs.count() - 1) == "Critical path"


def test_view_names_the_op_that_kept_the_gpu_idle(qtbot, tmp_path: Path) -> None:
    """The GPU idles 402 us per step waiting for 400 us of Python glue (tests/analyzers/test_critical_path.py)."""
    from analyzers.session import AnalysisSession
    from profiler_gui.views.critical_path import CriticalPathView
    from tests.analyzers.trace_builder import TraceBuilder

    b = TraceBuilder()
    for t in b.steps(4, 1000.0):
        b.op_with_kernel("aten::mm", "elementwise_a", t + 2, 20, 300, kernel_ts=t + 20)
        b.cpu_op("aten::python_glue", t + 25, 400)
        b.op_with_kernel("aten::mul", "elementwise_b", t + 715, 20, 265, kernel_ts=t + 722)
    view = CriticalPathView()
    qtbot.addWidget(view)
    view.show_rank(AnalysisSession.load(b.write(tmp_path / "glue.pt.trace.json")), 0)
    text = view.summary.text()
    assert "402.0 us before elementwise_b" in text and "delayed by aten::python_glue" in text


def test_show_on_timeline_outlines_the_path(qtbot, win, tmp_path: Path) -> None:
    """The hand-built step: A, B and the host op are outlined; A's launch delay (10-20 us) and the A->B gap
    (80-82 us) are shaded on the GPU stream's track."""
    from tests.analyzers.test_critical_path import _sync_step

    path = _sync_step(tmp_path)
    with qtbot.waitSignal(win.taskFinished, timeout=60_000) as blocker:
        win.open_path(str(path))
    assert blocker.args[0] == "done", win.last_error
    view = win.views["critical path"]
    assert view.show_button.isEnabled()
    view.show_button.click()
    assert win.current_tab() == "timeline"
    m = win.shown.model
    names = sorted(m.name(r) for r in win.timeline.highlighted_rows)
    assert names == ["A", "B", "aten::work"]
    a = [r for r in range(len(m)) if m.name(r) == "A"][0]
    gpu_track = int(m.track_id[a])
    base = int(m.start_ns[[r for r in range(len(m)) if m.name(r) == "ProfilerStep#1"][0]])
    got = sorted((lo - base, hi - base, t) for lo, hi, t in win.timeline.highlighted_ranges)
    assert got == [(10_000, 20_000, gpu_track), (80_000, 82_000, gpu_track)]
