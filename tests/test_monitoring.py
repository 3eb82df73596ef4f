"""Tests for course_utils.monitoring against numpy/scipy references and hand calculations."""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import monitoring as mon
from course_utils.monitoring.alerts import DEFAULT_RULES, Alert, AlertRule, evaluate_alerts
from course_utils.monitoring.changes import detect_change_day
from course_utils.monitoring.drift import (
    chi2_test_categorical,
    drift_report,
    ks_test,
    psi,
    psi_categorical,
)
from course_utils.monitoring.request_log import RequestLog, simulate_request_log
from course_utils.monitoring.staleness import freshness
from course_utils.monitoring.summaries import rolling_percentile, summarize

DAY0 = pd.Timestamp("2024-01-01", tz="UTC")
FAST = settings(max_examples=25, deadline=None)


def small_log() -> RequestLog:
    """Two days of hand-written requests (day 3 empty, day 4 has one request)."""
    log = RequestLog()
    rows = [
        # day, hour, source, stages, error, items
        (0, 1, "personalized", {"retrieval": 10.0, "ranking": 30.0}, None, [1, 2, 3]),
        (0, 5, "personalized", {"retrieval": 20.0, "ranking": 50.0}, None, [1, 1]),
        (0, 9, "cold_start", {"retrieval": 5.0}, None, [3]),
        (0, 23, "personalized", {"retrieval": 40.0, "ranking": 90.0}, "timeout", []),
        (1, 2, "personalized", {"retrieval": 12.0, "ranking": 31.0}, None, [2, 99]),
        (1, 3, "fallback", {"retrieval": 8.0, "total": 100.0}, None, None),
        (3, 0, "personalized", {"retrieval": 9.0, "ranking": 21.0}, None, [4, 1]),
    ]
    for i, (day, hour, source, stages, error, items) in enumerate(rows):
        log.record(
            timestamp=DAY0 + pd.Timedelta(days=day, hours=hour), user_id=i, source=source,
            stage_ms=stages, model_version="v1", error=error, items=items,
            n_items=0 if items is None else None,
        )  # fmt: skip
    return log


# --------------------------------------------------------------------- request log


def test_to_frame_layout_and_values():
    df = small_log().to_frame()
    assert list(df.columns) == [
        "timestamp", "user_id", "source", "latency_retrieval_ms", "latency_ranking_ms",
        "latency_total_ms", "n_items", "model_version", "error", "items",
    ]  # fmt: skip
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["latency_total_ms"].tolist() == [40.0, 70.0, 5.0, 130.0, 43.0, 100.0, 30.0]
    assert np.isnan(df["latency_ranking_ms"].iloc[2])  # stage did not run
    assert df["items"].iloc[0] == [1, 2, 3] and df["items"].iloc[3] == []
    assert df["items"].iloc[5] is None
    assert df["error"].iloc[3] == "timeout" and df["error"].iloc[0] is None
    assert df["n_items"].tolist() == [3, 2, 1, 0, 2, 0, 2]


def test_stage_first_seen_late_is_backfilled_with_nan():
    log = RequestLog()
    log.record(
        timestamp=0.0, user_id=1, source="p", stage_ms={"a": 1.0}, model_version="v", n_items=0
    )
    _ = log.to_frame()  # consolidate, then add a new stage
    log.record(
        timestamp=1.0, user_id=1, source="p", stage_ms={"b": 2.0}, model_version="v", n_items=0
    )
    log.record(
        timestamp=2.0, user_id=1, source="p", stage_ms={"c": 3.0}, model_version="v", n_items=0
    )
    df = log.to_frame()
    np.testing.assert_array_equal(df["latency_a_ms"], [1.0, np.nan, np.nan])
    np.testing.assert_array_equal(df["latency_b_ms"], [np.nan, 2.0, np.nan])
    np.testing.assert_array_equal(df["latency_c_ms"], [np.nan, np.nan, 3.0])
    assert df["timestamp"].iloc[1] == pd.Timestamp("1970-01-01 00:00:01", tz="UTC")
    assert len(log) == 3 and log.stages == ["a", "b", "c"]


