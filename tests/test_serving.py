"""The serving path: tree ensemble, MMR, cold-start routing, the service against TwoStage."""

from __future__ import annotations

import copy
import functools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from course_utils.data import schema as S
from course_utils.data.dataset import Dataset
from course_utils.data.synthetic import make_synthetic
from course_utils.features.ranking import ranking_features
from course_utils.models import ContentBased, Popularity
from course_utils.models.als import ALS
from course_utils.models.candidates import retrieve
from course_utils.models.ease import EASE
from course_utils.models.svd import PureSVD
from course_utils.models.two_stage import TwoStage
from course_utils.models.two_tower import TwoTower
from course_utils.monitoring.request_log import RequestLog
from course_utils.serving import (
    BadRequest,
    RecommendationService,
    TreeEnsemble,
    export_pipeline,
    mmr_rerank,
    retriever_scores,
    route_request,
)


@functools.lru_cache(maxsize=1)
def small_world():
    """A small synthetic catalogue and a TwoStage (EASE + ALS + popularity) fitted on it.

    Every interaction gets a rating (the synthetic data rates about 30% of them), so the
    retrievers weight the history by rating as on MovieLens. Shared by the serving,
    artifact and HTTP tests (fitted once per session).
    """
    synthetic = make_synthetic(n_users=250, n_items=120, n_interactions=5000, random_state=3)
    interactions = synthetic.interactions.assign(
        **{S.RATING: synthetic.interactions[S.RATING].fillna(3.0)}
    )
    data = Dataset("synthetic", interactions, synthetic.items)
    retrievers = {
        "ease": EASE(regularization=50.0),
        "als": ALS(n_factors=8, iterations=3),
        "pop": Popularity(),
    }
    params = {"max_iter": 25, "early_stopping": False}
    with threadpool_limits(1):  # OpenMP threads only slow a tiny fit down
        model = TwoStage(
            items=data.items, retrievers=retrievers, n_candidates=30, ranker_params=params
        ).fit(data.interactions)
    return data, model


@pytest.fixture(scope="module")
def world():
    return small_world()


@pytest.fixture(scope="module")
def service(world):
    data, model = world
    return RecommendationService.from_model(model, data.items, min_history=1, mmr_lambda=1.0)


def _ids(response):
    return [item["item_id"] for item in response["items"]]


# --------------------------------------------------------------------------- trees
def _random_classifier(max_leaf_nodes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 2]) + rng.normal(0, 0.5, 600) > 0
    with threadpool_limits(1):  # OpenMP threads only slow a tiny fit down
        clf = HistGradientBoostingClassifier(
            max_iter=15, max_leaf_nodes=max_leaf_nodes, random_state=seed
        ).fit(X, y.astype(int))
    return clf, X


