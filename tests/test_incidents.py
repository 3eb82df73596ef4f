"""Tests for course_utils.monitoring against hand calculations and trusted references
(the evaluation harness, monitoring.psi / psi_categorical, least squares, brute-force loops)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.data import schema as S
from course_utils.data.splits import Split
from course_utils.evaluation.harness import per_user_metrics
from course_utils.models import Popularity
from course_utils.models.svd import PureSVD
from course_utils.monitoring.decay import (
    RetrainInterval,
    decay_curve,
    decay_summary,
    retrain_interval,
    window_metrics,
)
from course_utils.monitoring.drift import psi, psi_categorical
from course_utils.monitoring.incidents import aa_psi_threshold, category_psi, inject_latency
from course_utils.monitoring.request_log import RequestLog, simulate_request_log
from course_utils.monitoring.traffic import online_metrics, replay, restamp, session_requests

DAY0 = pd.Timestamp("2024-01-01", tz="UTC")
FAST = settings(max_examples=25, deadline=None)


def day(d: float) -> pd.Timestamp:
    return DAY0 + pd.Timedelta(days=d)


def events(rows) -> pd.DataFrame:
    """(user, item, day, rating) tuples -> an interactions frame."""
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID, "d", S.RATING])
    df[S.TIMESTAMP] = DAY0 + pd.to_timedelta(df.pop("d"), unit="D")
    return df


def random_events(seed: int = 0, n: int = 3_000, users: int = 60, items: int = 80, days: int = 120):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            S.USER_ID: rng.integers(1, users + 1, n),
            S.ITEM_ID: rng.integers(1, items + 1, n),
            S.RATING: rng.integers(1, 11, n) / 2,
            S.TIMESTAMP: DAY0 + pd.to_timedelta(rng.uniform(0, days, n), unit="D"),
        }
    )
    return df.drop_duplicates([S.USER_ID, S.ITEM_ID]).reset_index(drop=True)


# --------------------------------------------------------------------------- window_metrics


def test_window_metrics_equals_the_evaluation_harness_when_nothing_happens_in_between():
    df = random_events()
    cutoff = day(80)
    train, test = df[df[S.TIMESTAMP] < cutoff], df[df[S.TIMESTAMP] >= cutoff]
    for model in (Popularity().fit(train), PureSVD(n_factors=4).fit(train)):
        got = window_metrics(model, df, cutoff, day(200), k=5)
        split = Split(train, test, relevance_threshold=4.0)
        expected = per_user_metrics(model, split, ks=5)
        assert got[S.USER_ID].tolist() == split.eval_users.tolist()
        for col in ("ndcg", "recall", "hit_rate"):
            np.testing.assert_allclose(got[col], expected[col], rtol=1e-12)
        np.testing.assert_array_equal(got["n_relevant"], split.n_relevant)


def test_window_metrics_by_hand_exclusions_and_unknown_items():
    df = events([
        (1, 10, 0, 5), (2, 10, 0, 5), (2, 20, 0, 5), (3, 20, 1, 5), (3, 10, 1, 5),
        (1, 30, 2, 5),  # after training, before the window: must be excluded for user 1
        (1, 20, 5, 5), (1, 99, 5, 5),  # window: item 99 is new (unknown to the model)
        (3, 30, 5, 2),  # window, rating 2: not relevant -> user 3 not scored
        (4, 10, 5, 5),  # window, but user 4 is unknown to the model
    ])  # fmt: skip
    model = Popularity().fit(df[df[S.TIMESTAMP] < day(1.5)])
    got = window_metrics(model, df, day(4), day(6), k=1)
    # popularity: 10 (3 users) > 20 (2 users) > 30 (0: only in vocab if trained on) ...
    # user 1 has seen 10 (train) and 30 (in between) -> top-1 is item 20, which is relevant
    assert got[S.USER_ID].tolist() == [1]
    row = got.iloc[0]
    assert (row["n_relevant"], row["hit_rate"], row["recall"]) == (2, 1.0, 0.5)
    assert row["unknown_share"] == 0.5


def test_window_metrics_validates_inputs():
    df = random_events()
    model = Popularity().fit(df[df[S.TIMESTAMP] < day(50)])
    with pytest.raises(ValueError, match="end must be after start"):
        window_metrics(model, df, day(60), day(60))
    with pytest.raises(ValueError, match="k must be"):
        window_metrics(model, df, day(60), day(70), k=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        window_metrics(model, df, pd.Timestamp("2024-03-01"), day(70))
    with pytest.raises(ValueError, match="relevance column"):
        window_metrics(model, df.drop(columns=[S.RATING]), day(60), day(70))


# --------------------------------------------------------------------------- decay


def test_decay_curve_pairs_ages_and_age_zero_is_the_fresh_model():
    df = random_events(1)
    edges = pd.date_range(day(40), periods=4, freq="20D")
    curve = decay_curve(df, {"pop": Popularity}, edges, max_age=1, k=5)
    pairs = sorted(set(zip(curve["window"], curve["age"])))
    assert pairs == [(edges[0], 0), (edges[1], 0), (edges[1], 1), (edges[2], 0), (edges[2], 1)]
    assert (
        curve["trained_at"] + pd.to_timedelta(curve["age"] * 20, unit="D") == curve["window"]
    ).all()
    fresh = Popularity().fit(df[df[S.TIMESTAMP] < edges[2]])
    expected = window_metrics(fresh, df, edges[2], edges[3], k=5)
    got = curve[(curve["window"] == edges[2]) & (curve["age"] == 0)]
    np.testing.assert_allclose(got["ndcg"], expected["ndcg"])
    # every user scored at age 1 in a window is also scored at age 0 there
    for w in edges[1:3]:
        old = set(curve.loc[(curve["window"] == w) & (curve["age"] == 1), S.USER_ID])
        new = set(curve.loc[(curve["window"] == w) & (curve["age"] == 0), S.USER_ID])
        assert old <= new


def test_decay_curve_validates_edges_and_models():
    df = random_events()
    with pytest.raises(ValueError, match="timezone-aware"):
        decay_curve(df, {"pop": Popularity}, pd.date_range("2024-02-01", periods=3, freq="7D"))
    with pytest.raises(ValueError, match="strictly increasing"):
        decay_curve(df, {"pop": Popularity}, [day(10)])
    with pytest.raises(TypeError, match="mapping"):
        decay_curve(df, {}, [day(10), day(20)])


def test_decay_summary_is_paired_ratio_of_sums_by_hand():
    curve = pd.DataFrame({
        "window": [0, 0, 0, 0, 1, 1, 1],
        S.USER_ID: [1, 2, 1, 2, 1, 3, 3],
        "model": "m",
        "age": [0, 0, 1, 1, 0, 0, 1],
        "ndcg": [0.5, 0.3, 0.4, 0.3, 0.2, 0.6, 0.3],
    })  # fmt: skip
    out = decay_summary(curve, n_boot=200)
    row = out.loc[("m", 1)]
    # pairs: (0,1) 0.5->0.4, (0,2) 0.3->0.3, (1,3) 0.6->0.3; (1,1) has no age-1 row
    assert row["n_pairs"] == 3 and row["n_users"] == 3
    assert row["rel_change"] == pytest.approx((-0.1 + 0.0 - 0.3) / (0.5 + 0.3 + 0.6))
    assert row["mean"] == pytest.approx(1.0 / 3) and row["mean_age0"] == pytest.approx(1.4 / 3)
    assert row["ci_low"] <= row["rel_change"] <= row["ci_high"]
    assert out.loc[("m", 0), "rel_change"] == 0.0


def test_decay_summary_rejects_a_frame_without_the_columns():
    with pytest.raises(ValueError, match="decay_curve frame"):
        decay_summary(pd.DataFrame({"ndcg": [0.1]}))


@FAST
@given(
    ages=st.lists(st.integers(1, 10), min_size=2, max_size=8),
    slope=st.floats(-0.2, 0.2),
    seed=st.integers(0, 1000),
)
def test_retrain_interval_slope_is_weighted_least_squares_through_the_origin(ages, slope, seed):
    rng = np.random.default_rng(seed)
    a = np.asarray(ages, dtype=float)
    r = slope * a + rng.normal(0, 0.01, len(a))
    w = rng.uniform(0.5, 2.0, len(a))
    got = retrain_interval(a, r, max_drop=0.05, weights=w)
    sw = np.sqrt(w)
    expected = np.linalg.lstsq((sw * a)[:, None], sw * r, rcond=None)[0][0]
    assert got.slope == pytest.approx(expected, abs=1e-9)
    if got.slope < 0:
        assert got.interval == pytest.approx(0.05 / -got.slope, rel=1e-9)
    else:
        assert got.interval == float("inf")


def test_retrain_interval_by_hand_and_errors():
    plan = retrain_interval([1, 2], [-0.1, -0.2], max_drop=0.05)
    assert isinstance(plan, RetrainInterval)
    assert plan.slope == pytest.approx(-0.1) and plan.interval == pytest.approx(0.5)
    assert retrain_interval([1, 2], [0.01, 0.0], max_drop=0.05).interval == float("inf")
    with pytest.raises(ValueError, match="max_drop"):
        retrain_interval([1], [-0.1], max_drop=1.5)
    with pytest.raises(ValueError, match="non-zero age"):
        retrain_interval([0, 0], [0.0, 0.0], max_drop=0.05)
    with pytest.raises(ValueError, match="one length"):
        retrain_interval([1, 2], [0.1], max_drop=0.05)


# --------------------------------------------------------------------------- replay


def test_session_requests_one_per_user_day_at_first_event_and_capped():
    df = events([
        (1, 10, 0.5, 5), (1, 11, 0.2, 5), (2, 10, 0.9, 5), (3, 12, 0.1, 5),
        (1, 12, 1.3, 5), (2, 11, 1.7, 5), (2, 12, 3.0, 5),
    ])  # fmt: skip
    all_of_them = session_requests(df, day(0), day(3), per_day=10)
    assert list(zip(all_of_them[S.USER_ID], all_of_them[S.TIMESTAMP])) == [
        (3, day(0.1)), (1, day(0.2)), (2, day(0.9)), (1, day(1.3)), (2, day(1.7)),
    ]  # fmt: skip
    capped = session_requests(df, day(0), day(3), per_day=2, random_state=1)
    per_day = capped[S.TIMESTAMP].dt.floor("D").value_counts()
    assert per_day.max() == 2 and len(capped) == 4
    assert set(zip(capped[S.USER_ID], capped[S.TIMESTAMP])) <= set(
        zip(all_of_them[S.USER_ID], all_of_them[S.TIMESTAMP])
    )
    again = session_requests(df, day(0), day(3), per_day=2, random_state=1)
    pd.testing.assert_frame_equal(capped, again)
    with pytest.raises(ValueError, match="per_day"):
        session_requests(df, day(0), day(3), per_day=0)


class EchoService:
    """Records the histories it is sent; answers with the history reversed."""

    def __init__(self) -> None:
        self.request_log = None
        self.histories: list[list[int]] = []

    def recommend(self, user_id, history=None, k=10):
        self.histories.append(list(history))
        items = list(reversed(history))[:k]
        self.request_log.record(
            timestamp=0.0, user_id=user_id, source="echo", stage_ms={"ranking": 1.0},
            model_version="v0", items=items,
        )  # fmt: skip
        return {"items": items}


def test_replay_sends_recent_history_in_the_catalogue_and_restamps_the_log():
    df = events([
        (1, 10, 0.5, 5), (1, 11, 1.5, 5), (1, 99, 1.6, 5), (1, 12, 2.5, 5),
        (2, 13, 0.1, 5), (2, 14, 3.0, 5),
    ])  # fmt: skip
    requests = pd.DataFrame({S.TIMESTAMP: [day(1.0), day(2.5), day(2.9)], S.USER_ID: [1, 1, 2]})
    service = EchoService()
    before = RequestLog()
    service.request_log = before
    log = replay(service, requests, df, since=day(0.3), catalogue=[10, 11, 12, 13, 14])
    # history: events in [since, request time), item 99 not in the catalogue, 13 before since
    assert service.histories == [[10], [10, 11], []]
    assert service.request_log is before and len(before) == 0
    frame = log.to_frame()
    assert frame[S.TIMESTAMP].tolist() == requests[S.TIMESTAMP].tolist()
    assert frame["items"].tolist() == [[10], [11, 10], []]


def test_replay_through_the_recommendation_service(tiny_interactions, tiny_items):
    from course_utils.serving import RecommendationService

    cutoff = tiny_interactions[S.TIMESTAMP].quantile(0.7)
    model = Popularity().fit(tiny_interactions[tiny_interactions[S.TIMESTAMP] < cutoff])
    service = RecommendationService.from_model(model, tiny_items, model_version="v1")
    requests = session_requests(tiny_interactions, cutoff, cutoff + pd.Timedelta("60D"), per_day=3)
    log = replay(
        service, requests, tiny_interactions, since=cutoff, catalogue=model.items_.ids_, k=3
    )
    frame = log.to_frame()
    assert len(frame) == len(requests) > 0
    assert frame[S.TIMESTAMP].tolist() == requests[S.TIMESTAMP].tolist()
    assert (frame["model_version"] == "v1").all() and (frame["n_items"] == 3).all()


def test_online_metrics_matches_a_brute_force_loop():
    rng = np.random.default_rng(0)
    df = random_events(2, n=800, users=15, items=30, days=30)
    n = 60
    log = RequestLog.from_arrays(
        timestamp=DAY0 + pd.to_timedelta(np.sort(rng.uniform(0, 25, n)), unit="D"),
        user_id=rng.integers(1, 16, n), source="p", model_version="v1",
        stage_ms={"ranking": np.ones(n)}, n_items=np.full(n, 5),
        items=rng.integers(1, 31, 5 * n),
    )  # fmt: skip
    got = online_metrics(log, df, horizon="3D")
    frame = log.to_frame()
    for i in range(n):  # the reference: one request at a time
        t, u = frame[S.TIMESTAMP].iloc[i], frame[S.USER_ID].iloc[i]
        ahead = df[(df[S.USER_ID] == u) & (df[S.TIMESTAMP] > t)]
        ahead = ahead[ahead[S.TIMESTAMP] < t + pd.Timedelta("3D")]
        watched = set(ahead[S.ITEM_ID])
        assert got["n_watched"].iloc[i] == len(watched)
        assert got["n_hits"].iloc[i] == len(set(frame["items"].iloc[i]) & watched)
    assert got["hit"].equals(got["n_hits"] > 0)
    # the event that opened a session (stamped at the request time) is not a hit
    first = df.sort_values(S.TIMESTAMP).iloc[[0]]
    opener = RequestLog.from_arrays(
        timestamp=first[S.TIMESTAMP], user_id=first[S.USER_ID].to_numpy(), source="p",
        model_version="v1", stage_ms={"ranking": np.ones(1)}, n_items=np.ones(1, int),
        items=first[S.ITEM_ID].to_numpy(),
    )  # fmt: skip
    assert not online_metrics(opener, first, horizon="3D")["hit"].iloc[0]
    with pytest.raises(ValueError, match="horizon"):
        online_metrics(log, df, horizon="0D")


def test_restamp_validates_length_and_timezone():
    log = simulate_request_log(5, random_state=0)
    with pytest.raises(ValueError, match="one time per request"):
        restamp(log, pd.date_range("2024-01-01", periods=4, tz="UTC"))
    with pytest.raises(ValueError, match="timezone-aware"):
        restamp(log, pd.date_range("2024-01-01", periods=5))


# --------------------------------------------------------------------------- category PSI


def test_category_psi_equals_psi_categorical_per_window():
    rng = np.random.default_rng(3)
    genres = pd.Series(
        {
            i: list(rng.choice(["A", "B", "C", "D"], rng.integers(1, 3), replace=False))
            for i in range(1, 21)
        }
    )
    genres[21] = []  # no category: ignored
    df = random_events(4, n=2_000, users=50, items=21, days=6)
    ref = random_events(5, n=1_000, users=50, items=21, days=1)
    out = category_psi(df, genres, ref)
    flat = lambda frame: genres.reindex(frame[S.ITEM_ID]).explode().dropna().to_numpy()  # noqa: E731
    windows = df[S.TIMESTAMP].dt.floor("D")
    assert out.index.tolist() == sorted(windows.unique())
    for w, row in out.iterrows():
        in_w = df[windows == w]
        assert row["event_count"] == len(in_w)
        assert row["psi"] == pytest.approx(psi_categorical(flat(ref), flat(in_w)), rel=1e-9)


def test_category_psi_is_zero_for_the_same_mix_and_needs_a_reference():
    genres = pd.Series({1: ["A"], 2: ["B"]})
    ref = events([(1, 1, 0, 5), (1, 2, 0, 5)])
    cur = events([(1, 1, 1, 5), (2, 2, 1, 5), (3, 1, 1, 5), (4, 2, 1, 5)])
    assert category_psi(cur, genres, ref)["psi"].tolist() == [0.0]
    with pytest.raises(ValueError, match="no events with a category"):
        category_psi(cur, genres, events([(1, 3, 0, 5)]))


# --------------------------------------------------------------------------- fault injection


def test_inject_latency_adds_to_stage_and_total_after_start_only():
    log = simulate_request_log(4_000, start="2024-01-01", days=2, random_state=1)
    start = pd.Timestamp("2024-01-02", tz="UTC")
    before = log.to_frame()
    after = inject_latency(log, "ranking", 150.0, start=start, share=1.0).to_frame()
    late = (before[S.TIMESTAMP] >= start) & before["latency_ranking_ms"].notna()
    delta = after["latency_total_ms"] - before["latency_total_ms"]
    np.testing.assert_allclose(delta[late], 150.0)
    np.testing.assert_allclose(delta[~late], 0.0)
    np.testing.assert_allclose(
        (after["latency_ranking_ms"] - before["latency_ranking_ms"])[late], 150.0
    )
    assert after["latency_ranking_ms"][before["latency_ranking_ms"].isna()].isna().all()
    pd.testing.assert_series_equal(after["latency_retrieval_ms"], before["latency_retrieval_ms"])


def test_inject_latency_share_is_a_seeded_fraction_and_frames_stay_frames():
    frame = simulate_request_log(20_000, days=1, cold_start_share=0.0, random_state=2).to_frame()
    start = frame[S.TIMESTAMP].min()
    out = inject_latency(frame, "rerank", 100.0, start=start, share=0.03, random_state=4)
    assert isinstance(out, pd.DataFrame)
    hit = (out["latency_rerank_ms"] - frame["latency_rerank_ms"]) > 50
    assert 0.025 < hit.mean() < 0.035
    again = inject_latency(frame, "rerank", 100.0, start=start, share=0.03, random_state=4)
    pd.testing.assert_frame_equal(out, again)
    assert frame["latency_rerank_ms"].equals(
        simulate_request_log(20_000, days=1, cold_start_share=0.0, random_state=2).to_frame()[
            "latency_rerank_ms"
        ]
    )


def test_inject_latency_validates_inputs():
    log = simulate_request_log(10, random_state=0)
    with pytest.raises(ValueError, match="stage 'gpu' is not in the log"):
        inject_latency(log, "gpu", 10.0, start="2024-01-01T00:00Z")
    with pytest.raises(ValueError, match="share"):
        inject_latency(log, "ranking", 10.0, start="2024-01-01T00:00Z", share=2.0)
    with pytest.raises(ValueError, match="extra_ms"):
        inject_latency(log, "ranking", -1.0, start="2024-01-01T00:00Z")
    with pytest.raises(TypeError, match="RequestLog or a DataFrame"):
        inject_latency([1, 2], "ranking", 1.0, start="2024-01-01T00:00Z")


# --------------------------------------------------------------------------- A/A threshold


def test_aa_psi_threshold_equals_a_direct_computation():
    x = np.random.default_rng(0).lognormal(3.0, 0.5, 601)
    rng = np.random.default_rng(9)
    scores = []
    for _ in range(30):
        perm = rng.permutation(601)
        scores.append(psi(x[perm[:300]], x[perm[300:]]))
    got = aa_psi_threshold(x, n_splits=30, q=90.0, random_state=9)
    assert got == pytest.approx(np.percentile(scores, 90.0), rel=1e-12)


def test_aa_psi_threshold_shrinks_with_sample_size_and_validates():
    rng = np.random.default_rng(1)
    small = aa_psi_threshold(rng.normal(size=400), n_splits=50)
    large = aa_psi_threshold(rng.normal(size=20_000), n_splits=50)
    assert large < small / 10
    with pytest.raises(ValueError, match="n_splits"):
        aa_psi_threshold(rng.normal(size=10), n_splits=0)
    with pytest.raises(ValueError, match=">= 4 values"):
        aa_psi_threshold([1.0, 2.0])
    with pytest.raises(ValueError, match="q must be"):
        aa_psi_threshold(rng.normal(size=10), q=120)
