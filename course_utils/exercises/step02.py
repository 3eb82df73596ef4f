"""Checks for the step 2 exercises (problem framing): labels and the popularity baseline."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.design.labels import relevance_labels
from course_utils.exercises.checking import Case, check_function
from course_utils.models import Popularity

__all__ = [
    "check_impression_negatives",
    "check_label_relevant",
    "check_ndcg_from_scores",
    "check_popularity_recommend",
    "check_positive_share",
    "check_rmse",
]


def _same_values(expected, got) -> bool:
    got = np.asarray(got)
    return got.shape == np.asarray(expected).shape and bool(
        np.array_equal(np.asarray(expected, dtype=bool), got.astype(bool))
    )


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.RATING: [5.0, 4.0, 3.5, 2.0, np.nan, np.nan, np.nan, 4.5],
            S.WATCH_PCT: [100.0, 30.0, 100.0, 95.0, 75.0, 60.0, 12.0, 5.0],
        }
    )


def check_label_relevant(fn: Callable) -> bool:
    """Check ``label_relevant(interactions, rating_threshold, watch_threshold)``."""
    events = _events()
    cases = [
        Case(events, rating_threshold=4.0, watch_threshold=60.0, label="default thresholds"),
        Case(events, rating_threshold=3.5, watch_threshold=70.0, label="other thresholds"),
        Case(
            events.assign(rating=np.nan),
            rating_threshold=4.0,
            watch_threshold=50.0,
            label="nobody rated: watch % decides",
        ),
        Case(
            events.iloc[:4],
            rating_threshold=4.0,
            watch_threshold=0.0,
            label="everyone rated: the rating decides, even after a full watch",
        ),
    ]
    return check_function(
        fn,
        reference=lambda df, rating_threshold, watch_threshold: relevance_labels(
            df, rating_threshold=rating_threshold, watch_threshold=watch_threshold
        ).to_numpy(),
        cases=cases,
        name="label_relevant",
        compare=_same_values,
        hint="Where the rating is present it decides (rating >= rating_threshold); where it is "
        "NaN, use watch_pct >= watch_threshold. Combine with & and | on boolean Series.",
    )


def _positive_share(values, thresholds):
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return (v[None, :] >= np.asarray(thresholds, dtype=float)[:, None]).mean(axis=1)


def check_positive_share(fn: Callable) -> bool:
    """Check ``positive_share(values, thresholds)``: share of non-missing values >= each threshold."""
    rng = np.random.default_rng(2)
    ratings = rng.choice(np.arange(0.5, 5.5, 0.5), size=500)
    cases = [
        Case(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.5]), label="one threshold"),
        Case(
            np.array([1.0, 2.0, 3.0, 4.0]),
            np.array([0.0, 4.0, 4.5]),
            label="all, one, none positive",
        ),
        Case(np.array([5.0, np.nan, 3.0, np.nan]), np.array([4.0]), label="NaN values ignored"),
        Case(ratings, np.arange(1.0, 5.5, 0.5), label="500 random ratings, 9 thresholds"),
    ]
    return check_function(
        fn,
        reference=_positive_share,
        cases=cases,
        name="positive_share",
        hint="Drop NaN first, then compare a (thresholds x 1) column against a (1 x values) row "
        "with broadcasting and take the mean along the values axis.",
    )


def _popularity_recommend(train: pd.DataFrame, user_ids, k: int) -> np.ndarray:
    return Popularity().fit(train).recommend(np.asarray(user_ids), k=k)[0]


def check_popularity_recommend(fn: Callable) -> bool:
    """Check ``popularity_recommend(train, user_ids, k)`` against the package's ``Popularity``."""
    train = pd.DataFrame(
        {
            S.USER_ID: [1, 1, 2, 2, 3, 3, 3, 4],
            S.ITEM_ID: [10, 20, 20, 30, 20, 30, 40, 50],
        }
    )
    rng = np.random.default_rng(0)
    big = pd.DataFrame(
        {S.USER_ID: rng.integers(0, 50, 2000), S.ITEM_ID: rng.zipf(1.5, 2000) % 200}
    ).drop_duplicates()
    cases = [
        Case(train, [4], k=2, label="most popular first"),
        Case(train, [3], k=2, label="seen items are excluded"),
        Case(train, [1, 4], k=3, label="ties go to the smaller item id"),
        Case(big, list(range(0, 50, 7)), k=10, label="50 users, 200 items"),
    ]
    return check_function(
        fn,
        reference=_popularity_recommend,
        cases=cases,
        name="popularity_recommend",
        hint="Count interactions per item; sort by (-count, item_id); for each user walk down "
        "that list skipping the items they already have in train. Return a (n_users, k) array.",
    )


