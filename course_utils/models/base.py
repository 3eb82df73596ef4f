"""The recommender contract every model in the course follows.

``fit(interactions) -> self`` takes a DataFrame with ``user_id``, ``item_id`` and optional
``rating``, ``timestamp`` and ``weight``. ``recommend(user_ids, k, exclude_seen=True)``
returns ``(item_ids, scores)``, two arrays of shape (n_users, k), best first, ties broken by
the smaller item id. ``score(user_ids, item_ids)`` scores given pairs.

A subclass implements only ``_fit(X, interactions)`` and ``_score(user_index)``; the base
class owns the id vocabulary, seen-item exclusion, cold users and top-k selection, so
candidate generation (``_score``), ranking (:func:`top_k`) and bookkeeping stay separate.

Cold users (ids not seen in ``fit``) get the training popularity ranking; use
:meth:`Recommender.known_users` to see which users were cold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.models.vocab import Vocabulary

__all__ = ["NotFittedError", "Recommender", "top_k", "interaction_matrix"]

_BATCH_USERS = 2048


class NotFittedError(ValueError, AttributeError):
    """A model method was called before ``fit``."""


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k best columns per row, ties broken by the smaller column.

    Uses ``argpartition`` (linear time) plus an exact tie fix-up at the k-th value, so
    the result equals a full stable sort by (-score, column) cut at k.

    Examples
    --------
    >>> idx, val = top_k(np.array([[0.1, 0.9, 0.9, 0.3]]), 2)
    >>> idx.tolist(), val.tolist()
    ([[1, 2]], [[0.9, 0.9]])
    """
    n_rows, n_cols = scores.shape
    if not 1 <= k <= n_cols:
        raise ValueError(f"k must be between 1 and {n_cols}; got {k}")
    if k == n_cols:
        order = np.lexsort((np.broadcast_to(np.arange(n_cols), scores.shape), -scores), axis=1)
        return order, np.take_along_axis(scores, order, axis=1)
    # value of the k-th best per row
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
    above = scores > kth
    need = k - above.sum(axis=1, keepdims=True)
    equal = scores == kth
    chosen = above | (equal & (np.cumsum(equal, axis=1) <= need))
    cols = np.nonzero(chosen)[1].reshape(n_rows, k)  # row-major: ascending columns per row
    vals = np.take_along_axis(scores, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")  # stable keeps smaller column first
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


def interaction_matrix(
    interactions: pd.DataFrame, users: Vocabulary, items: Vocabulary, values=None
) -> sp.csr_matrix:
    """Users x items CSR matrix; duplicates are summed. ``values`` default to ones."""
    rows = users.index(interactions[S.USER_ID].to_numpy())
    cols = items.index(interactions[S.ITEM_ID].to_numpy())
    data = np.ones(len(rows)) if values is None else np.asarray(values, dtype=np.float64)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(users), len(items)))


def _check_interactions(interactions) -> None:
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a pandas DataFrame; got {type(interactions).__name__}"
        )
    missing = {S.USER_ID, S.ITEM_ID} - set(interactions.columns)
    if missing:
        raise ValueError(
            f"interactions lacks columns {sorted(missing)}; has {list(interactions.columns)}"
        )
    if len(interactions) == 0:
        raise ValueError("interactions is empty")
    for col in (S.USER_ID, S.ITEM_ID):
        if interactions[col].dtype.kind not in "iu":
            hint = " (missing ids make the column float)" if interactions[col].isna().any() else ""
            raise TypeError(
                f"column {col!r} must hold integer ids; got {interactions[col].dtype}{hint}"
            )
    for col, allow_nan in ((S.WEIGHT, False), (S.RATING, True)):
        if col in interactions:
            _check_values(interactions[col], col, allow_nan)


def _check_values(column: pd.Series, name: str, allow_nan: bool) -> None:
    """Weights and ratings must be finite numbers >= 0 (NaN ratings mean "not rated")."""
    if column.dtype.kind not in "iufb":
        raise TypeError(f"column {name!r} must be numeric; got {column.dtype}")
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    nan = np.isnan(values)
    if nan.any() and not allow_nan:
        raise ValueError(
            f"column {name!r} has {int(nan.sum())} NaN values; weights must be finite numbers >= 0 "
            "(fill or drop them before fit)"
        )
    bad = ~nan & (~np.isfinite(values) | (values < 0))
    if bad.any():
        raise ValueError(
            f"column {name!r} must hold finite values >= 0; got {int(bad.sum())} bad values, "
            f"e.g. {values[bad][:3].tolist()}"
        )


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int; got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    return int(k)


def _as_ids(ids, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(ids))
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D; got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integer ids; got dtype {arr.dtype}")
    return arr.astype(np.int64)


