"""Step 3 checks against wrong and correct-but-different answers (see exercise_zoo.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from course_utils import features
from course_utils.exercises import step03
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_exercises_steps13 import (
    asof_brute_force,
    asof_inclusive,
    asof_merge,
    asof_naive,
    asof_rated_only_count,
    asof_sorted_output,
)


def _validate(train_frac):
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac must be in (0, 1); got {train_frac}")


# --------------------------------------------------------------------------- split mask
def _mask(interactions, train_frac, n_train, keys=("user_id", "timestamp", "item_id")):
    _validate(train_frac)
    ordered = interactions.sort_values(list(keys), kind="stable")
    g = ordered.groupby("user_id")
    pos, n = g.cumcount(), g["item_id"].transform("size")
    return (pos < n_train(train_frac, n)).reindex(interactions.index).to_numpy()


def mask_plain_ceil(interactions, train_frac=0.8):
    return _mask(interactions, train_frac, lambda f, n: np.ceil(f * n))


def mask_floor(interactions, train_frac=0.8):
    return _mask(interactions, train_frac, lambda f, n: np.floor(f * n + 1e-9))


def mask_no_item_tiebreak(interactions, train_frac=0.8):
    return _mask(
        interactions, train_frac, lambda f, n: np.ceil(f * n - 1e-9), keys=("user_id", "timestamp")
    )


def mask_sorted_order(interactions, train_frac=0.8):
    _validate(train_frac)
    ordered = interactions.sort_values(["user_id", "timestamp", "item_id"])
    g = ordered.groupby("user_id")
    return (g.cumcount() < np.ceil(train_frac * g["item_id"].transform("size") - 1e-9)).to_numpy()


def mask_global_time(interactions, train_frac=0.8):
    _validate(train_frac)
    return (interactions["timestamp"] <= interactions["timestamp"].quantile(train_frac)).to_numpy()


def mask_integer_counts(interactions, train_frac=0.8):
    _validate(train_frac)
    frac = round(train_frac * 1000)
    return _mask(interactions, train_frac, lambda f, n: -(-(frac * n) // 1000))


def mask_lexsort_loop(interactions, train_frac=0.8):
    _validate(train_frac)
    order = np.lexsort(
        (interactions["item_id"], interactions["timestamp"], interactions["user_id"])
    )
    users = interactions["user_id"].to_numpy()[order]
    out = np.zeros(len(order), dtype=bool)
    start = 0
    while start < len(order):
        stop = start
        while stop < len(order) and users[stop] == users[start]:
            stop += 1
        keep = math.ceil(round(train_frac * (stop - start), 9))
        out[order[start : start + keep]] = True
        start = stop
    return out.tolist()


# --------------------------------------------------------------------------- history
def _history(past, cutoff):
    g = past.groupby("user_id")
    return pd.DataFrame(
        {
            "n_interactions": g.size(),
            "mean_rating": g["rating"].mean(),
            "days_since_last": (cutoff - g["timestamp"].max()) / pd.Timedelta(days=1),
        }
    )


def history_inclusive(interactions, cutoff):
    return _history(interactions[interactions["timestamp"] <= cutoff], cutoff)


def history_nan_as_zero(interactions, cutoff):
    past = interactions[interactions["timestamp"] < cutoff].fillna({"rating": 0.0})
    return _history(past, cutoff)


def history_whole_days(interactions, cutoff):
    out = _history(interactions[interactions["timestamp"] < cutoff], cutoff)
    out["days_since_last"] = np.floor(out["days_since_last"])
    return out


def history_no_cutoff(interactions, cutoff):
    return _history(interactions, cutoff)


def history_column_and_shuffled(interactions, cutoff):
    out = _history(interactions[interactions["timestamp"] < cutoff], cutoff).reset_index()
    return out.sample(frac=1.0, random_state=1)[
        ["user_id", "days_since_last", "n_interactions", "mean_rating"]
    ]


def history_loop(interactions, cutoff):
    rows = {}
    for user, ts, rating in zip(
        interactions["user_id"], interactions["timestamp"], interactions["rating"], strict=True
    ):
        if ts >= cutoff:
            continue
        n, ratings, last = rows.get(user, (0, [], ts))
        rows[user] = (n + 1, ratings + ([] if pd.isna(rating) else [rating]), max(last, ts))
    table = pd.DataFrame.from_dict(
        {
            u: (n, np.mean(r) if r else np.nan, (cutoff - last).total_seconds() / 86400)
            for u, (n, r, last) in rows.items()
        },
        orient="index",
        columns=["n_interactions", "mean_rating", "days_since_last"],
    )
    table.index.name = "uid"
    return table


# --------------------------------------------------------------------------- gini
def gini_unsorted(counts):
    x = np.asarray(counts, dtype=float)
    n, i = x.size, np.arange(1, x.size + 1)
    return float(2 * np.sum(i * x) / (n * x.sum()) - (n + 1) / n)


def gini_zero_based(counts):
    x = np.sort(np.asarray(counts, dtype=float))
    n, i = x.size, np.arange(x.size)
    return float(2 * np.sum(i * x) / (n * x.sum()) - (n + 1) / n)


def gini_descending(counts):
    x = np.sort(np.asarray(counts, dtype=float))[::-1]
    n, i = x.size, np.arange(1, x.size + 1)
    return float(2 * np.sum(i * x) / (n * x.sum()) - (n + 1) / n)


def gini_no_correction(counts):
    x = np.sort(np.asarray(counts, dtype=float))
    n, i = x.size, np.arange(1, x.size + 1)
    return float(2 * np.sum(i * x) / (n * x.sum()) - 1)


def gini_mean_difference(counts):
    x = np.asarray(counts, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


def gini_lorenz(counts):
    x = sorted(float(c) for c in counts)
    n, total, cum, area = len(x), sum(x), 0.0, 0.0
    for value in x:
        previous = cum
        cum += value / total
        area += (previous + cum) / (2 * n)
    return 1 - 2 * area


# --------------------------------------------------------------------------- leak
def _honest(interactions, items, cutoff):
    return features.item_features(interactions, items, cutoff)


def leak_constant(suspect, interactions, items, cutoff):
    return "mean_rating"


def leak_nan_unequal(suspect, interactions, items, cutoff):
    honest = _honest(interactions, items, cutoff)
    return next(c for c in suspect.columns if not (suspect[c] == honest[c]).all())


def leak_largest_values(suspect, interactions, items, cutoff):
    return suspect.max().idxmax()


def leak_last_differing(suspect, interactions, items, cutoff):
    honest = _honest(interactions, items, cutoff)
    differs = [c for c in suspect.columns if not np.allclose(suspect[c], honest[c], equal_nan=True)]
    return differs[-1] if len(differs) > 1 else "n_interactions"


def leak_compare(suspect, interactions, items, cutoff):
    honest = _honest(interactions, items, cutoff)[suspect.columns]
    return suspect.compare(honest).columns.get_level_values(0)[0]


def leak_largest_gap(suspect, interactions, items, cutoff):
    honest = _honest(interactions, items, cutoff)[suspect.columns]
    gap = (suspect.fillna(-1.0) - honest.fillna(-1.0)).abs().max()
    return str(gap.idxmax())


ZOO = {
    step03.check_asof_user_features: (
        [asof_inclusive, asof_naive, asof_sorted_output, asof_rated_only_count],
        [asof_merge, asof_brute_force],
    ),
    step03.check_per_user_train_mask: (
        [mask_plain_ceil, mask_floor, mask_no_item_tiebreak, mask_sorted_order, mask_global_time],
        [mask_integer_counts, mask_lexsort_loop],
    ),
    step03.check_user_history_features: (
        [history_inclusive, history_nan_as_zero, history_whole_days, history_no_cutoff],
        [history_column_and_shuffled, history_loop],
    ),
    step03.check_gini: (
        [gini_unsorted, gini_zero_based, gini_descending, gini_no_correction],
        [gini_mean_difference, gini_lorenz],
    ),
    step03.check_leaky_feature: (
        [leak_constant, leak_nan_unequal, leak_largest_values, leak_last_differing],
        [leak_compare, leak_largest_gap],
    ),
}


def test_every_step03_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)


@pytest.mark.parametrize("leak", step03.LEAKABLE)
def test_the_leak_reference_finds_the_planted_column(leak):
    case = step03._leak_case(0, leak)
    assert step03._leak_reference(*case.args) == leak


def test_a_wrong_leak_answer_does_not_reveal_the_column():
    text = expect_fail(step03.check_leaky_feature, leak_constant, {})
    assert "expected" not in text