def test_record_from_several_threads_keeps_rows_aligned():
    log = RequestLog()

    def worker(offset: int) -> None:
        for i in range(offset, offset + 2_000):
            log.record(
                timestamp=float(i), user_id=i, source=f"s{i % 3}", stage_ms={"a": float(i)},
                model_version="v", items=[i, i + 1],
            )  # fmt: skip

    threads = [threading.Thread(target=worker, args=(k * 10_000,)) for k in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: without the lock rows interleave
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    df = log.to_frame()
    assert len(df) == 8_000
    ids = df["user_id"].to_numpy()
    np.testing.assert_array_equal(df["latency_a_ms"].to_numpy(), ids.astype(float))
    seconds = (df["timestamp"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    np.testing.assert_array_equal(seconds.to_numpy(), ids)
    assert (df["source"] == [f"s{i % 3}" for i in ids]).all()
    assert df["items"].tolist() == [[i, i + 1] for i in ids]


def test_from_frame_round_trip_and_from_arrays_match_record():
    log = small_log()
    df = log.to_frame()
    pd.testing.assert_frame_equal(RequestLog.from_frame(df).to_frame(), df)
    has = df["items"].notna().to_numpy()
    built = RequestLog.from_arrays(
        timestamp=df["timestamp"], user_id=df["user_id"], source=df["source"],
        stage_ms={"retrieval": df["latency_retrieval_ms"], "ranking": df["latency_ranking_ms"]},
        total_ms=df["latency_total_ms"], n_items=df["n_items"], model_version="v1",
        error=df["error"], items=[i for lst in df["items"][has] for i in lst], has_items=has,
    )  # fmt: skip
    pd.testing.assert_frame_equal(built.to_frame(), df)


def test_from_arrays_default_total_is_nan_ignoring_stage_sum():
    log = RequestLog.from_arrays(
        timestamp=[DAY0, DAY0], user_id=[1, 2], source="p", model_version="v",
        stage_ms={"a": [1.0, 2.0], "b": [np.nan, 5.0]}, n_items=[0, 0],
    )  # fmt: skip
    assert log.to_frame()["latency_total_ms"].tolist() == [1.0, 7.0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timestamp": pd.Timestamp("2024-01-01")}, ValueError, "timezone-aware"),
        ({"stage_ms": {"a": -1.0}}, ValueError, ">= 0 ms"),
        ({"stage_ms": {"a": float("nan")}}, ValueError, ">= 0 ms"),
        ({"stage_ms": [1.0]}, TypeError, "mapping"),
        ({"items": [1, 2], "n_items": 3}, ValueError, "n_items=3"),
        ({"items": "abc"}, TypeError, "sequence"),
        ({"items": None}, ValueError, "n_items must be"),
        ({"error": 500}, TypeError, "error must be None or a str"),
    ],
)
def test_record_rejects_bad_input_without_corrupting_the_log(kwargs, error, match):
    log = RequestLog()
    good = dict(
        timestamp=DAY0, user_id=1, source="p", stage_ms={"a": 1.0}, model_version="v", items=[1]
    )
    log.record(**good)
    with pytest.raises(error, match=match):
        log.record(**{**good, **kwargs})
    assert len(log.to_frame()) == 1


def test_from_frame_and_from_arrays_errors():
    df = small_log().to_frame()
    with pytest.raises(ValueError, match="missing required columns"):
        RequestLog.from_frame(df.drop(columns="source"))
    with pytest.raises(ValueError, match="tz-aware"):
        RequestLog.from_frame(df.assign(timestamp=df["timestamp"].dt.tz_localize(None)))
    with pytest.raises(ValueError, match="disagrees"):
        RequestLog.from_frame(df.assign(n_items=5))
    with pytest.raises(TypeError, match="DataFrame"):
        RequestLog.from_frame({"a": 1})
    with pytest.raises(ValueError, match="must hold"):
        RequestLog.from_arrays(
            timestamp=[DAY0], user_id=[1], source="p", model_version="v",
            stage_ms={"a": [1.0]}, n_items=[3], items=[1, 2],
        )  # fmt: skip


def test_simulate_is_seeded():
    a = simulate_request_log(500, random_state=3).to_frame()
    pd.testing.assert_frame_equal(a, simulate_request_log(500, random_state=3).to_frame())
    assert not a.equals(simulate_request_log(500, random_state=4).to_frame())
    with pytest.raises(ValueError, match="cold_start_share"):
        simulate_request_log(10, cold_start_share=1.5)


# ----------------------------------------------------------------------- summarize


def test_summarize_small_log_by_hand():
    genres = {1: ["A"], 2: ["A", "B"], 3: ["C"]}  # item 4 and 99: no genres
    popularity = {1: 10.0, 2: 4.0, 3: 1.0, 4: 2.0}  # 99 unknown
    s = summarize(
        small_log(), "1D", catalog_size=10, item_popularity=popularity, item_genres=genres
    )
    assert list(s.index) == list(pd.date_range(DAY0, periods=4, freq="D"))
    assert s.index.name == "window"
    assert s["request_count"].tolist() == [4, 2, 0, 1]
    np.testing.assert_allclose(s["error_rate"], [0.25, 0.0, np.nan, 0.0])
    np.testing.assert_allclose(s["share_cold_start"], [0.25, 0.0, np.nan, 0.0])
    np.testing.assert_allclose(s["share_fallback"], [0.0, 0.5, np.nan, 0.0])
    np.testing.assert_allclose(s["n_items_mean"], [6 / 4, 1.0, np.nan, 2.0])
    # day 1 served {1, 2, 3}, day 2 {2, 99}, day 4 {4, 1}
    np.testing.assert_allclose(s["n_distinct_items"], [3, 2, np.nan, 2])
    np.testing.assert_allclose(s["coverage"], [0.3, 0.2, np.nan, 0.2])
    # impressions day 1: 1, 2, 3, 1, 1 -> (10 + 4 + 1 + 10 + 10) / 5; day 2: only item 2 known
    np.testing.assert_allclose(s["popularity_mean"], [6.0, 4.0, np.nan, 6.0])
    # ILD: [1,2,3] -> 1 - (1/sqrt 2)/3; [1,1] -> 0; day 2 [2,99] and day 4 [4,1] -> 1
    np.testing.assert_allclose(
        s["ild_mean"], [(1 - 1 / math.sqrt(2) / 3 + 0.0) / 2, 1.0, np.nan, 1.0]
    )
    # latency percentiles: numpy's linear interpolation, NaN stages ignored
    day1_total = [40.0, 70.0, 5.0, 130.0]
    for q in (50, 95, 99):
        assert s[f"latency_total_ms_p{q}"].iloc[0] == pytest.approx(np.percentile(day1_total, q))
        assert s[f"latency_ranking_ms_p{q}"].iloc[0] == pytest.approx(
            np.percentile([30.0, 50.0, 90.0], q)
        )
    assert np.isnan(s["latency_total_ms_p99"].iloc[2])


@pytest.mark.parametrize(
    "to_id", [lambda i: f"m{i}", lambda i: 10**12 + i], ids=["str", "huge-int"]
)
def test_summarize_item_stats_do_not_depend_on_the_id_encoding(to_id):
    genres = {1: ["A"], 2: ["A", "B"], 3: ["C"]}
    popularity = {1: 10.0, 2: 4.0, 3: 1.0, 4: 2.0}
    kwargs = dict(catalog_size=10, item_popularity=popularity, item_genres=genres)
    expected = summarize(small_log(), "1D", **kwargs)
    df = small_log().to_frame()
    df["items"] = [None if lst is None else [to_id(i) for i in lst] for lst in df["items"]]
    renamed = {
        "catalog_size": 10,
        "item_popularity": {to_id(k): v for k, v in popularity.items()},
        "item_genres": {to_id(k): v for k, v in genres.items()},
    }
    got = summarize(RequestLog.from_frame(df), "1D", **renamed)
    pd.testing.assert_frame_equal(got, expected)
    assert RequestLog.from_frame(df).to_frame()["items"].iloc[0] == [to_id(i) for i in (1, 2, 3)]


def test_summarize_frame_equals_log_and_hourly_windows_align():
    log = simulate_request_log(3_000, days=2, catalog_size=300, random_state=1)
    kwargs = dict(catalog_size=300, item_popularity={i: float(i) for i in range(1, 301)})
    pd.testing.assert_frame_equal(
        summarize(log, "6h", **kwargs), summarize(log.to_frame(), "6h", **kwargs)
    )
    df = log.to_frame()
    other_tz_and_unit = df.assign(
        timestamp=df["timestamp"].dt.tz_convert("Asia/Kolkata").dt.as_unit("us")
    )
    pd.testing.assert_frame_equal(summarize(other_tz_and_unit, "6h"), summarize(log, "6h"))
    hourly = summarize(log, "1h")
    assert hourly.index[0] == DAY0 and (hourly.index.minute == 0).all()
    assert hourly["request_count"].sum() == 3_000 and len(hourly) == 48


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 71), st.floats(0, 500, allow_nan=False)), min_size=1, max_size=60
    ),
    st.sampled_from(["1h", "6h", "1D"]),
)
def test_summarize_percentiles_match_numpy_per_window(rows, freq):
    hours = np.array([h for h, _ in rows])
    lat = np.array([v for _, v in rows])
    ts = DAY0 + pd.to_timedelta(hours, unit="h")
    log = RequestLog.from_arrays(
        timestamp=ts, user_id=np.arange(len(rows)), source="p", model_version="v",
        stage_ms={"rank": lat}, n_items=np.zeros(len(rows), int),
    )  # fmt: skip
    s = summarize(log, freq, percentiles=(50, 90, 99))
    window = ts.floor(freq)
    for start, row in s.iterrows():
        group = lat[window == start]
        assert row["request_count"] == len(group)
        for q in (50, 90, 99):
            expected = np.percentile(group, q) if len(group) else np.nan
            np.testing.assert_allclose(row[f"latency_rank_ms_p{q}"], expected, rtol=1e-12)


