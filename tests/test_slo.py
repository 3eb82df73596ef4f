"""Tests for course_utils.monitoring.slo: burn rates against a direct count, alert episodes."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.monitoring import slo
from course_utils.monitoring.slo import burn_rate_alerts, burn_rates


def _log(latencies, start="2024-01-01", freq="30s"):
    t = pd.date_range(start, periods=len(latencies), freq=freq, tz="UTC")
    return pd.Series(np.asarray(latencies, float), index=t)


@given(
    lat=st.lists(st.sampled_from([10.0, 150.0, 250.0, 900.0]), min_size=1, max_size=60),
    window_min=st.integers(1, 20),
)
def test_burn_rate_equals_a_direct_count_of_the_trailing_window(lat, window_min):
    series = _log(lat)
    rates = burn_rates(series, windows=(f"{window_min}min",), step="1min", objective=0.98)
    name = f"{window_min}min"
    for t, row in rates.iterrows():
        inside = series[(series.index > t - pd.Timedelta(minutes=window_min)) & (series.index <= t)]
        assert row[f"requests_{name}"] == len(inside)
        if len(inside):
            expected = (inside > 200).mean() / 0.02
            assert row[f"burn_{name}"] == pytest.approx(expected)
        else:
            assert np.isnan(row[f"burn_{name}"])


def test_a_blip_does_not_page_and_a_sustained_burn_does():
    fast = [10.0] * 120
    blip = fast[:60] + [500.0] * 2 + fast[62:]  # one minute of slow requests
    sustained = fast[:60] + [500.0] * 40 + fast[100:]  # twenty minutes
    kw = dict(factor=14.4, windows=("5min", "1h"), min_duration="5min")
    quiet = burn_rate_alerts(burn_rates(_log(blip), windows=("5min", "1h")), **kw)
    loud = burn_rate_alerts(burn_rates(_log(sustained), windows=("5min", "1h")), **kw)
    assert len(quiet) == 0
    assert len(loud) == 1
    ep = loud.iloc[0]
    assert ep["fired"] - ep["condition_from"] == pd.Timedelta("5min")
    # resolves within the short window after the slow requests stop
    stop = _log(sustained).index[100]
    assert stop < ep["resolved"] <= stop + pd.Timedelta("6min")


def test_short_window_clears_the_page_while_the_long_window_still_burns():
    lat = [10.0] * 60 + [500.0] * 30 + [10.0] * 60
    rates = burn_rates(_log(lat), windows=("5min", "1h"))
    ep = burn_rate_alerts(rates, factor=14.4, windows=("5min", "1h"), min_duration="1min")
    assert len(ep) == 1
    after = rates.loc[ep["resolved"].iloc[0]]
    assert after["burn_1h"] >= 14.4 > after["burn_5min"]


def test_min_requests_gates_sparse_windows():
    lat = _log([500.0, 10.0], freq="10min")
    rates = burn_rates(lat, windows=("5min",))
    assert burn_rate_alerts(rates, factor=1.0, windows=("5min",), min_duration="0min").shape[0] == 1
    gated = burn_rate_alerts(
        rates, factor=1.0, windows=("5min",), min_duration="0min", min_requests=2
    )
    assert gated.empty


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(latency_ms=[1.0, 2.0]), TypeError, "DatetimeIndex"),
        (dict(latency_ms=_log([])), ValueError, "empty"),
        (dict(latency_ms=_log([1.0, np.nan])), ValueError, "finite"),
        (dict(latency_ms=_log([1.0]), objective=1.0), ValueError, "objective"),
        (dict(latency_ms=_log([1.0]), windows="5min"), ValueError, "tuple"),
        (dict(latency_ms=_log([1.0]), windows=("-5min",)), ValueError, "positive"),
        (dict(latency_ms=_log([1.0]), step="0s"), ValueError, "step"),
    ],
)
def test_burn_rates_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        burn_rates(**kwargs)


def test_burn_rate_alerts_rejects_bad_input():
    rates = burn_rates(_log([1.0, 300.0]), windows=("5min",))
    with pytest.raises(ValueError, match="no column"):
        burn_rate_alerts(rates, factor=2.0, windows=("1h",))
    with pytest.raises(ValueError, match="factor"):
        burn_rate_alerts(rates, factor=0.0, windows=("5min",))
    with pytest.raises(TypeError, match="DataFrame"):
        burn_rate_alerts(rates.to_numpy(), factor=2.0)


def test_docstring_examples():
    result = doctest.testmod(slo, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


def test_segment_exposure_against_a_direct_count():
    from course_utils.monitoring import RequestLog, segment_exposure

    log = RequestLog()
    for day, items in [(1, [1, 2, 3, 4]), (1, [1, 5]), (2, [2, 3])]:
        log.record(timestamp=f"2024-01-0{day}T08:00Z", user_id=1, source="p", stage_ms={},
                   model_version="v1", items=items)  # fmt: skip
    ev = pd.DataFrame({"user_id": 1, "item_id": [1, 5, 2, 2],
                       "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 10:00",
                                                    "2024-01-02 09:00", "2024-01-02 10:00"], utc=True)})  # fmt: skip
    seg = pd.Series([True, False, False, False, True], index=[1, 2, 3, 4, 5])
    out = segment_exposure(log, ev, seg)
    assert out["served_share"].tolist() == pytest.approx([3 / 6, 0.0])
    assert out["watched_share"].tolist() == pytest.approx([1.0, 0.0])
    assert out["exposure_ratio"].iloc[0] == pytest.approx(0.5)
    assert np.isnan(out["exposure_ratio"].iloc[1])
    with pytest.raises(TypeError, match="boolean Series"):
        segment_exposure(log, ev, seg.astype(int))


def test_keep_firing_for_merges_dips_inside_one_incident():
    t = pd.date_range("2024-01-01", periods=12, freq="1min", tz="UTC")
    burn = [0, 20, 20, 20, 0, 20, 20, 0, 0, 0, 0, 0.0]
    rates = pd.DataFrame({"burn_2min": burn, "requests_2min": 10}, index=t)
    kw = dict(factor=14.4, windows=("2min",), min_duration="1min")
    assert len(burn_rate_alerts(rates, **kw)) == 2  # the dip at 00:04 resolves and re-pages
    merged = burn_rate_alerts(rates, **kw, keep_firing_for="2min")
    assert len(merged) == 1
    assert merged["resolved"].iloc[0] == t[7] + pd.Timedelta("2min")


def test_burn_rates_do_not_depend_on_the_index_resolution():
    lat = _log([10.0, 300.0, 10.0, 300.0])
    coarse = lat.copy()
    coarse.index = coarse.index.as_unit("us")
    pd.testing.assert_frame_equal(
        burn_rates(lat, windows=("2min",)), burn_rates(coarse, windows=("2min",))
    )
