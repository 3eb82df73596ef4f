"""Checks for the step 4 exercises on hybrids and cold start.

* ``check_minmax_rows(fn)``: per-user min-max normalisation ``fn(scores) -> scaled``,
  checked against :func:`course_utils.models.hybrid.minmax_rows`;
* ``check_cold_start_scores(fn)``: the fallback rule of the course's hybrid,
  ``fn(n_history, popularity, content, blended, min_history) -> scores``, checked against
  :func:`fallback_rule_scores` (whose agreement with :class:`~course_utils.models.Hybrid` and
  the base-class popularity fallback is tested in ``tests/test_exercises_step04.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils.exercises.checking import Case, check_function, with_reference
from course_utils.models.hybrid import minmax_rows

__all__ = ["check_cold_start_scores", "check_minmax_rows", "fallback_rule_scores"]

MINMAX_HINT = (
    "Each row is scaled on its own, using only its finite entries for the min and the max; "
    "-inf marks items already seen and must end up as 0, and so must every entry of a row "
    "whose finite entries are all equal (no 0/0)."
)
COLD_HINT = (
    "Three groups of users: no history, a short history (fewer than min_history), and the "
    "rest. Check the boundaries: a user with exactly min_history items is not short."
)


def fallback_rule_scores(
    n_history, popularity, content, blended, min_history: int = 3
) -> np.ndarray:
    """Scores under the course's cold-start rule, one row per user.

    Users with no history get ``popularity`` (the fallback of every model), users with
    fewer than ``min_history`` interactions get ``content`` (the switch of the hybrid),
    everyone else the ``blended`` hybrid scores.

    Examples
    --------
    >>> fallback_rule_scores([0, 1, 5], np.zeros((3, 2)), np.ones((3, 2)), np.full((3, 2), 2.0))
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
    >>> ok = check_cold_start_scores(fallback_rule_scores)  # doctest: +ELLIPSIS
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
        fn, reference=fallback_rule_scores, cases=cases, name="cold_start_scores", hint=COLD_HINT
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(minmax_rows)(check_minmax_rows)
with_reference(fallback_rule_scores)(check_cold_start_scores)
