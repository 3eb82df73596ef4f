"""Features of (user, candidate item) pairs for the ranking stage of a two-stage recommender.

Everything here is computed from interactions before a cutoff (step 3's point-in-time
rule): :func:`feature_tables` builds the user and item tables of
:mod:`course_utils.features` once, and :func:`ranking_features` joins them onto the
candidates (see :func:`course_utils.models.candidates.retrieve`), one row per candidate:

- **retriever features**: each source's ``<s>_rank`` and ``<s>_score``, and ``n_sources``,
  the number of sources that proposed the item;
- **item features** as of the cutoff: ``item_pop`` (interactions so far),
  ``item_mean_rating`` (shrunk towards the global mean) and ``item_year`` (release year);
- **item features as of the user's own time** ``t_u`` (the user's last interaction before
  the cutoff): ``item_pop_at_user`` (interactions before ``t_u``),
  ``item_pop_recent_at_user`` (in ``[t_u - recent_days, t_u)``) and ``item_age_at_user``
  (days from the item's first interaction to ``t_u``; negative when the item first
  appeared after ``t_u``);
- **user features**: ``user_activity`` (interactions so far), ``user_mean_rating`` and
  ``user_median_year`` (median release year of what the user watched);
- **user x item features**: ``recent_similarity``, the mean item-item cosine between the
  candidate and the user's last ``recent_items`` items,

      recent_similarity(u, i) = mean_{j in last k of u} |U_i & U_j| / sqrt(|U_i| |U_j|)

  (``U_i``: the users who interacted with ``i`` before the cutoff; the items a user
  watched last say most about what comes next); ``genre_match``, the cosine between the
  user's genre-affinity
  vector ``a_u`` and the item's genre multi-hot ``g_i``,

      genre_match(u, i) = a_u . g_i / (||a_u|| ||g_i||)     (0 when either is all zero),

  ``year_diff = item_year - user_median_year`` and ``release_age_at_user`` (year of
  ``t_u`` minus ``item_year``).

Why "as of the user's time"? Users are active in different years (MovieLens spans
1996-2018) and the benchmark's test windows are per user, so "recent" relative to one
global cutoff means "the last weeks of the whole log", which says nothing about a user
whose next ratings came in 2003. Counting an item's interactions before ``t_u`` is the
point-in-time rule applied per user; it uses only rows before the cutoff too.

Users or items missing from the tables get NaN, which scikit-learn's histogram gradient
boosting handles natively.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.features._common import _past
from course_utils.features.point_in_time import build_features

__all__ = [
    "FeatureTables",
    "feature_tables",
    "ranking_features",
    "as_of_counts",
    "recent_similarity",
]

_CHUNK_USERS = 512  # bounds the dense (n_items, users) block of recent_similarity


@dataclass(frozen=True)
class FeatureTables:
    """What the ranker's features may look at: all computed from rows before ``cutoff``.

    Attributes
    ----------
    users, items : DataFrame
        :func:`course_utils.features.user_features` and
        :func:`course_utils.features.item_features` as of ``cutoff``.
    user_last : Series
        Each user's last interaction time before the cutoff (``t_u``), indexed like ``users``.
    cutoff : Timestamp
    recent_days : float
        Window of ``item_pop_recent_at_user``.
    item_vectors : csc_matrix, shape (len(users), len(items))
        Binary user x item matrix with every item column scaled to unit norm, so
        ``item_vectors.T @ item_vectors`` holds the item-item cosines.
    recent : csr_matrix, shape (len(users), len(items))
        1 for each user's last ``recent_items`` items (by time, then item id).
    event_keys : ndarray of int64
        Sorted keys ``item_position * span + seconds`` of every interaction before the
        cutoff (``item_position`` indexes ``items.index``), for :func:`as_of_counts`.
    origin : Timestamp
        Time zero of the seconds in ``event_keys``.
    span : int
        Seconds per item block in ``event_keys`` (more than the time range).
    """

    users: pd.DataFrame
    items: pd.DataFrame
    user_last: pd.Series
    cutoff: pd.Timestamp
    recent_days: float
    item_vectors: sp.csc_matrix
    recent: sp.csr_matrix
    event_keys: np.ndarray
    origin: pd.Timestamp
    span: int


def _seconds(times, origin: pd.Timestamp) -> np.ndarray:
    """Whole seconds from ``origin`` (UTC) to each of ``times`` (a timestamp or an array)."""
    t = pd.DatetimeIndex(np.atleast_1d(times) if np.ndim(times) == 0 else times)
    t = t.tz_localize("UTC") if t.tz is None else t
    return np.asarray((t - origin) // pd.Timedelta(seconds=1), dtype=np.int64)


def feature_tables(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    cutoff,
    *,
    recent_days: float = 365,
    recent_items: int = 5,
) -> FeatureTables:
    """Point-in-time user and item tables plus the event index, as of ``cutoff``.

    Only interactions with ``timestamp < cutoff`` are used (see
    :func:`course_utils.features.build_features`).

    Examples
    --------
    >>> from course_utils.data import load_dataset
    >>> ds = load_dataset("movielens")  # doctest: +SKIP
    >>> tables = feature_tables(ds.interactions, ds.items, "2015-01-01")  # doctest: +SKIP
    >>> tables.users.shape, tables.items.shape  # doctest: +SKIP
    """
    if not recent_days > 0:
        raise ValueError(f"recent_days must be > 0; got {recent_days}")
    if (
        isinstance(recent_items, bool)
        or not isinstance(recent_items, (int, np.integer))
        or recent_items < 1
    ):
        raise ValueError(f"recent_items must be an int >= 1; got {recent_items!r}")
    past, cutoff = _past(interactions, cutoff)
    users, item_table = build_features(past, items, cutoff, recent_days=recent_days)
    item_ids = item_table.index.to_numpy()
    pos = np.searchsorted(item_ids, past[S.ITEM_ID].to_numpy())
    known = (pos < len(item_ids)) & (
        item_ids[np.minimum(pos, len(item_ids) - 1)] == past[S.ITEM_ID].to_numpy()
    )
    origin = past[S.TIMESTAMP].min() if len(past) else cutoff
    span = int(_seconds([cutoff], origin)[0]) + 2
    keys = np.sort(pos[known].astype(np.int64) * span + _seconds(past[S.TIMESTAMP][known], origin))
    vectors, recent = _item_vectors(
        past[known], pos[known], users.index.to_numpy(), len(item_ids), recent_items
    )
    user_last = past.groupby(S.USER_ID)[S.TIMESTAMP].max().reindex(users.index)
    return FeatureTables(
        users,
        item_table,
        user_last,
        cutoff,
        float(recent_days),
        vectors,
        recent,
        keys,
        origin,
        span,
    )


def _item_vectors(past, item_pos, user_ids, n_items: int, recent_items: int):
    """Unit-norm item columns of the binary user x item matrix, and each user's last items."""
    rows = np.searchsorted(user_ids, past[S.USER_ID].to_numpy())
    shape = (len(user_ids), n_items)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, item_pos)), shape=shape)
    X.data[:] = 1.0  # repeated (user, item) pairs count once
    norms = np.sqrt(np.asarray(X.sum(axis=0)).ravel())
    vectors = sp.csc_matrix(
        X @ sp.diags(np.divide(1.0, norms, out=np.zeros(n_items), where=norms > 0))
    )
    # newest first per user: sort by (user, -time, item) and keep the first recent_items
    order = np.lexsort((item_pos, -_seconds(past[S.TIMESTAMP], past[S.TIMESTAMP].min()), rows))
    r = rows[order]
    starts = np.r_[0, np.flatnonzero(r[1:] != r[:-1]) + 1] if len(r) else np.empty(0, np.int64)
    rank = np.arange(len(r)) - np.repeat(starts, np.diff(np.r_[starts, len(r)]))
    keep = rank < recent_items
    recent = sp.csr_matrix((np.ones(keep.sum()), (r[keep], item_pos[order][keep])), shape=shape)
    recent.data[:] = 1.0
    return vectors, recent


