"""Retrieval indexes: exact vs approximate recall, batch vs single, persistence, input errors,
and the serving pipeline with an index (config, manifest, checksums, answers)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data.synthetic import make_synthetic
from course_utils.models import Popularity
from course_utils.models.als import ALS
from course_utils.models.base import NotFittedError
from course_utils.models.two_stage import TwoStage
from course_utils.serving import (
    RecommendationService,
    export_pipeline,
    load_artifacts,
    save_artifacts,
)
from course_utils.serving.artifacts import ArtifactIntegrityError
from course_utils.serving.index import (
    ExactIndex,
    HNSWIndex,
    IndexFormatError,
    IVFIndex,
    faiss_threads,
    index_from_arrays,
    load_index,
    make_index,
    recall_at_k,
)
from course_utils.serving.pipeline import attach_index


def _clustered(n=3000, d=16, n_clusters=20, seed=0):
    """Vectors in clusters with varied norms, like trained item factors."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    V = centres[rng.integers(0, n_clusters, n)] + 0.3 * rng.normal(size=(n, d))
    V *= rng.lognormal(0, 0.3, (n, 1))
    return V.astype(np.float32), rng.normal(size=(50, d)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    V, Q = _clustered()
    truth = ExactIndex().build(V).search(Q, 20)[0]
    return V, Q, truth


def _brute(V, Q, k):
    scores = Q.astype(np.float64) @ V.T.astype(np.float64)
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def test_exact_matches_a_full_sort(data):
    V, Q, truth = data
    assert recall_at_k(truth, _brute(V, Q, 20)) == 1.0
    idx, val = ExactIndex(batch_size=7).build(V).search(Q, 20)
    assert np.array_equal(idx, truth)
    assert np.all(np.diff(val, axis=1) <= 0)


@pytest.mark.parametrize(
    "index, floor",
    [
        (HNSWIndex(M=16, ef_construction=64, ef_search=128), 0.9),
        (IVFIndex(nlist=32, nprobe=8), 0.9),
        (IVFIndex(nlist=32, nprobe=32), 1.0),  # every cell probed: exact
        (IVFIndex(nlist=32, nprobe=16, pq_m=8), 0.6),  # compressed: approximate scores
    ],
    ids=["hnsw", "ivf", "ivf-all-cells", "ivf-pq"],
)
def test_recall_against_exact(data, index, floor):
    V, Q, truth = data
    with faiss_threads(1):
        idx, val = index.build(V).search(Q, 20)
    assert idx.shape == val.shape == (len(Q), 20)
    assert recall_at_k(idx, truth) >= floor


def test_a_wider_search_finds_more(data):
    V, Q, truth = data
    with faiss_threads(1):
        hnsw = HNSWIndex(M=16, ef_construction=64).build(V)
        recalls = []
        for ef in (20, 200):
            hnsw.ef_search = ef
            recalls.append(recall_at_k(hnsw.search(Q, 20)[0], truth))
    assert recalls[1] >= recalls[0] + 0.1 and recalls[1] >= 0.9


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf"])
def test_a_batch_equals_one_query_at_a_time(data, kind):
    V, Q, _ = data
    params = {"ivf": {"nlist": 32, "nprobe": 4}}.get(kind, {})
    with faiss_threads(1):
        index = make_index(kind, **params).build(V)
        batch = index.search(Q, 15)
        single = [index.search(Q[i : i + 1], 15) for i in range(len(Q))]
    assert np.array_equal(batch[0], np.vstack([s[0] for s in single]))
    assert np.allclose(batch[1], np.vstack([s[1] for s in single]), rtol=1e-5)


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf"])
def test_save_and_load_round_trip(data, kind, tmp_path):
    V, Q, _ = data
    params = {"ivf": {"nlist": 32, "nprobe": 4, "pq_m": 4}}.get(kind, {})
    index = make_index(kind, **params).build(V)
    index.save(tmp_path / "index.npz")
    again = load_index(tmp_path / "index.npz")
    assert type(again) is type(index) and again.get_params() == index.get_params()
    assert (again.n_items_, again.dim_) == (len(V), V.shape[1])
    with faiss_threads(1):
        assert np.array_equal(again.search(Q, 10)[0], index.search(Q, 10)[0])
    with np.load(tmp_path / "index.npz", allow_pickle=False) as npz:  # plain arrays only
        assert all(npz[key].dtype.kind != "O" for key in npz.files)


def test_a_corrupted_or_foreign_file_is_refused_clearly(data, tmp_path):
    V, _, _ = data
    path = tmp_path / "index.npz"
    HNSWIndex(M=8).build(V[:500]).save(path)
    raw = bytearray(path.read_bytes())
    flipped = tmp_path / "flipped.npz"
    raw[len(raw) // 2] ^= 0xFF  # one byte inside the faiss payload
    flipped.write_bytes(bytes(raw))
    with pytest.raises(IndexFormatError, match="corrupted|not a readable"):
        load_index(flipped)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(IndexFormatError, match="not a readable"):
        load_index(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(IndexFormatError, match="checksum"):
        load_index(foreign)
    with pytest.raises(FileNotFoundError):
        load_index(tmp_path / "missing.npz")
    arrays = ExactIndex().build(V[:10]).to_arrays()
    arrays["meta"] = np.array(json.dumps({"format": "other/9", "kind": "exact", "params": {}}))
    with pytest.raises(IndexFormatError, match="format"):
        index_from_arrays(arrays)


def test_add_appends_new_items_that_can_be_found(data):
    V, _, _ = data
    with faiss_threads(1):
        new = 10 * np.abs(V).max() * np.eye(16, dtype=np.float32)  # one long vector per axis
        for index in (ExactIndex(), HNSWIndex(M=16), IVFIndex(nlist=16, nprobe=16)):
            index.build(V).add(new)
            assert index.n_items_ == len(V) + 16
            idx, _ = index.search(np.eye(16), 1)  # each axis' best item is the new one
            assert np.array_equal(idx[:, 0], len(V) + np.arange(16)), type(index).__name__


def test_search_filtered_skips_blocked_items_and_widens(data):
    V, Q, _ = data
    index = ExactIndex().build(V)
    blocked = np.zeros(len(V), bool)
    blocked[index.search(Q[:1], 50)[0][0]] = True  # the 50 best are blocked
    idx, val = index.search_filtered(Q[0], 10, blocked)
    allowed = np.flatnonzero(~blocked)
    expected = allowed[_brute(V[allowed], Q[:1], 10)[0]]
    assert np.array_equal(idx, expected) and len(val) == 10
    only = np.ones(len(V), bool)
    only[[3, 7]] = False
    assert sorted(HNSWIndex(M=8).build(V).search_filtered(Q[0], 5, only)[0].tolist()) == [3, 7]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 30), st.integers(0, 10_000))
def test_recall_at_k_properties(k, seed):
    rng = np.random.default_rng(seed)
    exact = np.argsort(rng.random((4, 40)), axis=1)[:, :k]
    assert recall_at_k(exact, exact) == 1.0
    assert recall_at_k(np.full_like(exact, -1), exact) == 0.0
    shuffled = rng.permuted(exact, axis=1)
    assert recall_at_k(shuffled, exact) == 1.0  # order within the top-k does not matter


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda i: i.search(np.ones((2, 3)), 5), ValueError, "16 columns"),
        (lambda i: i.search(np.ones(16), 5), ValueError, "2-D"),
        (lambda i: i.search([[np.nan] * 16], 5), ValueError, "NaN"),
        (lambda i: i.search(np.ones((1, 16)), 0), ValueError, "k must be"),
        (lambda i: i.search(np.ones((1, 16)), 10**6), ValueError, "k must be between"),
        (lambda i: i.search("abc", 5), TypeError, "2-D numeric"),
        (lambda i: i.search(np.array([["a"] * 16]), 5), TypeError, "numeric"),
        (lambda i: i.add(np.ones((2, 4))), ValueError, "16 columns"),
        (lambda i: i.search_filtered(np.ones(16), 5, np.zeros(3, bool)), ValueError, "blocked"),
    ],
)
def test_input_errors_say_what_was_expected(data, call, error, match):
    index = HNSWIndex(M=8).build(data[0][:200])
    with pytest.raises(error, match=match):
        call(index)


