"""Tests for course_utils.data.synthetic: schema, determinism, ranges and learnable structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data import schema as S
from course_utils.data.synthetic import GENRES, make_synthetic

START = pd.Timestamp("2024-01-01", tz="UTC")
SMALL = dict(n_users=2000, n_items=1000, n_interactions=30_000)


@pytest.fixture(scope="module")
def ds():
    return make_synthetic(**SMALL, random_state=0)


def _genre_share(ds, genre: str, after: pd.Timestamp) -> tuple[float, float]:
    has = ds.items.set_index(S.ITEM_ID)[S.GENRES].map(lambda g: genre in g)
    inter = ds.interactions
    hit = has.reindex(inter[S.ITEM_ID]).to_numpy()
    late = (inter[S.TIMESTAMP] >= after).to_numpy()
    return hit[~late].mean(), hit[late].mean()


def _top_share(counts: np.ndarray, frac: float = 0.1) -> float:
    """Share of the total held by the top ``frac`` of entries (zeros included)."""
    c = np.sort(counts)[::-1]
    return c[: max(1, int(frac * len(c)))].sum() / c.sum()


# --- schema ------------------------------------------------------------------------------


def test_interaction_schema_matches_movielens_conventions(ds):
    inter = ds.interactions
    assert ds.name == "synthetic"
    assert list(inter.columns) == [
        S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP, S.WATCH_PCT, S.COMPLETED,
    ]  # fmt: skip
    assert inter[S.USER_ID].dtype == np.int64 and inter[S.ITEM_ID].dtype == np.int64
    assert inter[S.RATING].dtype == np.float64 and inter[S.WATCH_PCT].dtype == np.float64
    assert inter[S.COMPLETED].dtype == bool
    # same construction as the MovieLens loader: UTC-aware, same resolution
    movielens_ts = pd.to_datetime(pd.Series([0]), unit="s", utc=True).dtype
    assert inter[S.TIMESTAMP].dtype == movielens_ts
    assert str(inter[S.TIMESTAMP].dt.tz) == "UTC"
    assert inter[S.TIMESTAMP].is_monotonic_increasing
    assert len(inter) == SMALL["n_interactions"]
    assert not inter.duplicated([S.USER_ID, S.ITEM_ID]).any()


def test_item_and_user_schema(ds):
    items, users = ds.items, ds.users
    assert list(items.columns) == [
        S.ITEM_ID, S.TITLE, S.YEAR, S.GENRES, S.TAGS, S.DURATION, S.AVG_RATING, S.RELEASE_DATE,
    ]  # fmt: skip
    assert items[S.ITEM_ID].tolist() == list(range(1, SMALL["n_items"] + 1))
    assert str(items[S.YEAR].dtype) == "Int64"
    assert (items[S.YEAR] == items[S.RELEASE_DATE].dt.year).all()
    assert str(items[S.RELEASE_DATE].dt.tz) == "UTC"
    genres = items[S.GENRES].explode()
    assert items[S.GENRES].map(lambda g: isinstance(g, list) and 1 <= len(g) <= 4).all()
    assert set(genres) <= set(GENRES)
    assert items[S.TAGS].map(lambda t: isinstance(t, list) and len(t) >= 1).all()
    assert items[S.TAGS].explode().map(type).eq(str).all()
    assert items[S.DURATION].dtype == np.int64 and items[S.DURATION].between(10, 240).all()
    assert items[S.AVG_RATING].between(1, 5).all()
    # MovieLens-like genre mix: Drama and Comedy the most common
    assert set(genres.value_counts().index[:2]) == {"Drama", "Comedy"}

    assert list(users.columns) == [S.USER_ID, S.AGE_GROUP, S.COUNTRY, S.PREFERRED_GENRES]
    assert users[S.USER_ID].tolist() == list(range(1, SMALL["n_users"] + 1))
    assert users[S.PREFERRED_GENRES].map(lambda g: len(set(g) & set(GENRES)) == 3).all()
    assert ds.interactions[S.USER_ID].isin(users[S.USER_ID]).all()
    assert ds.interactions[S.ITEM_ID].isin(items[S.ITEM_ID]).all()


def test_same_seed_same_frames_and_different_seed_differs():
    kw = dict(n_users=300, n_items=200, n_interactions=3000)
    a, b = make_synthetic(**kw, random_state=7), make_synthetic(**kw, random_state=7)
    for name in ("interactions", "items", "users"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    c = make_synthetic(**kw, random_state=8)
    assert not a.interactions.equals(c.interactions)
    assert not a.items[S.DURATION].equals(c.items[S.DURATION])


# --- value ranges ------------------------------------------------------------------------


def test_value_ranges(ds):
    inter = ds.interactions
    assert inter[S.WATCH_PCT].between(0, 100).all()
    assert (inter[S.COMPLETED] == (inter[S.WATCH_PCT] >= 90)).all()
    rated = inter[S.RATING].dropna()
    assert abs(len(rated) / len(inter) - 0.30) <= 0.05
    assert rated.between(1, 5).all()
    assert ((2 * rated) % 1 == 0).all()  # half-star steps
    assert 3.0 < rated.mean() < 4.2
    ts = inter[S.TIMESTAMP]
    assert ts.min() >= START and ts.max() < START + pd.Timedelta(days=365)


def test_no_watch_before_release_and_new_titles_appear(ds):
    release = ds.items.set_index(S.ITEM_ID)[S.RELEASE_DATE]
    inter = ds.interactions
    age = inter[S.TIMESTAMP] - inter[S.ITEM_ID].map(release)
    assert (age >= pd.Timedelta(0)).all()
    new = release[release >= START]
    assert 0.1 < len(new) / len(release) < 0.3
    # new titles are watched, and more in the month after release than a month later
    on_new = inter[S.ITEM_ID].isin(new.index)
    month = pd.Timedelta(days=30)
    first = (on_new & (age < month)).sum()
    second = (on_new & (age >= month) & (age < 2 * month)).sum()
    assert first > 1.5 * second > 0


# --- structure ---------------------------------------------------------------------------


def test_long_tail_item_popularity(ds):
    counts = ds.interactions[S.ITEM_ID].value_counts().reindex(ds.items[S.ITEM_ID], fill_value=0)
    assert _top_share(counts.to_numpy()) > 0.40


def test_heavy_tailed_user_activity(ds):
    counts = ds.interactions[S.USER_ID].value_counts().to_numpy()
    assert _top_share(counts) > 0.30
    assert counts.max() > 10 * np.median(counts)


def test_completion_falls_with_duration(ds):
    inter = ds.interactions
    minutes = ds.items.set_index(S.ITEM_ID)[S.DURATION].reindex(inter[S.ITEM_ID]).to_numpy()
    done = inter[S.COMPLETED].to_numpy()
    assert np.corrcoef(minutes, done)[0, 1] < -0.1
    assert done[minutes < 60].mean() > done[minutes >= 120].mean() + 0.15


def test_drift_raises_genre_share_after_drift_date():
    kw = dict(n_users=1500, n_items=800, n_interactions=20_000, random_state=3)
    when = pd.Timestamp("2024-07-01", tz="UTC")
    before, after = _genre_share(make_synthetic(**kw), "Documentary", when)
    assert 0.5 < after / before < 1.5  # no drift: roughly stable share
    drifted = make_synthetic(**kw, drift_date="2024-07-01", drift_genre="Documentary")
    before_d, after_d = _genre_share(drifted, "Documentary", when)
    assert after_d > 2.0 * before_d
    assert after_d > 2.0 * after


def _temporal_split(inter: pd.DataFrame, train_frac: float = 0.8):
    """Each user's first 80 % of events (by time) train, the rest test (users with >= 5)."""
    df = inter.sort_values([S.USER_ID, S.TIMESTAMP, S.ITEM_ID], kind="stable")
    n = df.groupby(S.USER_ID)[S.ITEM_ID].transform("size").to_numpy()
    rank = df.groupby(S.USER_ID).cumcount().to_numpy()
    is_test = rank >= np.ceil(train_frac * n)
    return df[~is_test], df[is_test & (n >= 5)]


