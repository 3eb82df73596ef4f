"""Step 5, score once: a model's scores for the evaluated users, reused by every analysis.

:class:`PrecomputedScores` scores a fitted model's evaluated users once, so that sampled
metrics, segments and beyond-accuracy tables all read the same score matrix.
"""

from __future__ import annotations

import numpy as np

from course_utils.evaluation import metrics as M
from course_utils.models.base import top_k
from course_utils.models.vocab import Vocabulary

__all__ = ["PrecomputedScores"]


def _pair_keys(users: np.ndarray, items: np.ndarray, offset: int) -> np.ndarray:
    """One int64 key per (user, item) pair, so pair membership is a single ``np.isin``."""
    return np.asarray(users, dtype=np.int64) * np.int64(offset) + np.asarray(items, np.int64)


# --------------------------------------------------------------------------- score once
class PrecomputedScores:
    """A fitted model's scores for a fixed set of users, computed once and reused.

    Offline evaluation asks one model about the same users several times (top-k lists for
    the accuracy table and for the beyond-accuracy table, pair scores for sampled metrics),
    and scoring every user against every item is the expensive step. This wrapper calls
    ``model.score_matrix(user_ids)`` once and answers :meth:`recommend` and :meth:`score`
    from that matrix, with the same results the model gives for those users (seen items
    excluded from the lists by the model's ``seen_`` matrix, ties to the smaller item id).

    Parameters
    ----------
    model : fitted Recommender
    user_ids : array-like of int
        The users to score, e.g. ``split.eval_users``. Other users raise ``ValueError``.

    Attributes
    ----------
    users_ : Vocabulary
        The scored users (sorted).
    scores_ : ndarray of shape (n_users, n_items)
        ``model.score_matrix`` of ``users_``, items in the model's vocabulary order.

    Examples
    --------
    >>> scored = PrecomputedScores(model, split.eval_users)  # doctest: +SKIP
    >>> compare({"EASE": scored}, split)  # doctest: +SKIP
    """

    def __init__(self, model, user_ids) -> None:
        users = np.asarray(user_ids)
        if users.ndim != 1 or users.size == 0:
            raise ValueError(f"user_ids must be a non-empty 1-D array; got shape {users.shape}")
        self.model = model
        self.users_ = Vocabulary(users)
        self.scores_ = model.score_matrix(self.users_.ids_)

    def _rows(self, user_ids) -> tuple[np.ndarray, np.ndarray]:
        users = np.atleast_1d(np.asarray(user_ids)).astype(np.int64)
        rows = self.users_.index(users, strict=False)
        if (rows < 0).any():
            missing = users[rows < 0][:5].tolist()
            raise ValueError(f"users {missing} were not precomputed; pass them to user_ids")
        return users, rows

    def recommend(self, user_ids, k: int = 10, *, exclude_seen: bool = True):
        """Top-k item ids and scores per user, as ``model.recommend`` returns them."""
        k = M._check_k(k)
        users, rows = self._rows(user_ids)
        scores = self.scores_[rows]  # a copy: fancy indexing
        if exclude_seen:
            known = self.model.known_users(users)
            seen = self.model.seen_[self.model.users_.index(users[known])].tocoo()
            scores[np.flatnonzero(known)[seen.row], seen.col] = -np.inf
            most_seen = int(np.bincount(seen.row, minlength=1).max())
            if k > scores.shape[1] - most_seen:
                raise ValueError(
                    f"k={k} exceeds the {scores.shape[1] - most_seen} unseen items available "
                    "to some user; lower k or pass exclude_seen=False"
                )
        idx, values = top_k(scores, k)
        return self.model.items_.ids(idx), values

    def score(self, user_ids, item_ids) -> np.ndarray:
        """Scores of (user, item) pairs, as ``model.score`` gives them (NaN for unknown items)."""
        _, rows = self._rows(user_ids)
        items = np.asarray(item_ids).astype(np.int64)
        if rows.shape != items.shape:
            raise ValueError(
                f"user_ids and item_ids must have the same length; got {rows.shape} and {items.shape}"
            )
        cols = self.model.items_.index(items, strict=False)
        out = np.full(len(items), np.nan)
        known = cols >= 0
        out[known] = self.scores_[rows[known], cols[known]]
        return out
