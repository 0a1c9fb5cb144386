"""analyzers.stats: the bootstrap speedup CI shared by collectors.ab and analyzers.compare."""
from __future__ import annotations

import numpy as np
import pytest

from analyzers.stats import bootstrap_speedup_ci


def test_ci_contains_the_true_ratio():
    rng = np.random.default_rng(11)
    true_ratio = 1.5
    b = 10.0 * rng.lognormal(0.0, 0.05, 200)
    a = true_ratio * 10.0 * rng.lognormal(0.0, 0.05, 200)
    speedup, low, high = bootstrap_speedup_ci(a, b, seed=1)
    assert low <= true_ratio <= high
    assert low <= speedup <= high
    assert speedup == pytest.approx(np.median(a) / np.median(b))


def test_ci_excludes_one_for_a_clear_speedup():
    rng = np.random.default_rng(5)
    a = 20.0 + rng.normal(0, 1.0, 30)
    b = 12.0 + rng.normal(0, 1.0, 30)
    _, low, high = bootstrap_speedup_ci(a, b)
    assert 1.0 < low <= high


def test_ci_includes_one_without_a_difference():
    rng = np.random.default_rng(6)
    _, low, high = bootstrap_speedup_ci(10 + rng.normal(0, 1, 50), 10 + rng.normal(0, 1, 50))
    assert low < 1.0 < high


def test_deterministic_with_the_seed():
    rng = np.random.default_rng(3)
    a, b = list(10 + rng.normal(0, 2, 25)), list(8 + rng.normal(0, 2, 25))
    assert bootstrap_speedup_ci(a, b, seed=7) == bootstrap_speedup_ci(a, b, seed=7)
    assert bootstrap_speedup_ci(a, b, seed=7)[1:] != bootstrap_speedup_ci(a, b, seed=8)[1:]


def test_empty_side_is_an_error():
    with pytest.raises(ValueError):
        bootstrap_speedup_ci([], [1.0])


def test_collectors_ab_uses_the_same_function():
    ab = pytest.importorskip("collectors.ab")
    assert ab.bootstrap_speedup_ci is bootstrap_speedup_ci
