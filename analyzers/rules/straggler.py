"""STRAG1: one rank arrives late at the collectives and every other rank waits for it."""
from __future__ import annotations

from statistics import median
from typing import Any

from ..findings import Finding, severity_for
from .context import pct
from .registry import rule


@rule("STRAG1", "A straggler rank holds the others back", cross_rank=True)
def straggler(cross: Any) -> Finding | None:
    """Reads :class:`analyzers.cross_rank.CrossRank` (every rank), never one rank alone."""
    s = cross.straggler
    if s is None:
        return None
    r, extra, cause = s["rank"], s["extra_ms_per_step"], s["cause"]
    back = median(s["others_late_ms"].values()) if s["others_late_ms"] else 0.0
    because = (f"; it spends {cause['excess_ms']:.1f} ms/step more than the other ranks on {cause['what']}"
               if cause.get("category") else "")
    return Finding(
        severity=severity_for(pct(extra, s["step_ms"])),
        summary=(f"Rank {r} arrives last at {s['times_last']} of {s['calls']} collectives: the other ranks wait "
                 f"{s['late_ms_per_step']:.1f} ms per step for it, it waits {back:.1f} ms for them, a net "
                 f"{extra:.1f} ms per step lost to rank {r}{because}."),
        evidence={**s, "ranks": [r], "collective_source": cross.source, "clock_aligned": cross.clock_aligned},
        gain_ms=extra, bottleneck_ms=extra, step_ms=s["step_ms"], rank=r,
        fix=cause.get("fix") or "Compare the straggler's timeline with another rank's to see what it does longer.",
        caveats=([] if cross.clock_aligned else ["some ranks carry no epoch clock: arrivals compared on "
                                                 "trace-relative times"])
        + (["collectives are host ranges: their ends include the transfer, their starts the arrival"]
           if cross.source == "host collectives" else []),
    )
