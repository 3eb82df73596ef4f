"""Item-based k-nearest neighbours with shrunk cosine similarity (Sarwar et al. 2001).

Two items are similar when the same users interacted with both. With item columns
``X_i`` of the user-item matrix,

    sim(i, j) = X_i . X_j / (|X_i| |X_j| + shrinkage),

the cosine, shrunk towards 0 for items with few users (a pair seen together once is
weak evidence). Each item keeps only its ``k_neighbors`` most similar items (the rows of a
sparse matrix ``S``, zero diagonal), and a user's scores add up the neighbourhoods of
everything they interacted with:

    scores_u = x_u S,   i.e.  score(u, j) = sum over items i of u of sim(i, j).

Reference: B. Sarwar, G. Karypis, J. Konstan, J. Riedl, "Item-based collaborative
filtering recommendation algorithms", WWW 2001; M. Deshpande, G. Karypis, "Item-based
top-N recommendation algorithms", ACM TOIS 2004.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.models.base import Recommender, interaction_matrix

__all__ = ["ItemKNN", "cosine_similarity"]

_BLOCK_ITEMS = 1024  # similarity rows computed at a time (bounds memory to block x n_items)


def _similarity_rows(X: sp.csc_matrix, norms: np.ndarray, rows: slice, shrinkage: float):
    """Dense block ``sim(i, j)`` for items i in ``rows`` and all items j."""
    dots = (X[:, rows].T @ X).toarray()
    denominator = norms[rows, None] * norms[None, :] + shrinkage
    return np.divide(dots, denominator, out=np.zeros_like(dots), where=denominator > 0)


def cosine_similarity(X, shrinkage: float = 0.0) -> np.ndarray:
    """Item-item cosine similarity ``X_i . X_j / (|X_i| |X_j| + shrinkage)`` of the columns of X.

    Parameters
    ----------
    X : sparse or dense matrix, shape (n_users, n_items)
    shrinkage : float
        >= 0; pulls similarities of rarely seen items towards 0. Items without any
        interaction have similarity 0 to everything.

    Returns
    -------
    ndarray, shape (n_items, n_items)
        Symmetric; the diagonal is kept (1 for shrinkage 0).

    Examples
    --------
    >>> X = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    >>> cosine_similarity(X).round(4)
    array([[1.    , 0.7071, 0.7071],
           [0.7071, 1.    , 0.    ],
           [0.7071, 0.    , 1.    ]])
    >>> float(cosine_similarity(X, shrinkage=1.0)[0, 1].round(4))  # 1 / (sqrt(2) + 1)
    0.4142
    """
    if not np.isfinite(shrinkage) or shrinkage < 0:
        raise ValueError(f"shrinkage must be a finite number >= 0; got {shrinkage}")
    X = sp.csc_matrix(X, dtype=np.float64)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
    return _similarity_rows(X, norms, slice(None), shrinkage)


def _top_k_rows(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the k largest entries of each row (any order, ties arbitrary)."""
    cols = np.argpartition(-block, k - 1, axis=1)[:, :k]
    return cols, np.take_along_axis(block, cols, axis=1)


class ItemKNN(Recommender):
    """Item-item collaborative filtering with the ``k_neighbors`` most similar items per item.

    Parameters
    ----------
    k_neighbors : int
        Neighbours kept per item (>= 1); fewer, stronger neighbours give sharper but
        less diverse lists.
    shrinkage : float
        Cosine shrinkage (>= 0), see :func:`cosine_similarity`.
    use_ratings : bool
        Use the ``rating`` column as the matrix values when the interactions have one
        (a 5-star rating counts more than a 2-star one); otherwise, or when False, the
        binary matrix (or the ``weight`` column). Ratings won on the MovieLens validation split.

    Attributes
    ----------
    similarity_ : csr_matrix, shape (n_items, n_items)
        Row i holds item i's neighbours and their similarities (diagonal excluded).

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 2, 3], "item_id": [10, 20, 10, 20, 30, 10]})
    >>> model = ItemKNN(k_neighbors=1, shrinkage=0.0).fit(df)
    >>> model.similarity_.toarray().round(4)  # item 30's nearest neighbour is item 20
    array([[0.    , 0.8165, 0.    ],
           [0.8165, 0.    , 0.    ],
           [0.    , 0.7071, 0.    ]])
    >>> model.recommend([3], k=1)[0].tolist()
    [[20]]
    """

    def __init__(
        self, *, k_neighbors: int = 20, shrinkage: float = 500.0, use_ratings: bool = True
    ) -> None:
        self.k_neighbors = k_neighbors
        self.shrinkage = shrinkage
        self.use_ratings = use_ratings

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        k = self.k_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k_neighbors must be an int >= 1; got {k!r}")
        if not np.isfinite(self.shrinkage) or self.shrinkage < 0:
            raise ValueError(f"shrinkage must be a finite number >= 0; got {self.shrinkage}")
        if self.use_ratings and S.RATING in interactions and interactions[S.RATING].notna().all():
            X = interaction_matrix(interactions, self.users_, self.items_, interactions[S.RATING])
        n_items = X.shape[1]
        k = min(k, n_items - 1) if n_items > 1 else 1
        Xc = X.tocsc()
        norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel())
        cols, vals = [], []
        for start in range(0, n_items, _BLOCK_ITEMS):  # blocks of items bound the memory
            rows = slice(start, min(start + _BLOCK_ITEMS, n_items))
            block = _similarity_rows(Xc, norms, rows, self.shrinkage)
            block[np.arange(block.shape[0]), np.arange(rows.start, rows.stop)] = 0.0  # no self
            c, v = _top_k_rows(block, k)
            cols.append(c)
            vals.append(v)
        cols, vals = np.concatenate(cols), np.concatenate(vals)
        sim = sp.csr_matrix(
            (vals.ravel(), cols.ravel(), np.arange(0, n_items * k + 1, k)), shape=(n_items, n_items)
        )
        sim.eliminate_zeros()
        sim.sort_indices()
        self.similarity_ = sim
        self._X = X

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        return (self._X[user_index] @ self.similarity_).toarray()
