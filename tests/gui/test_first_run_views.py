"""First-run GUI details: compare findings sections, start page samples, timeline defaults, overview layout."""
from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


def _compare_result() -> dict:
    from analyzers.compare import classify_findings
    from analyzers.findings import Finding

    fa = [Finding("DL1", "Data loading stalls the step", "high", "s", gain_ms=17.8, bottleneck_ms=17.8),
          Finding("OPT1", "Optimizer is slow", "medium", "s", gain_ms=3.0, bottleneck_ms=4.0),
          Finding("CPU1", "No GPU used", "info", "s")]
    fb = [Finding("DL1", "Data loading stalls the step", "low", "s", gain_ms=2.0, bottleneck_ms=2.0),
          Finding("OPT1", "Optimizer is slow", "medium", "s", gain_ms=3.0, bottleneck_ms=4.0),
          Finding("CPU1", "No GPU used", "info", "s")]
    return {"a_path": "a", "b_path": "b", "speedup": 1.5, "analyzer": classify_findings(fa, fb),
            "resolved": [], "new": []}


def _section(text: str, title: str) -> str:
    start = text.index(f"<b>{title}</b>")
    nxt = text.find("<p><b>", start + 1)
    return text[start: nxt if nxt >= 0 else len(text)]


def test_compare_view_separates_reduced_and_info_from_still_present(qtbot):
    from profiler_gui.views.compare import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    view.set_result(_compare_result())
    text = view.findings_label.text()
    still = _section(text, "Still present")
    assert "Optimizer is slow" in still
    assert "No GPU used" not in still and "Data loading" not in still
    reduced = _section(text, "Reduced in B")
    assert "Data loading stalls the step: 17.80 ms -> 2.00 ms" in reduced.replace("&nbsp;", " ")
    assert "No GPU used" in _section(text, "Notes")


def _session_with_steps(tmp_path, n_steps: int):
    """A real session: ``n_steps`` CPU steps of 1 ms, each a 0.3 ms DataLoader wait and 0.6 ms of ops."""
    from analyzers.session import AnalysisSession
    from tests.analyzers.trace_builder import TraceBuilder

    b = TraceBuilder.bare()
    for t in b.steps(n_steps, 1000.0):
        b.dataloader(t + 1, 300)
        b.cpu_op("aten::addmm", t + 320, 600)
    return AnalysisSession([b.load(tmp_path, f"s{n_steps}.json")], "steps.json")


@pytest.mark.parametrize("n_steps", [5, 115])
def test_overview_step_axis_scales(qtbot, tmp_path, n_steps):
    import pyqtgraph as pg

    from profiler_gui.views.overview import OverviewView

    view = OverviewView()
    qtbot.addWidget(view)
    view.show_rank(_session_with_steps(tmp_path, n_steps), 0)
    for plot in (view.step_plot, view.bd_plot):
        items = plot.getPlotItem().items
        assert plot.getPlotItem().legend is None  # no legend over the bars
        bars = [i for i in items if isinstance(i, pg.BarGraphItem)]
        assert (len(bars) == 0) == (n_steps >= 40), (n_steps, items)
        ticks = plot.getAxis("bottom")._tickLevels[0]
        assert 1 <= len(ticks) <= 12 and ticks[0] == (0, "0")
    x0, x1 = view.bd_plot.getViewBox().viewRange()[0]
    assert x1 < n_steps  # no room kept for an in-plot legend
    assert "dataloader" in view.bd_table.text()  # the legend: swatches in the table under the plot


@pytest.mark.parametrize("ci, verdict", [((0.95, 1.15), "no clear difference"), ((1.2, 1.9), "faster"), (None, "faster")])
def test_compare_headline_never_says_faster_when_the_ci_includes_one(qtbot, ci, verdict):
    from profiler_gui.views.compare import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    view.set_result({**_compare_result(), "speedup": 1.03 if ci is None or ci[0] < 1 else 1.5, "ci": ci})
    text = view.headline.text()
    assert verdict in text
    if verdict == "no clear difference":
        assert "faster" not in text and "slower" not in text


def test_start_page_lists_the_packaged_samples_by_default(qtbot):
    from profiler_gui.samples import find_samples
    from profiler_gui.views.start_page import StartPage

    page = StartPage()
    qtbot.addWidget(page)
    found = find_samples()
    assert len(found) >= 6 and page.samples.count() == len(found)
    assert "No sample bundles" not in page.samples.item(0).text()


def test_overview_banner_names_a_poor_measurement(qtbot, tmp_path) -> None:
    """One step five times slower than the others: the Overview says the profile is poor and why."""
    from analyzers.session import AnalysisSession
    from profiler_gui.views.overview import OverviewView
    from tests.analyzers.trace_builder import TraceBuilder

    b = TraceBuilder.bare()
    t = 0.0
    for i, d in enumerate([1000.0, 1000.0, 5000.0, 1000.0, 1000.0]):
        b.step(i, t, d)
        b.cpu_op("aten::addmm", t + 1, d - 2)
        t += d
    session = AnalysisSession([b.load(tmp_path)], "t.json")
    view = OverviewView()
    qtbot.addWidget(view)
    view.show_rank(session, 0)
    assert not view.quality.isHidden()
    assert "Measurement quality: poor" in view.quality.text() and "5.0x the median" in view.quality.text()
    steady = TraceBuilder.bare()
    for i in range(5):
        steady.step(i, i * 1000.0, 1000.0)
        steady.cpu_op("aten::addmm", i * 1000.0 + 1, 998.0)
    view.show_rank(AnalysisSession([steady.load(tmp_path, "s.json")], "s.json"), 0)
    assert view.quality.isHidden()


def test_background_tasks_pause_gc_until_they_end(qtbot) -> None:
    """A collection inside a worker thread can delete Qt objects off the GUI thread (a deadlock): paused meanwhile."""
    import gc

    from profiler_gui.workers import Task

    seen: list[bool] = []
    task = Task("probe", lambda progress, cancel: seen.append(gc.isenabled()) or 1)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.start()
    qtbot.waitUntil(lambda: gc.isenabled(), timeout=5_000)
    assert seen == [False] and gc.isenabled()
