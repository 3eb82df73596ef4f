"""Step 6, serving: a per-user result cache with a time-to-live, and what it buys.

A user who opens the app twice in ten minutes rarely needs a fresh ranking: the service can
answer the second request from a cache of the first answer, at the price of **staleness**
(the list does not know about what happened in between). :class:`ResultCache` is the
in-process version of what production keeps in Redis or Memcached (one entry per user,
expiring after ``ttl_s`` seconds); :func:`simulate_cache` replays request times through
such a cache without running the service, to choose a TTL from the hit rate and the age of
the answers it serves. :func:`cache_hit_rate` answers the static question for a cache keyed
by title (or user segment) that holds the most requested keys: with a long-tailed
popularity a small cache absorbs a large share of the requests.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["ResultCache", "cache_hit_rate", "simulate_cache"]


def _check_ttl(ttl_s: Any) -> float:
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float, np.integer, np.floating)):
        raise TypeError(f"ttl_s must be a number of seconds; got {type(ttl_s).__name__}")
    if not np.isfinite(ttl_s) or ttl_s <= 0:
        raise ValueError(f"ttl_s must be a positive number of seconds; got {ttl_s!r}")
    return float(ttl_s)


class ResultCache:
    """Per-user cache of served lists that expire ``ttl_s`` seconds after they were stored.

    ``max_entries`` bounds memory: the least recently stored entry is evicted first.

    Examples
    --------
    >>> cache = ResultCache(ttl_s=600)
    >>> cache.get(7, now=0.0) is None
    True
    >>> cache.put(7, [3, 1, 4], now=0.0)
    >>> cache.get(7, now=300.0), cache.get(7, now=600.0)  # expired at exactly the TTL
    ([3, 1, 4], None)
    >>> cache.hits, cache.misses
    (1, 2)
    """

    def __init__(self, ttl_s: float, *, max_entries: int | None = 100_000) -> None:
        self.ttl_s = _check_ttl(ttl_s)
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise ValueError(f"max_entries must be an int >= 1 or None; got {max_entries!r}")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, list]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, user_id: Hashable, now: float) -> list | None:
        """The cached list if it is younger than the TTL at ``now``, else None (a miss)."""
        entry = self._entries.get(user_id)
        if entry is not None and now - entry[0] < self.ttl_s:
            self.hits += 1
            return list(entry[1])
        if entry is not None:
            del self._entries[user_id]
        self.misses += 1
        return None

    def put(self, user_id: Hashable, items: list, now: float) -> None:
        """Store ``items`` for ``user_id`` at time ``now`` (seconds)."""
        self._entries.pop(user_id, None)
        self._entries[user_id] = (float(now), list(items))
        if self.max_entries is not None and len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def simulate_cache(timestamps: Any, user_ids: Any, ttl_s: float) -> pd.DataFrame:
    """Which requests a per-user TTL cache would answer, and how old those answers are.

    A user's first request is a miss that fills the cache; a later request is a hit when
    it arrives less than ``ttl_s`` seconds after the last fill, and otherwise a miss that
    refills it. Computed in rounds (one vectorised search per refill), not request by
    request.

    Returns
    -------
    DataFrame in the input order with ``hit`` (bool) and ``age_s`` (seconds since the
    answer was computed: 0 for a miss).

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05", "2024-01-01 10:20"], utc=True)
    >>> out = simulate_cache(t, [1, 1, 1], ttl_s=600)
    >>> out["hit"].tolist(), out["age_s"].tolist()
    ([False, True, False], [0.0, 300.0, 0.0])
    """
    ttl = _check_ttl(ttl_s)
    times = pd.DatetimeIndex(pd.to_datetime(timestamps, utc=True))
    users = pd.Series(user_ids).to_numpy()
    if len(times) != len(users):
        raise ValueError(f"timestamps and user_ids differ in length: {len(times)} vs {len(users)}")
    if times.hasnans or pd.isna(users).any():
        raise ValueError("timestamps and user_ids must not contain missing values")
    n = len(times)
    if n == 0:
        return pd.DataFrame({"hit": np.zeros(0, bool), "age_s": np.zeros(0)})
    seconds = np.asarray((times - times.min()).total_seconds(), dtype=float)
    codes = pd.factorize(users)[0]
    order = np.lexsort((seconds, codes))
    t, u = seconds[order], codes[order]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    stop = np.r_[starts[1:], n]
    span = float(t.max()) + ttl + 1.0  # one key per request, ordered by (user, time)
    key = u * span + t
    fill = np.zeros(n, dtype=bool)
    current = starts
    while len(current):  # one round per refill: the next request at or after fill + ttl
        fill[current] = True
        nxt = np.searchsorted(key, key[current] + ttl, side="left")
        alive = nxt < stop
        current, stop = nxt[alive], stop[alive]
    last_fill = pd.Series(np.where(fill, t, np.nan)).groupby(u).ffill().to_numpy()
    out_hit = np.empty(n, dtype=bool)
    out_age = np.empty(n, dtype=float)
    out_hit[order] = ~fill
    out_age[order] = np.where(fill, 0.0, t - last_fill)
    return pd.DataFrame({"hit": out_hit, "age_s": out_age})


def cache_hit_rate(request_counts: ArrayLike, capacity: int) -> float:
    """Share of requests served by a cache holding the ``capacity`` most requested keys.

    Parameters
    ----------
    request_counts : array-like of shape (n_keys,)
        Requests per key over a period (non-negative).
    capacity : int
        Number of keys the cache holds (>= 0); more than ``n_keys`` holds everything.

    Returns
    -------
    float
        Requests to the ``capacity`` most requested keys divided by all requests.

    Raises
    ------
    ValueError
        When a count is negative, there are no requests at all, or ``capacity`` is not a
        non-negative integer.

    Examples
    --------
    >>> cache_hit_rate([5, 1, 3, 1], capacity=2)
    0.8
    >>> cache_hit_rate([5, 1, 3, 1], capacity=10)
    1.0
    """
    counts = np.asarray(request_counts, dtype=np.float64).ravel()
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 0:
        raise ValueError(f"capacity must be an int >= 0; got {capacity!r}")
    if (counts < 0).any():
        raise ValueError(f"request counts must be >= 0; got min {counts.min()}")
    total = counts.sum()
    if total <= 0:
        raise ValueError("request_counts holds no requests (the sum is 0)")
    top = np.sort(counts)[::-1][: int(capacity)]
    return float(top.sum() / total)