@pytest.mark.parametrize("max_leaf_nodes", [2, 7, 31, 64])
def test_tree_ensemble_equals_sklearn_bit_for_bit(max_leaf_nodes):
    clf, X = _random_classifier(max_leaf_nodes)
    ens = TreeEnsemble.from_arrays(TreeEnsemble.from_sklearn(clf).to_arrays())
    assert ens.n_trees == clf.n_iter_
    np.testing.assert_array_equal(ens.predict_proba(X), clf.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(ens.decision_function(X), clf.decision_function(X))


def test_tree_ensemble_exit_leaves_match_a_node_by_node_walk():
    clf, X = _random_classifier(7, seed=1)
    arrays = TreeEnsemble.from_sklearn(clf).to_arrays()
    leaves = TreeEnsemble(arrays).leaves(X[:20])
    for t, predictor in enumerate(clf._predictors):  # reference: walk each tree by hand
        nodes = predictor[0].nodes
        leaf_numbers = np.cumsum(nodes["is_leaf"]) - 1
        for r, x in enumerate(X[:20]):
            node = 0
            while not nodes["is_leaf"][node]:
                v = x[nodes["feature_idx"][node]]
                go_left = (
                    nodes["missing_go_to_left"][node]
                    if np.isnan(v)
                    else v <= nodes["num_threshold"][node]
                )
                node = nodes["left"][node] if go_left else nodes["right"][node]
            assert leaves[r, t] == leaf_numbers[node]


def test_tree_ensemble_rejects_what_it_cannot_score():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    with pytest.raises(ValueError, match="binary"):
        TreeEnsemble.from_sklearn(
            HistGradientBoostingClassifier(max_iter=3).fit(X, np.arange(90) % 3)
        )
    with pytest.raises(TypeError, match="HistGradientBoostingClassifier"):
        TreeEnsemble.from_sklearn(object())
    clf, Xc = _random_classifier(7)
    ens = TreeEnsemble.from_sklearn(clf)
    with pytest.raises(ValueError, match="shape"):
        ens.predict_proba(Xc[:, :3])
    broken = ens.to_arrays()
    broken["left"][0] += 1
    with pytest.raises(ValueError, match="depth first"):
        TreeEnsemble.from_arrays(broken)
    incomplete = ens.to_arrays()
    del incomplete["value"]
    with pytest.raises(KeyError, match="value"):
        TreeEnsemble.from_arrays(incomplete)


# --------------------------------------------------------------------------- MMR
def _mmr_reference(scores, vectors, k, lam):
    """MMR written as in Carbonell and Goldstein (1998), one candidate at a time."""
    unit = [
        v / np.linalg.norm(v) if np.linalg.norm(v) > 0 else v * 0
        for v in np.asarray(vectors, float)
    ]
    chosen = []
    for _ in range(k):
        best, best_value = None, -np.inf
        for i in range(len(scores)):
            if i in chosen:
                continue
            redundancy = max((float(unit[i] @ unit[j]) for j in chosen), default=0.0)
            value = lam * scores[i] - (1 - lam) * redundancy
            if value > best_value:
                best, best_value = i, value
        chosen.append(best)
    return chosen


def test_mmr_by_hand():
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    scores = [1.0, 0.9, 0.3, 0.6]
    assert mmr_rerank(scores, vectors, 4, lambda_=1.0).tolist() == [0, 1, 3, 2]
    # lambda 0.5 after item 0: item 1 scores 0.45 - 0.5 * 1 = -0.05 (a duplicate),
    # item 2 0.15 - 0 = 0.15 (nothing in common), item 3 0.3 - 0.5 * 0.707 = -0.054
    assert mmr_rerank(scores, vectors, 2, lambda_=0.5).tolist() == [0, 2]
    assert mmr_rerank(scores, vectors, 4, lambda_=0.5).tolist() == [0, 2, 1, 3]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    seed=st.integers(0, 10_000),
    lam=st.floats(0.0, 1.0),
    data=st.data(),
)
def test_mmr_matches_the_reference(n, seed, lam, data):
    rng = np.random.default_rng(seed)
    scores = rng.random(n)
    vectors = rng.integers(0, 2, size=(n, 4)).astype(float)
    k = data.draw(st.integers(1, n))
    got = mmr_rerank(scores, vectors, k, lam)
    assert got.tolist() == _mmr_reference(scores, vectors, k, lam)
    assert len(set(got.tolist())) == k


def test_mmr_with_lambda_one_keeps_the_score_order():
    rng = np.random.default_rng(0)
    scores = rng.random(50)
    got = mmr_rerank(scores, rng.random((50, 3)), 10, 1.0)
    np.testing.assert_array_equal(got, np.argsort(-scores, kind="stable")[:10])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k must"),
        ({"k": 4}, "k must"),
        ({"lambda_": 1.5}, "lambda_"),
        ({"lambda_": -0.1}, "lambda_"),
    ],
)
def test_mmr_rejects_bad_arguments(kwargs, match):
    args = {"scores": [0.3, 0.2, 0.1], "item_vectors": np.eye(3), "k": 2, "lambda_": 0.5} | kwargs
    with pytest.raises(ValueError, match=match):
        mmr_rerank(**args)


# --------------------------------------------------------------------------- routing
@pytest.mark.parametrize(
    "known, n_history, expected",
    [
        (True, 5, "personalised"),
        (True, 3, "personalised"),
        (True, 2, "cold_start_content"),
        (False, 50, "cold_start_content"),
        (False, 1, "cold_start_content"),
        (False, 0, "cold_start_popularity"),
    ],
)
def test_route_request(known, n_history, expected):
    assert route_request(known, n_history, min_history=3) == expected


# --------------------------------------------------------------------------- the service
def test_service_equals_two_stage_for_every_known_user(world, service):
    _, model = world
    users = model.users_.ids_
    expected, scores = model.recommend(users, k=10)
    for user, items, values in zip(users, expected, scores, strict=True):
        response = service.recommend(int(user), k=10)
        assert response["source"] == "personalised"
        assert _ids(response) == items.tolist()
        np.testing.assert_allclose([i["score"] for i in response["items"]], values, rtol=1e-12)


