"""Collaborative retrieval models against trusted references.

EASE against the dense closed form and its optimality conditions, PureSVD against numpy's
dense SVD, ItemKNN against scikit-learn's cosine similarity, ALS against per-user dense
solves and a brute-force objective; then every model must beat popularity on data with
structure (synthetic always; a MovieLens subsample when COURSE_DATA_DIR is set).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine
from threadpoolctl import threadpool_limits

from course_utils.data.splits import per_user_temporal_split
from course_utils.evaluation.harness import evaluate
from course_utils.evaluation.tuning import RETRIEVAL_GRIDS, tune
from course_utils.exercises import step04
from course_utils.models import Popularity
from course_utils.models.als import ALS, hkv_loss, solve_user, solve_users
from course_utils.models.ease import EASE, ease_weights
from course_utils.models.knn import ItemKNN, cosine_similarity
from course_utils.models.svd import PureSVD, item_factors
from tests.conftest import requires_movielens


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Multi-threaded BLAS on an oversubscribed CI machine can be 10x slower: use one."""
    with threadpool_limits(1):
        yield


def _random_binary(n_users=30, n_items=12, density=0.3, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = (rng.random((n_users, n_items)) < density).astype(np.float64)
    X[np.arange(n_users), np.arange(n_users) % n_items] = 1.0  # no empty user or item
    return X


def _frame(X: np.ndarray, rating: np.ndarray | None = None) -> pd.DataFrame:
    """Interactions of a dense matrix: user i, item j for every non-zero; ids 100 + index."""
    users, items = np.nonzero(X)
    df = pd.DataFrame({"user_id": users + 100, "item_id": items + 100})
    if rating is not None:
        df["rating"] = rating[users, items]
    return df


# --------------------------------------------------------------------------- EASE
def test_ease_weights_match_dense_closed_form():
    X = _random_binary()
    G, reg = X.T @ X, 5.0
    P = np.linalg.inv(G + reg * np.eye(len(G)))
    expected = np.eye(len(G)) - P @ np.diag(1.0 / np.diag(P))
    expected[np.diag_indices_from(expected)] = 0.0
    np.testing.assert_allclose(ease_weights(G, reg), expected, rtol=1e-10, atol=1e-12)


def test_ease_weights_satisfy_the_optimality_conditions():
    # KKT of min ||X - XB||^2 + reg ||B||^2 s.t. diag(B) = 0: (G + reg I) B - G is diagonal
    X = _random_binary(seed=1)
    G, reg = X.T @ X, 3.0
    B = ease_weights(G, reg)
    gradient = (G + reg * np.eye(len(G))) @ B - G
    off_diagonal = gradient - np.diag(np.diag(gradient))
    assert np.allclose(np.diag(B), 0.0)
    assert np.abs(off_diagonal).max() < 1e-9


def test_ease_weights_reject_bad_input():
    with pytest.raises(ValueError, match="reg must be"):
        ease_weights(np.eye(3), 0.0)
    with pytest.raises(ValueError, match="square"):
        ease_weights(np.ones((2, 3)), 1.0)


def test_ease_model_scores_are_x_times_b_on_ratings_or_binary():
    X = _random_binary(seed=2)
    ratings = np.round(np.random.default_rng(2).uniform(0.5, 5.0, X.shape) * 2) / 2
    df = _frame(X, ratings)
    users = np.arange(X.shape[0]) + 100
    R = X * ratings
    rated = EASE(regularization=10.0, min_item_count=1).fit(df)
    tol = {"rtol": 1e-4, "atol": 1e-5}  # the model inverts in float32
    np.testing.assert_allclose(rated.score_matrix(users), R @ ease_weights(R.T @ R, 10.0), **tol)
    binary = EASE(regularization=10.0, use_ratings=False, min_item_count=1).fit(df)
    np.testing.assert_allclose(binary.score_matrix(users), X @ ease_weights(X.T @ X, 10.0), **tol)


def test_ease_min_item_count_drops_rare_items_from_the_regression():
    X = _random_binary(seed=4)
    X[:, :3] = 0.0
    X[:2, 0] = X[0, 1] = X[:5, 2] = 1.0  # items 0 and 1 are rare, item 2 is not
    df = _frame(X, np.ones_like(X))
    model = EASE(regularization=5.0, use_ratings=False, min_item_count=3).fit(df)
    counts = X.sum(axis=0)
    keep = np.flatnonzero(counts >= 3)
    assert 0 < keep.size < X.shape[1]
    dropped = np.setdiff1d(np.arange(X.shape[1]), keep)
    assert not model.weights_[dropped].any() and not model.weights_[:, dropped].any()
    expected = ease_weights(X[:, keep].T @ X[:, keep], 5.0)
    np.testing.assert_allclose(model.weights_[np.ix_(keep, keep)], expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="min_item_count must be >= 1; got 0"):
        EASE(min_item_count=0).fit(df)


# --------------------------------------------------------------------------- PureSVD
def test_puresvd_matches_numpy_dense_svd():
    X = _random_binary(40, 25, seed=3)
    k = 5
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    V, s_k = item_factors(sp.csr_matrix(X), k)
    np.testing.assert_allclose(s_k, s[:k], rtol=1e-8)
    np.testing.assert_allclose(V @ V.T, Vt[:k].T @ Vt[:k], atol=1e-8)  # same subspace
    model = PureSVD(n_factors=k, use_ratings=False).fit(_frame(X))
    expected = X @ Vt[:k].T @ Vt[:k]  # U_k S_k V_k^T
    np.testing.assert_allclose(model.score_matrix(np.arange(40) + 100), expected, atol=1e-8)


def test_puresvd_is_deterministic_and_handles_tiny_matrices():
    X = _random_binary(40, 25, seed=4)
    a = PureSVD(n_factors=6).fit(_frame(X)).item_factors_
    b = PureSVD(n_factors=6).fit(_frame(X)).item_factors_
    np.testing.assert_array_equal(a, b)
    tiny = _frame(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))  # rank <= 2 < n_factors
    model = PureSVD(n_factors=16).fit(tiny)
    assert model.item_factors_.shape == (3, 2)
    with pytest.raises(ValueError, match="n_factors must be >= 1"):
        PureSVD(n_factors=0).fit(tiny)


