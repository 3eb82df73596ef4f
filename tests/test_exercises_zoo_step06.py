"""Step 6 checks against wrong and correct-but-different answers (see exercise_zoo.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.exercises import step06
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_index import (
    _recall_across_queries,
    _recall_all_columns,
    _recall_by_position,
    _recall_with_isin,
    _recall_with_sets,
    _recall_without_checking_k,
)


# --------------------------------------------------------------------------- MMR
def _unit(V):
    V = np.asarray(V, dtype=float)
    n = np.linalg.norm(V, axis=1, keepdims=True)
    return np.divide(V, n, out=np.zeros_like(V), where=n > 0)


def _mmr(
    scores, V, k, lam, *, sim=None, start=0.0, combine=np.maximum, tie_last=False, reuse=False
):
    s = np.asarray(scores, dtype=float)
    S = _unit(V) @ _unit(V).T if sim is None else sim(V)
    red = np.full(len(s), start)
    free = np.ones(len(s), dtype=bool)
    out = []
    for step in range(k):
        obj = lam * s - (1 - lam) * red
        obj = np.where(free | reuse, obj, -np.inf)
        best = len(s) - 1 - int(np.argmax(obj[::-1])) if tie_last else int(np.argmax(obj))
        out.append(best)
        free[best] = False
        if combine is None:  # the formula: max over the chosen items, no clamping at 0
            red = S[best].copy() if step == 0 else np.maximum(red, S[best])
        else:
            red = combine(red, S[best])
    return np.array(out)


def mmr_clamped_at_zero(scores, item_vectors, k, lambda_):
    return _mmr(scores, item_vectors, k, lambda_)  # zeros + np.maximum: negative cosines -> 0


def mmr_dot_products(scores, item_vectors, k, lambda_):
    return _mmr(
        scores,
        item_vectors,
        k,
        lambda_,
        sim=lambda V: np.asarray(V) @ np.asarray(V).T,
        combine=None,
    )


def mmr_sum_redundancy(scores, item_vectors, k, lambda_):
    return _mmr(scores, item_vectors, k, lambda_, combine=np.add)


def mmr_repeats_items(scores, item_vectors, k, lambda_):
    return _mmr(scores, item_vectors, k, lambda_, combine=None, reuse=True)


def mmr_loop_formula(scores, item_vectors, k, lambda_):
    unit = _unit(item_vectors)
    chosen = []
    for _ in range(k):
        best, best_value = None, -np.inf
        for i in range(len(scores)):
            if i in chosen:
                continue
            red = max((float(unit[i] @ unit[j]) for j in chosen), default=0.0)
            value = lambda_ * scores[i] - (1 - lambda_) * red
            if value > best_value:
                best, best_value = i, value
        chosen.append(best)
    return chosen


def mmr_minus_inf_start(scores, item_vectors, k, lambda_):
    s = np.asarray(scores, dtype=np.float64)
    S = _unit(item_vectors) @ _unit(item_vectors).T
    red = np.full(len(s), -np.inf)
    picked = []
    for _ in range(k):
        r = np.where(np.isneginf(red), 0.0, red)
        obj = lambda_ * s - (1 - lambda_) * r
        obj[picked] = -np.inf
        best = int(np.argmax(obj))
        picked.append(best)
        red = np.maximum(red, S[best])
    return np.array(picked, dtype=np.int32)


# --------------------------------------------------------------------------- percentiles
def _table(values, q):
    return pd.DataFrame(values, columns=[f"p{p:g}" for p in q])


def pct_nan_propagates(latencies, q=(50, 95, 99)):
    return _table(np.percentile(latencies.to_numpy(), q, axis=0).T, q).set_axis(latencies.columns)


def pct_nearest(latencies, q=(50, 95, 99)):
    v = np.nanpercentile(latencies.to_numpy(), q, axis=0, method="nearest").T
    return _table(v, q).set_axis(latencies.columns)


def pct_nan_as_zero(latencies, q=(50, 95, 99)):
    v = np.percentile(latencies.fillna(0.0).to_numpy(), q, axis=0).T
    return _table(v, q).set_axis(latencies.columns)


def pct_not_transposed(latencies, q=(50, 95, 99)):
    v = np.nanpercentile(latencies.to_numpy(), q, axis=0)
    return pd.DataFrame(v, index=[f"p{p:g}" for p in q], columns=latencies.columns)


def pct_quantile(latencies, q=(50, 95, 99)):
    return pd.DataFrame({f"p{p}": latencies.quantile(p / 100) for p in q})


def pct_columns_loop(latencies, q=(50, 95, 99)):
    rows = {}
    for stage in latencies.columns:
        x = latencies[stage].dropna().to_numpy(dtype=np.float32).astype(float)
        rows[stage] = [np.percentile(x, p) for p in q]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[f"p{p}" for p in q])


# --------------------------------------------------------------------------- routing
def route_unknown_popularity(is_known, n_history, min_history):
    if is_known and n_history >= min_history:
        return "personalised"
    if is_known and n_history > 0:
        return "cold_start_content"
    return "cold_start_popularity"


def route_strict_threshold(is_known, n_history, min_history):
    if is_known and n_history > min_history:
        return "personalised"
    return "cold_start_content" if n_history > 0 else "cold_start_popularity"


def route_ignores_known(is_known, n_history, min_history):
    if n_history >= min_history:
        return "personalised"
    return "cold_start_content" if n_history > 0 else "cold_start_popularity"


def route_known_empty_content(is_known, n_history, min_history):
    if is_known and n_history >= min_history:
        return "personalised"
    return "cold_start_content" if is_known or n_history > 0 else "cold_start_popularity"


def route_table(is_known, n_history, min_history):
    enough = bool(is_known) and n_history >= min_history
    return {
        True: "personalised",
        False: ["cold_start_popularity", "cold_start_content"][n_history >= 1],
    }[enough]


def route_early_returns(is_known, n_history, min_history):
    if n_history == 0:
        return "cold_start_popularity"
    if not is_known or n_history < min_history:
        return "cold_start_content"
    return "personalised"


# --------------------------------------------------------------------------- cache
def _valid(counts, capacity):
    c = np.asarray(counts, dtype=float)
    if capacity < 0 or c.sum() == 0:
        raise ValueError("bad input")
    return c


def cache_first_keys(request_counts, capacity):
    c = _valid(request_counts, capacity)
    return float(c[:capacity].sum() / c.sum())


def cache_ascending(request_counts, capacity):
    c = np.sort(_valid(request_counts, capacity))
    return float(c[:capacity].sum() / c.sum())


def cache_share_of_keys(request_counts, capacity):
    c = _valid(request_counts, capacity)
    return min(capacity / len(c), 1.0)


def cache_no_validation(request_counts, capacity):
    c = np.sort(np.asarray(request_counts, dtype=float))[::-1]
    return float(c[: max(capacity, 0)].sum() / max(c.sum(), 1))


def cache_partition(request_counts, capacity):
    c = _valid(request_counts, capacity)
    if capacity == 0:
        return 0.0
    if capacity >= len(c):
        return 1.0
    top = np.partition(c, len(c) - capacity)[len(c) - capacity :]
    return top.sum() / c.sum()


def cache_sorted_python(request_counts, capacity):
    counts = sorted((float(x) for x in request_counts), reverse=True)
    if capacity < 0 or sum(counts) == 0:
        raise ValueError("capacity must be >= 0 and there must be requests")
    return np.float32(sum(counts[:capacity]) / sum(counts))


ZOO = {
    step06.check_recall_at_k: (
        [
            _recall_by_position,
            _recall_all_columns,
            _recall_across_queries,
            _recall_without_checking_k,
        ],
        [_recall_with_sets, _recall_with_isin],
    ),
    step06.check_mmr_rerank: (
        [mmr_clamped_at_zero, mmr_dot_products, mmr_sum_redundancy, mmr_repeats_items],
        [mmr_loop_formula, mmr_minus_inf_start],
    ),
    step06.check_stage_percentiles: (
        [pct_nan_propagates, pct_nearest, pct_nan_as_zero, pct_not_transposed],
        [pct_quantile, pct_columns_loop],
    ),
    step06.check_route_request: (
        [
            route_unknown_popularity,
            route_strict_threshold,
            route_ignores_known,
            route_known_empty_content,
        ],
        [route_table, route_early_returns],
    ),
    step06.check_cache_hit_rate: (
        [cache_first_keys, cache_ascending, cache_share_of_keys, cache_no_validation],
        [cache_partition, cache_sorted_python],
    ),
}


def test_every_step06_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)


def test_mmr_verdict_says_where_the_picks_differ():
    text = expect_fail(step06.check_mmr_rerank, mmr_clamped_at_zero, {})
    assert "the picks agree up to step" in text and "no clamping" in text
