"""Turning raw feedback into training labels (step 2: problem framing).

Explicit feedback is a rating; implicit feedback is what the user did (started,
watched ``watch_pct`` % of the title). A *relevant watch* is the course's positive label:
a rating >= ``rating_threshold`` where the user rated, else watching at least
``watch_threshold`` % of the title.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.data import schema as S

__all__ = ["impression_negatives", "relevance_labels", "threshold_curve", "objective_table"]


def relevance_labels(
    interactions: pd.DataFrame, *, rating_threshold: float = 4.0, watch_threshold: float = 60.0
) -> pd.Series:
    """Boolean label per interaction: a like (rating >= threshold) or a substantial watch.

    A rating, where present, decides (a 2-star rating after a full watch is a dislike).
    Unrated interactions are positive when ``watch_pct >= watch_threshold`` (only if the
    data has a ``watch_pct`` column; otherwise they are negative).

    Examples
    --------
    >>> df = pd.DataFrame({"rating": [5.0, 2.0, np.nan, np.nan],
    ...                    "watch_pct": [100.0, 95.0, 70.0, 10.0]})
    >>> relevance_labels(df).tolist()
    [True, False, True, False]
    """
    if not 0 <= watch_threshold <= 100:
        raise ValueError(f"watch_threshold must be in [0, 100]; got {watch_threshold}")
    if S.RATING not in interactions and S.WATCH_PCT not in interactions:
        raise ValueError("interactions needs a 'rating' or a 'watch_pct' column")
    rating = (
        interactions[S.RATING]
        if S.RATING in interactions
        else pd.Series(np.nan, index=interactions.index)
    )
    liked = rating >= rating_threshold
    if S.WATCH_PCT in interactions:
        watched = rating.isna() & (interactions[S.WATCH_PCT] >= watch_threshold)
        liked = liked | watched
    return liked.rename("relevant")


def threshold_curve(interactions: pd.DataFrame, column: str, thresholds) -> pd.DataFrame:
    """How the positive share and the set of positive items change with a label threshold.

    Returns one row per threshold: ``positive_share`` (of non-missing values),
    ``positive_items`` (distinct items with >= 1 positive) and ``positive_users``.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "rating": [5.0, 3.0, 4.0]})
    >>> threshold_curve(df, "rating", [4.0])[["positive_share", "positive_items"]].values.tolist()
    [[0.6666666666666666, 1.0]]
    """
    if column not in interactions:
        raise ValueError(f"column {column!r} not in interactions; has {list(interactions.columns)}")
    data = interactions.loc[interactions[column].notna(), [S.USER_ID, S.ITEM_ID, column]]
    values = data[column].to_numpy()
    thr = np.asarray(thresholds, dtype=np.float64)
    positive = values[None, :] >= thr[:, None]  # (n_thresholds, n_events)
    items = pd.factorize(data[S.ITEM_ID])[0]
    users = pd.factorize(data[S.USER_ID])[0]

    def distinct(codes: np.ndarray) -> np.ndarray:
        # for each threshold, the number of distinct codes among positive events
        best = np.full(codes.max() + 1, -np.inf)
        np.maximum.at(best, codes, values)  # the largest value each item/user ever got
        return (best[None, :] >= thr[:, None]).sum(axis=1)

    return pd.DataFrame(
        {
            "threshold": thr,
            "positive_share": positive.mean(axis=1),
            "positive_items": distinct(items).astype(float),
            "positive_users": distinct(users).astype(float),
        }
    )


def objective_table(interactions: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Per-title value under four candidate objectives (synthetic streaming data).

    Columns: ``duration``, ``starts`` (a click proxy), ``completion_rate``,
    ``watch_minutes`` (total minutes watched), ``relevant_watches`` (count of
    :func:`relevance_labels` positives).
    """
    need = {S.WATCH_PCT, S.COMPLETED}
    if need - set(interactions.columns) or S.DURATION not in items:
        raise ValueError("objective_table needs streaming data (watch_pct, completed, duration)")
    dur = items.set_index(S.ITEM_ID)[S.DURATION]
    df = interactions.assign(
        minutes=interactions[S.WATCH_PCT] / 100.0 * interactions[S.ITEM_ID].map(dur).to_numpy(),
        relevant=relevance_labels(interactions),
    )
    table = df.groupby(S.ITEM_ID).agg(
        starts=(S.USER_ID, "size"),
        completion_rate=(S.COMPLETED, "mean"),
        watch_minutes=("minutes", "sum"),
        relevant_watches=("relevant", "sum"),
    )
    table.insert(0, S.DURATION, dur.reindex(table.index))
    return table


def impression_negatives(impressions: pd.DataFrame) -> pd.DataFrame:
    """Negative training pairs from an impression log: shown to the user, never clicked.

    A pair (user, title) is a negative when the title was shown to the user at least once
    and the user clicked it in none of those impressions (a title skipped on Monday and
    clicked on Friday is a positive, not a negative). Each pair appears once.

    Parameters
    ----------
    impressions : DataFrame
        One row per impression with ``user_id``, ``item_id`` and a boolean ``clicked``.

    Returns
    -------
    DataFrame
        Columns ``user_id`` and ``item_id``, sorted by both, with a fresh index.

    Examples
    --------
    >>> log = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [10, 11, 10, 10],
    ...                     "clicked": [False, False, True, False]})
    >>> impression_negatives(log).to_numpy().tolist()
    [[1, 11], [2, 10]]
    """
    missing = {S.USER_ID, S.ITEM_ID, "clicked"} - set(impressions.columns)
    if missing:
        raise ValueError(
            f"impressions needs columns user_id, item_id, clicked; missing {sorted(missing)}"
        )
    ever_clicked = (
        impressions.assign(clicked=impressions["clicked"].astype(bool))
        .groupby([S.USER_ID, S.ITEM_ID], sort=True)["clicked"]
        .any()
    )
    return ever_clicked[~ever_clicked].index.to_frame(index=False)