# --------------------------------------------------------------------------- RMSE vs NDCG
def _rmse(predicted, actual) -> float:
    p = np.asarray(predicted, dtype=float)
    a = np.asarray(actual, dtype=float)
    if p.shape != a.shape:
        raise ValueError(
            f"predicted and actual must have the same shape; got {p.shape} and {a.shape}"
        )
    return float(np.sqrt(np.mean((p - a) ** 2)))


def check_rmse(fn: Callable) -> bool:
    """Check ``rmse(predicted, actual)``: root mean squared error, ValueError on a shape mismatch."""
    rng = np.random.default_rng(5)
    truth = rng.choice(np.arange(0.5, 5.5, 0.5), size=200)
    cases = [
        Case(np.array([3.0, 4.0]), np.array([3.0, 4.0]), label="perfect predictions -> 0"),
        Case(np.array([3.0, 5.0, 2.0]), np.array([4.0, 3.0, 2.0]), label="three ratings"),
        Case(truth + rng.normal(0, 0.7, 200), truth, label="200 noisy predictions"),
        Case(np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]), label="shape mismatch -> ValueError"),
    ]
    return check_function(
        fn,
        reference=_rmse,
        cases=cases,
        name="rmse",
        hint="sqrt(mean((predicted - actual) ** 2)); the square comes before the mean and the "
        "root after it. Raise ValueError when the shapes differ.",
    )


