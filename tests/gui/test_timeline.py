"""Timeline view tests (offscreen, pytest-qt)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from pyqtgraph.Qt import QtCore, QtGui  # noqa: E402

from analyzers.categories import Kind  # noqa: E402
from analyzers.loader import load_trace  # noqa: E402
from profiler_gui.timeline import TimelineWidget, build_pyramids  # noqa: E402
from profiler_gui.timeline.data import frame_rects  # noqa: E402

pytestmark = pytest.mark.gui

from tests.conftest import REFERENCE_DIR as REF  # noqa: E402
RESNET = REF / "tb_resnet50_num_workers_0.pt.trace.json.gz"
needs_ref = pytest.mark.skipif(not RESNET.exists(), reason=f"reference traces not found at {REF}")

Qt = QtCore.Qt


def _kernel_trace(tmp_path: Path, n: int = 2000, span_us: float = 10e6, dur_us: float = 5.0) -> Path:
    """n kernels of dur_us spread over span_us on one stream, plus one CPU op."""
    rng = np.random.default_rng(0)
    ts = np.sort(rng.uniform(0, span_us - dur_us, n))
    events = [{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 0.0, "dur": 10.0}]
    for i, t in enumerate(ts):
        events.append({"ph": "X", "cat": "kernel", "name": f"k{i % 7}", "pid": 0, "tid": 7, "ts": float(t),
                       "dur": dur_us, "args": {"device": 0, "stream": 7, "correlation": i + 1}})
    path = tmp_path / "kernels.pt.trace.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump({"traceEvents": events}, f)
    return path


def _lit_columns(img: QtGui.QImage, widget: TimelineWidget, lane_row: int) -> int:
    """Pixel columns of the events area that differ from the background on one lane's middle row."""
    st = widget._st
    gi = int(widget.data.lane_group[lane_row])
    li = int(widget.data.lane_index[lane_row])
    lay = st.layout[gi]
    y_view = lay.lane_y[li] + lay.lane_h / 2
    vb_rect = widget.vb.sceneBoundingRect()
    scene_pt = widget.vb.mapViewToScene(QtCore.QPointF(0, y_view))
    origin = widget.view.mapTo(widget, QtCore.QPoint(0, 0))
    y = int(widget.view.mapFromScene(scene_pt).y()) + origin.y()
    x0 = int(vb_rect.left()) + origin.x() + 1
    x1 = int(vb_rect.right()) + origin.x() - 1
    arr = np.frombuffer(img.convertToFormat(QtGui.QImage.Format.Format_RGB32).constBits(), dtype=np.uint32)
    arr = arr.reshape(img.height(), -1)[:, : img.width()]
    line = arr[y, x0:x1]
    bg = np.bincount(line & 0xFFFFFF).argmax() if len(line) else 0
    return int(((line & 0xFFFFFF) != bg).sum()), x1 - x0


# ----------------------------------------------------------------------------- pure data
def test_pyramid_levels_shrink_and_keep_longest():
    starts = np.arange(0, 100_000 * 1000, 1000, dtype=np.int64)  # 100k 1 us events, 1 us apart
    ends = starts + 500
    ends[5000] = starts[5000] + 50_000  # one long event
    from profiler_gui.timeline.data import build_lane

    lane = build_lane(starts, ends, np.zeros(len(starts), np.int16), np.arange(len(starts)), screen_px=1000)
    sizes = [len(l) for l in lane.levels]
    assert sizes[0] == 100_000 and sizes[-1] < 2000
    assert all(b < a for a, b in zip(sizes, sizes[1:]))
    top = lane.levels[-1]
    assert top.count.sum() == 100_000
    assert 5000 in set(top.row.tolist())  # the longest event survives every merge
    # one frame at full view: few rectangles, every one at least a pixel wide
    ns_per_px = (ends.max() - starts.min()) / 1000
    xs, w, col, row, cnt = frame_rects(lane.level_for(ns_per_px), 0, ns_per_px, 1000)
    assert 0 < len(xs) <= 1000 and (w >= 1).all()


