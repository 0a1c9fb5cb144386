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
