"""Train/test splits and the course benchmark protocol.

Three splits, each with its guarantee:

- :func:`global_temporal_split`: the first ``train_frac`` of all interactions by time go
  to train (the seed tutorial's split). Guarantee: every test event is at or after every
  train event, so nothing from the future leaks; but users active only late have no
  train history, and on MovieLens almost no user keeps relevant test items.
- :func:`per_user_temporal_split`: each user's first ``ceil(train_frac * n)``
  interactions, ordered by (timestamp, item_id), go to train. Guarantee: within a user,
  train precedes test; every user with any interaction has train history. It still
  leaks *other users'* future into train.
- :func:`random_split`: a seeded random share of interactions goes to test. No temporal
  guarantee: kept to show how leakage inflates metrics.

:func:`benchmark_split` fixes the course benchmark protocol used by every notebook,
benchmark and exercise that reports model quality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from course_utils.data import schema as S

__all__ = [
    "Split",
    "global_temporal_split",
    "per_user_temporal_split",
    "random_split",
    "benchmark_split",
    "validation_split",
    "RELEVANCE_THRESHOLD",
]

RELEVANCE_THRESHOLD = 4.0


def _check_frac(train_frac: float) -> float:
    if not 0.0 < train_frac < 1.0:
        raise ValueError(f"train_frac must be in (0, 1); got {train_frac}")
    return float(train_frac)


def _check_frame(interactions: pd.DataFrame, need_time: bool = True) -> None:
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(f"interactions must be a DataFrame; got {type(interactions).__name__}")
    need = {S.USER_ID, S.ITEM_ID} | ({S.TIMESTAMP} if need_time else set())
    missing = need - set(interactions.columns)
    if missing:
        raise ValueError(f"interactions lacks columns {sorted(missing)}")
    for col in (S.USER_ID, S.ITEM_ID):
        n_missing = int(interactions[col].isna().sum())
        if n_missing:
            raise ValueError(f"column {col!r} has {n_missing} missing ids; drop those rows first")
        if interactions[col].dtype.kind not in "iu":
            raise TypeError(f"column {col!r} must hold integer ids; got {interactions[col].dtype}")
    key = [S.USER_ID, S.ITEM_ID]
    if S.TIMESTAMP in interactions:
        ts = interactions[S.TIMESTAMP]
        if not pd.api.types.is_datetime64_any_dtype(ts) and not pd.api.types.is_numeric_dtype(ts):
            raise TypeError(f"column {S.TIMESTAMP!r} must hold datetimes; got {ts.dtype}")
        n_nat = int(ts.isna().sum())
        if n_nat:
            raise ValueError(
                f"column {S.TIMESTAMP!r} has {n_nat} missing times (NaT); a temporal split cannot "
                "place them: drop or impute those rows first"
            )
        key.append(S.TIMESTAMP)
    n_dup = int(interactions.duplicated(key).sum())
    if n_dup:
        raise ValueError(
            f"interactions has {n_dup} duplicate {tuple(key)} rows, which would put copies of "
            f"one event on both sides of the split; drop them first (df.drop_duplicates({key}))"
        )


@dataclass(frozen=True)
class Split:
    """A train/test split plus what evaluation needs.

    Attributes
    ----------
    train, test : DataFrame
        Interactions.
    name : str
        Label such as ``"per-user temporal"``.
    relevance_threshold : float or None
        A test interaction is relevant when ``relevance_column >= relevance_threshold``;
        ``None`` makes every test interaction relevant (implicit feedback).
    relevance_column : str
        ``"rating"`` for MovieLens, e.g. ``"watch_pct"`` for the synthetic data.

    Derived (cached): ``relevant`` (relevant test pairs of evaluated users),
    ``eval_users`` (users with >= 1 train interaction and >= 1 relevant test item,
    sorted), ``n_relevant`` (aligned with ``eval_users``), ``candidate_items``
    (items in train).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    name: str = "split"
    relevance_threshold: float | None = RELEVANCE_THRESHOLD
    relevance_column: str = S.RATING
    info: dict = field(default_factory=dict, compare=False)

    @cached_property
    def _relevant_all(self) -> pd.DataFrame:
        test = self.test
        if self.relevance_threshold is not None:
            if self.relevance_column not in test:
                raise ValueError(
                    f"relevance_column {self.relevance_column!r} is not a column of test "
                    f"({list(test.columns)}); pass relevance_threshold=None for implicit feedback"
                )
            test = test[test[self.relevance_column] >= self.relevance_threshold]
        return test[[S.USER_ID, S.ITEM_ID]].drop_duplicates()

    @cached_property
    def eval_users(self) -> np.ndarray:
        users = np.intersect1d(
            self.train[S.USER_ID].unique(), self._relevant_all[S.USER_ID].unique()
        )
        return users.astype(np.int64)

    @cached_property
    def relevant(self) -> pd.DataFrame:
        rel = self._relevant_all
        return rel[rel[S.USER_ID].isin(self.eval_users)].sort_values([S.USER_ID, S.ITEM_ID])

    @cached_property
    def n_relevant(self) -> np.ndarray:
        counts = self.relevant.groupby(S.USER_ID).size()
        return counts.reindex(self.eval_users).to_numpy().astype(np.int64)

    @cached_property
    def candidate_items(self) -> np.ndarray:
        return np.unique(self.train[S.ITEM_ID].to_numpy())

    def __repr__(self) -> str:
        return (
            f"Split({self.name!r}: train {len(self.train):,}, test {len(self.test):,}, "
            f"{len(self.eval_users):,} evaluated users)"
        )


