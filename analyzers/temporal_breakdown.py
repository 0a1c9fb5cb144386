"""HTA temporal breakdown per rank: idle, compute and non-compute GPU time over the trace window.

Window = first GPU op start to last GPU op end.  Compute = kernels other than
collectives; non-compute = memcpy, memset and collective kernels, where no
compute kernel runs; idle = the rest.  The three add up to the window.
:func:`hta_temporal_breakdown` gives HTA 0.5's own figures (docs/HTA_PARITY.md).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import intervals as iv
from .categories import Kind, is_comm_kernel
from .hta_view import HtaView
from .trace_model import TraceModel


@dataclass
class TemporalBreakdown:
    rank: int | None
    window_ms: float
    idle_ms: float
    compute_ms: float
    non_compute_ms: float

    @property
    def idle_pct(self) -> float:
        return 100.0 * self.idle_ms / self.window_ms if self.window_ms > 0 else 0.0

    @property
    def compute_pct(self) -> float:
        return 100.0 * self.compute_ms / self.window_ms if self.window_ms > 0 else 0.0

    @property
    def non_compute_pct(self) -> float:
        return 100.0 * self.non_compute_ms / self.window_ms if self.window_ms > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "idle_pct": self.idle_pct, "compute_pct": self.compute_pct,
                "non_compute_pct": self.non_compute_pct}


def temporal_breakdown(model: TraceModel) -> TemporalBreakdown:
    """The rank's breakdown (all zeros without GPU work)."""
    gpu = np.isin(model.kind, [int(Kind.KERNEL), int(Kind.MEMCPY), int(Kind.MEMSET)])
    if not gpu.any():
        return TemporalBreakdown(model.rank, 0.0, 0.0, 0.0, 0.0)
    comm = model.name_mask(is_comm_kernel) & (model.kind == int(Kind.KERNEL))
    compute = (model.kind == int(Kind.KERNEL)) & ~comm
    lo, hi = int(model.start_ns[gpu].min()), int(model.end_ns[gpu].max())
    u_compute = iv.union(model.start_ns[compute], model.end_ns[compute])
    u_all = iv.union(model.start_ns[gpu], model.end_ns[gpu])
    c, a = iv.total_ns(*u_compute), iv.total_ns(*u_all)
    window = hi - lo
    return TemporalBreakdown(model.rank, window / 1e6, (window - a) / 1e6, c / 1e6, (a - c) / 1e6)


def hta_temporal_breakdown(view: HtaView) -> TemporalBreakdown:
    """HTA 0.5's breakdown: its event selection and microsecond clock (:mod:`hta_view`), every GPU event on a
    stream (syncs included) in the window, compute by HTA's kernel-name rule."""
    rows = view.gpu_rows
    if not len(rows):
        return TemporalBreakdown(view.model.rank, 0.0, 0.0, 0.0, 0.0)
    s, e = view.start_us[rows], view.end_us[rows]
    compute, _ = view.kernel_class(rows)
    busy = iv.total_ns(*iv.union(s, e))
    c = iv.total_ns(*iv.union(s[compute], e[compute]))
    window = int(e.max() - s.min())
    return TemporalBreakdown(view.model.rank, window / 1e3, (window - busy) / 1e3, c / 1e3, (busy - c) / 1e3)
