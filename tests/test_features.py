"""Tests of course_utils.features: content matrices, point-in-time features, Gini/Lorenz."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import features as F
from course_utils.data import schema as S
from course_utils.data.eda import gini, lorenz_curve

T0 = pd.Timestamp("2020-01-01", tz="UTC")


def _items() -> pd.DataFrame:
    """Five catalogue items (listed out of order); item 4 has no genres and no year."""
    return pd.DataFrame(
        {
            S.ITEM_ID: [3, 1, 2, 5, 4],
            S.TITLE: ["c", "a", "b", "e", "d"],
            S.YEAR: pd.array([2001, 1995, 1998, 2010, None], dtype="Int64"),
            S.GENRES: [["Drama"], ["Comedy", "Drama"], ["Comedy"], ["Action", "Comedy"], []],
            S.TAGS: [["dark"], ["fun", "pixar"], ["fun"], [], ["dark"]],
        }
    )


def _events(rows) -> pd.DataFrame:
    """Interactions from (user, item, rating, hours after T0) tuples."""
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID, S.RATING, "h"])
    df[S.USER_ID] = df[S.USER_ID].astype(np.int64)
    df[S.ITEM_ID] = df[S.ITEM_ID].astype(np.int64)
    df[S.RATING] = df[S.RATING].astype(np.float64)
    df[S.TIMESTAMP] = T0 + pd.to_timedelta(df.pop("h"), unit="h")
    return df


# --------------------------------------------------------------------------- item content
def test_content_matrix_matches_hand_computed_tfidf():
    X, names, ids = F.item_content_matrix(_items(), min_df=1)
    assert ids.tolist() == [1, 2, 3, 4, 5]
    assert X.shape == (5, len(names))
    # sklearn's smooth idf: ln((1 + n) / (1 + df)) + 1, then L2-normalised rows
    idf = lambda df: np.log(6 / (1 + df)) + 1  # noqa: E731
    col = {name: j for j, name in enumerate(names)}
    assert {"genre=Comedy", "tag=pixar", "decade=1990s", "decade=2000s"} <= set(col)
    row = np.array([idf(3), idf(2), idf(2), idf(1), idf(2)])  # item 1
    expected = row / np.linalg.norm(row)
    got = X.toarray()[0, [col[c] for c in
                          ("genre=Comedy", "genre=Drama", "tag=fun", "tag=pixar", "decade=1990s")]]  # fmt: skip
    np.testing.assert_allclose(got, expected)
    assert X.toarray()[0].sum() == pytest.approx(expected.sum())  # nothing else in the row


def test_content_matrix_rows_are_unit_or_empty_and_min_df_prunes():
    X, names, _ = F.item_content_matrix(_items(), min_df=2)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[norms > 0], 1.0)
    # tokens in only one item are dropped: tag=pixar, genre=Action, decade=2010s, ...
    assert "tag=pixar" not in names and "genre=Action" not in names
    assert {"genre=Comedy", "genre=Drama", "tag=dark", "tag=fun"} <= set(names)


def test_content_matrix_use_selects_token_families():
    _, names, _ = F.item_content_matrix(_items(), use=("genres",), min_df=1)
    assert all(n.startswith("genre=") for n in names)
    _, names, _ = F.item_content_matrix(_items(), use="decade", min_df=1)
    assert names.tolist() == ["decade=1990s", "decade=2000s", "decade=2010s"]
    with pytest.raises(ValueError, match="use must name"):
        F.item_content_matrix(_items(), use=("cast",))
    with pytest.raises(ValueError, match="min_df"):
        F.item_content_matrix(_items(), min_df=0)
    with pytest.raises(ValueError, match="lacks columns"):
        F.item_content_matrix(_items().drop(columns=S.TAGS))
    with pytest.raises(ValueError, match="unique item_id"):
        F.item_content_matrix(pd.concat([_items(), _items()]))


def test_genre_multi_hot_hand_case():
    M, names, ids = F.genre_multi_hot(_items())
    assert names.tolist() == ["Action", "Comedy", "Drama"]
    assert ids.tolist() == [1, 2, 3, 4, 5]
    assert M.dtype == np.float32
    assert M.tolist() == [[0, 1, 1], [0, 1, 0], [0, 0, 1], [0, 0, 0], [1, 1, 0]]


# --------------------------------------------------------------------------- users
def test_user_activity_hand_case():
    df = _events(
        [(1, 1, 4.0, 0), (1, 2, 2.0, 24), (1, 3, np.nan, 48), (2, 1, 5.0, 12), (1, 5, 1.0, 96)]
    )
    got = F.user_activity(df, T0 + pd.Timedelta(hours=72))
    assert got.index.tolist() == [1, 2]
    assert got["n_interactions"].tolist() == [3, 1]
    assert got["mean_rating"].tolist() == [3.0, 5.0]  # NaN rating ignored, future 1.0 unseen
    assert got["rating_std"].tolist() == [1.0, 0.0]
    assert got["days_since_last"].tolist() == [1.0, 2.5]
    assert got["days_since_first"].tolist() == [3.0, 2.5]


def test_user_features_genre_affinity_and_year_hand_case():
    df = _events([(7, 1, 4.0, 0), (7, 2, 5.0, 1), (7, 4, 3.0, 2), (8, 4, 3.0, 3)])
    f = F.user_features(df, _items(), T0 + pd.Timedelta(days=1))
    aff = f[["genre_aff_Action", "genre_aff_Comedy", "genre_aff_Drama"]]
    # user 7: item 1 = Comedy+Drama (1/2 each), item 2 = Comedy, item 4 has no genres
    np.testing.assert_allclose(aff.loc[7], [0.0, 0.75, 0.25])
    np.testing.assert_allclose(aff.loc[8], [0.0, 0.0, 0.0])  # only a genre-less title
    assert f.loc[7, "median_year"] == 1996.5  # 1995 and 1998; item 4 has no year
    assert np.isnan(f.loc[8, "median_year"])


def test_user_features_ignore_unknown_items_for_genres():
    df = _events([(1, 1, 4.0, 0), (1, 99, 4.0, 1)])
    f = F.user_features(df, _items(), T0 + pd.Timedelta(days=1))
    assert f.loc[1, "n_interactions"] == 2
    np.testing.assert_allclose(f.loc[1, ["genre_aff_Comedy", "genre_aff_Drama"]], [0.5, 0.5])


events_strategy = st.lists(
    st.tuples(
        st.integers(1, 6),  # user
        st.integers(1, 6),  # item (6 is not in the catalogue)
        st.sampled_from([np.nan, 0.5, 1.0, 3.0, 4.5, 5.0]),
        st.integers(0, 24 * 60),  # hours after T0
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(past=events_strategy, future=events_strategy, cut_h=st.integers(1, 24 * 60))
def test_features_as_of_t_never_change_when_later_data_arrives(past, future, cut_h):
    cutoff = T0 + pd.Timedelta(hours=cut_h)
    before = _events(past)
    before = before[before[S.TIMESTAMP] < cutoff]
    later = _events(future)
    later[S.TIMESTAMP] = cutoff + (later[S.TIMESTAMP] - T0)  # at or after the cutoff
    both = pd.concat([later, before], ignore_index=True).sample(frac=1.0, random_state=0)
    items = _items()
    if len(before):
        pd.testing.assert_frame_equal(
            F.user_features(both, items, cutoff), F.user_features(before, items, cutoff)
        )
    pd.testing.assert_frame_equal(
        F.item_features(both, items, cutoff), F.item_features(before, items, cutoff)
    )


@settings(max_examples=40, deadline=None)
@given(events=events_strategy, cut_h=st.integers(1, 24 * 60))
def test_no_future_data_and_affinity_rows_sum_to_one(events, cut_h):
    df = _events(events)
    cutoff = T0 + pd.Timedelta(hours=cut_h)
    users = F.user_features(df, _items(), cutoff)
    seen = df[df[S.TIMESTAMP] < cutoff]
    assert users.index.tolist() == sorted(seen[S.USER_ID].unique())
    assert (users["days_since_last"] > 0).all()  # the last event used is strictly before
    assert (users["days_since_first"] >= users["days_since_last"]).all()
    assert users["n_interactions"].sum() == len(seen)
    aff = users.filter(like="genre_aff_").sum(axis=1)
    has_genre = seen.merge(_items(), on=S.ITEM_ID)[S.GENRES].map(len).gt(0)
    with_genres = seen.merge(_items(), on=S.ITEM_ID)[has_genre][S.USER_ID].unique()
    np.testing.assert_allclose(aff.loc[with_genres], 1.0)
    np.testing.assert_allclose(aff.drop(index=with_genres), 0.0)


# --------------------------------------------------------------------------- items
def test_item_features_hand_case():
    df = _events(
        [
            (1, 1, 5.0, 0),
            (2, 1, 3.0, 24 * 40),
            (3, 1, np.nan, 24 * 55),
            (1, 2, 2.0, 24 * 50),
            (4, 1, 1.0, 24 * 70),  # after the cutoff: must be ignored
        ]
    )
    cutoff = T0 + pd.Timedelta(days=60)
    f = F.item_features(df, _items(), cutoff, recent_days=30, shrinkage=2.0)
    assert f.index.tolist() == [1, 2, 3, 4, 5]
    assert f["n_interactions"].tolist() == [3, 1, 0, 0, 0]
    assert f["n_recent"].tolist() == [2, 1, 0, 0, 0]  # days 40 and 55 are within 30 days
    assert f["n_ratings"].tolist() == [2, 1, 0, 0, 0]
    assert f.loc[1, "mean_rating"] == 4.0 and np.isnan(f.loc[3, "mean_rating"])
    global_mean = (5.0 + 3.0 + 2.0) / 3
    np.testing.assert_allclose(
        f["mean_rating_shrunk"],
        [(2 * 4.0 + 2 * global_mean) / 4, (2.0 + 2 * global_mean) / 3] + [global_mean] * 3,
    )
    np.testing.assert_allclose(f["days_since_first"].iloc[:2], [60.0, 10.0])
    assert f["days_since_first"].iloc[2:].isna().all()
    assert f.loc[1, "title_age_years"] == 2020 - 1995 and np.isnan(f.loc[4, "year"])
    assert f.loc[5, ["genre_Action", "genre_Comedy", "genre_Drama"]].tolist() == [1, 1, 0]
    raw = F.item_features(df, _items(), cutoff, shrinkage=0.0)
    pd.testing.assert_series_equal(raw["mean_rating_shrunk"], raw["mean_rating"], check_names=False)


def test_item_features_validate_arguments():
    df = _events([(1, 1, 5.0, 0)])
    with pytest.raises(ValueError, match="recent_days"):
        F.item_features(df, _items(), T0, recent_days=0)
    with pytest.raises(ValueError, match="shrinkage"):
        F.item_features(df, _items(), T0, shrinkage=-1)
    with pytest.raises(TypeError, match="cutoff"):
        F.item_features(df, _items(), 3)
    naive = df.assign(timestamp=df[S.TIMESTAMP].dt.tz_localize(None))
    with pytest.raises(TypeError, match="timezone-aware"):
        F.user_features(naive, _items(), T0)


def test_naive_cutoff_is_utc_and_build_features_returns_both():
    df = _events([(1, 1, 5.0, 0), (1, 2, 4.0, 30)])
    users, items = F.build_features(df, _items(), "2020-01-02", recent_days=7)
    pd.testing.assert_frame_equal(users, F.user_features(df, _items(), T0 + pd.Timedelta(days=1)))
    assert items["n_interactions"].sum() == 1


# --------------------------------------------------------------------------- context
def test_context_features_hand_case_and_cyclical_encoding():
    ts = pd.Series(
        pd.to_datetime(["2024-06-01 18:30", "2024-06-03 00:00", "2024-06-02 23:00"], utc=True),
        index=[10, 11, 12],
    )
    f = F.context_features(ts)
    assert f.index.tolist() == [10, 11, 12]
    assert f["hour"].tolist() == [18, 0, 23]
    assert f["day_of_week"].tolist() == [5, 0, 6]  # Saturday, Monday, Sunday
    assert f["is_weekend"].tolist() == [True, False, True]
    np.testing.assert_allclose(f["hour_sin"] ** 2 + f["hour_cos"] ** 2, 1.0)
    circle = f[["hour_sin", "hour_cos"]].astype(float)  # a row of a mixed frame is object
    np.testing.assert_allclose(circle.loc[10], [-1.0, 0.0], atol=1e-12)
    # 23:00 and 00:00 are neighbours on the circle
    gap = np.hypot(*(circle.loc[11] - circle.loc[12]))
    assert gap == pytest.approx(2 * np.sin(np.pi / 24))
    local = F.context_features(ts, tz="America/New_York")
    assert local["hour"].tolist() == [14, 20, 19]
    with pytest.raises(ValueError, match="missing"):
        F.context_features(pd.Series([pd.NaT, ts.iloc[0]]))


# --------------------------------------------------------------------------- Gini / Lorenz
def _gini_reference(x: np.ndarray) -> float:
    """Mean absolute difference over all pairs divided by twice the mean."""
    x = np.asarray(x, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean()))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=40).filter(lambda v: sum(v) > 0))
def test_gini_matches_pairwise_definition_and_lorenz_area(counts):
    g = gini(counts)
    assert g == pytest.approx(_gini_reference(np.array(counts)), abs=1e-12)
    assert gini(np.array(counts) * 7) == pytest.approx(g, abs=1e-12)  # scale invariant
    p, c = lorenz_curve(counts)
    assert p[0] == c[0] == 0.0 and p[-1] == pytest.approx(1.0) and c[-1] == pytest.approx(1.0)
    assert np.all(np.diff(c) >= 0) and np.all(c <= p + 1e-12)  # below the diagonal
    area = np.sum((c[1:] + c[:-1]) / 2 * np.diff(p))
    assert g == pytest.approx(1 - 2 * area, abs=1e-12)


def test_gini_hand_cases_and_errors():
    assert gini([3, 3, 3]) == 0.0
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)
    assert gini([1, 3]) == pytest.approx(0.25)
    for bad, msg in (([], "empty"), ([1, -1], ">= 0"), ([0, 0], "positive"), ([np.nan], "finite")):
        with pytest.raises(ValueError, match=msg):
            gini(bad)


# --------------------------------------------------------------------------- step 3 exercise checks
def test_step03_checks_accept_references_and_catch_common_mistakes(capsys):
    from course_utils.exercises import step03

    assert step03.check_per_user_train_mask(step03._reference_mask)
    assert step03.check_user_history_features(step03._reference_history)
    assert step03.check_gini(gini)
    assert step03.check_leaky_feature(step03._leak_reference)

    def row_order_mask(df, train_frac=0.8):  # forgets to sort by time
        if not 0 < train_frac < 1:
            raise ValueError("train_frac")
        pos = df.groupby(S.USER_ID).cumcount()
        n = df.groupby(S.USER_ID)[S.ITEM_ID].transform("size")
        return (pos < np.ceil(train_frac * n - 1e-9)).to_numpy()

    def peeking_history(df, cutoff):  # includes the event at the cutoff
        g = df[df[S.TIMESTAMP] <= cutoff].groupby(S.USER_ID)
        return pd.DataFrame(
            {
                "n_interactions": g.size(),
                "mean_rating": g[S.RATING].mean(),
                "days_since_last": (cutoff - g[S.TIMESTAMP].max()) / pd.Timedelta(days=1),
            }
        )

    def unsorted_gini(counts):
        x = np.asarray(counts, dtype=float)
        i = np.arange(1, x.size + 1)
        return float(2 * np.sum(i * x) / (x.size * x.sum()) - (x.size + 1) / x.size)

    for check, wrong in (
        (step03.check_per_user_train_mask, row_order_mask),
        (step03.check_user_history_features, peeking_history),
        (step03.check_gini, unsorted_gini),
        (step03.check_leaky_feature, lambda suspect, interactions, items, cutoff: "n_recent"),
    ):
        with pytest.raises(AssertionError):
            check(wrong)
    assert "❌" in capsys.readouterr().out

    def untouched(*args, **kwargs):
        raise NotImplementedError()

    assert not step03.check_gini(untouched)
    assert "not attempted" in capsys.readouterr().out


def test_suspect_item_table_leaks_exactly_one_column():
    df = _events([(1, 1, 5.0, 0), (2, 1, 1.0, 24 * 10), (1, 2, 3.0, 24 * 2)])
    cutoff = T0 + pd.Timedelta(days=5)
    from course_utils.exercises.step03 import suspect_item_table

    suspect = suspect_item_table(df, _items(), cutoff)
    honest = F.item_features(df, _items(), cutoff)
    differs = [c for c in suspect.columns if not np.allclose(suspect[c], honest[c], equal_nan=True)]
    assert differs == ["mean_rating"]


def test_content_blocks_average_the_family_cosines(tiny_items):
    X, names, ids, blocks = F.item_content_blocks(tiny_items, min_df=1)
    families = [F.item_content_matrix(tiny_items, use=(f,), min_df=1) for f in blocks]
    expected = np.mean([(M @ M.T).toarray() for M, _, _ in families], axis=0)
    np.testing.assert_allclose((X @ X.T).toarray(), expected, atol=1e-12)
    assert names.tolist() == np.concatenate([n for _, n, _ in families]).tolist()
    assert all(np.array_equal(i, ids) for _, _, i in families)
    # a profile of the first four items: scores are the mean over families of the cosines
    profile = np.asarray(X[:4].sum(axis=0)).ravel()
    cosines = []
    for M, _, _ in families:
        q = np.asarray(M[:4].sum(axis=0)).ravel()
        cosines.append(M @ (q / np.linalg.norm(q)))
    np.testing.assert_allclose(X @ F.unit_blocks(profile, blocks), np.mean(cosines, axis=0))
    rows = X[:6] * 3.0  # one profile per row, dense or sparse: the same unit blocks
    dense = F.unit_blocks(rows.toarray(), blocks)
    np.testing.assert_allclose(F.unit_blocks(rows, blocks).toarray(), dense, atol=1e-12)
    np.testing.assert_allclose(dense[2], F.unit_blocks(rows.toarray()[2], blocks), atol=1e-12)
    with pytest.raises(ValueError, match="1-D"):
        F.unit_blocks(np.ones((2, 2, 2)), blocks)
