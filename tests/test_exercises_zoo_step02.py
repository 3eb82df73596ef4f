"""Step 2 checks against wrong and correct-but-different answers (see exercise_zoo.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from course_utils.exercises import step02
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_exercises_steps13 import (
    ndcg_ascending,
    ndcg_ideal_over_k,
    ndcg_log_rank,
    ndcg_package,
    ndcg_sorted,
    ndcg_unstable_ties,
    negatives_all_not_played,
    negatives_anti_join,
    negatives_any_user,
    negatives_ignore_past,
    negatives_merge,
    negatives_unplayed_titles,
    rmse_loop,
    rmse_mae,
    rmse_no_root,
    rmse_no_shape_check,
    rmse_numpy,
    rmse_root_before_mean,
)


# --------------------------------------------------------------------------- label_relevant
def label_either(df, rating_threshold=4.0, watch_threshold=60.0):
    return ((df["rating"] >= rating_threshold) | (df["watch_pct"] >= watch_threshold)).to_numpy()


def label_strict(df, rating_threshold=4.0, watch_threshold=60.0):
    rated = df["rating"].notna()
    return (
        (rated & (df["rating"] > rating_threshold)) | (~rated & (df["watch_pct"] > watch_threshold))
    ).to_numpy()


def label_rating_only(df, rating_threshold=4.0, watch_threshold=60.0):
    return (df["rating"] >= rating_threshold).to_numpy()


def label_watch_only(df, rating_threshold=4.0, watch_threshold=60.0):
    return (df["watch_pct"] >= watch_threshold).to_numpy()


def label_where(df, rating_threshold=4.0, watch_threshold=60.0):
    r, w = df["rating"].to_numpy(), df["watch_pct"].to_numpy()
    return np.where(np.isnan(r), w >= watch_threshold, r >= rating_threshold)


def label_loop_list(df, rating_threshold=4.0, watch_threshold=60.0):
    out = []
    for r, w in zip(df["rating"], df["watch_pct"], strict=True):
        out.append(int(w >= watch_threshold) if pd.isna(r) else int(r >= rating_threshold))
    return out


def label_series(df, rating_threshold=4.0, watch_threshold=60.0):
    return (
        df["rating"]
        .ge(rating_threshold)
        .where(df["rating"].notna(), df["watch_pct"].ge(watch_threshold))
        .astype(bool)
    )


# --------------------------------------------------------------------------- positive_share
def share_nan_as_negative(values, thresholds):
    v = np.asarray(values, dtype=float)
    return (v[None, :] >= np.asarray(thresholds)[:, None]).mean(axis=1)


def share_strict(values, thresholds):
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return (v[None, :] > np.asarray(thresholds)[:, None]).mean(axis=1)


def share_wrong_axis(values, thresholds):
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return (v[None, :] >= np.asarray(thresholds)[:, None]).mean(axis=0)


def share_count_not_share(values, thresholds):
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return (v[None, :] >= np.asarray(thresholds)[:, None]).sum(axis=1)


def share_loop(values, thresholds):
    kept = [x for x in values if not np.isnan(x)]
    return [sum(x >= t for x in kept) / len(kept) for t in thresholds]


def share_sorted(values, thresholds):
    v = np.sort(np.asarray(values, dtype=np.float32)[~np.isnan(values)])
    below = np.searchsorted(v, np.asarray(thresholds, dtype=np.float32), side="left")
    return (len(v) - below) / len(v)


# --------------------------------------------------------------------------- popularity
def _order(train, ascending_ids=True):
    counts = train.groupby("item_id").size().rename("n").reset_index()
    return counts.sort_values(["n", "item_id"], ascending=[False, ascending_ids])[
        "item_id"
    ].tolist()


def pop_keeps_seen(train, user_ids, k):
    return np.array([_order(train)[:k] for _ in user_ids])


def pop_larger_id_first(train, user_ids, k):
    order = _order(train, ascending_ids=False)
    seen = train.groupby("user_id")["item_id"].agg(set)
    return np.array([[i for i in order if i not in seen.get(u, set())][:k] for u in user_ids])


def pop_by_users_sorted(train, user_ids, k):
    order = _order(train)
    seen = train.groupby("user_id")["item_id"].agg(set)
    return np.array(
        [[i for i in order if i not in seen.get(u, set())][:k] for u in sorted(user_ids)]
    )


def pop_least_popular(train, user_ids, k):
    order = _order(train)[::-1]
    seen = train.groupby("user_id")["item_id"].agg(set)
    return np.array([[i for i in order if i not in seen.get(u, set())][:k] for u in user_ids])


def pop_counter(train, user_ids, k):
    counts = Counter(train["item_id"].tolist())
    order = sorted(counts, key=lambda i: (-counts[i], i))
    rows = []
    for u in user_ids:
        seen = set(train.loc[train["user_id"] == u, "item_id"])
        rows.append([i for i in order if i not in seen][:k])
    return rows


def pop_lexsort(train, user_ids, k):
    items, counts = np.unique(train["item_id"].to_numpy(), return_counts=True)
    order = items[np.lexsort((items, -counts))]
    out = np.empty((len(user_ids), k), dtype=np.int32)
    for row, u in enumerate(user_ids):
        seen = train["item_id"].to_numpy()[train["user_id"].to_numpy() == u]
        out[row] = order[~np.isin(order, seen)][:k]
    return out


ZOO = {
    step02.check_label_relevant: (
        [label_either, label_strict, label_rating_only, label_watch_only],
        [label_where, label_loop_list, label_series],
    ),
    step02.check_positive_share: (
        [share_nan_as_negative, share_strict, share_wrong_axis, share_count_not_share],
        [share_loop, share_sorted],
    ),
    step02.check_popularity_recommend: (
        [pop_keeps_seen, pop_larger_id_first, pop_by_users_sorted, pop_least_popular],
        [pop_counter, pop_lexsort],
    ),
    step02.check_impression_negatives: (
        [
            negatives_all_not_played,
            negatives_ignore_past,
            negatives_any_user,
            negatives_unplayed_titles,
        ],
        [negatives_merge, negatives_anti_join],
    ),
    step02.check_rmse: (
        [rmse_mae, rmse_no_root, rmse_root_before_mean, rmse_no_shape_check],
        [rmse_loop, rmse_numpy],
    ),
    step02.check_ndcg_from_scores: (
        [ndcg_ascending, ndcg_ideal_over_k, ndcg_log_rank, ndcg_unstable_ties],
        [ndcg_sorted, ndcg_package],
    ),
}


def test_every_step02_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)
