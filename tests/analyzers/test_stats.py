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


# --- rounds, not only steps: the cluster bootstrap ------------------------------------------------
from analyzers.stats import cluster_bootstrap_speedup_ci, expanded_alpha, round_t_interval, t_quantile  # noqa: E402


@pytest.mark.parametrize("df,table", [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)])
def test_t_quantile_matches_the_printed_table(df, table):
    assert t_quantile(0.975, df) == pytest.approx(table, abs=2e-3)


def test_expanded_alpha_shrinks_towards_the_nominal_level():
    alphas = [expanded_alpha(n) for n in (3, 5, 10, 40)]
    assert alphas == sorted(alphas) and alphas[-1] < 0.05 and alphas[0] < 1e-5


def _aa_experiment(rng, rounds, run_sd=0.1, step_sd=0.03, steps=20, ratio=1.0):
    """Every child run has its own level (a busy machine), steps vary little within a run."""
    a = [list(ratio * 10 * np.exp(rng.normal(0, run_sd)) * np.exp(rng.normal(0, step_sd, steps)))
         for _ in range(rounds)]
    b = [list(10 * np.exp(rng.normal(0, run_sd)) * np.exp(rng.normal(0, step_sd, steps))) for _ in range(rounds)]
    return a, b


@pytest.mark.parametrize("rounds", [3, 5, 8])
def test_aa_false_positive_rate_is_at_most_one_in_twenty(rounds):
    rng = np.random.default_rng(100 + rounds)
    trials = 150
    new = old = 0
    for t in range(trials):
        a, b = _aa_experiment(rng, rounds)
        ci = cluster_bootstrap_speedup_ci(a, b, resamples=600, seed=t)
        new += ci.ci_low > 1 or ci.ci_high < 1
        _, low, high = bootstrap_speedup_ci(sum(a, []), sum(b, []), resamples=600, seed=t)
        old += low > 1 or high < 1
    assert new / trials <= 0.08  # 95 %: 1 in 20, with room for 150 trials' sampling error
    assert old / trials > 0.4  # pooling steps alone: "a difference" most of the time on the same workload


def test_cluster_interval_finds_a_real_speedup_and_reports_rounds():
    rng = np.random.default_rng(9)
    a, b = _aa_experiment(rng, 6, ratio=1.5)
    ci = cluster_bootstrap_speedup_ci(a, b, resamples=1000)
    pooled_a, pooled_b = np.concatenate(a), np.concatenate(b)
    assert ci.speedup == pytest.approx(np.median(pooled_a) / np.median(pooled_b))
    assert 1.0 < ci.ci_low <= ci.speedup <= ci.ci_high
    assert ci.rounds == 6 and len(ci.round_speedups) == 6
    assert ci.round_speedups[2] == pytest.approx(np.median(a[2]) / np.median(b[2]))
    assert "rounds" in ci.method


def test_cluster_interval_is_wider_than_the_step_pooled_one_for_noisy_rounds():
    rng = np.random.default_rng(4)
    a, b = _aa_experiment(rng, 5, run_sd=0.15)
    ci = cluster_bootstrap_speedup_ci(a, b, resamples=1000)
    _, low, high = bootstrap_speedup_ci(sum(a, []), sum(b, []), resamples=1000)
    assert ci.ci_high - ci.ci_low > 2 * (high - low)


def test_round_t_interval_by_hand():
    rs = [1.1, 1.2, 1.3]
    logs = np.log(rs)
    half = 4.302653 * logs.std(ddof=1) / np.sqrt(3)
    low, high = round_t_interval(rs)
    assert low == pytest.approx(np.exp(logs.mean() - half), rel=1e-4)
    assert high == pytest.approx(np.exp(logs.mean() + half), rel=1e-4)


def test_one_round_falls_back_to_steps_and_says_so():
    ci = cluster_bootstrap_speedup_ci([[10.0, 11.0, 12.0]], [[5.0, 5.5, 6.0]])
    assert ci.rounds == 1 and "one round" in ci.method and ci.speedup == pytest.approx(2.0)
    with pytest.raises(ValueError):
        cluster_bootstrap_speedup_ci([[1.0]], [[1.0], [2.0]])
    with pytest.raises(ValueError):
        cluster_bootstrap_speedup_ci([[1.0], []], [[1.0], [2.0]])


def test_unequal_round_lengths():
    a = [[10.0] * 5, [10.0] * 12, [10.5] * 8]
    b = [[5.0] * 7, [5.0] * 3, [5.0] * 10]
    ci = cluster_bootstrap_speedup_ci(a, b, resamples=500)
    assert ci.speedup == pytest.approx(2.0) and ci.round_speedups == pytest.approx((2.0, 2.0, 2.1))
    # steps never vary here, so the bootstrap spans the rounds [2.0, 2.1]; the t interval of the three
    # round speedups, computed by hand, is wider and wins
    logs = np.log([2.0, 2.0, 2.1])
    half = 4.302653 * logs.std(ddof=1) / np.sqrt(3)
    assert ci.ci_low == pytest.approx(np.exp(logs.mean() - half), rel=1e-4)
    assert ci.ci_high == pytest.approx(np.exp(logs.mean() + half), rel=1e-4)
