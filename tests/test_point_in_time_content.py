"""Point-in-time item content: a tag applied after the cutoff changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.features.content import (
    catalogue_as_of,
    item_content_blocks,
    item_content_matrix,
    tags_as_of,
    user_cutoffs,
)
from course_utils.models import ContentBased, Hybrid, TwoTower


def _events(tiny_interactions, tiny_items) -> pd.DataFrame:
    """Each user tags two of their training items one hour after rating them."""
    first = tiny_interactions.groupby(S.USER_ID).head(2)
    words = np.array(["funny", "dark", "pixar", "slow"])
    return pd.DataFrame(
        {
            S.USER_ID: first[S.USER_ID].to_numpy(),
            S.ITEM_ID: first[S.ITEM_ID].to_numpy(),
            "tag": words[first[S.ITEM_ID].to_numpy() % 4],
            S.TIMESTAMP: first[S.TIMESTAMP].to_numpy() + pd.Timedelta(hours=1),
        }
    )


def _late(events, tiny_interactions, item_id: int, tag: str = "spoiler") -> pd.DataFrame:
    """The events plus ``tag`` on ``item_id`` by user 1, a day after their last interaction."""
    late = pd.DataFrame(
        {
            S.USER_ID: [1, 2],
            S.ITEM_ID: [item_id, item_id],
            "tag": [tag, tag],
            S.TIMESTAMP: user_cutoffs(tiny_interactions).loc[[1, 2]].to_numpy()
            + pd.Timedelta(days=1),
        }
    )
    return pd.concat([events, late], ignore_index=True)


def test_tags_as_of_global_and_per_user_cutoffs():
    ev = pd.DataFrame(
        {
            S.USER_ID: [1, 1, 2, 3],
            S.ITEM_ID: [10, 10, 20, 20],
            "tag": ["a", "b", "c", "d"],
            S.TIMESTAMP: pd.to_datetime(
                ["2001-01-01", "2004-01-01", "2002-01-01", "2000-01-01"], utc=True
            ),
        }
    )
    assert tags_as_of(ev, "2003-01-01").to_dict() == {10: ["a"], 20: ["c", "d"]}
    assert tags_as_of(ev, "2004-01-01").to_dict() == {10: ["a", "b"], 20: ["c", "d"]}
    per_user = pd.Series(pd.to_datetime(["2005-01-01", "2001-01-01"], utc=True), index=[1, 2])
    # user 2 tagged after their cutoff; user 3 has no cutoff: both dropped
    assert tags_as_of(ev, per_user).to_dict() == {10: ["a", "b"]}


def test_catalogue_as_of_restricts_titles_and_strips_new_titles(tiny_interactions, tiny_items):
    ev = _events(tiny_interactions, tiny_items)
    cat = catalogue_as_of(tiny_items, ev, interactions=tiny_interactions)
    assert set(cat[S.ITEM_ID]) == set(tiny_interactions[S.ITEM_ID])
    kept = catalogue_as_of(tiny_items, ev, interactions=tiny_interactions, keep_items=[130, 131])
    assert {130, 131} <= set(kept[S.ITEM_ID])
    tagged = int(ev[S.ITEM_ID].iloc[0])
    stripped = catalogue_as_of(tiny_items, ev, "2100-01-01", untagged_items=[tagged])
    assert stripped.set_index(S.ITEM_ID).at[tagged, S.TAGS] == []
    assert len(stripped) == len(tiny_items)


@pytest.mark.parametrize("bad", [None, 3])
def test_catalogue_as_of_rejects_bad_cutoffs(tiny_interactions, tiny_items, bad):
    ev = _events(tiny_interactions, tiny_items)
    with pytest.raises((TypeError, ValueError)):
        if bad is None:
            catalogue_as_of(tiny_items, ev)
        else:
            tags_as_of(ev.drop(columns=[S.TIMESTAMP]), "2000-01-01")


def test_tag_after_cutoff_changes_no_content_matrix(tiny_interactions, tiny_items):
    ev = _events(tiny_interactions, tiny_items)
    cutoff = user_cutoffs(tiny_interactions)
    with_late = _late(ev, tiny_interactions, 129)
    for build in (item_content_matrix, item_content_blocks):
        a = build(tiny_items, min_df=1, tag_events=ev, cutoff=cutoff)
        b = build(tiny_items, min_df=1, tag_events=with_late, cutoff=cutoff)
        assert (a[0] != b[0]).nnz == 0 and list(a[1]) == list(b[1])
    # the same late tag does change content built from every tag
    c = build(tiny_items, min_df=1, tag_events=with_late, cutoff="2100-01-01")
    assert "tag=spoiler" in set(c[1])


@pytest.mark.parametrize(
    "make",
    [
        lambda items, ev: ContentBased(items=items, min_df=1, tag_events=ev),
        lambda items, ev: Hybrid(
            items=items, weight=0.5, content_kwargs={"min_df": 1}, tag_events=ev
        ),
        lambda items, ev: TwoTower(items=items, min_df=1, embedding_dim=8, epochs=2, tag_events=ev),
    ],
    ids=["ContentBased", "Hybrid", "TwoTower"],
)
def test_tag_after_cutoff_changes_no_model(tiny_interactions, tiny_items, make):
    ev = _events(tiny_interactions, tiny_items)
    users = np.arange(1, 13)
    base = make(tiny_items, ev).fit(tiny_interactions).score_matrix(users)
    late = make(tiny_items, _late(ev, tiny_interactions, 105)).fit(tiny_interactions)
    np.testing.assert_array_equal(late.score_matrix(users), base)
    # the model's tags come from the events, not from the catalogue's (all-time) tags column
    leaky = tiny_items.assign(tags=[["spoiler"]] * len(tiny_items))
    np.testing.assert_array_equal(make(leaky, ev).fit(tiny_interactions).score_matrix(users), base)
