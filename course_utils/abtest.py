"""Online evaluation: size an A/B test, analyse it, and see why peeking breaks it.

Five parts, top to bottom:

1. **Design** -- how many users per arm a test needs (``sample_size_*``), what power a
   given design has (``power_*``) and the smallest lift it can detect
   (``minimum_detectable_effect*``). All use the classic normal approximation.
2. **Analysis** -- the two-proportion z-test (conversion / click-through rates) and
   Welch's t-test (continuous metrics such as watch time), each returning an
   :class:`ABTestResult` with the lift, its confidence interval, the p-value and a
   ship / don't ship / inconclusive decision (with a guardrail hook).
3. **Simulation** -- many A/B tests at once from binomial draws (``simulate_ab_tests``)
   to check power empirically, and one user-level test (``simulate_user_level_ab``).
4. **Peeking** -- A/A tests looked at every day (``simulate_peeking``): stopping at the
   first "significant" look inflates the false-positive rate; Bonferroni, Pocock and
   O'Brien-Fleming boundaries (``sequential_boundaries``, computed by exact numerical
   integration, no simulation) bring it back to ``alpha``.
5. **Interleaving** -- team-draft interleaving (``team_draft_interleave``) and a small
   simulation of how much more sensitive it is than an A/B test (``simulate_interleaving``).

Arm A is always the control and arm B the treatment; a lift is B minus A.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from course_utils.schema import USER_ID

__all__ = [
    "ABTestResult",
    "boundary_crossing_probability",
    "minimum_detectable_effect",
    "minimum_detectable_effect_continuous",
    "power_continuous",
    "power_two_proportions",
    "sample_size_continuous",
    "sample_size_two_proportions",
    "sequential_boundaries",
    "simulate_ab_tests",
    "simulate_interleaving",
    "simulate_peeking",
    "simulate_user_level_ab",
    "t_test_continuous",
    "team_draft_interleave",
    "z_test_two_proportions",
]

BOUNDARIES = ("naive", "fixed", "bonferroni", "pocock", "obrien_fleming")


# --------------------------------------------------------------------------- checks


def _first_bad(arr: np.ndarray, ok: np.ndarray) -> object:
    bad = arr[~ok]
    return bad.flat[0].item() if bad.size else arr


def _check_open_unit(name: str, value) -> np.ndarray:
    """Values strictly inside (0, 1), e.g. a rate, alpha or power."""
    arr = np.asarray(value, dtype=float)
    ok = (arr > 0) & (arr < 1)  # NaN fails both comparisons
    if not np.all(ok):
        raise ValueError(f"{name} must be in (0, 1); got {_first_bad(arr, ok)!r}")
    return arr


def _check_at_least(name: str, value, minimum: float) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    ok = np.isfinite(arr) & (arr >= minimum)
    if not np.all(ok):
        raise ValueError(f"{name} must be >= {minimum:g}; got {_first_bad(arr, ok)!r}")
    return arr


def _check_count(name: str, value, minimum: int = 1) -> int:
    """A whole number >= minimum (numpy integers and integral floats are accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(value)


def _check_positive(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return value


def _check_nonzero(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    ok = np.isfinite(arr) & (arr != 0)
    if not np.all(ok):
        raise ValueError(f"{name} must be a non-zero finite number; got {_first_bad(arr, ok)!r}")
    return arr


def _scalar_or_array(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if np.ndim(arr) == 0 else arr


def _z_critical(alpha: float, two_sided: bool) -> float:
    """The normal quantile a |z| (two-sided) or z (one-sided) must exceed to reject."""
    return float(stats.norm.isf(alpha / 2 if two_sided else alpha))


def _normal_power(shift, threshold, two_sided: bool):
    """P(reject) when the test statistic is N(shift, 1) and rejects beyond ``threshold``."""
    power = stats.norm.cdf(shift - threshold)
    if two_sided:
        power = power + stats.norm.cdf(-shift - threshold)
    return _scalar_or_array(power)


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


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class ABTestResult:
    """The outcome of one A/B test (A = control, B = treatment; lift = B - A).

    Attributes
    ----------
    test : str
        ``"two-proportion z-test"`` or ``"Welch t-test"``.
    n_a, n_b : int
        Users per arm.
    mean_a, mean_b : float
        Conversion rate or mean of the metric per arm.
    absolute_lift : float
        ``mean_b - mean_a``.
    relative_lift : float
        ``absolute_lift / mean_a`` (NaN when ``mean_a`` is 0).
    ci_low, ci_high : float
        Confidence interval of ``absolute_lift`` at level ``1 - alpha``.
    statistic : float
        z (pooled standard error) or Welch's t.
    p_value : float
        Two-sided p-value.
    alpha : float
        Significance level used for the decision and the interval.
    decision : str
        ``"ship"``, ``"don't ship"`` or ``"inconclusive"``, see ``reason``.
    reason : str
        One sentence explaining the decision.
    df : float or None
        Welch-Satterthwaite degrees of freedom (t-test only).
    higher_is_better : bool
        Whether an increase of the metric is an improvement.
    guardrails : tuple of (str, bool)
        Guardrail metrics and whether each passed.
    """

    test: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    absolute_lift: float
    relative_lift: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    alpha: float
    decision: str
    reason: str
    df: float | None = None
    higher_is_better: bool = True
    guardrails: tuple[tuple[str, bool], ...] = ()

    @property
    def significant(self) -> bool:
        """Whether the p-value is below ``alpha``."""
        return self.p_value < self.alpha

    @property
    def significantly_worse(self) -> bool:
        """Significant and in the harmful direction: use it to feed another test's guardrails."""
        worse = self.absolute_lift < 0 if self.higher_is_better else self.absolute_lift > 0
        return self.significant and worse

    def _rows(self) -> list[tuple[str, str]]:
        stat = "t" if self.df is not None else "z"
        stat_text = f"{stat} = {self.statistic:.3f}"
        if self.df is not None:
            stat_text += f" (df = {self.df:.1f})"
        p_text = "< 0.0001" if self.p_value < 1e-4 else f"{self.p_value:.4f}"
        rel = "n/a" if math.isnan(self.relative_lift) else f"{100 * self.relative_lift:+.2f} %"
        rows = [
            ("A (control)", f"n = {self.n_a:,}, mean = {_num(self.mean_a)}"),
            ("B (treatment)", f"n = {self.n_b:,}, mean = {_num(self.mean_b)}"),
            ("lift (B - A)", f"{_num(self.absolute_lift, sign=True)} absolute, {rel} relative"),
            (
                f"{100 * (1 - self.alpha):g} % CI of the lift",
                f"[{_num(self.ci_low, sign=True)}, {_num(self.ci_high, sign=True)}]",
            ),
            ("test statistic", stat_text),
            ("p-value", f"{p_text} (alpha = {self.alpha:g})"),
        ]
        if self.guardrails:
            text = ", ".join(f"{name}: {'ok' if ok else 'FAILED'}" for name, ok in self.guardrails)
            rows.append(("guardrails", text))
        rows.append(("decision", f"{self.decision.upper()} - {self.reason}"))
        return rows

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        lines = [f"A/B test report ({self.test})"]
        lines += [f"  {label:<{width}} : {value}" for label, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
            for label, value in self._rows()
        )
        caption = html.escape(f"A/B test report ({self.test})")
        return f"<table><caption>{caption}</caption>{body}</table>"


def _num(x: float, sign: bool = False) -> str:
    spec = "+" if sign else ""
    return f"{x:{spec},.1f}" if abs(x) >= 1000 else f"{x:{spec}.4f}"


def _check_guardrails(guardrails: Mapping[str, bool] | None) -> tuple[tuple[str, bool], ...]:
    if guardrails is None:
        return ()
    if not isinstance(guardrails, Mapping):
        raise TypeError(
            f"guardrails must be a mapping name -> passed (bool); got {type(guardrails).__name__}"
        )
    out = []
    for name, passed in guardrails.items():
        if not isinstance(passed, (bool, np.bool_)):
            raise TypeError(
                f"guardrail {name!r} must map to a bool (True = passed); "
                f"got {type(passed).__name__}"
            )
        out.append((str(name), bool(passed)))
    return tuple(out)


def _decide(
    p_value: float,
    lift: float,
    alpha: float,
    higher_is_better: bool,
    guardrails: tuple[tuple[str, bool], ...],
) -> tuple[str, str]:
    """The decision rule, in order: guardrails, significance, direction."""
    failed = [name for name, ok in guardrails if not ok]
    if failed:
        return "don't ship", f"guardrail(s) failed: {', '.join(failed)}"
    if not p_value < alpha:
        return "inconclusive", (
            f"p-value {p_value:.4f} >= alpha {alpha:g}: the data cannot tell B from A "
            "(check the test was powered for the lift you care about)"
        )
    better = lift > 0 if higher_is_better else lift < 0
    if better:
        return "ship", f"B is significantly better than A (p-value {p_value:.4g} < {alpha:g})"
    return "don't ship", f"B is significantly worse than A (p-value {p_value:.4g} < {alpha:g})"


def _pooled_z(conv_a, n_a, conv_b, n_b) -> np.ndarray:
    """Vectorised two-proportion z statistic with the pooled standard error (0 when undefined)."""
    conv_a, conv_b = np.asarray(conv_a, dtype=float), np.asarray(conv_b, dtype=float)
    diff = conv_b / n_b - conv_a / n_a
    pooled = (conv_a + conv_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    return np.divide(diff, se, out=np.zeros(np.broadcast(diff, se).shape), where=se > 0)


def z_test_two_proportions(
    conversions_a: int,
    n_a: int,
    conversions_b: int,
    n_b: int,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    guardrails: Mapping[str, bool] | None = None,
) -> ABTestResult:
    """Two-sided two-proportion z-test of B's conversion rate against A's.

    The statistic uses the **pooled** standard error (the null hypothesis says both arms share
    one rate): ``z = (p_B - p_A) / sqrt(p (1 - p) (1/n_A + 1/n_B))`` with
    ``p = (c_A + c_B) / (n_A + n_B)``; the p-value is ``2 (1 - Phi(|z|))``. The confidence
    interval uses the **unpooled** (Wald) standard error
    ``sqrt(p_A (1 - p_A) / n_A + p_B (1 - p_B) / n_B)``, as it describes the difference
    rather than testing it is zero.

    Decision rule: ``"don't ship"`` if any guardrail failed; otherwise ``"inconclusive"`` if
    ``p >= alpha``; otherwise ``"ship"`` when B is better (higher, or lower if
    ``higher_is_better=False``) and ``"don't ship"`` when B is worse.

    Parameters
    ----------
    conversions_a, n_a : int
        Conversions (e.g. users who clicked) and users in the control arm.
    conversions_b, n_b : int
        The same for the treatment arm.
    alpha : float, default 0.05
        Significance level; the interval has level ``1 - alpha``.
    higher_is_better : bool, default True
        Whether an increase is an improvement.
    guardrails : mapping of str to bool, optional
        The guardrail hook: metrics that must not get worse (latency, unsubscribes, ...)
        mapped to whether they passed, e.g.
        ``{"p99 latency": not latency_result.significantly_worse}``. Any ``False``
        forces ``"don't ship"``.

    Returns
    -------
    ABTestResult

    Examples
    --------
    >>> print(z_test_two_proportions(500, 5000, 550, 5000))  # doctest: +NORMALIZE_WHITESPACE
    A/B test report (two-proportion z-test)
      A (control)         : n = 5,000, mean = 0.1000
      B (treatment)       : n = 5,000, mean = 0.1100
      lift (B - A)        : +0.0100 absolute, +10.00 % relative
      95 % CI of the lift : [-0.0020, +0.0220]
      test statistic      : z = 1.631
      p-value             : 0.1029 (alpha = 0.05)
      decision            : INCONCLUSIVE - p-value 0.1029 >= alpha 0.05: the data cannot
      tell B from A (check the test was powered for the lift you care about)
    >>> z_test_two_proportions(500, 5000, 591, 5000).decision
    'ship'
    >>> z_test_two_proportions(500, 5000, 591, 5000, guardrails={"p99 latency": False}).decision
    "don't ship"
    """
    n_a = _check_count("n_a", n_a)
    n_b = _check_count("n_b", n_b)
    c_a = _check_count("conversions_a", conversions_a, minimum=0)
    c_b = _check_count("conversions_b", conversions_b, minimum=0)
    if c_a > n_a or c_b > n_b:
        raise ValueError(
            f"conversions cannot exceed users; got conversions_a={c_a} of n_a={n_a}, "
            f"conversions_b={c_b} of n_b={n_b}"
        )
    _check_open_unit("alpha", alpha)
    checked_guardrails = _check_guardrails(guardrails)
    pooled = (c_a + c_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        raise ValueError(
            "the z-test is undefined when no user (or every user) converted in both arms; "
            f"got {c_a}/{n_a} and {c_b}/{n_b}"
        )

    p_a, p_b = c_a / n_a, c_b / n_b
    lift = p_b - p_a
    z = float(_pooled_z(c_a, n_a, c_b, n_b))
    p_value = float(2 * stats.norm.sf(abs(z)))
    se_unpooled = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half_width = _z_critical(alpha, two_sided=True) * se_unpooled
    decision, reason = _decide(p_value, lift, alpha, higher_is_better, checked_guardrails)
    return ABTestResult(
        test="two-proportion z-test",
        n_a=n_a,
        n_b=n_b,
        mean_a=p_a,
        mean_b=p_b,
        absolute_lift=lift,
        relative_lift=lift / p_a if p_a > 0 else math.nan,
        ci_low=lift - half_width,
        ci_high=lift + half_width,
        statistic=z,
        p_value=p_value,
        alpha=float(alpha),
        decision=decision,
        reason=reason,
        higher_is_better=higher_is_better,
        guardrails=checked_guardrails,
    )


def _check_sample(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 values; got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return arr


def t_test_continuous(
    values_a,
    values_b,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    guardrails: Mapping[str, bool] | None = None,
) -> ABTestResult:
    """Welch's two-sided t-test of B's mean against A's (unequal variances).

    ``t = (mean_B - mean_A) / se`` with ``se = sqrt(s_A^2 / n_A + s_B^2 / n_B)`` and the
    Welch-Satterthwaite degrees of freedom
    ``df = se^4 / ((s_A^2/n_A)^2 / (n_A - 1) + (s_B^2/n_B)^2 / (n_B - 1))``; the interval is
    ``lift +- t_{1 - alpha/2, df} se``. Same result as
    ``scipy.stats.ttest_ind(values_b, values_a, equal_var=False)``. Decision rule and guardrails
    as in :func:`z_test_two_proportions`.

    Parameters
    ----------
    values_a, values_b : array-like of float
        One value per user (e.g. minutes watched), at least 2 per arm.
    alpha, higher_is_better, guardrails
        As in :func:`z_test_two_proportions`.

    Returns
    -------
    ABTestResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> watch_a = rng.normal(45.0, 30.0, size=4000)
    >>> watch_b = rng.normal(46.5, 30.0, size=4000)
    >>> result = t_test_continuous(watch_a, watch_b)
    >>> result.decision, round(result.absolute_lift, 2), round(result.p_value, 4)
    ('ship', 2.44, 0.0003)
    """
    a = _check_sample("values_a", values_a)
    b = _check_sample("values_b", values_b)
    _check_open_unit("alpha", alpha)
    checked_guardrails = _check_guardrails(guardrails)
    var_a, var_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size  # squared standard errors
    se = math.sqrt(var_a + var_b)
    if se == 0:
        raise ValueError("the t-test is undefined when both arms have zero variance")

    mean_a, mean_b = float(a.mean()), float(b.mean())
    lift = mean_b - mean_a
    t = lift / se
    df = (var_a + var_b) ** 2 / (var_a**2 / (a.size - 1) + var_b**2 / (b.size - 1))
    p_value = float(2 * stats.t.sf(abs(t), df))
    half_width = float(stats.t.isf(alpha / 2, df)) * se
    decision, reason = _decide(p_value, lift, alpha, higher_is_better, checked_guardrails)
    return ABTestResult(
        test="Welch t-test",
        n_a=int(a.size),
        n_b=int(b.size),
        mean_a=mean_a,
        mean_b=mean_b,
        absolute_lift=lift,
        relative_lift=lift / mean_a if mean_a != 0 else math.nan,
        ci_low=lift - half_width,
        ci_high=lift + half_width,
        statistic=t,
        p_value=p_value,
        alpha=float(alpha),
        decision=decision,
        reason=reason,
        df=float(df),
        higher_is_better=higher_is_better,
        guardrails=checked_guardrails,
    )


# --------------------------------------------------------------------------- simulation


def simulate_ab_tests(
    p_a: float,
    p_b: float,
    n_per_arm: int,
    n_sims: int,
    *,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = None,
    return_pvalues: bool = False,
) -> np.ndarray:
    """Run ``n_sims`` independent A/B tests at once and z-test each one.

    Each simulated test draws its conversion counts as ``Binomial(n_per_arm, p)`` per arm (the
    sum of the users' Bernoulli clicks, without materialising the users) and applies the pooled
    two-proportion z-test. The share of rejections estimates the power (``p_a != p_b``) or the
    false-positive rate (``p_a == p_b``, an A/A test).

    Parameters
    ----------
    p_a, p_b : float
        True conversion rates of control and treatment, in (0, 1).
    n_per_arm : int
        Users per arm, >= 1.
    n_sims : int
        Number of simulated tests, >= 1.
    alpha : float, default 0.05
        Significance level of each (two-sided) test.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.
    return_pvalues : bool, default False
        Return the p-values instead of the rejection booleans.

    Returns
    -------
    ndarray of shape (n_sims,)
        ``p_value < alpha`` per test (bool), or the p-values.

    Examples
    --------
    >>> rejected = simulate_ab_tests(0.10, 0.11, 5000, 20_000, random_state=0)
    >>> round(float(rejected.mean()), 3)  # empirical power of the 10K-user design
    0.371
    """
    p_a = float(_check_open_unit("p_a", p_a))
    p_b = float(_check_open_unit("p_b", p_b))
    n = _check_count("n_per_arm", n_per_arm)
    n_sims = _check_count("n_sims", n_sims)
    _check_open_unit("alpha", alpha)
    rng = np.random.default_rng(random_state)
    conv_a = rng.binomial(n, p_a, size=n_sims)
    conv_b = rng.binomial(n, p_b, size=n_sims)
    p_values = 2 * stats.norm.sf(np.abs(_pooled_z(conv_a, n, conv_b, n)))
    return p_values if return_pvalues else p_values < alpha


def simulate_user_level_ab(
    n_users: int,
    p_a: float,
    relative_lift: float,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """One A/B test at user level: random 50/50 assignment, then one Bernoulli click per user.

    Users are split by a random permutation, so arm B gets exactly ``n_users // 2`` users and
    arm A the rest; user ``u`` clicks with probability ``p_a`` in A and
    ``p_a * (1 + relative_lift)`` in B.

    Parameters
    ----------
    n_users : int
        Users in the whole test, >= 2.
    p_a : float
        Control click-through rate, in (0, 1).
    relative_lift : float
        True relative lift of the treatment (0.10 = +10 %; 0 gives an A/A test).
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    DataFrame
        One row per user: ``user_id`` (int64, 0..n_users-1), ``variant`` (``"A"``/``"B"``)
        and ``clicked`` (bool).

    Examples
    --------
    >>> users = simulate_user_level_ab(10_000, 0.10, 0.10, random_state=42)
    >>> counts = users.groupby("variant")["clicked"].agg(["sum", "count"])
    >>> counts.to_dict("index")
    {'A': {'sum': 506, 'count': 5000}, 'B': {'sum': 518, 'count': 5000}}
    >>> result = z_test_two_proportions(*counts.loc["A"], *counts.loc["B"])
    >>> round(result.statistic, 2), result.decision
    (0.4, 'inconclusive')
    """
    n_users = _check_count("n_users", n_users, minimum=2)
    p_a = float(_check_open_unit("p_a", p_a))
    lift = float(relative_lift)
    p_b = float(_check_open_unit("p_a * (1 + relative_lift)", p_a * (1 + lift)))
    rng = np.random.default_rng(random_state)
    in_b = rng.permutation(n_users) < n_users // 2
    clicked = rng.random(n_users) < np.where(in_b, p_b, p_a)
    return pd.DataFrame(
        {
            USER_ID: np.arange(n_users, dtype=np.int64),
            "variant": np.where(in_b, "B", "A"),
            "clicked": clicked,
        }
    )


# --------------------------------------------------------------------------- peeking


def _simpson_grid(half_width: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and composite-Simpson weights on [-half_width, half_width]."""
    m = 2 * max(1, math.ceil(half_width / step)) + 1  # odd number of nodes
    x, h = np.linspace(-half_width, half_width, m, retstep=True)
    w = np.full(m, 2.0)
    w[1::2] = 4.0
    w[[0, -1]] = 1.0
    return x, w * h / 3


def boundary_crossing_probability(z_boundaries, *, step: float = 0.1) -> float:
    """Chance that an A/A test crosses a two-sided boundary at some look.

    The looks are equally spaced in information (the same number of new users before each), so
    under the null hypothesis the cumulative score ``S_k = sqrt(k) Z_k`` is a Gaussian random
    walk with unit-variance steps. The probability that ``|Z_k| >= z_boundaries[k]`` at some look
    is computed exactly (up to quadrature error ~1e-6) with the recursive numerical integration
    of Armitage, McPherson & Rowe (1969), as in Jennison & Turnbull (2000, ch. 19): the density
    of ``S_k`` on the continuation region is carried from look to look by Simpson's rule.
    Infinite entries mean "no test at this look".

    Parameters
    ----------
    z_boundaries : array-like of float
        Critical |z| value at each look (``np.inf`` to skip a look).
    step : float, default 0.1
        Grid spacing on the score scale.

    Returns
    -------
    float
        The overall false-positive rate of the sequential design.

    Examples
    --------
    >>> round(boundary_crossing_probability([1.96] * 5), 3)  # five naive looks
    0.142
    """
    b = np.asarray(z_boundaries, dtype=float)
    if b.ndim != 1 or b.size < 1:
        raise ValueError(f"z_boundaries must be a non-empty 1-D array; got shape {b.shape}")
    if np.any(np.isnan(b)) or np.any(b <= 0):
        raise ValueError("z_boundaries must be positive (np.inf for looks without a test)")
    looks = np.flatnonzero(np.isfinite(b))
    if looks.size == 0:
        return 0.0
    times = looks + 1.0  # information (in units of one look) at each tested look
    a = b[looks] * np.sqrt(times)  # boundaries on the score scale
    steps_sd = np.sqrt(np.diff(times, prepend=0.0))  # sd of the walk between tested looks

    crossing = 2 * stats.norm.sf(a[0] / steps_sd[0])
    x, w = _simpson_grid(a[0], step)
    density = stats.norm.pdf(x, scale=steps_sd[0])  # of S on the continuation region
    for k in range(1, looks.size):  # one iteration per look: O(n_looks), not per user
        sd = steps_sd[k]
        mass = w * density
        crossing += mass @ (stats.norm.sf((a[k] - x) / sd) + stats.norm.cdf((-a[k] - x) / sd))
        x_new, w_new = _simpson_grid(a[k], step)
        density = stats.norm.pdf(x_new[:, None] - x[None, :], scale=sd) @ mass
        x, w = x_new, w_new
    return float(crossing)


def sequential_boundaries(n_looks: int, *, kind: str = "pocock", alpha: float = 0.05) -> np.ndarray:
    """Critical |z| at each of ``n_looks`` equally spaced looks of a two-sided test.

    * ``"naive"`` -- ``z_{1 - alpha/2}`` at every look (peeking; false-positive rate >> alpha).
    * ``"fixed"`` -- test only once, at the last look (``inf`` before it).
    * ``"bonferroni"`` -- ``z_{1 - alpha / (2 K)}`` at every look (valid but conservative).
    * ``"pocock"`` -- one constant ``c`` at every look (Pocock, 1977).
    * ``"obrien_fleming"`` -- ``C sqrt(K / k)`` at look ``k``: very strict early, close to
      ``z_{1 - alpha/2}`` at the end (O'Brien & Fleming, 1979).

    For Pocock and O'Brien-Fleming the constant is the root of
    ``boundary_crossing_probability(boundaries) = alpha`` (Brent's method; no simulation, no
    tables), so the overall false-positive rate is exactly ``alpha``.

    Examples
    --------
    >>> sequential_boundaries(5, kind="pocock").round(3)
    array([2.413, 2.413, 2.413, 2.413, 2.413])
    >>> sequential_boundaries(5, kind="obrien_fleming").round(3)
    array([4.562, 3.226, 2.634, 2.281, 2.04 ])
    """
    k = _check_count("n_looks", n_looks)
    alpha = float(_check_open_unit("alpha", alpha))
    if kind not in BOUNDARIES:
        raise ValueError(f"kind must be one of {BOUNDARIES}; got {kind!r}")
    z_once = _z_critical(alpha, two_sided=True)
    if kind == "naive":
        return np.full(k, z_once)
    if kind == "fixed":
        return np.r_[np.full(k - 1, np.inf), z_once]
    z_bonferroni = _z_critical(alpha / k, two_sided=True)
    if kind == "bonferroni":
        return np.full(k, z_bonferroni)
    shape = np.ones(k) if kind == "pocock" else np.sqrt(k / np.arange(1, k + 1))
    if k == 1:
        return shape * z_once

    # the constant lies between the naive one (too liberal) and Bonferroni's (too strict)
    def excess(c: float) -> float:
        return boundary_crossing_probability(c * shape) - alpha

    c = optimize.brentq(excess, z_once, z_bonferroni, xtol=1e-6)
    return c * shape


def simulate_peeking(
    n_sims: int,
    n_days: int,
    users_per_day_per_arm: int,
    p: float,
    *,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = None,
    boundary: str = "naive",
    relative_lift: float = 0.0,
) -> float:
    """Share of tests that stop "significant" when the results are checked every day.

    Simulates ``n_sims`` tests at once: the daily conversions of each arm form an
    ``(n_sims, n_days)`` binomial array whose cumulative sums give the running totals, so the
    pooled z statistic of every test at every daily look is one vectorised expression. A test
    stops at the first look where ``|z|`` exceeds the boundary of that look (see
    :func:`sequential_boundaries`). With ``relative_lift=0`` (an A/A test, the default) the
    returned share is the false-positive rate; with a lift it is the power of the design.

    Parameters
    ----------
    n_sims : int
        Simulated tests, >= 1.
    n_days : int
        Looks (one per day), >= 1.
    users_per_day_per_arm : int
        New users entering each arm per day, >= 1.
    p : float
        Control conversion rate, in (0, 1).
    alpha : float, default 0.05
        Overall significance level the boundary is built for.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.
    boundary : str, default "naive"
        ``"naive"``, ``"fixed"``, ``"bonferroni"``, ``"pocock"`` or ``"obrien_fleming"``.
    relative_lift : float, default 0.0
        True relative lift of arm B.

    Returns
    -------
    float
        Share of simulated tests that ever rejected.

    Examples
    --------
    >>> round(simulate_peeking(4000, 14, 1000, 0.10, random_state=0), 3)  # 14 naive peeks
    0.211
    >>> round(simulate_peeking(4000, 14, 1000, 0.10, random_state=0, boundary="pocock"), 3)
    0.051
    """
    n_sims = _check_count("n_sims", n_sims)
    n_days = _check_count("n_days", n_days)
    per_day = _check_count("users_per_day_per_arm", users_per_day_per_arm)
    p_a = float(_check_open_unit("p", p))
    p_b = float(_check_open_unit("p * (1 + relative_lift)", p_a * (1 + float(relative_lift))))
    bounds = sequential_boundaries(n_days, kind=boundary, alpha=alpha)
    rng = np.random.default_rng(random_state)
    conv_a = rng.binomial(per_day, p_a, size=(n_sims, n_days)).cumsum(axis=1)
    conv_b = rng.binomial(per_day, p_b, size=(n_sims, n_days)).cumsum(axis=1)
    users = per_day * np.arange(1, n_days + 1)
    z = _pooled_z(conv_a, users, conv_b, users)
    stopped = (np.abs(z) > bounds).any(axis=1)
    return float(stopped.mean())


# --------------------------------------------------------------------------- interleaving


def team_draft_interleave(
    ranking_a,
    ranking_b,
    length: int,
    *,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Team-draft interleaving (Radlinski, Kurup & Joachims, 2008) for many users at once.

    Like two captains picking players: the team with fewer picks so far (a coin flip when
    tied) adds its highest-ranked item not yet shown, until the list has ``length`` items. A
    click later counts for the team that contributed the clicked item. The loop runs over list
    positions; each step is vectorised over users.

    Parameters
    ----------
    ranking_a, ranking_b : array-like of shape (n_users, n_items)
        Each row a permutation of ``0..n_items-1``: item indices, best first.
    length : int
        Length of the interleaved list, ``1 <= length <= n_items``.
    random_state : int, Generator or None
        Seed for the coin flips.

    Returns
    -------
    shown : ndarray of int, shape (n_users, length)
        The interleaved list of each user.
    from_b : ndarray of bool, shape (n_users, length)
        Whether each shown item was contributed by ranker B.

    Examples
    --------
    >>> shown, from_b = team_draft_interleave([[0, 1, 2, 3]], [[2, 0, 3, 1]], 4, random_state=0)
    >>> shown.tolist(), from_b.astype(int).tolist()
    ([[0, 2, 3, 1]], [[0, 1, 1, 0]])
    """
    a = np.asarray(ranking_a)
    b = np.asarray(ranking_b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"rankings must be 2-D arrays of the same shape; got {a.shape} and {b.shape}"
        )
    n_users, n_items = a.shape
    items = np.arange(n_items)
    if not (np.all(np.sort(a, axis=1) == items) and np.all(np.sort(b, axis=1) == items)):
        raise ValueError("each ranking row must be a permutation of 0..n_items-1")
    length = _check_count("length", length)
    if length > n_items:
        raise ValueError(f"length must be <= n_items={n_items}; got {length}")
    rng = np.random.default_rng(random_state)
    rows = np.arange(n_users)
    used = np.zeros((n_users, n_items), dtype=bool)
    picks_a = np.zeros(n_users, dtype=int)
    picks_b = np.zeros(n_users, dtype=int)
    shown = np.empty((n_users, length), dtype=int)
    from_b = np.empty((n_users, length), dtype=bool)
    for pos in range(length):
        # each ranker's best item not yet shown: the first False of `used` in its order
        best_a = a[rows, np.argmax(~np.take_along_axis(used, a, axis=1), axis=1)]
        best_b = b[rows, np.argmax(~np.take_along_axis(used, b, axis=1), axis=1)]
        b_turn = (picks_b < picks_a) | ((picks_a == picks_b) & (rng.random(n_users) < 0.5))
        item = np.where(b_turn, best_b, best_a)
        used[rows, item] = True
        shown[:, pos], from_b[:, pos] = item, b_turn
        picks_a += ~b_turn
        picks_b += b_turn
    return shown, from_b


def simulate_interleaving(
    n_users: int,
    n_sims: int,
    *,
    n_items: int = 20,
    length: int = 10,
    noise_a: float = 1.0,
    noise_b: float = 0.7,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = None,
) -> dict[str, float]:
    """Power of an A/B test and of team-draft interleaving to find the better of two rankers.

    User model: each user has ``n_items`` candidates with true relevance ``r ~ N(0, 1)``; ranker
    X orders them by ``r + noise_X * N(0, 1)`` (the smaller the noise, the better the ranker).
    The user examines position ``i`` (0-based) with probability ``1 / (i + 1)`` and clicks an
    examined item with probability ``sigmoid(r - 2)``.

    * **A/B test** -- half the ``n_users`` see ranker A's top ``length``, half ranker B's; Welch's
      t-test on clicks per user.
    * **Interleaving** -- all ``n_users`` see the team-draft interleaved list; each user prefers
      the ranker credited with more of their clicks (ties ignored); a two-sided sign test
      (normal approximation) on the preferences.

    Each simulated experiment counts as a detection when it is significant at ``alpha`` and
    favours B. With ``noise_a == noise_b`` the rankers are equally good and both shares estimate
    the false-positive rate (at most ``alpha``; half of the rejections favour B).

    Parameters
    ----------
    n_users : int
        Users per experiment (both arms together for the A/B test), >= 4.
    n_sims : int
        Simulated experiments, >= 1. Memory grows as ``n_sims * n_users * n_items``.
    n_items, length : int
        Candidates per user and length of the list shown.
    noise_a, noise_b : float
        Ranking noise of A (control) and B (treatment), >= 0.
    alpha : float, default 0.05
        Significance level of both tests.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    dict
        ``{"ab_test": power, "interleaving": power}``.

    Examples
    --------
    >>> power = simulate_interleaving(1000, 100, random_state=0)
    >>> {name: round(value, 2) for name, value in power.items()}
    {'ab_test': 0.34, 'interleaving': 0.47}
    """
    n_users = _check_count("n_users", n_users, minimum=4)
    n_sims = _check_count("n_sims", n_sims)
    n_items = _check_count("n_items", n_items)
    length = _check_count("length", length)
    if length > n_items:
        raise ValueError(f"length must be <= n_items={n_items}; got {length}")
    noise_a = float(_check_at_least("noise_a", noise_a, 0))
    noise_b = float(_check_at_least("noise_b", noise_b, 0))
    _check_open_unit("alpha", alpha)
    rng = np.random.default_rng(random_state)
    total = n_sims * n_users  # every experiment's users, simulated together
    relevance = rng.standard_normal((total, n_items))
    rank_a = np.argsort(-(relevance + noise_a * rng.standard_normal((total, n_items))), axis=1)
    rank_b = np.argsort(-(relevance + noise_b * rng.standard_normal((total, n_items))), axis=1)
    examine = 1.0 / np.arange(1, length + 1)
    attract = 1.0 / (1.0 + np.exp(-(relevance - 2.0)))

    def clicks_on(shown: np.ndarray) -> np.ndarray:
        p_click = examine * np.take_along_axis(attract, shown, axis=1)
        return rng.random(shown.shape) < p_click

    # A/B: the first half of each experiment's users sees A, the second half B
    in_b = np.arange(n_users) >= n_users // 2
    shown_ab = np.where(np.tile(in_b, n_sims)[:, None], rank_b, rank_a)[:, :length]
    clicks = clicks_on(shown_ab).sum(axis=1).reshape(n_sims, n_users)
    welch = stats.ttest_ind(clicks[:, in_b], clicks[:, ~in_b], axis=1, equal_var=False)
    ab_detects = (np.nan_to_num(welch.pvalue, nan=1.0) < alpha) & (welch.statistic > 0)

    # interleaving: everyone sees the team-draft list; count the users preferring each ranker
    shown, from_b = team_draft_interleave(rank_a, rank_b, length, random_state=rng)
    clicked = clicks_on(shown)
    credit = (clicked & from_b).sum(axis=1) - (clicked & ~from_b).sum(axis=1)
    wins_b = (credit > 0).reshape(n_sims, n_users).sum(axis=1)
    wins_a = (credit < 0).reshape(n_sims, n_users).sum(axis=1)
    z = _pooled_sign_z(wins_b, wins_a)
    il_detects = z > _z_critical(alpha, two_sided=True)
    return {"ab_test": float(ab_detects.mean()), "interleaving": float(il_detects.mean())}


def _pooled_sign_z(wins_b: np.ndarray, wins_a: np.ndarray) -> np.ndarray:
    """Sign-test z statistic ``(W_B - W_A) / sqrt(W_B + W_A)`` (0 when nobody expressed one)."""
    decided = (wins_b + wins_a).astype(float)
    diff = (wins_b - wins_a).astype(float)
    return np.divide(diff, np.sqrt(decided), out=np.zeros_like(diff), where=decided > 0)
