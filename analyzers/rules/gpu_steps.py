"""Per-step GPU figures for the GPU rules: one outlier step never decides a GPU finding.

GPU work is counted in the step whose host code launched it (the launching
runtime call's start within the step's host range; the kernel's own start when
no launch link exists), so that a GPU running behind the host does not move
kernels into the next step.
Shares are of that step's GPU time (kernels, copies and memsets, summed).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..idle_time import device_idle
from ..step_stats import StepSeries, per_step_ns

if TYPE_CHECKING:
    from .context import ModelFacts

#: per-step idle analysis looks at this many steps at most (profiled windows hold a handful)
MAX_IDLE_STEPS = 64


def launch_time_ns(f: ModelFacts, rows: np.ndarray) -> np.ndarray:
    """Per GPU row: when its launching call started (its own start without a launch link)."""
    m = f.model
    rows = np.asarray(rows, np.int64)
    launch = f.launch_of[rows]
    return np.where(launch >= 0, m.start_ns[np.maximum(launch, 0)], m.start_ns[rows])


def gpu_ms_per_step(f: ModelFacts, rows: np.ndarray, values_ns: np.ndarray | None = None) -> np.ndarray:
    """Per step: the summed duration (or ``values_ns``) of GPU ``rows``, by the step that launched each."""
    rows = np.asarray(rows, np.int64)
    vals = f.model.dur_ns[rows] if values_ns is None else np.asarray(values_ns, np.float64)
    st = f.steps  # launches fall in the host ranges (ProfilerStep#N), not the ranges stretched to the GPU
    s, e = np.asarray(st.host_start_ns, np.int64), np.asarray(st.host_end_ns, np.int64)
    return per_step_ns(launch_time_ns(f, rows), vals, s, e) / 1e6


def gpu_time_per_step_ms(f: ModelFacts) -> np.ndarray:
    """Per step: GPU time (kernels, copies, memsets; summed) launched in that step."""
    return f.memo.get("gpu_time_per_step_ms", lambda: gpu_ms_per_step(f, np.flatnonzero(f.gpu_work_mask)))


def gpu_share_series(f: ModelFacts, rows: np.ndarray, values_ns: np.ndarray | None = None,
                     of_ms: np.ndarray | None = None) -> StepSeries:
    """Per step: the GPU time of ``rows`` against the step's GPU time (or ``of_ms``, per step)."""
    whole = gpu_time_per_step_ms(f) if of_ms is None else of_ms
    return StepSeries(gpu_ms_per_step(f, rows, values_ns), whole)


def idle_per_step(f: ModelFacts) -> list[dict[str, float]]:
    """Per step (first :data:`MAX_IDLE_STEPS`): GPU busy / idle / host-wait ns in the step's window."""
    def compute() -> list[dict[str, float]]:
        s, e = f.step_bounds
        return [device_idle(f.model, (int(a), int(b)), f.launch_of)
                for a, b in zip(s[:MAX_IDLE_STEPS], e[:MAX_IDLE_STEPS])]
    return f.memo.get("idle_per_step", compute)

