"""PureSVD: rank-k truncated SVD of the user-item matrix (Cremonesi, Koren, Turrin, 2010).

Missing entries are treated as zeros and the matrix is factorised as

    X ~ U_k S_k V_k^T     (the best rank-k approximation in Frobenius norm).

A user's scores are their row of the reconstruction. Because ``U_k S_k = X V_k``, this is

    scores_u = x_u V_k V_k^T,

a projection of the user's history onto the k leading "taste" directions of item space.
Users need no factors of their own, so the model scores any history, even a new one.

Reference: P. Cremonesi, Y. Koren, R. Turrin, "Performance of Recommender Algorithms on
Top-N Recommendation Tasks", RecSys 2010.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from course_utils.data import schema as S
from course_utils.models.base import Recommender, interaction_matrix

__all__ = ["PureSVD", "item_factors"]


def item_factors(X, n_factors: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n_factors`` right singular vectors and singular values of ``X``, largest first.

    Parameters
    ----------
    X : sparse or dense matrix, shape (n_users, n_items)
    n_factors : int
        Number of factors k >= 1. A matrix with min(X.shape) <= k has only min(X.shape)
        singular vectors; all of them are returned (from a dense SVD).
    random_state : int
        Seeds the ARPACK starting vector, so the result is deterministic.

    Returns
    -------
    V : ndarray, shape (n_items, n_factors)
        Orthonormal columns; ``X V V^T`` is the rank-k reconstruction of ``X``.
    s : ndarray, shape (n_factors,)
        Singular values in decreasing order.

    Examples
    --------
    >>> X = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> V, s = item_factors(X, 1)
    >>> np.round(s, 4).tolist(), np.round(np.abs(V[:, 0]), 4).tolist()
    ([2.0], [0.7071, 0.7071, 0.0])
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)):
        raise TypeError(f"n_factors must be an int; got {type(n_factors).__name__}")
    if n_factors < 1:
        raise ValueError(f"n_factors must be >= 1; got {n_factors}")
    if n_factors >= min(X.shape):  # tiny matrix: ARPACK needs k < min(shape); SVD it densely
        _, s, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
    else:
        v0 = np.random.default_rng(random_state).uniform(-1.0, 1.0, size=min(X.shape))
        _, s, Vt = svds(X, k=n_factors, v0=v0)
    order = np.argsort(-s, kind="stable")  # svds returns ascending singular values
    return Vt[order].T, s[order]


class PureSVD(Recommender):
    """Truncated SVD of the user-item matrix (ratings or 0/1); scores ``x_u V V^T``.

    Parameters
    ----------
    n_factors : int
        Rank k of the approximation; the default was chosen on the MovieLens validation
        split (few factors: the top directions are the robust taste signal).
    use_ratings : bool
        Use the ``rating`` column as the matrix values when the interactions have one
        (a 5-star rating counts more than a 2-star one); otherwise, or when False, the
        binary matrix (or the ``weight`` column). Ratings won on the MovieLens validation split.
    random_state : int
        Seed of the ARPACK starting vector (the result is deterministic for a seed).

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 20, 10, 20, 30, 40]})
    >>> model = PureSVD(n_factors=1).fit(df)
    >>> model.recommend([1], k=2, exclude_seen=False)[0].tolist()
    [[10, 20]]
    """

    def __init__(
        self, *, n_factors: int = 16, use_ratings: bool = True, random_state: int = 0
    ) -> None:
        self.n_factors = n_factors
        self.use_ratings = use_ratings
        self.random_state = random_state

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        if self.use_ratings and S.RATING in interactions and interactions[S.RATING].notna().all():
            X = interaction_matrix(interactions, self.users_, self.items_, interactions[S.RATING])
        self.item_factors_, self.singular_values_ = item_factors(
            X, self.n_factors, self.random_state
        )
        self._X = X

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        V = self.item_factors_
        return np.asarray(self._X[user_index] @ V) @ V.T
