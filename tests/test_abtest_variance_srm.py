"""Tests for abtest.variance (CUPED) and abtest.srm against closed forms, scipy and simulation."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from course_utils.evaluation.abtest import simulation, srm, variance
from course_utils.evaluation.abtest.simulation import simulate_pre_post
from course_utils.evaluation.abtest.srm import srm_test
from course_utils.evaluation.abtest.variance import cuped_adjust, cuped_test, cuped_theta


@pytest.mark.parametrize("module", [variance, srm, simulation])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------- CUPED
def test_theta_is_the_ols_slope():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 10.0, 500)
    y = 3.0 + 0.7 * x + rng.normal(0, 5, 500)
    slope = stats.linregress(x, y).slope
    assert cuped_theta(y, x) == pytest.approx(slope, rel=1e-10)


def test_adjustment_keeps_mean_and_removes_the_linear_part():
    rng = np.random.default_rng(1)
    x = rng.normal(10, 3, 1000)
    y = 2.0 * x + rng.normal(0, 1, 1000)
    adj = cuped_adjust(y, x)
    assert adj.mean() == pytest.approx(y.mean())
    assert abs(np.corrcoef(adj, x)[0, 1]) < 1e-10
    # residual variance of OLS equals (1 - rho^2) var(y)
    rho = np.corrcoef(x, y)[0, 1]
    assert adj.var() == pytest.approx((1 - rho**2) * y.var(), rel=1e-10)


@settings(max_examples=30)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=40),
    st.floats(-5, 5),
    st.floats(-100, 100),
)
def test_adjusted_variance_never_exceeds_raw(xs, slope, shift):
    x = np.array(xs)
    if np.ptp(x) < 1e-3:
        return
    y = slope * x + np.sin(np.arange(x.size)) * 10 + shift
    adj = cuped_adjust(y, x)
    assert adj.var() <= y.var() * (1 + 1e-9) + 1e-9
    assert adj.mean() == pytest.approx(y.mean(), abs=1e-6 * (1 + abs(y.mean())))


def test_cuped_keeps_the_effect_unbiased_and_shrinks_the_interval_by_sqrt_one_minus_rho2():
    """Over 200 simulated experiments with a known effect of 2 minutes."""
    plain, adjusted, widths = [], [], []
    for seed in range(200):
        u = simulate_pre_post(2000, effect=2.0, persistence=0.8, random_state=seed)
        a, b = u[u.variant == "A"], u[u.variant == "B"]
        res = cuped_test(a.post, a.pre, b.post, b.pre)
        plain.append(res.plain.absolute_lift)
        adjusted.append(res.adjusted.absolute_lift)
        widths.append(res.ci_width_ratio)
    # both unbiased for the true effect (standard error of the mean over 200 runs ~0.07 / 0.04)
    assert np.mean(plain) == pytest.approx(2.0, abs=0.3)
    assert np.mean(adjusted) == pytest.approx(2.0, abs=0.15)
    # empirical sd ratio ~ sqrt(1 - rho^2) = sqrt(0.36) = 0.6
    assert np.std(adjusted) / np.std(plain) == pytest.approx(0.6, abs=0.08)
    assert np.mean(widths) == pytest.approx(0.6, abs=0.03)


def test_cuped_false_positive_rate_is_alpha():
    rejections = [
        cuped_test(*_arms(simulate_pre_post(1000, random_state=s))).adjusted.p_value < 0.05
        for s in range(400)
    ]
    lo, hi = simulation.monte_carlo_interval(int(np.sum(rejections)), 400, confidence=0.999)
    assert lo <= 0.05 <= hi


def _arms(u):
    a, b = u[u.variant == "A"], u[u.variant == "B"]
    return a.post, a.pre, b.post, b.pre


def test_cuped_errors():
    with pytest.raises(ValueError, match="one value per user"):
        cuped_adjust([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="constant"):
        cuped_theta([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    with pytest.raises(ValueError, match="NaN"):
        cuped_adjust([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])


def test_simulate_pre_post_moments():
    u = simulate_pre_post(200_000, mean=45, sd=30, persistence=0.6, effect=0.0, random_state=3)
    assert u["pre"].mean() == pytest.approx(45, abs=0.3)
    assert u["post"].std() == pytest.approx(30, rel=0.02)
    assert np.corrcoef(u["pre"], u["post"])[0, 1] == pytest.approx(0.6, abs=0.01)
    assert (u["variant"] == "B").sum() == 100_000


# --------------------------------------------------------------------------- SRM
@pytest.mark.parametrize(
    "counts, ratios",
    [([5000, 5100], None), ([900, 120], [0.9, 0.1]), ([300, 310, 280], [1, 1, 1]), ([0, 7], None)],
)
def test_srm_matches_scipy_chisquare(counts, ratios):
    res = srm_test(counts, ratios)
    share = np.ones(len(counts)) if ratios is None else np.asarray(ratios, float)
    ref = stats.chisquare(counts, f_exp=np.sum(counts) * share / share.sum())
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)


def test_srm_false_alarm_rate_is_the_threshold_under_correct_assignment():
    rng = np.random.default_rng(0)
    n_b = rng.binomial(100_000, 0.5, size=20_000)
    flagged = [srm_test([100_000 - b, b], threshold=0.01).mismatch for b in n_b[:4000]]
    assert np.mean(flagged) == pytest.approx(0.01, abs=0.006)


def test_srm_catches_a_one_percent_loss_on_large_tests():
    assert srm_test([50_000, 49_500]).mismatch is False  # 1 % lost on one arm: too small
    assert srm_test([500_000, 495_000]).mismatch is True  # same share, 10x traffic


@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_srm_is_symmetric_and_p_in_unit_interval(a, b):
    one, two = srm_test([a, b]), srm_test([b, a])
    assert one.statistic == pytest.approx(two.statistic)
    assert 0.0 <= one.p_value <= 1.0


@pytest.mark.parametrize(
    "counts, ratios, message",
    [
        ([10], None, "at least two arms"),
        ([10, -1], None, "non-negative"),
        ([10.5, 3], None, "whole numbers"),
        ([0, 0], None, "all zero"),
        ([10, 10], [1, 1, 1], "one value per arm"),
        ([10, 10], [1, 0], "positive"),
    ],
)
def test_srm_errors(counts, ratios, message):
    with pytest.raises(ValueError, match=message):
        srm_test(counts, ratios)


def test_srm_str_mentions_the_verdict():
    assert "SAMPLE-RATIO MISMATCH" in str(srm_test([1000, 800]))
    assert "no mismatch" in str(srm_test([1000, 1001]))
