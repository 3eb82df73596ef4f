"""Step 3, exploratory helpers: how concentrated popularity is.

:func:`lorenz_curve` (the share of interactions held by the least popular share of titles)
and its one-number summary, the :func:`gini` coefficient.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gini", "lorenz_curve"]


# --------------------------------------------------------------------------- EDA helpers
def _counts(counts) -> np.ndarray:
    x = np.asarray(counts, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("counts must not be empty")
    if not np.isfinite(x).all():
        raise ValueError("counts must be finite (no NaN or inf)")
    if (x < 0).any():
        raise ValueError(f"counts must be >= 0; got a minimum of {x.min()}")
    if x.sum() <= 0:
        raise ValueError("counts must have a positive total")
    return np.sort(x)


def lorenz_curve(counts) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of counts: share of items (least popular first) vs share of interactions.

    Returns
    -------
    population_share, count_share : ndarray, shape (n + 1,)
        Both start at 0 and end at 1. The diagonal means perfect equality.

    Examples
    --------
    >>> p, c = lorenz_curve([1, 1, 2])
    >>> p.round(3).tolist(), c.tolist()
    ([0.0, 0.333, 0.667, 1.0], [0.0, 0.25, 0.5, 1.0])
    """
    x = _counts(counts)
    cum = np.r_[0.0, np.cumsum(x)] / x.sum()
    return np.linspace(0.0, 1.0, x.size + 1), cum


def gini(counts) -> float:
    """Gini coefficient of counts: 0 when all equal, close to 1 when a few take everything.

    With counts sorted ascending, ``x_(1) <= ... <= x_(n)``:
    ``G = 2 * sum_i i * x_(i) / (n * sum_i x_i) - (n + 1) / n``,
    which equals one minus twice the area under :func:`lorenz_curve`.

    Examples
    --------
    >>> gini([5, 5, 5, 5])
    0.0
    >>> gini([0, 0, 0, 10])
    0.75
    """
    x = _counts(counts)
    n = x.size
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * x.sum()) - (n + 1) / n)
