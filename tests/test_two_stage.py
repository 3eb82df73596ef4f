"""Two-stage recommender: candidates, ranking features, leakage-free training data, model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.data.splits import Split, per_user_temporal_split, validation_split
from course_utils.data.synthetic import make_synthetic
from course_utils.evaluation.ranker_analysis import (
    permutation_importance_table,
    ranked_hits,
    validation_ndcg,
)
from course_utils.features.ranking import feature_tables, ranking_features
from course_utils.models import Popularity
from course_utils.models.candidates import candidate_recall, candidate_recall_table, retrieve
from course_utils.models.ease import EASE
from course_utils.models.two_stage import (
    TwoStage,
    fit_ranker,
    fit_retrievers,
    ranker_training_data,
    retriever_feature_names,
)

FAST = {"max_iter": 30}  # few trees: the tests check plumbing, not accuracy


def _retrievers():
    return {"ease": EASE(regularization=20.0), "pop": Popularity()}


@pytest.fixture(scope="module")
def synth():
    """150 users x 200 items of synthetic streaming data; completed titles count as rated 5."""
    ds = make_synthetic(n_users=150, n_items=200, n_interactions=5000, random_state=0)
    inter = ds.interactions[[S.USER_ID, S.ITEM_ID, S.TIMESTAMP, S.COMPLETED]].copy()
    inter[S.RATING] = np.where(inter.pop(S.COMPLETED), 5.0, 2.0)
    return inter.reset_index(drop=True), ds.items


@pytest.fixture(scope="module")
def split(synth):
    return per_user_temporal_split(synth[0], 0.8)


# --------------------------------------------------------------------------- candidates
def test_retrieve_matches_each_sources_top_n(split):
    models = fit_retrievers(_retrievers(), split.train)
    users = split.eval_users[:20]
    cands = retrieve(models, users, n=15)
    assert list(cands.columns[:4]) == [S.USER_ID, S.ITEM_ID, "from_ease", "from_pop"]
    for name, model in models.items():
        ids, scores = model.recommend(users, k=15)
        got = cands[cands[f"from_{name}"] == 1].sort_values([S.USER_ID, f"{name}_rank"])
        np.testing.assert_array_equal(got[S.ITEM_ID].to_numpy(), ids.ravel())
        np.testing.assert_allclose(got[f"{name}_score"].to_numpy(), scores.ravel())
        missing = cands[cands[f"from_{name}"] == 0]
        assert (missing[f"{name}_rank"] == 16).all()
        lowest = dict(zip(users, scores[:, -1], strict=True))  # the user's 15th score
        np.testing.assert_allclose(missing[f"{name}_score"], missing[S.USER_ID].map(lowest))
    # the union, no duplicates, no seen items
    expected = {
        (u, i)
        for name in models
        for u, row in zip(users, models[name].recommend(users, k=15)[0], strict=True)
        for i in row
    }  # noqa: E501
    assert set(zip(cands[S.USER_ID], cands[S.ITEM_ID])) == expected
    assert not cands.duplicated([S.USER_ID, S.ITEM_ID]).any()
    seen = set(zip(split.train[S.USER_ID], split.train[S.ITEM_ID]))
    assert not any(pair in seen for pair in zip(cands[S.USER_ID], cands[S.ITEM_ID]))


def test_candidate_recall_equals_set_computation(split):
    models = fit_retrievers(_retrievers(), split.train)
    cands = retrieve(models, split.eval_users, n=10)
    recall = candidate_recall(cands, split)
    rel = split.relevant.groupby(S.USER_ID)[S.ITEM_ID].apply(set)
    got = cands.groupby(S.USER_ID)[S.ITEM_ID].apply(set)
    for u in split.eval_users:
        expected = len(rel[u] & got.get(u, set())) / len(rel[u])
        assert recall[u] == pytest.approx(expected)
    table = candidate_recall_table(cands, split)
    assert list(table.index) == ["ease", "pop", "union"]
    assert table.loc["union", "recall"] == pytest.approx(recall.mean())
    assert table.loc["union", "recall"] >= table["recall"].drop("union").max()
    pop_only = cands[cands["from_pop"] == 1]
    assert table.loc["pop", "recall"] == pytest.approx(candidate_recall(pop_only, split).mean())


def test_candidate_recall_users_without_candidates_score_zero():
    train = pd.DataFrame({S.USER_ID: [1, 2], S.ITEM_ID: [1, 1]})
    test = pd.DataFrame({S.USER_ID: [1, 2, 2], S.ITEM_ID: [2, 3, 4], S.RATING: [5.0, 4.0, 4.0]})
    cands = pd.DataFrame({S.USER_ID: [2, 2], S.ITEM_ID: [3, 9]})
    assert candidate_recall(cands, Split(train, test)).tolist() == [0.0, 0.5]


def test_retrieve_rejects_bad_input(split):
    models = fit_retrievers(_retrievers(), split.train)
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        retrieve(models, [1], n=0)
    with pytest.raises(TypeError, match="mapping"):
        retrieve([], [1], n=5)


# --------------------------------------------------------------------------- features
def _slow_features(row, train: pd.DataFrame, tables) -> dict:
    """Reference for one candidate row, from the raw interactions with scalars and loops."""
    users, items = tables.users, tables.items
    u_id, i_id = row[S.USER_ID], row[S.ITEM_ID]
    u, i = users.loc[u_id], items.loc[i_id]
    genres = [c.removeprefix("genre_aff_") for c in users.columns if c.startswith("genre_aff_")]
    dot = sum(u[f"genre_aff_{g}"] * i[f"genre_{g}"] for g in genres)
    nu = math.sqrt(sum(u[f"genre_aff_{g}"] ** 2 for g in genres))
    ni = math.sqrt(sum(i[f"genre_{g}"] ** 2 for g in genres))
    mine = train[train[S.USER_ID] == u_id].sort_values([S.TIMESTAMP, S.ITEM_ID])
    t_u = mine[S.TIMESTAMP].max()
    item_times = train.loc[train[S.ITEM_ID] == i_id, S.TIMESTAMP]
    fans = set(train.loc[train[S.ITEM_ID] == i_id, S.USER_ID])
    last = mine.sort_values([S.TIMESTAMP, S.ITEM_ID], ascending=[False, True])[S.ITEM_ID].head(3)
    cosines = []
    for j in last:
        others = set(train.loc[train[S.ITEM_ID] == j, S.USER_ID])
        cosines.append(len(fans & others) / math.sqrt(len(fans) * len(others)) if fans else 0.0)
    return {
        "item_pop": len(item_times),
        "item_mean_rating": i["mean_rating_shrunk"],
        "item_year": i["year"],
        "item_pop_at_user": int((item_times < t_u).sum()),
        "item_pop_recent_at_user": int(
            ((item_times < t_u) & (item_times >= t_u - pd.Timedelta(days=20))).sum()
        ),
        "item_age_at_user": (t_u - item_times.min()) / pd.Timedelta(days=1),
        "user_activity": len(mine),
        "user_mean_rating": mine[S.RATING].mean(),
        "user_median_year": u["median_year"],
        "recent_similarity": sum(cosines) / len(cosines),
        "genre_match": dot / (nu * ni) if nu * ni > 0 else 0.0,
        "year_diff": i["year"] - u["median_year"],
        "release_age_at_user": t_u.year - i["year"],
    }


def test_ranking_features_match_slow_reference(split, synth):
    items = synth[1]
    models = fit_retrievers(_retrievers(), split.train)
    cands = retrieve(models, split.eval_users[:30], n=20)
    cutoff = split.train[S.TIMESTAMP].max() + pd.Timedelta(seconds=1)
    tables = feature_tables(split.train, items, cutoff, recent_days=20, recent_items=3)
    feats = ranking_features(cands, tables)
    assert len(feats) == len(cands) and (feats.index == cands.index).all()
    rng = np.random.default_rng(0)
    for r in rng.choice(len(cands), size=8, replace=False):
        expected = _slow_features(cands.iloc[r], split.train, tables)
        for name, value in expected.items():
            assert feats.iloc[r][name] == pytest.approx(float(value), nan_ok=True), name
        row = cands.iloc[r]
        assert feats.iloc[r]["ease_rank"] == row["ease_rank"]
        assert feats.iloc[r]["n_sources"] == row["from_ease"] + row["from_pop"]
    assert (feats["item_pop_recent_at_user"] > 0).any() and (feats["recent_similarity"] > 0).any()
    assert set(retriever_feature_names(feats.columns)) == {
        "ease_rank", "ease_score", "pop_rank", "pop_score", "n_sources",
    }  # fmt: skip


def test_ranking_features_unknown_user_gets_nan(synth, split):
    tables = feature_tables(split.train, synth[1], "2030-01-01")
    cands = pd.DataFrame({S.USER_ID: [10**9], S.ITEM_ID: [1]})
    feats = ranking_features(cands, tables)
    for name in ("user_activity", "genre_match", "recent_similarity", "item_pop_at_user"):
        assert np.isnan(feats.loc[0, name]), name
    assert feats.loc[0, "item_year"] == tables.items.loc[1, "year"]


def test_features_ignore_rows_at_or_after_the_cutoff(synth, split):
    cutoff = split.train[S.TIMESTAMP].quantile(0.7)
    cands = retrieve(fit_retrievers(_retrievers(), split.train), split.eval_users[:20], n=10)
    before = ranking_features(cands, feature_tables(split.train, synth[1], cutoff))
    early = split.train[split.train[S.TIMESTAMP] < cutoff]
    only_past = ranking_features(cands, feature_tables(early, synth[1], cutoff))
    pd.testing.assert_frame_equal(before, only_past)


# --------------------------------------------------------------------------- no leakage
def test_ranker_data_uses_no_test_period(synth, split):
    """The ranker's training set is identical when every test row is changed or removed."""
    inter, items = synth
    data = ranker_training_data(split.train, items, _retrievers(), n_candidates=20)
    # change every test row (rating flipped, item replaced) and rebuild the split from scratch
    test = split.test.copy()
    test[S.RATING] = 7.0 - test[S.RATING]
    test[S.ITEM_ID] = (test[S.ITEM_ID] % 50) + 1
    changed = per_user_temporal_split(pd.concat([split.train, test], ignore_index=True), 0.8)
    pd.testing.assert_frame_equal(
        changed.train.reset_index(drop=True), split.train.reset_index(drop=True)
    )
    again = ranker_training_data(changed.train, items, _retrievers(), n_candidates=20)
    removed = Split(split.train, split.test.iloc[:0])  # no test rows at all
    gone = ranker_training_data(removed.train, items, _retrievers(), n_candidates=20)
    for other in (again, gone):
        pd.testing.assert_frame_equal(other.features, data.features)
        pd.testing.assert_frame_equal(other.candidates, data.candidates)
        np.testing.assert_array_equal(other.labels, data.labels)


