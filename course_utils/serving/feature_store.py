"""The feature store stand-in: the ranker's features for one user and their candidates.

Training computes the ranker's features with pandas
(:func:`course_utils.features.ranking.ranking_features`); a request cannot afford
DataFrame joins, so :func:`export_feature_store` precomputes dense arrays indexed by the
user and item vocabularies, and :class:`FeatureStore` computes the same columns with a
few numpy gathers. Computing a feature differently online than offline (training/serving
skew) silently degrades the model, so the tests compare the two paths value by value.

Arrays (``features`` component):

- ``user_values`` (n_users x 4): activity, mean rating, median release year and days
  since the last interaction, as of the training cutoff;
- ``user_time`` (n_users x 3): the user's own time ``t_u`` (last interaction) in seconds
  since ``origin``, the start of the recent window before it (both clipped to the event
  index), and the calendar year of ``t_u``;
- ``item_values`` (n_items x 4): popularity, shrunk mean rating, release year and days
  since the first interaction; ``item_event_pos``: the item's block in the event index;
- ``user_genres`` / ``item_genres``: genre affinities and genre multi-hot;
- ``event_keys`` (sorted ``item_block x span + seconds`` of every training interaction)
  and ``span``: "interactions with item i before time t" is two ``searchsorted`` calls;
- ``vectors_*`` (the unit-norm item columns of the user x item matrix, CSC) and
  ``recent_*`` (each user's last items, CSR rows): ``recent_similarity`` is the mean
  cosine between a candidate's column and the columns of the user's last items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["FEATURE_ARRAYS", "SERVING_FEATURES", "FeatureStore", "export_feature_store"]

USER_COLUMNS = ("n_interactions", "mean_rating", "median_year", "days_since_last")
ITEM_COLUMNS = ("n_interactions", "mean_rating_shrunk", "year", "days_since_first")
FEATURE_ARRAYS = (
    "user_values", "user_time", "user_genres", "item_values", "item_event_pos", "item_genres",
    "event_keys", "span", "vectors_data", "vectors_indices", "vectors_indptr", "vectors_shape",
    "recent_indptr", "recent_indices",
)  # fmt: skip
SERVING_FEATURES = (
    "n_sources", "item_pop", "item_mean_rating", "item_year", "item_pop_at_user",
    "item_pop_recent_at_user", "item_age_at_user", "user_activity", "user_mean_rating",
    "user_median_year", "recent_similarity", "genre_match", "year_diff", "release_age_at_user",
)  # fmt: skip


def _seconds(times: pd.DatetimeIndex, origin: pd.Timestamp) -> np.ndarray:
    """Whole seconds from ``origin`` to each time (the event index's time unit)."""
    return np.asarray((times - origin) // pd.Timedelta(seconds=1), dtype=np.int64)


def export_feature_store(tables, user_ids: np.ndarray, item_ids: np.ndarray) -> dict:
    """Dense arrays of a :class:`~course_utils.features.ranking.FeatureTables`, aligned
    with the serving vocabularies (users or items without features get NaN rows)."""
    users = tables.users.reindex(user_ids)
    items = tables.items.reindex(item_ids)
    genres = [
        c.removeprefix("genre_aff_") for c in tables.users.columns if c.startswith("genre_aff_")
    ]
    # t_u = the user's last interaction, computed once per user instead of per request
    t_u = pd.DatetimeIndex(tables.user_last.reindex(user_ids))
    unknown = np.asarray(t_u.isna())
    t_u = t_u.fillna(tables.cutoff)  # placeholder, masked by `unknown`
    hi = np.clip(_seconds(t_u, tables.origin), 0, tables.span - 1)
    lo = np.clip(
        _seconds(t_u - pd.Timedelta(days=tables.recent_days), tables.origin), 0, tables.span - 1
    )
    year = np.where(unknown, np.nan, t_u.year.to_numpy(dtype=np.float64))
    catalogue = tables.items.index.to_numpy()
    pos = np.searchsorted(catalogue, item_ids)
    known = (pos < len(catalogue)) & (catalogue[np.minimum(pos, len(catalogue) - 1)] == item_ids)

    def values(frame, columns):
        return frame[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)

    table_users = tables.users.index.to_numpy()
    upos = np.minimum(np.searchsorted(table_users, user_ids), max(len(table_users) - 1, 0))
    rows = np.flatnonzero((len(table_users) > 0) & (table_users[upos] == user_ids))
    recent = tables.recent[upos[rows]]  # each user's last items (index order kept)
    n_recent = np.zeros(len(user_ids), dtype=np.int64)
    n_recent[rows] = np.diff(recent.indptr)
    vectors = tables.item_vectors.tocsc()
    return {
        "user_values": values(users, USER_COLUMNS),
        "user_time": np.column_stack([hi, lo, year]).astype(np.float64),
        "user_genres": values(users, [f"genre_aff_{g}" for g in genres]),
        "item_values": values(items, ITEM_COLUMNS),
        "item_event_pos": np.where(known, pos, -1).astype(np.int64),
        "item_genres": values(items, [f"genre_{g}" for g in genres]),
        "event_keys": np.asarray(tables.event_keys, dtype=np.int64),
        "span": np.array([tables.span], dtype=np.int64),
        "vectors_data": vectors.data.astype(np.float64),
        "vectors_indices": vectors.indices.astype(np.int64),
        "vectors_indptr": vectors.indptr.astype(np.int64),
        "vectors_shape": np.array(vectors.shape, dtype=np.int64),
        "recent_indptr": np.r_[0, np.cumsum(n_recent)].astype(np.int64),
        "recent_indices": recent.indices.astype(np.int64),
    }


class FeatureStore:
    """Feature lookups for the ranker, from :func:`export_feature_store` arrays.

    Parameters
    ----------
    arrays : dict of ndarray
        The ``features`` component.
    feature_names : list of str
        The ranker's columns, in order: retriever features (``<s>_rank``,
        ``<s>_score``, ``n_sources``, passed to :meth:`matrix`) plus names from
        :data:`SERVING_FEATURES`.
    """

    def __init__(self, arrays: dict, feature_names) -> None:
        self.arrays = arrays
        self.feature_names = list(feature_names)
        unknown = [
            n
            for n in self.feature_names
            if n not in SERVING_FEATURES and not n.endswith(("_rank", "_score"))
        ]
        if unknown:
            raise ValueError(f"the serving path cannot compute the features {unknown}")
        self._span = int(arrays["span"][0])
        n_users, n_items = arrays["vectors_shape"]
        # the CSC user x item matrix read as CSR item x user: one row per item, no copy
        self._item_rows = sp.csr_matrix(
            (arrays["vectors_data"], arrays["vectors_indices"], arrays["vectors_indptr"]),
            shape=(int(n_items), int(n_users)),
        )

    def _recent_similarity(self, row: int, pos: np.ndarray) -> np.ndarray:
        """Mean cosine of each candidate (event block ``pos``) with the user's last items.

        ``w`` = the sum of the last items' unit vectors (one value per training user), then
        one sparse product of the candidates' vectors with ``w``; only the rows of these few
        items are read, never the whole item x user matrix.
        """
        a = self.arrays
        out = np.full(len(pos), np.nan)
        if np.isnan(a["user_values"][row, 3]):  # the user has no feature row
            return out
        lo, hi = a["recent_indptr"][row], a["recent_indptr"][row + 1]
        w = np.asarray(self._item_rows[a["recent_indices"][lo:hi]].sum(axis=0)).ravel()
        known = pos >= 0
        out[known] = (self._item_rows[pos[known]] @ w) / max(float(hi - lo), 1.0)
        return out

    def _counts(self, pos: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Interactions with the items at event blocks ``pos`` in seconds [lo, hi)."""
        keys, base = self.arrays["event_keys"], pos * self._span
        counts = np.searchsorted(keys, base + int(hi)) - np.searchsorted(keys, base + int(lo))
        return np.where((pos >= 0) & (hi > lo), counts, 0).astype(np.float64)

    def matrix(self, row: int, candidates: np.ndarray, retriever_columns: dict) -> np.ndarray:
        """The ranker's input for user ``row`` and item rows ``candidates``."""
        a, n = self.arrays, len(candidates)
        activity, mean_rating, median_year, since_last = a["user_values"][row]
        hi, lo, user_year = a["user_time"][row]
        pop, item_rating, item_year, since_first = a["item_values"][candidates].T
        unknown_user = np.isnan(since_last)
        pos = a["item_event_pos"][candidates]
        at_user = np.nan if unknown_user else self._counts(pos, 0, hi)
        recent = np.nan if unknown_user else self._counts(pos, lo, hi)
        user_genres = np.broadcast_to(a["user_genres"][row], (n, a["user_genres"].shape[1]))
        item_genres = a["item_genres"][candidates]
        dot = np.einsum("ij,ij->i", user_genres, item_genres)
        norms = np.linalg.norm(user_genres, axis=1) * np.linalg.norm(item_genres, axis=1)
        columns = {
            **retriever_columns,  # <s>_rank, <s>_score and n_sources, from the retrieval stage
            "item_pop": pop,
            "item_mean_rating": item_rating,
            "item_year": item_year,
            "item_pop_at_user": at_user,
            "item_pop_recent_at_user": recent,
            "item_age_at_user": since_first - since_last,
            "user_activity": activity,
            "user_mean_rating": mean_rating,
            "user_median_year": median_year,
            "recent_similarity": self._recent_similarity(row, pos)
            if "recent_similarity" in self.feature_names
            else None,
            "genre_match": np.divide(
                dot, norms, out=np.where(np.isnan(norms), np.nan, 0.0), where=norms > 0
            ),
            "year_diff": item_year - median_year,
            "release_age_at_user": user_year - item_year,
        }
        return np.column_stack(
            [np.broadcast_to(columns[name], (n,)) for name in self.feature_names]
        )
