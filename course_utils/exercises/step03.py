"""Checks for the step 3 exercises (data preparation).

* ``per_user_train_mask(interactions, train_frac)``: the per-user temporal split as a
  boolean train mask, checked against :mod:`course_utils.data.splits`;
* ``user_history_features(interactions, cutoff)``: point-in-time user features, checked
  against :func:`course_utils.features.user_activity`;
* ``gini(counts)``: the Gini coefficient of item popularity, checked against
  :func:`course_utils.gini`;
* ``leaky_feature(suspect, interactions, items, cutoff)``: which column of a
  :func:`suspect_item_table` leaks the future (``check_leaky_feature``), tried on tables in
  which different columns leak.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils import features
from course_utils.data import gini, splits
from course_utils.data import schema as S
from course_utils.exercises.checking import Case, CheckResult, check_function, with_reference

__all__ = [
    "HISTORY_COLUMNS",
    "check_asof_user_features",
    "check_gini",
    "check_leaky_feature",
    "check_per_user_train_mask",
    "check_user_history_features",
    "suspect_item_table",
]

HISTORY_COLUMNS = ["n_interactions", "mean_rating", "days_since_last"]

MASK_HINT = (
    "Order each user's rows by (timestamp, item_id), number them 0, 1, 2, ... and keep the "
    "first ceil(train_frac * n) in train; return the mask in the ORIGINAL row order. Beware "
    "floating point: 0.28 * 25 is 7.000000000000001 in floats, and its ceiling is 8, not 7 "
    "(subtract a tiny epsilon before the ceiling, or count in integers). Raise ValueError "
    "unless 0 < train_frac < 1."
)
HISTORY_HINT = (
    "Only interactions strictly before the cutoff exist for this feature. Per user: how "
    "many, the mean of the ratings that are present, and how long ago (in days, as a float) "
    "the last one was. One row per user, user ids as the index (or a user_id column)."
)
GINI_HINT = (
    "Sort the counts ascending as x_1 <= ... <= x_n; with i = 1..n, "
    "G = 2 * sum(i * x_i) / (n * sum(x)) - (n + 1) / n. Equal counts give 0; one item "
    "holding everything among n gives (n - 1) / n."
)
LEAK_HINT = (
    "What would an honest table look like? The package can compute item features as of a "
    "cutoff. Compare it with the suspect column by column; missing values (NaN) must count "
    "as equal to each other."
)
LEAKABLE = ("n_interactions", "n_recent", "mean_rating", "days_since_first")


def _frame(rows) -> pd.DataFrame:
    """Interactions from (user, item, rating, hours since 2020-01-01) tuples."""
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID, S.RATING, "h"])
    df[S.USER_ID] = df[S.USER_ID].astype(np.int64)
    df[S.ITEM_ID] = df[S.ITEM_ID].astype(np.int64)
    df[S.RATING] = df[S.RATING].astype(np.float64)
    df[S.TIMESTAMP] = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(df.pop("h"), unit="h")
    return df


def _random_frame(seed: int, n: int = 300, n_users: int = 25) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = zip(
        rng.integers(1, n_users + 1, n),
        rng.integers(1, 80, n),
        rng.choice([np.nan, 1.0, 2.5, 3.0, 4.0, 4.5, 5.0], n),
        rng.integers(0, 24 * 90, n),
        strict=True,
    )
    return _frame(list(rows))


# --------------------------------------------------------------------------- split mask
def _reference_mask(interactions: pd.DataFrame, train_frac: float = 0.8) -> np.ndarray:
    splits._check_frac(train_frac)
    return splits._per_user_mask(interactions, train_frac)


def check_per_user_train_mask(fn: Callable) -> CheckResult:
    """Check ``per_user_train_mask(interactions, train_frac)`` against the course split.

    Examples
    --------
    >>> ok = check_per_user_train_mask(_reference_mask)  # doctest: +ELLIPSIS
    ✅ per_user_train_mask: passed 9 checks
    ...
    """
    cases = [
        Case(
            _frame(
                [
                    (1, 10, 4.0, 5),
                    (1, 11, 3.0, 1),
                    (1, 12, 5.0, 3),
                    (1, 13, 2.0, 4),
                    (1, 14, 1.0, 2),
                ]
            ),
            0.8,
            label="one user, rows not in time order",
        ),  # fmt: skip
        Case(
            _frame([(1, 10, 4.0, 0), (2, 11, 3.0, 0), (2, 12, 5.0, 1)]),
            0.5,
            label="a single-interaction user keeps it in train (ceil)",
        ),  # fmt: skip
        Case(
            _frame([(1, 30, 4.0, 7), (1, 20, 3.0, 7), (1, 10, 5.0, 7)]),
            0.5,
            label="equal timestamps: ties broken by the smaller item_id",
        ),  # fmt: skip
        Case(
            _frame(
                [
                    (2, 1, 4.0, 9),
                    (1, 2, 4.0, 1),
                    (2, 3, 4.0, 2),
                    (1, 4, 4.0, 8),
                    (2, 5, 4.0, 4),
                    (1, 6, 4.0, 3),
                ]
            ),
            0.6,
            label="users interleaved",
        ),  # fmt: skip
        Case(
            _frame([(7, 100 + i, 4.0, i) for i in range(25)] + [(8, 1, 3.0, 0)]),
            0.28,
            label="float trap: 0.28 x 25 interactions -> 7 in train, not 8",
        ),  # fmt: skip
        Case(
            _frame([(5, 100 + i, 4.0, 50 - i) for i in range(50)]),
            0.56,
            label="float trap: 0.56 x 50 -> 28 in train, not 29",
        ),  # fmt: skip
        Case(_random_frame(0), 0.8, label="300 random rows, 25 users (seed 0)"),
        Case(_random_frame(1), 0.3, label="300 random rows, train_frac=0.3 (seed 1)"),
        Case(_frame([(1, 1, 4.0, 0)]), 1.0, label="train_frac=1.0 raises ValueError"),
    ]
    return check_function(
        fn, reference=_reference_mask, cases=cases, name="per_user_train_mask", hint=MASK_HINT
    )


# --------------------------------------------------------------------------- point in time
def _reference_history(interactions: pd.DataFrame, cutoff) -> pd.DataFrame:
    return features.user_activity(interactions, cutoff)[HISTORY_COLUMNS]


def check_user_history_features(fn: Callable) -> CheckResult:
    """Check ``user_history_features(interactions, cutoff)`` against ``features.user_activity``.

    Examples
    --------
    >>> ok = check_user_history_features(_reference_history)  # doctest: +ELLIPSIS
    ✅ user_history_features: passed 5 checks
    ...
    """
    t = pd.Timestamp("2020-01-01", tz="UTC")
    hand = _frame([(1, 1, 4.0, 0), (1, 2, 2.0, 24), (1, 3, 5.0, 96), (2, 1, 3.0, 12)])
    cases = [
        Case(hand, t + pd.Timedelta(hours=72), label="events after the cutoff are ignored"),
        Case(hand, t + pd.Timedelta(hours=24), label="an event exactly at the cutoff is excluded"),
        Case(
            _frame([(1, 1, np.nan, 0), (1, 2, 4.0, 6), (3, 1, np.nan, 3), (3, 5, 1.0, 30)]),
            t + pd.Timedelta(hours=12),
            label="missing ratings are ignored in the mean",
        ),  # fmt: skip
        Case(_random_frame(2), t + pd.Timedelta(days=45), label="300 random rows (seed 2)"),
        Case(_random_frame(3), t + pd.Timedelta(days=365), label="cutoff after all events"),
    ]
    return check_function(
        fn, reference=_reference_history, cases=cases, name="user_history_features",
        hint=HISTORY_HINT, compare=_same_history,
    )  # fmt: skip


def _same_history(expected: pd.DataFrame, got) -> str | None:
    """One row per user (index or ``user_id`` column, any order), the three columns."""
    if not isinstance(got, pd.DataFrame):
        return f"expected a DataFrame, received {type(got).__name__}"
    if S.USER_ID in got.columns:
        got = got.set_index(S.USER_ID)
    missing = [c for c in HISTORY_COLUMNS if c not in got.columns]
    if missing:
        return f"missing columns {missing} (received {list(got.columns)})"
    if got.index.has_duplicates:
        return "several rows for the same user: one row per user"
    extra = sorted(set(got.index) - set(expected.index))
    lost = sorted(set(expected.index) - set(got.index))
    if extra or lost:
        return (
            f"users differ: {len(extra)} unexpected (first {extra[:3]}), "
            f"{len(lost)} missing (first {lost[:3]})"
        )
    aligned = got.loc[expected.index, HISTORY_COLUMNS].astype(float)
    for column in HISTORY_COLUMNS:
        want, have = expected[column].to_numpy(float), aligned[column].to_numpy(float)
        close = np.isclose(have, want, rtol=1e-6, atol=1e-9, equal_nan=True)
        if not close.all():
            user = expected.index[int(np.flatnonzero(~close)[0])]
            return (
                f"column {column!r} differs for {int((~close).sum())} users; first user "
                f"{user}: expected {want[~close][0]:.6g}, received {have[~close][0]:.6g}"
            )
    return None


# --------------------------------------------------------------------------- Gini
def check_gini(fn: Callable) -> CheckResult:
    """Check ``gini(counts)`` against :func:`course_utils.gini`.

    Examples
    --------
    >>> ok = check_gini(gini)  # doctest: +ELLIPSIS
    ✅ gini: passed 6 checks
    ...
    """
    rng = np.random.default_rng(0)
    cases = [
        Case(np.array([5, 5, 5, 5]), label="equal counts -> 0"),
        Case(np.array([0, 0, 0, 10]), label="one item takes everything -> (n-1)/n"),
        Case(np.array([3, 1]), label="two items, unsorted"),
        Case([4, 0, 1, 9, 2], label="a plain list works too"),
        Case(np.array([7]), label="a single item -> 0"),
        Case(np.floor(rng.pareto(1.2, size=500) * 10), label="500 long-tailed counts (seed 0)"),
    ]
    return check_function(fn, reference=gini, cases=cases, name="gini", hint=GINI_HINT)


# --------------------------------------------------------------------------- find the leak
def suspect_item_table(
    interactions: pd.DataFrame, items: pd.DataFrame, cutoff, leak: str = "mean_rating"
) -> pd.DataFrame:
    """Item features "as of ``cutoff``" built by a hurried teammate: one column leaks.

    Returns the columns ``n_interactions``, ``n_recent``, ``mean_rating`` and
    ``days_since_first`` of :func:`course_utils.features.item_features`; the column
    ``leak`` was computed on all interactions instead of those before the cutoff.
    """
    if leak not in LEAKABLE:
        raise ValueError(f"leak must be one of {LEAKABLE}; got {leak!r}")
    honest = features.item_features(interactions, items, cutoff)
    end = interactions[S.TIMESTAMP].max() + pd.Timedelta(seconds=1)
    everything = features.item_features(interactions, items, end)
    table = honest[list(LEAKABLE)].copy()
    table[leak] = everything[leak]
    return table


def _leak_reference(suspect, interactions, items, cutoff) -> str:
    honest = features.item_features(interactions, items, cutoff)
    differs = [c for c in suspect.columns if not np.allclose(suspect[c], honest[c], equal_nan=True)]
    return differs[0]


def _catalogue(ids) -> pd.DataFrame:
    ids = np.unique(ids)
    return pd.DataFrame(
        {
            S.ITEM_ID: ids,
            S.GENRES: [["Drama"] for _ in ids],
            S.YEAR: pd.array([2000] * len(ids), dtype="Int64"),
        }
    )


def _leak_case(seed: int, leak: str) -> Case:
    events = _random_frame(seed, n=400, n_users=30)
    items = _catalogue(np.r_[events[S.ITEM_ID].to_numpy(), 500])  # item 500: never seen
    cutoff = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=60)
    suspect = suspect_item_table(events, items, cutoff, leak=leak)
    return Case(
        suspect, events, items, cutoff, label=f"a table where another column leaks (seed {seed})"
    )


def check_leaky_feature(fn: Callable) -> CheckResult:
    """Check ``leaky_feature(suspect, interactions, items, cutoff)``, the leaking column's name.

    It is tried on suspect tables in which different columns leak, so the name must be
    found with code; a wrong name is not answered with the right one.

    Examples
    --------
    >>> ok = check_leaky_feature(_leak_reference)  # doctest: +ELLIPSIS
    ✅ leaky_feature: passed 4 checks
    ...
    """
    cases = [_leak_case(seed, leak) for seed, leak in enumerate(LEAKABLE)]
    return check_function(
        fn, reference=_leak_reference, cases=cases, name="leaky_feature", hint=LEAK_HINT,
        reveal=False,
    )  # fmt: skip


# --------------------------------------------------------------------------- as-of join
def _asof_user_features(examples: pd.DataFrame, interactions: pd.DataFrame) -> pd.DataFrame:
    log = features.feature_log(interactions, S.USER_ID, prefix="user_")
    joined = features.asof_join(examples[[S.USER_ID, S.TIMESTAMP]], log, by=S.USER_ID)
    return joined[["user_n", "user_mean_rating"]]


def _asof_cases():
    t = pd.to_datetime(
        ["2024-01-01", "2024-01-03", "2024-01-03", "2024-01-05", "2024-01-02", "2024-01-09"],
        utc=True,
    )
    log = pd.DataFrame(
        {
            S.USER_ID: [1, 1, 1, 1, 2, 2],
            S.ITEM_ID: [10, 11, 12, 13, 10, 14],
            S.RATING: [4.0, 2.0, 5.0, 3.0, 1.0, np.nan],
            S.TIMESTAMP: t,
        }
    )
    rng = np.random.default_rng(4)
    n = 400
    big = pd.DataFrame(
        {
            S.USER_ID: rng.integers(0, 25, n),
            S.ITEM_ID: rng.integers(0, 60, n),
            S.RATING: np.where(rng.random(n) < 0.2, np.nan, rng.integers(1, 11, n) / 2),
            S.TIMESTAMP: pd.to_datetime(rng.integers(0, 30 * 86_400, n), unit="s", utc=True),
        }
    )
    return log, big


def check_asof_user_features(fn: Callable) -> bool:
    """Check ``asof_user_features(examples, interactions)``: per example row, the user's count
    of interactions and mean rating strictly before the example's timestamp."""
    log, big = _asof_cases()
    shuffled = big.sample(frac=1.0, random_state=0).reset_index(drop=True)
    requests = pd.DataFrame(
        {S.USER_ID: [1, 1, 2, 3], S.TIMESTAMP: pd.to_datetime(
            ["2024-01-03", "2024-01-10", "2024-01-01", "2024-01-10"], utc=True)}
    )  # fmt: skip
    cases = [
        Case(log, log, label="the log's own events: an event never sees itself"),
        Case(requests, log, label="requests between events; an unknown user gets 0 and NaN"),
        Case(big, big, label="400 events, several at the same second"),
        Case(shuffled, big, label="examples not sorted by time: keep the examples' row order"),
    ]
    return check_function(
        fn,
        reference=_asof_user_features,
        cases=cases,
        name="asof_user_features",
        compare=_same_feature_frame,
        hint="Build the running count and mean per (user, timestamp) (cumulative sums), then "
        "pd.merge_asof(examples sorted by time, snapshots, on='timestamp', by='user_id', "
        "allow_exact_matches=False): strictly before. Restore the examples' row order; fill "
        "the count with 0. Return columns user_n and user_mean_rating.",
    )


def _same_feature_frame(expected: pd.DataFrame, got) -> bool:
    if not isinstance(got, pd.DataFrame) or len(got) != len(expected):
        return False
    if any(c not in got.columns for c in ("user_n", "user_mean_rating")):
        return False
    n_ok = np.array_equal(got["user_n"].to_numpy(float), expected["user_n"].to_numpy(float))
    m_ok = np.allclose(
        got["user_mean_rating"].to_numpy(float),
        expected["user_mean_rating"].to_numpy(float),
        equal_nan=True,
    )
    return bool(n_ok and m_ok)


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(_reference_mask)(check_per_user_train_mask)
with_reference(gini)(check_gini)
with_reference(_leak_reference)(check_leaky_feature)
with_reference(_reference_history)(check_user_history_features)
with_reference(_asof_user_features)(check_asof_user_features)