def test_parameter_and_state_errors(data):
    V = data[0][:100]
    with pytest.raises(NotFittedError, match="build"):
        HNSWIndex().search(V[:1], 5)
    with pytest.raises(ValueError, match="M must be"):
        HNSWIndex(M=0).build(V)
    with pytest.raises(ValueError, match="nlist must be <="):
        IVFIndex(nlist=500).build(V)
    with pytest.raises(ValueError, match="pq_m must divide"):
        IVFIndex(nlist=4, pq_m=5).build(V)
    with pytest.raises(ValueError, match="index kind"):
        make_index("annoy")
    with pytest.raises(ValueError, match="vectors must be a non-empty"):
        ExactIndex().build(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="k must be <="):
        recall_at_k(np.zeros((2, 3)), np.zeros((2, 3)), k=4)
    with pytest.raises(ValueError, match="same number of rows"):
        recall_at_k(np.zeros((2, 3)), np.zeros((3, 3)))


# --------------------------------------------------------------------------- serving
@pytest.fixture(scope="module")
def two_stage():
    data = make_synthetic(n_users=300, n_items=400, n_interactions=12_000, random_state=3)
    retrievers = {"als": ALS(n_factors=16, iterations=5, use_ratings=False), "pop": Popularity()}
    model = TwoStage(items=data.items, retrievers=retrievers, n_candidates=50).fit(
        data.interactions
    )
    return model, data


