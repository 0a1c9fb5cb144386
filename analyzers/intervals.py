"""Vectorised helpers for half-open time intervals ``[start, end)`` (int64 ns).

An *interval set* is a pair of int64 arrays ``(starts, ends)``.  ``union``
turns any set into a *disjoint* one (sorted, non-overlapping, non-touching),
which the other helpers expect where they say so.  No Python loops over events.
"""
from __future__ import annotations

import numpy as np

Intervals = tuple[np.ndarray, np.ndarray]

_EMPTY = np.empty(0, dtype=np.int64)


def empty() -> Intervals:
    """An empty interval set."""
    return _EMPTY.copy(), _EMPTY.copy()


def union(starts: np.ndarray, ends: np.ndarray) -> Intervals:
    """Disjoint, sorted union of ``[starts, ends)``; empty intervals are dropped."""
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    keep = e > s
    if not keep.all():
        s, e = s[keep], e[keep]
    if not len(s):
        return empty()
    if len(s) > 1 and not (s[1:] >= s[:-1]).all():
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    # a new group starts where the start lies beyond everything seen so far
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(s) - 1)
    return s[first], reach[last]


def total_ns(starts: np.ndarray, ends: np.ndarray) -> int:
    """Total length of a *disjoint* set."""
    return int(np.sum(np.asarray(ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64)))


def union_ns(starts: np.ndarray, ends: np.ndarray) -> int:
    """Length of the union of any set."""
    return total_ns(*union(starts, ends))


def clip(starts: np.ndarray, ends: np.ndarray, lo: int, hi: int) -> Intervals:
    """Intervals clipped to ``[lo, hi)``; those left empty are dropped."""
    s = np.clip(np.asarray(starts, dtype=np.int64), lo, hi)
    e = np.clip(np.asarray(ends, dtype=np.int64), lo, hi)
    keep = e > s
    return s[keep], e[keep]


def covered_before(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For a *disjoint* set: covered length in ``(-inf, t)`` for each time in ``t``."""
    t = np.asarray(t, dtype=np.int64)
    if not len(starts):
        return np.zeros(t.shape, dtype=np.int64)
    cum = np.concatenate(([0], np.cumsum(ends - starts)))  # cum[i] = length of intervals < i
    i = np.searchsorted(starts, t, side="right") - 1  # last interval starting at or before t
    ic = np.maximum(i, 0)
    partial = np.clip(np.minimum(t, ends[ic]) - starts[ic], 0, None)
    return np.where(i >= 0, cum[ic] + partial, 0)


def length_in_windows(starts: np.ndarray, ends: np.ndarray, win_start: np.ndarray,
                      win_end: np.ndarray) -> np.ndarray:
    """For a *disjoint* set: covered length inside each window ``[win_start, win_end)``."""
    ws = np.asarray(win_start, dtype=np.int64)
    we = np.maximum(np.asarray(win_end, dtype=np.int64), ws)
    return covered_before(starts, ends, we) - covered_before(starts, ends, ws)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    """Intersection of two *disjoint* sets (disjoint result)."""
    return _coverage_at_least(a, b, 2)


def subtract(a: Intervals, b: Intervals) -> Intervals:
    """``a`` minus ``b`` for two *disjoint* sets (disjoint result)."""
    (sa, ea), (sb, eb) = a, b
    if not len(sa) or not len(sb):
        return sa.copy(), ea.copy()
    t = np.concatenate((sa, ea, sb, eb))
    da = np.concatenate((np.ones(len(sa)), -np.ones(len(ea)), np.zeros(len(sb) + len(eb)))).astype(np.int64)
    db = np.concatenate((np.zeros(len(sa) + len(ea)), np.ones(len(sb)), -np.ones(len(eb)))).astype(np.int64)
    return _sweep(t, da, db, lambda ca, cb: (ca > 0) & (cb == 0))


def _coverage_at_least(a: Intervals, b: Intervals, k: int) -> Intervals:
    (sa, ea), (sb, eb) = a, b
    if not len(sa) or not len(sb):
        return empty()
    t = np.concatenate((sa, ea, sb, eb))
    d = np.concatenate((np.ones(len(sa)), -np.ones(len(ea)), np.ones(len(sb)), -np.ones(len(eb)))).astype(np.int64)
    return _sweep(t, d, np.zeros_like(d), lambda ca, cb: ca >= k)


def _sweep(t: np.ndarray, da: np.ndarray, db: np.ndarray, pred) -> Intervals:
    """Elementary segments between sorted endpoints where ``pred(count_a, count_b)`` holds, merged."""
    order = np.argsort(t, kind="stable")
    t, da, db = t[order], da[order], db[order]
    # collapse equal times so that a segment's counts are those after all changes at its start
    uniq, first = np.unique(t, return_index=True)
    ca = np.add.reduceat(da, first).cumsum()
    cb = np.add.reduceat(db, first).cumsum()
    on = pred(ca[:-1], cb[:-1])
    return union(uniq[:-1][on], uniq[1:][on])


def weighted_integral(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, lo: int, hi: int,
                      cap: float | None = None) -> float:
    """Integral over ``[lo, hi)`` of the sum of ``values`` of the active intervals (optionally capped)."""
    s, e = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    s, e = np.clip(s, lo, hi), np.clip(e, lo, hi)
    keep = e > s
    s, e, v = s[keep], e[keep], v[keep]
    if not len(s):
        return 0.0
    if cap is None:
        return float(np.sum((e - s) * v))
    t = np.concatenate((s, e))
    d = np.concatenate((v, -v))
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    uniq, first = np.unique(t, return_index=True)
    level = np.add.reduceat(d, first).cumsum()[:-1]
    level = np.clip(level, 0.0, cap)  # clip also removes float residue below zero
    return float(np.sum(np.diff(uniq) * level))


def point_in(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For a *disjoint* set: whether each time in ``t`` lies inside it."""
    t = np.asarray(t, dtype=np.int64)
    if not len(starts):
        return np.zeros(t.shape, dtype=bool)
    i = np.searchsorted(starts, t, side="right") - 1
    ic = np.maximum(i, 0)
    return (i >= 0) & (t < ends[ic])
