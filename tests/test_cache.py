"""Tests for course_utils.serving.cache: the TTL cache and its vectorised simulation."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.serving import cache as cache_module
from course_utils.serving.cache import ResultCache, simulate_cache


def _replay(times_s, users, ttl):
    """The reference: the real cache, one request at a time in time order."""
    c = ResultCache(ttl, max_entries=None)
    hit, age = np.zeros(len(users), bool), np.zeros(len(users))
    for i in np.argsort(times_s, kind="stable"):
        got = c.get(users[i], times_s[i])
        if got is None:
            c.put(users[i], [float(times_s[i])], times_s[i])
        else:
            hit[i], age[i] = True, times_s[i] - got[0]
    return hit, age


@settings(max_examples=60)
@given(
    times=st.lists(st.integers(0, 5_000), min_size=1, max_size=80),
    n_users=st.integers(1, 5),
    ttl=st.integers(1, 1_500),
    seed=st.integers(0, 1000),
)
def test_simulation_equals_the_cache_request_by_request(times, n_users, ttl, seed):
    times_s = np.asarray(times, float)
    users = np.random.default_rng(seed).integers(0, n_users, len(times))
    # break time ties per user so "request order" is defined the same way in both
    times_s = times_s + np.arange(len(times)) * 1e-3
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(times_s, unit="s")
    out = simulate_cache(stamps, users, ttl)
    hit, age = _replay(times_s, users, ttl)
    np.testing.assert_array_equal(out["hit"].to_numpy(), hit)
    np.testing.assert_allclose(out["age_s"].to_numpy(), age, atol=1e-3)


def test_cache_evicts_the_oldest_entry_beyond_max_entries():
    c = ResultCache(60, max_entries=2)
    for user in (1, 2, 3):
        c.put(user, [user], now=0.0)
    assert len(c) == 2 and c.get(1, 1.0) is None and c.get(3, 1.0) == [3]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(ttl_s=0), ValueError),
        (dict(ttl_s="60"), TypeError),
        (dict(ttl_s=float("inf")), ValueError),
    ],
)
def test_bad_ttl_is_rejected(kwargs, error):
    with pytest.raises(error):
        ResultCache(**kwargs)
    with pytest.raises(error):
        simulate_cache(pd.to_datetime(["2024-01-01"], utc=True), [1], **kwargs)


def test_simulate_cache_rejects_misaligned_or_missing_input():
    t = pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)
    with pytest.raises(ValueError, match="length"):
        simulate_cache(t, [1], 60)
    with pytest.raises(ValueError, match="missing"):
        simulate_cache(t, [1, None], 60)
    assert simulate_cache(t[:0], [], 60).empty


def test_docstring_examples():
    result = doctest.testmod(cache_module)
    assert result.attempted >= 5 and result.failed == 0