# --------------------------------------------------------------------------- ItemKNN
def test_cosine_similarity_matches_sklearn_and_shrinks():
    X = _random_binary(50, 15, seed=5)
    expected = sk_cosine(X.T)
    np.testing.assert_allclose(cosine_similarity(X), expected, atol=1e-12)
    np.testing.assert_allclose(cosine_similarity(sp.csr_matrix(X)), expected, atol=1e-12)
    norms = np.linalg.norm(X, axis=0)
    shrunk = (X.T @ X) / (np.outer(norms, norms) + 7.0)
    np.testing.assert_allclose(cosine_similarity(X, shrinkage=7.0), shrunk, atol=1e-12)


def test_cosine_similarity_of_an_empty_item_is_zero():
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(cosine_similarity(X), [[1.0, 0.0], [0.0, 0.0]], atol=1e-12)
    with pytest.raises(ValueError, match="shrinkage"):
        cosine_similarity(X, shrinkage=-1.0)


def test_itemknn_keeps_the_k_most_similar_items_and_sums_them():
    X = _random_binary(60, 20, density=0.4, seed=6)
    k, shrink = 4, 2.0
    model = ItemKNN(k_neighbors=k, shrinkage=shrink, use_ratings=False).fit(_frame(X))
    full = cosine_similarity(X, shrinkage=shrink)
    np.fill_diagonal(full, 0.0)
    S = model.similarity_.toarray()
    assert (np.count_nonzero(S, axis=1) <= k).all() and np.allclose(np.diag(S), 0.0)
    # the kept values are each row's k largest (compared as sorted values: robust to ties)
    np.testing.assert_allclose(np.sort(S, axis=1)[:, -k:], np.sort(full, axis=1)[:, -k:])
    kept = S != 0
    np.testing.assert_allclose(S[kept], full[kept])
    np.testing.assert_allclose(model.score_matrix(np.arange(60) + 100), X @ S, atol=1e-12)


