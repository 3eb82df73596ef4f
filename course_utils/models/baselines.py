"""Baselines every later model must beat: popularity, recent popularity and random."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.models.base import Recommender, interaction_matrix

__all__ = ["Popularity", "Random"]


class Popularity(Recommender):
    """Rank items by how many training interactions they have (the same list for everyone).

    Parameters
    ----------
    window_days : float, optional
        Count only interactions in the last ``window_days`` before the latest training
        timestamp ("recent popularity", what a trending row shows). ``None`` counts all.
        Items with equal counts keep the overall count as a tie-breaker, then the smaller id.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 20]})
    >>> Popularity().fit(df).recommend([3], k=2)[0].tolist()
    [[20, 10]]
    """

    def __init__(self, *, window_days: float | None = None) -> None:
        self.window_days = window_days

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        counts = self.item_counts_.astype(np.float64)
        if self.window_days is not None:
            if self.window_days <= 0:
                raise ValueError(f"window_days must be > 0; got {self.window_days}")
            if S.TIMESTAMP not in interactions:
                raise ValueError("window_days needs a 'timestamp' column")
            ts = interactions[S.TIMESTAMP]
            recent = interactions[ts > ts.max() - pd.Timedelta(days=self.window_days)]
            recent_counts = np.asarray(
                (interaction_matrix(recent, self.users_, self.items_) > 0).sum(axis=0)
            ).ravel()
            # recent count first; the overall count (scaled below 1) only breaks ties
            counts = recent_counts + counts / (counts.max() + 1.0)
        self.popularity_ = counts

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(user_index), len(self.popularity_))).copy()

    def _fallback_scores(self, n_rows: int) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (n_rows, len(self.popularity_)))


def _uniform_hash(seed: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Deterministic uniform [0, 1) numbers for (seed, row, col) via the splitmix64 mixer."""
    with np.errstate(over="ignore"):
        x = (
            np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
            + rows.astype(np.uint64)[:, None] * np.uint64(0xBF58476D1CE4E5B9)
            + cols.astype(np.uint64)[None, :] * np.uint64(0x94D049BB133111EB)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class Random(Recommender):
    """Uniformly random rankings: the floor any model must clear.

    Scores are a hash of (random_state, user, item), so the same model gives the same list
    for a user every time, and two models with the same ``random_state`` agree.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 20]})
    >>> a = Random(random_state=0).fit(df).recommend([1, 2], k=1, exclude_seen=False)[0]
    >>> b = Random(random_state=0).fit(df).recommend([1, 2], k=1, exclude_seen=False)[0]
    >>> bool((a == b).all())
    True
    """

    def __init__(self, *, random_state: int = 0) -> None:
        self.random_state = random_state

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        if not isinstance(self.random_state, (int, np.integer)) or self.random_state < 0:
            raise ValueError(f"random_state must be a non-negative int; got {self.random_state!r}")

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        return _uniform_hash(self.random_state, user_index, np.arange(self.n_items_))

    def _fallback_scores(self, n_rows: int) -> np.ndarray:
        # cold users get a random list too (row key -1 keeps them apart from known users)
        return _uniform_hash(self.random_state, np.full(n_rows, 2**62), np.arange(self.n_items_))
