"""Qt-free glue between the analysis session and the views.

Loading builds one :class:`~analyzers.session.AnalysisSession` (in a worker
thread or a child process) and warms, in order and with progress, the pieces
the views show for one rank (:data:`WARM`), plus that rank's timeline
pyramids.  Nothing here computes an analysis itself: every figure comes from
``session.rank(r)``; a failed analysis stays in the rank's memo and the views
show its message.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from analyzers.bundle_reader import timed_step_ms
from analyzers.errors import AnalysisError
from analyzers.rank_analysis import RankAnalysis
from analyzers.session import AnalysisSession

ProgressFn = Callable[[str, float], None]

#: what the views read for the shown rank, warmed in this order in the worker
WARM: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("steps", ()), ("breakdown", ()), ("mean_breakdown_ms", ()), ("gpu_metrics", ()),
    ("op_table", ("name",)), ("op_table", ("name+shapes",)), ("kernel_table", ()),
    ("memory_series", ()), ("memory_peaks", ()), ("findings", ()), ("critical_path_summary", ()),
    ("module_tree", ()), ("flame", ()), ("compiled_regions", ()),
)


class Cancelled(Exception):
    """Raised from a progress callback when the user pressed Cancel."""


@dataclass
class Opened:
    """An opened trace: its session and the timeline pyramids built so far (by rank)."""

    session: AnalysisSession
    rank: int
    pyramids: dict[int, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.session.path


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def warm_rank(opened: Opened, rank: int, progress: ProgressFn | None = None,
              cancel: threading.Event | None = None, timeline: bool = True) -> Opened:
    """Compute what the views show for ``rank`` (failures stay in its memo), then its timeline pyramids."""
    from .timeline.data import build_pyramids

    report = progress or (lambda phase, frac: None)
    ra = opened.session.rank(rank)
    for i, (name, args) in enumerate(WARM):
        _check(cancel)
        report(f"analyzing rank {ra.rank}: {name.replace('_', ' ')}", i / (len(WARM) + 1))
        ra.try_get(name, *args)
    if timeline and ra.rank not in opened.pyramids:
        _check(cancel)
        report(f"building the timeline of rank {ra.rank}", len(WARM) / (len(WARM) + 1))
        opened.pyramids[ra.rank] = build_pyramids(ra.model, ra.try_get("steps")[0])
    _check(cancel)
    return opened


def warm_session(session: AnalysisSession, progress: ProgressFn, cancel: threading.Event | None) -> None:
    """The figures across ranks: merged findings, distributed summary, slowest rank (only with > 1 rank)."""
    if not session.is_multi_rank:
        return
    for what in ("findings", "distributed", "slowest_rank"):
        _check(cancel)
        progress(f"analyzing all ranks: {what.replace('_', ' ')}", 0.0)
        try:
            _ = session.findings() if what == "findings" else getattr(session, what)
        except AnalysisError:
            pass  # shown by the views, which ask again and get the same message


def load_session(path: str, progress: ProgressFn | None = None, cancel: threading.Event | None = None,
                 timeline: bool = True) -> Opened:
    """Load ``path`` into a session and warm its first rank.  Raises TraceLoadError / Cancelled."""
    report = progress or (lambda phase, frac: None)

    def on_load(phase: str, frac: float) -> None:
        _check(cancel)
        report(f"loading: {phase}", 0.6 * float(frac))

    session = AnalysisSession.load(str(path), progress=on_load)
    _check(cancel)
    opened = Opened(session, session.first_rank)
    warm_session(session, lambda ph, f: report(ph, 0.6), cancel)
    return warm_rank(opened, opened.rank, lambda ph, f: report(ph, 0.62 + 0.38 * f), cancel, timeline)


# ----------------------------------------------------------------------------- shaping for the views
def shown_findings(session: AnalysisSession, rank: int) -> tuple[list[Any], str | None]:
    """(findings the Findings and Overview tabs list, error): every rank's when there are several."""
    try:
        return list(session.findings() if session.is_multi_rank else session.findings(rank)), None
    except AnalysisError as exc:
        return [], str(exc)


def rank_text(session: AnalysisSession, f: Any) -> str:
    """' (rank 1)', or ' (rank 0; also on 1)' when other ranks raised it too; '' with one rank."""
    if not session.is_multi_rank or f.rank is None:
        return ""
    others = [str(r) for r in (f.evidence or {}).get("ranks", []) if r != f.rank]
    return f" (rank {f.rank}" + (f"; also on {', '.join(others)})" if others else ")")


def step_ms(ra: RankAnalysis) -> np.ndarray:
    """Per kept step: its duration in ms (raises AnalysisError)."""
    return np.asarray(ra.steps.dur_ns, dtype=np.float64) / 1e6


def memory_view(ra: RankAnalysis) -> dict[str, Any]:
    """The rank's memory series and peaks in the Memory view's dict shape (raises AnalysisError)."""
    peaks = {(p.device_type, p.device_id): p for p in ra.memory_peaks}
    out: dict[str, Any] = {"devices": [], "live_at_peak": pd.DataFrame()}
    best = None
    for s in ra.memory_series:
        p = peaks.get((s.device_type, s.device_id))
        alloc = np.asarray(s.allocated_bytes, dtype=np.float64)
        res = (np.asarray(s.reserved_bytes, dtype=np.float64) if s.reserved_bytes is not None
               else np.full(len(alloc), np.nan))
        if p is not None:
            peak_ts, peak_b = int(p.peak_time_ns), float(p.peak_allocated_bytes)
        elif len(alloc):
            i = int(np.nanargmax(alloc))
            peak_ts, peak_b = int(s.ts_ns[i]), float(alloc[i])
        else:
            continue
        out["devices"].append({"label": s.label, "device_type": int(s.device_type), "device_id": int(s.device_id),
                               "ts_ns": np.asarray(s.ts_ns), "allocated": alloc, "reserved": res,
                               "peak_ts_ns": peak_ts, "peak_bytes": peak_b})
        if p is not None and (best is None or (p.device_type == 1, peak_b)
                              > (best.device_type == 1, best.peak_allocated_bytes)):
            best = p
    if best is not None:  # the most interesting device: a GPU when there is one
        _live_at_peak(out, best)
    return out


def _live_at_peak(out: dict[str, Any], best: Any) -> None:
    out["peak_device"] = best.device_label
    live = pd.DataFrame(
        [{"addr": hex(int(x.addr)), "size_mb": x.bytes / 2**20, "allocated_at_ms": x.alloc_ns / 1e6, "op": x.op or ""}
         for x in best.live], columns=["addr", "size_mb", "allocated_at_ms", "op"])
    if not best.addresses_known:
        out["live_note"] = "allocation addresses not recorded: showing the largest allocations before the peak"
        live = live.drop(columns=["addr"])
    elif best.live_count > len(best.live):
        out["live_note"] = f"{best.live_count:,} allocations live; the {len(best.live)} largest are listed."
    out["live_at_peak"] = live


def report_dict(opened: Opened, rank: int) -> dict[str, Any]:
    """The report to export: ``session.report(rank)`` (its ``errors`` name every failed analysis)."""
    return opened.session.report(rank)


def timed_steps_ms(ra: RankAnalysis) -> list[float]:
    """The rank's unprofiled timed-step times when its trace is a run bundle that recorded them."""
    return timed_step_ms(ra.model.run_info)