def test_tiny_kernels_stay_visible(tmp_path, widget, qtbot):
    model = load_trace(_kernel_trace(tmp_path))
    widget.set_model(model, build_pyramids(model))
    qtbot.wait(20)
    kernel_rows = model.rows_of_kind(Kind.KERNEL)
    lane = int(widget.data.row_lane[kernel_rows[0]])
    img = widget.render_image()
    lit, width = _lit_columns(img, widget, lane)
    assert width > 1000
    assert lit > 500, f"only {lit} of {width} pixel columns lit by 2,000 kernels"


# ----------------------------------------------------------------------------- reference trace
@pytest.fixture(scope="module")
def resnet():
    if not RESNET.exists():
        pytest.skip(f"reference traces not found at {REF}")
    model = load_trace(RESNET)
    return model, build_pyramids(model)


@needs_ref
def test_steps_lane_is_the_step_table(resnet):
    """One definition of steps: the Steps lane shows step_table's kept steps (TensorBoard semantics)."""
    from analyzers.steps import step_table

    model, data = resnet
    steps = step_table(model)
    assert steps.count == 6
    group = data.groups[0]
    assert group.label == "Steps" and len(group.lanes) == 1
    raw = group.lanes[0].raw
    assert raw.start.tolist() == steps.start_ns.tolist()
    assert raw.end.tolist() == steps.end_ns.tolist()
    assert [model.name(int(r)) for r in raw.row] == [f"ProfilerStep#{int(n)}" for n in steps.number]
    assert data.step_rows.tolist() == raw.row.tolist()
    # stretched to the GPU work they launched: not the raw ProfilerStep# ranges
    rows = raw.row
    assert (raw.end >= model.end_ns[rows]).all() and (raw.end != model.end_ns[rows]).any()
    # a step table handed in (RankAnalysis.steps) is what the lane shows
    again = build_pyramids(model, steps)
    assert again.groups[0].lanes[0].raw.start.tolist() == steps.start_ns.tolist()


@needs_ref
def test_reference_tracks(widget, resnet):
    model, data = resnet
    widget.set_model(model, data)
    labels = [g.label for g in data.groups]
    assert labels[0] == "Steps"
    assert "GPU 0 stream 7" in labels
    assert any(lab.startswith("thread 25738") for lab in labels)
    gpu = data.groups[labels.index("GPU 0 stream 7")]
    assert sum(len(l.raw) for l in gpu.lanes) == int(np.isin(model.kind, [7, 8, 9]).sum())
    cpu = next(g for g in data.groups if g.label.startswith("thread 25738"))
    assert len(cpu.lanes) == int(model.depth[model.track_id == cpu.track_id].max()) + 1
    assert len(data.groups[0].lanes[0].raw) == len(model.rows_named("ProfilerStep#"))
    assert any("memory" in c.name for c in data.counters)
    widget.render_image()
    assert widget.rect_count() > 100


