"""TwoStage's pipeline seed, the two-tower source and bagged rankers (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from course_utils.data import schema as S
from course_utils.data.splits import per_user_temporal_split
from course_utils.data.synthetic import make_synthetic
from course_utils.models import EASE, Popularity
from course_utils.models.two_stage import (
    TwoStage,
    default_retrievers,
    fit_bagged_ranker,
    fit_ranker,
    predict_ranker,
)
from course_utils.serving import TreeEnsemble, export_pipeline

FAST = {"max_iter": 20, "early_stopping": False}


@pytest.fixture(scope="module")
def synth():
    ds = make_synthetic(n_users=120, n_items=150, n_interactions=4000, random_state=1)
    inter = ds.interactions[[S.USER_ID, S.ITEM_ID, S.TIMESTAMP, S.COMPLETED]].copy()
    inter[S.RATING] = np.where(inter.pop(S.COMPLETED), 5.0, 2.0)
    return inter.reset_index(drop=True), ds.items


def _xy(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a_rank": rng.integers(1, 50, n).astype(float), "b": rng.normal(size=n)})
    y = ((X["a_rank"] < 10) ^ (rng.random(n) < 0.1)).astype(int).to_numpy()
    return X, y


def test_default_retrievers_take_the_pipeline_seed():
    assert default_retrievers(3)["als"].random_state == 3
    assert "twotower" not in default_retrievers(3)
    defaults = TwoStage()
    assert defaults.two_tower and defaults.n_rankers == 5
    items = pd.DataFrame({S.ITEM_ID: [1], S.GENRES: [["Drama"]]})
    tt = default_retrievers(4, items=items, two_tower=True)["twotower"]
    assert tt.random_state == 4 and tt.items is items


def test_bag_of_one_is_the_ranker_and_bag_averages_log_odds():
    X, y = _xy()
    one = fit_bagged_ranker(X, y, n_rankers=1, params=FAST, random_state=2)
    ref = fit_ranker(X, y, params=FAST, random_state=2)
    np.testing.assert_array_equal(predict_ranker(one, X), predict_ranker(ref, X))
    bag = fit_bagged_ranker(X, y, n_rankers=3, params=FAST, negative_share=0.5, random_state=2)
    members = [
        fit_ranker(X, y, params=FAST, negative_share=0.5, random_state=seed)
        for seed in (2, 2001, 2002)
    ]
    raw = np.mean([m.decision_function(X) for m in members], axis=0)
    np.testing.assert_allclose(bag.decision_function(X), raw, atol=1e-12)
    np.testing.assert_allclose(predict_ranker(bag, X), 1 / (1 + np.exp(-raw)), atol=1e-12)
    assert bag.n_iter_ == sum(m.n_iter_ for m in members)
    with pytest.raises(ValueError, match="n_rankers"):
        fit_bagged_ranker(X, y, n_rankers=0)


def test_bagged_ranker_serves_as_one_tree_ensemble():
    X, y = _xy(1)
    bag = fit_bagged_ranker(X, y, n_rankers=3, params=FAST, negative_share=0.5)
    trees = TreeEnsemble.from_sklearn(bag)
    np.testing.assert_allclose(
        trees.decision_function(X.to_numpy()), bag.decision_function(X), atol=1e-9
    )
    assert trees.n_trees == bag.n_iter_


def test_two_stage_bagging_and_two_tower_source(synth):
    inter, items = synth
    split = per_user_temporal_split(inter, 0.8)
    model = TwoStage(
        items=items, n_candidates=20, ranker_params=FAST, n_rankers=2, two_tower=True,
        random_state=5,
    ).fit(split.train)  # fmt: skip
    assert set(model.retrievers_) == {"ease", "als", "pop", "twotower"}
    assert model.retrievers_["als"].random_state == 5
    assert model.retrievers_["twotower"].random_state == 5
    assert isinstance(model.ranker_, HistGradientBoostingClassifier)
    assert model.ranker_.n_iter_ > FAST["max_iter"]  # two rankers' trees
    users = split.eval_users[:8]
    bagged = TwoStage(
        items=items, retrievers={"ease": EASE(regularization=20.0), "pop": Popularity()},
        n_candidates=20, ranker_params=FAST, n_rankers=2,
    ).fit(split.train)  # fmt: skip
    assert export_pipeline(bagged, items).config["ranking"] == "ranker"
    ids_a, _ = model.recommend(users, k=5)
    again = TwoStage(
        items=items, n_candidates=20, ranker_params=FAST, n_rankers=2, two_tower=True,
        random_state=5,
    ).fit(split.train)  # fmt: skip
    np.testing.assert_array_equal(again.recommend(users, k=5)[0], ids_a)
    with pytest.raises(ValueError, match="n_rankers"):
        TwoStage(items=items, n_rankers=0, retrievers={"pop": Popularity()}).fit(split.train)
