"""Rasterized timeline frames: 1-pixel minimum, exact pixels, and click-to-select still exact."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from pyqtgraph.Qt import QtCore, QtGui  # noqa: E402

from analyzers.categories import Kind  # noqa: E402
from analyzers.loader import load_trace  # noqa: E402
from profiler_gui.timeline import TimelineWidget, build_pyramids  # noqa: E402
from profiler_gui.timeline.data import build_lane  # noqa: E402
from profiler_gui.timeline.raster import EMPTY, rasterize  # noqa: E402
from tests.conftest import REFERENCE_DIR as REF  # noqa: E402

pytestmark = pytest.mark.gui
RESNET = REF / "tb_resnet50_num_workers_0.pt.trace.json.gz"
Qt = QtCore.Qt


def _lane(starts: list[int], ends: list[int], colors: list[int]):
    return build_lane(np.array(starts, np.int64), np.array(ends, np.int64), np.array(colors, np.int16),
                      np.arange(len(starts)), screen_px=100_000).levels[0]


def test_pixels_cover_centres_with_one_pixel_minimum() -> None:
    # 10 ns per pixel: [0, 30) -> px 0-2; a 1 ns slice at 55 -> one pixel (5); [100, 125) -> px 10-11
    level = _lane([0, 55, 100], [30, 56, 125], [1, 2, 3])
    frame = rasterize([level], 0.0, 10.0, 20)
    row = frame.pixels[0].tolist()
    assert row[:3] == [1, 1, 1] and row[3:5] == [EMPTY] * 2 and row[5] == 2 and row[6] == EMPTY
    assert row[10:13] == [3, 3, EMPTY] and row[13:] == [EMPTY] * 7
    assert frame.w_px.min() >= 1.0 and len(frame) == 3


def test_overlaps_and_lanes_stay_apart() -> None:
    long_ = _lane([0, 20], [200, 40], [4, 5])  # a long entry with a later one inside it
    other = _lane([150], [160], [6])
    frame = rasterize([long_, other], 0.0, 10.0, 25)
    assert frame.pixels[0].tolist()[:21] == [4, 4, 5, 5] + [4] * 16 + [EMPTY]
    assert frame.pixels[1].tolist()[14:17] == [EMPTY, 6, EMPTY]  # nothing leaks between lanes
    assert frame.lane_pos.tolist() == [0, 0, 1]


def test_view_clipping_keeps_entries_entering_from_the_left() -> None:
    level = _lane([0, 500], [1000, 505], [7, 8])
    frame = rasterize([level], 400.0, 10.0, 20)  # view [400, 600]
    row = frame.pixels[0].tolist()
    assert row[0] == 7 and row[10] == 8 and all(c == 7 for c in row[:10])
    assert frame.x_px[0] == -2.0  # clamped like the old rectangles


def _pixel(img: QtGui.QImage, widget: TimelineWidget, pos: QtCore.QPoint) -> int:
    origin = widget.view.mapTo(widget, QtCore.QPoint(0, 0))
    return img.pixel(pos.x() + origin.x(), pos.y() + origin.y()) & 0xFFFFFF


@pytest.mark.skipif(not RESNET.exists(), reason=f"reference traces not found at {REF}")
def test_click_selects_the_exact_slice_drawn_under_the_pointer(widget, qtbot) -> None:
    model = load_trace(RESNET)
    data = build_pyramids(model)
    widget.set_model(model, data)
    kernels = np.flatnonzero(model.kind == int(Kind.KERNEL))
    # back-to-back short kernels: neighbours a few pixels apart at this zoom
    pick = kernels[len(kernels) // 2: len(kernels) // 2 + 40: 7]
    widget.zoom_to(float(model.start_ns[pick[0]]) - 20_000, float(model.end_ns[pick[-1]]) + 20_000)
    qtbot.wait(10)
    img = widget.render_image()
    palette = widget._st.palette_argb
    for row in pick.tolist():
        pos = widget.row_pos(row)
        assert pos is not None
        # what is drawn under the pointer is this slice's colour ...
        assert _pixel(img, widget, pos) == int(palette[data.row_color[row]]) & 0xFFFFFF, row
        # ... and clicking there selects exactly this slice
        with qtbot.waitSignal(widget.eventSelected, timeout=1000) as blocker:
            qtbot.mouseClick(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        assert blocker.args == [row] and widget.selected_row == row
