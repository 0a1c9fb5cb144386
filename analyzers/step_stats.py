"""Per-step figures and robust statistics across steps: one outlier step never decides a finding.

A rule measures something per step (:func:`per_step_ns`), takes the median
across steps as its figure and fires only when its condition holds in most
steps (:meth:`StepSeries.holds_in_most`); its evidence shows the spread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: a condition must hold in more than this share of the steps
MOST_STEPS = 0.5


def in_most_steps(hits: np.ndarray) -> bool:
    """True when a per-step condition holds in more than :data:`MOST_STEPS` of the steps."""
    hits = np.asarray(hits, bool)
    return bool(len(hits)) and int(hits.sum()) > MOST_STEPS * len(hits)


def step_index(t_ns: np.ndarray, step_start_ns: np.ndarray, step_end_ns: np.ndarray) -> np.ndarray:
    """Index of the step each time falls in (steps sorted, disjoint); -1 outside every step."""
    t = np.asarray(t_ns, np.int64)
    if not len(step_start_ns):
        return np.full(len(t), -1, np.int64)
    i = np.searchsorted(step_start_ns, t, side="right") - 1
    ok = (i >= 0) & (t < np.asarray(step_end_ns)[np.maximum(i, 0)])
    return np.where(ok, i, -1)


def per_step_ns(start_ns: np.ndarray, values: np.ndarray, step_start_ns: np.ndarray,
                step_end_ns: np.ndarray) -> np.ndarray:
    """Sum of ``values`` per step, each value counted in the step where its start falls."""
    n = len(step_start_ns)
    if not n:
        return np.zeros(0, np.float64)
    idx = step_index(start_ns, step_start_ns, step_end_ns)
    ok = idx >= 0
    return np.bincount(idx[ok], weights=np.asarray(values, np.float64)[ok], minlength=n)


@dataclass(frozen=True)
class StepSeries:
    """One figure per step (ms) and the step durations (ms) it is compared with."""

    ms: np.ndarray
    step_ms: np.ndarray

    @property
    def median_ms(self) -> float:
        """The typical step's figure (median across steps)."""
        return float(np.median(self.ms)) if len(self.ms) else 0.0

    @property
    def share_pct(self) -> np.ndarray:
        """Per step: the figure as a share of that step's duration."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.step_ms > 0, 100.0 * self.ms / np.where(self.step_ms > 0, self.step_ms, 1), 0.0)

    @property
    def median_share_pct(self) -> float:
        return float(np.median(self.share_pct)) if len(self.ms) else 0.0

    def holds_in_most(self, min_share_pct: float) -> bool:
        """True when the figure exceeds ``min_share_pct`` of the step in most steps (all of them for 1-2 steps)."""
        return in_most_steps(self.share_pct > min_share_pct)

    def spread(self) -> dict[str, Any]:
        """Evidence: the per-step figures and their min / median / max (ms)."""
        if not len(self.ms):
            return {"per_step_ms": [], "min_ms": None, "median_ms": None, "max_ms": None}
        return {"per_step_ms": [round(float(v), 4) for v in self.ms[:50]], "min_ms": float(self.ms.min()),
                "median_ms": self.median_ms, "max_ms": float(self.ms.max())}


def step_cv(step_ms: np.ndarray) -> float | None:
    """Coefficient of variation of step times (std / mean); None with fewer than 3 steps."""
    x = np.asarray(step_ms, np.float64)
    if len(x) < 3 or x.mean() <= 0:
        return None
    return float(x.std(ddof=1) / x.mean())
