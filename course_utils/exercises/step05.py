"""Checks for the step 5 exercises (evaluation, offline and online).

* ``precision_at_k`` and ``ndcg_at_k`` are compared with :mod:`course_utils.evaluation.metrics` on
  hand-made hit matrices (``hits[u, i]`` is True when user ``u``'s item at rank ``i`` is
  relevant) and on a random batch of users;
* ``bootstrap_ci`` with :func:`course_utils.evaluation.bootstrap_ci` (same random procedure,
  so the intervals agree exactly);
* ``sample_size_two_proportions`` with :func:`course_utils.evaluation.abtest.sample_size_two_proportions`;
* ``peeking_false_positive_rate`` with :func:`course_utils.evaluation.abtest.simulate_peeking`, within a
  tolerance (two independent simulations of 20,000 A/A tests differ by chance);
* ``cuped_adjust`` with :func:`course_utils.evaluation.abtest.cuped_adjust`;
* ``srm_p_value`` with :func:`course_utils.evaluation.abtest.srm_test` (its ``p_value``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils import evaluation
from course_utils.evaluation import abtest, metrics
from course_utils.exercises.checking import Case, check_function, with_reference

__all__ = [
    "check_bootstrap_ci",
    "check_cuped_adjust",
    "check_ndcg_at_k",
    "check_peeking_false_positive_rate",
    "check_precision_at_k",
    "check_sample_size_two_proportions",
    "check_srm_p_value",
]

T, F = True, False

PRECISION_HINT = (
    "Only the first k ranks count, and the denominator is k whatever the hits. The last "
    "axis is the rank axis, so one code path can serve 1-D (one user) and 2-D input. "
    "Raise ValueError when k < 1."
)
NDCG_HINT = (
    "Rank 1 (index 0) has discount 1 / log2(2). The ideal list puts as many hits at the top "
    "as the user has relevant items, but never more than k. A user without relevant items "
    "scores 0 (no division by zero). k < 1 -> ValueError."
)


BOOTSTRAP_HINT = (
    "The check reproduces the course's random draws, so the procedure is fixed: one "
    "generator np.random.default_rng(seed), and resample b is row b of an (n_boot, n) "
    "table of user indices drawn with replacement (rng.integers or rng.choice, in one call "
    "or row by row, give the same table). Then the 2.5 % and 97.5 % quantiles of the "
    "resample means (np.quantile's default interpolation)."
)
SAMPLE_SIZE_HINT = (
    "p_b = p_a * (1 + relative_lift), p_bar = (p_a + p_b) / 2; z_crit = norm.ppf(1 - alpha / 2), "
    "z_power = norm.ppf(power); n = (z_crit * sqrt(2 p_bar (1 - p_bar)) + z_power * "
    "sqrt(p_a (1 - p_a) + p_b (1 - p_b)))**2 / (p_b - p_a)**2, rounded UP with math.ceil to an "
    "int (users per arm). Raise ValueError when p_b is not strictly between 0 and 1."
)
PEEKING_HINT = (
    "Draw rng.binomial(users_per_day_per_arm, p, size=(n_sims, n_days)) for each arm and "
    "cumsum along axis=1 to get running conversions; users so far = users_per_day_per_arm * "
    "(day + 1). The pooled z at every look is (p_B - p_A) / sqrt(p (1 - p) (2 / n)) with "
    "p = pooled rate; a test is a false positive if |z| > norm.ppf(1 - alpha / 2) at ANY look "
    "(.any(axis=1)); return the mean of that boolean as a float."
)


def _random_users(seed: int = 0, n_users: int = 40, length: int = 15):
    """A reproducible batch of users: hits (n_users, length) and consistent n_relevant."""
    rng = np.random.default_rng(seed)
    hits = rng.random((n_users, length)) < rng.uniform(0.0, 0.6, size=(n_users, 1))
    n_relevant = hits.sum(axis=1) + rng.integers(0, 6, size=n_users)
    return hits, n_relevant


def check_precision_at_k(fn: Callable) -> bool:
    """Check a learner's ``precision_at_k(hits, k)`` against ``metrics.precision_at_k``.

    Examples
    --------
    >>> ok = check_precision_at_k(metrics.precision_at_k)  # doctest: +ELLIPSIS
    ✅ precision_at_k: passed 7 checks
    ...
    """
    hits, _ = _random_users()
    cases = [
        Case(np.array([[T, F, T, F], [F, T, F, F]]), k=2, label="two users, k smaller than L"),
        Case(np.array([[F, F, F], [F, F, F]]), k=3, label="no hits -> 0"),
        Case(np.array([[T, T, T], [T, T, T]]), k=3, label="all hits -> 1, k equal to L"),
        Case(np.array([[F, F, T, T, T]]), k=2, label="hits beyond the top k do not count"),
        Case(np.array([T, F, T, F]), k=3, label="single user (1-D) -> one number"),
        Case(hits, k=10, label="40 random users (seed 0), k=10"),
        Case(np.array([[T, F]]), k=0, label="k=0 raises ValueError"),
    ]
    return check_function(
        fn,
        reference=metrics.precision_at_k,
        cases=cases,
        name="precision_at_k",
        hint=PRECISION_HINT,
    )


def check_ndcg_at_k(fn: Callable) -> bool:
    """Check a learner's ``ndcg_at_k(hits, n_relevant, k)`` against ``metrics.ndcg_at_k``.

    Examples
    --------
    >>> ok = check_ndcg_at_k(metrics.ndcg_at_k)  # doctest: +ELLIPSIS
    ✅ ndcg_at_k: passed 9 checks
    ...
    """
    hits, n_relevant = _random_users()
    cases = [
        Case(
            np.array([[T, F, T, F], [F, T, F, F], [F, F, F, T]]),
            np.array([3, 1, 2]),
            k=3,
            label="three users, k smaller than L",
        ),
        Case(np.array([[F, F, F], [F, F, F]]), np.array([2, 5]), k=3, label="no hits -> 0"),
        Case(np.array([[T, T, T]]), np.array([5]), k=3, label="all hits -> 1"),
        Case(
            np.array([[F, T, F, F], [T, F, F, F]]),
            np.array([1, 1]),
            k=4,
            label="n_relevant < k: ideal DCG over n_relevant ranks",
        ),
        Case(
            np.array([[F, F, F], [T, F, F]]),
            np.array([0, 1]),
            k=3,
            label="n_relevant == 0 -> 0 (no division by zero)",
        ),
        Case(np.array([F, T, T]), 4, k=3, label="single user (1-D), scalar n_relevant"),
        Case(
            np.array([[F, F, T, T]]), np.array([2]), k=2, label="hits beyond the top k do not count"
        ),
        Case(hits, n_relevant, k=10, label="40 random users (seed 0), k=10"),
        Case(np.array([[T, F]]), np.array([1]), k=0, label="k=0 raises ValueError"),
    ]
    return check_function(
        fn, reference=metrics.ndcg_at_k, cases=cases, name="ndcg_at_k", hint=NDCG_HINT
    )


# --------------------------------------------------------------------------- online
def _bootstrap_reference(values, n_boot, seed):
    return evaluation.bootstrap_ci(values, n_boot=n_boot, random_state=seed)


def check_bootstrap_ci(fn: Callable) -> bool:
    """Check a learner's ``bootstrap_ci(values, n_boot, seed)`` against the course's.

    The exercise fixes the random procedure (one ``rng.integers(0, n, size=(n_boot, n))``
    call), so the intervals must agree to floating-point precision. Every case keeps
    ``n * n_boot`` small enough for :func:`course_utils.evaluation.bootstrap_ci` to draw
    its indices in one call too.

    Examples
    --------
    >>> ok = check_bootstrap_ci(_bootstrap_reference)  # doctest: +ELLIPSIS
    ✅ bootstrap_ci: passed 5 checks
    ...
    """
    rng = np.random.default_rng(5)
    ndcg_like = np.where(rng.random(591) < 0.55, 0.0, rng.beta(2, 5, size=591))
    cases = [
        Case(np.r_[np.zeros(50), np.ones(50)], 1000, 0, label="100 users, half 0 half 1, seed 0"),
        Case(ndcg_like, 2000, 42, label="591 NDCG-like values (many zeros), seed 42"),
        Case(ndcg_like, 2000, 7, label="the same values with seed 7: another interval"),
        Case(np.array([0.2, 0.4, 0.1, 0.9, 0.0]), 500, 3, label="five users, 500 resamples"),
        Case(np.full(30, 0.25), 300, 1, label="constant values: the interval is one point"),
    ]
    return check_function(
        fn, reference=_bootstrap_reference, cases=cases, name="bootstrap_ci", hint=BOOTSTRAP_HINT
    )


def _sample_size_reference(p_baseline, relative_lift, alpha=0.05, power=0.8):
    return abtest.sample_size_two_proportions(
        p_baseline, relative_lift=relative_lift, alpha=alpha, power=power
    )


def check_sample_size_two_proportions(fn: Callable) -> bool:
    """Check ``sample_size_two_proportions(p_baseline, relative_lift, alpha, power)``.

    Examples
    --------
    >>> ok = check_sample_size_two_proportions(_sample_size_reference)  # doctest: +ELLIPSIS
    ✅ sample_size_two_proportions: passed 7 checks
    ...
    """
    cases = [
        Case(0.10, 0.10, label="CTR 10 %, +10 % relative lift"),
        Case(0.10, 0.05, label="half the lift needs about four times the users"),
        Case(0.02, 0.10, label="a rare event (2 %) needs many more users"),
        Case(0.30, -0.05, label="a decrease (-5 %) is detected like an increase"),
        Case(0.10, 0.10, alpha=0.01, power=0.9, label="stricter alpha and higher power"),
        Case(0.50, 0.50, label="a large effect needs few users"),
        Case(0.60, 1.0, label="p_b = 1.2 is not a rate: ValueError"),
    ]
    return check_function(
        fn,
        reference=_sample_size_reference,
        cases=cases,
        name="sample_size_two_proportions",
        hint=SAMPLE_SIZE_HINT,
    )


PEEKING_TOLERANCE = 0.015
"""Absolute tolerance: about 3.5 standard errors of the difference of two 20,000-test runs."""


def _rates_close(expected, got) -> str | None:
    try:
        got = float(np.asarray(got).item()) if np.size(got) == 1 else None
    except (TypeError, ValueError):
        got = None
    if got is None:
        return "expected one rate (a float between 0 and 1)"
    if not 0.0 <= got <= 1.0:
        return f"a rate lies between 0 and 1; received {got:.4g}"
    gap = got - float(expected)
    if abs(gap) > PEEKING_TOLERANCE:
        direction = "higher" if gap > 0 else "lower"
        return (
            f"{abs(gap):.3f} {direction} than the course's simulation, more than the "
            f"tolerance of {PEEKING_TOLERANCE} that chance alone explains"
        )
    return None


def _peeking_reference(n_sims, n_days, users_per_day_per_arm, p, alpha=0.05, seed=0):
    return abtest.simulate_peeking(
        n_sims, n_days, users_per_day_per_arm, p, alpha=alpha, random_state=seed
    )


def check_peeking_false_positive_rate(fn: Callable) -> bool:
    """Check ``peeking_false_positive_rate(n_sims, n_days, users_per_day_per_arm, p, alpha, seed)``.

    The learner's simulation and :func:`course_utils.evaluation.abtest.simulate_peeking` use different
    random draws, so the rates must agree within ``PEEKING_TOLERANCE`` (0.015).

    Examples
    --------
    >>> ok = check_peeking_false_positive_rate(_peeking_reference)  # doctest: +ELLIPSIS
    ✅ peeking_false_positive_rate: passed 4 checks
    ...
    """
    cases = [
        Case(20_000, 14, 1000, 0.10, label="14 daily looks at a 10 % CTR A/A test"),
        Case(20_000, 1, 1000, 0.10, label="one look only: the rate is alpha"),
        Case(20_000, 5, 500, 0.30, seed=1, label="5 looks, CTR 30 %, seed 1"),
        Case(20_000, 10, 1000, 0.10, alpha=0.01, label="10 looks at alpha = 0.01"),
    ]
    return check_function(
        fn,
        reference=_peeking_reference,
        cases=cases,
        name="peeking_false_positive_rate",
        hint=PEEKING_HINT,
        compare=_rates_close,
    )


# --------------------------------------------------------------------------- CUPED and SRM
CUPED_HINT = (
    "The adjustment subtracts the part of the metric that the pre-period covariate predicts. "
    "theta is the slope of a regression of metric on covariate (a covariance over a "
    "variance: use the same ddof for both), and centring the covariate keeps the metric's "
    "mean unchanged."
)
SRM_HINT = (
    "Compare the observed counts per arm with the counts the planned ratios predict for the "
    "same total; Pearson's statistic divides each squared gap by the predicted count, and "
    "its p-value comes from a chi-squared distribution with one fewer degree of freedom "
    "than there are arms."
)


def _cuped_reference(metric, covariate):
    return abtest.cuped_adjust(metric, covariate)


def check_cuped_adjust(fn: Callable) -> bool:
    """Check a learner's ``cuped_adjust(metric, covariate)`` against ``abtest.cuped_adjust``.

    Examples
    --------
    >>> ok = check_cuped_adjust(_cuped_reference)  # doctest: +ELLIPSIS
    ✅ cuped_adjust: passed 5 checks
    ...
    """
    rng = np.random.default_rng(11)
    pre = rng.gamma(2.0, 20.0, size=300)
    post = 0.8 * pre + rng.normal(0.0, 12.0, size=300) + 5.0
    cases = [
        Case(
            np.array([2.0, 4.0, 7.0, 9.0, 3.0]),
            np.array([1.0, 2.0, 3.0, 5.0, 1.0]),
            label="five users: theta = cov(y, x) / var(x) with the same ddof",
        ),
        Case(
            np.array([10.0, 12.0, 14.0, 16.0]),
            np.array([1.0, 2.0, 3.0, 4.0]),
            label="metric exactly linear in the covariate -> a constant equal to its mean",
        ),
        Case(
            np.array([5.0, 1.0, 4.0, 2.0]),
            np.array([100.0, 300.0, 200.0, 400.0]),
            label="negative slope, covariate on another scale (theta is not a correlation)",
        ),
        Case(post, pre, label="300 users (seed 11): the mean of the metric is kept"),
        Case(post[:50], pre[:50] + 1000.0, label="shifted covariate: centring matters"),
    ]
    return check_function(
        fn, reference=_cuped_reference, cases=cases, name="cuped_adjust", hint=CUPED_HINT
    )


def _srm_reference(counts, ratios=None):
    return abtest.srm_test(counts, ratios).p_value


def check_srm_p_value(fn: Callable) -> bool:
    """Check a learner's ``srm_p_value(counts, ratios=None)`` against ``abtest.srm_test``.

    Examples
    --------
    >>> ok = check_srm_p_value(_srm_reference)  # doctest: +ELLIPSIS
    ✅ srm_p_value: passed 6 checks
    ...
    """
    cases = [
        Case(np.array([50_000, 50_000]), label="exactly the planned 50/50 split -> p = 1"),
        Case(np.array([50_210, 49_790]), label="a small imbalance, well within chance"),
        Case(np.array([50_000, 48_800]), label="a redirect lost 1,200 treatment users"),
        Case(np.array([9_100, 900]), np.array([0.9, 0.1]), label="a planned 90/10 split"),
        Case(np.array([9_100, 900]), label="the same counts against the default 50/50 split"),
        Case(
            np.array([3_300, 3_350, 3_150]),
            np.array([1.0, 1.0, 1.0]),
            label="three arms: chi-squared with 2 degrees of freedom",
        ),
    ]
    return check_function(
        fn, reference=_srm_reference, cases=cases, name="srm_p_value", hint=SRM_HINT
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(metrics.precision_at_k)(check_precision_at_k)
with_reference(metrics.ndcg_at_k)(check_ndcg_at_k)
with_reference(_bootstrap_reference)(check_bootstrap_ci)
with_reference(_sample_size_reference)(check_sample_size_two_proportions)
with_reference(_peeking_reference)(check_peeking_false_positive_rate)
with_reference(_cuped_reference)(check_cuped_adjust)
with_reference(_srm_reference)(check_srm_p_value)