def test_service_features_equal_ranking_features(world, service):
    _, model = world
    for user in model.users_.ids_[[7, 100]]:
        candidates = retrieve(model.retrievers_, [user], model.n_candidates)
        expected = ranking_features(candidates, model.tables_).set_index(candidates[S.ITEM_ID])
        explained = service.explain(int(user)).sort_index()
        np.testing.assert_array_equal(explained.index, expected.index)
        np.testing.assert_allclose(
            explained[model.feature_names_].to_numpy(),
            expected[model.feature_names_].to_numpy(),
            rtol=1e-12,
        )
        scores = model.ranker_.predict_proba(expected[model.feature_names_])[:, 1]
        np.testing.assert_allclose(explained["score"].to_numpy(), scores, rtol=1e-12)


def test_explain_refuses_cold_start_requests(service):
    with pytest.raises(BadRequest, match="cold_start_popularity"):
        service.explain(10**9)


def test_cold_users_get_the_popularity_ranking(world, service):
    _, model = world
    response = service.recommend(10**9, k=8)
    assert response["source"] == "cold_start_popularity"
    expected, _ = model.recommend([10**9], k=8)  # TwoStage's fallback for unknown users
    assert _ids(response) == expected[0].tolist()


def test_empty_history_is_not_an_error(world, service):
    _, model = world
    known = int(model.users_.ids_[0])
    assert _ids(service.recommend(known, history=[], k=5)) == _ids(service.recommend(known, k=5))
    assert service.recommend(10**9, history=[], k=5)["source"] == "cold_start_popularity"


def test_cold_start_content_ranks_like_content_based(world, service):
    data, model = world
    history = model.items_.ids_[[3, 17, 40]].tolist()
    response = service.recommend(10**9, history=history, k=10)
    assert response["source"] == "cold_start_content"
    content = ContentBased(items=data.items, min_df=2).fit(data.interactions)
    scores = pd.Series(content.profile_scores(history), index=content.items_.ids_)
    scores = scores.reindex(model.items_.ids_).drop(history)
    expected = scores.sort_values(ascending=False, kind="stable").index[:10].tolist()
    assert _ids(response) == expected
    assert not set(_ids(response)) & set(history)


def test_recent_history_is_excluded_and_kids_profile_filters(world, service):
    data, model = world
    user = int(model.users_.ids_[5])
    top = _ids(service.recommend(user, k=10))
    again = _ids(service.recommend(user, history=top[:3], k=10))
    assert not set(top[:3]) & set(again)
    kids = service.recommend(user, k=10, context={"profile": "kids"})
    genres = data.items.set_index(S.ITEM_ID)[S.GENRES]
    assert kids["items"] and all("Children" in genres[i] for i in _ids(kids))


def test_mmr_lambda_diversifies_the_list(world, service):
    data, model = world
    genres = data.items.set_index(S.ITEM_ID)[S.GENRES]
    distinct = []
    for lam in (1.0, 0.3):
        n = [
            len(
                set().union(
                    *genres[_ids(service.recommend(int(u), k=10, context={"mmr_lambda": lam}))]
                )
            )
            for u in model.users_.ids_[:30]
        ]
        distinct.append(np.mean(n))
    assert distinct[1] > distinct[0]


def test_response_is_json_and_has_stage_latencies(service, world):
    _, model = world
    response = service.recommend(int(model.users_.ids_[2]), k=3)
    decoded = json.loads(json.dumps(response))
    assert decoded["model_version"] == "dev" and len(decoded["items"]) == 3
    assert set(decoded["items"][0]) == {"item_id", "title", "score"}
    stages = response["latency_ms"]
    assert list(stages) == ["route", "retrieval", "features", "ranking", "rerank", "total"]
    assert stages["total"] >= sum(v for s, v in stages.items() if s != "total") - 1e-9


