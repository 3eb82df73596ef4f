"""Tests for course_utils.features.training_set: as-of joins, negatives, label windows."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data import schema as S
from course_utils.features.training_set import (
    asof_join,
    build_ranker_training_set,
    describe_feature_columns,
    feature_log,
    naive_join,
    sample_negatives,
)


def _log(n=300, n_users=20, n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            S.USER_ID: rng.integers(0, n_users, n),
            S.ITEM_ID: rng.integers(0, n_items, n),
            S.RATING: rng.integers(1, 11, n) / 2,
            S.TIMESTAMP: pd.to_datetime(rng.integers(0, 60 * 86_400, n), unit="s", utc=True),
        }
    )
    return df.drop_duplicates([S.USER_ID, S.ITEM_ID]).reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_asof_features_equal_a_recount_of_the_strict_past(seed):
    log = _log(seed=seed)
    joined = asof_join(log, feature_log(log, S.USER_ID, prefix="u_"), by=S.USER_ID)
    for row in joined.sample(10, random_state=0).itertuples():
        past = log[(log[S.USER_ID] == row.user_id) & (log[S.TIMESTAMP] < row.timestamp)]
        assert row.u_n == len(past)
        if len(past):
            assert row.u_mean_rating == pytest.approx(past[S.RATING].mean())
        else:
            assert np.isnan(row.u_mean_rating)


def test_asof_features_do_not_change_when_the_future_is_removed():
    log = _log()
    cut = log[S.TIMESTAMP].quantile(0.5)
    ex = log[log[S.TIMESTAMP] < cut]
    full = asof_join(ex, feature_log(log, S.ITEM_ID, prefix="i_"), by=S.ITEM_ID)
    past = asof_join(ex, feature_log(ex, S.ITEM_ID, prefix="i_"), by=S.ITEM_ID)
    pd.testing.assert_frame_equal(full, past)


def test_naive_join_sees_the_future():
    log = _log()
    naive = naive_join(log, feature_log(log, S.USER_ID, prefix="u_"), by=S.USER_ID)
    assert (naive["u_n"] == log.groupby(S.USER_ID)[S.USER_ID].transform("size")).all()


def test_sampled_negatives_exclude_the_users_past_items():
    log = _log()
    neg = sample_negatives(log, np.arange(40), 5, scheme="uniform", random_state=1)
    first = log.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("f")
    j = neg.join(first, on=[S.USER_ID, S.ITEM_ID])
    assert (j["f"].isna() | (j["f"] > j[S.TIMESTAMP])).all()
    assert 0 < len(neg) <= 5 * len(log)


def test_popularity_negatives_follow_the_counts():
    ev = pd.DataFrame(
        {S.USER_ID: [1] * 2000, S.ITEM_ID: [99] * 2000,
         S.TIMESTAMP: pd.Timestamp("2024-01-01", tz="UTC")}
    )  # fmt: skip
    neg = sample_negatives(ev, [1, 2], 1, scheme="popularity", item_counts=[1, 16], random_state=0)
    share = (neg[S.ITEM_ID] == 2).mean()
    assert share == pytest.approx(16**0.75 / (1 + 16**0.75), abs=0.03)


def test_sample_negatives_validates():
    ev = _log().head(3)
    with pytest.raises(ValueError, match="n_negatives must be >= 1"):
        sample_negatives(ev, [1], 0)
    with pytest.raises(ValueError, match="needs item_counts"):
        sample_negatives(ev, [1, 2], 1, scheme="popularity")
    with pytest.raises(ValueError, match="scheme must be"):
        sample_negatives(ev, [1, 2], 1, scheme="hard")


def test_training_set_labels_come_from_the_window():
    ts = pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-20"], utc=True)
    log = pd.DataFrame(
        {S.USER_ID: [1, 1, 1], S.ITEM_ID: [10, 20, 30], S.RATING: [5.0, 2.0, 5.0],
         S.TIMESTAMP: ts}
    )  # fmt: skip
    out = build_ranker_training_set(
        log, log[S.RATING] >= 4, start="2024-01-01", end="2024-01-02",
        item_ids=[10, 20, 30, 40], n_negatives=50, scheme="uniform", label_days=7,
    )  # fmt: skip
    neg = out[out["sampled"]].drop_duplicates(S.ITEM_ID).set_index(S.ITEM_ID)["label"]
    assert neg.get(20, 0) == 0  # watched within the window but not relevant
    assert neg.get(30, 0) == 0  # relevant, but after the 7-day window
    assert neg.get(40, 0) == 0
    assert out.loc[~out["sampled"], "label"].tolist() == [1]
    with pytest.raises(ValueError, match="one flag per interaction"):
        build_ranker_training_set(log, [True], start="2024-01-01", end="2024-02-01", item_ids=[1])


def test_training_set_leaky_option_differs():
    log = _log()
    kw = dict(start="1970-01-20", end="1970-03-01", item_ids=np.arange(40), n_negatives=2)
    honest = build_ranker_training_set(log, log[S.RATING] >= 4, **kw)
    leaky = build_ranker_training_set(log, log[S.RATING] >= 4, leaky=True, **kw)
    assert (leaky["user_n"] >= honest["user_n"]).all()
    assert (leaky["user_n"] > honest["user_n"]).any()


def test_describe_feature_columns_flags_unknown_columns():
    d = describe_feature_columns(pd.DataFrame({"genre_aff_War": [0.1], "mystery": [1]}))
    assert d["meaning"].tolist()[1] == "(undocumented)"
    assert "share" in d["meaning"].tolist()[0]