@needs_ref
def test_hover_click_and_flow(widget, resnet, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    kernel = int(np.flatnonzero((model.kind == int(Kind.KERNEL)) & (model.dur_ns > 100_000))[0])
    widget.zoom_to(model.start_ns[kernel] - 50_000, model.end_ns[kernel] + 50_000)
    qtbot.wait(10)
    pos = widget.row_pos(kernel)
    assert pos is not None
    scene = widget.view.mapToScene(pos)
    assert widget.row_at_scene(scene) == kernel
    # hover
    qtbot.mouseMove(widget.view.viewport(), pos)
    qtbot.wait(10)
    print("hover from mouseMove:", bool(widget.hover_text))
    if not widget.hover_text:  # some platforms deliver no synthetic move without a button
        widget._on_mouse_moved(scene)
    assert model.name(kernel) in widget.hover_text
    assert "Duration:" in widget.hover_text
    # click selects and emits the row
    with qtbot.waitSignal(widget.eventSelected, timeout=1000) as blocker:
        qtbot.mouseClick(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [kernel]
    assert widget.selected_row == kernel
    # flow: the kernel links back to its cudaLaunchKernel, and the launch to the kernel
    launch = widget.flow_partner(kernel)
    assert launch is not None and model.name(launch).startswith("cudaLaunchKernel")
    assert widget.flow_partner(launch) == kernel
    assert model.correlation[launch] == model.correlation[kernel]
    widget.render_image()  # the flow arrow paints without error


@needs_ref
def test_search_and_navigation(widget, resnet, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    expected = sum(1 for r in range(len(model)) if "conv" in model.name(r).lower())
    assert widget.search("conv") == expected > 0
    assert widget.search("no-such-slice-name") == 0
    widget.search("ProfilerStep#")
    with qtbot.waitSignal(widget.eventSelected, timeout=1000):
        row = widget.search_next()
    assert model.name(row).startswith("ProfilerStep#")
    x0, x1 = widget.view_range()
    assert x0 <= model.start_ns[row] and model.end_ns[row] <= x1
    # '/' focuses the search box
    widget.view.setFocus()
    qtbot.keyClick(widget.view, Qt.Key.Key_Slash)
    assert widget.search_box.hasFocus()


@needs_ref
def test_keys_zoom_pan_fit(widget, resnet, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    widget.view.setFocus()
    x0, x1 = widget.view_range()
    qtbot.keyClick(widget.view, Qt.Key.Key_W)
    a0, a1 = widget.view_range()
    assert a1 - a0 < (x1 - x0) * 0.95
    qtbot.keyClick(widget.view, Qt.Key.Key_S)
    qtbot.keyClick(widget.view, Qt.Key.Key_S)
    b0, b1 = widget.view_range()
    assert b1 - b0 > a1 - a0
    widget.zoom_to(100e6, 200e6)
    qtbot.keyClick(widget.view, Qt.Key.Key_D)
    c0, c1 = widget.view_range()
    assert c0 > 100e6 + 1e6 and abs((c1 - c0) - 100e6) < 1e3
    qtbot.keyClick(widget.view, Qt.Key.Key_A)
    qtbot.keyClick(widget.view, Qt.Key.Key_A)
    d0, _ = widget.view_range()
    assert d0 < 100e6 - 1e6
    # F fits the selection
    kernel = int(np.flatnonzero(model.kind == int(Kind.KERNEL))[100])
    widget.select_row(kernel)
    widget.zoom_to(0, model.span_ns)
    qtbot.keyClick(widget.view, Qt.Key.Key_F)
    f0, f1 = widget.view_range()
    assert f0 <= model.start_ns[kernel] and model.end_ns[kernel] <= f1
    assert (f1 - f0) < 2 * max(model.dur_ns[kernel], 500) + 200
    # F without a selection fits the whole trace
    qtbot.keyClick(widget.view, Qt.Key.Key_Escape)
    assert widget.selected_row is None
    qtbot.keyClick(widget.view, Qt.Key.Key_F)
    g0, g1 = widget.view_range()
    assert g0 <= 0 and g1 >= model.span_ns


@needs_ref
def test_highlights_theme_export(widget, resnet, tmp_path, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    kernels = model.rows_of_kind(Kind.KERNEL)[:50]
    widget.highlight_rows(kernels)
    x0, x1 = widget.view_range()
    assert x0 <= model.start_ns[kernels].min() and model.end_ns[kernels].max() <= x1
    gpu_track = int(model.track_id[kernels[0]])
    widget.highlight_ranges([(1e6, 2e6, gpu_track), (3e6, 4e6, None)])
    assert widget.view_range()[0] <= 1e6
    widget.set_theme("dark")
    out = tmp_path / "timeline.png"
    assert widget.export_png(str(out)) and out.stat().st_size > 1000
    widget.set_theme("light")
    widget.clear_highlights()
    with pytest.raises(ValueError):
        widget.set_theme("sepia")


@needs_ref
def test_collapse_and_async_load(widget, resnet, qtbot):
    model, data = resnet
    with qtbot.waitSignal(widget.dataReady, timeout=20000):
        widget.load_model_async(model)
    cpu = next(g for g in widget.data.groups if g.label.startswith("thread 25738"))
    h = widget._st.total_height
    widget.set_collapsed(cpu.track_id, True)
    assert widget._st.total_height < h
    widget.set_collapsed(cpu.track_id, False)
    assert widget._st.total_height == h


V100 = REF / "hta_v100_68k_events.pt.trace.json.gz"


@pytest.mark.skipif(not V100.exists(), reason=f"reference traces not found at {REF}")
def test_gpu_annotations_get_their_own_lane(widget):
    model = load_trace(V100)
    data = build_pyramids(model)
    widget.set_model(model, data)
    gpu = next(g for g in data.groups if g.label == "GPU 0 stream 7")
    names = [l.name for l in gpu.lanes]
    assert names[0] == "annotations" and "kernels" in names
    ann_rows = np.concatenate([l.raw.row for l in gpu.lanes if l.name.startswith("annotations")])
    assert (model.kind[ann_rows] == int(Kind.GPU_USER_ANNOTATION)).all()
    kern = next(l for l in gpu.lanes if l.name == "kernels")
    on_stream = (model.track_id == gpu.track_id) & np.isin(model.kind, [7, 8, 9])
    assert len(kern.raw) == int(on_stream.sum())  # one lane for all kernels of the stream
    widget.render_image()


def test_empty_and_none_model(widget):
    widget.set_model(None)
    widget.render_image()
    assert widget.search("x") == 0
    assert widget.flow_partner(0) is None


@needs_ref
def test_wheel_zooms_x_and_drag_pans(widget, resnet, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    widget.zoom_to(100e6, 200e6)
    vp = widget.view.viewport()
    pos = widget.row_pos(int(data.step_rows[1])) or QtCore.QPoint(vp.width() // 2, 60)
    posf = QtCore.QPointF(pos)
    ev = QtGui.QWheelEvent(posf, QtCore.QPointF(vp.mapToGlobal(pos)), QtCore.QPoint(0, 0), QtCore.QPoint(0, 240),
                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QtCore.QCoreApplication.sendEvent(vp, ev)
    x0, x1 = widget.view_range()
    assert x1 - x0 < 100e6 * 0.9
    _, (y0, y1) = widget.vb.viewRange()
    assert y0 == pytest.approx(widget._scroll)  # y never zooms
    # drag pans x
    before = widget.view_range()
    start = QtCore.QPoint(vp.width() // 2, pos.y())
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for dx in range(10, 210, 20):
        move = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, QtCore.QPointF(start.x() + dx, start.y()),
                                 QtCore.QPointF(vp.mapToGlobal(QtCore.QPoint(start.x() + dx, start.y()))),
                                 Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QtCore.QCoreApplication.sendEvent(vp, move)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QtCore.QPoint(start.x() + 200, start.y()))
    after = widget.view_range()
    assert after[0] < before[0]  # dragging right shows earlier time
    assert (after[1] - after[0]) == pytest.approx(before[1] - before[0], rel=1e-6)


@needs_ref
def test_typing_in_search_box_and_enter(widget, resnet, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    widget.search_box.setFocus()
    qtbot.keyClicks(widget.search_box, "ProfilerStep#7")
    qtbot.waitUntil(lambda: widget.match_label.text() == "1 match", timeout=2000)
    with qtbot.waitSignal(widget.eventSelected, timeout=1000) as blocker:
        qtbot.keyClick(widget.search_box, Qt.Key.Key_Return)
    assert model.name(blocker.args[0]) == "ProfilerStep#7"


def test_counter_tracks_are_drawn(tmp_path, widget, qtbot):
    events = [{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": float(i * 100), "dur": 5.0,
               "args": {"device": 0, "stream": 7}} for i in range(100)]
    events += [{"ph": "C", "name": "GPU utilization", "pid": 0, "tid": 0, "ts": float(i * 10),
                "args": {"util": float(i % 50)}} for i in range(1000)]
    path = tmp_path / "counters.json"
    path.write_text(json.dumps({"traceEvents": events}))
    model = load_trace(path)
    assert model.counters
    widget.set_model(model)
    names = [c.name for c in widget.data.counters]
    assert any("utilization" in n.lower() for n in names)
    assert len(widget._counter_plots) == len(names)
    curve = widget._counter_plots[0].listDataItems()[0]
    assert curve.opts["autoDownsample"] and curve.opts["downsampleMethod"] == "peak" and curve.opts["clipToView"]
    widget.render_image()


@needs_ref
def test_click_on_track_label_collapses(widget, resnet, qtbot):
    model, data = resnet
    widget.set_model(model, data)
    gi = next(i for i, g in enumerate(data.groups) if g.label.startswith("thread 25738"))
    lay = widget._st.layout[gi]
    h = widget._st.total_height
    scene = widget.vb.mapViewToScene(QtCore.QPointF(0, lay.y0 + 8))
    y = widget.view.mapFromScene(scene).y()
    x = int(widget.gutter.mapToScene(QtCore.QPointF(20, 0)).x())
    qtbot.mouseClick(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, y))
    assert widget._st.layout[gi].collapsed and widget._st.total_height < h
    qtbot.mouseClick(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, y))
    assert not widget._st.layout[gi].collapsed and widget._st.total_height == h


def _window_trace(tmp_path: Path) -> Path:
    """Slices in 0..10 ms; a host counter from -13 s to +58 s; CPU memory with reserved always 0."""
    events = [{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": float(i * 1000),
               "dur": 500.0} for i in range(10)]
    events += [{"ph": "C", "name": "Host RSS", "pid": 1, "tid": 0, "ts": float(t),
                "args": {"rss": 1.4e9 + t}} for t in range(-13_000_000, 58_000_001, 1_000_000)]
    events += [{"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "[memory]", "pid": 1, "tid": 1,
                "ts": float(i * 1000 + 10), "args": {"Device Type": 0, "Device Id": -1, "Addr": 1000 + i,
                                                     "Bytes": 1 << 20, "Total Allocated": (i + 1) << 20,
                                                     "Total Reserved": 0}} for i in range(10)]
    path = tmp_path / "window.json"
    path.write_text(json.dumps({"traceEvents": events}))
    return path


def test_opens_on_the_profiled_window_not_the_host_samples(tmp_path, widget):
    model = load_trace(_window_trace(tmp_path))
    widget.set_model(model)
    data = widget.data
    assert data.t_max - data.t_min > 60e9  # the whole span still reachable (zoom out)
    x0, x1 = widget.view_range()
    assert -1e6 < x0 <= data.view_min and data.view_max <= x1 < data.view_max + 1e6
    assert x1 - x0 < 20e6  # ~10 ms of slices, not 71 s
    widget.zoom_to(data.t_min, data.t_max)
    widget.fit()  # F with nothing selected: back to the profiled window
    assert widget.view_range()[1] - widget.view_range()[0] < 20e6


def test_empty_counters_hidden_by_default(tmp_path, widget):
    model = load_trace(_window_trace(tmp_path))
    widget.set_model(model)
    names = [c.name for c in widget.data.counters]
    assert "CPU memory allocated" in names and "CPU memory reserved" not in names
    assert [c.name for c in widget.data.empty_counters] == ["CPU memory reserved"]
    assert len(widget._counter_plots) == len(names)
    assert "1 empty counter hidden" in widget.info_label.text() and not widget.empty_counters_box.isHidden()
    widget.empty_counters_box.setChecked(True)
    assert len(widget._counter_plots) == len(names) + 1


def test_counter_labels_use_binary_units():
    from profiler_gui.timeline.data import format_counter_value

    assert format_counter_value(1_414_107_136.0, "B") == "1.32 GiB"
    assert format_counter_value(3 * 2**20, "B") == "3.00 MiB"
    assert format_counter_value(512, "B") == "512 B"
    assert format_counter_value(42.0, "%") == "42.0 %"