BAD_REQUESTS = [
    ({"user_id": 1, "k": 0}, "k must be between 1 and 100; got 0"),
    ({"user_id": 1, "k": 101}, "k must be between 1 and 100; got 101"),
    ({"user_id": 1, "k": "5"}, "k must be an integer; got str"),
    ({"user_id": 1, "k": True}, "k must be an integer; got bool"),
    ({"user_id": "7"}, "user_id must be an integer; got str"),
    ({"user_id": 1.5}, "user_id must be an integer; got float"),
    ({"user_id": None}, "user_id must be an integer; got NoneType"),
    ({"user_id": 2**70}, "user_id must fit in 64 bits"),
    ({"user_id": 1, "history": "1,2"}, "history must be a list"),
    ({"user_id": 1, "history": [1, "a"]}, "flat list of integer item ids"),
    ({"user_id": 1, "history": [[1, 2]]}, "flat list of integer item ids"),
    ({"user_id": 1, "history": [True]}, "flat list of integer item ids"),
    ({"user_id": 1, "history": [2**70]}, "64 bits"),
    (
        {"user_id": 1, "history": [-5, 10**9]},
        "2 item ids unknown to the catalogue, e.g. [-5, 1000000000]",
    ),
    ({"user_id": 1, "history": list(range(1, 502))}, "at most 500 items; got 501"),
    ({"user_id": 1, "context": "kids"}, "context must be a JSON object"),
    ({"user_id": 1, "context": {"profile": "adult"}}, "context.profile must be one of"),
    ({"user_id": 1, "context": {"mmr_lambda": 2}}, "context.mmr_lambda must be a number in [0, 1]"),
    ({"user_id": 1, "hisotry": [1]}, "unknown request fields ['hisotry']"),
    ({"k": 3}, "needs a 'user_id'"),
    ([1, 2], "must be a JSON object; got list"),
]


@pytest.mark.parametrize("payload, message", BAD_REQUESTS)
def test_bad_requests_raise_bad_request_with_a_message(service, payload, message):
    with pytest.raises(BadRequest) as info:
        service.handle(payload)
    assert message in str(info.value)


def test_bad_requests_do_not_change_later_answers(world):
    data, model = world
    log = RequestLog()
    service = RecommendationService.from_model(model, data.items, request_log=log)
    user = int(model.users_.ids_[3])
    before = service.recommend(user, history=[int(model.items_.ids_[0])], k=10)
    for payload, _ in BAD_REQUESTS:
        with pytest.raises(BadRequest):
            service.handle(copy.deepcopy(payload))
    after = service.recommend(user, history=[int(model.items_.ids_[0])], k=10)
    assert before["items"] == after["items"]
    frame = log.to_frame()
    assert len(frame) == len(BAD_REQUESTS) + 2
    assert (frame["error"] == "bad_request").sum() == len(BAD_REQUESTS)
    ok = frame[frame["error"].isna()]
    assert ok["items"].iloc[0] == _ids(before) and set(ok["source"]) == {"personalised"}


# --------------------------------------------------------------------------- single retrievers
@pytest.mark.parametrize(
    "make",
    [
        lambda items: ALS(n_factors=6, iterations=2),
        lambda items: EASE(regularization=20.0),
        lambda items: PureSVD(n_factors=5),
        lambda items: Popularity(),
        lambda items: TwoTower(items=items, embedding_dim=4, epochs=1, batch_size=512),
    ],
    ids=["als", "ease", "puresvd", "popularity", "two_tower"],
)
def test_a_single_retriever_serves_its_own_top_k(world, make):
    data, _ = world
    with threadpool_limits(1):
        model = make(data.items).fit(data.interactions)
    service = RecommendationService.from_model(model, data.items, min_history=1, mmr_lambda=1.0)
    users = model.users_.ids_[:25]
    expected, _ = model.recommend(users, k=10)
    got = [_ids(service.recommend(int(u), k=10)) for u in users]
    assert got == expected.tolist()


def test_retriever_scores_equal_the_models_scores(world, service):
    _, model = world
    users = np.arange(12)
    for name, kind, arrays in service._retrievers:
        histories = service._histories.get(name)  # rating-weighted rows for EASE
        history = histories[users] if histories is not None else None
        got = retriever_scores(kind, arrays, users, history)
        expected = model.retrievers_[name].score_matrix(model.users_.ids(users))
        np.testing.assert_array_equal(got, expected)


def test_recent_items_change_item_item_scores_like_a_longer_history(world, service):
    _, model = world
    row, name = 4, "ease"
    ease = model.retrievers_[name]
    arrays = next(a for n, _, a in service._retrievers if n == name)
    stored = service._history[row].indices
    new = np.setdiff1d(np.arange(len(service.items)), stored)[:2]
    got = retriever_scores(
        "item_item", arrays, np.array([row]), service._history_row(name, arrays, row, new)
    )
    x = ease._X[row].toarray()[0]
    x[new] = arrays["default_value"][0]  # a recent play counts the mean training value
    np.testing.assert_allclose(got[0], x @ ease.weights_, rtol=1e-12, atol=1e-12)