def test_features_ignore_validation_window_and_labels_come_from_it(synth, split):
    """Changing the validation-window rows changes labels only, never a feature."""
    items = synth[1]
    data = ranker_training_data(split.train, items, _retrievers(), n_candidates=20)
    val = validation_split(split.train)
    # label rows are a subset of the relevant validation-window rows
    pos = data.candidates.loc[data.labels == 1, [S.USER_ID, S.ITEM_ID]]
    window = val.test[val.test[S.RATING] >= 4]
    assert len(pos) > 0
    assert set(zip(pos[S.USER_ID], pos[S.ITEM_ID])) <= set(
        zip(window[S.USER_ID], window[S.ITEM_ID])
    )
    # every feature input predates each window: only val.train rows feed retrievers and tables
    flipped = val.test.copy()
    flipped[S.RATING] = 7.0 - flipped[S.RATING]
    train2 = pd.concat([val.train, flipped], ignore_index=True)
    data2 = ranker_training_data(train2, items, _retrievers(), n_candidates=20)
    # the flip changes which users have a relevant window item (the training users), so
    # compare the users in both; their candidates and features must be identical
    both = np.intersect1d(data.split.eval_users, data2.split.eval_users)
    assert len(both) > 10
    a = data.candidates[S.USER_ID].isin(both).to_numpy()
    b = data2.candidates[S.USER_ID].isin(both).to_numpy()
    pd.testing.assert_frame_equal(
        data2.features[b].reset_index(drop=True), data.features[a].reset_index(drop=True)
    )
    assert (data2.labels[b] != data.labels[a]).any()


