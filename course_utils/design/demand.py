"""Demand and per-request cost: where the peak QPS and the CPU per request come from.

Two back-of-envelope derivations that the capacity plan of step 1 rests on:

* **peak load from users**: ``peak QPS = DAU x sessions/day x requests/session / 86,400 s
  x peak-to-mean``, and its inverse, the requests per active user a given peak implies;
* **the peak-to-mean ratio measured from a log**: the busiest hour of the average day
  divided by the mean hour (:func:`peak_to_mean_ratio`);
* **CPU per request from its stages**: the sum of the CPU each stage burns, with ranking
  costing ``candidates x cost per candidate`` (:func:`request_cpu_ms`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from course_utils.design.capacity import _positive_scalar

__all__ = ["implied_requests_per_user", "peak_qps", "peak_to_mean_ratio", "request_cpu_ms"]

SECONDS_PER_DAY = 86_400


def peak_qps(
    daily_active_users: float,
    sessions_per_day: float,
    requests_per_session: float,
    peak_to_mean: float,
) -> float:
    """Peak requests per second implied by the user base.

    ``mean QPS = DAU x sessions per active user per day x requests per session / 86,400``;
    the peak is the mean times the ``peak_to_mean`` ratio of the daily load curve.

    Examples
    --------
    >>> round(peak_qps(30_000_000, sessions_per_day=2, requests_per_session=50, peak_to_mean=3.0))
    104167
    """
    dau = _positive_scalar("daily_active_users", daily_active_users)
    sessions = _positive_scalar("sessions_per_day", sessions_per_day)
    per_session = _positive_scalar("requests_per_session", requests_per_session)
    ratio = _positive_scalar("peak_to_mean", peak_to_mean)
    if ratio < 1:
        raise ValueError(f"peak_to_mean must be >= 1 (a peak is at least the mean); got {ratio}")
    return dau * sessions * per_session / SECONDS_PER_DAY * ratio


def implied_requests_per_user(
    qps_at_peak: float, daily_active_users: float, peak_to_mean: float
) -> float:
    """Requests per daily active user per day that a peak QPS target implies.

    The inverse of :func:`peak_qps`: ``peak / peak_to_mean x 86,400 / DAU``.

    Examples
    --------
    >>> round(implied_requests_per_user(100_000, 30_000_000, peak_to_mean=3.0), 1)
    96.0
    """
    qps = _positive_scalar("qps_at_peak", qps_at_peak)
    dau = _positive_scalar("daily_active_users", daily_active_users)
    ratio = _positive_scalar("peak_to_mean", peak_to_mean)
    if ratio < 1:
        raise ValueError(f"peak_to_mean must be >= 1; got {ratio}")
    return qps / ratio * SECONDS_PER_DAY / dau


def peak_to_mean_ratio(timestamps: pd.Series | np.ndarray) -> float:
    """Busiest hour of the average day divided by the mean hour, measured from event times.

    Events are counted per calendar hour; the counts are averaged per hour of day and
    per day of week (so a busy weekend evening is its own slot); the ratio is the
    largest slot over the mean slot. Hours are taken as they are stored (UTC for the
    course data): on a multi-country platform the global curve is flatter than any
    one region's.

    Parameters
    ----------
    timestamps : array-like of datetimes
        One timestamp per request or event; at least one full week is needed.

    Returns
    -------
    float
        ``>= 1``; ``1.0`` for perfectly flat traffic.

    Examples
    --------
    >>> hours = pd.date_range("2024-01-01", periods=24 * 14, freq="h", tz="UTC")
    >>> flat = pd.Series(hours)
    >>> peak_to_mean_ratio(flat)
    1.0
    >>> evening = pd.Series(hours[hours.hour == 20])
    >>> peak_to_mean_ratio(pd.concat([flat, evening]))  # 2 events at 20:00, 1 elsewhere
    1.92
    """
    ts = pd.to_datetime(pd.Series(timestamps), utc=True)
    if ts.isna().any():
        raise ValueError(f"timestamps must not contain missing values; got {ts.isna().sum()}")
    if len(ts) == 0 or ts.max() - ts.min() < pd.Timedelta(days=7):
        raise ValueError("timestamps must span at least one week to measure a daily peak")
    start = ts.min().floor("D")
    end = ts.max().floor("D") + pd.Timedelta(days=1)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    per_hour = ts.dt.floor("h").value_counts().reindex(hours, fill_value=0)
    slot = per_hour.groupby([per_hour.index.day_of_week, per_hour.index.hour]).mean()
    return round(float(slot.max() / slot.mean()), 2)


def request_cpu_ms(
    stages_ms: Mapping[str, float], *, n_candidates: int = 0, rank_us_per_candidate: float = 0.0
) -> float:
    """CPU milliseconds one request costs: the fixed stages plus ranking the candidates.

    Parameters
    ----------
    stages_ms : mapping of str to float
        CPU time (ms, >= 0) of the stages that do not scale with the candidates
        (retrieval, feature decoding, re-ranking, ...). Waiting on a remote store is
        latency, not CPU: count only the local work.
    n_candidates : int, default 0
        Candidates the ranker scores.
    rank_us_per_candidate : float, default 0.0
        Ranker CPU per candidate, in microseconds.

    Examples
    --------
    >>> request_cpu_ms({"retrieval": 1.0, "re-ranking": 1.0}, n_candidates=500,
    ...                rank_us_per_candidate=100)
    52.0
    """
    if not isinstance(stages_ms, Mapping):
        raise TypeError(
            f"stages_ms must be a mapping of stage -> ms; got {type(stages_ms).__name__}"
        )
    fixed = sum(_positive_scalar(f"stage {k!r}", v, allow_zero=True) for k, v in stages_ms.items())
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, (int, np.integer)):
        raise TypeError(f"n_candidates must be an integer; got {type(n_candidates).__name__}")
    if n_candidates < 0:
        raise ValueError(f"n_candidates must be >= 0; got {n_candidates}")
    per = _positive_scalar("rank_us_per_candidate", rank_us_per_candidate, allow_zero=True)
    return float(fixed + n_candidates * per / 1000.0)
