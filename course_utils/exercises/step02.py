"""Checks for the step 2 exercises (problem framing): labels, the popularity baseline and
negatives from impressions.

* ``label_relevant(interactions, rating_threshold, watch_threshold)`` against
  :func:`course_utils.design.labels.relevance_labels` (any 1-D container of booleans);
* ``positive_share(values, thresholds)``: share of non-missing values >= each threshold;
* ``popularity_recommend(train, user_ids, k)`` against the package's ``Popularity``;
* ``impression_negatives(impressions, plays, label_days)``: the pairs shown and not played within the label window;
  (any row order, any index).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.design import labels
from course_utils.exercises.checking import Case, CheckResult, check_function, with_reference
from course_utils.models import Popularity

__all__ = [
    "check_impression_negatives",
    "check_label_relevant",
    "check_ndcg_from_scores",
    "check_popularity_recommend",
    "check_positive_share",
    "check_rmse",
]

LABEL_HINT = (
    "Two kinds of rows: those with a rating and those without (notna). Each kind has its own "
    "rule; build one boolean Series per kind and combine them so that every row gets exactly "
    "one verdict."
)
SHARE_HINT = (
    "Missing values are not part of the denominator. Broadcasting a column of thresholds "
    "against a row of values gives a (thresholds x values) table in one step."
)
POPULARITY_HINT = (
    "Count training interactions per item and order the items (most first; what breaks a "
    "tie?). Each user then walks down that single list, skipping what they already have."
)


def _same_labels(expected, got):
    """Any 1-D container of booleans (or 0/1) with the expected labels, row for row."""
    try:
        got = np.asarray(got)
    except Exception:  # noqa: BLE001
        return f"expected one boolean per row, received {type(got).__name__}"
    if got.shape != np.shape(expected):
        return f"expected {len(expected)} labels (one per row), received shape {got.shape}"
    if got.dtype.kind not in "biu" and not (got.dtype.kind == "f" and np.isin(got, [0, 1]).all()):
        return f"expected booleans, received dtype {got.dtype}"
    wrong = np.flatnonzero(np.asarray(expected, dtype=bool) != got.astype(bool))
    if len(wrong) == 0:
        return None
    i = int(wrong[0])
    return (
        f"{len(wrong)} of {len(expected)} labels differ; first at row {i}: "
        f"expected {bool(expected[i])}, received {bool(got[i])}"
    )


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.RATING: [5.0, 4.0, 3.5, 2.0, np.nan, np.nan, np.nan, 4.5],
            S.WATCH_PCT: [100.0, 30.0, 100.0, 95.0, 75.0, 60.0, 12.0, 5.0],
        }
    )


def _labels_reference(df, rating_threshold=4.0, watch_threshold=60.0) -> np.ndarray:
    return labels.relevance_labels(
        df, rating_threshold=rating_threshold, watch_threshold=watch_threshold
    ).to_numpy()


def check_label_relevant(fn: Callable) -> CheckResult:
    """Check ``label_relevant(interactions, rating_threshold, watch_threshold)``.

    Examples
    --------
    >>> ok = check_label_relevant(_labels_reference)  # doctest: +ELLIPSIS
    ✅ label_relevant: passed 5 checks
    ...
    """
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
        Case(
            events.iloc[[6, 0, 4]].reset_index(drop=True),
            rating_threshold=5.0,
            watch_threshold=12.0,
            label="thresholds are inclusive (>=)",
        ),
    ]
    return check_function(
        fn,
        reference=_labels_reference,
        cases=cases,
        name="label_relevant",
        compare=_same_labels,
        hint=LABEL_HINT,
    )


def _positive_share(values, thresholds):
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return (v[None, :] >= np.asarray(thresholds, dtype=float)[:, None]).mean(axis=1)


def check_positive_share(fn: Callable) -> CheckResult:
    """Check ``positive_share(values, thresholds)``: share of non-missing values >= each threshold.

    Examples
    --------
    >>> ok = check_positive_share(_positive_share)  # doctest: +ELLIPSIS
    ✅ positive_share: passed 5 checks
    ...
    """
    rng = np.random.default_rng(2)
    ratings = rng.choice(np.arange(0.5, 5.5, 0.5), size=500)
    ratings[rng.random(500) < 0.2] = np.nan
    cases = [
        Case(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.5]), label="one threshold"),
        Case(
            np.array([1.0, 2.0, 3.0, 4.0]),
            np.array([0.0, 4.0, 4.5]),
            label="all, one (a value equal to the threshold counts), none positive",
        ),
        Case(np.array([5.0, np.nan, 3.0, np.nan]), np.array([4.0]), label="NaN values ignored"),
        Case(np.array([2.0, 3.0, 1.0]), np.array([3.0, 1.0]), label="thresholds in any order"),
        Case(ratings, np.arange(1.0, 5.5, 0.5), label="500 ratings, 20 % missing, 9 thresholds"),
    ]
    return check_function(
        fn, reference=_positive_share, cases=cases, name="positive_share", hint=SHARE_HINT
    )


def _popularity_recommend(train: pd.DataFrame, user_ids, k: int) -> np.ndarray:
    return Popularity().fit(train).recommend(np.asarray(user_ids), k=k)[0]


def check_popularity_recommend(fn: Callable) -> CheckResult:
    """Check ``popularity_recommend(train, user_ids, k)`` against the package's ``Popularity``.

    Examples
    --------
    >>> ok = check_popularity_recommend(_popularity_recommend)  # doctest: +ELLIPSIS
    ✅ popularity_recommend: passed 5 checks
    ...
    """
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
        Case(train, [2, 1], k=1, label="users in the order asked, k=1"),
        Case(big, list(range(0, 50, 7)), k=10, label="50 users, 200 items"),
    ]
    return check_function(
        fn,
        reference=_popularity_recommend,
        cases=cases,
        name="popularity_recommend",
        hint=POPULARITY_HINT,
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


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(_popularity_recommend)(check_popularity_recommend)
with_reference(_impression_negatives)(check_impression_negatives)
with_reference(_labels_reference)(check_label_relevant)
with_reference(_positive_share)(check_positive_share)
with_reference(_rmse)(check_rmse)
with_reference(_ndcg_from_scores)(check_ndcg_from_scores)
