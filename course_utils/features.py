"""Features for recommenders: item content, point-in-time user/item/context tables, EDA helpers.

Item content (static, from the catalogue):

- :func:`item_content_matrix`: TF-IDF over tokens such as ``genre=Comedy``, ``tag=pixar``
  and ``decade=1990s``, one L2-normalised row per item (the content tower's input);
- :func:`item_content_blocks`: the same per token family, blocks side by side, so that a
  title's many tags cannot drown its genres (the content-based model's input), and
  :func:`unit_blocks` to normalise profiles block by block;
- :func:`align_item_rows`: content rows reordered to a model's item vocabulary;
- :func:`genre_multi_hot`: one 0/1 column per genre.

Point-in-time features, computed **as of a cutoff** the way a feature store serves them:
only interactions with ``timestamp < cutoff`` are used, so a feature as of ``T`` never
changes when events after ``T`` arrive, and a model trained on rows before ``T`` never
sees the future through its features:

- :func:`user_activity` and :func:`user_features` (one row per user active before cutoff);
- :func:`item_features` (one row per catalogue item);
- :func:`context_features` (hour of day, day of week, weekend, cyclical encodings);
- :func:`build_features` (both tables at once).

Exploratory helpers: :func:`gini` and :func:`lorenz_curve` of popularity counts.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils import schema as S

__all__ = [
    "item_content_matrix",
    "item_content_blocks",
    "unit_blocks",
    "align_item_rows",
    "genre_multi_hot",
    "user_activity",
    "user_features",
    "item_features",
    "context_features",
    "build_features",
    "gini",
    "lorenz_curve",
]

CONTENT_FIELDS = ("genres", "tags", "decade")
_DAY = pd.Timedelta(days=1)


# --------------------------------------------------------------------------- input checks
def _sorted_items(items: pd.DataFrame, need: Sequence[str] = ()) -> pd.DataFrame:
    """The item table sorted by item_id (positional index), after checking ids and columns."""
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame; got {type(items).__name__}")
    missing = sorted({S.ITEM_ID, *need} - set(items.columns))
    if missing:
        raise ValueError(f"items lacks columns {missing}; has {list(items.columns)}")
    if items[S.ITEM_ID].duplicated().any():
        dup = items.loc[items[S.ITEM_ID].duplicated(), S.ITEM_ID].iloc[0]
        raise ValueError(f"items must have unique item_id values; {dup} appears more than once")
    return items.sort_values(S.ITEM_ID, kind="stable").reset_index(drop=True)


def _as_cutoff(cutoff) -> pd.Timestamp:
    """A UTC timestamp; naive values are taken as UTC."""
    if not isinstance(cutoff, (str, pd.Timestamp, _dt.datetime, np.datetime64)):
        raise TypeError(
            f"cutoff must be a timestamp (str, datetime or pandas Timestamp); "
            f"got {type(cutoff).__name__}"
        )
    ts = pd.Timestamp(cutoff)
    if pd.isna(ts):
        raise ValueError("cutoff must be a valid timestamp; got NaT")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _past(interactions: pd.DataFrame, cutoff) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Interactions strictly before ``cutoff``: the only rows a point-in-time feature may use."""
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a pandas DataFrame; got {type(interactions).__name__}"
        )
    missing = sorted({S.USER_ID, S.ITEM_ID, S.TIMESTAMP} - set(interactions.columns))
    if missing:
        raise ValueError(f"interactions lacks columns {missing}; has {list(interactions.columns)}")
    ts = interactions[S.TIMESTAMP]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise TypeError(f"column 'timestamp' must be a timezone-aware datetime; got {ts.dtype}")
    cutoff = _as_cutoff(cutoff)
    return interactions[(ts < cutoff).to_numpy()], cutoff


def _year_array(items: pd.DataFrame) -> np.ndarray:
    """The release year as float64 with NaN where unknown."""
    return pd.to_numeric(items[S.YEAR], errors="coerce").astype("float64").to_numpy()


