"""Step 3, point-in-time features, computed **as of a cutoff** the way a feature store serves them.

Only interactions with ``timestamp < cutoff`` are used, so a feature as of ``T`` never
changes when events after ``T`` arrive, and a model trained on rows before ``T`` never
sees the future through its features:

- :func:`user_activity` and :func:`user_features` (one row per user active before cutoff);
- :func:`item_features` (one row per catalogue item);
- :func:`context_features` (hour of day, day of week, weekend, cyclical encodings);
- :func:`build_features` (both tables at once).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.features._common import _DAY, _past, _sorted_items, _year_array
from course_utils.features.content import genre_multi_hot

__all__ = ["build_features", "context_features", "item_features", "user_activity", "user_features"]


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
