"""Tests for course_utils.evaluation.abtest against closed forms, scipy, published tables and simulation."""

import dataclasses
import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from course_utils.evaluation import abtest
from course_utils.evaluation.abtest.analysis import t_test_continuous, z_test_two_proportions
from course_utils.evaluation.abtest.design import (
    minimum_detectable_effect,
    minimum_detectable_effect_continuous,
    power_continuous,
    power_two_proportions,
    sample_size_continuous,
    sample_size_two_proportions,
)
from course_utils.evaluation.abtest.interleaving import simulate_interleaving, team_draft_interleave
from course_utils.evaluation.abtest.sequential import (
    boundary_crossing_probability,
    sequential_boundaries,
    simulate_peeking,
)
from course_utils.evaluation.abtest.simulation import simulate_ab_tests, simulate_user_level_ab

Z_975, Z_80 = stats.norm.ppf(0.975), stats.norm.ppf(0.80)


def mc_tolerance(p: float, n_sims: int, k: float = 4.0) -> float:
    """k Monte-Carlo standard errors of a simulated proportion."""
    return k * math.sqrt(p * (1 - p) / n_sims)


# ----------------------------------------------------------------------------- design


def test_sample_size_textbook_example_by_hand():
    # 10 % -> 12 %, alpha 0.05 two-sided, power 0.8, pooled variance under H0
    p1, p2 = 0.10, 0.12
    p_bar = (p1 + p2) / 2
    by_hand = (
        Z_975 * math.sqrt(2 * p_bar * (1 - p_bar)) + Z_80 * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2 / (p2 - p1) ** 2
    n = sample_size_two_proportions(0.10, absolute_lift=0.02)
    assert n == math.ceil(by_hand) == 3841
    assert sample_size_two_proportions(0.10, relative_lift=0.20) == n


def test_power_matches_statsmodels_published_value():
    # statsmodels 0.15.0: power_proportions_2indep(diff=0.02, prop2=0.10, nobs1=3841).power
    # (pooled variance under H0, unpooled under H1) prints 0.8000165286163737.
    assert power_two_proportions(0.10, 0.12, 3841) == pytest.approx(0.8000165286163737, abs=1e-12)


def test_power_by_hand_and_null_gives_alpha():
    p_a, p_b, n = 0.10, 0.11, 5000
    p_bar = (p_a + p_b) / 2
    se0 = math.sqrt(2 * p_bar * (1 - p_bar) / n)
    se1 = math.sqrt((p_a * (1 - p_a) + p_b * (1 - p_b)) / n)
    d = p_b - p_a
    by_hand = stats.norm.cdf((d - Z_975 * se0) / se1) + stats.norm.cdf((-d - Z_975 * se0) / se1)
    assert power_two_proportions(p_a, p_b, n) == pytest.approx(by_hand, rel=1e-12)
    assert power_two_proportions(0.3, 0.3, 1234) == pytest.approx(0.05)
    assert power_two_proportions(0.3, 0.3, 1234, alpha=0.1, two_sided=False) == pytest.approx(0.1)
    assert power_continuous(2.0, 0.0, 50) == pytest.approx(0.05)


def test_power_broadcasts_over_n():
    ns = np.array([100, 1000, 10_000])
    curve = power_two_proportions(0.10, 0.11, ns)
    assert isinstance(curve, np.ndarray) and curve.shape == (3,)
    assert curve == pytest.approx([power_two_proportions(0.10, 0.11, n) for n in ns])
    assert isinstance(power_two_proportions(0.10, 0.11, 100), float)


def test_sample_size_continuous_by_hand():
    # Cohen's d = 0.5: 2 (z_.975 + z_.8)^2 / 0.25 = 62.8 -> 63 per group (normal approximation)
    assert sample_size_continuous(1.0, 0.5) == math.ceil(2 * (Z_975 + Z_80) ** 2 / 0.25) == 63
    one_sided = 2 * (30.0 * (stats.norm.ppf(0.95) + stats.norm.ppf(0.9)) / 2.0) ** 2
    assert sample_size_continuous(30.0, -2.0, power=0.9, two_sided=False) == math.ceil(one_sided)


def test_minimum_detectable_effect_inverts_power():
    mde = minimum_detectable_effect(0.10, 5000)
    assert power_two_proportions(0.10, 0.10 + mde, 5000) == pytest.approx(0.8, abs=1e-9)
    assert minimum_detectable_effect(0.10, 5000, relative=True) == pytest.approx(mde / 0.10)
    mde_c = minimum_detectable_effect_continuous(30.0, 400, power=0.9)
    assert power_continuous(30.0, mde_c, 400) == pytest.approx(0.9, abs=1e-3)
    assert mde_c == pytest.approx((Z_975 + stats.norm.ppf(0.9)) * 30.0 * math.sqrt(2 / 400))


rates = st.floats(0.01, 0.5)
lifts = st.floats(0.05, 0.5)


@settings(max_examples=60, deadline=None)
@given(p=rates, lift=lifts, power=st.floats(0.5, 0.95), alpha=st.floats(0.005, 0.1))
def test_power_at_sample_size_reaches_target(p, lift, power, alpha):
    p_b = p * (1 + lift)
    n = sample_size_two_proportions(p, relative_lift=lift, alpha=alpha, power=power)
    assert power_two_proportions(p, p_b, n, alpha=alpha) >= power - 1e-9
    if n > 1:  # one user fewer falls short (up to the wrong-tail term, < Phi(-2 z_crit))
        assert power_two_proportions(p, p_b, n - 1, alpha=alpha) < power + 1e-3


@settings(max_examples=60, deadline=None)
@given(p=rates, lift=lifts, factor=st.floats(1.01, 3.0), n=st.integers(1, 100_000))
def test_power_increases_with_n_and_effect(p, lift, factor, n):
    p_b = p * (1 + lift)
    assert power_two_proportions(p, p_b, n) <= power_two_proportions(p, p_b, n * factor) + 1e-12
    bigger = min(p * (1 + lift * factor), 0.999)
    assert power_two_proportions(p, p_b, n) <= power_two_proportions(p, bigger, n) + 1e-12
    assert power_continuous(1.0, lift, n) <= power_continuous(1.0, lift * factor, n) + 1e-12
    assert power_continuous(1.0, lift, n) <= power_continuous(1.0, lift, n * factor) + 1e-12


@settings(max_examples=60, deadline=None)
@given(p=rates, lift=lifts, factor=st.floats(1.01, 3.0), power=st.floats(0.5, 0.9))
def test_sample_size_monotone(p, lift, factor, power):
    n = sample_size_two_proportions(p, relative_lift=lift, power=power)
    assert sample_size_two_proportions(p, relative_lift=min(lift * factor, 0.9), power=power) <= n
    assert sample_size_two_proportions(p, relative_lift=lift, power=min(power * factor, 0.99)) >= n
    assert sample_size_two_proportions(p, relative_lift=lift, power=power, alpha=0.01) >= n
    assert sample_size_two_proportions(p, relative_lift=lift, power=power, two_sided=False) <= n
    assert sample_size_continuous(1.0, lift * factor, power=power) <= sample_size_continuous(
        1.0, lift, power=power
    )


# ----------------------------------------------------------------------------- simulation


def test_simulated_power_matches_computed_power():
    n = sample_size_two_proportions(0.10, absolute_lift=0.02)
    computed = power_two_proportions(0.10, 0.12, n)
    simulated = simulate_ab_tests(0.10, 0.12, n, 20_000, random_state=1).mean()
    assert abs(simulated - computed) < 0.02
    aa = simulate_ab_tests(0.10, 0.10, n, 20_000, random_state=2).mean()
    assert abs(aa - 0.05) < mc_tolerance(0.05, 20_000)


def test_simulated_welch_power_matches_power_continuous():
    n, std = 200, 10.0
    effect = minimum_detectable_effect_continuous(std, n)  # power 0.8 by the normal formula
    rng = np.random.default_rng(3)
    a = rng.normal(0.0, std, size=(6_000, n))
    b = rng.normal(effect, std, size=(6_000, n))
    rejected = stats.ttest_ind(b, a, axis=1, equal_var=False).pvalue < 0.05
    assert abs(rejected.mean() - power_continuous(std, effect, n)) < 0.02


def test_simulate_ab_tests_pvalues_and_seeding():
    p_values = simulate_ab_tests(0.2, 0.22, 1000, 500, random_state=7, return_pvalues=True)
    rejected = simulate_ab_tests(0.2, 0.22, 1000, 500, random_state=7)
    assert p_values.shape == rejected.shape == (500,)
    assert rejected.dtype == bool
    np.testing.assert_array_equal(rejected, p_values < 0.05)
    assert np.all((p_values >= 0) & (p_values <= 1))


def test_simulate_user_level_ab():
    users = simulate_user_level_ab(10_001, 0.10, 0.10, random_state=0)
    assert list(users.columns) == ["user_id", "variant", "clicked"]
    assert users["user_id"].is_unique and len(users) == 10_001
    sizes = users["variant"].value_counts()
    assert sizes["A"] == 5001 and sizes["B"] == 5000
    again = simulate_user_level_ab(10_001, 0.10, 0.10, random_state=0)
    assert users.equals(again)
    big = simulate_user_level_ab(400_000, 0.10, 0.50, random_state=1)
    ctr = big.groupby("variant")["clicked"].mean()
    assert abs(ctr["A"] - 0.10) < mc_tolerance(0.10, 200_000)
    assert abs(ctr["B"] - 0.15) < mc_tolerance(0.15, 200_000)


# ----------------------------------------------------------------------------- analysis


def test_z_test_matches_direct_computation_and_chi_square():
    c_a, n_a, c_b, n_b = 500, 5000, 560, 5200
    p_a, p_b = c_a / n_a, c_b / n_b
    pooled = (c_a + c_b) / (n_a + n_b)
    z = (p_b - p_a) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    res = z_test_two_proportions(c_a, n_a, c_b, n_b)
    assert res.statistic == pytest.approx(z, rel=1e-12)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    assert (res.ci_low, res.ci_high) == pytest.approx(
        (p_b - p_a - Z_975 * se, p_b - p_a + Z_975 * se)
    )
    assert res.relative_lift == pytest.approx((p_b - p_a) / p_a)
    # the pooled z-test is the 2x2 chi-square test without continuity correction: z^2 = chi2
    table = [[c_a, n_a - c_a], [c_b, n_b - c_b]]
    chi2, p_chi2, _, _ = stats.chi2_contingency(table, correction=False)
    assert res.statistic**2 == pytest.approx(chi2, rel=1e-10)
    assert res.p_value == pytest.approx(p_chi2, rel=1e-9)


def test_t_test_matches_scipy_welch():
    rng = np.random.default_rng(5)
    a, b = rng.gamma(2.0, 20.0, size=300), rng.gamma(2.2, 20.0, size=450)
    res = t_test_continuous(a, b, alpha=0.1)
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.df == pytest.approx(ref.df, rel=1e-12)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert res.absolute_lift == pytest.approx(b.mean() - a.mean())


@pytest.mark.parametrize(
    ("c_b", "higher_is_better", "guardrails", "decision"),
    [
        (600, True, None, "ship"),
        (400, True, None, "don't ship"),
        (510, True, None, "inconclusive"),
        (400, False, None, "ship"),
        (600, True, {"p99 latency": True, "unsubscribes": False}, "don't ship"),
        (510, True, {"p99 latency": False}, "don't ship"),
        (600, True, {"p99 latency": True}, "ship"),
    ],
)
def test_decision_rule(c_b, higher_is_better, guardrails, decision):
    res = z_test_two_proportions(
        500, 5000, c_b, 5000, higher_is_better=higher_is_better, guardrails=guardrails
    )
    assert res.decision == decision
    if guardrails and not all(guardrails.values()):
        assert "unsubscribes" in res.reason or "p99 latency" in res.reason


def test_significantly_worse_feeds_guardrails():
    latency = t_test_continuous([100.0, 101, 99, 100, 102], [130.0, 131, 129, 133, 128],
                                higher_is_better=False)  # fmt: skip
    assert latency.significantly_worse and latency.decision == "don't ship"
    res = z_test_two_proportions(
        500, 5000, 600, 5000, guardrails={"latency": not latency.significantly_worse}
    )
    assert res.decision == "don't ship" and "latency" in res.reason


def test_report_rendering_is_deterministic_and_escaped():
    res = z_test_two_proportions(500, 5000, 550, 5000, guardrails={"a<b": True})
    text = str(res)
    assert text == str(z_test_two_proportions(500, 5000, 550, 5000, guardrails={"a<b": True}))
    assert "lift (B - A)" in text and "+10.00 % relative" in text
    assert "95 % CI of the lift : [-0.0020, +0.0220]" in text
    assert "INCONCLUSIVE" in text and "a<b: ok" in text
    page = res._repr_html_()
    assert page.startswith("<table>") and "a&lt;b: ok" in page and "a<b" not in page
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = 0.0  # type: ignore[misc]


# ----------------------------------------------------------------------------- peeking


@pytest.mark.parametrize(
    ("looks", "expected"),
    [(2, 0.083), (3, 0.107), (4, 0.126), (5, 0.142), (10, 0.193), (20, 0.248)],
)
def test_naive_crossing_probability_matches_armitage_table(looks, expected):
    # Armitage, McPherson & Rowe (1969), repeated significance tests at nominal 5 %
    assert boundary_crossing_probability(np.full(looks, Z_975)) == pytest.approx(expected, abs=6e-4)


@pytest.mark.parametrize(
    ("looks", "pocock", "obrien_fleming"),
    [(2, 2.178, 1.977), (3, 2.289, 2.004), (4, 2.361, 2.024), (5, 2.413, 2.040)],
)
def test_boundaries_match_published_tables(looks, pocock, obrien_fleming):
    # Jennison & Turnbull (2000), Tables 2.1 and 2.3, two-sided alpha = 0.05
    c = sequential_boundaries(looks, kind="pocock")
    np.testing.assert_allclose(c, pocock, atol=6e-4)
    obf = sequential_boundaries(looks, kind="obrien_fleming")
    np.testing.assert_allclose(obf, obrien_fleming * np.sqrt(looks / np.arange(1, looks + 1)),
                               atol=6e-4 * np.sqrt(looks))  # fmt: skip
    assert boundary_crossing_probability(c) == pytest.approx(0.05, abs=1e-6)


def test_fixed_and_bonferroni_boundaries():
    fixed = sequential_boundaries(7, kind="fixed")
    assert np.all(np.isinf(fixed[:-1])) and fixed[-1] == pytest.approx(Z_975)
    assert boundary_crossing_probability(fixed) == pytest.approx(0.05, abs=1e-9)
    assert sequential_boundaries(7, kind="bonferroni") == pytest.approx(stats.norm.isf(0.05 / 14))
    assert boundary_crossing_probability(sequential_boundaries(7, kind="bonferroni")) < 0.05


def test_peeking_inflates_false_positives_and_boundaries_fix_it():
    n_sims, days, per_day = 20_000, 14, 1000
    naive = simulate_peeking(n_sims, days, per_day, 0.10, random_state=11)
    exact_naive = boundary_crossing_probability(sequential_boundaries(days, kind="naive"))
    assert naive > 0.10
    assert abs(naive - exact_naive) < mc_tolerance(exact_naive, n_sims)
    for kind in ("fixed", "pocock", "obrien_fleming"):
        fpr = simulate_peeking(n_sims, days, per_day, 0.10, random_state=12, boundary=kind)
        assert abs(fpr - 0.05) < mc_tolerance(0.05, n_sims), kind
    bonferroni = simulate_peeking(
        n_sims, days, per_day, 0.10, random_state=13, boundary="bonferroni"
    )
    assert bonferroni < 0.05


def test_peeking_with_a_real_lift_reports_power():
    fixed = simulate_peeking(4000, 10, 2000, 0.10, relative_lift=0.10, random_state=4,
                             boundary="fixed")  # fmt: skip
    expected = power_two_proportions(0.10, 0.11, 10 * 2000)
    assert abs(fixed - expected) < mc_tolerance(expected, 4000)


# ----------------------------------------------------------------------------- interleaving


def test_team_draft_interleave_follows_the_draft_rule():
    rng = np.random.default_rng(8)
    n_users, n_items, length = 300, 8, 6
    rank_a = np.argsort(rng.random((n_users, n_items)), axis=1)
    rank_b = np.argsort(rng.random((n_users, n_items)), axis=1)
    shown, from_b = team_draft_interleave(rank_a, rank_b, length, random_state=9)
    assert shown.shape == from_b.shape == (n_users, length)
    for user in range(n_users):  # reference: replay the draft one pick at a time
        seen: list[int] = []
        picks = {False: 0, True: 0}
        for item, team_b in zip(shown[user], from_b[user], strict=True):
            if picks[True] != picks[False]:  # the team behind must pick
                assert team_b == (picks[True] < picks[False])
            ranking = rank_b[user] if team_b else rank_a[user]
            assert item == next(i for i in ranking if i not in seen)
            seen.append(int(item))
            picks[bool(team_b)] += 1
    assert abs(from_b[:, 0].mean() - 0.5) < mc_tolerance(0.5, n_users)  # fair coin


def test_interleaving_is_more_sensitive_and_calibrated():
    better = simulate_interleaving(300, 200, noise_b=0.4, random_state=21)
    assert better["interleaving"] > better["ab_test"] + 0.15
    equal = simulate_interleaving(200, 300, noise_b=1.0, random_state=22)
    for share in equal.values():  # significant in favour of B: alpha / 2 expected
        assert share < 0.025 + mc_tolerance(0.025, 300)


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size_two_proportions(1.5, 0.1), r"p_baseline must be in \(0, 1\); got 1.5"),
        (lambda: sample_size_two_proportions(0.0, 0.1), r"p_baseline must be in \(0, 1\)"),
        (lambda: sample_size_two_proportions(0.1, 0.1, power=1.0), r"power must be in \(0, 1\)"),
        (lambda: sample_size_two_proportions(0.1, 0.1, alpha=0), r"alpha must be in \(0, 1\)"),
        (lambda: sample_size_two_proportions(0.1), "exactly one of relative_lift"),
        (lambda: sample_size_two_proportions(0.1, 0.1, absolute_lift=0.01), "exactly one"),
        (lambda: sample_size_two_proportions(0.1, 0.0), "relative_lift must be a non-zero"),
        (lambda: sample_size_two_proportions(0.6, 1.0), r"outside \(0, 1\)"),
        (lambda: power_two_proportions(0.1, 0.2, 0), "n_per_arm must be >= 1; got 0.0"),
        (lambda: power_two_proportions(0.1, [0.2, 1.2], 10), r"p_treatment .* got 1.2"),
        (lambda: sample_size_continuous(0.0, 1.0), "std must be a positive finite number; got 0.0"),
        (lambda: minimum_detectable_effect_continuous(-1.0, 10), "std must be a positive"),
        (lambda: power_continuous(1.0, 0.5, 0.5), "n_per_arm must be >= 1"),
        (lambda: minimum_detectable_effect(0.1, 2), "too small"),
        (lambda: z_test_two_proportions(10, 5, 1, 5), "conversions cannot exceed users"),
        (lambda: z_test_two_proportions(1, 0, 1, 5), "n_a must be >= 1; got 0"),
        (lambda: z_test_two_proportions(0, 5, 0, 5), "undefined"),
        (lambda: z_test_two_proportions(1.5, 5, 1, 5), "whole number"),
        (lambda: t_test_continuous([1.0], [1.0, 2.0]), "at least 2 values"),
        (lambda: t_test_continuous([1.0, 1.0], [2.0, 2.0]), "zero variance"),
        (lambda: t_test_continuous([1.0, np.nan], [1.0, 2.0]), "NaN"),
        (lambda: simulate_ab_tests(0.1, 0.1, 0, 10), "n_per_arm must be >= 1; got 0"),
        (lambda: simulate_user_level_ab(1, 0.1, 0.1), "n_users must be >= 2"),
        (lambda: simulate_peeking(10, 5, 100, 0.1, boundary="magic"), "kind must be one of"),
        (lambda: simulate_peeking(10, 0, 100, 0.1), "n_days must be >= 1"),
        (lambda: boundary_crossing_probability([]), "non-empty"),
        (lambda: team_draft_interleave([[0, 1]], [[0, 0]], 2), "permutation"),
        (lambda: team_draft_interleave([[0, 1]], [[1, 0]], 3), "length must be <= n_items=2"),
        (lambda: simulate_interleaving(100, 2, n_items=5, length=6), "length must be <="),
    ],
)
def test_bad_inputs_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="guardrail 'latency' must map to a bool"):
        z_test_two_proportions(5, 50, 6, 50, guardrails={"latency": "ok"})
    with pytest.raises(TypeError, match="guardrails must be a mapping"):
        z_test_two_proportions(5, 50, 6, 50, guardrails=[True])
    with pytest.raises(TypeError, match="n_sims must be an integer"):
        simulate_ab_tests(0.1, 0.1, 10, "100")


def test_docstring_examples():
    tried = failures = 0
    for module in (
        abtest.design,
        abtest.analysis,
        abtest.simulation,
        abtest.sequential,
        abtest.interleaving,
    ):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        failures += result.failed
        tried += result.attempted
    assert tried > 10 and failures == 0