# --------------------------------------------------------------------------- ALS
def _als_problem(n_users=7, n_items=9, f=3, seed=0):
    rng = np.random.default_rng(seed)
    R = (rng.random((n_users, n_items)) < 0.4) * rng.integers(1, 6, (n_users, n_items))
    C = sp.csr_matrix(np.where(R > 0, 1.0 + 2.0 * R, 0.0))
    return C, rng.normal(size=(n_items, f)), rng.normal(size=(n_users, f))


def test_batched_user_solves_equal_direct_dense_solves():
    C, Y, _ = _als_problem()
    reg = 0.3
    Cd = C.toarray()
    direct = np.array(
        [solve_user(Y, Y.T @ Y, np.where(c > 0, c, 1.0), (c > 0).astype(float), reg) for c in Cd]
    )
    np.testing.assert_allclose(solve_users(C, Y, reg), direct, rtol=1e-10, atol=1e-12)
    # conjugate gradients reach the exact solution in f steps
    np.testing.assert_allclose(solve_users(C, Y, reg, cg_steps=Y.shape[1]), direct, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), reg=st.floats(0.01, 10.0), f=st.integers(1, 4))
def test_user_solve_minimises_the_user_objective(seed, reg, f):
    C, Y, _ = _als_problem(n_users=1, f=f, seed=seed)
    c = C.toarray()[0]
    conf, pref = np.where(c > 0, c, 1.0), (c > 0).astype(float)
    x = solve_users(C, Y, reg)[0]

    def objective(x):
        return np.sum(conf * (pref - Y @ x) ** 2) + reg * x @ x

    rng = np.random.default_rng(seed)
    for _ in range(5):  # any perturbation is worse
        assert objective(x) <= objective(x + 1e-3 * rng.normal(size=f)) + 1e-12


def test_hkv_loss_equals_brute_force():
    C, Y, X = _als_problem(seed=1)
    reg = 0.7
    Cd = C.toarray()
    conf, pref = np.where(Cd > 0, Cd, 1.0), (Cd > 0).astype(float)
    brute = np.sum(conf * (pref - X @ Y.T) ** 2) + reg * (np.sum(X**2) + np.sum(Y**2))
    assert hkv_loss(C, X, Y, reg) == pytest.approx(brute, rel=1e-12)


@pytest.mark.parametrize("cg_steps", [None, 3])
def test_als_loss_decreases_every_iteration(cg_steps):
    df = _structured(seed=7)
    model = ALS(n_factors=8, regularization=1.0, iterations=8, cg_steps=cg_steps).fit(df)
    assert len(model.loss_history_) == 8
    assert np.all(np.diff(model.loss_history_) < 0)


def test_als_is_deterministic_for_a_seed():
    df = _structured(seed=8)
    a = ALS(n_factors=8, iterations=3, random_state=1).fit(df)
    b = ALS(n_factors=8, iterations=3, random_state=1).fit(df)
    c = ALS(n_factors=8, iterations=3, random_state=2).fit(df)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_factors": 0}, "n_factors"),
        ({"iterations": 1.5}, "iterations"),
        ({"cg_steps": 0}, "cg_steps"),
        ({"regularization": 0.0}, "regularization"),
        ({"alpha": -1.0}, "alpha"),
        ({"dtype": "int8"}, "dtype"),
    ],
)
def test_als_rejects_bad_hyperparameters(params, message):
    with pytest.raises(ValueError, match=message):
        ALS(**params).fit(_structured(seed=9))