def test_the_service_with_an_index_is_configured_saved_and_verified(two_stage, tmp_path):
    model, data = two_stage
    exact = export_pipeline(model, data.items)
    pipe = export_pipeline(model, data.items, index={"kind": "hnsw", "M": 16, "ef_search": 200})
    assert pipe.config["index"] == {
        "als": {"kind": "hnsw", "M": 16, "ef_construction": 80, "ef_search": 200}
    }
    saved = save_artifacts(
        pipe, tmp_path / "a", model_version="v1", training_interactions=data.interactions
    )
    assert saved.manifest["config"]["index"]["als"]["kind"] == "hnsw"
    assert "index.als.npz" in saved.manifest["files"]
    loaded = load_artifacts(tmp_path / "a")
    with faiss_threads(1):
        a, b = RecommendationService(exact), RecommendationService(loaded)
        users = model.users_.ids_[:40]
        same = [
            [i["item_id"] for i in a.recommend(int(u), k=10)["items"]]
            == [i["item_id"] for i in b.recommend(int(u), k=10)["items"]]
            for u in users
        ]
        kids = b.recommend(int(users[0]), k=10, context={"profile": "kids"})["items"]
    # 400 items, ef_search 200: the index finds the exact top-50; the ranker (5 bagged trees)
    # still reorders near-ties when faiss's float32 scores differ in the last bits
    assert np.mean(same) >= 0.8
    safe = set(pd.Index(b.items.ids_)[b._kids_safe])
    assert all(item["item_id"] in safe for item in kids)
    raw = bytearray((tmp_path / "a" / "index.als.npz").read_bytes())
    raw[-200] ^= 0xFF
    (tmp_path / "a" / "index.als.npz").write_bytes(bytes(raw))
    with pytest.raises(ArtifactIntegrityError, match="index.als.npz"):
        load_artifacts(tmp_path / "a")


def test_an_index_needs_an_embedding_retriever_and_matching_size(two_stage):
    model, data = two_stage
    pipe = export_pipeline(model, data.items)
    with pytest.raises(ValueError, match="embedding retriever"):
        attach_index(pipe, "pop", "hnsw")
    other = ExactIndex().build(np.ones((5, 16)))
    with pytest.raises(ValueError, match="over 5"):
        attach_index(pipe, "als", other)


# --------------------------------------------------------------------------- exercise
def _recall_with_sets(approx, exact, k):
    approx, exact = np.asarray(approx), np.asarray(exact)
    if k > min(approx.shape[1], exact.shape[1]):
        raise ValueError("k too large")
    rows = [
        len(set(a[:k].tolist()) & set(e[:k].tolist()) - {-1}) / k for a, e in zip(approx, exact)
    ]
    return float(np.mean(rows))


