"""Tests for abtest.ratio (delta method) and abtest.quantiles (percentile guardrails)."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from course_utils.evaluation.abtest import quantiles, ratio
from course_utils.evaluation.abtest.quantiles import bootstrap_quantile_difference
from course_utils.evaluation.abtest.ratio import ratio_delta_se, ratio_test
from course_utils.evaluation.abtest.simulation import monte_carlo_interval, simulate_sessions


@pytest.mark.parametrize("module", [ratio, quantiles])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------- delta method
def test_delta_se_equals_the_mean_se_when_the_denominator_is_constant():
    rng = np.random.default_rng(0)
    num = rng.poisson(3, 400).astype(float)
    r, se = ratio_delta_se(num, np.full(400, 2.0))
    assert r == pytest.approx(num.mean() / 2)
    assert se == pytest.approx(stats.sem(num) / 2)


def test_delta_se_matches_a_user_level_bootstrap():
    rng = np.random.default_rng(1)
    den = 1 + rng.poisson(3, 3000)
    num = rng.poisson(den * rng.gamma(1.0, 0.3, 3000))
    _, se = ratio_delta_se(num, den)
    idx = rng.integers(0, 3000, size=(2000, 3000))
    boot = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    assert se == pytest.approx(boot.std(), rel=0.06)


def _user_totals(log):
    users = log["user_id"].to_numpy()
    clicks = np.bincount(users, weights=log["clicks"].to_numpy())
    sessions = np.bincount(users).astype(float)
    in_b = np.zeros(users.max() + 1, bool)
    in_b[users] = log["variant"].to_numpy() == "B"
    return clicks, sessions, in_b


def test_delta_method_is_calibrated_and_the_naive_session_se_is_not():
    """A/A tests on correlated sessions: the delta test holds alpha, the naive one does not."""
    diffs, delta_se, naive_se, delta_rej = [], [], [], []
    for seed in range(300):
        log = simulate_sessions(1500, heterogeneity=2.0, random_state=seed)
        clicks, sessions, in_b = _user_totals(log)
        res = ratio_test(clicks[~in_b], sessions[~in_b], clicks[in_b], sessions[in_b])
        diffs.append(res.absolute_lift)
        delta_se.append((res.ci_high - res.ci_low) / (2 * stats.norm.isf(0.025)))
        delta_rej.append(res.p_value < 0.05)
        per_session = log.groupby("variant")["clicks"]
        naive_se.append(np.sqrt((per_session.var() / per_session.count()).sum()))
    true_sd = np.std(diffs)
    assert np.mean(delta_se) == pytest.approx(true_sd, rel=0.12)
    assert np.mean(naive_se) < 0.85 * true_sd
    lo, hi = monte_carlo_interval(int(np.sum(delta_rej)), 300, confidence=0.999)
    assert lo <= 0.05 <= hi


def test_ratio_test_detects_a_real_lift_and_reports_relative_lift():
    log = simulate_sessions(40_000, relative_lift=0.10, random_state=2)
    clicks, sessions, in_b = _user_totals(log)
    res = ratio_test(clicks[~in_b], sessions[~in_b], clicks[in_b], sessions[in_b])
    assert res.ci_low > 0 and res.decision == "ship"
    assert res.relative_lift == pytest.approx(0.10, abs=0.03)


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 10)), min_size=2, max_size=30))
def test_delta_ratio_is_the_ratio_of_sums(pairs):
    num, den = np.array(pairs, dtype=float).T
    r, se = ratio_delta_se(num, den)
    assert r == pytest.approx(num.sum() / den.sum())
    assert se >= 0


def test_ratio_errors():
    with pytest.raises(ValueError, match="one value per user"):
        ratio_delta_se([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="positive total"):
        ratio_delta_se([1, 2], [0, 0])
    with pytest.raises(ValueError, match="at least 2"):
        ratio_delta_se([1], [1])


# --------------------------------------------------------------------------- quantiles
def test_point_estimate_is_numpy_quantile_and_shift_equivariant():
    rng = np.random.default_rng(0)
    a = rng.gamma(4, 20, size=(500, 4))
    res = bootstrap_quantile_difference(a, a + 7.0, q=0.9, n_boot=200, random_state=1)
    assert res.quantile_a == pytest.approx(np.quantile(a, 0.9))
    assert res.difference == pytest.approx(7.0)
    assert res.ci_low < 7.0 < res.ci_high


def test_one_request_per_user_equals_the_1d_call():
    rng = np.random.default_rng(2)
    a, b = rng.exponential(50, 400), rng.exponential(55, 400)
    one = bootstrap_quantile_difference(a, b, n_boot=300, random_state=5)
    two = bootstrap_quantile_difference(a[:, None], b[:, None], n_boot=300, random_state=5)
    assert one == two


def test_interval_covers_the_true_p90_difference_about_95_percent():
    """Exponential latencies: the true p90 is -scale * log(0.1)."""
    true = -np.log(0.1) * (60 - 50)
    rng = np.random.default_rng(3)
    covered = []
    for _ in range(150):
        a, b = rng.exponential(50, 800), rng.exponential(60, 800)
        res = bootstrap_quantile_difference(a, b, q=0.9, n_boot=300, random_state=rng)
        covered.append(res.ci_low <= true <= res.ci_high)
    assert 0.88 <= np.mean(covered) <= 1.0


def test_clustered_requests_widen_the_interval():
    """Requests that share a user effect: resampling users gives a wider interval than requests."""
    rng = np.random.default_rng(4)
    user = rng.gamma(2, 40, size=(1000, 1))
    a = user + rng.exponential(10, (1000, 10))
    b = a.copy()
    by_user = bootstrap_quantile_difference(a, b + 0, n_boot=300, random_state=0)
    by_request = bootstrap_quantile_difference(a.ravel(), b.ravel(), n_boot=300, random_state=0)
    assert by_user.ci_high - by_user.ci_low > 1.5 * (by_request.ci_high - by_request.ci_low)


def test_non_inferiority_and_errors():
    res = quantiles.QuantileDifference(0.99, 100.0, 103.0, 3.0, 1.0, 6.0)
    assert res.non_inferior(10.0) and not res.non_inferior(5.0)
    with pytest.raises(ValueError, match=">= 2 units"):
        bootstrap_quantile_difference([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="must be >= 100"):
        bootstrap_quantile_difference([1.0, 2.0], [1.0, 2.0], n_boot=10)
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        bootstrap_quantile_difference([1.0, 2.0], [1.0, 2.0], q=1.5)


# --------------------------------------------------------------------------- Monte Carlo interval
@pytest.mark.parametrize("k, n", [(0, 50), (1080, 20_000), (37, 200), (200, 200)])
def test_monte_carlo_interval_is_scipy_wilson(k, n):
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = monte_carlo_interval(k, n)
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-12)