# --------------------------------------------------------------------------- model
@pytest.fixture(scope="module")
def fitted(synth, split):
    return TwoStage(
        items=synth[1], retrievers=_retrievers(), n_candidates=30, ranker_params=FAST
    ).fit(split.train)


def test_two_stage_ranks_candidates_by_ranker_probability(fitted, split):
    users = split.eval_users[:10]
    ids, scores = fitted.recommend(users, k=5)
    ranked = fitted.rank_candidates(users)
    best = ranked.sort_values([S.USER_ID, "score", S.ITEM_ID], ascending=[True, False, True])
    top = best.groupby(S.USER_ID).head(5)[S.ITEM_ID].to_numpy().reshape(len(users), 5)
    np.testing.assert_array_equal(ids, top)
    assert (scores >= 0).all() and (scores <= 1).all()
    assert fitted.ranker_ is not None
    assert set(fitted.candidate_recall_) == {"ease", "pop", "union"}


def test_two_stage_is_deterministic(synth, split):
    kwargs = dict(
        items=synth[1],
        retrievers=_retrievers(),
        n_candidates=30,
        random_state=5,
        ranker_params=FAST,
    )
    a = TwoStage(**kwargs).fit(split.train).recommend(split.eval_users, k=10)
    b = TwoStage(**kwargs).fit(split.train).recommend(split.eval_users, k=10)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_two_stage_exposes_stage_timings(fitted, split):
    fitted.recommend(split.eval_users, k=10)
    t = fitted.last_timings_
    assert set(t) == {"candidates_ms", "features_ms", "ranking_ms"}
    assert all(v > 0 for v in t.values())
    assert set(fitted.fit_timings_) == {"validation_data_s", "ranker_s", "refit_s"}


