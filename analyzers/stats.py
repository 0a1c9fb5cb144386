"""Statistics shared by the collectors and the analyzers (numpy only; never torch or Qt).

``bootstrap_speedup_ci`` is the one place where a speedup and its confidence
interval are computed: ``collectors.ab`` (interleaved A/B runs) and
``analyzers.compare`` (two run bundles opened side by side) both call it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def bootstrap_speedup_ci(a_ms: Sequence[float], b_ms: Sequence[float], resamples: int = 2000,
                         seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(median(a)/median(b), low, high): percentile bootstrap resampling each side independently.

    Seeded (``numpy.random.default_rng(seed)``), so the same inputs give the same interval.
    Raises ValueError when either side is empty.
    """
    a = np.asarray(a_ms, dtype=float)
    b = np.asarray(b_ms, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("both sides need timed steps")
    rng = np.random.default_rng(seed)
    med_a = np.median(a[rng.integers(0, a.size, (resamples, a.size))], axis=1)
    med_b = np.median(b[rng.integers(0, b.size, (resamples, b.size))], axis=1)
    ratios = med_a / med_b
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(np.median(a) / np.median(b)), float(low), float(high)