def _ndcg_from_scores(scores, relevant, k: int) -> float:
    s = np.asarray(scores, dtype=float)
    rel = np.asarray(relevant, dtype=bool)
    if s.shape != rel.shape or s.ndim != 1:
        raise ValueError(
            f"scores and relevant must be 1-d of the same length; got {s.shape}, {rel.shape}"
        )
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    order = np.argsort(-s, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((rel[order] * discounts[: len(order)]).sum())
    ideal = float(discounts[: min(int(rel.sum()), k)].sum())
    return dcg / ideal if ideal > 0 else 0.0


def check_ndcg_from_scores(fn: Callable) -> bool:
    """Check ``ndcg_from_scores(scores, relevant, k)`` for one user's scored catalogue."""
    rng = np.random.default_rng(11)
    big_scores, big_rel = rng.normal(size=300), rng.random(300) < 0.05
    cases = [
        Case(
            np.array([0.9, 0.5, 0.1]),
            np.array([True, False, True]),
            k=3,
            label="the notebook's example: relevant at ranks 1 and 3 -> 0.9197",
        ),
        Case(
            np.array([0.1, 0.2, 0.3, 0.4]),
            np.array([True, False, False, False]),
            k=2,
            label="the only relevant title is ranked last -> 0",
        ),
        Case(
            np.array([5.0, 4.0, 3.0]),
            np.array([False, False, False]),
            k=3,
            label="no relevant title -> 0",
        ),
        Case(
            np.array([1.0, 1.0, 0.0]),
            np.array([False, True, False]),
            k=1,
            label="ties keep catalogue order (the first index wins)",
        ),
        Case(
            np.array([3.0, 2.0, 1.0, 0.0]),
            np.array([True, True, True, True]),
            k=2,
            label="more relevant titles than k: the ideal DCG stops at k",
        ),
        Case(big_scores, big_rel, k=10, label="300 titles, k = 10"),
        Case(np.array([1.0]), np.array([True]), k=0, label="k = 0 -> ValueError"),
    ]
    return check_function(
        fn,
        reference=_ndcg_from_scores,
        cases=cases,
        name="ndcg_from_scores",
        hint="Order the titles by score, highest first (np.argsort(-scores, kind='stable')), keep "
        "k; DCG sums 1/log2(rank + 1) over the relevant ones; the ideal DCG puts min(#relevant, "
        "k) relevant titles first. Return 0 when nothing is relevant; ValueError when k < 1.",
    )


# --------------------------------------------------------------------------- impressions
def _impression_negatives(impressions: pd.DataFrame, plays: pd.DataFrame, label_days: float):
    shown = impressions.loc[
        ~impressions["played"].astype(bool), [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]
    ]
    first = plays.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("_first")
    shown = shown.join(first, on=[S.USER_ID, S.ITEM_ID])
    later = shown["_first"] < shown[S.TIMESTAMP] + pd.Timedelta(days=label_days)
    out = shown.loc[~later.fillna(False).astype(bool), [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]]
    return out.sort_values([S.TIMESTAMP, S.USER_ID, S.ITEM_ID]).reset_index(drop=True)


def _same_rows(expected: pd.DataFrame, got) -> bool:
    if not isinstance(got, pd.DataFrame):
        return False
    cols = [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]
    if any(c not in got.columns for c in cols) or len(got) != len(expected):
        return False
    g = got[cols].sort_values(cols).reset_index(drop=True)
    e = expected[cols].sort_values(cols).reset_index(drop=True)
    try:
        return bool((g.astype(str).to_numpy() == e.astype(str).to_numpy()).all())
    except (TypeError, ValueError):
        return False


def _impression_cases():
    t = pd.to_datetime(["2024-03-01 20:00", "2024-03-01 20:00", "2024-03-01 20:00",
                        "2024-03-02 21:00", "2024-03-02 21:00"], utc=True)  # fmt: skip
    impressions = pd.DataFrame(
        {
            S.USER_ID: [1, 1, 1, 2, 2],
            S.ITEM_ID: [10, 11, 12, 10, 13],
            S.TIMESTAMP: t,
            "position": [1, 2, 3, 1, 2],
            "played": [True, False, False, False, True],
        }
    )
    plays = pd.DataFrame(
        {
            S.USER_ID: [1, 2, 1, 2],
            S.ITEM_ID: [10, 13, 12, 10],
            S.TIMESTAMP: pd.to_datetime(["2024-03-01 20:00", "2024-03-02 21:00",
                                         "2024-03-20 19:00", "2024-02-01 18:00"], utc=True),
        }
    )  # fmt: skip
    return impressions, plays


def check_impression_negatives(fn: Callable) -> bool:
    """Check ``impression_negatives(impressions, plays, label_days)``.

    A negative is a shown, not-played impression whose title the user did not play before
    the impression or within ``label_days`` after it.
    """
    impressions, plays = _impression_cases()
    no_earlier_play = plays.iloc[:3]
    from course_utils.data import make_synthetic, simulate_impressions

    ds = make_synthetic(n_users=60, n_items=150, n_interactions=600, random_state=1)
    imp = simulate_impressions(ds, slate_size=5, random_state=1)
    cases = [
        Case(
            impressions,
            plays,
            label_days=7.0,
            label="played rows and titles watched before are not negatives; a title played "
            "19 days later still is",
        ),
        Case(
            impressions,
            plays,
            label_days=30.0,
            label="with a 30-day window the title played 19 days later is not a negative",
        ),
        Case(
            impressions,
            no_earlier_play,
            label_days=7.0,
            label="user 2 was shown title 10 and never played it -> a negative",
        ),
        Case(imp, ds.interactions, label_days=7.0, label="a simulated log of 600 plays"),
    ]
    return check_function(
        fn,
        reference=_impression_negatives,
        cases=cases,
        name="impression_negatives",
        compare=_same_rows,
        hint="Keep the impressions with played == False; look up when the user first played each "
        "title (groupby([user_id, item_id]).timestamp.min()); drop the rows where that first "
        "play is before impression time + label_days. Return user_id, item_id, timestamp.",
    )
