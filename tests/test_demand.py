"""Tests for course_utils.design.demand: peak load from users, peak-to-mean, CPU per request."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.design.demand import (
    implied_requests_per_user,
    peak_qps,
    peak_to_mean_ratio,
    request_cpu_ms,
)


def test_peak_qps_by_hand():
    # 30M DAU x 2 sessions x 50 requests = 3e9 requests/day = 34,722 mean QPS; x 3 at the peak
    assert peak_qps(30e6, 2, 50, 3.0) == pytest.approx(3e9 / 86_400 * 3)


@given(
    dau=st.floats(1e3, 1e9),
    per_user=st.floats(0.1, 500),
    ratio=st.floats(1, 10),
)
def test_implied_requests_inverts_peak_qps(dau, per_user, ratio):
    qps = peak_qps(dau, 1.0, per_user, ratio)
    assert implied_requests_per_user(qps, dau, ratio) == pytest.approx(per_user)


def test_peak_qps_rejects_a_peak_below_the_mean_and_bad_types():
    with pytest.raises(ValueError, match="peak_to_mean must be >= 1"):
        peak_qps(1e6, 1, 1, 0.5)
    with pytest.raises(ValueError, match="daily_active_users must be > 0"):
        peak_qps(0, 1, 1, 2)
    with pytest.raises(TypeError, match="sessions_per_day must be a number"):
        peak_qps(1e6, "2", 1, 2)


def test_peak_to_mean_flat_and_peaked():
    hours = pd.Series(pd.date_range("2024-01-01", periods=24 * 21, freq="h", tz="UTC"))
    assert peak_to_mean_ratio(hours) == 1.0
    # triple traffic in one hour of every day: that hour is 3 / (26 / 24) of the mean
    peaked = pd.concat([hours, hours[hours.dt.hour == 20], hours[hours.dt.hour == 20]])
    assert peak_to_mean_ratio(peaked) == round(3 / (26 / 24), 2)


def test_peak_to_mean_counts_empty_hours():
    days = pd.Series(pd.date_range("2024-01-01 20:00", periods=14, freq="D", tz="UTC"))
    assert peak_to_mean_ratio(days) == 24.0  # all traffic in one hour of the day


def test_peak_to_mean_needs_a_week_and_no_missing_values():
    short = pd.Series(pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC"))
    with pytest.raises(ValueError, match="at least one week"):
        peak_to_mean_ratio(short)
    with pytest.raises(ValueError, match="missing"):
        peak_to_mean_ratio(pd.Series([pd.NaT, pd.Timestamp("2024-01-01", tz="UTC")]))


def test_request_cpu_sums_stages_and_ranking():
    assert request_cpu_ms({"retrieval": 1.0, "features": 2.0}) == 3.0
    assert request_cpu_ms({"retrieval": 1.0}, n_candidates=500, rank_us_per_candidate=100) == 51.0
    assert request_cpu_ms({}, n_candidates=0) == 0.0
    with pytest.raises(ValueError, match="n_candidates must be >= 0"):
        request_cpu_ms({}, n_candidates=-1)
    with pytest.raises(TypeError, match="mapping"):
        request_cpu_ms([1.0])
    with pytest.raises(ValueError, match="must be >= 0"):
        request_cpu_ms({"x": -1.0})
    assert np.isfinite(request_cpu_ms({"x": 0.0}, n_candidates=10, rank_us_per_candidate=0.5))
