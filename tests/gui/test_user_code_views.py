"""The Modules and Flame views on a GPT-2 recorded here (with_stack=True) and on a trace without stacks."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui

from PySide6.QtCore import QPoint, Qt  # noqa: E402

from analyzers.session import AnalysisSession  # noqa: E402
from tests.recorded_models import ACTIVE_STEPS, GPT2, record_gpt2  # noqa: E402


@pytest.fixture(scope="module")
def gpt2_path(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return record_gpt2(tmp_path_factory.mktemp("gpt2gui") / "gpt2.pt.trace.json")


def _centre(chart, node: int) -> QPoint:
    """Widget point at the middle of ``node``'s rectangle."""
    from profiler_gui.views.icicle import ROW_PX

    left, right = chart.view
    scale = chart.width() / (right - left)
    mid = (max(chart.x[node], left) + min(chart.x[node] + chart.w[node], right)) / 2
    return QPoint(int((mid - left) * scale), int(chart.depth[node]) * ROW_PX + ROW_PX // 2)


def test_modules_view_tree_chart_and_timeline_row(qtbot, gpt2_path: Path) -> None:
    from profiler_gui.views.modules import ModulesView

    raw = [e for e in json.loads(gpt2_path.read_text())["traceEvents"] if e.get("ph") == "X"]
    session = AnalysisSession.load(gpt2_path)
    view = ModulesView()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.show_rank(session, 0)
    assert not view.note.isVisible()
    assert view.tree.topLevelItemCount() == 1 and view.tree.topLevelItem(0).text(0) == "GPT2LMHeadModel_0"
    names = [it.text(0) for it in view.items]
    block = names.index("GPT2Block_0")
    kids = sorted(view.items[block].child(i).text(0) for i in range(view.items[block].childCount()))
    assert kids == ["GPT2Attention_0", "GPT2MLP_0", "LayerNorm_0", "LayerNorm_1"]
    assert sum(1 for n in names if n.startswith("GPT2Block_")) == GPT2["n_layer"]
    # the tree shows per-step host time: the raw JSON's block durations / steps
    calls = [e["dur"] for e in raw if e["name"] == "nn.Module: GPT2Block_0"]
    shown_ms = view.items[block].data(2, Qt.UserRole + 1)
    assert shown_ms == pytest.approx(sum(calls) / 1e3 / ACTIVE_STEPS, rel=1e-3)
    assert view.items[block].data(1, Qt.UserRole + 1) == 1.0  # one call per step
    # the icicle: a block is as wide as its host time; clicking it selects the tree item and emits its longest call
    chart = view.chart
    assert chart.w[block] == pytest.approx(sum(calls) * 1e3, rel=1e-6)
    qtbot.waitExposed(view)
    with qtbot.waitSignal(view.rowActivated, timeout=2000) as got:
        qtbot.mouseClick(chart, Qt.LeftButton, pos=_centre(chart, block))
    row = got.args[0]
    m = session.rank(0).model
    assert m.name(row) == "nn.Module: GPT2Block_0" and m.dur_ns[row] / 1e3 == pytest.approx(max(calls), abs=0.01)
    assert view.tree.currentItem() is view.items[block] and chart.selected == block
    # a click in the tree selects the chart node
    mlp = names.index("GPT2MLP_1")
    view.tree.itemClicked.emit(view.items[mlp], 0)
    assert chart.selected == mlp


def test_modules_click_selects_in_the_timeline(qtbot, win, gpt2_path: Path) -> None:
    with qtbot.waitSignal(win.taskFinished, timeout=90_000) as blocker:
        win.open_path(str(gpt2_path))
    assert blocker.args[0] == "done", win.last_error
    win.show_tab("modules")
    view = win.views["modules"]
    idx = [it.text(0) for it in view.items].index("GPT2Attention_1")
    view.select_module(idx)
    row = win.timeline.selected_row
    assert row is not None and win.shown.model.name(row) == "nn.Module: GPT2Attention_1"
    assert win.current_tab() == "modules"
    assert win.views["flame"].graph is not None and len(win.views["flame"].graph) > 100


def test_flame_view_search_zoom_and_details(qtbot, gpt2_path: Path) -> None:
    from profiler_gui.views.flame import FlameView

    session = AnalysisSession.load(gpt2_path)
    g = session.rank(0).flame
    view = FlameView()
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    view.show_rank(session, 0)
    qtbot.waitExposed(view)
    assert not view.note.isVisible()
    chart = view.chart
    assert len(chart.names) == len(g) and chart.w[0] == g.total_ns[0]
    # search: every frame whose name contains the text, and only those
    view.search.setText("aten::addmm")
    expected = [i for i, n in enumerate(g.name) if "aten::addmm" in n]
    assert expected and np.flatnonzero(chart.highlight).tolist() == expected
    assert view.hits_label.text().startswith(f"{len(expected)} frame(s)")
    view.search.setText("")
    assert chart.highlight is None
    # double click zooms to the frame: its width fills the view; Reset zoom shows everything again
    block = g.name.index("nn.Module: GPT2Block_1")
    qtbot.mouseDClick(chart, Qt.LeftButton, pos=_centre(chart, block))
    assert chart.view == (pytest.approx(g.x_ns[block]), pytest.approx(g.x_ns[block] + g.total_ns[block]))
    assert set(chart.visible_nodes().tolist()) >= {block}
    qtbot.mouseClick(view.reset_button, Qt.LeftButton)
    assert chart.view == (0.0, float(g.total_ns[0]))
    # click: the frame's times and stack
    qtbot.mouseClick(chart, Qt.LeftButton, pos=_centre(chart, block))
    assert chart.selected == block
    text = view.details.text()
    assert "nn.Module: GPT2Block_1" in text and f"{int(g.calls[block])} call(s)" in text


def test_views_without_stacks_say_how_to_record_them(qtbot, tmp_path: Path) -> None:
    from profiler_gui.views.flame import FlameView
    from profiler_gui.views.modules import ModulesView
    from tests.analyzers.trace_builder import TraceBuilder

    b = TraceBuilder.bare()
    for t in b.steps(2, 1000.0):
        b.cpu_op("aten::addmm", t + 10, 500)
    session = AnalysisSession([b.load(tmp_path)], str(tmp_path))
    modules, flame = ModulesView(), FlameView()
    for v in (modules, flame):
        qtbot.addWidget(v)
        v.show()
        v.show_rank(session, 0)
    assert modules.note.isVisible() and "with_stack=True" in modules.note.text()
    assert modules.tree.topLevelItemCount() == 0
    assert flame.note.isVisible() and "with_stack=True" in flame.note.text()
    assert flame.chart.names == ["all", "aten::addmm"]  # ops only


def test_compiled_regions_panel_lists_regions_and_their_kernels(qtbot, tmp_path: Path) -> None:
    from profiler_gui.views.modules import ModulesView
    from tests.recorded_models import record_compiled

    path = record_compiled(tmp_path / "breaks.json", graph_break=True)
    raw = [e for e in json.loads(path.read_text())["traceEvents"] if e.get("ph") == "X"]
    session = AnalysisSession.load(path)
    view = ModulesView()
    qtbot.addWidget(view)
    view.show()
    view.show_rank(session, 0)
    panel = view.compiled
    assert panel.isVisible()
    regions = sorted({e["name"].split(": ")[1] for e in raw if e["name"].startswith("Torch-Compiled Region: ")})
    shown = sorted(panel.tree.topLevelItem(i).text(0).rsplit(" ", 1)[1] for i in range(panel.tree.topLevelItemCount()))
    assert shown == regions == ["0/0", "0/1", "1/0", "1/1"]
    assert "1 graph break(s) per step" in panel.summary.text() and "recompiled frames: 0, 1" in panel.summary.text()
    first = panel.tree.topLevelItem(0)
    assert "aten::linear" in [first.child(i).text(0) for i in range(first.childCount())]
    with qtbot.waitSignal(view.rowActivated, timeout=2000) as got:
        panel.tree.itemClicked.emit(first, 0)
    assert session.rank(0).model.name(got.args[0]) == f"Torch-Compiled Region: {first.text(0).rsplit(' ', 1)[1]}"
    # a trace without torch.compile: no panel
    from tests.analyzers.trace_builder import TraceBuilder
    b = TraceBuilder.bare()
    for t in b.steps(2, 1000.0):
        b.cpu_op("aten::addmm", t + 10, 500)
    (tmp_path / "plain").mkdir()
    view.show_rank(AnalysisSession([b.load(tmp_path / "plain")], "plain"), 0)
    assert not panel.isVisible() and panel.tree.topLevelItemCount() == 0
