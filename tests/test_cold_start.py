"""Tests for the cold-start helpers: history truncation, held-out items, hit rates."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data import schema as S
from course_utils.data.splits import Split, per_user_temporal_split
from course_utils.evaluation.cold_start import (
    evaluate_users,
    hit_rate_on_items,
    hold_out_items,
    random_hit_rate,
    restrict_users,
    truncate_histories,
)
from course_utils.evaluation.harness import per_user_metrics
from course_utils.models import ContentBased, Popularity


@pytest.fixture
def split(tiny_interactions) -> Split:
    return per_user_temporal_split(tiny_interactions, 0.6, relevance_threshold=3.0)


def _last_n_by_hand(train: pd.DataFrame, user: int, n: int) -> list[int]:
    rows = train[train[S.USER_ID] == user]
    ordered = sorted(zip(rows[S.TIMESTAMP], rows[S.ITEM_ID], strict=True))
    return sorted(item for _, item in ordered[len(ordered) - n :]) if n else []


# --------------------------------------------------------------------------- truncation
@pytest.mark.parametrize("n", [0, 1, 2, 100])
def test_truncate_keeps_last_n_of_chosen_users_only(split, n):
    chosen = split.eval_users[:3]
    short = truncate_histories(split, n, users=chosen)
    for user in np.unique(split.train[S.USER_ID]):
        got = sorted(short.train.loc[short.train[S.USER_ID] == user, S.ITEM_ID])
        if user in chosen:
            assert got == _last_n_by_hand(split.train, user, min(n, 100))
        else:
            assert got == sorted(split.train.loc[split.train[S.USER_ID] == user, S.ITEM_ID])
    pd.testing.assert_frame_equal(short.test, split.test)
    assert short.info["n"] == n and short.info["users"].tolist() == sorted(chosen.tolist())
    assert short.relevance_threshold == split.relevance_threshold


def test_truncate_to_zero_removes_users_and_defaults_to_eval_users(split):
    short = truncate_histories(split, 0)
    assert not short.train[S.USER_ID].isin(split.eval_users).any()
    assert len(short.eval_users) == 0


def test_truncate_breaks_timestamp_ties_by_item_id():
    ts = pd.to_datetime([1, 1, 1], unit="D", utc=True)
    train = pd.DataFrame({S.USER_ID: [1, 1, 1], S.ITEM_ID: [30, 10, 20], S.TIMESTAMP: ts})
    test = pd.DataFrame({S.USER_ID: [1], S.ITEM_ID: [40], S.RATING: [5.0]})
    short = truncate_histories(Split(train, test), 2, users=[1])
    assert sorted(short.train[S.ITEM_ID]) == [20, 30]


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=1, max_size=6),
    n=st.integers(0, 9),
    seed=st.integers(0, 1000),
)
def test_truncate_history_sizes_property(sizes, n, seed):
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(len(sizes)), sizes)
    train = pd.DataFrame(
        {
            S.USER_ID: users,
            S.ITEM_ID: rng.permutation(len(users)),
            S.TIMESTAMP: pd.to_datetime(rng.integers(0, 5, len(users)), unit="D", utc=True),
        }
    ).sample(frac=1.0, random_state=seed)  # shuffled row order
    test = pd.DataFrame({S.USER_ID: [0], S.ITEM_ID: [999], S.RATING: [5.0]})
    short = truncate_histories(Split(train, test), n, users=np.arange(len(sizes)))
    counts = short.train.groupby(S.USER_ID).size().reindex(range(len(sizes)), fill_value=0)
    assert counts.tolist() == [min(n, s) for s in sizes]
    assert short.train.index.isin(train.index).all()  # rows kept as they were


@pytest.mark.parametrize("bad, err", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_truncate_rejects_bad_n(split, bad, err):
    with pytest.raises(err, match="n must be"):
        truncate_histories(split, bad)


def test_truncate_rejects_non_split(tiny_interactions):
    with pytest.raises(TypeError, match="Split"):
        truncate_histories(tiny_interactions, 1)


# --------------------------------------------------------------------------- evaluation
def test_evaluate_users_matches_the_harness_on_all_users(split):
    model = Popularity().fit(split.train)
    got = evaluate_users(model, split, split.eval_users, ks=(3, 5))
    expected = per_user_metrics(model, split, ks=(3, 5))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


def test_evaluate_users_serves_unknown_users_the_fallback(split):
    users = split.eval_users[:2]
    short = truncate_histories(split, 0, users=users)
    pop = Popularity().fit(short.train)
    got = evaluate_users(pop, split, users, ks=(5,))
    assert got[S.USER_ID].tolist() == users.tolist()
    # unknown users: everyone gets the same popularity list of the truncated train
    counts = short.train.groupby(S.ITEM_ID).size()
    ranking = sorted(counts.index, key=lambda i: (-counts[i], i))[:5]
    relevant = split.relevant[split.relevant[S.USER_ID].isin(users)]
    for user, row in zip(users, got.itertuples(), strict=True):
        liked = set(relevant.loc[relevant[S.USER_ID] == user, S.ITEM_ID])
        assert row.precision == pytest.approx(len(liked & set(ranking)) / 5)


def test_restrict_users_keeps_only_their_rows(split):
    users = np.r_[split.eval_users[:3], 10_000]
    small = restrict_users(split, users)
    assert set(small.train[S.USER_ID]) <= set(users) and set(small.test[S.USER_ID]) <= set(users)
    assert small.eval_users.tolist() == split.eval_users[:3].tolist()
    expected = split.relevant[split.relevant[S.USER_ID].isin(users)]
    pd.testing.assert_frame_equal(small.relevant, expected)


def test_evaluate_users_rejects_users_outside_the_split(split):
    model = Popularity().fit(split.train)
    with pytest.raises(ValueError, match="none of the given users"):
        evaluate_users(model, split, [10_000])


# --------------------------------------------------------------------------- held-out items
def test_hold_out_items_removes_exactly_the_held_items(tiny_interactions):
    reduced, held = hold_out_items(tiny_interactions, frac=0.2, random_state=3)
    items = np.unique(tiny_interactions[S.ITEM_ID])
    assert len(held) == round(0.2 * len(items))
    assert np.isin(held, items).all() and (np.diff(held) > 0).all()
    assert not reduced[S.ITEM_ID].isin(held).any()
    assert len(reduced) == (~tiny_interactions[S.ITEM_ID].isin(held)).sum()
    again, held_again = hold_out_items(tiny_interactions, frac=0.2, random_state=3)
    assert held_again.tolist() == held.tolist()
    assert hold_out_items(tiny_interactions, frac=0.2, random_state=4)[1].tolist() != held.tolist()


@pytest.mark.parametrize("frac", [0.0, 1.0, -0.1])
def test_hold_out_items_rejects_bad_frac(tiny_interactions, frac):
    with pytest.raises(ValueError, match="frac must be"):
        hold_out_items(tiny_interactions, frac=frac)


def _brute_hit_rate(model, split, items, k, among):
    """Reference: per user, rank with plain Python and look for a relevant held item."""
    out = {}
    relevant = split.relevant[split.relevant[S.ITEM_ID].isin(items)]
    for user, rows in relevant.groupby(S.USER_ID):
        liked = set(rows[S.ITEM_ID])
        if among == "all":
            top = model.recommend([user], k=k)[0][0].tolist()
        else:
            known = [i for i in items if model.items_.contains(np.array([i]))[0]]
            scores = model.score(np.full(len(known), user), np.array(known, dtype=np.int64))
            ranked = sorted(zip(-scores, known, strict=True))
            top = [i for _, i in ranked][:k]
            if len(top) < k:  # unscored items fill the rest; only matters when known < k
                return None
        out[user] = float(bool(liked & set(top)))
    return pd.Series(out)


@pytest.mark.parametrize("among", ["items", "all"])
def test_hit_rate_on_items_matches_brute_force_for_content(
    split, tiny_items, tiny_interactions, among
):
    reduced, held = hold_out_items(split.train, frac=0.3, random_state=1)
    short = Split(reduced, split.test, relevance_threshold=split.relevance_threshold)
    model = ContentBased(items=tiny_items, min_df=1).fit(reduced)
    target = split.relevant[split.relevant[S.ITEM_ID].isin(held)]
    if target.empty:
        pytest.skip("no relevant held-out pair in this seed")
    got = hit_rate_on_items(model, short, held, k=2, among=among)
    expected = _brute_hit_rate(model, short, held.tolist(), 2, among)
    assert got.index.tolist() == sorted(expected.index.tolist())
    assert got.tolist() == expected.sort_index().tolist()


def test_collaborative_model_never_shows_unseen_items_on_the_home_page(split):
    reduced, held = hold_out_items(split.train, frac=0.3, random_state=1)
    short = Split(reduced, split.test, relevance_threshold=split.relevance_threshold)
    pop = Popularity().fit(reduced)
    assert hit_rate_on_items(pop, short, held, k=5, among="all").sum() == 0.0


def test_unscored_items_hit_at_the_random_rate_on_average(split):
    reduced, held = hold_out_items(split.train, frac=0.4, random_state=2)
    short = Split(reduced, split.test, relevance_threshold=split.relevance_threshold)
    pop = Popularity().fit(reduced)  # knows none of the held items: pure tie-breaking
    k = 2
    draws = np.mean(
        [hit_rate_on_items(pop, short, held, k=k, random_state=s).mean() for s in range(400)]
    )
    assert draws == pytest.approx(random_hit_rate(short, held, k=k).mean(), abs=0.03)


def test_random_hit_rate_matches_enumeration():
    train = pd.DataFrame({S.USER_ID: [1, 2], S.ITEM_ID: [1, 1]})
    test = pd.DataFrame({S.USER_ID: [1, 1, 2], S.ITEM_ID: [11, 12, 13], S.RATING: [5.0] * 3})
    split = Split(train, test)
    items, k = [11, 12, 13, 14, 15], 2
    got = random_hit_rate(split, items, k=k)
    for user, liked in [(1, {11, 12}), (2, {13})]:
        subsets = list(itertools.combinations(items, k))
        hit = np.mean([bool(liked & set(s)) for s in subsets])
        assert got[user] == pytest.approx(hit)
        assert got[user] == pytest.approx(1 - comb(5 - len(liked), k) / comb(5, k))


def test_hit_rate_rejects_bad_arguments(split):
    pop = Popularity().fit(split.train)
    items = split.relevant[S.ITEM_ID].unique()[:3]
    with pytest.raises(ValueError, match="among"):
        hit_rate_on_items(pop, split, items, among="some")
    with pytest.raises(ValueError, match="k must be <="):
        hit_rate_on_items(pop, split, items, k=10)
    with pytest.raises(ValueError, match="no evaluated user"):
        hit_rate_on_items(pop, split, [99_999])