def as_of_counts(tables: FeatureTables, item_ids, start, end) -> np.ndarray:
    """Number of interactions with each item in ``[start, end)`` (all before the cutoff).

    ``item_ids``, ``start`` and ``end`` are aligned arrays of ids and UTC timestamps
    (``start``/``end`` may also be single timestamps); items outside the catalogue count 0.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Drama"], []],
    ...     "year": pd.array([2000, 2001], dtype="Int64")})
    >>> df = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [1, 1, 2],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-01-15"], utc=True)})
    >>> t = feature_tables(df, items, "2021-01-01")
    >>> as_of_counts(t, [1, 1, 2], pd.to_datetime(["2019-01-01"] * 3, utc=True),
    ...     pd.to_datetime(["2020-01-20", "2021-01-01", "2020-01-15"], utc=True)).tolist()
    [1, 2, 0]
    """
    ids = np.asarray(item_ids, dtype=np.int64)
    catalogue = tables.items.index.to_numpy()
    pos = np.searchsorted(catalogue, ids)
    known = (pos < len(catalogue)) & (catalogue[np.minimum(pos, len(catalogue) - 1)] == ids)
    lo = np.broadcast_to(np.clip(_seconds(start, tables.origin), 0, tables.span - 1), ids.shape)
    hi = np.broadcast_to(np.clip(_seconds(end, tables.origin), 0, tables.span - 1), ids.shape)
    base = pos.astype(np.int64) * tables.span
    counts = np.searchsorted(tables.event_keys, base + hi) - np.searchsorted(
        tables.event_keys, base + lo
    )
    return np.where(known & (hi > lo), counts, 0)