# --------------------------------------------------------------------------- item content
def _tokens(items: pd.DataFrame, use: Sequence[str]) -> list[np.ndarray]:
    """One array of tokens per row of the (sorted) item table, e.g. ['genre=Comedy', ...]."""
    parts = []
    if "genres" in use:
        parts.append("genre=" + items[S.GENRES].explode().dropna().astype(str))
    if "tags" in use:
        parts.append("tag=" + items[S.TAGS].explode().dropna().astype(str))
    if "decade" in use:
        year = pd.Series(_year_array(items), index=items.index).dropna()
        parts.append("decade=" + (year // 10 * 10).astype(int).astype(str) + "s")
    tokens = pd.concat(parts).sort_index(kind="stable")
    rows = tokens.index.to_numpy()
    bounds = np.searchsorted(rows, np.arange(1, len(items)))  # row r is bounds[r-1]:bounds[r]
    return np.split(tokens.to_numpy(dtype=str), bounds)


def _passthrough(tokens: np.ndarray) -> np.ndarray:
    """The custom analyzer: documents already are token arrays."""
    return tokens


def item_content_matrix(
    items: pd.DataFrame,
    *,
    use: Sequence[str] = CONTENT_FIELDS,
    min_df: int = 2,
    max_features: int | None = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """TF-IDF content vectors of items from genres, tags and release decade.

    Each item becomes a "document" of tokens ``genre=<g>``, ``tag=<t>`` and
    ``decade=<d>s``; :class:`sklearn.feature_extraction.text.TfidfVectorizer` (with a
    pass-through analyzer) weights rare tokens up and common ones down, and every row is
    L2-normalised so a dot product between rows is their cosine similarity. Items with
    no token that survives ``min_df`` get an all-zero row; when no token survives at all
    (say, ``use=("tags",)`` on a catalogue without tags) the matrix has no columns.

    Parameters
    ----------
    items : DataFrame
        ``item_id`` plus the columns needed by ``use`` (``genres``, ``tags``, ``year``).
    use : sequence of {"genres", "tags", "decade"}
        Which token families to include.
    min_df : int, default 2
        Keep tokens that occur in at least ``min_df`` items (drops one-off tags).
    max_features : int, optional
        Keep only the most frequent tokens.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix, shape (n_items, n_features)
        Rows ordered by sorted ``item_id``; each row has L2 norm 1 (or 0 when empty).
    feature_names : ndarray of str
    item_ids : ndarray of int64, sorted

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [2, 1], "genres": [["Comedy"], ["Comedy", "Drama"]],
    ...     "tags": [[], []], "year": pd.array([1995, 1999], dtype="Int64")})
    >>> X, names, ids = item_content_matrix(items, min_df=1)
    >>> ids.tolist(), names.tolist()
    ([1, 2], ['decade=1990s', 'genre=Comedy', 'genre=Drama'])
    >>> np.round(X.toarray()[1], 3).tolist()
    [0.707, 0.707, 0.0]
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    use = (use,) if isinstance(use, str) else tuple(use)
    unknown = sorted(set(use) - set(CONTENT_FIELDS))
    if unknown or not use:
        raise ValueError(f"use must name some of {list(CONTENT_FIELDS)}; got {list(use)}")
    if isinstance(min_df, bool) or not isinstance(min_df, (int, np.integer)) or min_df < 1:
        raise ValueError(f"min_df must be an int >= 1; got {min_df!r}")
    need = [{"genres": S.GENRES, "tags": S.TAGS, "decade": S.YEAR}[u] for u in use]
    items = _sorted_items(items, need)
    docs = _tokens(items, use)
    ids = items[S.ITEM_ID].to_numpy(dtype=np.int64)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    pairs = pd.DataFrame({"doc": np.repeat(np.arange(len(docs)), lengths)})
    pairs["token"] = np.concatenate(docs) if lengths.sum() else np.array([], dtype=str)
    doc_freq = pairs.drop_duplicates()["token"].value_counts()
    if not (doc_freq >= min_df).any():  # no token survives: a matrix without columns
        return sp.csr_matrix((len(items), 0)), np.array([], dtype=str), ids
    vectorizer = TfidfVectorizer(
        analyzer=_passthrough, min_df=int(min_df), max_features=max_features, norm="l2"
    )
    matrix = vectorizer.fit_transform(docs).tocsr().astype(np.float64)
    names = np.asarray(vectorizer.get_feature_names_out(), dtype=str)
    return matrix, names, ids


def item_content_blocks(
    items: pd.DataFrame,
    *,
    use: Sequence[str] = CONTENT_FIELDS,
    min_df: int = 2,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict[str, slice]]:
    """One TF-IDF block per token family, side by side, each scaled by ``1 / sqrt(F)``.

    Each family (genres, tags, decade) gets its own :func:`item_content_matrix`, rows
    L2-normalised within the family; families in which no token survives ``min_df`` are
    dropped, and the ``F`` remaining blocks are scaled by ``1 / sqrt(F)``. A dot product of
    two rows is then the **average of the per-family cosines**, where one joint vector
    would let a title with thirty tags outweigh its genres.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix, shape (n_items, n_features)
        Rows ordered by sorted ``item_id``.
    feature_names : ndarray of str
    item_ids : ndarray of int64, sorted
    blocks : dict of family -> slice
        The columns of each kept family, in ``use`` order.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Comedy"], ["Comedy", "Drama"]],
    ...     "tags": [[], []], "year": pd.array([1995, 1999], dtype="Int64")})
    >>> X, names, ids, blocks = item_content_blocks(items, min_df=1)
    >>> list(blocks), names.tolist()  # no tags: that family is dropped
    (['genres', 'decade'], ['genre=Comedy', 'genre=Drama', 'decade=1990s'])
    >>> round(float((X[0] @ X[1].T).toarray()[0, 0]), 2)  # genre cosine 0.58, decade 1
    0.79
    """
    use = (use,) if isinstance(use, str) else tuple(use)
    parts, names, blocks, start = [], [], {}, 0
    for family in use:
        matrix, family_names, ids = item_content_matrix(items, use=(family,), min_df=min_df)
        if matrix.shape[1] == 0:
            continue
        parts.append(matrix)
        names.append(family_names)
        blocks[family] = slice(start, start + matrix.shape[1])
        start += matrix.shape[1]
    if not parts:
        return sp.csr_matrix((len(ids), 0)), np.array([], dtype=str), ids, blocks
    scale = 1.0 / np.sqrt(len(parts))
    return sp.hstack(parts, format="csr") * scale, np.concatenate(names), ids, blocks


def unit_blocks(profiles, blocks):
    """Scale each block of each profile to norm ``1 / sqrt(F)``; zero blocks stay zero.

    With item rows from :func:`item_content_blocks`, ``matrix @ unit_blocks(p, blocks)`` is
    the average over families of the cosine between each item and the profile ``p``.

    Parameters
    ----------
    profiles : 1-D array (one profile), or 2-D array / sparse matrix (one profile per row)
    blocks : dict of name -> slice, or sequence of slices

    Returns
    -------
    ndarray (same shape), or scipy.sparse.csr_matrix for sparse input

    Examples
    --------
    >>> unit_blocks(np.array([3.0, 4.0, 0.0, 2.0]), [slice(0, 2), slice(2, 4)]).round(3).tolist()
    [0.424, 0.566, 0.0, 0.707]
    """
    slices = list(blocks.values()) if isinstance(blocks, dict) else list(blocks)
    scale = 1.0 / np.sqrt(max(len(slices), 1))
    if sp.issparse(profiles):
        P = profiles.tocsc()
        parts = []
        for block in slices:
            part = P[:, block]
            norms = np.sqrt(np.asarray(part.multiply(part).sum(axis=1))).ravel()
            parts.append(sp.diags(scale / np.maximum(norms, 1e-12)) @ part)
        return sp.hstack(parts, format="csr")
    out = np.array(profiles, dtype=np.float64)
    if out.ndim not in (1, 2):
        raise ValueError(f"profiles must be 1-D or 2-D; got shape {out.shape}")
    for block in slices:
        norms = np.linalg.norm(out[..., block], axis=-1, keepdims=True)
        out[..., block] *= scale / np.maximum(norms, 1e-12)
    return out


def align_item_rows(matrix, matrix_ids: np.ndarray, item_ids: np.ndarray) -> sp.csr_matrix:
    """Rows of ``matrix`` (one per ``matrix_ids``) in the order of ``item_ids``.

    Items without a row (no metadata) get an all-zero row, so a model's item vocabulary
    and a content matrix built from the catalogue line up.

    Examples
    --------
    >>> M = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    >>> align_item_rows(M, np.array([10, 20]), np.array([20, 30, 10])).toarray().tolist()
    [[0.0, 2.0], [0.0, 0.0], [1.0, 0.0]]
    """
    item_ids = np.asarray(item_ids)
    pos = pd.Index(np.asarray(matrix_ids)).get_indexer(item_ids)
    rows = np.flatnonzero(pos >= 0)
    select = sp.csr_matrix(
        (np.ones(len(rows)), (rows, pos[rows])), shape=(len(item_ids), matrix.shape[0])
    )
    return (select @ matrix).tocsr()


def genre_multi_hot(items: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One 0/1 column per genre, rows ordered by sorted ``item_id``.

    Returns
    -------
    matrix : ndarray of float32, shape (n_items, n_genres)
    genre_names : ndarray of str, sorted
    item_ids : ndarray of int64, sorted

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [5, 3], "genres": [["Drama"], ["Comedy", "Drama"]]})
    >>> M, names, ids = genre_multi_hot(items)
    >>> M.tolist(), names.tolist(), ids.tolist()
    ([[1.0, 1.0], [0.0, 1.0]], ['Comedy', 'Drama'], [3, 5])
    """
    items = _sorted_items(items, [S.GENRES])
    exploded = items[S.GENRES].explode().dropna().astype(str)
    names = np.unique(exploded.to_numpy(dtype=str))
    matrix = np.zeros((len(items), len(names)), dtype=np.float32)
    matrix[exploded.index.to_numpy(), np.searchsorted(names, exploded.to_numpy(dtype=str))] = 1.0
    return matrix, names, items[S.ITEM_ID].to_numpy(dtype=np.int64)


# --------------------------------------------------------------------------- point in time
def user_activity(interactions: pd.DataFrame, cutoff) -> pd.DataFrame:
    """Activity features of each user as of ``cutoff`` (only ``timestamp < cutoff``).

    Returns
    -------
    DataFrame indexed by ``user_id`` (sorted; users with >= 1 interaction before cutoff):
        ``n_interactions``, ``mean_rating`` (NaN without ratings), ``rating_std``
        (population std, ddof=0), ``days_since_last`` and ``days_since_first`` (float days
        from the user's last / first interaction to the cutoff).

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [1, 2, 3], "rating": [4.0, 2.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-03", "2020-02-01"], utc=True)})
    >>> user_activity(df, "2020-01-05").round(2).to_dict("records")
    [{'n_interactions': 2, 'mean_rating': 3.0, 'rating_std': 1.0, 'days_since_last': 2.0, 'days_since_first': 4.0}]
    """
    past, cutoff = _past(interactions, cutoff)
    g = past.groupby(S.USER_ID, sort=True)
    ts = g[S.TIMESTAMP]
    if S.RATING in past:
        rating = g[S.RATING]
        mean, std = rating.mean(), rating.std(ddof=0)
    else:
        mean = std = pd.Series(np.nan, index=ts.size().index)
    out = pd.DataFrame(
        {
            "n_interactions": ts.size().astype(np.int64),
            "mean_rating": mean.astype(np.float64),
            "rating_std": std.astype(np.float64),
            "days_since_last": (cutoff - ts.max()) / _DAY,
            "days_since_first": (cutoff - ts.min()) / _DAY,
        }
    )
    out.index.name = S.USER_ID
    return out


def _item_positions(item_ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Positions of ``item_ids`` in ``sorted_ids``; unknown items map to ``len(sorted_ids)``."""
    pos = np.searchsorted(sorted_ids, item_ids)
    clipped = np.minimum(pos, max(len(sorted_ids) - 1, 0))
    known = (
        (pos < len(sorted_ids)) & (sorted_ids[clipped] == item_ids)
        if len(sorted_ids)
        else (np.zeros(len(item_ids), dtype=bool))
    )
    return np.where(known, pos, len(sorted_ids))


def user_features(interactions: pd.DataFrame, items: pd.DataFrame, cutoff) -> pd.DataFrame:
    """Point-in-time user features: activity, ratings, recency, genre affinity, taste in years.

    Only interactions with ``timestamp < cutoff`` are used. Genre affinity is the share
    of the user's interactions per genre: an interaction with a title of ``g`` genres
    adds ``1/g`` to each, so the ``genre_aff_*`` columns of a user sum to 1 whenever the
    user watched at least one title with genres (and are all 0 otherwise). Interactions
    with items missing from ``items`` count for activity but not for genres or years.

    Parameters
    ----------
    interactions : DataFrame
        ``user_id``, ``item_id``, ``timestamp`` (UTC) and optionally ``rating``.
    items : DataFrame
        ``item_id``, ``genres`` (list of str) and ``year``.
    cutoff : str, datetime or Timestamp
        Compute the features as of this instant (naive values are taken as UTC).

    Returns
    -------
    DataFrame indexed by ``user_id``: the :func:`user_activity` columns, then
    ``genre_aff_<Genre>`` for every catalogue genre (sorted) and ``median_year`` (median
    release year of the titles the user interacted with).

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Comedy", "Drama"], ["Drama"]],
    ...     "year": pd.array([1990, 2000], dtype="Int64")})
    >>> df = pd.DataFrame({"user_id": [7, 7], "item_id": [1, 2], "rating": [4.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02"], utc=True)})
    >>> f = user_features(df, items, "2021-01-01")
    >>> f[["genre_aff_Comedy", "genre_aff_Drama", "median_year"]].to_dict("records")
    [{'genre_aff_Comedy': 0.25, 'genre_aff_Drama': 0.75, 'median_year': 1995.0}]
    """
    past, cutoff = _past(interactions, cutoff)
    items = _sorted_items(items, [S.GENRES, S.YEAR])
    activity = user_activity(past, cutoff)
    genres, names, item_ids = genre_multi_hot(items)
    n_genres = genres.sum(axis=1, keepdims=True)
    share = np.divide(genres, n_genres, out=np.zeros_like(genres), where=n_genres > 0)
    share = np.vstack([share, np.zeros((1, len(names)), dtype=np.float32)])  # unknown items
    year = np.r_[_year_array(items), np.nan]

    users = activity.index.to_numpy()
    rows = np.searchsorted(users, past[S.USER_ID].to_numpy())
    cols = _item_positions(past[S.ITEM_ID].to_numpy(), item_ids)
    counts = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(users), len(item_ids) + 1)
    )
    per_genre = np.asarray(counts @ share.astype(np.float64))
    total = per_genre.sum(axis=1, keepdims=True)
    affinity = np.divide(per_genre, total, out=np.zeros_like(per_genre), where=total > 0)
    out = activity.copy()
    out[[f"genre_aff_{g}" for g in names]] = affinity
    median_year = pd.Series(year[cols]).groupby(rows).median()
    out["median_year"] = median_year.reindex(np.arange(len(users))).to_numpy(dtype=np.float64)
    return out


def item_features(
    interactions: pd.DataFrame,
    items: pd.DataFrame,
    cutoff,
    *,
    recent_days: float = 30,
    shrinkage: float = 10.0,
) -> pd.DataFrame:
    """Point-in-time item features for every catalogue item.

    Only interactions with ``timestamp < cutoff`` are used; items without any get
    counts 0 and NaN for the rating and age columns.

    Parameters
    ----------
    interactions : DataFrame
        ``user_id``, ``item_id``, ``timestamp`` (UTC) and optionally ``rating``.
    items : DataFrame
        ``item_id``, ``genres`` and ``year``.
    cutoff : str, datetime or Timestamp
        Compute the features as of this instant.
    recent_days : float, default 30
        Window of the recent popularity count, ``[cutoff - recent_days, cutoff)``.
    shrinkage : float, default 10
        Prior strength ``m`` of the Bayesian mean rating
        ``(n * mean + m * global_mean) / (n + m)``, where ``n`` is the item's number of
        ratings and ``global_mean`` the mean of all ratings before cutoff: items with few
        ratings are pulled towards the global mean.

    Returns
    -------
    DataFrame indexed by ``item_id`` (sorted): ``n_interactions``, ``n_recent``,
    ``n_ratings``, ``mean_rating``, ``mean_rating_shrunk``, ``days_since_first`` (item
    age on the platform), ``year``, ``title_age_years`` (cutoff year minus release year)
    and ``genre_<Genre>`` 0/1 columns.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2], "genres": [["Drama"], []],
    ...     "year": pd.array([2000, None], dtype="Int64")})
    >>> df = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [1, 1, 1], "rating": [5.0, 3.0, 1.0],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-03-01", "2020-06-01"], utc=True)})
    >>> f = item_features(df, items, "2020-03-15", shrinkage=2.0)
    >>> f.loc[1, ["n_interactions", "n_recent", "mean_rating", "mean_rating_shrunk"]].tolist()
    [2.0, 1.0, 4.0, 4.0]
    >>> int(f.loc[2, "n_interactions"]), float(f.loc[1, "title_age_years"])
    (0, 20.0)
    """
    if not recent_days > 0:
        raise ValueError(f"recent_days must be > 0; got {recent_days}")
    if not shrinkage >= 0:
        raise ValueError(f"shrinkage must be >= 0; got {shrinkage}")
    past, cutoff = _past(interactions, cutoff)
    items = _sorted_items(items, [S.GENRES, S.YEAR])
    item_ids = items[S.ITEM_ID].to_numpy(dtype=np.int64)
    past = past[np.isin(past[S.ITEM_ID].to_numpy(), item_ids)]
    g = past.groupby(S.ITEM_ID, sort=True)
    recent = past[S.TIMESTAMP] >= cutoff - pd.Timedelta(days=recent_days)
    n_recent = recent.groupby(past[S.ITEM_ID]).sum()

    if S.RATING in past:
        ratings = past[S.RATING]
        n_ratings = g[S.RATING].count()
        mean = g[S.RATING].mean()
        global_mean = float(ratings.mean()) if ratings.notna().any() else np.nan
    else:
        n_ratings = pd.Series(0, index=g.size().index)
        mean = pd.Series(np.nan, index=g.size().index)
        global_mean = np.nan

    def aligned(values: pd.Series, fill) -> np.ndarray:
        return values.reindex(item_ids, fill_value=fill).to_numpy()

    n = aligned(n_ratings, 0).astype(np.float64)
    mean_a = aligned(mean, np.nan).astype(np.float64)
    if shrinkage == 0:
        shrunk = mean_a
    else:
        shrunk = (np.nan_to_num(mean_a) * n + shrinkage * global_mean) / (n + shrinkage)
    year = _year_array(items)
    out = pd.DataFrame(
        {
            "n_interactions": aligned(g.size(), 0).astype(np.int64),
            "n_recent": aligned(n_recent, 0).astype(np.int64),
            "n_ratings": n.astype(np.int64),
            "mean_rating": mean_a,
            "mean_rating_shrunk": shrunk,
            "days_since_first": aligned((cutoff - g[S.TIMESTAMP].min()) / _DAY, np.nan).astype(
                np.float64
            ),
            "year": year,
            "title_age_years": cutoff.year - year,
        },
        index=pd.Index(item_ids, name=S.ITEM_ID),
    )
    genres, names, _ = genre_multi_hot(items)
    out[[f"genre_{name}" for name in names]] = genres
    return out


def context_features(timestamps, *, tz: str | None = None) -> pd.DataFrame:
    """Request-context features of timestamps: hour, weekday, weekend and cyclical encodings.

    ``hour_sin``/``hour_cos`` place the hour on a circle so that 23:00 and 00:00 are
    neighbours (the same for ``dow_sin``/``dow_cos`` with Sunday and Monday).

    Parameters
    ----------
    timestamps : Series, DatetimeIndex or array-like of datetimes
        Naive values are taken as UTC. A Series keeps its index.
    tz : str, optional
        Convert to this time zone first (users' local time is what drives viewing habits).

    Returns
    -------
    DataFrame with ``hour`` (0-23), ``day_of_week`` (0 = Monday), ``is_weekend`` (bool),
    ``hour_sin``, ``hour_cos``, ``dow_sin``, ``dow_cos``.

    Examples
    --------
    >>> ts = pd.Series(pd.to_datetime(["2024-06-01 18:00", "2024-06-03 06:00"], utc=True))
    >>> context_features(ts)[["hour", "day_of_week", "is_weekend"]].to_dict("records")
    [{'hour': 18, 'day_of_week': 5, 'is_weekend': True}, {'hour': 6, 'day_of_week': 0, 'is_weekend': False}]
    """
    index = timestamps.index if isinstance(timestamps, pd.Series) else None
    ts = pd.Series(pd.to_datetime(np.asarray(timestamps) if index is None else timestamps))
    if index is not None:
        ts.index = index
    if ts.isna().any():
        raise ValueError(f"timestamps must not contain missing values; got {int(ts.isna().sum())}")
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts
    if tz is not None:
        ts = ts.dt.tz_convert(tz)
    hour = ts.dt.hour.astype(np.int64)
    dow = ts.dt.day_of_week.astype(np.int64)
    return pd.DataFrame(
        {
            "hour": hour,
            "day_of_week": dow,
            "is_weekend": dow >= 5,
            "hour_sin": np.sin(2 * np.pi * hour / 24),
            "hour_cos": np.cos(2 * np.pi * hour / 24),
            "dow_sin": np.sin(2 * np.pi * dow / 7),
            "dow_cos": np.cos(2 * np.pi * dow / 7),
        },
        index=ts.index,
    )


def build_features(
    interactions: pd.DataFrame, items: pd.DataFrame, cutoff, **item_kwargs
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both point-in-time tables as of ``cutoff``: ``(user_features, item_features)``.

    ``item_kwargs`` (``recent_days``, ``shrinkage``) go to :func:`item_features`.

    Examples
    --------
    >>> from course_utils.data import load_dataset
    >>> ds = load_dataset("movielens")  # doctest: +SKIP
    >>> users, items = build_features(ds.interactions, ds.items, "2015-01-01")  # doctest: +SKIP
    """
    return (
        user_features(interactions, items, cutoff),
        item_features(interactions, items, cutoff, **item_kwargs),
    )


# --------------------------------------------------------------------------- EDA helpers
def _counts(counts) -> np.ndarray:
    x = np.asarray(counts, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("counts must not be empty")
    if not np.isfinite(x).all():
        raise ValueError("counts must be finite (no NaN or inf)")
    if (x < 0).any():
        raise ValueError(f"counts must be >= 0; got a minimum of {x.min()}")
    if x.sum() <= 0:
        raise ValueError("counts must have a positive total")
    return np.sort(x)


def lorenz_curve(counts) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of counts: share of items (least popular first) vs share of interactions.

    Returns
    -------
    population_share, count_share : ndarray, shape (n + 1,)
        Both start at 0 and end at 1. The diagonal means perfect equality.

    Examples
    --------
    >>> p, c = lorenz_curve([1, 1, 2])
    >>> p.round(3).tolist(), c.tolist()
    ([0.0, 0.333, 0.667, 1.0], [0.0, 0.25, 0.5, 1.0])
    """
    x = _counts(counts)
    cum = np.r_[0.0, np.cumsum(x)] / x.sum()
    return np.linspace(0.0, 1.0, x.size + 1), cum


def gini(counts) -> float:
    """Gini coefficient of counts: 0 when all equal, close to 1 when a few take everything.

    With counts sorted ascending, ``x_(1) <= ... <= x_(n)``:
    ``G = 2 * sum_i i * x_(i) / (n * sum_i x_i) - (n + 1) / n``,
    which equals one minus twice the area under :func:`lorenz_curve`.

    Examples
    --------
    >>> gini([5, 5, 5, 5])
    0.0
    >>> gini([0, 0, 0, 10])
    0.75
    """
    x = _counts(counts)
    n = x.size
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * x.sum()) - (n + 1) / n)
