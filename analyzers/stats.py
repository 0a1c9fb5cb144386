"""Statistics shared by the collectors and the analyzers (numpy only; never torch or Qt).

``bootstrap_speedup_ci`` is the one place where a speedup and its confidence
interval are computed: ``collectors.ab`` (interleaved A/B runs) and
``analyzers.compare`` (two run bundles opened side by side) both call it.
``cluster_bootstrap_speedup_ci`` is the honest one for interleaved runs: it
resamples rounds (pairs of adjacent A and B children) and then steps within
them, because rounds differ far more than steps do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
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


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (numeric inversion; no scipy)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if not 0.5 <= p < 1.0:
        raise ValueError("p must be in [0.5, 1)")
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def cdf_above_half(x: float) -> float:  # P(0 <= T <= x), Simpson's rule on the density
        grid = np.linspace(0.0, x, 4001)
        dens = np.exp(log_c - (df + 1) / 2 * np.log1p(grid * grid / df))
        h = grid[1] - grid[0]
        return float(h / 3 * (dens[0] + dens[-1] + 4 * dens[1:-1:2].sum() + 2 * dens[2:-1:2].sum()))

    target, low, high = p - 0.5, 0.0, 1.0
    while cdf_above_half(high) < target:
        high *= 2.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf_above_half(mid) < target else (low, mid)
    return (low + high) / 2


def expanded_alpha(n_clusters: int, level: float = 0.95) -> float:
    """Hesterberg's expanded percentile: the tail probability that corrects a small-sample bootstrap.

    A percentile bootstrap over ``n`` clusters is too narrow by about sqrt((n-1)/n) and
    ignores the t distribution; using the percentiles at ``alpha'/2`` with
    ``z(alpha'/2) = sqrt(n/(n-1)) * t(alpha/2, n-1)`` restores the coverage.
    """
    if n_clusters < 2:
        raise ValueError("need at least two clusters")
    alpha = 1.0 - level
    t = t_quantile(1.0 - alpha / 2, n_clusters - 1)
    z = math.sqrt(n_clusters / (n_clusters - 1)) * t
    return 2.0 * (1.0 - NormalDist().cdf(z))


def _padded(rounds: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Rounds of unequal length as one NaN-padded (rounds, max_steps) array, plus each round's count."""
    counts = np.array([len(r) for r in rounds], dtype=int)
    if counts.size == 0 or counts.min() == 0:
        raise ValueError("every round needs timed steps")
    out = np.full((counts.size, counts.max()), np.nan)
    for i, r in enumerate(rounds):
        out[i, :len(r)] = np.asarray(r, dtype=float)
    return out, counts


def _resampled_medians(data: np.ndarray, counts: np.ndarray, picks: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """Median of the pooled steps of each resample: rounds ``picks`` (R, n), steps resampled within."""
    width = int(counts.max())
    u = rng.random((picks.shape[0], picks.shape[1], width))
    steps = np.floor(u * counts[picks][:, :, None]).astype(int)
    vals = data[picks[:, :, None], steps]  # (R, n, width)
    mask = np.arange(width)[None, None, :] < counts[picks][:, :, None]
    vals = np.where(mask, vals, np.nan).reshape(picks.shape[0], -1)
    return np.nanmedian(vals, axis=1)


def round_t_interval(round_speedups: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The t interval of the geometric mean of per-round speedups (rounds as independent pairs).

    A bootstrap over ``n`` rounds can never reach beyond the most extreme round, so
    with few rounds it says "faster" whenever all rounds agree by chance (2 / 2**n:
    25 % at 3 rounds); the t interval on log speedups extrapolates and keeps its level.
    """
    logs = np.log(np.asarray(round_speedups, dtype=float))
    n = logs.size
    if n < 2:
        raise ValueError("need at least two rounds")
    half = t_quantile(1.0 - (1.0 - level) / 2, n - 1) * float(np.std(logs, ddof=1)) / math.sqrt(n)
    centre = float(np.mean(logs))
    return math.exp(centre - half), math.exp(centre + half)


@dataclass(frozen=True)
class SpeedupCI:
    """A speedup (median_A / median_B over pooled steps) with its interval and how it was made."""

    speedup: float
    ci_low: float
    ci_high: float
    rounds: int
    round_speedups: tuple[float, ...]
    method: str


def cluster_bootstrap_speedup_ci(a_rounds: Sequence[Sequence[float]], b_rounds: Sequence[Sequence[float]],
                                 resamples: int = 2000, seed: int = 0, level: float = 0.95) -> SpeedupCI:
    """Speedup median_A / median_B with a two-level (rounds, then steps) paired bootstrap interval.

    Round ``i`` of A and of B ran next to each other, so rounds are resampled in
    pairs (the same round indices for both sides), then steps within each picked
    round.  Steps within a round are far more alike than rounds are, so pooling
    steps alone gives intervals much too narrow; resampling rounds puts the
    round-to-round spread into the interval.  With few rounds the percentiles
    are expanded (:func:`expanded_alpha`).  One round falls back to the step
    bootstrap (the method string says so).  Seeded; raises ValueError on empty input.
    """
    if len(a_rounds) != len(b_rounds) or not a_rounds:
        raise ValueError("both sides need the same, non-zero number of rounds")
    a, ca = _padded(a_rounds)
    b, cb = _padded(b_rounds)
    pooled_a = np.concatenate([np.asarray(r, float) for r in a_rounds])
    pooled_b = np.concatenate([np.asarray(r, float) for r in b_rounds])
    per_round = tuple(float(np.median(x) / np.median(y)) for x, y in zip(a_rounds, b_rounds))
    n = len(a_rounds)
    if n == 1:
        s, low, high = bootstrap_speedup_ci(pooled_a, pooled_b, resamples, seed, level)
        return SpeedupCI(s, low, high, 1, per_round, "percentile bootstrap over steps (one round: "
                                                     "round-to-round spread not measured)")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, (resamples, n))
    ratios = _resampled_medians(a, ca, picks, rng) / _resampled_medians(b, cb, picks, rng)
    tail = expanded_alpha(n, level) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    t_low, t_high = round_t_interval(per_round, level)
    speedup = float(np.median(pooled_a) / np.median(pooled_b))
    return SpeedupCI(speedup, float(min(low, t_low, speedup)), float(max(high, t_high, speedup)), n, per_round,
                     f"paired two-level bootstrap (rounds, then steps within rounds), {n} rounds, expanded "
                     "percentile interval, widened to the t interval of the per-round log speedups")