def test_retriever_features_can_be_left_out(synth, split):
    model = TwoStage(
        items=synth[1],
        retrievers=_retrievers(),
        n_candidates=30,
        retriever_features=False,
        ranker_params=FAST,
    ).fit(split.train)
    assert not set(retriever_feature_names(model.feature_names_))
    assert "genre_match" in model.feature_names_


def test_single_class_labels_fall_back_to_rank_fusion(synth, split):
    train = split.train.assign(**{S.RATING: 1.0})  # nothing is relevant in the window
    model = TwoStage(items=synth[1], retrievers=_retrievers(), n_candidates=10).fit(train)
    assert model.ranker_ is None
    users = split.eval_users[:3]
    ids, scores = model.recommend(users, k=5)
    assert ids.shape == (3, 5) and np.isfinite(scores).all()
    cands = retrieve(model.retrievers_, users, n=10)  # reciprocal-rank fusion by hand
    rrf = 1.0 / (60.0 + cands["ease_rank"]) + 1.0 / (60.0 + cands["pop_rank"])
    np.testing.assert_allclose(model.rank_candidates(users)["score"], rrf)
    assert fit_ranker(pd.DataFrame({"a": [1.0, 2.0]}), np.array([0, 0])) is None


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"items": None}, TypeError, "items"),
        ({"n_candidates": 0}, ValueError, "n_candidates"),
        ({"negative_share": 0.0}, ValueError, "negative_share"),
    ],
)
def test_bad_hyperparameters(synth, split, kwargs, err, match):
    params = {"items": synth[1], "retrievers": _retrievers(), **kwargs}
    with pytest.raises(err, match=match):
        TwoStage(**params).fit(split.train)


def test_needs_timestamps(synth, split):
    with pytest.raises(ValueError, match="timestamp"):
        TwoStage(items=synth[1], retrievers=_retrievers()).fit(
            split.train.drop(columns=S.TIMESTAMP)
        )


