"""Across ranks: step time, communication vs computation and their overlap, the slowest rank."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import intervals as iv
from .categories import Kind, is_comm_kernel
from .hta_view import HtaView
from .steps import StepTable, step_table
from .trace_model import TraceModel


def comm_compute_ns(model: TraceModel, window_ns: tuple[int, int] | None = None) -> tuple[int, int, int]:
    """(communication, computation, both at once) kernel time in ns, as interval unions; clipped to
    ``window_ns`` when given, else over the whole trace."""
    kern = model.kind == int(Kind.KERNEL)
    comm = kern & model.name_mask(is_comm_kernel)
    comp = kern & ~comm
    spans = [(model.start_ns[m], model.end_ns[m]) for m in (comm, comp)]
    if window_ns is not None:
        spans = [iv.clip(s, e, *window_ns) for s, e in spans]
    u_comm, u_comp = (iv.union(s, e) for s, e in spans)
    return iv.total_ns(*u_comm), iv.total_ns(*u_comp), iv.total_ns(*iv.intersect(u_comm, u_comp))


def rank_comm_stats(model: TraceModel, steps: StepTable | None = None) -> dict[str, Any]:
    """One rank inside its step window: compute / comm kernel time and the overlapped share of comm."""
    st = step_table(model) if steps is None else steps
    comm_ns, comp_ns, both = comm_compute_ns(model, st.window_ns)
    n = max(st.count, 1)
    return {
        "rank": model.rank,
        "steps": st.count,
        "step_mean_ms": float(st.dur_ns.mean() / 1e6) if st.count else None,
        "computation_ms": comp_ns / 1e6 / n,
        "communication_ms": comm_ns / 1e6 / n,
        "overlap_ms": both / 1e6 / n,
        "overlap_pct": 100.0 * both / comm_ns if comm_ns > 0 else None,
    }


def distributed_summary(per: list[dict[str, Any]]) -> dict[str, Any]:
    """Across ranks, from each rank's :func:`rank_comm_stats` (in rank order): the slowest rank and the skew."""
    times = [(p["step_mean_ms"] if p["step_mean_ms"] is not None else -1.0) for p in per]
    slow = int(np.argmax(times)) if per else None
    fastest = min(t for t in times if t >= 0) if any(t >= 0 for t in times) else None
    return {
        "ranks": len(per),
        "per_rank": per,
        "slowest_rank": per[slow]["rank"] if slow is not None else None,
        "slowest_step_ms": times[slow] if slow is not None and times[slow] >= 0 else None,
        "step_skew_pct": (100.0 * (times[slow] - fastest) / fastest) if fastest else None,
    }


def hta_comm_overlap_pct(view: HtaView) -> float | None:
    """HTA 0.5's comm/compute overlap: share of communication-kernel time with a computation kernel running,
    over the whole trace (after HTA's last-step drop), HTA's kernel-name classes; None without comm kernels."""
    rows = view.gpu_rows
    s, e = view.start_us[rows], view.end_us[rows]
    compute, comm = view.kernel_class(rows)
    u_comm = iv.union(s[comm], e[comm])
    comm_us = iv.total_ns(*u_comm)
    if comm_us <= 0:
        return None
    both = iv.total_ns(*iv.intersect(u_comm, iv.union(s[compute], e[compute])))
    return 100.0 * both / comm_us
