"""Interval helpers against a brute-force per-nanosecond model."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers import intervals as iv

spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 15)), max_size=12)


def _cover(pairs: list[tuple[int, int]], size: int = 80) -> np.ndarray:
    c = np.zeros(size, dtype=bool)
    for s, d in pairs:
        c[s:s + d] = True
    return c


def _as_set(pairs: list[tuple[int, int]]) -> iv.Intervals:
    s = np.array([p[0] for p in pairs], dtype=np.int64)
    e = np.array([p[0] + p[1] for p in pairs], dtype=np.int64)
    return iv.union(s, e)


def _cover_of(u: iv.Intervals, size: int = 80) -> np.ndarray:
    return _cover([(int(s), int(e - s)) for s, e in zip(*u)], size)


@settings(max_examples=200, deadline=None)
@given(spans, spans, st.integers(0, 80), st.integers(0, 80))
def test_union_intersect_subtract_windows_match_brute_force(a, b, w0, w1) -> None:
    ua, ub = _as_set(a), _as_set(b)
    ca, cb = _cover(a), _cover(b)
    # disjoint, sorted, non-touching
    assert np.all(ua[1] > ua[0]) and np.all(ua[0][1:] > ua[1][:-1])
    assert iv.total_ns(*ua) == ca.sum()
    assert np.array_equal(_cover_of(iv.intersect(ua, ub)), ca & cb)
    assert np.array_equal(_cover_of(iv.subtract(ua, ub)), ca & ~cb)
    lo, hi = min(w0, w1), max(w0, w1)
    assert iv.length_in_windows(*ua, np.array([lo]), np.array([hi]))[0] == ca[lo:hi].sum()
    assert iv.total_ns(*iv.union(*iv.clip(*ua, lo, hi))) == ca[lo:hi].sum()
    pts = np.arange(80)
    assert np.array_equal(iv.point_in(*ua, pts), ca)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 15), st.sampled_from([0.25, 0.5, 1.0, 2.0])),
                max_size=10))
def test_weighted_integral_capped(items) -> None:
    level = np.zeros(80)
    for s, d, v in items:
        level[s:s + d] += v
    s = np.array([i[0] for i in items], dtype=np.int64)
    e = np.array([i[0] + i[1] for i in items], dtype=np.int64)
    v = np.array([i[2] for i in items])
    assert abs(iv.weighted_integral(s, e, v, 0, 80, cap=1.0) - np.minimum(level, 1.0).sum()) < 1e-9
    assert abs(iv.weighted_integral(s, e, v, 10, 50) - level[10:50].sum()) < 1e-9


def test_empty_inputs() -> None:
    e = iv.empty()
    assert iv.total_ns(*iv.union(*e)) == 0
    assert iv.length_in_windows(*e, np.array([0, 5]), np.array([10, 20])).tolist() == [0, 0]
    assert iv.total_ns(*iv.intersect(e, iv.union(np.array([1]), np.array([3])))) == 0
    assert iv.weighted_integral(np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([]), 0, 9, 1.0) == 0.0
