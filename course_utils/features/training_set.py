"""The ranker's training set, built point in time: one row per (user, item, moment).

A ranker learns ``P(relevant | user, item, context)`` from examples. Each example is a
moment ``t`` at which the user could have been shown the item, and three things are
joined to it:

1. **features as of ``t``** — an *as-of join* (:func:`asof_join`, built on
   :func:`pandas.merge_asof`) picks, per user and per item, the latest feature snapshot
   strictly before ``t``, never a later one;
2. **the label from a label window** — 1 when the user has a relevant interaction with
   the item in ``[t, t + label_days)``, else 0;
3. **negatives** — for every logged interaction, ``n_negatives`` items the user had not
   interacted with before ``t``, sampled uniformly or in proportion to popularity
   (:func:`sample_negatives`); with an impression log, shown-but-not-played items are
   the better negatives (see :mod:`course_utils.data.impressions`).

:func:`feature_log` turns an interaction log into the snapshots a feature store keeps
(running count and mean rating per user or item). :func:`naive_join` is the mistake to
avoid: it attaches the *final* snapshot — computed on all data, the example's own
outcome included — to every example.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.data import schema as S

__all__ = [
    "FEATURE_DESCRIPTIONS",
    "asof_join",
    "build_ranker_training_set",
    "describe_feature_columns",
    "feature_log",
    "naive_join",
    "sample_negatives",
]


def _need(df: pd.DataFrame, columns, name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} must have columns {list(columns)}; missing {missing}")


def feature_log(interactions: pd.DataFrame, key: str, *, prefix: str) -> pd.DataFrame:
    """Running features per ``key`` (user or item): one snapshot per moment it changed.

    Row ``(key, t)`` holds the count of interactions and the mean rating *up to and
    including* ``t``; a feature store would serve it for requests after ``t``.

    Parameters
    ----------
    interactions : DataFrame
        ``key``, ``timestamp`` and optionally ``rating``.
    key : str
        ``"user_id"`` or ``"item_id"``.
    prefix : str
        Prefix of the feature columns, e.g. ``"user_"`` gives ``user_n`` and
        ``user_mean_rating``.

    Returns
    -------
    DataFrame
        ``key``, ``timestamp``, ``{prefix}n``, ``{prefix}mean_rating``, sorted by time.

    Examples
    --------
    >>> log = pd.DataFrame({"user_id": [1, 1, 2], "rating": [4.0, 2.0, 5.0],
    ...                     "timestamp": pd.to_datetime([1, 2, 1], unit="D", utc=True)})
    >>> feature_log(log, "user_id", prefix="user_")["user_mean_rating"].tolist()
    [4.0, 5.0, 3.0]
    """
    _need(interactions, [key, S.TIMESTAMP], "interactions")
    has_rating = S.RATING in interactions.columns
    rating = interactions[S.RATING] if has_rating else pd.Series(np.nan, index=interactions.index)
    df = interactions[[key, S.TIMESTAMP]].reset_index(drop=True)
    df["_n"] = 1
    df["_rated"] = rating.notna().to_numpy().astype(int)
    df["_sum"] = rating.fillna(0.0).to_numpy()
    snap = df.groupby([key, S.TIMESTAMP], sort=True)[["_n", "_rated", "_sum"]].sum()
    cum = snap.groupby(level=0).cumsum()
    out = pd.DataFrame(
        {
            f"{prefix}n": cum["_n"].to_numpy(),
            f"{prefix}mean_rating": (
                cum["_sum"] / cum["_rated"].where(cum["_rated"] > 0)
            ).to_numpy(),
        },
        index=cum.index,
    ).reset_index()
    return out.sort_values(S.TIMESTAMP, kind="stable").reset_index(drop=True)


def _fill_counts(out: pd.DataFrame, log: pd.DataFrame) -> pd.DataFrame:
    for col in log.columns:
        if col.endswith("_n"):
            out[col] = out[col].fillna(0).astype(np.int64)
    return out


def asof_join(examples: pd.DataFrame, log: pd.DataFrame, *, by: str) -> pd.DataFrame:
    """Attach to each example the latest snapshot of ``log`` strictly before its timestamp.

    ``pandas.merge_asof(direction="backward", allow_exact_matches=False)``: a snapshot
    taken at the example's own moment already contains its outcome, so it is excluded.
    Keys without an earlier snapshot get count 0 and a NaN mean. Row order is kept.

    Examples
    --------
    >>> log = pd.DataFrame({"user_id": [1, 1], "timestamp": pd.to_datetime([1, 3], unit="D"),
    ...                     "user_n": [1, 2]})
    >>> ex = pd.DataFrame({"user_id": [1, 1, 1], "timestamp": pd.to_datetime([1, 2, 4], unit="D")})
    >>> asof_join(ex, log, by="user_id")["user_n"].tolist()
    [0, 1, 2]
    """
    _need(examples, [by, S.TIMESTAMP], "examples")
    _need(log, [by, S.TIMESTAMP], "log")
    left = examples.assign(_row=np.arange(len(examples))).sort_values(S.TIMESTAMP, kind="stable")
    right = log.sort_values(S.TIMESTAMP, kind="stable")
    joined = pd.merge_asof(
        left,
        right,
        on=S.TIMESTAMP,
        by=by,
        direction="backward",
        allow_exact_matches=False,
    )
    joined = joined.sort_values("_row").drop(columns="_row").reset_index(drop=True)
    return _fill_counts(joined, log)


def naive_join(examples: pd.DataFrame, log: pd.DataFrame, *, by: str) -> pd.DataFrame:
    """The leaky join: every example gets the *final* snapshot of its key (all data).

    Shown to measure the leak; never use it to build training data.

    Examples
    --------
    >>> log = pd.DataFrame({"user_id": [1, 1], "timestamp": pd.to_datetime([1, 3], unit="D"),
    ...                     "user_n": [1, 2]})
    >>> ex = pd.DataFrame({"user_id": [1, 1], "timestamp": pd.to_datetime([1, 2], unit="D")})
    >>> naive_join(ex, log, by="user_id")["user_n"].tolist()
    [2, 2]
    """
    _need(examples, [by, S.TIMESTAMP], "examples")
    _need(log, [by, S.TIMESTAMP], "log")
    last = log.sort_values(S.TIMESTAMP, kind="stable").groupby(by).tail(1)
    joined = examples.merge(last.drop(columns=S.TIMESTAMP), on=by, how="left")
    return _fill_counts(joined, log)


def sample_negatives(
    events: pd.DataFrame,
    item_ids,
    n_negatives: int,
    *,
    scheme: str = "popularity",
    item_counts=None,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """``n_negatives`` sampled (user, item, timestamp) rows per event, same user and moment.

    Parameters
    ----------
    events : DataFrame
        ``user_id``, ``item_id``, ``timestamp``: the logged (positive) interactions.
    item_ids : array-like
        The catalogue to sample from.
    n_negatives : int
        Negatives drawn per event (>= 1). Draws that hit an item the user already
        interacted with at or before the event's time are dropped, so a few events get
        fewer.
    scheme : {"uniform", "popularity"}
        ``"uniform"``: every catalogue item equally likely. ``"popularity"``: in
        proportion to ``item_counts ** 0.75`` (word2vec's smoothing), so negatives are
        as popular as the positives and the model cannot win by learning popularity.
    item_counts : array-like, optional
        Interaction count per entry of ``item_ids`` (required for ``"popularity"``).
    random_state : int or None
        Seed of ``np.random.default_rng``.

    Returns
    -------
    DataFrame
        ``user_id``, ``item_id``, ``timestamp``.

    Examples
    --------
    >>> ev = pd.DataFrame({"user_id": [1], "item_id": [10],
    ...                    "timestamp": pd.to_datetime(["2024-01-01"], utc=True)})
    >>> neg = sample_negatives(ev, [10, 20, 30], 4, scheme="uniform", random_state=0)
    >>> bool((neg["item_id"] != 10).all()), len(neg) <= 4
    (True, True)
    """
    _need(events, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP], "events")
    if isinstance(n_negatives, bool) or not isinstance(n_negatives, (int, np.integer)):
        raise TypeError(f"n_negatives must be an integer; got {type(n_negatives).__name__}")
    if n_negatives < 1:
        raise ValueError(f"n_negatives must be >= 1; got {n_negatives}")
    ids = np.asarray(item_ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError(f"item_ids must be a non-empty 1-d array; got shape {ids.shape}")
    if scheme == "uniform":
        p = None
    elif scheme == "popularity":
        if item_counts is None:
            raise ValueError("scheme='popularity' needs item_counts (one count per item id)")
        w = np.asarray(item_counts, dtype=float)
        if w.shape != ids.shape or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"item_counts must be {len(ids)} non-negative counts with a positive sum; "
                f"got shape {w.shape}"
            )
        p = w**0.75 / (w**0.75).sum()
    else:
        raise ValueError(f"scheme must be 'uniform' or 'popularity'; got {scheme!r}")
    rng = np.random.default_rng(random_state)
    rep = np.repeat(np.arange(len(events)), n_negatives)
    drawn = pd.DataFrame(
        {
            S.USER_ID: events[S.USER_ID].to_numpy()[rep],
            S.ITEM_ID: ids[rng.choice(len(ids), size=len(rep), p=p)],
            S.TIMESTAMP: events[S.TIMESTAMP].iloc[rep].reset_index(drop=True),
        }
    )
    first = events.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("_first")
    drawn = drawn.join(first, on=[S.USER_ID, S.ITEM_ID])
    keep = drawn["_first"].isna() | (drawn["_first"] > drawn[S.TIMESTAMP])
    return drawn.loc[keep, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]].reset_index(drop=True)


def _window_labels(examples: pd.DataFrame, relevant: pd.DataFrame, label_days: float) -> np.ndarray:
    """1 when the user has a relevant interaction with the item in [t, t + label_days)."""
    times = relevant.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("_rel")
    rel = examples.join(times, on=[S.USER_ID, S.ITEM_ID])["_rel"]
    t = examples[S.TIMESTAMP]
    return ((rel >= t) & (rel < t + pd.Timedelta(days=label_days))).to_numpy().astype(np.int8)


def build_ranker_training_set(
    interactions: pd.DataFrame,
    relevant,
    *,
    start,
    end,
    item_ids,
    n_negatives: int = 4,
    scheme: str = "popularity",
    label_days: float = 7.0,
    leaky: bool = False,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Point-in-time training examples for a pointwise ranker.

    Every interaction with ``start <= timestamp < end`` is an example, plus
    ``n_negatives`` sampled items per interaction at the same moment
    (:func:`sample_negatives` with ``scheme``; popularity counts from the log before
    ``end``). Features come from :func:`asof_join` of the user and item
    :func:`feature_log` (``leaky=True`` uses :func:`naive_join` instead, to measure the
    leak). The label is 1 when the user has a relevant interaction with the item within
    ``label_days`` of the example's moment.

    Parameters
    ----------
    interactions : DataFrame
        The full log: ``user_id``, ``item_id``, ``timestamp``, optionally ``rating``.
    relevant : array-like of bool
        One flag per interaction row: the course label (e.g. ``relevance_labels``).
    start, end : str or Timestamp
        The window of example moments.
    item_ids : array-like
        The catalogue negatives are drawn from.

    Returns
    -------
    DataFrame
        ``user_id``, ``item_id``, ``timestamp``, ``sampled`` (True for negatives),
        ``label``, ``user_n``, ``user_mean_rating``, ``item_n``, ``item_mean_rating``.

    Examples
    --------
    >>> log = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 10],
    ...     "rating": [5.0, 2.0, 4.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True)})
    >>> ts = build_ranker_training_set(log, log["rating"] >= 4, start="2024-01-01",
    ...     end="2024-02-01", item_ids=[10, 20, 30], n_negatives=1, scheme="uniform")
    >>> ts.loc[~ts["sampled"], ["item_id", "label", "user_n", "item_n"]].values.tolist()
    [[10, 1, 0, 0], [20, 0, 1, 0], [10, 1, 0, 1]]
    """
    _need(interactions, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP], "interactions")
    flags = np.asarray(relevant, dtype=bool)
    if flags.shape != (len(interactions),):
        raise ValueError(
            f"relevant must have one flag per interaction ({len(interactions)}); got {flags.shape}"
        )
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.tzinfo is None:
        start, end = start.tz_localize("UTC"), end.tz_localize("UTC")
    ts = interactions[S.TIMESTAMP]
    events = interactions.loc[(ts >= start) & (ts < end), [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]]
    ids = np.asarray(item_ids)
    counts = (
        interactions.loc[ts < end, S.ITEM_ID].value_counts().reindex(ids, fill_value=0).to_numpy()
    )
    negatives = sample_negatives(
        events,
        ids,
        n_negatives,
        scheme=scheme,
        item_counts=counts if scheme == "popularity" else None,
        random_state=random_state,
    )
    # also drop items the user had before the window (the events frame starts at start)
    seen_before = interactions.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("_f")
    negatives = negatives.join(seen_before, on=[S.USER_ID, S.ITEM_ID])
    negatives = negatives.loc[
        negatives["_f"].isna() | (negatives["_f"] > negatives[S.TIMESTAMP])
    ].drop(columns="_f")
    examples = pd.concat(
        [events.assign(sampled=False), negatives.assign(sampled=True)], ignore_index=True
    )
    examples["label"] = _window_labels(examples, interactions.loc[flags], label_days)
    join = naive_join if leaky else asof_join
    for key, prefix in ((S.USER_ID, "user_"), (S.ITEM_ID, "item_")):
        examples = join(examples, feature_log(interactions, key, prefix=prefix), by=key)
    return examples


