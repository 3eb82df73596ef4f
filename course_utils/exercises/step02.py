"""Checks for the step 2 exercises (problem framing): labels, the popularity baseline and
negatives from impressions.

* ``label_relevant(interactions, rating_threshold, watch_threshold)`` against
  :func:`course_utils.design.labels.relevance_labels` (any 1-D container of booleans);
* ``positive_share(values, thresholds)``: share of non-missing values >= each threshold;
* ``popularity_recommend(train, user_ids, k)`` against the package's ``Popularity``;
* ``impression_negatives(impressions)`` against :func:`course_utils.design.labels.impression_negatives`
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
    "check_popularity_recommend",
    "check_positive_share",
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
NEGATIVES_HINT = (
    "Think per (user_id, item_id) pair, not per impression row: a pair is negative only if "
    "none of its impressions was clicked, and each pair is listed once."
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


def _same_pairs(expected: pd.DataFrame, got) -> str | None:
    """The same set of (user_id, item_id) rows, in any order, each once."""
    if not isinstance(got, pd.DataFrame):
        return f"expected a DataFrame, received {type(got).__name__}"
    missing = {S.USER_ID, S.ITEM_ID} - set(got.columns)
    if missing:
        return f"columns user_id and item_id expected; missing {sorted(missing)}"
    pairs = got[[S.USER_ID, S.ITEM_ID]].astype(np.int64)
    if pairs.duplicated().any():
        return f"{int(pairs.duplicated().sum())} duplicated pairs: list each pair once"
    want = set(map(tuple, expected.to_numpy().tolist()))
    have = set(map(tuple, pairs.to_numpy().tolist()))
    if want == have:
        return None
    extra, lost = sorted(have - want), sorted(want - have)
    parts = [f"{len(extra)} pairs that are not negatives (first {extra[0]})"] if extra else []
    parts += [f"{len(lost)} negatives missing (first {lost[0]})"] if lost else []
    return "; ".join(parts)


def _impressions(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID, "clicked"])
    return df.astype({S.USER_ID: np.int64, S.ITEM_ID: np.int64, "clicked": bool})


def _random_impressions(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = zip(rng.integers(1, 30, n), rng.integers(1, 40, n), rng.random(n) < 0.15, strict=True)
    return _impressions(list(rows))


def check_impression_negatives(fn: Callable) -> CheckResult:
    """Check ``impression_negatives(impressions)`` against the package's function.

    Examples
    --------
    >>> ok = check_impression_negatives(labels.impression_negatives)  # doctest: +ELLIPSIS
    ✅ impression_negatives: passed 5 checks
    ...
    """
    cases = [
        Case(
            _impressions([(1, 10, False), (1, 11, True), (2, 10, True), (2, 12, False)]),
            label="skipped titles are negatives, clicked ones are not",
        ),
        Case(
            _impressions([(1, 10, False), (1, 10, False), (1, 10, False), (2, 11, False)]),
            label="a title shown three times and never clicked is one negative",
        ),
        Case(
            _impressions([(1, 10, False), (1, 10, True), (1, 11, False), (2, 10, False)]),
            label="skipped once, clicked later: not a negative (for that user only)",
        ),
        Case(_impressions([(3, 7, True), (3, 8, True)]), label="everything clicked: no negatives"),
        Case(_random_impressions(0), label="600 random impressions, 15 % clicked (seed 0)"),
    ]
    return check_function(
        fn,
        reference=labels.impression_negatives,
        cases=cases,
        name="impression_negatives",
        hint=NEGATIVES_HINT,
        compare=_same_pairs,
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(_popularity_recommend)(check_popularity_recommend)
with_reference(labels.impression_negatives)(check_impression_negatives)
with_reference(_labels_reference)(check_label_relevant)
with_reference(_positive_share)(check_positive_share)
