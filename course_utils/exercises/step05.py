"""Checks for the step 5 exercises (evaluation): ``precision_at_k`` and ``ndcg_at_k``.

The learner's functions are compared with :mod:`course_utils.metrics` on hand-made hit
matrices (``hits[u, i]`` is True when user ``u``'s item at rank ``i`` is relevant) and on
a random batch of users.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils import metrics
from course_utils.exercises.checking import Case, check_function

__all__ = ["check_ndcg_at_k", "check_precision_at_k"]

T, F = True, False

PRECISION_HINT = (
    "precision@k = (number of True values among the first k ranks) / k. Slice hits[..., :k], "
    "sum along the last axis and divide by k; a 1-D hits is one user and gives one number; "
    "raise ValueError when k < 1."
)
NDCG_HINT = (
    "DCG@k = sum over ranks i < k of hits[i] / log2(i + 2); the ideal DCG puts "
    "min(k, n_relevant) hits at the top; NDCG = DCG / ideal DCG, and 0 for users with "
    "n_relevant == 0 (avoid dividing by zero). A 1-D hits gives one number; k < 1 -> ValueError."
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
