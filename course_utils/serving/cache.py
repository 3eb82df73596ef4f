"""How much traffic a response cache absorbs: the hit rate of a cache of the most requested keys.

A serving cache keyed by title (or by user segment) that always holds the ``capacity`` most
requested keys answers exactly their share of the requests. With a long-tailed popularity a
small cache absorbs a large share; the step 6 exercise estimates it from request counts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["cache_hit_rate"]


def cache_hit_rate(request_counts: ArrayLike, capacity: int) -> float:
    """Share of requests served by a cache holding the ``capacity`` most requested keys.

    Parameters
    ----------
    request_counts : array-like of shape (n_keys,)
        Requests per key over a period (non-negative).
    capacity : int
        Number of keys the cache holds (>= 0); more than ``n_keys`` holds everything.

    Returns
    -------
    float
        Requests to the ``capacity`` most requested keys divided by all requests.

    Raises
    ------
    ValueError
        When a count is negative, there are no requests at all, or ``capacity`` is not a
        non-negative integer.

    Examples
    --------
    >>> cache_hit_rate([5, 1, 3, 1], capacity=2)
    0.8
    >>> cache_hit_rate([5, 1, 3, 1], capacity=10)
    1.0
    """
    counts = np.asarray(request_counts, dtype=np.float64).ravel()
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 0:
        raise ValueError(f"capacity must be an int >= 0; got {capacity!r}")
    if (counts < 0).any():
        raise ValueError(f"request counts must be >= 0; got min {counts.min()}")
    total = counts.sum()
    if total <= 0:
        raise ValueError("request_counts holds no requests (the sum is 0)")
    top = np.sort(counts)[::-1][: int(capacity)]
    return float(top.sum() / total)
