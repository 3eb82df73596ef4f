"""Step 5, sample-ratio mismatch (SRM): are the arms as large as the design says?

Before reading any metric, a chi-squared goodness-of-fit test compares the users assigned to
each arm with the planned split. A mismatch means assignment or logging is broken (a
redirect that loses some treatment users, a bot filter that treats the arms differently,
a crash in one arm): the users who remain are no longer comparable, and no metric of the
test can be trusted, however plausible it looks. Platforms use a strict threshold (p < 0.001)
because the check runs on every experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from course_utils.evaluation.abtest._checks import _check_open_unit

__all__ = ["SRMResult", "srm_test"]


@dataclass(frozen=True)
class SRMResult:
    """Outcome of a sample-ratio-mismatch check.

    Attributes
    ----------
    observed : tuple of int
        Users counted in each arm.
    expected : tuple of float
        Users expected in each arm under the planned ratios.
    statistic : float
        Pearson's chi-squared ``sum((observed - expected)**2 / expected)``.
    p_value : float
        Upper tail of the chi-squared distribution with ``arms - 1`` degrees of freedom.
    threshold : float
        p-value below which the test is flagged.
    """

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float
    p_value: float
    threshold: float

    @property
    def mismatch(self) -> bool:
        """True when ``p_value < threshold``: stop and debug before reading any metric."""
        return self.p_value < self.threshold

    def __str__(self) -> str:
        arms = ", ".join(f"{o:,} (expected {e:,.0f})" for o, e in zip(self.observed, self.expected))
        verdict = "SAMPLE-RATIO MISMATCH" if self.mismatch else "no mismatch"
        return (
            f"SRM check: {arms}; chi2 = {self.statistic:.2f}, p = {self.p_value:.3g} "
            f"-> {verdict} (threshold {self.threshold:g})"
        )


def srm_test(counts, ratios=None, *, threshold: float = 0.001) -> SRMResult:
    """Chi-squared test of the arm sizes against the planned allocation.

    Parameters
    ----------
    counts : array-like of int
        Users per arm (at least two arms, non-negative, not all zero).
    ratios : array-like of float, optional
        Planned allocation (any positive scale, e.g. ``[50, 50]`` or ``[0.9, 0.1]``);
        equal arms by default.
    threshold : float, default 0.001
        Flag a mismatch when the p-value is below it.

    Returns
    -------
    SRMResult

    Examples
    --------
    >>> srm_test([50_000, 50_400]).mismatch
    False
    >>> res = srm_test([50_000, 48_800])
    >>> round(res.statistic, 2), res.mismatch
    (14.57, True)
    """
    observed = np.asarray(counts)
    if observed.ndim != 1 or observed.size < 2:
        raise ValueError(f"counts must list at least two arms; got shape {observed.shape}")
    if not np.issubdtype(observed.dtype, np.number) or np.any(observed < 0):
        raise ValueError(f"counts must be non-negative numbers; got {observed.tolist()}")
    if not np.all(np.asarray(observed, dtype=float) % 1 == 0):
        raise ValueError(f"counts must be whole numbers of users; got {observed.tolist()}")
    total = float(observed.sum())
    if total == 0:
        raise ValueError("counts are all zero: no users were assigned")
    share = np.ones(observed.size) if ratios is None else np.asarray(ratios, dtype=float)
    if share.shape != observed.shape:
        raise ValueError(f"ratios need one value per arm ({observed.size}); got {share.size}")
    if not np.all(np.isfinite(share) & (share > 0)):
        raise ValueError(f"ratios must be positive; got {share.tolist()}")
    _check_open_unit("threshold", threshold)
    expected = total * share / share.sum()
    statistic = float(((observed - expected) ** 2 / expected).sum())
    p_value = float(stats.chi2.sf(statistic, df=observed.size - 1))
    return SRMResult(
        observed=tuple(int(o) for o in observed),
        expected=tuple(float(e) for e in expected),
        statistic=statistic,
        p_value=p_value,
        threshold=float(threshold),
    )