class Recommender:
    """Base class: id vocabulary, seen items, cold users, top-k. Subclasses add the maths."""

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:  # pragma: no cover
        raise NotImplementedError

    def _score(self, user_index: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Dense (len(user_index), n_items) scores for known users."""
        raise NotImplementedError

    def _extra_item_ids(self) -> np.ndarray:
        """Item ids to include beyond those in the interactions (content models: the catalogue)."""
        return np.empty(0, dtype=np.int64)

    # ------------------------------------------------------------------ sklearn-ish helpers
    def get_params(self) -> dict:
        """Hyperparameters as given to ``__init__``."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _check_fitted(self) -> None:
        if not hasattr(self, "items_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(interactions) first"
            )

    # ------------------------------------------------------------------ contract
    def fit(self, interactions: pd.DataFrame) -> Recommender:
        """Learn from interactions (user_id, item_id, optional rating/timestamp/weight)."""
        _check_interactions(interactions)
        self.users_ = Vocabulary(interactions[S.USER_ID].to_numpy())
        item_ids = interactions[S.ITEM_ID].to_numpy()
        self.items_ = Vocabulary(np.concatenate([item_ids, self._extra_item_ids()]))
        values = interactions[S.WEIGHT].to_numpy() if S.WEIGHT in interactions else None
        X = interaction_matrix(interactions, self.users_, self.items_, values)
        seen = X.copy()
        seen.data[:] = 1.0
        self.seen_ = seen
        self.item_counts_ = np.asarray(seen.sum(axis=0)).ravel()
        self._fit(X, interactions)
        return self

    @property
    def n_items_(self) -> int:
        self._check_fitted()
        return len(self.items_)

    def known_users(self, user_ids) -> np.ndarray:
        """Boolean mask: True for users seen in ``fit``; the others get the fallback."""
        self._check_fitted()
        return self.users_.contains(_as_ids(user_ids, "user_ids"))

    def _fallback_scores(self, n_rows: int) -> np.ndarray:
        """Popularity scores for cold users (training interaction counts)."""
        return np.broadcast_to(self.item_counts_.astype(np.float64), (n_rows, self.n_items_))

    def score_matrix(self, user_ids, *, exclude_seen: bool = False) -> np.ndarray:
        """Dense (n_users, n_items) scores in item-vocabulary order; seen items -inf if excluded."""
        self._check_fitted()
        users = _as_ids(user_ids, "user_ids")
        pos, known = self.users_._lookup(users)
        out = np.empty((len(users), self.n_items_), dtype=np.float64)
        if known.any():
            out[known] = self._score(pos[known])
        if (~known).any():
            out[~known] = self._fallback_scores(int((~known).sum()))
        if exclude_seen and known.any():
            rows = np.flatnonzero(known)
            sub = self.seen_[pos[known]].tocoo()
            out[rows[sub.row], sub.col] = -np.inf
        return out

    def recommend(self, user_ids, k: int = 10, *, exclude_seen: bool = True):
        """Top-k item ids and scores per user, best first; ties go to the smaller item id.

        Parameters
        ----------
        user_ids : array-like of int
            Users to recommend for. Users unseen in ``fit`` get the popularity ranking
            (see :meth:`known_users`).
        k : int
            List length, 1 <= k <= number of items a user can still be shown.
        exclude_seen : bool
            Drop items the user interacted with in training.

        Returns
        -------
        item_ids : ndarray of int64, shape (n_users, k)
        scores : ndarray of float64, shape (n_users, k)
        """
        self._check_fitted()
        k = _check_k(k)
        users = _as_ids(user_ids, "user_ids")
        if k > self.n_items_:
            raise ValueError(f"k must be <= the number of items ({self.n_items_}); got {k}")
        if exclude_seen:
            known_pos = self.users_.index(users[self.known_users(users)])
            most_seen = int(np.diff(self.seen_.indptr)[known_pos].max(initial=0))
            if k > self.n_items_ - most_seen:
                raise ValueError(
                    f"k={k} exceeds the {self.n_items_ - most_seen} unseen items available "
                    "to some user; lower k or pass exclude_seen=False"
                )
        ids = np.empty((len(users), k), dtype=np.int64)
        vals = np.empty((len(users), k), dtype=np.float64)
        for start in range(0, len(users), _BATCH_USERS):  # batches bound memory, not speed
            batch = users[start : start + _BATCH_USERS]
            idx, v = top_k(self.score_matrix(batch, exclude_seen=exclude_seen), k)
            ids[start : start + len(batch)] = self.items_.ids(idx)
            vals[start : start + len(batch)] = v
        return ids, vals

    def score(self, user_ids, item_ids) -> np.ndarray:
        """Scores of (user, item) pairs; items unseen in ``fit`` score NaN."""
        self._check_fitted()
        users = _as_ids(user_ids, "user_ids")
        items = _as_ids(item_ids, "item_ids")
        if users.shape != items.shape:
            raise ValueError(
                f"user_ids and item_ids must have the same length; got {users.shape} and {items.shape}"
            )
        uniq, inverse = np.unique(users, return_inverse=True)
        item_pos, item_known = self.items_._lookup(items)
        out = np.full(len(users), np.nan)
        for start in range(0, len(uniq), _BATCH_USERS):
            block = self.score_matrix(uniq[start : start + _BATCH_USERS])
            rows = inverse - start
            sel = (rows >= 0) & (rows < len(block)) & item_known
            out[sel] = block[rows[sel], item_pos[sel]]
        return out
