"""Tests for course_utils.data.impressions.simulate_impressions."""

import numpy as np
import pytest

from course_utils.data import make_synthetic
from course_utils.data import schema as S
from course_utils.data.impressions import PLAYED, POSITION, simulate_impressions


@pytest.fixture(scope="module")
def ds():
    return make_synthetic(n_users=100, n_items=300, n_interactions=2000, random_state=3)


def test_one_row_per_play_with_the_played_title(ds):
    imp = simulate_impressions(ds, slate_size=6, random_state=0)
    assert len(imp) == 6 * len(ds.interactions)
    assert imp[PLAYED].sum() == len(ds.interactions)
    played = imp[imp[PLAYED]].sort_values([S.TIMESTAMP, S.USER_ID, S.ITEM_ID])
    plays = ds.interactions.sort_values([S.TIMESTAMP, S.USER_ID, S.ITEM_ID])
    assert (played[S.ITEM_ID].to_numpy() == plays[S.ITEM_ID].to_numpy()).all()
    rows = imp.groupby(np.arange(len(imp)) // 6)
    assert (rows[S.ITEM_ID].nunique() == 6).all()
    assert (rows[POSITION].apply(list).map(tuple) == (1, 2, 3, 4, 5, 6)).all()


def test_no_unreleased_or_already_played_titles(ds):
    imp = simulate_impressions(ds, random_state=1)
    rel = ds.items.set_index(S.ITEM_ID)[S.RELEASE_DATE]
    assert (rel.reindex(imp[S.ITEM_ID]).to_numpy() <= imp[S.TIMESTAMP].to_numpy()).all()
    first = ds.interactions.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("f")
    shown = imp[~imp[PLAYED]].join(first, on=[S.USER_ID, S.ITEM_ID])
    assert not (shown["f"] < shown[S.TIMESTAMP]).any()


def test_position_bias_and_seed(ds):
    biased = simulate_impressions(ds, position_decay=1.0, random_state=0)
    share = biased[biased[PLAYED]][POSITION].value_counts(normalize=True)
    assert share[1] > 2 * share[10]
    flat = simulate_impressions(ds, position_decay=0.0, random_state=0)
    assert flat[flat[PLAYED]][POSITION].value_counts(normalize=True).max() < 0.15
    again = simulate_impressions(ds, position_decay=1.0, random_state=0)
    assert biased.equals(again)


def test_validates_inputs(ds):
    with pytest.raises(ValueError, match="slate_size must be >= 2"):
        simulate_impressions(ds, slate_size=1)
    with pytest.raises(TypeError, match="Dataset"):
        simulate_impressions(ds.interactions)
    with pytest.raises(ValueError, match="position_decay"):
        simulate_impressions(ds, position_decay=-1.0)