def recent_similarity(tables: FeatureTables, user_ids, item_ids) -> np.ndarray:
    """Mean cosine between each item and its user's last items (NaN for unknown users).

    For a block of users with recent-item rows ``R``, ``item_vectors.T @ (item_vectors @ R.T)``
    is the (items x users) matrix of summed cosines; dividing by the number of recent
    items gives the mean. Computed for blocks of users, never for all pairs at once.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2, 3], "genres": [[], [], []],
    ...     "year": pd.array([2000, 2000, 2000], dtype="Int64")})
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 1, 3],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"], utc=True)})
    >>> t = feature_tables(df, items, "2021-01-01", recent_items=1)
    >>> recent_similarity(t, [1, 1, 9], [3, 1, 3]).round(3).tolist()  # user 1's last item is 2
    [0.0, 0.707, nan]
    """
    user_ids = np.asarray(user_ids, dtype=np.int64)
    item_ids = np.asarray(item_ids, dtype=np.int64)
    table_users = tables.users.index.to_numpy()
    item_pos = np.searchsorted(tables.items.index.to_numpy(), item_ids)
    item_known = (item_pos < tables.recent.shape[1]) & (
        tables.items.index.to_numpy()[np.minimum(item_pos, tables.recent.shape[1] - 1)] == item_ids
    )
    uniq, inverse = np.unique(user_ids, return_inverse=True)
    upos = np.searchsorted(table_users, uniq)
    known = (upos < len(table_users)) & (
        table_users[np.minimum(upos, len(table_users) - 1)] == uniq
    )
    n_recent = np.asarray(tables.recent.sum(axis=1)).ravel()
    out = np.full(len(user_ids), np.nan)
    for start in range(0, len(uniq), _CHUNK_USERS):
        block = np.arange(start, min(start + _CHUNK_USERS, len(uniq)))
        block = block[known[block]]
        if not len(block):
            continue
        R = tables.recent[upos[block]]
        sims = (tables.item_vectors.T @ (tables.item_vectors @ R.T)).toarray()  # items x users
        sims /= np.maximum(n_recent[upos[block]], 1.0)
        col = np.full(len(uniq), -1)
        col[block] = np.arange(len(block))
        rows = np.flatnonzero((col[inverse] >= 0) & item_known)
        out[rows] = sims[item_pos[rows], col[inverse[rows]]]
    return out