def global_temporal_split(
    interactions: pd.DataFrame, train_frac: float = 0.8, **split_kwargs
) -> Split:
    """The first ``train_frac`` of interactions by (timestamp, user_id, item_id) go to train.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [1, 2, 1, 3, 2],
    ...     "timestamp": pd.to_datetime([1, 2, 3, 4, 5], unit="D", utc=True)})
    >>> s = global_temporal_split(df, 0.6)
    >>> len(s.train), len(s.test)
    (3, 2)
    """
    _check_frame(interactions)
    train_frac = _check_frac(train_frac)
    ordered = interactions.sort_values([S.TIMESTAMP, S.USER_ID, S.ITEM_ID], kind="stable")
    n_train = int(np.ceil(train_frac * len(ordered)))
    train, test = ordered.iloc[:n_train], ordered.iloc[n_train:]
    info = {"cutoff": test[S.TIMESTAMP].min() if len(test) else None}
    return Split(train, test, name="global temporal", info=info, **split_kwargs)


def _per_user_mask(interactions: pd.DataFrame, train_frac: float) -> np.ndarray:
    """Boolean mask over ``interactions`` rows: True for each user's first ceil(frac*n)."""
    order = np.lexsort(
        (
            interactions[S.ITEM_ID].to_numpy(),
            interactions[S.TIMESTAMP].to_numpy(),
            interactions[S.USER_ID].to_numpy(),
        )
    )
    users_sorted = interactions[S.USER_ID].to_numpy()[order]
    starts = np.r_[0, np.flatnonzero(users_sorted[1:] != users_sorted[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(users_sorted)])
    rank = np.arange(len(users_sorted)) - np.repeat(starts, sizes)
    n_train = np.repeat(np.ceil(train_frac * sizes - 1e-9).astype(np.int64), sizes)
    mask = np.empty(len(order), dtype=bool)
    mask[order] = rank < n_train
    return mask


def per_user_temporal_split(
    interactions: pd.DataFrame, train_frac: float = 0.8, **split_kwargs
) -> Split:
    """Each user's first ``ceil(train_frac * n)`` interactions by (timestamp, item_id) train.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1] * 5, "item_id": [5, 4, 3, 2, 1],
    ...     "timestamp": pd.to_datetime([1, 2, 3, 4, 5], unit="D", utc=True)})
    >>> s = per_user_temporal_split(df)
    >>> s.train["item_id"].tolist(), s.test["item_id"].tolist()
    ([5, 4, 3, 2], [1])
    """
    _check_frame(interactions)
    train_frac = _check_frac(train_frac)
    mask = _per_user_mask(interactions, train_frac)
    return Split(interactions[mask], interactions[~mask], name="per-user temporal", **split_kwargs)


def random_split(
    interactions: pd.DataFrame, train_frac: float = 0.8, *, random_state: int = 0, **split_kwargs
) -> Split:
    """A seeded random ``1 - train_frac`` share of interactions goes to test.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": range(10), "item_id": range(10)})
    >>> len(random_split(df, 0.7, random_state=1).test)
    3
    """
    _check_frame(interactions, need_time=False)
    train_frac = _check_frac(train_frac)
    rng = np.random.default_rng(random_state)
    n_test = len(interactions) - int(np.ceil(train_frac * len(interactions)))
    test_rows = np.zeros(len(interactions), dtype=bool)
    test_rows[rng.choice(len(interactions), size=n_test, replace=False)] = True
    return Split(interactions[~test_rows], interactions[test_rows], name="random", **split_kwargs)


def benchmark_split(data_dir=None) -> Split:
    """The course benchmark protocol on MovieLens ml-latest-small.

    - each user's ratings sorted by (timestamp, item_id);
    - the first ``ceil(0.8 n)`` go to train, the rest to test;
    - a test item is relevant when its rating is >= 4.0;
    - evaluated users have >= 1 train rating and >= 1 relevant test item (591 users);
    - rankings exclude the user's train items; candidates are all items in train.

    Examples
    --------
    >>> split = benchmark_split()  # doctest: +SKIP
    >>> len(split.eval_users)  # doctest: +SKIP
    591
    """
    from course_utils.data.movielens import load_movielens

    ratings = load_movielens(data_dir).interactions
    split = per_user_temporal_split(ratings, 0.8, relevance_threshold=RELEVANCE_THRESHOLD)
    return Split(split.train, split.test, name="benchmark", relevance_threshold=RELEVANCE_THRESHOLD)


def validation_split(train: pd.DataFrame, **split_kwargs) -> Split:
    """Carve a validation split from train: each user's last 20 % of train interactions.

    Hyperparameters and configuration choices are made on this split, never on test.
    """
    split = per_user_temporal_split(train, 0.8, **split_kwargs)
    return Split(
        split.train,
        split.test,
        name="validation",
        relevance_threshold=split.relevance_threshold,
        relevance_column=split.relevance_column,
    )