def test_summarize_windowed_psi_matches_psi_per_window():
    ref = simulate_request_log(2_000, days=1, random_state=5)
    cur = simulate_request_log(3_000, days=3, cold_start_share=0.3, random_state=6)
    s = summarize(cur, "1D", reference=ref, drift_columns=("latency_total_ms", "source"))
    rdf, cdf = ref.to_frame(), cur.to_frame()
    day = cdf["timestamp"].dt.floor("1D")
    for start in s.index:
        part = cdf[day == start]
        assert s.loc[start, "psi_latency_total_ms"] == pytest.approx(
            psi(rdf["latency_total_ms"], part["latency_total_ms"]), rel=1e-12
        )
        assert s.loc[start, "psi_source"] == pytest.approx(
            psi_categorical(rdf["source"], part["source"]), rel=1e-12
        )
    assert (s["psi_source"] > mon.PSI_SIGNIFICANT).all()  # cold-start share 5% -> 30%


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("1M",), {}, "fixed length"),
        (("-1h",), {}, "positive"),
        (("1D",), {"percentiles": (50, 101)}, "percentiles"),
        (("1D",), {"drift_columns": ("n_items",)}, "reference"),
        (("1D",), {"catalog_size": 0}, "catalog_size"),
    ],
)
def test_summarize_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        summarize(small_log(), *args, **kwargs)


