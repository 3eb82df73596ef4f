"""Checks for the step 4b exercises (the ranking stage of a two-stage recommender).

* ``candidate_recall(candidates, split)``: the share of each evaluated user's relevant test
  items that made it into the candidate set, checked against
  :func:`course_utils.models.candidates.candidate_recall`;
* ``item_popularity_at_user(interactions, candidates)``: a point-in-time feature, the
  number of interactions with the candidate item strictly before the user's own last
  interaction, checked against the ``item_pop_at_user`` column of
  :func:`course_utils.features.ranking.ranking_features`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.splits import Split
from course_utils.exercises.checking import Case, CheckResult, check_function, with_reference
from course_utils.features.ranking import feature_tables, ranking_features
from course_utils.models.candidates import candidate_recall

__all__ = ["check_candidate_recall", "check_point_in_time_feature"]

RECALL_HINT = (
    "split.relevant holds the relevant test pairs of the evaluated users and split.n_relevant "
    "their counts. Per user: how many relevant pairs appear among the candidates (a pair "
    "listed twice is still one hit)? Every evaluated user needs a value, also those without "
    "candidates."
)
POINT_IN_TIME_HINT = (
    "Each user has their own 'now': the time of their last interaction, t_u. For a "
    "candidate (user, item), count the item's interactions strictly before that user's t_u "
    "(by anyone, the user included). Users without interactions have no t_u (NaN); unknown "
    "items have a count of 0. One float per candidate row, in the candidates' order."
)


# --------------------------------------------------------------------------- candidate recall
def _split(train_pairs, test_rows) -> Split:
    train = pd.DataFrame(train_pairs, columns=[S.USER_ID, S.ITEM_ID])
    test = pd.DataFrame(test_rows, columns=[S.USER_ID, S.ITEM_ID, S.RATING])
    return Split(train.astype(np.int64), test.astype({S.USER_ID: np.int64, S.ITEM_ID: np.int64}))


def _pairs(rows, **extra) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID]).astype(np.int64)
    return df.assign(**extra) if extra else df


def _random_recall_case(seed: int) -> tuple[pd.DataFrame, Split]:
    rng = np.random.default_rng(seed)
    users = np.arange(1, 31)
    train = [(u, 1000 + u) for u in users]
    test = [
        (u, i, float(r))
        for u in users
        for i, r in zip(rng.choice(60, 6, replace=False), rng.integers(1, 6, 6), strict=True)
    ]
    cands = [(u, int(i)) for u in users[:-3] for i in rng.choice(60, 15, replace=False)]
    return _pairs(cands), _split(train, test)


def _recall_values(candidates: pd.DataFrame, split: Split) -> np.ndarray:
    """Reference values, aligned with ``split.eval_users``."""
    return candidate_recall(candidates, split).to_numpy()


def check_candidate_recall(fn: Callable) -> CheckResult:
    """Check ``candidate_recall(candidates, split)`` against :func:`course_utils.models.candidates.candidate_recall`.

    Examples
    --------
    >>> ok = check_candidate_recall(candidate_recall)  # doctest: +ELLIPSIS
    ✅ candidate_recall: passed 6 checks
    ...
    """
    hand = _split([(1, 100), (2, 100)], [(1, 1, 5.0), (1, 2, 4.0), (2, 3, 4.5), (2, 4, 4.0)])
    cases = [
        Case(_pairs([(1, 1), (1, 9), (2, 3), (2, 4)]), hand, label="two users, recall 0.5 and 1.0"),
        Case(_pairs([(2, 3)]), hand, label="a user without candidates has recall 0"),
        Case(
            _pairs([(1, 1), (1, 1), (1, 1), (2, 3)]),
            hand,
            label="a duplicated candidate counts once",
        ),
        Case(
            _pairs([(1, 1), (2, 3), (3, 5)], from_ease=1),
            _split(
                [(1, 100), (2, 100), (3, 100)], [(1, 1, 5.0), (2, 3, 4.0), (2, 7, 2.0), (3, 5, 3.0)]
            ),
            label="low ratings are not relevant; user 3 has no relevant item and is not evaluated",
        ),  # fmt: skip
        Case(*_random_recall_case(0), label="30 random users, 3 without candidates (seed 0)"),
        Case(*_random_recall_case(1), label="30 random users (seed 1)"),
    ]

    def values_of(candidates, split):  # a Series is aligned on split.eval_users first
        out = fn(candidates, split)
        if isinstance(out, pd.Series) and set(out.index) == set(split.eval_users.tolist()):
            out = out.reindex(split.eval_users)
        return out.to_numpy() if isinstance(out, pd.Series) else out

    if not callable(fn):
        raise TypeError(f"candidate_recall: expected a function to check; got {type(fn).__name__}")
    return check_function(
        values_of, reference=_recall_values, cases=cases, name="candidate_recall", hint=RECALL_HINT
    )


# --------------------------------------------------------------------------- point in time
def _reference_item_popularity(interactions: pd.DataFrame, candidates: pd.DataFrame) -> np.ndarray:
    """Reference: interactions with the candidate item before the user's last interaction.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [5, 5, 6],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"], utc=True)})
    >>> _reference_item_popularity(df, pd.DataFrame({"user_id": [1, 2, 3], "item_id": [5, 5, 5]})).tolist()
    [0.0, 2.0, nan]
    """
    ids = np.unique(np.r_[interactions[S.ITEM_ID].to_numpy(), candidates[S.ITEM_ID].to_numpy()])
    catalogue = pd.DataFrame(
        {
            S.ITEM_ID: ids,
            S.GENRES: [[] for _ in ids],
            S.YEAR: pd.array([pd.NA] * len(ids), dtype="Int64"),
        }
    )
    cutoff = interactions[S.TIMESTAMP].max() + pd.Timedelta(seconds=1)
    tables = feature_tables(interactions, catalogue, cutoff)
    return ranking_features(candidates[[S.USER_ID, S.ITEM_ID]], tables)[
        "item_pop_at_user"
    ].to_numpy()


def _events(rows) -> pd.DataFrame:
    """Interactions from (user, item, hours since 2020-01-01) tuples."""
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID, "h"]).astype(np.int64)
    df[S.TIMESTAMP] = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(df.pop("h"), unit="h")
    return df


def _random_events(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    events = _events(
        list(
            zip(
                rng.integers(1, 26, n),
                rng.integers(1, 40, n),
                rng.integers(0, 24 * 60, n),
                strict=True,
            )
        )
    )
    cands = _pairs(list(zip(rng.integers(1, 30, 80), rng.integers(1, 45, 80), strict=True)))
    return events, cands


def check_point_in_time_feature(fn: Callable) -> CheckResult:
    """Check ``item_popularity_at_user(interactions, candidates)`` against the course feature.

    Examples
    --------
    >>> ok = check_point_in_time_feature(_reference_item_popularity)  # doctest: +ELLIPSIS
    ✅ item_popularity_at_user: passed 7 checks
    ...
    """
    hand = _events([(1, 10, 0), (2, 10, 5), (3, 10, 9), (1, 11, 10), (2, 11, 20), (3, 12, 30)])
    # item 10 is watched again at hour 25: before user 3's last event (30), after users 1 and 2's
    later = _events([(1, 10, 0), (2, 10, 5), (3, 10, 9), (1, 11, 10), (2, 11, 20), (4, 10, 25),
                     (3, 12, 30)])  # fmt: skip
    cases = [
        Case(
            later,
            _pairs([(1, 10), (2, 10), (3, 10)]),
            label="only events before the user's own last one count (3, 3, 4)",
        ),
        Case(hand, _pairs([(2, 11), (1, 11)]), label="an event exactly at t_u is not before t_u"),
        Case(
            hand, _pairs([(1, 12), (3, 99)]), label="an item first seen after t_u, an unknown item"
        ),
        Case(hand, _pairs([(7, 10)]), label="a user without interactions gets NaN"),
        Case(hand, _pairs([(1, 10), (2, 10), (3, 10)]), label="events before everyone's t_u"),
        Case(*_random_events(0), label="300 random events, 80 candidates (seed 0)"),
        Case(*_random_events(1), label="300 random events, 80 candidates (seed 1)"),
    ]
    return check_function(
        fn, reference=_reference_item_popularity, cases=cases, name="item_popularity_at_user",
        hint=POINT_IN_TIME_HINT,
    )  # fmt: skip


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(_recall_values)(check_candidate_recall)
with_reference(_reference_item_popularity)(check_point_in_time_feature)