# --------------------------------------------------------------------------- analysis
def test_ranked_hits_matches_sorting_by_hand():
    hits = ranked_hits(
        [1, 1, 1, 2], [30, 10, 20, 5], [1, 0, 1, 1], [0.5, 0.9, 0.5, 0.1], np.array([1, 2, 3]), k=2
    )
    # user 1: 10 (0.9), then 20 and 30 tie at 0.5 -> smaller id 20 first
    assert hits.tolist() == [[False, True], [True, False], [False, False]]


def test_validation_ndcg_and_importance(synth, split):
    data = ranker_training_data(split.train, synth[1], _retrievers(), n_candidates=30)
    res = validation_ndcg(data, folds=2, params=FAST)
    assert list(res.columns) == ["two_stage", "ease", "pop", "candidate_recall"]
    np.testing.assert_array_equal(res.index, data.split.eval_users)
    scores = res[["two_stage", "ease", "pop"]].to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    # a retriever's NDCG from its ranks equals recommending with it (top-10 within top-30)
    from course_utils.evaluation.harness import evaluate_recommendations

    ease = fit_retrievers({"ease": _retrievers()["ease"]}, data.split.train)["ease"]
    expected = evaluate_recommendations(
        ease.recommend(data.split.eval_users, k=10)[0], data.split, ks=10
    )
    np.testing.assert_allclose(res["ease"], expected["ndcg"])
    imp = permutation_importance_table(data, folds=2, n_repeats=2, params=FAST)
    assert set(imp.index) == set(data.features.columns)
    assert imp["importance"].is_monotonic_decreasing


# --------------------------------------------------------------------------- exercise checks
def _recall_by_loops(candidates, split):
    got = set(zip(candidates[S.USER_ID], candidates[S.ITEM_ID]))
    rel = split.relevant
    return pd.Series(
        [
            np.mean([(u, i) in got for i in rel.loc[rel[S.USER_ID] == u, S.ITEM_ID]])
            for u in split.eval_users
        ],
        index=split.eval_users,
    )


def _recall_counting_duplicates(candidates, split):
    hits = split.relevant.merge(candidates, on=[S.USER_ID, S.ITEM_ID])  # no drop_duplicates
    return hits.groupby(S.USER_ID).size().reindex(split.eval_users, fill_value=0) / split.n_relevant


def _popularity_by_loops(interactions, candidates):
    last = interactions.groupby(S.USER_ID)[S.TIMESTAMP].max()
    out = []
    for u, i in zip(candidates[S.USER_ID], candidates[S.ITEM_ID], strict=True):
        if u not in last.index:
            out.append(np.nan)
            continue
        before = (interactions[S.ITEM_ID] == i) & (interactions[S.TIMESTAMP] < last[u])
        out.append(float(before.sum()))
    return np.array(out)


def _popularity_inclusive(interactions, candidates):  # counts events AT t_u too: wrong
    last = interactions.groupby(S.USER_ID)[S.TIMESTAMP].max()
    t_u = candidates[S.USER_ID].map(last)
    m = candidates.assign(t_u=t_u, row=np.arange(len(candidates))).merge(
        interactions[[S.ITEM_ID, S.TIMESTAMP]], on=S.ITEM_ID, how="left"
    )
    n = (m[S.TIMESTAMP] <= m["t_u"]).groupby(m["row"]).sum().to_numpy(dtype=float)
    return np.where(t_u.isna(), np.nan, n)


@pytest.mark.parametrize(
    "check, right, wrong",
    [
        ("check_candidate_recall", _recall_by_loops, _recall_counting_duplicates),
        ("check_point_in_time_feature", _popularity_by_loops, _popularity_inclusive),
    ],
)
def test_exercise_checks(check, right, wrong, capsys):
    from course_utils.exercises import step04b

    checker = getattr(step04b, check)
    assert checker(right)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(AssertionError):
        checker(wrong)
    assert "❌" in capsys.readouterr().out

    def not_yet(*args):
        raise NotImplementedError

    assert not checker(not_yet)
    assert "⏳" in capsys.readouterr().out