def test_summarize_other_errors():
    with pytest.raises(ValueError, match="empty"):
        summarize(RequestLog())
    with pytest.raises(TypeError, match="RequestLog or a DataFrame"):
        summarize([1, 2])
    no_items = RequestLog()
    no_items.record(
        timestamp=DAY0, user_id=1, source="p", stage_ms={}, model_version="v", n_items=3
    )
    with pytest.raises(ValueError, match="no served items"):
        summarize(no_items, catalog_size=10)
    with pytest.raises(ValueError, match="not a log column"):
        summarize(small_log(), reference=small_log(), drift_columns=("nope",))


# -------------------------------------------------------------------------- drift

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=80)


@FAST
@given(samples, st.integers(1, 20), st.randoms(use_true_random=False))
def test_psi_is_zero_for_identical_distributions(x, bins, rnd):
    shuffled = list(x)
    rnd.shuffle(shuffled)
    assert psi(x, x, bins=bins) == 0.0
    assert psi(x, shuffled, bins=bins) == pytest.approx(0.0, abs=1e-12)
    assert psi(x, x + x, bins=bins) == pytest.approx(0.0, abs=1e-12)  # same proportions


@FAST
@given(samples, samples, st.integers(1, 20))
def test_psi_is_non_negative(x, y, bins):
    assert psi(x, y, bins=bins) >= 0.0


