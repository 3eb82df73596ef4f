"""Step 4 checks against wrong and correct-but-different answers (see exercise_zoo.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.exercises import step04, step04_content, step04_extra, step04b
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_exercises_step04_content import RIGHT as TAGS_RIGHT
from tests.test_exercises_step04_content import WRONG as TAGS_WRONG


# --------------------------------------------------------------------------- ALS
def als_no_minus_identity(Y, YtY, c_u, p_u, reg):
    A = YtY + (Y.T * c_u) @ Y + reg * np.eye(Y.shape[1])
    return np.linalg.solve(A, Y.T @ (c_u * p_u))


def als_no_reg(Y, YtY, c_u, p_u, reg):
    A = YtY + (Y.T * (c_u - 1)) @ Y
    return np.linalg.lstsq(A, Y.T @ (c_u * p_u), rcond=None)[0]


def als_confidence_not_preference(Y, YtY, c_u, p_u, reg):
    A = YtY + (Y.T * (c_u - 1)) @ Y + reg * np.eye(Y.shape[1])
    return np.linalg.solve(A, Y.T @ c_u)


def als_plain_ridge(Y, YtY, c_u, p_u, reg):
    return np.linalg.solve(YtY + reg * np.eye(Y.shape[1]), Y.T @ p_u)


def als_explicit_diagonal(Y, YtY, c_u, p_u, reg):
    C = np.diag(c_u)
    return np.linalg.inv(Y.T @ C @ Y + reg * np.eye(Y.shape[1])) @ Y.T @ C @ p_u


def als_float32_einsum(Y, YtY, c_u, p_u, reg):
    A = np.einsum("if,i,ig->fg", Y, c_u, Y) + reg * np.eye(Y.shape[1])
    return np.linalg.solve(A, np.einsum("if,i->f", Y, c_u * p_u)).tolist()


# --------------------------------------------------------------------------- EASE
def ease_in_place(G, reg):
    G += reg * np.eye(len(G))
    P = np.linalg.inv(G)
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def ease_row_division(G, reg):
    P = np.linalg.inv(G + reg * np.eye(len(G)))
    B = -P / np.diag(P)[:, None]
    np.fill_diagonal(B, 0.0)
    return B


def ease_sign_flipped(G, reg):
    P = np.linalg.inv(G + reg * np.eye(len(G)))
    B = P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def ease_diagonal_kept(G, reg):
    P = np.linalg.inv(G + reg * np.eye(len(G)))
    return -P / np.diag(P)


def ease_reg_everywhere(G, reg):
    P = np.linalg.inv(G + reg)
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def ease_solve(G, reg):
    n = len(G)
    P = np.linalg.solve(G + reg * np.eye(n), np.eye(n))
    return np.eye(n) - P / np.diag(P)


def ease_columns_loop(G, reg):
    P = np.linalg.inv(np.array(G, dtype=float) + np.diag(np.full(len(G), float(reg))))
    B = np.zeros_like(P)
    for j in range(len(P)):
        B[:, j] = -P[:, j] / P[j, j]
        B[j, j] = 0.0
    return B


# --------------------------------------------------------------------------- cosine
def _cos(X, shrinkage, denominator):
    X = np.asarray(X, dtype=float)
    norms = np.linalg.norm(X, axis=0)
    d = denominator(norms, shrinkage)
    return np.divide(X.T @ X, d, out=np.zeros((X.shape[1],) * 2), where=d > 0)


def cos_no_shrinkage(X, shrinkage=0.0):
    return _cos(X, shrinkage, lambda n, s: np.outer(n, n))


def cos_shrink_norms(X, shrinkage=0.0):
    return _cos(X, shrinkage, lambda n, s: np.outer(n + s, n + s))


def cos_nan_for_empty(X, shrinkage=0.0):
    X = np.asarray(X, dtype=float)
    norms = np.linalg.norm(X, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (X.T @ X) / (np.outer(norms, norms) + shrinkage)


def cos_zero_diagonal(X, shrinkage=0.0):
    S = _cos(X, shrinkage, lambda n, s: np.outer(n, n) + s)
    np.fill_diagonal(S, 0.0)
    return S


def cos_user_user(X, shrinkage=0.0):
    return _cos(np.asarray(X).T, shrinkage, lambda n, s: np.outer(n, n) + s)


def cos_normalise_first(X, shrinkage=0.0):
    X = np.asarray(X, dtype=np.float64)
    norms = np.sqrt((X**2).sum(axis=0))
    dots = X.T @ X
    out = np.zeros_like(dots)
    for i in range(X.shape[1]):
        for j in range(X.shape[1]):
            den = norms[i] * norms[j] + shrinkage
            out[i, j] = dots[i, j] / den if den > 0 else 0.0
    return out


def cos_nan_to_num(X, shrinkage=0.0):
    X = np.asarray(X, dtype=float)
    norms = np.linalg.norm(X, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num((X.T @ X) / (np.outer(norms, norms) + shrinkage))


# --------------------------------------------------------------------------- min-max
def mm_with_inf(scores):
    s = np.asarray(scores, dtype=float)
    lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s - lo) / (hi - lo)


def mm_global(scores):
    s = np.asarray(scores, dtype=float)
    finite = np.isfinite(s)
    lo, hi = s[finite].min(), s[finite].max()
    return np.where(finite, (s - lo) / (hi - lo), 0.0)


def mm_constant_nan(scores):
    s = np.asarray(scores, dtype=float)
    finite = np.isfinite(s)
    lo = np.where(finite, s, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, s, -np.inf).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, (s - lo) / (hi - lo), 0.0)


def mm_keeps_minus_inf(scores):
    s = np.asarray(scores, dtype=float)
    finite = np.isfinite(s)
    lo = np.where(finite, s, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, s, -np.inf).max(axis=1, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(finite, np.where(hi > lo, (s - lo) / span, 0.0), s)


def mm_rows_loop(scores):
    out = []
    for row in np.asarray(scores, dtype=float):
        finite = row[np.isfinite(row)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        out.append([(x - lo) / (hi - lo) if np.isfinite(x) and hi > lo else 0.0 for x in row])
    return out


def mm_masked(scores):
    m = np.ma.masked_invalid(np.asarray(scores, dtype=float))
    lo, hi = m.min(axis=1, keepdims=True), m.max(axis=1, keepdims=True)
    span = hi - lo
    scaled = (m - lo) / np.ma.masked_equal(span, 0.0)
    return np.ma.filled(scaled.astype(float), 0.0)


# --------------------------------------------------------------------------- cold start
def cold_inclusive_boundary(n_history, popularity, content, blended, min_history=3):
    n = np.asarray(n_history)[:, None]
    return np.select([n == 0, n <= min_history], [popularity, content], default=blended)


def cold_no_popularity(n_history, popularity, content, blended, min_history=3):
    n = np.asarray(n_history)[:, None]
    return np.where(n < min_history, content, blended)


def cold_swapped(n_history, popularity, content, blended, min_history=3):
    n = np.asarray(n_history)[:, None]
    return np.select([n == 0, n < min_history], [content, popularity], default=blended)


def cold_loop(n_history, popularity, content, blended, min_history=3):
    rows = []
    for u, n in enumerate(n_history):
        source = popularity if n == 0 else content if n < min_history else blended
        rows.append(np.asarray(source[u], dtype=np.float32))
    return np.vstack(rows)


def cold_nested_where(n_history, popularity, content, blended, min_history=3):
    n = np.asarray(n_history).reshape(-1, 1)
    return np.where(n >= min_history, blended, np.where(n > 0, content, popularity))


# --------------------------------------------------------------------------- candidate recall
def _relevant(split):
    return split.relevant[["user_id", "item_id"]]


def recall_duplicates_count(candidates, split):
    hits = candidates.merge(_relevant(split), on=["user_id", "item_id"])
    n = hits.groupby("user_id").size().reindex(split.eval_users, fill_value=0)
    return (n / split.n_relevant).to_numpy()


def recall_all_test_items(candidates, split):
    test = split.test[["user_id", "item_id"]]
    hits = candidates.drop_duplicates().merge(test, on=["user_id", "item_id"])
    n = hits.groupby("user_id").size().reindex(split.eval_users, fill_value=0)
    return (n / split.n_relevant).to_numpy()


def recall_precision(candidates, split):
    c = candidates.drop_duplicates()
    hits = c.merge(_relevant(split), on=["user_id", "item_id"]).groupby("user_id").size()
    n_c = c.groupby("user_id").size()
    return (hits / n_c).reindex(split.eval_users, fill_value=0.0).to_numpy()


def recall_drops_users(candidates, split):
    hits = candidates.drop_duplicates().merge(_relevant(split), on=["user_id", "item_id"])
    return (hits.groupby("user_id").size() / split.n_relevant).dropna().to_numpy()


def recall_sets(candidates, split):
    cands = set(zip(candidates["user_id"], candidates["item_id"], strict=True))
    rel = split.relevant
    out = {}
    for u in split.eval_users:
        items = rel.loc[rel["user_id"] == u, "item_id"]
        out[u] = sum((u, i) in cands for i in items) / len(items)
    return pd.Series(out).sort_index(ascending=False)


def recall_isin(candidates, split):
    keys = candidates["user_id"].astype(str) + ":" + candidates["item_id"].astype(str)
    rel = split.relevant
    rel_keys = rel["user_id"].astype(str) + ":" + rel["item_id"].astype(str)
    hit = rel.assign(hit=rel_keys.isin(set(keys)))
    return hit.groupby("user_id")["hit"].mean().reindex(split.eval_users).fillna(0.0).tolist()


# --------------------------------------------------------------------------- point in time
def _last(interactions):
    return interactions.groupby("user_id")["timestamp"].max()


def pit_all_events(interactions, candidates):
    counts = interactions.groupby("item_id").size()
    known = candidates["user_id"].isin(interactions["user_id"])
    out = candidates["item_id"].map(counts).fillna(0.0).astype(float)
    return out.where(known).to_numpy()


def pit_inclusive(interactions, candidates):
    t = candidates["user_id"].map(_last(interactions))
    return np.array(
        [
            np.nan
            if pd.isna(tu)
            else float(((interactions["item_id"] == i) & (interactions["timestamp"] <= tu)).sum())
            for i, tu in zip(candidates["item_id"], t, strict=True)
        ]
    )


def pit_global_cutoff(interactions, candidates):
    cutoff = interactions["timestamp"].quantile(0.5)
    counts = interactions[interactions["timestamp"] < cutoff].groupby("item_id").size()
    known = candidates["user_id"].isin(interactions["user_id"])
    return candidates["item_id"].map(counts).fillna(0.0).where(known).to_numpy(dtype=float)


def pit_unknown_user_zero(interactions, candidates):
    t = candidates["user_id"].map(_last(interactions))
    return np.array(
        [
            0.0
            if pd.isna(tu)
            else float(((interactions["item_id"] == i) & (interactions["timestamp"] < tu)).sum())
            for i, tu in zip(candidates["item_id"], t, strict=True)
        ]
    )


def pit_loop(interactions, candidates):
    last = _last(interactions).to_dict()
    out = []
    for u, i in zip(candidates["user_id"], candidates["item_id"], strict=True):
        if u not in last:
            out.append(float("nan"))
            continue
        times = interactions.loc[interactions["item_id"] == i, "timestamp"]
        out.append(float((times < last[u]).sum()))
    return out


def pit_searchsorted(interactions, candidates):
    t = candidates["user_id"].map(_last(interactions)).to_numpy()
    by_item = {i: np.sort(g.to_numpy()) for i, g in interactions.groupby("item_id")["timestamp"]}
    res = np.full(len(candidates), np.nan)
    for row, (i, tu) in enumerate(zip(candidates["item_id"], t, strict=True)):
        if not pd.isna(tu):
            times = by_item.get(i, np.array([], dtype=t.dtype))
            res[row] = np.searchsorted(times, tu, side="left")
    return pd.Series(res, index=candidates.index)


ZOO = {
    step04_content.check_item_tags_as_of: (list(TAGS_WRONG), list(TAGS_RIGHT)),
    step04.check_als_user_update: (
        [als_no_minus_identity, als_no_reg, als_confidence_not_preference, als_plain_ridge],
        [als_explicit_diagonal, als_float32_einsum],
    ),
    step04.check_ease_closed_form: (
        [
            ease_in_place,
            ease_row_division,
            ease_sign_flipped,
            ease_diagonal_kept,
            ease_reg_everywhere,
        ],
        [ease_solve, ease_columns_loop],
    ),
    step04.check_cosine_item_similarity: (
        [cos_no_shrinkage, cos_shrink_norms, cos_nan_for_empty, cos_zero_diagonal, cos_user_user],
        [cos_normalise_first, cos_nan_to_num],
    ),
    step04_extra.check_minmax_rows: (
        [mm_with_inf, mm_global, mm_constant_nan, mm_keeps_minus_inf],
        [mm_rows_loop, mm_masked],
    ),
    step04_extra.check_cold_start_scores: (
        [cold_inclusive_boundary, cold_no_popularity, cold_swapped],
        [cold_loop, cold_nested_where],
    ),
    step04b.check_candidate_recall: (
        [recall_duplicates_count, recall_all_test_items, recall_precision, recall_drops_users],
        [recall_sets, recall_isin],
    ),
    step04b.check_point_in_time_feature: (
        [pit_all_events, pit_inclusive, pit_global_cutoff, pit_unknown_user_zero],
        [pit_loop, pit_searchsorted],
    ),
}


def test_every_step04_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)


def test_ease_in_place_is_named_as_such():
    assert "modified its input in place" in expect_fail(
        step04.check_ease_closed_form, ease_in_place, {}
    )
