"""Every step 4 check accepts the reference answer and rejects a wrong one.

A check prints its verdict and returns a truthy result on success, raises AssertionError
on a wrong answer, and returns a falsy result (without raising) while the learner's
function still raises NotImplementedError.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.exercises import step04, step04_extra, step04b
from course_utils.models import Hybrid, Popularity
from course_utils.models.als import solve_user
from course_utils.models.candidates import candidate_recall
from course_utils.models.ease import ease_weights
from course_utils.models.hybrid import minmax_rows
from course_utils.models.knn import cosine_similarity


def _not_done(*args, **kwargs):
    raise NotImplementedError()


def _wrong_als(Y, YtY, c_u, p_u, reg):
    return np.linalg.solve(YtY + reg * np.eye(Y.shape[1]), Y.T @ (c_u * p_u))  # forgets C_u - I


def _wrong_ease(G, reg):
    P = np.linalg.inv(np.asarray(G) + reg * np.eye(len(G)))
    return -P / np.diag(P)  # forgets to zero the diagonal (it is -1)


def _wrong_cosine(X, shrinkage=0.0):
    X = np.asarray(X, dtype=float)
    norms = np.linalg.norm(X, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (X.T @ X) / (np.outer(norms, norms) + shrinkage)  # NaN for empty items


def _minmax_ignoring_inf(scores):
    s = np.asarray(scores, dtype=float)
    lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num((s - lo) / (hi - lo))  # -inf poisons min; constant rows 0/0


def _content_for_everyone_short(n_history, popularity, content, blended, min_history=3):
    n = np.asarray(n_history)[:, None]
    return np.where(n < min_history, content, blended)  # forgets the popularity fallback


def _recall_counting_duplicates(candidates, split):
    key = [S.USER_ID, S.ITEM_ID]
    found = split.relevant.merge(candidates[key], on=key, how="inner")  # no drop_duplicates
    hits = found.groupby(S.USER_ID).size().reindex(split.eval_users, fill_value=0)
    return pd.Series(hits.to_numpy() / split.n_relevant, index=split.eval_users)


def _popularity_up_to_and_including_t_u(interactions, candidates):
    t_u = candidates[S.USER_ID].map(interactions.groupby(S.USER_ID)[S.TIMESTAMP].max())
    pairs = candidates.assign(t_u=t_u.to_numpy(), row=np.arange(len(candidates))).merge(
        interactions[[S.ITEM_ID, S.TIMESTAMP]], on=S.ITEM_ID
    )
    counts = pairs[pairs[S.TIMESTAMP] <= pairs["t_u"]].groupby("row").size()  # <= leaks t_u
    out = counts.reindex(range(len(candidates)), fill_value=0).to_numpy(dtype=float)
    return np.where(t_u.isna().to_numpy(), np.nan, out)


CHECKS = [
    (step04.check_als_user_update, solve_user, _wrong_als),
    (step04.check_ease_closed_form, ease_weights, _wrong_ease),
    (step04.check_cosine_item_similarity, cosine_similarity, _wrong_cosine),
    (step04_extra.check_minmax_rows, minmax_rows, _minmax_ignoring_inf),
    (
        step04_extra.check_cold_start_scores,
        step04_extra.fallback_rule_scores,
        _content_for_everyone_short,
    ),
    (step04b.check_candidate_recall, candidate_recall, _recall_counting_duplicates),
    (
        step04b.check_point_in_time_feature,
        step04b._reference_item_popularity,
        _popularity_up_to_and_including_t_u,
    ),
]
IDS = [c[0].__name__ for c in CHECKS]


@pytest.mark.parametrize("check, reference, wrong", CHECKS, ids=IDS)
def test_check_accepts_reference(check, reference, wrong, capsys):
    assert check(reference)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("check, reference, wrong", CHECKS, ids=IDS)
def test_check_rejects_wrong_answer(check, reference, wrong, capsys):
    with pytest.raises(AssertionError):
        check(wrong)
    assert "❌" in capsys.readouterr().out


@pytest.mark.parametrize("check, reference, wrong", CHECKS, ids=IDS)
def test_check_reports_not_attempted(check, reference, wrong, capsys):
    assert not check(_not_done)
    assert "⏳" in capsys.readouterr().out


def test_cold_start_rule_reproduces_the_hybrid_and_the_fallback(tiny_interactions, tiny_items):
    # user 1 keeps one interaction, user 2 two, the others their full history (8)
    df = tiny_interactions
    first = df.groupby(S.USER_ID).cumcount()
    df = df[~((df[S.USER_ID] == 1) & (first >= 1)) & ~((df[S.USER_ID] == 2) & (first >= 2))]
    hybrid = Hybrid(
        items=tiny_items,
        collaborative=Popularity(),
        weight=0.7,
        min_history=3,
        content_kwargs={"min_df": 1},
    ).fit(df)
    users = np.array([1, 2, 3, 9, 999])  # 999 is unknown: history 0
    n_history = pd.Series(df.groupby(S.USER_ID).size()).reindex(users, fill_value=0).to_numpy()

    def aligned(model):
        out = np.full((len(users), hybrid.n_items_), -np.inf)
        out[:, hybrid.items_.index(model.items_.ids_)] = model.score_matrix(users)
        return minmax_rows(out)

    content = aligned(hybrid.content_)
    blended = 0.7 * aligned(hybrid.collaborative_) + 0.3 * content
    popularity = np.broadcast_to(hybrid.item_counts_.astype(float), content.shape)
    got = step04_extra.fallback_rule_scores(n_history, popularity, content, blended, 3)
    np.testing.assert_allclose(got, hybrid.score_matrix(users))
    assert n_history.tolist() == [1, 2, 8, 8, 0]
