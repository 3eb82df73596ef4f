"""Step 5, A/B test design: sample size, power and minimum detectable effect.

How many users per arm a test needs (``sample_size_*``), what power a given design has
(``power_*``) and the smallest lift it can detect (``minimum_detectable_effect*``), for
proportions (click-through, conversion) and continuous metrics (watch time). All use the
classic normal approximation. Arm A is the control and arm B the treatment.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from course_utils.evaluation.abtest._checks import (
    _check_at_least,
    _check_nonzero,
    _check_open_unit,
    _check_positive,
    _normal_power,
    _z_critical,
)

__all__ = [
    "minimum_detectable_effect",
    "minimum_detectable_effect_continuous",
    "power_continuous",
    "power_two_proportions",
    "sample_size_continuous",
    "sample_size_two_proportions",
]

# --------------------------------------------------------------------------- design


def _treatment_rate(p_baseline: float, relative_lift, absolute_lift) -> float:
    if (relative_lift is None) == (absolute_lift is None):
        raise ValueError(
            "give exactly one of relative_lift (e.g. 0.10 for +10 %) or absolute_lift "
            f"(e.g. 0.01 for +1 point); got relative_lift={relative_lift!r}, "
            f"absolute_lift={absolute_lift!r}"
        )
    if relative_lift is not None:
        p_treatment = p_baseline * (1 + float(_check_nonzero("relative_lift", relative_lift)))
    else:
        p_treatment = p_baseline + float(_check_nonzero("absolute_lift", absolute_lift))
    if not 0 < p_treatment < 1:
        raise ValueError(
            f"the lift takes the treatment rate outside (0, 1); got p_treatment={p_treatment!r}"
        )
    return p_treatment


def _two_proportion_sds(p_a, p_b):
    """Per-user standard deviations of the rate difference: pooled (H0) and unpooled (H1)."""
    p_bar = (p_a + p_b) / 2
    sd_null = np.sqrt(2 * p_bar * (1 - p_bar))
    sd_alt = np.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    return sd_null, sd_alt


def sample_size_two_proportions(
    p_baseline: float,
    relative_lift: float | None = None,
    *,
    absolute_lift: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> int:
    """Users per arm to detect a change in a conversion rate with a two-proportion z-test.

    The classic normal-approximation formula (Fleiss, Levin & Paik, 2003, ch. 4) with the
    **pooled** variance under the null hypothesis and the **unpooled** variance under the
    alternative -- the same convention as ``statsmodels.stats.proportion.power_proportions_2indep``::

        n = (z_crit * sqrt(2 p_bar (1 - p_bar)) + z_power * sqrt(p_a q_a + p_b q_b))^2 / (p_b - p_a)^2

    with ``p_bar = (p_a + p_b) / 2``, ``z_crit = z_{1 - alpha/2}`` (``z_{1 - alpha}`` one-sided)
    and ``z_power = z_{power}``, rounded up. A one-sided test looks in the direction of the lift.
    The formula ignores the (tiny) chance of rejecting in the wrong tail, so the power at the
    returned ``n`` is at least ``power``.

    Parameters
    ----------
    p_baseline : float
        Control conversion rate, in (0, 1).
    relative_lift : float, optional
        Lift to detect relative to the baseline (0.10 = +10 %).
    absolute_lift : float, optional
        Lift to detect in rate points (0.01 = +1 point). Give exactly one of the two lifts.
    alpha : float, default 0.05
        Significance level (false-positive rate), in (0, 1).
    power : float, default 0.8
        Probability of detecting the lift if it is real, in (0, 1).
    two_sided : bool, default True
        Two-sided test (the industry default) or one-sided in the direction of the lift.

    Returns
    -------
    int
        Users needed in **each** arm.

    Examples
    --------
    >>> sample_size_two_proportions(0.10, absolute_lift=0.02)
    3841
    >>> sample_size_two_proportions(0.10, relative_lift=0.10)  # +10 % CTR: 0.10 -> 0.11
    14751
    """
    p_a = float(_check_open_unit("p_baseline", p_baseline))
    _check_open_unit("alpha", alpha)
    _check_open_unit("power", power)
    p_b = _treatment_rate(p_a, relative_lift, absolute_lift)
    sd_null, sd_alt = _two_proportion_sds(p_a, p_b)
    z_crit, z_power = _z_critical(alpha, two_sided), float(stats.norm.ppf(power))
    n = ((z_crit * sd_null + z_power * sd_alt) / (p_b - p_a)) ** 2
    return max(1, math.ceil(n - 1e-9))  # the epsilon keeps 3841.0000000001 at 3841


def power_two_proportions(
    p_baseline: float,
    p_treatment,
    n_per_arm,
    *,
    alpha: float = 0.05,
    two_sided: bool = True,
) -> float | np.ndarray:
    """Probability that a two-proportion z-test with ``n_per_arm`` users per arm rejects.

    The test rejects when ``|p_B - p_A| > z_crit * se_null`` (pooled standard error); under the
    alternative the observed difference is ``N(p_treatment - p_baseline, se_alt^2)`` (unpooled),
    so the power is ``Phi((|d| - z_crit se_null) / se_alt) + Phi((-|d| - z_crit se_null) / se_alt)``
    (two-sided; the second term is the wrong-tail rejection, kept so that ``d = 0`` gives
    ``alpha``). ``p_treatment`` and ``n_per_arm`` broadcast, which makes power curves one call.

    Parameters
    ----------
    p_baseline : float
        Control conversion rate, in (0, 1).
    p_treatment : float or array-like
        True treatment conversion rate(s), in (0, 1).
    n_per_arm : float or array-like
        Users in each arm, >= 1.
    alpha : float, default 0.05
        Significance level.
    two_sided : bool, default True
        Two-sided test, or one-sided in the direction of the true lift.

    Returns
    -------
    float or ndarray
        Power, a float for scalar inputs.

    Examples
    --------
    >>> round(power_two_proportions(0.10, 0.12, 3841), 4)
    0.8
    >>> round(power_two_proportions(0.10, 0.11, 5000), 3)  # 10K users, +10 % CTR: underpowered
    0.371
    >>> power_two_proportions(0.10, 0.11, [5000, 15000]).round(3)
    array([0.371, 0.807])
    """
    p_a = _check_open_unit("p_baseline", p_baseline)
    p_b = _check_open_unit("p_treatment", p_treatment)
    n = _check_at_least("n_per_arm", n_per_arm, 1)
    _check_open_unit("alpha", alpha)
    sd_null, sd_alt = _two_proportion_sds(p_a, p_b)
    shift = np.abs(p_b - p_a) * np.sqrt(n) / sd_alt  # |d| / se_alt
    threshold = _z_critical(alpha, two_sided) * sd_null / sd_alt  # z_crit se_null / se_alt
    return _normal_power(shift, threshold, two_sided)


def minimum_detectable_effect(
    p_baseline: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    relative: bool = False,
) -> float:
    """Smallest upward lift in a conversion rate detected with probability ``power``.

    Solves ``power_two_proportions(p_baseline, p_baseline + mde, n_per_arm) = power`` for
    ``mde`` with Brent's method (the unpooled variance depends on the treatment rate, so there
    is no closed form).

    Parameters
    ----------
    p_baseline : float
        Control conversion rate, in (0, 1).
    n_per_arm : float
        Users in each arm, >= 1.
    alpha, power, two_sided
        As in :func:`sample_size_two_proportions`.
    relative : bool, default False
        Return the lift relative to the baseline (0.10 = +10 %) instead of rate points.

    Returns
    -------
    float
        The minimum detectable lift.

    Examples
    --------
    >>> round(minimum_detectable_effect(0.10, 3841), 4)
    0.02
    >>> round(minimum_detectable_effect(0.10, 5000, relative=True), 3)  # 10K-user test
    0.174
    """
    p_a = float(_check_open_unit("p_baseline", p_baseline))
    n = float(_check_at_least("n_per_arm", n_per_arm, 1))
    _check_open_unit("alpha", alpha)
    target = float(_check_open_unit("power", power))

    def gap(lift: float) -> float:
        return power_two_proportions(p_a, p_a + lift, n, alpha=alpha, two_sided=two_sided) - target

    lo, hi = 1e-12, (1 - p_a) * (1 - 1e-12)
    if gap(lo) >= 0:
        raise ValueError(f"power must exceed the false-positive rate; got power={power!r}")
    if gap(hi) < 0:
        raise ValueError(
            f"n_per_arm={n!r} is too small: even a treatment rate near 1 is detected "
            f"with power {gap(hi) + target:.3f} < {target}"
        )
    mde = optimize.brentq(gap, lo, hi, xtol=1e-12)
    return mde / p_a if relative else mde


def sample_size_continuous(
    std: float,
    min_detectable_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> int:
    """Users per arm to detect a shift in the mean of a continuous metric.

    Normal approximation with equal standard deviations in both arms::

        n = 2 std^2 (z_crit + z_power)^2 / effect^2

    rounded up. Adequate from a few dozen users per arm; below that, Welch's t-test has a little
    less power than this promises.

    Parameters
    ----------
    std : float
        Per-user standard deviation of the metric (e.g. minutes watched), > 0.
    min_detectable_effect : float
        Difference in means to detect, in the metric's units, non-zero.
    alpha, power, two_sided
        As in :func:`sample_size_two_proportions`.

    Returns
    -------
    int
        Users needed in each arm.

    Examples
    --------
    >>> sample_size_continuous(std=30.0, min_detectable_effect=1.0)  # 1 minute of watch time
    14128
    """
    sd = _check_positive("std", std)
    effect = float(_check_nonzero("min_detectable_effect", min_detectable_effect))
    _check_open_unit("alpha", alpha)
    _check_open_unit("power", power)
    z_sum = _z_critical(alpha, two_sided) + float(stats.norm.ppf(power))
    n = 2 * (sd * z_sum / effect) ** 2
    return max(1, math.ceil(n - 1e-9))


def power_continuous(
    std: float,
    effect,
    n_per_arm,
    *,
    alpha: float = 0.05,
    two_sided: bool = True,
) -> float | np.ndarray:
    """Power of a two-sample test of means (normal approximation, equal standard deviations).

    ``Phi(|effect| / se - z_crit) + Phi(-|effect| / se - z_crit)`` with
    ``se = std * sqrt(2 / n_per_arm)`` (second term two-sided only). Broadcasts over
    ``effect`` and ``n_per_arm``.

    Examples
    --------
    >>> round(power_continuous(30.0, 1.0, 14128), 3)
    0.8
    >>> round(power_continuous(30.0, 0.0, 100), 3)  # no effect: power equals alpha
    0.05
    """
    sd = _check_positive("std", std)
    effect = np.asarray(effect, dtype=float)
    if not np.all(np.isfinite(effect)):
        raise ValueError(f"effect must be finite; got {effect!r}")
    n = _check_at_least("n_per_arm", n_per_arm, 1)
    _check_open_unit("alpha", alpha)
    shift = np.abs(effect) / (sd * np.sqrt(2 / n))
    return _normal_power(shift, _z_critical(alpha, two_sided), two_sided)


def minimum_detectable_effect_continuous(
    std: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> float:
    """Smallest mean shift detected with probability ``power``: ``(z_crit + z_power) std sqrt(2/n)``.

    Examples
    --------
    >>> round(minimum_detectable_effect_continuous(30.0, 14128), 3)
    1.0
    """
    sd = _check_positive("std", std)
    n = float(_check_at_least("n_per_arm", n_per_arm, 1))
    _check_open_unit("alpha", alpha)
    _check_open_unit("power", power)
    return (_z_critical(alpha, two_sided) + float(stats.norm.ppf(power))) * sd * math.sqrt(2 / n)