def test_psi_hand_computed():
    # reference 0..99 in 10 quantile bins of 10 values; current shifted by 10
    got = psi(np.arange(100), np.arange(100) + 10, bins=10, eps=1e-3)
    p = np.full(10, 0.1)
    q = np.array([1e-3] + [0.1] * 8 + [0.2])  # first bin empty -> eps; last gets 20
    assert got == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-12)


def test_psi_constant_reference_still_detects_a_shift():
    assert psi(np.ones(50), np.ones(50)) == 0.0
    assert psi(np.ones(50), np.zeros(50)) > mon.PSI_SIGNIFICANT


def test_psi_categorical_values_counts_and_new_categories():
    ref, cur = ["a"] * 60 + ["b"] * 40, ["a"] * 30 + ["b"] * 50 + ["c"] * 20
    p, q = np.array([0.6, 0.4, 1e-4]), np.array([0.3, 0.5, 0.2])
    expected = np.sum((q - p) * np.log(q / p))
    assert psi_categorical(ref, cur) == pytest.approx(expected, rel=1e-12)
    counts = psi_categorical(
        {"a": 60, "b": 40}, pd.Series({"a": 30, "b": 50, "c": 20}), counts=True
    )
    assert counts == pytest.approx(expected, rel=1e-12)
    assert psi_categorical(ref, list(reversed(ref))) == 0.0


@FAST
@given(
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=50),
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=50),
)
def test_psi_categorical_non_negative_and_zero_on_self(x, y):
    assert psi_categorical(x, y) >= 0.0
    assert psi_categorical(x, x) == 0.0


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@FAST
@given(
    st.lists(st.integers(-5, 5) | finite, min_size=1, max_size=60),
    st.lists(st.integers(-5, 5) | finite, min_size=1, max_size=60),
)
def test_ks_statistic_and_pvalue_match_scipy(x, y):
    ours = ks_test(x, y)
    ref = scipy.stats.ks_2samp(x, y)
    assert abs(ours.statistic - ref.statistic) <= 1e-12
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


def test_ks_large_samples_use_the_asymptotic_pvalue():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=12_000), rng.normal(0.03, 1, 15_000)
    ours = ks_test(x, y)
    ref = scipy.stats.ks_2samp(x, y)  # scipy's 'auto' is asymptotic at this size too
    assert abs(ours.statistic - ref.statistic) <= 1e-12
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    small = ks_test(x[:50], y[:60], method="asymp")
    assert small.pvalue == pytest.approx(
        scipy.stats.ks_2samp(x[:50], y[:60], method="asymp").pvalue
    )


@FAST
@given(
    st.lists(st.sampled_from(["tv", "app", "web", "console"]), min_size=2, max_size=80),
    st.lists(st.sampled_from(["tv", "app", "web"]), min_size=2, max_size=80),
)
def test_chi2_matches_scipy_on_the_contingency_table(x, y):
    categories = sorted(set(x) | set(y))
    table = np.array([[x.count(c) for c in categories], [y.count(c) for c in categories]])
    ref = scipy.stats.chi2_contingency(table, correction=False)
    ours = chi2_test_categorical(x, y)
    assert ours.dof == ref.dof
    np.testing.assert_allclose(
        [ours.statistic, ours.pvalue], [ref.statistic, ref.pvalue], rtol=1e-12, atol=1e-15
    )
    by_counts = chi2_test_categorical(
        pd.Series(x).value_counts(), pd.Series(y).value_counts(), counts=True
    )
    assert by_counts.statistic == pytest.approx(ours.statistic, rel=1e-12, abs=1e-15)


