"""From a table row or a finding to the timeline: the longest instance of a name, a finding's evidence."""
from __future__ import annotations

from typing import Any

import numpy as np

from analyzers.trace_model import TraceModel


def longest_row(model: TraceModel | None, name: str | None) -> int | None:
    """The row of the longest slice called ``name`` (None when there is none)."""
    if model is None or not name:
        return None
    sid = model.string_id(str(name))
    if sid < 0:
        return None
    rows = np.flatnonzero(model.name_id == sid)
    return int(rows[np.argmax(model.dur_ns[rows])]) if len(rows) else None


def select_in_timeline(win: Any, row: int) -> int | None:
    """Select slice ``row`` of the shown rank in the timeline and zoom to it (the tab stays)."""
    ra = win.shown
    if ra is None or not 0 <= row < len(ra.model):
        return None
    m = ra.model
    win.timeline.select_row(row)
    pad = max(int(m.dur_ns[row]) // 2, 1000)
    win.timeline.zoom_to(int(m.start_ns[row]) - pad, int(m.end_ns[row]) + pad)
    return row


def jump_to_name(win: Any, name: str | None) -> int | None:
    """Select and zoom to the longest instance of ``name`` in the shown rank's timeline."""
    ra = win.shown
    row = longest_row(ra.model if ra is not None else None, name)
    return None if row is None else select_in_timeline(win, row)


def highlight_finding(win: Any, f: Any) -> None:
    """Highlight ``f``'s evidence in the timeline (of the rank shown) and show the timeline."""
    rows = [int(r) for r in (f.evidence_rows or [])]
    win.timeline.highlight_rows(rows)
    win.timeline.highlight_ranges(list(f.evidence_ranges or []))
    if rows:
        win.timeline.select_row(rows[0])
    win.show_tab("timeline")


def show_finding_in_timeline(win: Any, index: int) -> Any:
    """Switch to the finding's rank first (warming it when needed), then highlight its evidence."""
    findings = win.findings_view.findings
    if win.opened is None or not 0 <= index < len(findings):
        return None
    f = findings[index]
    rank = f.rank if f.rank in win.opened.session.ranks else win.rank
    return win.select_rank(rank, then=lambda: highlight_finding(win, f))


def show_critical_path(win: Any) -> list[int]:
    """Outline the shown rank's critical path on the timeline (events, launch delays, gaps) and show it."""
    from analyzers.critical_path import CriticalPath, path_highlights

    ra = win.shown
    cp = win.views["critical path"].path if ra is not None else None
    if not isinstance(cp, CriticalPath):
        return []
    rows, ranges = path_highlights(cp, ra.model)
    win.timeline.highlight_rows(rows)
    win.timeline.highlight_ranges(ranges)
    win.show_tab("timeline")
    return rows