def _recall_with_isin(approx, exact, k):
    approx, exact = np.asarray(approx), np.asarray(exact)
    if k > approx.shape[1] or k > exact.shape[1]:
        raise ValueError(f"k must be <= the columns; got {k}")
    found = [np.isin(e[:k], a[:k][a[:k] >= 0]).sum() for a, e in zip(approx, exact)]
    return float(np.sum(found) / (k * len(exact)))


def _recall_by_position(approx, exact, k):  # order-sensitive
    approx, exact = np.asarray(approx), np.asarray(exact)
    if k > approx.shape[1]:
        raise ValueError("k")
    return float((approx[:, :k] == exact[:, :k]).mean())


def _recall_all_columns(approx, exact, k):  # ignores k
    approx, exact = np.asarray(approx), np.asarray(exact)
    if k > approx.shape[1]:
        raise ValueError("k")
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact)]))


def _recall_across_queries(approx, exact, k):  # an item found for another query counts
    approx, exact = np.asarray(approx), np.asarray(exact)
    if k > approx.shape[1]:
        raise ValueError("k")
    return float(np.isin(exact[:, :k], approx[:, :k]).mean())


def _recall_without_checking_k(approx, exact, k):  # right value, no error for a bad k
    return _recall_with_sets(np.asarray(approx)[:, :k], np.asarray(exact)[:, :k], min(k, 3))


def test_recall_exercise_accepts_correct_answers(capsys):
    from course_utils.exercises.step06 import check_recall_at_k

    for fn in (recall_at_k, _recall_with_sets, _recall_with_isin):
        assert check_recall_at_k(fn)
    assert capsys.readouterr().out.count("✅ recall_at_k: passed 8 checks") == 3


@pytest.mark.parametrize(
    "wrong",
    [_recall_by_position, _recall_all_columns, _recall_across_queries, _recall_without_checking_k],
)
def test_recall_exercise_rejects_common_mistakes(wrong, capsys):
    from course_utils.exercises.step06 import check_recall_at_k

    with pytest.raises(AssertionError, match="recall_at_k"):
        check_recall_at_k(wrong)


# --------------------------------------------------------------------------- benchmark helpers
def test_extend_vectors_keeps_the_originals_and_the_clusters():
    from course_utils.benchmark.ann import extend_vectors

    V, _ = _clustered(n=2000, n_clusters=5, seed=1)
    W, parents = extend_vectors(V, 6000, n_clusters=5, random_state=0)
    assert W.shape == (6000, V.shape[1]) and W.dtype == np.float32
    assert np.array_equal(W[:2000], V) and np.array_equal(parents[:2000], np.arange(2000))
    assert parents[2000:].min() >= 0 and parents[2000:].max() < 2000
    # a new vector stays closer to its parent than to a random original
    near = np.linalg.norm(W[2000:] - V[parents[2000:]], axis=1)
    far = np.linalg.norm(W[2000:] - V[np.random.default_rng(7).integers(0, 2000, 4000)], axis=1)
    assert np.median(near) < 0.5 * np.median(far)
    again, _ = extend_vectors(V, 6000, n_clusters=5, random_state=0)
    assert np.array_equal(W, again)
    with pytest.raises(ValueError, match="n_total must be"):
        extend_vectors(V, 100)


def test_extend_pipeline_copies_each_title_from_its_parent(two_stage):
    from course_utils.benchmark.ann import extend_pipeline, extend_vectors

    model, data = two_stage
    pipe = export_pipeline(model, data.items, dtype="float32")
    V = pipe.components["retriever.als"]["item_factors"]
    W, parents = extend_vectors(V, 3 * len(V), n_clusters=4)
    big = extend_pipeline(pipe, parents, W, "als")
    n = len(parents)
    assert len(big.components["catalogue"]["item_ids"]) == n
    f, g = big.components["features"], pipe.components["features"]
    assert np.array_equal(f["item_values"], g["item_values"][parents])
    assert np.array_equal(
        big.components["retriever.pop"]["scores"],
        pipe.components["retriever.pop"]["scores"][parents],
    )
    service = RecommendationService(attach_index(big, "als", "hnsw", M=8))
    items = service.recommend(int(model.users_.ids_[0]), k=10)["items"]
    assert len(items) == 10
