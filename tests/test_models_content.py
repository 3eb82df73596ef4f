"""ContentBased and Hybrid: maths against direct computations, and the switching rule."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.data import schema as S
from course_utils.features.content import item_content_matrix
from course_utils.models import ContentBased, Hybrid, Popularity
from course_utils.models.hybrid import minmax_rows


def _history_profile(F, ids, hist):
    profile = F[np.searchsorted(ids, hist)].sum(axis=0)
    return F @ (profile / np.linalg.norm(profile))


def test_content_scores_are_cosine_to_profile(tiny_interactions, tiny_items):
    """Joint vector: one cosine; per family: the average of the per-family cosines."""
    user = 3
    hist = tiny_interactions.loc[tiny_interactions[S.USER_ID] == user, S.ITEM_ID]
    F, _, ids = item_content_matrix(tiny_items, min_df=1)
    joint = ContentBased(items=tiny_items, min_df=1, rating_weight=False, per_family=False)
    got = joint.fit(tiny_interactions).score(np.full(len(ids), user), ids)
    np.testing.assert_allclose(got, _history_profile(F.toarray(), ids, hist), atol=1e-12)
    per_family = []
    for family in ("genres", "tags", "decade"):
        Ff, _, ids_f = item_content_matrix(tiny_items, use=(family,), min_df=1)
        per_family.append(_history_profile(Ff.toarray(), ids_f, hist))
    model = ContentBased(items=tiny_items, min_df=1, rating_weight=False).fit(tiny_interactions)
    got = model.score(np.full(len(ids), user), ids)
    np.testing.assert_allclose(got, np.mean(per_family, axis=0), atol=1e-12)
    # an ad-hoc history scores like a fitted one with the same history
    np.testing.assert_allclose(model.profile_scores(hist.to_numpy()), got, atol=1e-12)
    assert list(model.family_slices_) == ["genres", "tags", "decade"]


def test_content_skips_families_without_tokens(tiny_interactions, tiny_items):
    no_tags = tiny_items.assign(tags=[[] for _ in range(len(tiny_items))])
    model = ContentBased(items=no_tags, min_df=1).fit(tiny_interactions)
    assert list(model.family_slices_) == ["genres", "decade"]
    F, _, ids = item_content_matrix(no_tags, use=("tags",), min_df=1)
    assert F.shape == (len(ids), 0)
    with pytest.raises(ValueError, match="no content token"):
        ContentBased(items=no_tags, use=("tags",), min_df=1).fit(tiny_interactions)


def test_content_ranks_cold_items(tiny_interactions, tiny_items):
    model = ContentBased(items=tiny_items, min_df=1).fit(tiny_interactions)
    cold = np.arange(130, 135)  # in the catalogue, never interacted with
    assert np.isfinite(model.score(np.full(5, 1), cold)).all()
    ids, _ = model.recommend([1], k=25)
    assert set(ids[0]) & set(cold)


def test_similar_items_share_genres(tiny_interactions, tiny_items):
    model = ContentBased(items=tiny_items, min_df=1).fit(tiny_interactions)
    ids, sims = model.similar_items([100, 120], k=3)
    assert ids.shape == (2, 3) and 100 not in ids[0] and 120 not in ids[1]
    assert all(i < 115 or i == 134 for i in ids[0]) and all(115 <= i < 134 for i in ids[1])
    assert np.all(np.diff(sims, axis=1) <= 0)


def test_content_needs_items(tiny_interactions):
    with pytest.raises(TypeError, match="items=<catalogue DataFrame>"):
        ContentBased().fit(tiny_interactions)


def test_minmax_rows_handles_inf_and_constant():
    out = minmax_rows(np.array([[-np.inf, 2.0, 4.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(out, [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])


def test_hybrid_blend_and_switch(tiny_interactions, tiny_items):
    kw = {"items": tiny_items, "collaborative": Popularity(), "content_kwargs": {"min_df": 1}}
    pure_content = Hybrid(weight=0.0, **kw).fit(tiny_interactions)
    content = ContentBased(items=tiny_items, min_df=1).fit(tiny_interactions)
    users = np.array([1, 2])
    np.testing.assert_allclose(
        pure_content.score_matrix(users), minmax_rows(content.score_matrix(users))
    )
    blend = Hybrid(weight=0.5, min_history=0, **kw).fit(tiny_interactions)
    pop_part = np.zeros((2, blend.n_items_))
    pop_cols = blend.items_.index(blend.collaborative_.items_.ids_)
    pop_part[:, pop_cols] = minmax_rows(blend.collaborative_.score_matrix(users))
    expected = 0.5 * pop_part + 0.5 * minmax_rows(content.score_matrix(users))
    np.testing.assert_allclose(blend.score_matrix(users), expected)
    switched = Hybrid(weight=0.5, min_history=100, **kw).fit(tiny_interactions)
    np.testing.assert_allclose(
        switched.score_matrix(users), minmax_rows(content.score_matrix(users))
    )


def test_hybrid_does_not_mutate_its_argument(tiny_interactions, tiny_items):
    cf = Popularity()
    Hybrid(items=tiny_items, collaborative=cf, content_kwargs={"min_df": 1}).fit(tiny_interactions)
    assert not hasattr(cf, "items_")
    with pytest.raises(ValueError, match="weight must be in"):
        Hybrid(items=tiny_items, collaborative=cf, weight=1.5).fit(tiny_interactions)


def test_hybrid_with_knobs_equals_a_refit(tiny_interactions, tiny_items):
    kw = {"items": tiny_items, "collaborative": Popularity(), "content_kwargs": {"min_df": 1}}
    fitted = Hybrid(weight=1.0, **kw).fit(tiny_interactions)
    users = np.array([1, 2, 3])
    for weight, min_history in [(0.3, 0), (0.7, 100), (1.0, 0)]:
        copy = fitted.with_knobs(weight=weight, min_history=min_history)
        refit = Hybrid(weight=weight, min_history=min_history, **kw).fit(tiny_interactions)
        np.testing.assert_allclose(copy.score_matrix(users), refit.score_matrix(users))
    assert fitted.weight == 1.0 and fitted.min_history == 0  # the original is unchanged
    with pytest.raises(ValueError, match="weight must be in"):
        fitted.with_knobs(weight=-0.1)
    with pytest.raises(ValueError, match="min_history must be >= 0"):
        fitted.with_knobs(min_history=-1)


def test_hybrid_weight_one_ranks_like_its_collaborative_part(tiny_interactions, tiny_items):
    kw = {"items": tiny_items, "content_kwargs": {"min_df": 1}}
    hybrid = Hybrid(collaborative=Popularity(), weight=1.0, **kw).fit(tiny_interactions)
    users = np.array([1, 2])
    expected = np.zeros((2, hybrid.n_items_))
    cols = hybrid.items_.index(hybrid.collaborative_.items_.ids_)
    expected[:, cols] = minmax_rows(hybrid.collaborative_.score_matrix(users))
    np.testing.assert_allclose(hybrid.score_matrix(users), expected)
