"""Checks for the step 4 exercises on hybrids and cold start.

* ``check_minmax_rows(fn)``: per-user min-max normalisation ``fn(scores) -> scaled``,
  checked against :func:`course_utils.models.hybrid.minmax_rows`;
* ``check_cold_start_scores(fn)``: the fallback rule of the course's hybrid,
  ``fn(n_history, popularity, content, blended, min_history) -> scores``, checked against
  :func:`cold_start_scores` (whose agreement with :class:`~course_utils.models.Hybrid` and
  the base-class popularity fallback is tested in ``tests/test_exercises_step04.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils.exercises.checking import Case, check_function
from course_utils.models.hybrid import minmax_rows

__all__ = ["cold_start_scores", "check_minmax_rows", "check_cold_start_scores"]

MINMAX_HINT = (
    "Per row, over the FINITE entries only: lo = min, hi = max, scaled = (s - lo) / (hi - lo). "
    "A row whose finite entries are all equal becomes all 0; non-finite entries (-inf marks "
    "items already seen) become 0. np.where(np.isfinite(s), s, np.inf).min(axis=1, "
    "keepdims=True) gives lo while ignoring -inf; np.divide(..., where=span > 0) avoids 0/0."
)
COLD_HINT = (
    "Row u takes popularity[u] when n_history[u] == 0, content[u] when 0 < n_history[u] < "
    "min_history, and blended[u] otherwise. np.select([cond_a, cond_b], [a, b], default=c) "
    "works with the conditions as column vectors (n_history[:, None])."
)


def cold_start_scores(n_history, popularity, content, blended, min_history: int = 3) -> np.ndarray:
    """Scores under the course's cold-start rule, one row per user.

    Users with no history get ``popularity`` (the fallback of every model), users with
    fewer than ``min_history`` interactions get ``content`` (the switch of the hybrid),
    everyone else the ``blended`` hybrid scores.

    Examples
    --------
    >>> cold_start_scores([0, 1, 5], np.zeros((3, 2)), np.ones((3, 2)), np.full((3, 2), 2.0))
    array([[0., 0.],
           [1., 1.],
           [2., 2.]])
    """
    n = np.asarray(n_history)[:, None]
    return np.select(
        [n == 0, n < min_history],
        [np.asarray(popularity, dtype=float), np.asarray(content, dtype=float)],
        default=np.asarray(blended, dtype=float),
    )


def check_minmax_rows(fn: Callable) -> bool:
    """Check ``fn(scores)``, each row rescaled to [0, 1] over its finite entries.

    Examples
    --------
    >>> ok = check_minmax_rows(minmax_rows)  # doctest: +ELLIPSIS
    ✅ minmax_rows: passed 5 checks
    ...
    """
    rng = np.random.default_rng(7)
    wide = rng.normal(scale=50.0, size=(4, 9))
    seen = wide.copy()
    seen[[0, 1, 3], [2, 5, 0]] = -np.inf
    cases = [
        Case(np.array([[1.0, 3.0, 2.0]]), label="one user: [1, 3, 2] -> [0, 1, 0.5]"),
        Case(np.array([[5.0, 5.0, 5.0], [0.0, -2.0, 2.0]]), label="a constant row becomes 0"),
        Case(wide, label="4 users, 9 items, very different scales (seed 7)"),
        Case(seen, label="-inf (seen items) is ignored for min and max and becomes 0"),
        Case(np.array([[-np.inf, 4.0, -np.inf]]), label="only one finite entry: 0"),
    ]
    return check_function(
        fn, reference=minmax_rows, cases=cases, name="minmax_rows", hint=MINMAX_HINT
    )


def check_cold_start_scores(fn: Callable) -> bool:
    """Check ``fn(n_history, popularity, content, blended, min_history)``.

    Examples
    --------
    >>> ok = check_cold_start_scores(cold_start_scores)  # doctest: +ELLIPSIS
    ✅ cold_start_scores: passed 4 checks
    ...
    """
    rng = np.random.default_rng(8)
    pop, cont, blend = (rng.random((6, 5)) for _ in range(3))
    n = np.array([0, 1, 2, 3, 10, 0])
    cases = [
        Case(n, pop, cont, blend, 3, label="histories 0, 1, 2, 3, 10, 0 with min_history=3"),
        Case(n, pop, cont, blend, 1, label="min_history=1: no content switch"),
        Case(n, pop, cont, blend, 20, label="min_history=20: content for every known user"),
        Case(np.array([4, 4]), pop[:2], cont[:2], blend[:2], 3, label="only long histories"),
    ]
    return check_function(
        fn, reference=cold_start_scores, cases=cases, name="cold_start_scores", hint=COLD_HINT
    )
