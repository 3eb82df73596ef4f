"""New exercise checks of steps 1-3: each accepts differently written correct answers and
rejects realistic wrong ones (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.exercises.step01 import CPU_MS_PER_REQUEST, check_variant_machines
from course_utils.exercises.step02 import (
    check_impression_negatives,
    check_ndcg_from_scores,
    check_rmse,
)
from course_utils.exercises.step03 import check_asof_user_features


def _passes(check, fn) -> bool:
    return bool(check(fn))


def _fails(check, fn) -> bool:
    try:
        return not check(fn)
    except AssertionError:
        return True


# --------------------------------------------------------------------------- step 1
def test_cpu_per_request_is_derived_from_the_stages():
    assert CPU_MS_PER_REQUEST == pytest.approx(54.0)
    from course_utils.design.capacity import cores_needed, machines_needed

    def right(peak_qps, cpu_ms_per_request=CPU_MS_PER_REQUEST, cores_per_machine=32):
        return machines_needed(cores_needed(peak_qps, cpu_ms_per_request), cores_per_machine)

    def old_assumption(peak_qps, cpu_ms_per_request=20.0, cores_per_machine=32):
        return machines_needed(cores_needed(peak_qps, cpu_ms_per_request), cores_per_machine)

    assert check_variant_machines(right, cores_needed).passed
    with pytest.raises(AssertionError):
        check_variant_machines(old_assumption, cores_needed)  # the old 20 ms assumption


# --------------------------------------------------------------------------- rmse
def rmse_loop(predicted, actual):
    p, a = list(predicted), list(actual)
    if len(p) != len(a):
        raise ValueError("lengths differ")
    return (sum((x - y) ** 2 for x, y in zip(p, a)) / len(p)) ** 0.5


def rmse_numpy(predicted, actual):
    p, a = np.asarray(predicted), np.asarray(actual)
    if p.shape != a.shape:
        raise ValueError(f"shapes differ: {p.shape} vs {a.shape}")
    return float(np.linalg.norm(p - a) / np.sqrt(p.size))


def rmse_mae(predicted, actual):  # mean absolute error instead
    return float(np.mean(np.abs(np.asarray(predicted) - np.asarray(actual))))


def rmse_no_root(predicted, actual):  # MSE
    return float(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2))


def rmse_root_before_mean(predicted, actual):
    return float(np.mean(np.sqrt((np.asarray(predicted) - np.asarray(actual)) ** 2)) ** 1)


def rmse_no_shape_check(predicted, actual):  # broadcasting hides the mismatch (or crashes)
    p, a = np.asarray(predicted, float), np.asarray(actual, float)
    n = min(len(p), len(a))
    return float(np.sqrt(np.mean((p[:n] - a[:n]) ** 2)))


@pytest.mark.parametrize("fn", [rmse_loop, rmse_numpy])
def test_rmse_accepts_correct_answers(fn, capsys):
    assert _passes(check_rmse, fn)


@pytest.mark.parametrize("fn", [rmse_mae, rmse_no_root, rmse_root_before_mean, rmse_no_shape_check])
def test_rmse_rejects_wrong_answers(fn, capsys):
    assert _fails(check_rmse, fn)


# --------------------------------------------------------------------------- ndcg from scores
def ndcg_sorted(scores, relevant, k):
    if k < 1:
        raise ValueError("k must be >= 1")
    scores, relevant = np.asarray(scores), np.asarray(relevant, bool)
    if scores.shape != relevant.shape:
        raise ValueError("shapes differ")
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    dcg = sum(1 / np.log2(r + 2) for r, i in enumerate(order) if relevant[i])
    idcg = sum(1 / np.log2(r + 2) for r in range(min(k, int(relevant.sum()))))
    return dcg / idcg if idcg else 0.0


def ndcg_package(scores, relevant, k):
    from course_utils.evaluation import metrics

    if k < 1:
        raise ValueError("k must be >= 1")
    relevant = np.asarray(relevant, bool)
    if np.shape(scores) != relevant.shape:
        raise ValueError("shapes differ")
    order = np.argsort(-np.asarray(scores, float), kind="stable")[:k]
    hits = np.zeros((1, k), dtype=bool)
    hits[0, : len(order)] = relevant[order]
    n_rel = int(relevant.sum())
    return float(metrics.ndcg_at_k(hits, [max(n_rel, 0)], k)[0]) if n_rel else 0.0


def ndcg_ascending(scores, relevant, k):  # ranks the lowest scores first
    order = np.argsort(np.asarray(scores), kind="stable")[:k]
    d = 1 / np.log2(np.arange(2, k + 2))
    rel = np.asarray(relevant, bool)
    idcg = d[: min(k, rel.sum())].sum()
    return float((rel[order] * d[: len(order)]).sum() / idcg) if idcg else 0.0


def ndcg_ideal_over_k(scores, relevant, k):  # ideal DCG always over k ranks
    if k < 1:
        raise ValueError("k must be >= 1")
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    d = 1 / np.log2(np.arange(2, k + 2))
    rel = np.asarray(relevant, bool)
    return float((rel[order] * d[: len(order)]).sum() / d.sum()) if rel.any() else 0.0


def ndcg_log_rank(scores, relevant, k):  # discount 1/log2(rank) with rank from 2 ... off by one
    if k < 1:
        raise ValueError("k must be >= 1")
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    d = 1 / np.log2(np.arange(3, k + 3))
    rel = np.asarray(relevant, bool)
    idcg = d[: min(k, rel.sum())].sum()
    return float((rel[order] * d[: len(order)]).sum() / idcg) if idcg else 0.0


def ndcg_unstable_ties(scores, relevant, k):  # ties broken by the last index
    if k < 1:
        raise ValueError("k must be >= 1")
    s = np.asarray(scores, float)
    order = (len(s) - 1 - np.argsort(-s[::-1], kind="stable"))[:k]
    d = 1 / np.log2(np.arange(2, k + 2))
    rel = np.asarray(relevant, bool)
    idcg = d[: min(k, rel.sum())].sum()
    return float((rel[order] * d[: len(order)]).sum() / idcg) if idcg else 0.0


@pytest.mark.parametrize("fn", [ndcg_sorted, ndcg_package])
def test_ndcg_from_scores_accepts_correct_answers(fn, capsys):
    assert _passes(check_ndcg_from_scores, fn)


@pytest.mark.parametrize(
    "fn", [ndcg_ascending, ndcg_ideal_over_k, ndcg_log_rank, ndcg_unstable_ties]
)
def test_ndcg_from_scores_rejects_wrong_answers(fn, capsys):
    assert _fails(check_ndcg_from_scores, fn)


# --------------------------------------------------------------------------- impression negatives
COLS = [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]


def negatives_merge(impressions, plays, label_days):
    shown = impressions[~impressions["played"]][COLS]
    first = plays.groupby([S.USER_ID, S.ITEM_ID], as_index=False)[S.TIMESTAMP].min()
    m = shown.merge(first, on=[S.USER_ID, S.ITEM_ID], how="left", suffixes=("", "_play"))
    bad = m[f"{S.TIMESTAMP}_play"] < m[S.TIMESTAMP] + pd.Timedelta(days=label_days)
    return m.loc[~bad, COLS]


def negatives_anti_join(impressions, plays, label_days):
    shown = impressions.loc[impressions["played"] == False, COLS]  # noqa: E712
    pairs = shown.merge(plays[COLS], on=[S.USER_ID, S.ITEM_ID], suffixes=("", "_p"))
    window_end = pairs[S.TIMESTAMP] + pd.Timedelta(days=label_days)
    hit = pairs[pairs[f"{S.TIMESTAMP}_p"] < window_end][COLS].drop_duplicates()
    keyed = shown.merge(hit, on=COLS, how="left", indicator=True)
    return keyed.loc[keyed["_merge"] == "left_only", COLS].reset_index(drop=True)


def negatives_all_not_played(impressions, plays, label_days):  # ignores later plays
    return impressions.loc[~impressions["played"], COLS]


def negatives_ignore_past(impressions, plays, label_days):  # only later plays in the window
    shown = impressions[~impressions["played"]][COLS]
    m = shown.merge(plays[COLS], on=[S.USER_ID, S.ITEM_ID], how="left", suffixes=("", "_p"))
    t, p = m[S.TIMESTAMP], m[f"{S.TIMESTAMP}_p"]
    bad = (p >= t) & (p < t + pd.Timedelta(days=label_days))
    keep = m[~bad.fillna(False)][COLS].drop_duplicates()
    return keep


def negatives_any_user(impressions, plays, label_days):  # title played by anyone
    shown = impressions[~impressions["played"]][COLS]
    first = plays.groupby(S.ITEM_ID)[S.TIMESTAMP].min().rename("f")
    m = shown.join(first, on=S.ITEM_ID)
    return m.loc[~(m["f"] < m[S.TIMESTAMP] + pd.Timedelta(days=label_days)), COLS]


def negatives_unplayed_titles(impressions, plays, label_days):  # drops any title ever played
    shown = impressions[~impressions["played"]][COLS]
    played = set(map(tuple, plays[[S.USER_ID, S.ITEM_ID]].to_numpy()))
    mask = [(u, i) not in played for u, i in shown[[S.USER_ID, S.ITEM_ID]].to_numpy()]
    return shown[mask]


@pytest.mark.parametrize("fn", [negatives_merge, negatives_anti_join])
def test_impression_negatives_accept_correct_answers(fn, capsys):
    assert _passes(check_impression_negatives, fn)


@pytest.mark.parametrize(
    "fn",
    [
        negatives_all_not_played,
        negatives_ignore_past,
        negatives_any_user,
        negatives_unplayed_titles,
    ],
)
def test_impression_negatives_reject_wrong_answers(fn, capsys):
    assert _fails(check_impression_negatives, fn)


# --------------------------------------------------------------------------- as-of join
def asof_merge(examples, interactions):
    snap = interactions.sort_values(S.TIMESTAMP)
    snap = snap.assign(
        user_n=snap.groupby(S.USER_ID).cumcount() + 1,
        _s=snap[S.RATING].fillna(0).groupby(snap[S.USER_ID]).cumsum(),
        _c=snap[S.RATING].notna().astype(int).groupby(snap[S.USER_ID]).cumsum(),
    )
    snap = snap.groupby([S.USER_ID, S.TIMESTAMP], as_index=False).last().sort_values(S.TIMESTAMP)
    snap["user_mean_rating"] = snap["_s"] / snap["_c"].where(snap["_c"] > 0)
    left = examples[[S.USER_ID, S.TIMESTAMP]].reset_index(drop=True)
    left["_row"] = np.arange(len(left))
    out = pd.merge_asof(
        left.sort_values(S.TIMESTAMP), snap[[S.USER_ID, S.TIMESTAMP, "user_n", "user_mean_rating"]],
        on=S.TIMESTAMP, by=S.USER_ID, allow_exact_matches=False,
    )  # fmt: skip
    out = out.sort_values("_row").reset_index(drop=True)
    out["user_n"] = out["user_n"].fillna(0)
    return out[["user_n", "user_mean_rating"]]


def asof_brute_force(examples, interactions):
    rows = []
    for u, t in zip(examples[S.USER_ID], examples[S.TIMESTAMP]):
        past = interactions[(interactions[S.USER_ID] == u) & (interactions[S.TIMESTAMP] < t)]
        rows.append((len(past), past[S.RATING].mean()))
    return pd.DataFrame(rows, columns=["user_n", "user_mean_rating"])


def asof_inclusive(examples, interactions):  # <= sees the example's own event
    rows = []
    for u, t in zip(examples[S.USER_ID], examples[S.TIMESTAMP]):
        past = interactions[(interactions[S.USER_ID] == u) & (interactions[S.TIMESTAMP] <= t)]
        rows.append((len(past), past[S.RATING].mean()))
    return pd.DataFrame(rows, columns=["user_n", "user_mean_rating"])


def asof_naive(examples, interactions):  # features over the whole log
    g = interactions.groupby(S.USER_ID)[S.RATING].agg(["size", "mean"])
    j = examples[[S.USER_ID]].join(g, on=S.USER_ID)
    return pd.DataFrame(
        {"user_n": j["size"].fillna(0).to_numpy(), "user_mean_rating": j["mean"].to_numpy()}
    )


def asof_sorted_output(examples, interactions):  # forgets to restore the row order
    out = asof_merge(examples.sort_values(S.TIMESTAMP, kind="stable"), interactions)
    return out


def asof_rated_only_count(examples, interactions):  # counts only rated events
    rows = []
    for u, t in zip(examples[S.USER_ID], examples[S.TIMESTAMP]):
        past = interactions[(interactions[S.USER_ID] == u) & (interactions[S.TIMESTAMP] < t)]
        rows.append((past[S.RATING].notna().sum(), past[S.RATING].mean()))
    return pd.DataFrame(rows, columns=["user_n", "user_mean_rating"])


@pytest.mark.parametrize("fn", [asof_merge, asof_brute_force])
def test_asof_accepts_correct_answers(fn, capsys):
    assert _passes(check_asof_user_features, fn)


@pytest.mark.parametrize(
    "fn", [asof_inclusive, asof_naive, asof_sorted_output, asof_rated_only_count]
)
def test_asof_rejects_wrong_answers(fn, capsys):
    assert _fails(check_asof_user_features, fn)


# --------------------------------------------------------------------------- peak QPS (step 1)
from course_utils.exercises.step01 import check_peak_qps  # noqa: E402


def peak_formula(dau, sessions, per_session, ratio):
    if ratio < 1:
        raise ValueError("peak_to_mean must be >= 1")
    return dau * sessions * per_session / 86_400 * ratio


def peak_stepwise(dau, sessions, per_session, ratio):
    if not ratio >= 1:
        raise ValueError(f"a peak cannot be below the mean; got {ratio}")
    per_day = dau * sessions * per_session
    seconds = 24 * 60 * 60
    return ratio * per_day / seconds


def peak_mean_only(dau, sessions, per_session, ratio):  # forgets the peak
    if ratio < 1:
        raise ValueError("peak_to_mean must be >= 1")
    return dau * sessions * per_session / 86_400


def peak_per_hour(dau, sessions, per_session, ratio):  # divides by hours, not seconds
    if ratio < 1:
        raise ValueError("peak_to_mean must be >= 1")
    return dau * sessions * per_session / 24 * ratio


def peak_divides(dau, sessions, per_session, ratio):  # divides by the ratio
    if ratio < 1:
        raise ValueError("peak_to_mean must be >= 1")
    return dau * sessions * per_session / 86_400 / ratio


def peak_no_validation(dau, sessions, per_session, ratio):
    return dau * sessions * per_session / 86_400 * ratio


@pytest.mark.parametrize("fn", [peak_formula, peak_stepwise])
def test_peak_qps_accepts_correct_answers(fn, capsys):
    assert _passes(check_peak_qps, fn)


@pytest.mark.parametrize("fn", [peak_mean_only, peak_per_hour, peak_divides, peak_no_validation])
def test_peak_qps_rejects_wrong_answers(fn, capsys):
    assert _fails(check_peak_qps, fn)
