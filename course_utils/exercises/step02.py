"""Checks for the step 2 exercises (problem framing): labels and the popularity baseline."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.design.labels import relevance_labels
from course_utils.exercises.checking import Case, check_function
from course_utils.models import Popularity

__all__ = ["check_label_relevant", "check_positive_share", "check_popularity_recommend"]


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
