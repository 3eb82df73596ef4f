"""Offline evaluation helpers: sampled metrics, segments, beyond-accuracy table.

Every vectorised function is checked against a slow, loop-by-loop reference or a
hand calculation on the tiny 12-user fixture.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import evaluation as O
from course_utils.data import schema as S
from course_utils.data.splits import per_user_temporal_split
from course_utils.models import ContentBased, Popularity


@pytest.fixture
def tiny_split(tiny_interactions):
    return per_user_temporal_split(tiny_interactions, 0.6)


# --------------------------------------------------------------------------- negatives
def test_negatives_are_unseen_candidates(tiny_split):
    positives, negatives = O.sample_negatives(tiny_split, n_negatives=7, random_state=3)
    assert negatives.shape == (len(positives), 7)
    assert positives[S.ITEM_ID].isin(tiny_split.candidate_items).all()
    assert np.isin(negatives, tiny_split.candidate_items).all()
    both = pd.concat([tiny_split.train, tiny_split.test])
    seen = both.groupby(S.USER_ID)[S.ITEM_ID].agg(set)
    for user, row in zip(positives[S.USER_ID], negatives):
        assert not set(row.tolist()) & seen[user]
    again = O.sample_negatives(tiny_split, n_negatives=7, random_state=3)[1]
    np.testing.assert_array_equal(negatives, again)


def test_negatives_reject_bad_arguments(tiny_split):
    with pytest.raises(ValueError, match="n_negatives must be >= 1"):
        O.sample_negatives(tiny_split, 0)
    with pytest.raises(TypeError, match="n_negatives must be an int"):
        O.sample_negatives(tiny_split, 2.5)


def _slow_sampled_ranks(pos, neg):
    out = []
    for p, row in zip(pos, neg):
        if math.isnan(p):
            out.append(float(len(row)))
            continue
        rank = 0.0
        for s in row:
            if not math.isnan(s) and s > p:
                rank += 1
            elif s == p:
                rank += 0.5
        out.append(rank)
    return np.array(out)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.sampled_from([0.0, 1.0, 2.0, np.nan]), min_size=n, max_size=n),
            st.lists(
                st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, np.nan]), min_size=4, max_size=4),
                min_size=n,
                max_size=n,
            ),
        )
    )
)
def test_sampled_ranks_match_a_loop(data):
    pos, neg = data
    np.testing.assert_array_equal(O.sampled_ranks(pos, neg), _slow_sampled_ranks(pos, neg))


def _slow_sampled_evaluation(model, split, n_negatives, k, seed):
    positives, negatives = O.sample_negatives(split, n_negatives, random_state=seed)
    per_user: dict[int, list[tuple[float, float]]] = {}
    for (user, item), row in zip(positives[[S.USER_ID, S.ITEM_ID]].to_numpy(), negatives):
        pos = float(model.score([user], [item])[0])
        negs = [float(model.score([user], [j])[0]) for j in row]
        rank = sum(1.0 if s > pos else 0.5 if s == pos else 0.0 for s in negs)
        hit = 1.0 if rank < k else 0.0
        per_user.setdefault(int(user), []).append((hit, hit / math.log2(rank + 2)))
    users = sorted(per_user)
    return pd.DataFrame(
        {
            S.USER_ID: users,
            "hit_rate": [np.mean([h for h, _ in per_user[u]]) for u in users],
            "ndcg": [np.mean([g for _, g in per_user[u]]) for u in users],
            "n_pairs": [len(per_user[u]) for u in users],
        }
    )


@pytest.mark.parametrize("make", [Popularity, "content"])
def test_sampled_evaluation_matches_slow_reference(tiny_split, tiny_items, make):
    model = ContentBased(items=tiny_items, min_df=1) if make == "content" else make()
    model.fit(tiny_split.train)
    fast = O.sampled_negative_evaluation(model, tiny_split, 5, k=3, random_state=1)
    slow = _slow_sampled_evaluation(model, tiny_split, 5, 3, 1)
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)


def test_sampled_evaluation_of_an_oracle_is_perfect(tiny_split):
    class Oracle:
        relevant = set(map(tuple, tiny_split.relevant[[S.USER_ID, S.ITEM_ID]].to_numpy()))

        def score(self, users, items):
            return np.array([float((u, i) in self.relevant) for u, i in zip(users, items)])

    per_user = O.sampled_negative_evaluation(Oracle(), tiny_split, 4, k=1)
    assert per_user["hit_rate"].eq(1.0).all() and per_user["ndcg"].eq(1.0).all()


# --------------------------------------------------------------------------- segments
def test_segments_match_direct_computation(tiny_split):
    seg = O.segment_users(tiny_split)
    np.testing.assert_array_equal(seg.index.to_numpy(), tiny_split.eval_users)
    train = tiny_split.train
    users_of = train.groupby(S.ITEM_ID)[S.USER_ID].nunique()
    n_train = [train.loc[train[S.USER_ID] == u, S.ITEM_ID].nunique() for u in seg.index]
    mean_pop = [
        np.mean([users_of[i] for i in set(train.loc[train[S.USER_ID] == u, S.ITEM_ID])])
        for u in seg.index
    ]
    np.testing.assert_array_equal(seg["n_train"], n_train)
    np.testing.assert_allclose(seg["mean_popularity"], mean_pop)
    q1, q2 = np.percentile(n_train, [100 / 3, 200 / 3])
    expected = ["light" if n <= q1 else "medium" if n <= q2 else "heavy" for n in n_train]
    assert seg["activity"].astype(str).tolist() == expected
    median = np.median(mean_pop)
    assert seg["taste"].astype(str).tolist() == [
        "mainstream" if m > median else "niche" for m in mean_pop
    ]


def test_activity_tertiles_split_a_spread_population():
    rows = [(u, i) for u in range(1, 10) for i in range(u * 3)]  # users with 3..27 items
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID])
    df[S.TIMESTAMP] = pd.to_datetime(np.arange(len(df)), unit="s", utc=True)
    df[S.RATING] = 5.0
    seg = O.segment_users(per_user_temporal_split(df, 0.5))
    assert seg["activity"].value_counts().tolist() == [3, 3, 3]
    assert seg.loc[[1, 2, 3], "activity"].eq("light").all()
    assert seg.loc[[7, 8, 9], "activity"].eq("heavy").all()


def test_metric_by_segment_is_a_groupby_mean(tiny_split):
    seg = O.segment_users(tiny_split)
    rng = np.random.default_rng(0)
    users = seg.index.to_numpy()
    frames = {
        "m1": pd.DataFrame(
            {
                S.USER_ID: np.r_[users, users],
                "k": [5] * len(users) + [10] * len(users),
                "ndcg": rng.random(2 * len(users)),
            }
        ),
        "m2": pd.DataFrame({S.USER_ID: users, "ndcg": rng.random(len(users))}),
    }
    table = O.metric_by_segment(frames, seg, "taste", k=10)
    for level in ("niche", "mainstream"):
        members = seg.index[seg["taste"] == level]
        m1 = frames["m1"][(frames["m1"]["k"] == 10) & frames["m1"][S.USER_ID].isin(members)]
        assert table.loc[level, "m1"] == pytest.approx(m1["ndcg"].mean())
        m2 = frames["m2"][frames["m2"][S.USER_ID].isin(members)]
        assert table.loc[level, "m2"] == pytest.approx(m2["ndcg"].mean())
        assert table.loc[level, "users"] == len(members)
    with pytest.raises(ValueError, match="no column 'age'"):
        O.metric_by_segment(frames, seg, "age")


# --------------------------------------------------------------------------- beyond accuracy
def test_long_tail_share_by_hand():
    ids = np.array([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
    counts = np.array([50, 40, 40, 3, 2, 2, 1, 1, 1, 1, 0])  # 10 items with interactions
    # head = ceil(0.2 * 10) = 2 items: 10 and (tie 11/12 -> smaller id) 11
    rec = np.array([[10, 11, 12], [20, 13, 10]])
    assert O.long_tail_share(rec, ids, counts) == pytest.approx(3 / 6)
    with pytest.raises(ValueError, match="head_share"):
        O.long_tail_share(rec, ids, counts, head_share=1.0)


def test_beyond_accuracy_table_matches_direct_computation(tiny_split, tiny_items):
    train = tiny_split.train
    rec = np.array([[100, 101, 115], [134, 120, 101], [100, 101, 115]])
    table = O.beyond_accuracy_table({"m": rec}, tiny_items, train)
    row = table.loc["m"]

    assert row["coverage"] == pytest.approx(5 / len(tiny_items))

    genres = dict(zip(tiny_items[S.ITEM_ID], tiny_items[S.GENRES]))

    def cosine_distance(a, b):
        ga, gb = set(genres[a]), set(genres[b])
        return 1 - len(ga & gb) / math.sqrt(len(ga) * len(gb))

    ild = [np.mean([cosine_distance(a, b) for a in r for b in r if a != b]) for r in rec.tolist()]
    assert row["diversity"] == pytest.approx(np.mean(ild))

    n_users = train[S.USER_ID].nunique()
    users_of = train.groupby(S.ITEM_ID)[S.USER_ID].nunique()
    counts = train.groupby(S.ITEM_ID).size()

    def p(i):
        return max(users_of.get(i, 0), 1) / n_users

    assert row["novelty"] == pytest.approx(np.mean([-math.log2(p(i)) for i in rec.ravel()]))
    assert row["popularity_bias"] == pytest.approx(np.mean([counts.get(i, 0) for i in rec.ravel()]))

    ranked = sorted(counts.index, key=lambda i: (-counts[i], i))
    head = set(ranked[: math.ceil(0.2 * len(counts))])
    assert row["long_tail_share"] == pytest.approx(np.mean([i not in head for i in rec.ravel()]))


def test_popularity_lists_are_all_head(tiny_split, tiny_items):
    model = Popularity().fit(tiny_split.train)
    rec = model.recommend(tiny_split.eval_users, k=2, exclude_seen=False)[0]
    table = O.beyond_accuracy_table({"Popularity": rec}, tiny_items, tiny_split.train)
    assert table.loc["Popularity", "long_tail_share"] == 0.0
    assert table.loc["Popularity", "coverage"] == pytest.approx(2 / len(tiny_items))


# --------------------------------------------------------------------------- step 5 exercise checks
# (the online and bootstrap exercises of solutions/05_evaluation: learner-style answers)
def _learner_bootstrap(values, n_boot, seed):
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def _learner_sample_size(p_baseline, relative_lift, alpha=0.05, power=0.8):
    from scipy.stats import norm

    p_a, p_b = p_baseline, p_baseline * (1 + relative_lift)
    if not 0 < p_b < 1:
        raise ValueError("treatment rate outside (0, 1)")
    p_bar = (p_a + p_b) / 2
    z = norm.ppf(1 - alpha / 2) * math.sqrt(2 * p_bar * (1 - p_bar))
    z += norm.ppf(power) * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    return math.ceil((z / (p_b - p_a)) ** 2)


def _learner_peeking(n_sims, n_days, users_per_day_per_arm, p, alpha=0.05, seed=0, last_only=False):
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    conv_a = rng.binomial(users_per_day_per_arm, p, size=(n_sims, n_days)).cumsum(axis=1)
    conv_b = rng.binomial(users_per_day_per_arm, p, size=(n_sims, n_days)).cumsum(axis=1)
    n = users_per_day_per_arm * np.arange(1, n_days + 1)
    pooled = (conv_a + conv_b) / (2 * n)
    z = (conv_b - conv_a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    z = z[:, -1:] if last_only else z
    return float((np.abs(z) > norm.ppf(1 - alpha / 2)).any(axis=1).mean())


def test_online_checks_accept_independent_correct_answers(capsys):
    from course_utils.exercises import step05

    assert step05.check_bootstrap_ci(_learner_bootstrap)
    assert step05.check_sample_size_two_proportions(_learner_sample_size)
    assert step05.check_peeking_false_positive_rate(_learner_peeking)
    assert capsys.readouterr().out.count("✅") == 3


def test_online_checks_catch_common_mistakes(capsys):
    from course_utils.exercises import step05

    def bootstrap_90(values, n_boot, seed):  # a 90 % interval
        lo, hi = np.quantile(
            np.asarray(values)[
                np.random.default_rng(seed).integers(0, len(values), (n_boot, len(values)))
            ].mean(axis=1),
            [0.05, 0.95],
        )
        return float(lo), float(hi)

    def size_without_ceil(p_baseline, relative_lift, alpha=0.05, power=0.8):
        return int(_learner_sample_size(p_baseline, relative_lift, alpha, power) - 1)

    def final_look_only(*args, **kwargs):
        return _learner_peeking(*args, **kwargs, last_only=True)

    with pytest.raises(AssertionError, match="bootstrap_ci"):
        step05.check_bootstrap_ci(bootstrap_90)
    with pytest.raises(AssertionError, match="sample_size_two_proportions"):
        step05.check_sample_size_two_proportions(size_without_ceil)
    with pytest.raises(AssertionError, match="peeking_false_positive_rate"):
        step05.check_peeking_false_positive_rate(final_look_only)

    def untouched(*args, **kwargs):
        raise NotImplementedError()

    assert not step05.check_peeking_false_positive_rate(untouched)
    assert "⏳ peeking_false_positive_rate: not attempted yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- precomputed scores
@pytest.mark.parametrize("make", [Popularity, "content", "random"])
def test_precomputed_scores_answer_like_the_model(tiny_split, tiny_items, make):
    from course_utils.models import Random

    if make == "content":
        model = ContentBased(items=tiny_items, min_df=1)
    elif make == "random":
        model = Random(random_state=3)
    else:
        model = make()
    model.fit(tiny_split.train)
    users = tiny_split.eval_users
    scored = O.PrecomputedScores(model, users[::-1])  # any order in, sorted inside
    for exclude in (True, False):
        got, want = (
            scored.recommend(users, k=4, exclude_seen=exclude),
            model.recommend(users, k=4, exclude_seen=exclude),
        )
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    pair_users = np.repeat(users[:3], 4)
    pair_items = np.tile([100, 115, 129, 999], 3)  # 999 is unknown: NaN
    np.testing.assert_array_equal(
        scored.score(pair_users, pair_items), model.score(pair_users, pair_items)
    )
    with pytest.raises(ValueError, match="not precomputed"):
        scored.recommend([10_000], k=2)


def test_precomputed_scores_feed_compare_and_sampled_metrics(tiny_split):
    from course_utils.evaluation.harness import compare

    model = Popularity().fit(tiny_split.train)
    scored = O.PrecomputedScores(model, tiny_split.eval_users)
    direct = compare({"m": model}, tiny_split, ks=(3,), n_boot=200)
    cached = compare({"m": scored}, tiny_split, ks=(3,), n_boot=200)
    pd.testing.assert_frame_equal(direct, cached)
    pd.testing.assert_frame_equal(
        O.sampled_negative_evaluation(model, tiny_split, 5, k=3),
        O.sampled_negative_evaluation(scored, tiny_split, 5, k=3),
    )