FEATURE_DESCRIPTIONS = {
    "n_interactions": "interactions before the cutoff",
    "n_ratings": "of them rated",
    "mean_rating": "mean rating before the cutoff (NaN without ratings)",
    "rating_std": "standard deviation of the user's ratings",
    "days_since_last": "days from the last interaction to the cutoff",
    "days_since_first": "days from the first interaction to the cutoff",
    "genre_aff_": "share of the user's interactions in this genre",
    "median_year": "median release year of the titles the user interacted with",
    "n_recent": "interactions in the recent window before the cutoff",
    "mean_rating_shrunk": "Bayesian mean rating, shrunk towards the global mean",
    "year": "release year of the title (NaN if unknown)",
    "title_age_years": "years from the release year to the cutoff",
    "genre_": "1 if the title has this genre (multi-hot)",
}
"""One line per feature column (or column family, by prefix) of ``build_features``."""


def describe_feature_columns(table: pd.DataFrame) -> pd.DataFrame:
    """One row per column of a feature table: its name, dtype and what it means.

    Columns are matched exactly first, then by the longest prefix in
    :data:`FEATURE_DESCRIPTIONS`; unknown columns are described as ``"(undocumented)"``,
    so a new feature without a description shows up.

    Examples
    --------
    >>> t = pd.DataFrame({"n_interactions": [1], "genre_Comedy": [0.5]})
    >>> describe_feature_columns(t)["meaning"].tolist()
    ['interactions before the cutoff', '1 if the title has this genre (multi-hot)']
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame; got {type(table).__name__}")
    prefixes = sorted((k for k in FEATURE_DESCRIPTIONS if k.endswith("_")), key=len, reverse=True)
    rows = []
    for col in table.columns:
        meaning = FEATURE_DESCRIPTIONS.get(col)
        if meaning is None:
            meaning = next(
                (FEATURE_DESCRIPTIONS[p] for p in prefixes if str(col).startswith(p)),
                "(undocumented)",
            )
        rows.append((col, str(table[col].dtype), meaning))
    return pd.DataFrame(rows, columns=["column", "dtype", "meaning"])