def _ndcg_and_hits(scores: np.ndarray, seen: np.ndarray, truth: np.ndarray, k: int = 10):
    scores = np.where(seen, -np.inf, scores)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(truth, top, axis=1)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(disc)[np.minimum(truth.sum(axis=1), k) - 1]
    return ((hits * disc).sum(axis=1) / ideal).mean(), hits.any(axis=1).mean()


def test_structure_is_learnable_personalised_beats_popularity_beats_random(ds):
    train, test = _temporal_split(ds.interactions)
    shape = (SMALL["n_users"] + 1, SMALL["n_items"] + 1)
    X = sp.csr_matrix((np.ones(len(train)), (train[S.USER_ID], train[S.ITEM_ID])), shape=shape)
    T = sp.csr_matrix((np.ones(len(test)), (test[S.USER_ID], test[S.ITEM_ID])), shape=shape)
    users = np.unique(test[S.USER_ID])
    seen, truth = X[users].toarray() > 0, T[users].toarray().astype(int)
    seen[:, 0] = True  # column 0 is no item

    popularity = np.asarray(X.sum(axis=0)).ravel()
    co = (X.T @ X).toarray()  # item-item co-occurrence, cosine-normalised
    np.fill_diagonal(co, 0.0)
    norm = np.sqrt(popularity) + 1e-9
    cosine = co / norm[:, None] / norm[None, :]
    rng = np.random.default_rng(0)

    ndcg_rand, hit_rand = _ndcg_and_hits(rng.random(seen.shape), seen, truth)
    ndcg_pop, hit_pop = _ndcg_and_hits(np.tile(popularity, (len(users), 1)), seen, truth)
    ndcg_cf, hit_cf = _ndcg_and_hits(seen.astype(float) @ cosine, seen, truth)
    assert ndcg_pop > 5 * ndcg_rand and hit_pop > 3 * hit_rand
    assert ndcg_cf > 1.3 * ndcg_pop and hit_cf > 1.1 * hit_pop


