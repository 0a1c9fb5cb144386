"""The Distributed tab: rank x step heatmap, waits and overlap per rank, the straggler; one rank says how."""
from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui

from tests.conftest import REFERENCE_DIR as REF  # noqa: E402
from tests.conftest import REPO as ROOT  # noqa: E402

TWO_RANKS = REF / "hta_two_ranks"
SAMPLE = ROOT / "sample_traces" / "slow_loader_workers0"


def _open(qtbot, win, path) -> None:
    with qtbot.waitSignal(win.taskFinished, timeout=60_000) as blocker:
        win.open_path(str(path))
    assert blocker.args[0] == "done", win.last_error


def test_two_ranks_show_heatmap_waits_and_the_straggler(qtbot, win):
    if not TWO_RANKS.is_dir():
        pytest.skip("reference trace hta_two_ranks absent")
    _open(qtbot, win, TWO_RANKS)
    view = win.views["distributed"]
    win.show_tab("distributed")
    fig = view.figures()
    cross = win.session.cross_rank
    steps = len(cross.matrix.columns)
    assert fig["heatmap_shape"] == (steps, 2)  # image is steps x ranks
    assert fig["straggler"] == 1 and "Straggler: rank 1" in fig["summary"]
    assert "GPU compute" in fig["summary"]
    table = fig["table"]
    assert list(table["rank"]) == [0, 1]
    # the table shows the session's own per-rank waits (rank 0 waits for rank 1 longer than the reverse)
    w = {x.rank: x for x in cross.per_rank}
    assert table.loc[table["rank"] == 0, "wait ms"].item() == pytest.approx(w[0].wait_ms)
    assert w[0].wait_ms > w[1].wait_ms
    assert not view.charts.isHidden() and view.empty.isHidden()


def test_one_rank_says_how_to_get_several(qtbot, win):
    _open(qtbot, win, SAMPLE)
    view = win.views["distributed"]
    assert view.figures() == {}
    assert "--nproc-per-node" in view.empty.text() and view.charts.isHidden()


def test_merged_timeline_shows_every_rank_on_one_clock(qtbot, win):
    if not TWO_RANKS.is_dir():
        pytest.skip("reference trace hta_two_ranks absent")
    _open(qtbot, win, TWO_RANKS)
    view = win.views["distributed"]
    win.show_tab("distributed")
    with qtbot.waitSignal(view.timeline.dataReady, timeout=60_000):
        view.merge_button.click()
    merged = view.timeline.model
    assert merged is win.session.merged_ranks and view.timeline.isVisible()
    labels = [g.label for g in view.timeline.data.groups if g.track_id is not None]
    assert any(lab.startswith("rank 0: GPU") for lab in labels) and any(lab.startswith("rank 1: GPU") for lab in labels)
    # every device slice of both ranks is there, rank 1's shifted by the difference of the epoch origins
    r0, r1 = win.session.rank(0).model, win.session.rank(1).model
    n_dev = sum(int(m.tracks.is_device[m.track_id].sum()) for m in (r0, r1))
    assert len(merged) == n_dev
    shift = r1.origin_abs_ns - min(r0.origin_abs_ns, r1.origin_abs_ns)
    first_r1 = int(r1.start_ns[r1.tracks.is_device[r1.track_id]].min())
    rank_of = merged.tracks.rank[merged.track_id]
    assert int(merged.start_ns[rank_of == 1].min()) == first_r1 + shift