def test_drift_report_flags_the_shifted_feature():
    rng = np.random.default_rng(0)
    n = 4_000
    ref = pd.DataFrame(
        {
            "age": rng.normal(30, 5, n),
            "device": rng.choice(["tv", "app"], n),
            "flag": rng.random(n) < 0.5,
        }
    )
    cur = pd.DataFrame(
        {
            "age": rng.normal(36, 5, n),
            "device": rng.choice(["tv", "app"], n),
            "flag": rng.random(n) < 0.5,
        }
    )
    cur.loc[:9, "age"] = np.nan
    report = drift_report(ref, cur, ["age", "device", "flag"])
    assert report.index.tolist() == ["age", "device", "flag"]
    assert report["drift"].tolist() == [True, False, False]
    assert report["kind"].tolist() == ["numeric", "categorical", "categorical"]
    assert report.loc["age", "n_current"] == n - 10 and report.loc["age", "test"] == "ks"
    assert report.loc["age", "psi"] == pytest.approx(psi(ref["age"], cur["age"].dropna()))
    assert report.loc["age", "psi_level"] == "significant" and report.loc["age", "significant"]
    assert report.loc["device", "p_value"] == pytest.approx(
        chi2_test_categorical(ref["device"], cur["device"]).pvalue
    )


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: psi([1.0, np.nan], [1.0]), ValueError, "NaN"),
        (lambda: psi([], [1.0]), ValueError, "non-empty"),
        (lambda: psi([1.0], [1.0], bins=0), ValueError, "bins"),
        (lambda: psi([1.0], [1.0], eps=0), ValueError, "eps"),
        (lambda: psi(["a"], ["b"]), TypeError, "numeric"),
        (lambda: ks_test([[1.0, 2.0]], [1.0]), ValueError, "1-D"),
        (lambda: ks_test([1.0], [1.0], method="x"), ValueError, "method"),
        (lambda: psi_categorical([], ["a"]), ValueError, "no observations"),
        (lambda: psi_categorical(["a"], ["a"], counts=True), TypeError, "mapping"),
        (lambda: psi_categorical({"a": -1}, {"a": 1}, counts=True), ValueError, ">= 0"),
        (
            lambda: drift_report(pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]}), ["a"]),
            ValueError,
            "lacks",
        ),
        (
            lambda: drift_report(pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}), []),
            ValueError,
            "non-empty",
        ),
    ],
)
def test_drift_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------- alerts


def frame(**cols):
    n = len(next(iter(cols.values())))
    return pd.DataFrame(cols, index=pd.date_range(DAY0, periods=n, freq="D", name="window"))


def test_alert_fires_exactly_on_the_crossing_window():
    s = frame(latency_total_ms_p99=[150.0, 180.0, 230.0, 190.0, 199.9], request_count=[500] * 5)
    alerts = evaluate_alerts(s, [AlertRule("latency_total_ms_p99", 200.0, ">", min_count=100)])
    assert [a.time for a in alerts] == [s.index[2]]
    a = alerts[0]
    assert (a.metric, a.value, a.threshold, a.severity) == (
        "latency_total_ms_p99",
        230.0,
        200.0,
        "warning",
    )
    assert str(a) == "[WARNING] 2024-01-03 00:00 UTC | latency_total_ms_p99 = 230 > 200"
    with pytest.raises(AttributeError):
        a.value = 1.0  # frozen


def test_alert_window_min_count_and_direction():
    s = frame(
        coverage=[0.5, 0.1, 0.1, 0.5, 0.1, 0.1, 0.1], request_count=[10, 10, 10, 10, 10, 5, 10]
    )
    low = AlertRule("coverage", 0.2, "<", window=2)
    assert [a.time for a in evaluate_alerts(s, [low])] == [s.index[2], s.index[5], s.index[6]]
    gated = AlertRule("coverage", 0.2, "<", window=2, min_count=10)  # day 6 too small: run broken
    assert [a.time for a in evaluate_alerts(s, [gated])] == [s.index[2]]
    assert "for 2 windows" in evaluate_alerts(s, [gated])[0].message