# --- arguments and properties -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_users=0), "n_users must be >= 1; got 0"),
        (dict(n_items=-3), "n_items must be >= 1; got -3"),
        (dict(n_interactions=0), "n_interactions must be >= 1; got 0"),
        (dict(days=0), "days must be >= 1; got 0"),
        (dict(n_factors=0), "n_factors must be >= 1; got 0"),
        (dict(n_users=10, n_items=8, n_interactions=21), "n_interactions must be <= 20"),
        (dict(drift_genre="Cartoon"), "drift_genre must be one of"),
        (dict(drift_date="2025-06-01"), "drift_date must fall within the 365 days"),
        (dict(drift_date="2023-12-31"), "drift_date must fall within"),
        (dict(start="not a date"), "start must be a date"),
        (dict(drift_strength=float("nan")), "drift_strength must be a finite number"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_users=2.5), dict(n_items="10"), dict(n_interactions=True), dict(drift_strength="x")],
)
def test_wrong_types_raise_type_error(kwargs):
    with pytest.raises(TypeError, match="must be"):
        make_synthetic(**kwargs)


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(1, 40),
    n_items=st.integers(1, 40),
    fill=st.floats(0.0, 1.0),
    n_factors=st.integers(1, 4),
    days=st.integers(1, 60),
    drift=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_invariants_hold_for_any_size(n_users, n_items, fill, n_factors, days, drift, seed):
    cap = max(1, n_items // 4) * n_users
    n = max(1, int(fill * cap))
    start = pd.Timestamp("2023-03-15", tz="UTC")
    out = make_synthetic(
        n_users, n_items, n,
        start=start, days=days, n_factors=n_factors,
        drift_date=start + pd.Timedelta(days=days / 2) if drift else None,
        random_state=seed,
    )  # fmt: skip
    inter = out.interactions
    assert len(inter) == n
    assert not inter.duplicated([S.USER_ID, S.ITEM_ID]).any()
    assert inter[S.USER_ID].between(1, n_users).all() and inter[S.ITEM_ID].between(1, n_items).all()
    release = inter[S.ITEM_ID].map(out.items.set_index(S.ITEM_ID)[S.RELEASE_DATE])
    assert (inter[S.TIMESTAMP] >= release).all()
    assert inter[S.TIMESTAMP].between(start, start + pd.Timedelta(days=days), "left").all()
    assert (inter[S.COMPLETED] == (inter[S.WATCH_PCT] >= 90)).all()
    assert inter[S.RATING].dropna().isin(np.arange(1.0, 5.01, 0.5)).all()


def test_drift_world_is_identical_to_the_world_without_drift_before_the_drift():
    kw = dict(n_users=400, n_items=200, n_interactions=8000, start="2024-07-01", days=60)
    drift = pd.Timestamp("2024-08-01", tz="UTC")
    plain = make_synthetic(**kw, random_state=3).interactions
    drifted = make_synthetic(
        **kw, drift_date=drift, drift_strength=2.5, random_state=3
    ).interactions
    before_plain = plain[plain["timestamp"] < drift].reset_index(drop=True)
    before_drift = drifted[drifted["timestamp"] < drift].reset_index(drop=True)
    pd.testing.assert_frame_equal(before_plain, before_drift)
    # each user has as many events after the drift in both worlds
    after = lambda f: f[f["timestamp"] >= drift].groupby("user_id").size()  # noqa: E731
    pd.testing.assert_series_equal(after(plain), after(drifted))
    assert not drifted.duplicated(["user_id", "item_id"]).any()
    assert len(drifted) == len(plain) == 8000
