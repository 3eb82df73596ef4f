"""Split guarantees (hypothesis) and the benchmark protocol numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data import schema as S
from course_utils.data.splits import (
    global_temporal_split,
    per_user_temporal_split,
    random_split,
    validation_split,
)
from course_utils.evaluation.harness import evaluate
from course_utils.models import Popularity


@st.composite
def interaction_frames(draw):
    n = draw(st.integers(1, 60))
    users = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    items = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))  # ties on purpose
    df = pd.DataFrame({S.USER_ID: users, S.ITEM_ID: items, "t": times})
    df = df.drop_duplicates([S.USER_ID, S.ITEM_ID]).reset_index(drop=True)
    df[S.TIMESTAMP] = pd.to_datetime(df.pop("t"), unit="D", utc=True)
    df[S.RATING] = 4.0
    return df


def _keys(df):
    return set(zip(df[S.USER_ID], df[S.ITEM_ID], df[S.TIMESTAMP]))


@settings(max_examples=80, deadline=None)
@given(interaction_frames(), st.floats(0.05, 0.95))
def test_per_user_split_guarantees(df, frac):
    s = per_user_temporal_split(df, frac)
    assert len(s.train) + len(s.test) == len(df)
    assert not (_keys(s.train) & _keys(s.test))
    for user, group in df.groupby(S.USER_ID):
        n = len(group)
        tr = s.train[s.train[S.USER_ID] == user]
        te = s.test[s.test[S.USER_ID] == user]
        assert len(tr) == int(np.ceil(frac * n - 1e-9))  # first ceil(frac n) go to train
        if len(te):  # within a user, train precedes test in (timestamp, item_id) order
            last_train = tr.sort_values([S.TIMESTAMP, S.ITEM_ID]).iloc[-1]
            first_test = te.sort_values([S.TIMESTAMP, S.ITEM_ID]).iloc[0]
            assert (last_train[S.TIMESTAMP], last_train[S.ITEM_ID]) <= (
                first_test[S.TIMESTAMP],
                first_test[S.ITEM_ID],
            )


@settings(max_examples=80, deadline=None)
@given(interaction_frames(), st.floats(0.05, 0.95))
def test_global_split_guarantees(df, frac):
    s = global_temporal_split(df, frac)
    assert len(s.train) == int(np.ceil(frac * len(df)))
    assert len(s.train) + len(s.test) == len(df)
    if len(s.test) and len(s.train):
        assert s.train[S.TIMESTAMP].max() <= s.test[S.TIMESTAMP].min()


@settings(max_examples=50, deadline=None)
@given(interaction_frames(), st.floats(0.05, 0.95), st.integers(0, 10))
def test_random_split_partition_and_determinism(df, frac, seed):
    a = random_split(df, frac, random_state=seed)
    b = random_split(df, frac, random_state=seed)
    assert a.test.index.equals(b.test.index)
    assert len(a.train) + len(a.test) == len(df)
    assert not set(a.train.index) & set(a.test.index)


def test_eval_users_and_relevance(tiny_interactions):
    s = per_user_temporal_split(tiny_interactions)
    rel = s.relevant
    assert (tiny_interactions.merge(rel)[S.RATING] >= 4).all()
    assert set(rel[S.USER_ID]) == set(s.eval_users)
    assert s.n_relevant.sum() == len(rel)
    assert set(s.candidate_items) == set(s.train[S.ITEM_ID])


def test_bad_fraction():
    df = pd.DataFrame({S.USER_ID: [1], S.ITEM_ID: [1], S.TIMESTAMP: pd.Timestamp(0, tz="UTC")})
    with pytest.raises(ValueError, match=r"train_frac must be in \(0, 1\); got 1.5"):
        per_user_temporal_split(df, 1.5)
    with pytest.raises(ValueError, match="lacks columns"):
        global_temporal_split(df.drop(columns=S.TIMESTAMP))


def test_benchmark_protocol_reproduces_popularity(benchmark):
    assert len(benchmark.eval_users) == 591
    table = evaluate(Popularity().fit(benchmark.train), benchmark, ks=10)
    assert table["ndcg"].iloc[0] == pytest.approx(0.0740, abs=0.001)
    assert table["precision"].iloc[0] == pytest.approx(0.0562, abs=0.001)


def test_benchmark_train_is_first_80_percent_per_user(benchmark):
    n_train = benchmark.train.groupby(S.USER_ID).size()
    n_all = n_train.add(benchmark.test.groupby(S.USER_ID).size(), fill_value=0)
    assert (n_train == np.ceil(0.8 * n_all - 1e-9)).all()


def test_global_split_leaves_few_evaluable_users(benchmark):
    ratings = pd.concat([benchmark.train, benchmark.test])
    n = len(global_temporal_split(ratings).eval_users)
    assert 10 <= n <= 40  # the seed's split: about 20 evaluable users


def test_validation_split_is_carved_from_train(benchmark):
    val = validation_split(benchmark.train)
    assert len(val.train) + len(val.test) == len(benchmark.train)
    assert val.test[S.TIMESTAMP].max() <= benchmark.train[S.TIMESTAMP].max()


def _events(n=12):
    return pd.DataFrame(
        {
            S.USER_ID: np.repeat([1, 2, 3], n // 3),
            S.ITEM_ID: np.arange(n),
            S.RATING: 5.0,
            S.TIMESTAMP: pd.to_datetime(np.arange(n), unit="D", utc=True),
        }
    )


@pytest.mark.parametrize("split", [global_temporal_split, per_user_temporal_split, random_split])
def test_splits_refuse_duplicates_missing_ids_and_missing_times(split):
    df = _events()
    with pytest.raises(ValueError, match="duplicate"):
        split(pd.concat([df, df.iloc[[4]]], ignore_index=True))
    bad = df.astype({S.USER_ID: float})
    bad.loc[0, S.USER_ID] = np.nan
    with pytest.raises(ValueError, match="missing ids"):
        split(bad)
    bad = df.copy()
    bad.loc[2, S.TIMESTAMP] = pd.NaT
    with pytest.raises(ValueError, match="NaT"):
        split(bad)
    with pytest.raises(TypeError, match="integer ids"):
        split(df.astype({S.ITEM_ID: str}))


def test_no_relevant_items_is_a_clear_error_not_an_empty_table():
    split = per_user_temporal_split(_events(), 0.5, relevance_threshold=6.0)
    model = Popularity().fit(split.train)
    with pytest.raises(ValueError, match="no evaluated users"):
        evaluate(model, split)
    with pytest.raises(ValueError, match="relevance_column 'watch_pct'"):
        _ = per_user_temporal_split(_events(), relevance_column="watch_pct").eval_users