def test_rrf_fallback_without_a_ranker(world):
    data, model = world
    no_ranker = copy.copy(model)
    no_ranker.ranker_ = None
    service = RecommendationService.from_model(no_ranker, data.items, min_history=1, mmr_lambda=1.0)
    assert service.ranking == "rrf"
    users = model.users_.ids_[:20]
    expected, _ = no_ranker.recommend(users, k=10)
    assert [_ids(service.recommend(int(u), k=10)) for u in users] == expected.tolist()


def test_export_rejects_unsupported_models(world):
    data, _ = world
    content = ContentBased(items=data.items).fit(data.interactions)
    with pytest.raises(TypeError, match="cannot export ContentBased"):
        export_pipeline(content, data.items)


# --------------------------------------------------------------------------- exercise checks
def test_step06_checks_accept_the_references(capsys):
    from course_utils.exercises import step06

    assert step06.check_mmr_rerank(mmr_rerank)
    assert step06.check_route_request(route_request)
    assert step06.check_stage_percentiles(
        lambda df, q=(50, 95, 99): pd.DataFrame(
            np.nanpercentile(df.to_numpy(float), q, axis=0).T,
            index=df.columns,
            columns=[f"p{p}" for p in q],
        )
    )
    assert capsys.readouterr().out.count("✅") == 3


def test_step06_checks_catch_common_mistakes(capsys):
    from course_utils.exercises import step06

    def greedy_by_score_only(scores, item_vectors, k, lambda_=0.7):
        return np.argsort(-np.asarray(scores), kind="stable")[:k]

    def percentiles_with_nan(df, q=(50, 95, 99)):  # np.percentile propagates NaN
        return pd.DataFrame(np.percentile(df.to_numpy(float), q, axis=0).T, index=df.columns,
                            columns=[f"p{p}" for p in q])  # fmt: skip

    def route_ignoring_known(is_known, n_history, min_history=3):
        return "personalised" if n_history >= min_history else "cold_start_popularity"

    for check, wrong in [
        (step06.check_mmr_rerank, greedy_by_score_only),
        (step06.check_stage_percentiles, percentiles_with_nan),
        (step06.check_route_request, route_ignoring_known),
    ]:
        with pytest.raises(AssertionError):
            check(wrong)
    assert capsys.readouterr().out.count("❌") == 3


def test_step06_checks_untouched_exercise_is_not_attempted(capsys):
    from course_utils.exercises import step06

    def untouched(*args, **kwargs):
        raise NotImplementedError()

    for check in (
        step06.check_mmr_rerank,
        step06.check_stage_percentiles,
        step06.check_route_request,
    ):
        assert not check(untouched)
    assert capsys.readouterr().out.count("⏳") == 3


def test_pipeline_rejects_bad_content_blocks(world):
    data, model = world
    pipeline = export_pipeline(model, data.items)
    catalogue = pipeline.components["catalogue"]
    good = catalogue["content_blocks"].copy()
    assert good[0] == 0 and good[-1] == catalogue["content_indices"].max() + 1
    for bad in (good[:1], good[::-1], good - 1, good[:-1]):
        broken = copy.deepcopy(pipeline)
        broken.components["catalogue"]["content_blocks"] = bad
        with pytest.raises(ValueError, match="content_blocks"):
            broken.validate()


def _mmr_by_the_formula(scores, vectors, k, lambda_):
    """MMR written straight from the formula: max over the chosen items, 0 while none."""
    unit = [v / np.linalg.norm(v) if np.linalg.norm(v) > 0 else v * 0.0 for v in vectors]
    chosen: list[int] = []
    for _ in range(k):

        def value(i):
            redundancy = max((float(unit[i] @ unit[j]) for j in chosen), default=0.0)
            return lambda_ * scores[i] - (1 - lambda_) * redundancy

        rest = [i for i in range(len(scores)) if i not in chosen]
        chosen.append(max(rest, key=lambda i: (value(i), -i)))
    return chosen


@pytest.mark.parametrize("seed", range(5))
def test_mmr_rerank_follows_the_formula_with_negative_cosines(seed):
    from course_utils.serving.rerank import mmr_rerank

    rng = np.random.default_rng(seed)
    scores, vectors = rng.random(25), rng.normal(size=(25, 4))  # many negative cosines
    vectors[3] = 0.0
    for lam in (0.2, 0.5, 0.8):
        expected = _mmr_by_the_formula(scores, vectors, 10, lam)
        assert mmr_rerank(scores, vectors, 10, lam).tolist() == expected