def test_delta_and_relative_rules_compare_to_the_trailing_mean():
    s = frame(
        share_cold_start=[0.05, 0.05, 0.05, 0.06, 0.12, 0.13],
        coverage=[0.4, 0.4, 0.4, 0.38, 0.28, 0.4],
    )
    jump = AlertRule("share_cold_start", 0.05, ">", mode="delta", baseline_windows=3)
    alerts = evaluate_alerts(s, [jump])
    assert [a.time for a in alerts] == [s.index[4], s.index[5]]
    assert alerts[0].value == pytest.approx(0.12 - (0.05 + 0.05 + 0.06) / 3)
    drop = AlertRule("coverage", -0.2, "<", mode="relative", baseline_windows=3)
    alerts = evaluate_alerts(s, [drop])
    assert [a.time for a in alerts] == [s.index[4]]
    assert alerts[0].value == pytest.approx(0.28 / ((0.4 + 0.4 + 0.38) / 3) - 1)


def test_glob_rules_missing_metrics_and_ordering():
    s = frame(psi_source=[0.01, 0.3], psi_n_items=[0.25, 0.02], error_rate=[0.02, 0.0])
    rules = [AlertRule("psi_*", 0.2, severity="critical"), AlertRule("error_rate", 0.01)]
    alerts = evaluate_alerts(s, rules)
    assert [(a.time, a.metric) for a in alerts] == [
        (s.index[0], "psi_n_items"), (s.index[0], "error_rate"), (s.index[1], "psi_source"),
    ]  # fmt: skip
    assert evaluate_alerts(s[["error_rate"]], [AlertRule("psi_*", 0.2)]) == []
    with pytest.raises(ValueError, match="'coverage' is not a summary column"):
        evaluate_alerts(s, [AlertRule("coverage", 0.1, "<")])
    assert evaluate_alerts(s, [AlertRule("coverage", 0.1, "<")], missing="skip") == []
    with pytest.raises(ValueError, match="request_count"):
        evaluate_alerts(s, [AlertRule("error_rate", 0.01, min_count=5)])


def test_default_rules_fire_only_on_the_injected_incidents():
    log = simulate_request_log(20_000, days=10, catalog_size=500, random_state=0)
    df = log.to_frame()
    day = (df["timestamp"] - DAY0).dt.days
    df.loc[day == 8, "latency_total_ms"] += 200.0  # day 9: latency incident
    s = summarize(RequestLog.from_frame(df), "1D", catalog_size=500)
    alerts = evaluate_alerts(s, DEFAULT_RULES)
    assert [(a.time, a.metric, a.severity) for a in alerts] == [
        (s.index[8], "latency_total_ms_p99", "critical")
    ]
    assert "SLO" in str(alerts[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"direction": ">="}, "direction"),
        ({"window": 0}, "window"),
        ({"min_count": -1}, "min_count"),
        ({"mode": "ratio"}, "mode"),
        ({"baseline_windows": 0}, "baseline_windows"),
        ({"severity": "page"}, "severity"),
        ({"threshold": float("nan")}, "finite"),
    ],
)
def test_alert_rule_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AlertRule(**{"metric": "error_rate", "threshold": 0.01, **kwargs})


def test_evaluate_alerts_type_errors():
    with pytest.raises(TypeError, match="DataFrame"):
        evaluate_alerts([1, 2])
    with pytest.raises(TypeError, match="AlertRule"):
        evaluate_alerts(frame(error_rate=[0.0]), ["error_rate > 0.01"])


# ---------------------------------------------------------------------- freshness