def _genre_match(user_rows: np.ndarray, item_rows: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two aligned matrices; 0 where a row is all zero, NaN stays NaN."""
    dot = np.einsum("ij,ij->i", user_rows, item_rows)
    norms = np.linalg.norm(user_rows, axis=1) * np.linalg.norm(item_rows, axis=1)
    return np.divide(dot, norms, out=np.where(np.isnan(norms), np.nan, 0.0), where=norms > 0)


def ranking_features(candidates: pd.DataFrame, tables: FeatureTables) -> pd.DataFrame:
    """The ranker's feature matrix: one row per candidate, in the candidates' row order.

    Parameters
    ----------
    candidates : DataFrame
        ``user_id``, ``item_id`` and the retriever columns of
        :func:`course_utils.models.candidates.retrieve` (``from_<s>``, ``<s>_rank``, ``<s>_score``).
    tables : FeatureTables
        From :func:`feature_tables`.

    Returns
    -------
    DataFrame of float64 columns: the retriever features, then the item, user and
    user x item features listed in the module docstring.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Drama"], ["Comedy"]],
    ...     "year": pd.array([1990, 2010], dtype="Int64")})
    >>> df = pd.DataFrame({"user_id": [7, 7, 8], "item_id": [1, 1, 2], "rating": [4.0, 5.0, 3.0],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"], utc=True)})
    >>> tables = feature_tables(df, items, "2021-01-01")
    >>> cands = pd.DataFrame({"user_id": [7, 7], "item_id": [1, 2], "from_pop": [1, 1],
    ...     "pop_rank": [2.0, 1.0], "pop_score": [2.0, 1.0]})
    >>> f = ranking_features(cands, tables)
    >>> f[["genre_match", "year_diff", "item_pop", "item_pop_at_user", "item_age_at_user"]].to_dict("records")
    [{'genre_match': 1.0, 'year_diff': 0.0, 'item_pop': 2.0, 'item_pop_at_user': 1.0, 'item_age_at_user': 1.0}, {'genre_match': 0.0, 'year_diff': 20.0, 'item_pop': 1.0, 'item_pop_at_user': 0.0, 'item_age_at_user': -1.0}]
    """
    missing = sorted({S.USER_ID, S.ITEM_ID} - set(candidates.columns))
    if missing:
        raise ValueError(f"candidates lacks columns {missing}; has {list(candidates.columns)}")
    genres = [
        c.removeprefix("genre_aff_") for c in tables.users.columns if c.startswith("genre_aff_")
    ]
    users = tables.users.reindex(candidates[S.USER_ID].to_numpy())  # unknown users -> NaN rows
    items = tables.items.reindex(candidates[S.ITEM_ID].to_numpy())

    def col(frame: pd.DataFrame, name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)

    out = {}
    sources = [c.removeprefix("from_") for c in candidates.columns if c.startswith("from_")]
    for s in sources:
        out[f"{s}_rank"] = col(candidates, f"{s}_rank")
        out[f"{s}_score"] = col(candidates, f"{s}_score")
    if sources:
        out["n_sources"] = (
            candidates[[f"from_{s}" for s in sources]].sum(axis=1).to_numpy(dtype=np.float64)
        )
    out["item_pop"] = col(items, "n_interactions")
    out["item_mean_rating"] = col(items, "mean_rating_shrunk")
    out["item_year"] = col(items, "year")

    # as of the user's time t_u, the user's last interaction before the cutoff
    t_u = pd.DatetimeIndex(tables.user_last.reindex(candidates[S.USER_ID].to_numpy()))
    unknown_user = np.asarray(t_u.isna())
    t_u = t_u.fillna(tables.cutoff)  # placeholder for unknown users, masked below
    since_last = col(users, "days_since_last")
    item_ids = candidates[S.ITEM_ID].to_numpy()
    at_user = as_of_counts(tables, item_ids, tables.origin, t_u)
    recent = as_of_counts(tables, item_ids, t_u - pd.Timedelta(days=tables.recent_days), t_u)
    out["item_pop_at_user"] = np.where(unknown_user, np.nan, at_user.astype(np.float64))
    out["item_pop_recent_at_user"] = np.where(unknown_user, np.nan, recent.astype(np.float64))
    out["item_age_at_user"] = col(items, "days_since_first") - since_last

    out["user_activity"] = col(users, "n_interactions")
    out["user_mean_rating"] = col(users, "mean_rating")
    out["user_median_year"] = col(users, "median_year")
    out["recent_similarity"] = recent_similarity(tables, candidates[S.USER_ID].to_numpy(), item_ids)
    out["genre_match"] = _genre_match(
        users[[f"genre_aff_{g}" for g in genres]].to_numpy(dtype=np.float64, na_value=np.nan),
        items[[f"genre_{g}" for g in genres]].to_numpy(dtype=np.float64, na_value=np.nan),
    )
    out["year_diff"] = out["item_year"] - out["user_median_year"]
    user_year = np.where(unknown_user, np.nan, t_u.year.to_numpy(dtype=np.float64))
    out["release_age_at_user"] = user_year - out["item_year"]
    return pd.DataFrame(out, index=candidates.index)
