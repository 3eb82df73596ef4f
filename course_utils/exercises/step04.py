"""Checks for the step 4 exercises on collaborative retrieval models.

* ``check_als_user_update(fn)`` - one user's ALS update
  ``fn(Y, YtY, c_u, p_u, reg) -> x_u`` against :func:`course_utils.models.als.solve_user`;
* ``check_ease_closed_form(fn)`` - EASE weights ``fn(G, reg) -> B`` against
  :func:`course_utils.models.ease.ease_weights`;
* ``check_cosine_item_similarity(fn)`` - shrunk item-item cosine ``fn(X, shrinkage) -> S``
  (``X`` a dense users x items array) against :func:`course_utils.models.knn.cosine_similarity`.

All inputs are small dense numpy arrays built from fixed seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils.exercises.checking import Case, check_function, with_reference
from course_utils.models import als, ease, knn

__all__ = ["check_als_user_update", "check_ease_closed_form", "check_cosine_item_similarity"]

ALS_HINT = (
    "x_u solves (Y^T C_u Y + reg I) x = Y^T C_u p_u with C_u = diag(c_u). YtY is given so "
    "that Y^T C_u Y = YtY + Y^T (C_u - I) Y costs only the items with c_u != 1. Solve the "
    "linear system rather than inverting the matrix."
)
EASE_HINT = (
    "Start from the inverse of the regularised Gram matrix, P. Each column j of B is "
    "column j of P scaled by -1 / P[j, j], and an item may not predict itself (zero "
    "diagonal). Leave G unchanged: the caller reuses it."
)
COSINE_HINT = (
    "S = (X^T X) / (outer(norms, norms) + shrinkage) with norms[j] = ||X[:, j]||. Keep the "
    "diagonal. An item with no interactions has norm 0: its similarities must be 0, not "
    "NaN (use np.divide(..., where=denominator > 0) or similar)."
)


def _binary(n_users: int, n_items: int, density: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n_users, n_items)) < density).astype(np.float64)


def check_als_user_update(fn: Callable) -> bool:
    """Check ``fn(Y, YtY, c_u, p_u, reg)``, one user's closed-form ALS update.

    Examples
    --------
    >>> ok = check_als_user_update(als.solve_user)  # doctest: +ELLIPSIS
    ✅ als_user_update: passed 4 checks
    ...
    """
    Y_small = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(12, 3))
    r = (rng.random(12) < 0.4) * rng.integers(1, 6, 12)
    c, p = 1.0 + 2.0 * r, (r > 0).astype(np.float64)
    none = np.zeros(12)
    cases = [
        Case(Y_small, Y_small.T @ Y_small, np.array([3.0, 1.0, 1.0]), np.array([1.0, 0.0, 0.0]),
             0.5, label="3 items, 2 factors, one interaction"),
        Case(Y, Y.T @ Y, c, p, 0.1, label="12 items, 3 factors, confidence 1 + 2 r (seed 4)"),
        Case(Y, Y.T @ Y, c, p, 50.0, label="strong regularisation shrinks x_u towards 0"),
        Case(Y, Y.T @ Y, none + 1.0, none, 1.0,
             label="a user with no interactions gets x_u = 0"),
    ]  # fmt: skip
    return check_function(
        fn, reference=als.solve_user, cases=cases, name="als_user_update", hint=ALS_HINT
    )


def check_ease_closed_form(fn: Callable) -> bool:
    """Check ``fn(G, reg)``, the EASE weight matrix for Gram matrix ``G = X^T X``.

    Examples
    --------
    >>> ok = check_ease_closed_form(ease.ease_weights)  # doctest: +ELLIPSIS
    ✅ ease_closed_form: passed 5 checks
    ...
    """
    X_small = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    X = _binary(40, 10, 0.3, seed=5)
    cases = [
        Case(X_small.T @ X_small, 1.0, label="2 users, 3 items, reg=1"),
        Case(X.T @ X, 10.0, label="40 users, 10 items (seed 5), reg=10"),
        Case(X.T @ X, 1000.0, label="large reg: weights near 0"),
        Case(np.eye(4) * 3.0, 2.0, label="items never seen together: B = 0"),
        Case(X.T @ X, 0.5, label="small reg: G must not be changed in place"),
    ]
    return check_function(
        fn,
        reference=ease.ease_weights,
        cases=cases,
        name="ease_closed_form",
        hint=EASE_HINT,
        inputs_read_only=True,  # the exercise forbids changing G in place
    )


def check_cosine_item_similarity(fn: Callable) -> bool:
    """Check ``fn(X, shrinkage)``, the shrunk item-item cosine similarity of dense ``X``.

    Examples
    --------
    >>> ok = check_cosine_item_similarity(knn.cosine_similarity)  # doctest: +ELLIPSIS
    ✅ cosine_item_similarity: passed 5 checks
    ...
    """
    X_small = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    X = _binary(30, 8, 0.35, seed=6)
    ratings = X * np.random.default_rng(6).integers(1, 6, X.shape)
    empty = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    cases = [
        Case(X_small, 0.0, label="2 users, 3 items, plain cosine"),
        Case(X_small, 1.0, label="shrinkage 1 lowers every similarity"),
        Case(X, 10.0, label="30 users, 8 items (seed 6), shrinkage 10"),
        Case(ratings, 0.0, label="rating values instead of 0/1"),
        Case(empty, 0.0, label="an item nobody interacted with: similarity 0, not NaN"),
    ]
    return check_function(
        fn,
        reference=knn.cosine_similarity,
        cases=cases,
        name="cosine_item_similarity",
        hint=COSINE_HINT,
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(als.solve_user)(check_als_user_update)
with_reference(ease.ease_weights)(check_ease_closed_form)
with_reference(knn.cosine_similarity)(check_cosine_item_similarity)