def test_freshness_arithmetic_and_alerts():
    f = freshness("2024-03-10T12:00Z", "2024-03-01T00:00Z", "2024-02-29T00:00Z")
    assert f.model_age == pd.Timedelta(days=9, hours=12)
    assert f.data_age == pd.Timedelta(days=10, hours=12)
    assert not f.is_fresh
    assert [(a.metric, a.value, a.threshold) for a in f.alerts] == [
        ("model_age_days", 9.5, 7.0), ("data_age_days", 10.5, 2.0),
    ]  # fmt: skip
    assert all(isinstance(a, Alert) and a.time == f.now for a in f.alerts)
    ok = freshness(pd.Timestamp("2024-03-02", tz="UTC"), "2024-03-01T00:00Z", "2024-03-01T00:00Z")
    assert ok.is_fresh and ok.alerts == ()
    edge = freshness(
        "2024-03-08T00:00Z", "2024-03-01T00:00Z", "2024-03-01T00:00Z", max_data_age="7D"
    )
    assert edge.is_fresh  # exactly at the limit is not stale
    paris = freshness(
        pd.Timestamp("2024-03-02 01:00", tz="Europe/Paris"),
        "2024-03-01T00:00Z",
        "2024-03-01T00:00Z",
    )
    assert paris.model_age == pd.Timedelta(hours=24)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (
            ("2024-03-02", "2024-03-01T00:00Z", "2024-03-01T00:00Z"),
            {},
            "now must be timezone-aware",
        ),
        (("2024-03-02T00:00Z", "2024-03-03T00:00Z", "2024-03-01T00:00Z"), {}, "after now"),
        (
            ("2024-03-02T00:00Z", "2024-03-01T00:00Z", "2024-03-01T06:00Z"),
            {},
            "after model_trained_at",
        ),
        (
            ("2024-03-02T00:00Z", "2024-03-01T00:00Z", "2024-03-01T00:00Z"),
            {"max_model_age": "0D"},
            "positive",
        ),
    ],
)
def test_freshness_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        freshness(*args, **kwargs)


# ------------------------------------------------------------------- series helpers


@FAST
@given(
    st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=40),
    st.integers(1, 10),
    st.sampled_from([50.0, 95.0, 99.0]),
)
def test_rolling_percentile_matches_numpy(values, window, q):
    got = rolling_percentile(values, window, q=q).to_numpy()
    for i in range(len(values)):
        expected = np.percentile(values[i - window + 1 : i + 1], q) if i >= window - 1 else np.nan
        np.testing.assert_allclose(got[i], expected, rtol=1e-9, atol=1e-9)


def test_rolling_percentile_time_window_and_errors():
    idx = pd.date_range(DAY0, periods=6, freq="1min")
    s = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0, 60.0], index=idx)
    got = rolling_percentile(s, "3min", q=50)
    assert got.tolist() == [10.0, 15.0, 20.0, 30.0, 40.0, 50.0]
    with pytest.raises(ValueError, match="DatetimeIndex"):
        rolling_percentile([1.0, 2.0], "3min")
    with pytest.raises(ValueError, match="q must be"):
        rolling_percentile([1.0], 1, q=101)
    with pytest.raises(ValueError, match="window"):
        rolling_percentile([1.0], 0)


def test_detect_change_day():
    s = pd.Series([0.05, 0.04, 0.21, 0.03], index=pd.date_range(DAY0, periods=4, freq="D"))
    assert detect_change_day(s, 0.1) == s.index[2]
    assert detect_change_day(s, 0.04, direction="<") == s.index[3]
    assert detect_change_day(s, 0.5) is None
    with pytest.raises(TypeError, match="Series"):
        detect_change_day([0.1], 0.05)
    with pytest.raises(ValueError, match="direction"):
        detect_change_day(s, 0.1, direction="=")


def test_cold_start_share_pools_every_cold_start_path():
    from course_utils.monitoring.request_log import RequestLog
    from course_utils.monitoring.summaries import summarize

    log = RequestLog()
    for i, source in enumerate(
        ["personalised", "cold_start_popularity", "cold_start_content", "personalised"]
    ):
        log.record(
            timestamp=pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=i),
            user_id=i,
            source=source,
            stage_ms={"retrieval": 1.0},
            model_version="v1",
            n_items=10,
        )
    row = summarize(log, "1D").iloc[0]
    assert row["share_cold_start"] == pytest.approx(0.5)
    assert row["share_cold_start_content"] == pytest.approx(0.25)
