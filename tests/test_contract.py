"""The shared recommender contract, run on every model the package exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.models import ALL_MODELS, NotFittedError, top_k

SMALL = {  # keep expensive models quick on the tiny fixture
    "n_factors": 4,
    "iterations": 3,
    "epochs": 2,
    "embedding_dim": 8,
    "k_neighbors": 5,
}


_ITEMS: dict = {}


@pytest.fixture(autouse=True)
def _catalogue(tiny_items):
    """Models that need the catalogue (content, hybrid, two-tower) get the tiny one."""
    _ITEMS["items"] = tiny_items
    yield
    _ITEMS.clear()


def make(cls, **extra):
    """Instantiate a model with small hyperparameters where it accepts them."""
    import inspect

    params = inspect.signature(cls.__init__).parameters
    kwargs = {k: v for k, v in SMALL.items() if k in params}
    kwargs.update({k: v for k, v in extra.items() if k in params})
    if "items" in params:
        kwargs["items"] = _ITEMS["items"]
    return cls(**kwargs)


@pytest.fixture(params=ALL_MODELS, ids=lambda c: c.__name__)
def model_cls(request):
    return request.param


def test_fit_returns_self(model_cls, tiny_interactions):
    model = make(model_cls)
    assert model.fit(tiny_interactions) is model


def test_shapes_ids_and_order(model_cls, tiny_interactions):
    model = make(model_cls).fit(tiny_interactions)
    users = np.array([1, 2, 7])
    ids, scores = model.recommend(users, k=5)
    assert ids.shape == scores.shape == (3, 5)
    assert ids.dtype.kind == "i" and scores.dtype.kind == "f"
    assert set(np.unique(ids)) <= set(model.items_.ids_)  # catalogue models may add items
    assert set(tiny_interactions[S.ITEM_ID]) <= set(model.items_.ids_)
    assert np.all(np.diff(scores, axis=1) <= 1e-12)  # best first
    for row_ids, row_scores in zip(ids, scores):  # ties go to the smaller item id
        for a in range(4):
            if row_scores[a] == row_scores[a + 1]:
                assert row_ids[a] < row_ids[a + 1]


def test_no_seen_items_when_excluded(model_cls, tiny_interactions):
    model = make(model_cls).fit(tiny_interactions)
    users = tiny_interactions[S.USER_ID].unique()
    ids, _ = model.recommend(users, k=5)
    seen = set(zip(tiny_interactions[S.USER_ID], tiny_interactions[S.ITEM_ID]))
    assert not any((u, i) in seen for u, row in zip(users, ids) for i in row)


def test_seen_items_allowed_when_not_excluded(model_cls, tiny_interactions):
    model = make(model_cls).fit(tiny_interactions)
    ids, _ = model.recommend([1], k=30, exclude_seen=False)
    assert len(set(ids[0])) == 30


def test_deterministic_with_random_state(model_cls, tiny_interactions):
    a = make(model_cls, random_state=3).fit(tiny_interactions).recommend([1, 5, 9], k=5)
    b = make(model_cls, random_state=3).fit(tiny_interactions).recommend([1, 5, 9], k=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1])


def test_unfitted_error(model_cls):
    model = make(model_cls)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.recommend([1], k=3)
    with pytest.raises(NotFittedError):
        model.score([1], [100])


@pytest.mark.parametrize(
    "k, err", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (10_000, ValueError)]
)
def test_bad_k(model_cls, tiny_interactions, k, err):
    model = make(model_cls).fit(tiny_interactions)
    with pytest.raises(err, match="k"):
        model.recommend([1], k=k)


def test_unknown_users_get_fallback(model_cls, tiny_interactions):
    model = make(model_cls).fit(tiny_interactions)
    users = np.array([1, 999_999])
    assert model.known_users(users).tolist() == [True, False]
    ids, scores = model.recommend(users, k=5)
    assert ids.shape == (2, 5) and np.isfinite(scores).all()


def test_score_matches_recommend(model_cls, tiny_interactions):
    model = make(model_cls).fit(tiny_interactions)
    ids, scores = model.recommend([2, 8], k=4)
    users = np.repeat([2, 8], 4)
    np.testing.assert_allclose(
        model.score(users, ids.ravel()), scores.ravel(), rtol=1e-6, atol=1e-9
    )
    assert np.isnan(model.score([2], [123_456])).all()


def test_bad_ids_type(model_cls, tiny_interactions):
    model = make(model_cls).fit(tiny_interactions)
    with pytest.raises(TypeError, match="integer"):
        model.recommend(["alice"], k=3)


def test_fit_rejects_bad_frames(model_cls):
    with pytest.raises(ValueError, match="lacks columns"):
        make(model_cls).fit(pd.DataFrame({"user": [1], "item": [2]}))
    with pytest.raises(TypeError, match="DataFrame"):
        make(model_cls).fit([[1, 2]])


def test_top_k_equals_full_stable_sort():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 30)).astype(float)  # many ties
    for k in (1, 5, 29, 30):
        idx, val = top_k(scores, k)
        ref = np.lexsort((np.broadcast_to(np.arange(30), scores.shape), -scores), axis=1)[:, :k]
        np.testing.assert_array_equal(idx, ref)
        np.testing.assert_array_equal(val, np.take_along_axis(scores, ref, axis=1))


@pytest.mark.parametrize(
    "column, value, message",
    [
        (S.WEIGHT, np.nan, "NaN values"),
        (S.WEIGHT, np.inf, "finite values >= 0"),
        (S.WEIGHT, -1.0, "finite values >= 0"),
        (S.RATING, np.inf, "finite values >= 0"),
        (S.RATING, -2.0, "finite values >= 0"),
        (S.RATING, -np.inf, "finite values >= 0"),
    ],
)
def test_fit_rejects_non_finite_or_negative_weights_and_ratings(
    model_cls, tiny_interactions, column, value, message
):
    """A bad weight or rating never reaches the maths (it used to give wrong lists later)."""
    df = tiny_interactions.copy()
    df[S.WEIGHT] = 1.0
    df.loc[df.index[3], column] = value
    with pytest.raises(ValueError, match=message):
        make(model_cls).fit(df)


def test_fit_rejects_text_weights_and_float_ids(model_cls, tiny_interactions):
    df = tiny_interactions.assign(**{S.WEIGHT: "1"})
    with pytest.raises(TypeError, match="'weight' must be numeric"):
        make(model_cls).fit(df)
    df = tiny_interactions.astype({S.USER_ID: float})
    df.loc[df.index[0], S.USER_ID] = np.nan
    with pytest.raises(TypeError, match="missing ids"):
        make(model_cls).fit(df)
