"""Step 5, ratio metrics (clicks per session) when the randomisation unit is the user.

A metric such as clicks per session is a ratio of two per-user sums, ``R = sum(N) / sum(D)``.
Its sessions are *not* independent: all sessions of one user share that user's taste and
habits, and whole users (not sessions) were randomised. Treating each session as an
independent observation ("naive" standard error) ignores that correlation and gives too
narrow intervals. The **delta method** linearises ``R`` around the per-user means
``mu_N, mu_D`` of ``n`` users:

``Var(R) ~ (1 / n) * (var_N / mu_D**2 - 2 mu_N cov_ND / mu_D**3 + mu_N**2 var_D / mu_D**4)``

which is the variance a user-level bootstrap of ``R`` estimates too (Deng et al., 2018).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from course_utils.evaluation.abtest._checks import _check_open_unit
from course_utils.evaluation.abtest.analysis import ABTestResult, _check_sample, _decide

__all__ = ["ratio_delta_se", "ratio_test"]


def _units(numerator, denominator) -> tuple[np.ndarray, np.ndarray]:
    num = _check_sample("numerator", numerator)
    den = _check_sample("denominator", denominator)
    if num.shape != den.shape:
        raise ValueError(
            f"numerator and denominator need one value per user each; got {num.size} and {den.size}"
        )
    if np.any(den < 0) or den.sum() <= 0:
        raise ValueError("denominator must be non-negative with a positive total")
    return num, den


def ratio_delta_se(numerator, denominator) -> tuple[float, float]:
    """The ratio ``sum(numerator) / sum(denominator)`` and its delta-method standard error.

    Parameters
    ----------
    numerator, denominator : array-like of float
        One value per randomisation unit (e.g. each user's clicks and sessions).

    Returns
    -------
    (ratio, standard_error) : tuple of float

    Examples
    --------
    >>> ratio, se = ratio_delta_se([3, 0, 5, 2], [2, 1, 4, 1])
    >>> round(ratio, 3), round(se, 3)
    (1.25, 0.222)
    """
    num, den = _units(numerator, denominator)
    n = num.size
    mu_n, mu_d = num.mean(), den.mean()
    ratio = mu_n / mu_d
    cov = np.cov(num, den)  # ddof=1
    var = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (n * mu_d**2)
    return float(ratio), float(math.sqrt(max(var, 0.0)))


def ratio_test(
    numerator_a,
    denominator_a,
    numerator_b,
    denominator_b,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> ABTestResult:
    """Two-sided z-test of the ratio metric of B against A with delta-method standard errors.

    The lift is ``R_B - R_A`` with ``se = sqrt(se_A**2 + se_B**2)`` (independent arms), the
    interval ``lift +- z_{1 - alpha/2} se``; decision as in
    :func:`~course_utils.evaluation.abtest.z_test_two_proportions`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sessions = 1 + rng.poisson(3, size=(2, 4000))
    >>> clicks = rng.poisson(sessions * np.array([[0.30], [0.33]]))
    >>> res = ratio_test(clicks[0], sessions[0], clicks[1], sessions[1])
    >>> res.decision, round(res.relative_lift, 3)
    ('ship', 0.072)
    """
    _check_open_unit("alpha", alpha)
    r_a, se_a = ratio_delta_se(numerator_a, denominator_a)
    r_b, se_b = ratio_delta_se(numerator_b, denominator_b)
    se = math.sqrt(se_a**2 + se_b**2)
    if se == 0:
        raise ValueError("the ratio test is undefined when both arms have zero variance")
    lift = r_b - r_a
    z = lift / se
    p_value = float(2 * stats.norm.sf(abs(z)))
    half = float(stats.norm.isf(alpha / 2)) * se
    decision, reason = _decide(p_value, lift, alpha, higher_is_better, ())
    return ABTestResult(
        test="delta-method ratio z-test",
        n_a=int(np.size(numerator_a)),
        n_b=int(np.size(numerator_b)),
        mean_a=r_a,
        mean_b=r_b,
        absolute_lift=lift,
        relative_lift=lift / r_a if r_a != 0 else math.nan,
        ci_low=lift - half,
        ci_high=lift + half,
        statistic=z,
        p_value=p_value,
        alpha=float(alpha),
        decision=decision,
        reason=reason,
        higher_is_better=higher_is_better,
    )
