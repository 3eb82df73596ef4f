"""Checks for the appendix A1 exercises (scaling out on Spark); need ``requirements-spark.txt``.

The learner writes Spark code; each check runs it on small pandas frames turned into
Spark DataFrames and compares the collected result with the course's pandas code:

* ``spark_split(interactions, train_frac)``: the per-user temporal split as a Spark
  window query, returning ``(train, test)`` Spark DataFrames; checked against
  :func:`course_utils.data.splits.per_user_temporal_split`;
* ``user_activity_sql(interactions, cutoff)``: point-in-time user activity in Spark SQL
  (``user_id``, ``n_interactions``, ``mean_rating``, ``days_since_last``), checked
  against :func:`course_utils.features.point_in_time.user_activity`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils import features
from course_utils.data import schema as S
from course_utils.data import splits
from course_utils.exercises.checking import Case, CheckResult, check_function
from course_utils.exercises.step03 import _frame, _random_frame

__all__ = ["ACTIVITY_COLUMNS", "check_spark_split", "check_user_activity_sql"]

ACTIVITY_COLUMNS = ["n_interactions", "mean_rating", "days_since_last"]

SPLIT_HINT = (
    "Number each user's rows with ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY timestamp, "
    "item_id), count them with COUNT(*) OVER (PARTITION BY user_id), and keep a row in train "
    "when its number is <= CEIL(train_frac * n - 1e-9) (ceil: a one-row user keeps it in "
    "train). Return (train, test) with the input's columns. Raise ValueError unless "
    "0 < train_frac < 1."
)
ACTIVITY_HINT = (
    "Keep rows with timestamp < cutoff (strictly), GROUP BY user_id: COUNT(*), AVG(rating) "
    "(AVG skips NULL ratings), and days since the last event = (unix_micros(cutoff) - "
    "unix_micros(MAX(timestamp))) / 86400e6. Return a Spark DataFrame with columns user_id, "
    "n_interactions, mean_rating, days_since_last."
)


def _spark():
    from course_utils.scale.spark import spark_session

    return spark_session()


def _split_keys(train: pd.DataFrame, test: pd.DataFrame) -> tuple[list, list]:
    key = [S.USER_ID, S.ITEM_ID]
    return tuple(
        sorted(map(tuple, frame[key].to_numpy(dtype=np.int64).tolist())) for frame in (train, test)
    )


def _reference_split(interactions: pd.DataFrame, train_frac: float) -> tuple[list, list]:
    split = splits.per_user_temporal_split(interactions, train_frac)
    return _split_keys(split.train, split.test)


def _run_split(fn: Callable) -> Callable:
    from course_utils.scale.spark import to_pandas_interactions, to_spark_interactions

    def run(interactions: pd.DataFrame, train_frac: float):
        result = fn(to_spark_interactions(_spark(), interactions), train_frac)
        if not (isinstance(result, tuple) and len(result) == 2):
            return result  # shown as received: expected (train, test)
        train, test = (to_pandas_interactions(part) for part in result)
        return _split_keys(train, test)

    return run


def check_spark_split(fn: Callable) -> CheckResult:
    """Check ``spark_split(interactions, train_frac)`` against the course split.

    Examples
    --------
    >>> from course_utils.scale.sql import per_user_split_sql
    >>> ok = check_spark_split(per_user_split_sql)  # doctest: +SKIP
    ✅ spark_split: passed 5 checks
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
        Case(_random_frame(0), 0.8, label="300 random rows, 25 users (seed 0)"),
        Case(_frame([(1, 1, 4.0, 0)]), 1.0, label="train_frac=1.0 raises ValueError"),
    ]
    return check_function(
        _attempted(fn, _run_split(fn)),
        reference=_reference_split,
        cases=cases,
        name="spark_split",
        hint=SPLIT_HINT,
    )


def _reference_activity(interactions: pd.DataFrame, cutoff) -> pd.DataFrame:
    return features.user_activity(interactions, cutoff)[ACTIVITY_COLUMNS]


def _run_activity(fn: Callable) -> Callable:
    from course_utils.scale.spark import to_spark_interactions

    def run(interactions: pd.DataFrame, cutoff):
        result = fn(to_spark_interactions(_spark(), interactions), cutoff)
        if not hasattr(result, "toPandas"):
            return result  # shown as received: expected a Spark DataFrame
        frame = result.toPandas()
        missing = [c for c in [S.USER_ID, *ACTIVITY_COLUMNS] if c not in frame]
        if missing:
            return f"a DataFrame with columns {list(frame.columns)} (missing {missing})"
        frame = frame.set_index(S.USER_ID).sort_index()[ACTIVITY_COLUMNS]
        return frame.astype(
            {"n_interactions": np.int64, "mean_rating": float, "days_since_last": float}
        )

    return run


def check_user_activity_sql(fn: Callable) -> CheckResult:
    """Check ``user_activity_sql(interactions, cutoff)`` against ``features.user_activity``.

    Examples
    --------
    >>> ok = check_user_activity_sql(reference_sql)  # doctest: +SKIP
    ✅ user_activity_sql: passed 4 checks
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
    ]
    return check_function(
        _attempted(fn, _run_activity(fn)),
        reference=_reference_activity,
        cases=cases,
        name="user_activity_sql",
        hint=ACTIVITY_HINT,
    )


def _attempted(fn: Callable, runner: Callable) -> Callable:
    """``runner`` under ``fn``'s name (the verdict names the learner's function)."""
    runner.__name__ = getattr(fn, "__name__", "fn")
    runner.__wrapped__ = fn
    return runner
