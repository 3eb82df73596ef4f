"""Step 5, variance reduction with a pre-period covariate (CUPED).

CUPED (Deng et al., WSDM 2013) replaces each user's metric ``y`` by
``y - theta * (x - mean(x))``, where ``x`` is the same user's value *before* the test and
``theta = cov(y, x) / var(x)``. The adjustment has mean zero in both arms (assignment is
random, so ``x`` does not depend on the arm), hence the lift is unchanged in expectation,
while the variance shrinks by the factor ``1 - rho**2`` (``rho`` = correlation of ``x`` and
``y``): the same power with ``1 - rho**2`` times the users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_utils.evaluation.abtest._checks import _check_open_unit
from course_utils.evaluation.abtest.analysis import ABTestResult, _check_sample, t_test_continuous

__all__ = ["CupedResult", "cuped_adjust", "cuped_test", "cuped_theta"]


def _paired(metric, covariate) -> tuple[np.ndarray, np.ndarray]:
    y = _check_sample("metric", metric)
    x = _check_sample("covariate", covariate)
    if x.shape != y.shape:
        raise ValueError(
            f"metric and covariate need one value per user each; got {y.size} and {x.size}"
        )
    if x.var() == 0:
        raise ValueError("covariate is constant: it cannot explain any variance")
    return y, x


def cuped_theta(metric, covariate) -> float:
    """The CUPED coefficient ``theta = cov(y, x) / var(x)`` (the OLS slope of ``y`` on ``x``).

    Examples
    --------
    >>> cuped_theta([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    2.0
    """
    y, x = _paired(metric, covariate)
    return float(np.cov(y, x)[0, 1] / x.var(ddof=1))


def cuped_adjust(metric, covariate, *, theta: float | None = None) -> np.ndarray:
    """CUPED-adjusted metric ``y - theta * (x - mean(x))``, one value per user.

    Parameters
    ----------
    metric : array-like of float
        The in-test metric ``y`` per user (both arms together).
    covariate : array-like of float
        The same users' pre-period value ``x`` (unaffected by the treatment).
    theta : float, optional
        Coefficient; by default :func:`cuped_theta` on the given users (pooled over arms).

    Returns
    -------
    ndarray
        Adjusted values with the same mean as ``metric``.

    Examples
    --------
    >>> cuped_adjust([2.0, 4.0, 7.0], [1.0, 2.0, 3.0]).round(3)
    array([4.5, 4. , 4.5])
    """
    y, x = _paired(metric, covariate)
    theta = cuped_theta(y, x) if theta is None else float(theta)
    return y - theta * (x - x.mean())


@dataclass(frozen=True)
class CupedResult:
    """The plain and the CUPED-adjusted Welch test of the same experiment.

    Attributes
    ----------
    plain, adjusted : ABTestResult
        Welch t-test on the raw metric and on the adjusted metric.
    theta : float
        The coefficient used (pooled over both arms).
    correlation : float
        Pearson correlation of metric and covariate (pooled).
    variance_reduction : float
        ``1 - var(adjusted) / var(raw)`` over all users (about ``rho**2``).
    """

    plain: ABTestResult
    adjusted: ABTestResult
    theta: float
    correlation: float
    variance_reduction: float

    @property
    def ci_width_ratio(self) -> float:
        """Width of the adjusted interval over the width of the plain one."""
        plain = self.plain.ci_high - self.plain.ci_low
        return float((self.adjusted.ci_high - self.adjusted.ci_low) / plain)


def cuped_test(
    metric_a,
    covariate_a,
    metric_b,
    covariate_b,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> CupedResult:
    """Welch t-test of B vs A on the raw and on the CUPED-adjusted metric.

    ``theta`` and the centring mean are estimated on both arms pooled, so the adjustment is
    the same function of ``x`` for every user (the standard CUPED recipe).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pre = rng.gamma(2.0, 20.0, size=(2, 3000))
    >>> post = pre + rng.normal(0, 10, size=(2, 3000)) + np.array([[0.0], [1.5]])
    >>> res = cuped_test(post[0], pre[0], post[1], pre[1])
    >>> res.plain.decision, res.adjusted.decision, round(res.variance_reduction, 2)
    ('inconclusive', 'ship', 0.89)
    """
    _check_open_unit("alpha", alpha)
    ya, xa = _paired(metric_a, covariate_a)
    yb, xb = _paired(metric_b, covariate_b)
    y, x = np.concatenate([ya, yb]), np.concatenate([xa, xb])
    theta = cuped_theta(y, x)
    adjusted = cuped_adjust(y, x, theta=theta)
    kwargs = {"alpha": alpha, "higher_is_better": higher_is_better}
    return CupedResult(
        plain=t_test_continuous(ya, yb, **kwargs),
        adjusted=t_test_continuous(adjusted[: ya.size], adjusted[ya.size :], **kwargs),
        theta=theta,
        correlation=float(np.corrcoef(y, x)[0, 1]),
        variance_reduction=float(1 - adjusted.var() / y.var()),
    )
