"""Step 5, A/B test analysis: the test statistic, its interval and a decision.

The two-proportion z-test (``z_test_two_proportions``) and Welch's t-test
(``t_test_continuous``) each return an :class:`ABTestResult` with the lift (B minus A), its
confidence interval, the p-value and a ship / don't ship / inconclusive decision with a
guardrail hook.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from course_utils.evaluation.abtest._checks import _check_count, _check_open_unit, _z_critical

__all__ = ["ABTestResult", "t_test_continuous", "z_test_two_proportions"]

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