# --------------------------------------------------------------------------- beats popularity
def _structured(n_users=240, n_groups=4, items_per_group=40, per_user=18, seed=0):
    """Users in taste groups: most interactions inside the group's block of items, a few
    on globally popular items; timestamps random. Popularity cannot tell the groups apart."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n_users)
    n_items = n_groups * items_per_group
    within = 1.0 / np.arange(1, items_per_group + 1) ** 0.8  # power-law popularity in a block
    within /= within.sum()
    block = rng.choice(items_per_group, size=(n_users, per_user), p=within)
    items = group[:, None] * items_per_group + block
    noise = rng.integers(0, n_items, size=(n_users, 3))
    items = np.concatenate([items, noise], axis=1)
    users = np.repeat(np.arange(n_users), items.shape[1])
    df = pd.DataFrame({"user_id": users, "item_id": items.ravel()}).drop_duplicates()
    df["timestamp"] = pd.to_datetime(rng.integers(0, 10**6, len(df)), unit="s", utc=True)
    return df.reset_index(drop=True)


_SMALL_PARAMS = {
    PureSVD: {"n_factors": 8},
    ALS: {"n_factors": 8, "regularization": 1.0},
    EASE: {"regularization": 10.0},
    ItemKNN: {"k_neighbors": 20, "shrinkage": 1.0},
}


@pytest.mark.parametrize("model_cls", list(_SMALL_PARAMS), ids=lambda c: c.__name__)
def test_models_beat_popularity_on_structured_synthetic_data(model_cls):
    split = per_user_temporal_split(_structured(), 0.8, relevance_threshold=None)
    popularity = evaluate(Popularity().fit(split.train), split, ks=10)["ndcg"].iloc[0]
    model = model_cls(**_SMALL_PARAMS[model_cls]).fit(split.train)
    ndcg = evaluate(model, split, ks=10)["ndcg"].iloc[0]
    assert ndcg > 2 * popularity, f"{model_cls.__name__}: {ndcg:.4f} vs {popularity:.4f}"


@pytest.fixture(scope="module")
def movielens_subsample():
    from course_utils.data.movielens import load_movielens

    ratings = load_movielens().interactions
    top_items = ratings["item_id"].value_counts().index[:1500]  # keeps EASE's inverse small
    ratings = ratings[ratings["item_id"].isin(top_items)]
    return per_user_temporal_split(ratings, 0.8, relevance_threshold=4.0)


@requires_movielens
@pytest.mark.parametrize("model_cls", [PureSVD, ALS, EASE, ItemKNN], ids=lambda c: c.__name__)
def test_default_models_beat_popularity_on_a_movielens_subsample(model_cls, movielens_subsample):
    split = movielens_subsample
    popularity = evaluate(Popularity().fit(split.train), split, ks=10)["ndcg"].iloc[0]
    ndcg = evaluate(model_cls().fit(split.train), split, ks=10)["ndcg"].iloc[0]
    assert ndcg > popularity, f"{model_cls.__name__}: {ndcg:.4f} vs popularity {popularity:.4f}"


# --------------------------------------------------------------------------- step 04 checks
def test_step04_checks_accept_the_references(capsys):
    assert step04.check_als_user_update(solve_user)
    assert step04.check_ease_closed_form(ease_weights)
    assert step04.check_cosine_item_similarity(cosine_similarity)
    assert capsys.readouterr().out.count("✅") == 3


def test_step04_checks_catch_common_mistakes(capsys):
    def als_without_reg(Y, YtY, c_u, p_u, reg):  # forgets reg I
        return np.linalg.solve(YtY + (Y.T * (c_u - 1)) @ Y, Y.T @ (c_u * p_u))

    def ease_rows_scaled(G, reg):  # divides rows, not columns, by diag(P)
        P = np.linalg.inv(G + reg * np.eye(len(G)))
        B = np.eye(len(G)) - P / np.diag(P)[:, None]
        np.fill_diagonal(B, 0.0)
        return B

    def cosine_nan_for_empty_items(X, shrinkage):
        norms = np.linalg.norm(X, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return X.T @ X / (np.outer(norms, norms) + shrinkage)

    with pytest.raises(AssertionError, match="als_user_update"):
        step04.check_als_user_update(als_without_reg)
    with pytest.raises(AssertionError, match="ease_closed_form"):
        step04.check_ease_closed_form(ease_rows_scaled)
    with pytest.raises(AssertionError, match="cosine_item_similarity"):
        step04.check_cosine_item_similarity(cosine_nan_for_empty_items)


def test_step04_untouched_exercise_is_not_attempted(capsys):
    def ease_weights_todo(G, reg):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert not step04.check_ease_closed_form(ease_weights_todo)
    assert capsys.readouterr().out.startswith("⏳ ease_closed_form: not attempted yet")


# --------------------------------------------------------------------------- tuning
def test_tune_scores_every_setting_and_returns_the_best():
    split = per_user_temporal_split(_structured(seed=3), 0.8, relevance_threshold=None)
    grid = {"k_neighbors": [1, 20], "shrinkage": [0.0, 5.0]}
    table, best = tune(ItemKNN, grid, split)
    assert len(table) == 4
    assert list(table.columns) == ["k_neighbors", "shrinkage", "ndcg@10", "fit_seconds"]
    for row in table.to_dict("records"):  # each row is what evaluate gives for that setting
        model = ItemKNN(k_neighbors=int(row["k_neighbors"]), shrinkage=row["shrinkage"])
        expected = evaluate(model.fit(split.train), split, ks=10)["ndcg"].iloc[0]
        assert row["ndcg@10"] == pytest.approx(expected)
    top = table.loc[table["ndcg@10"].idxmax()]
    assert best == {"k_neighbors": int(top["k_neighbors"]), "shrinkage": top["shrinkage"]}


def test_tune_rejects_bad_arguments():
    split = per_user_temporal_split(_structured(seed=3), 0.8, relevance_threshold=None)
    with pytest.raises(ValueError, match="metric"):
        tune(ItemKNN, {"k_neighbors": [5]}, split, metric="auc")
    with pytest.raises(ValueError, match="both fixed and in the grid"):
        tune(ItemKNN, {"k_neighbors": [5]}, split, fixed={"k_neighbors": 3})
    with pytest.raises(TypeError, match="Split"):
        tune(ItemKNN, {"k_neighbors": [5]}, split.train)


def test_retrieval_grids_name_real_hyperparameters():
    import inspect

    from course_utils import models

    for name, grid in RETRIEVAL_GRIDS.items():
        params = inspect.signature(getattr(models, name).__init__).parameters
        assert set(grid) <= set(params), name
        defaults = {p: params[p].default for p in grid}
        assert all(defaults[p] in values for p, values in grid.items()), (name, defaults)


@pytest.mark.parametrize("cls", [PureSVD, ALS, EASE, ItemKNN])
def test_partially_rated_data_falls_back_to_binary(cls, tiny_interactions):
    """Synthetic streaming data rates ~30 % of events: use_ratings must not produce NaN."""
    df = tiny_interactions.copy()
    df.loc[df.index[::3], "rating"] = np.nan
    kwargs = {"n_factors": 4} if cls in (PureSVD, ALS) else {}
    model = cls(**kwargs).fit(df)
    _, scores = model.recommend(df["user_id"].unique(), k=5)
    assert np.isfinite(scores).all()


def test_tune_with_prefer_keeps_the_simple_setting_without_evidence():
    split = per_user_temporal_split(_structured(seed=3), 0.8, relevance_threshold=None)
    grid = {"k_neighbors": [1, 20], "shrinkage": [0.0]}
    table, best = tune(ItemKNN, grid, split, prefer={"k_neighbors": 20, "shrinkage": 0.0})
    assert list(table.columns) == [
        "k_neighbors", "shrinkage", "ndcg@10", "fit_seconds",
        "diff", "ci_low", "ci_high", "beats_preferred",
    ]  # fmt: skip
    preferred = table.loc[table["k_neighbors"] == 20].iloc[0]
    assert preferred["diff"] == 0.0 and not preferred["beats_preferred"]
    other = table.loc[table["k_neighbors"] == 1].iloc[0]
    assert other["diff"] == pytest.approx(other["ndcg@10"] - preferred["ndcg@10"])
    expected = {"k_neighbors": 1 if other["ci_low"] > 0 else 20, "shrinkage": 0.0}
    assert best == expected
    with pytest.raises(ValueError, match="prefer must be one of the grid settings"):
        tune(ItemKNN, grid, split, prefer={"k_neighbors": 5, "shrinkage": 0.0})
