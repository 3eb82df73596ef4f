"""Metrics against hand-computed cases, scikit-learn, and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import ndcg_score

from course_utils.evaluation import metrics as M

HITS = np.array([[True, False, True, False], [False, False, False, True], [False] * 4])
N_REL = np.array([3, 1, 2])


def test_hand_computed_cases():
    np.testing.assert_allclose(M.precision_at_k(HITS, 4), [0.5, 0.25, 0.0])
    np.testing.assert_allclose(M.recall_at_k(HITS, N_REL, 4), [2 / 3, 1.0, 0.0])
    np.testing.assert_allclose(M.hit_rate_at_k(HITS, 2), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(M.mrr_at_k(HITS, 4), [1.0, 0.25, 0.0])
    dcg0 = 1 + 1 / np.log2(4)
    idcg0 = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    np.testing.assert_allclose(M.ndcg_at_k(HITS, N_REL, 4), [dcg0 / idcg0, 1 / np.log2(5), 0.0])
    # AP@4 user 0: (1/1 + 2/3) / min(4, 3)
    np.testing.assert_allclose(M.map_at_k(HITS, N_REL, 4), [(1 + 2 / 3) / 3, 0.25, 0.0])


def test_ideal_dcg_uses_min_k_relevant():
    # 5 relevant items, k = 2, two hits at the top -> perfect
    assert M.ndcg_at_k([True, True, False], 5, 2) == pytest.approx(1.0)
    assert M.map_at_k([True, True, False], 5, 2) == pytest.approx(1.0)


def test_single_user_returns_scalar():
    out = M.ndcg_at_k([False, True], 1, 2)
    assert np.ndim(out) == 0


@pytest.mark.parametrize(
    "call, err",
    [
        (lambda: M.precision_at_k(HITS, 0), ValueError),
        (lambda: M.precision_at_k(HITS, 2.0), TypeError),
        (lambda: M.precision_at_k(HITS, 5), ValueError),
        (lambda: M.precision_at_k(np.array([[0.5, 0.2]]), 1), TypeError),
        (lambda: M.recall_at_k(HITS, [1, 2], 2), ValueError),
        (lambda: M.ndcg_at_k(HITS, np.array([np.nan, 1, 1]), 2), ValueError),
        (lambda: M.ndcg_at_k(HITS, np.array([1, 1, 1]), 4), ValueError),  # more hits than relevant
        (lambda: M.precision_at_k(np.zeros((2, 2, 2), bool), 1), ValueError),
    ],
)
def test_bad_input_is_rejected(call, err):
    with pytest.raises(err):
        call()


def test_error_messages_say_what_arrived():
    with pytest.raises(ValueError, match="k must be >= 1; got 0"):
        M.ndcg_at_k(HITS, N_REL, 0)


def test_ndcg_matches_sklearn_when_all_items_scored():
    rng = np.random.default_rng(3)
    n_users, n_items, k = 40, 25, 10
    relevance = rng.random((n_users, n_items)) < 0.2
    relevance[:, 0] = True  # every user has at least one relevant item
    scores = rng.random((n_users, n_items))
    order = np.argsort(-scores, axis=1)
    hits = np.take_along_axis(relevance, order, axis=1)
    ours = M.ndcg_at_k(hits, relevance.sum(axis=1), k)
    theirs = [ndcg_score(relevance[[u]], scores[[u]], k=k) for u in range(n_users)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_hit_matrix_from_sets():
    hits, n_rel = M.hit_matrix([[5, 6, 7], [1, 2, 3]], [{7, 9}, set()])
    assert hits.tolist() == [[False, False, True], [False, False, False]]
    assert n_rel.tolist() == [2, 0]


def test_beyond_accuracy():
    recs = np.array([[1, 2], [2, 3]])
    assert M.catalog_coverage(recs, 10) == pytest.approx(0.3)
    ids = np.array([1, 2, 3])
    feats = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(M.intra_list_diversity(recs, ids, feats), [0.0, 1.0])
    np.testing.assert_allclose(M.novelty(recs, ids, np.array([50, 25, 100]), 100), [1.5, 1.0])
    np.testing.assert_allclose(M.popularity_bias(recs, ids, np.array([10, 20, 30])), [15, 25])
    with pytest.raises(ValueError, match="not found"):
        M.popularity_bias([[99, 1]], ids, np.array([1, 2, 3]))


# ----------------------------------------------------------------- hypothesis properties
hits_st = st.integers(1, 12).flatmap(
    lambda length: st.tuples(
        arrays(bool, st.tuples(st.integers(1, 8), st.just(length))),
        st.integers(1, length),
    )
)


def _n_rel(hits, extra):
    return hits.sum(axis=1) + extra


@settings(max_examples=60, deadline=None)
@given(hits_st, st.integers(0, 5))
def test_bounds(hk, extra):
    hits, k = hk
    n_rel = _n_rel(hits, extra)
    for values in (
        M.precision_at_k(hits, k),
        M.recall_at_k(hits, n_rel, k),
        M.ndcg_at_k(hits, n_rel, k),
        M.map_at_k(hits, n_rel, k),
        M.mrr_at_k(hits, k),
        M.hit_rate_at_k(hits, k),
    ):
        assert np.all(values >= 0) and np.all(values <= 1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10), st.integers(1, 15), st.integers(1, 15))
def test_perfect_ranking_scores_one(n_users, n_rel, k):
    length = max(k, n_rel)
    hits = np.zeros((n_users, length), bool)
    hits[:, :n_rel] = True
    assert np.allclose(M.ndcg_at_k(hits, n_rel, k), 1.0)
    assert np.allclose(M.map_at_k(hits, n_rel, k), 1.0)
    assert np.allclose(M.recall_at_k(hits, n_rel, k), min(k, n_rel) / n_rel)
    assert np.allclose(M.mrr_at_k(hits, k), 1.0)


@settings(max_examples=60, deadline=None)
@given(hits_st, st.data())
def test_adding_a_hit_never_lowers_recall_or_ndcg(hk, data):
    hits, k = hk
    n_rel = hits.sum(axis=1) + 1
    u = data.draw(st.integers(0, hits.shape[0] - 1))
    misses = np.flatnonzero(~hits[u])
    if misses.size == 0:
        return
    better = hits.copy()
    better[u, data.draw(st.sampled_from(misses.tolist()))] = True
    assert np.all(M.recall_at_k(better, n_rel, k) >= M.recall_at_k(hits, n_rel, k))
    assert np.all(M.ndcg_at_k(better, n_rel, k) >= M.ndcg_at_k(hits, n_rel, k) - 1e-12)
    assert np.all(M.precision_at_k(better, k) >= M.precision_at_k(hits, k))


@settings(max_examples=40, deadline=None)
@given(hits_st, st.randoms(use_true_random=False))
def test_user_order_invariance(hk, rnd):
    hits, k = hk
    n_rel = hits.sum(axis=1) + 1
    perm = np.array(rnd.sample(range(hits.shape[0]), hits.shape[0]))
    for f in (M.ndcg_at_k, M.map_at_k, M.recall_at_k):
        np.testing.assert_allclose(f(hits[perm], n_rel[perm], k), f(hits, n_rel, k)[perm])
        assert np.isclose(f(hits[perm], n_rel[perm], k).mean(), f(hits, n_rel, k).mean())


# --------------------------------------------------------------------------- never a wrong number
ids = st.integers(-(2**62), 2**62)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(ids, min_size=1, max_size=6), min_size=1, max_size=5).flatmap(
        lambda rows: st.tuples(
            st.just(rows),
            st.lists(st.sets(ids | st.sampled_from(sum(rows, [])), max_size=6),
                     min_size=len(rows), max_size=len(rows)),
        )
    )
)  # fmt: skip
def test_hits_match_a_plain_python_reference_for_ids_of_any_sign(case):
    rows, relevant = case
    width = min(len(r) for r in rows)
    rec = np.array([r[:width] for r in rows], dtype=np.int64)
    hits, n_rel = M.hit_matrix(rec, relevant)
    expected = [
        [item in rel and item not in row[:j].tolist() for j, item in enumerate(row)]
        for row, rel in zip(rec, relevant, strict=True)
    ]
    assert hits.tolist() == expected
    assert n_rel.tolist() == [len(r) for r in relevant]
    for k in range(1, width + 1):
        for metric in (M.precision_at_k(hits, k), M.recall_at_k(hits, n_rel, k),
                       M.ndcg_at_k(hits, n_rel, k), M.map_at_k(hits, n_rel, k),
                       M.mrr_at_k(hits, k), M.hit_rate_at_k(hits, k)):  # fmt: skip
            assert np.all((metric >= 0) & (metric <= 1 + 1e-12))


def test_negative_ids_never_collide():
    # item -1 of user 1 used to share a key with item (max+1)-1 of user 0
    hits, _ = M.hit_matrix([[5, 6], [-1, 0]], [{6}, {3}])
    assert hits.tolist() == [[False, True], [False, False]]
    hits = M.hits_from_pairs(np.array([[-1, 2], [-7, 9]]), np.array([1, 1]), np.array([-1, -7]))
    assert hits.tolist() == [[False, False], [True, False]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=3, max_size=8), st.sets(st.integers(0, 8), min_size=1),
       st.data())  # fmt: skip
def test_a_duplicate_in_a_list_never_increases_precision(row, relevant, data):
    k = len(row)
    position = data.draw(st.integers(1, k - 1))
    duplicated = row[:position] + [row[position - 1]] + row[position:]  # one id twice
    duplicated = duplicated[:k]
    p_dup = M.precision_at_k(M.hit_matrix([duplicated], [relevant])[0], k)
    p = M.precision_at_k(M.hit_matrix([row], [relevant])[0], k)
    assert p_dup <= p


def test_repeated_items_earn_credit_once():
    hits, n_rel = M.hit_matrix([[1, 1, 1]], [{1, 2, 3}])
    assert hits.tolist() == [[True, False, False]]
    assert M.precision_at_k(hits, 3)[0] == pytest.approx(1 / 3)
    assert M.recall_at_k(hits, n_rel, 3)[0] == pytest.approx(1 / 3)


def test_hit_matrix_refuses_dicts_and_text_ids_clearly():
    with pytest.raises(TypeError, match="relevant must be a sequence"):
        M.hit_matrix([[1, 2]], {0: {1}})
    with pytest.raises(TypeError, match="recommended must hold integer item ids"):
        M.hit_matrix([["a", "b"]], [{"a"}])
    with pytest.raises(TypeError, match=r"relevant\[0\] must hold integer item ids"):
        M.hit_matrix([[1, 2]], [{"1"}])
    with pytest.raises(TypeError, match=r"relevant\[0\] must be a set"):
        M.hit_matrix([[1, 2]], ["12"])
    with pytest.raises(TypeError, match="recommended must hold integer item ids"):
        M.hits_from_pairs(np.array([[1.5]]), np.array([0]), np.array([1]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-50, 50), min_size=1, max_size=4), min_size=1, max_size=6),
       st.integers(1, 200))  # fmt: skip
def test_catalog_coverage_is_a_share_or_an_error(rows, n_catalog):
    width = min(len(r) for r in rows)
    rec = np.array([r[:width] for r in rows])
    if len(np.unique(rec)) > n_catalog:
        with pytest.raises(ValueError, match="distinct items but n_catalog"):
            M.catalog_coverage(rec, n_catalog)
    else:
        assert 0 < M.catalog_coverage(rec, n_catalog) <= 1


def test_novelty_needs_a_positive_user_count():
    args = ([[0, 1]], np.array([0, 1]), np.array([50, 25]))
    for bad in (0, -3):
        with pytest.raises(ValueError, match="n_users must be >= 1"):
            M.novelty(*args, n_users=bad)
    with pytest.raises(TypeError, match="n_users must be an int"):
        M.novelty(*args, n_users=100.0)
    with pytest.raises(ValueError, match="item_counts"):
        M.novelty([[0, 1]], np.array([0, 1]), np.array([np.nan, 1]), n_users=10)
    assert np.isfinite(M.novelty(*args, n_users=1)).all()
