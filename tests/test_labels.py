"""Label construction (step 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.design.labels import objective_table, relevance_labels, threshold_curve


def test_rating_decides_where_present():
    df = pd.DataFrame({S.RATING: [4.0, 3.5, np.nan, np.nan], S.WATCH_PCT: [5.0, 100.0, 60.0, 59.9]})
    assert relevance_labels(df).tolist() == [True, False, True, False]
    assert relevance_labels(df, rating_threshold=3.5, watch_threshold=50).tolist() == [True] * 4


def test_ratings_only_data():
    df = pd.DataFrame({S.RATING: [4.0, 3.0]})
    assert relevance_labels(df).tolist() == [True, False]
    with pytest.raises(ValueError, match="watch_threshold"):
        relevance_labels(df, watch_threshold=120)
    with pytest.raises(ValueError, match="'rating' or a 'watch_pct'"):
        relevance_labels(pd.DataFrame({"x": [1]}))


def test_threshold_curve_against_direct_counts():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            S.USER_ID: rng.integers(0, 30, 400),
            S.ITEM_ID: rng.integers(0, 80, 400),
            S.RATING: rng.choice(np.arange(0.5, 5.5, 0.5), 400),
        }
    )
    thresholds = [1.0, 3.0, 4.5]
    curve = threshold_curve(df, S.RATING, thresholds)
    for t, row in zip(thresholds, curve.itertuples()):
        pos = df[df[S.RATING] >= t]
        assert row.positive_share == pytest.approx(len(pos) / len(df))
        assert row.positive_items == pos[S.ITEM_ID].nunique()
        assert row.positive_users == pos[S.USER_ID].nunique()
    # monotone: a higher threshold never adds positives
    assert (np.diff(curve["positive_share"]) <= 0).all()


def test_objective_table_on_synthetic():
    from course_utils.data.synthetic import make_synthetic

    ds = make_synthetic(n_users=400, n_items=150, n_interactions=6000, random_state=1)
    table = objective_table(ds.interactions, ds.items)
    assert table["starts"].sum() == len(ds.interactions)
    assert table["completion_rate"].between(0, 1).all()
    with pytest.raises(ValueError, match="streaming data"):
        objective_table(ds.interactions.drop(columns=S.WATCH_PCT), ds.items)
