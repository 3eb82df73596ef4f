"""Step 7, monitoring: replaying simulated traffic through a recommendation service.

:func:`session_requests` samples day-by-day requests from an event log, :func:`replay`
sends them through a service and returns its request log stamped with the simulated times
(:func:`restamp`), and :func:`online_metrics` scores the served lists against what each
user watched next.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.monitoring._common import _check_events, _ns, _utc
from course_utils.monitoring.request_log import RequestLog

__all__ = ["online_metrics", "replay", "restamp", "session_requests"]

# ---------------------------------------------------------------------------------------
# 2. Traffic replay through a service
# ---------------------------------------------------------------------------------------


def session_requests(
    events: pd.DataFrame, start: Any, end: Any, *, per_day: int, random_state: int = 0
) -> pd.DataFrame:
    """Day-by-day requests: one per sampled (user, day) session in ``[start, end)``.

    A session's request is stamped with the user's first event of that day (they
    opened the app, got a list, then watched). Each day keeps ``per_day`` sessions drawn
    uniformly without replacement (all of them on quieter days).

    Returns
    -------
    DataFrame with ``timestamp`` and ``user_id``, sorted by time.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00", "2024-01-02 09:00"], utc=True)
    >>> ev = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5], "timestamp": t})
    >>> session_requests(ev, t[0], t[2] + pd.Timedelta("1h"), per_day=5)["user_id"].tolist()
    [1, 2]
    """
    _check_events(events, "events")
    start, end = _utc(start, "start"), _utc(end, "end")
    if isinstance(per_day, bool) or not isinstance(per_day, (int, np.integer)) or per_day < 1:
        raise ValueError(f"per_day must be an int >= 1; got {per_day!r}")
    ts = events[S.TIMESTAMP]
    window = events.loc[(ts >= start) & (ts < end), [S.USER_ID, S.TIMESTAMP]]
    sessions = (
        window.assign(day=window[S.TIMESTAMP].dt.floor("D"))
        .groupby(["day", S.USER_ID], sort=True)[S.TIMESTAMP]
        .min()
        .reset_index()
    )
    rng = np.random.default_rng(random_state)
    sessions["key"] = rng.random(len(sessions))
    rank = sessions.groupby("day")["key"].rank(method="first")
    chosen = sessions[rank <= per_day]
    return chosen.sort_values([S.TIMESTAMP, S.USER_ID])[[S.TIMESTAMP, S.USER_ID]].reset_index(
        drop=True
    )


def restamp(log: RequestLog, timestamp: Any) -> RequestLog:
    """A copy of ``log`` with new request times (one per row, in the log's order).

    A service stamps requests with the wall clock; a replay of simulated days re-stamps
    them with the simulated times.

    Examples
    --------
    >>> log = RequestLog()
    >>> log.record(timestamp=0.0, user_id=1, source="x", stage_ms={"a": 1.0},
    ...            model_version="v1", items=[3])
    >>> restamp(log, pd.to_datetime(["2024-05-01"], utc=True)).to_frame()["timestamp"].dt.day.tolist()
    [1]
    """
    if not isinstance(log, RequestLog):
        raise TypeError(f"log must be a RequestLog; got {type(log).__name__}")
    frame = log.to_frame()
    stamps = pd.DatetimeIndex(timestamp)
    if len(stamps) != len(frame):
        raise ValueError(
            f"timestamp must hold one time per request ({len(frame)}); got {len(stamps)}"
        )
    if stamps.tz is None:
        raise ValueError("timestamp must be timezone-aware")
    frame[S.TIMESTAMP] = stamps.tz_convert("UTC").as_unit("ns")
    return RequestLog.from_frame(frame)


def replay(
    service: Any,
    requests: pd.DataFrame,
    events: pd.DataFrame,
    *,
    since: Any,
    catalogue: Any = None,
    k: int = 10,
) -> RequestLog:
    """Send ``requests`` through ``service`` and return its log, stamped with request times.

    Each request carries the user's recent history: the items of their events in
    ``[since, request time)`` (``since`` is the model's training cutoff; older items are
    in the model's stored history), limited to ``catalogue`` (the item ids the service
    knows; titles released after training are not in its catalogue). ``service`` needs
    ``recommend(user_id, history=..., k=...)`` and a ``request_log`` attribute, which
    is pointed at a fresh :class:`~course_utils.monitoring.RequestLog` during the
    replay and restored afterwards.

    The loop over requests is the point: the service answers one request at a time.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> from course_utils.serving import RecommendationService
    >>> ev = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 20, 20],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"], utc=True)})
    >>> cat = pd.DataFrame({"item_id": [10, 20], "title": ["A", "B"], "genres": [["Drama"]] * 2,
    ...     "tags": [[]] * 2, "year": pd.array([1990, 2000], dtype="Int64")})
    >>> model = Popularity().fit(ev)
    >>> service = RecommendationService.from_model(model, cat)
    >>> requests = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-03"], utc=True),
    ...                          "user_id": [2]})
    >>> log = replay(service, requests, ev, since="2024-01-01T12:00Z", catalogue=model.items_.ids_, k=1)
    >>> frame = log.to_frame()  # user 2 watched item 20, so the list holds item 10
    >>> f"{frame['timestamp'].iloc[0]:%Y-%m-%d}", frame["items"].iloc[0]
    ('2024-01-03', [10])
    """
    _check_events(events, "events")
    if not isinstance(requests, pd.DataFrame) or not {S.TIMESTAMP, S.USER_ID} <= set(
        requests.columns
    ):
        raise ValueError("requests must be a DataFrame with 'timestamp' and 'user_id'")
    since = _utc(since, "since")
    recent = events[(events[S.TIMESTAMP] >= since) & events[S.USER_ID].isin(requests[S.USER_ID])]
    if catalogue is not None:
        recent = recent[recent[S.ITEM_ID].isin(np.asarray(catalogue))]
    recent = recent.sort_values([S.USER_ID, S.TIMESTAMP], kind="stable")
    ev_user = recent[S.USER_ID].to_numpy()
    ev_time = _ns(recent[S.TIMESTAMP])
    ev_item = recent[S.ITEM_ID].to_numpy()
    req_user = requests[S.USER_ID].to_numpy()
    req_time = _ns(requests[S.TIMESTAMP])
    first = np.searchsorted(ev_user, req_user, side="left")
    last = np.searchsorted(ev_user, req_user, side="right")

    log, previous = RequestLog(), getattr(service, "request_log", None)
    service.request_log = log
    try:
        for u, t, lo, hi in zip(req_user.tolist(), req_time, first.tolist(), last.tolist()):
            stop = lo + int(np.searchsorted(ev_time[lo:hi], t, side="left"))
            service.recommend(int(u), history=ev_item[lo:stop].tolist(), k=k)
    finally:
        service.request_log = previous
    return restamp(log, requests[S.TIMESTAMP])


def online_metrics(log: RequestLog, events: pd.DataFrame, *, horizon: str = "7D") -> pd.DataFrame:
    """Per request: did the user watch a served item within ``horizon`` after the request?

    Returns the log's ``timestamp``, ``user_id``, ``source`` and ``model_version`` with
    ``n_served``, ``n_hits`` (distinct served items the user interacted with in
    ``(request time, request time + horizon)``), ``n_watched`` (distinct items they
    interacted with in that span) and ``hit`` (``n_hits > 0``).

    The span is open at the request time: :func:`session_requests` stamps a request
    with the event that opened the session, and in a replay that event happened whatever
    the list showed, so it must not count as a hit. A replay scores logged behaviour
    that did not depend on the served lists: it is an offline estimate, not an online
    metric (an interleaving or A/B test measures how users respond to the lists).

    Examples
    --------
    >>> log = RequestLog()
    >>> log.record(timestamp="2024-01-01T08:00Z", user_id=1, source="p", stage_ms={},
    ...            model_version="v1", items=[5, 6])
    >>> ev = pd.DataFrame({"user_id": [1, 1], "item_id": [6, 7],
    ...     "timestamp": pd.to_datetime(["2024-01-01T09:00", "2024-01-20T09:00"], utc=True)})
    >>> out = online_metrics(log, ev)  # item 6 watched an hour later; item 7 after 7 days
    >>> int(out["n_hits"].iloc[0]), int(out["n_watched"].iloc[0]), bool(out["hit"].iloc[0])
    (1, 1, True)
    """
    if not isinstance(log, RequestLog):
        raise TypeError(f"log must be a RequestLog; got {type(log).__name__}")
    _check_events(events, "events")
    span = pd.Timedelta(horizon)
    if span <= pd.Timedelta(0):
        raise ValueError(f"horizon must be a positive duration; got {horizon!r}")
    frame = log.to_frame()
    out = frame[[S.TIMESTAMP, S.USER_ID, "source", "model_version"]].copy()
    out["n_served"] = frame["n_items"].to_numpy()
    req = out[[S.TIMESTAMP, S.USER_ID]].assign(request=np.arange(len(out)))
    ev = events[[S.USER_ID, S.ITEM_ID, S.TIMESTAMP]].rename(columns={S.TIMESTAMP: "t_event"})
    ev = ev[ev[S.USER_ID].isin(req[S.USER_ID])]
    joined = req.merge(ev, on=S.USER_ID)
    ahead = joined["t_event"] - joined[S.TIMESTAMP]
    future = joined[(ahead > pd.Timedelta(0)) & (ahead < span)].drop_duplicates(
        ["request", S.ITEM_ID]
    )
    served = frame[["items"]].assign(request=np.arange(len(frame))).explode("items").dropna()
    served = served.rename(columns={"items": S.ITEM_ID}).astype({S.ITEM_ID: np.int64})
    served = served.drop_duplicates(["request", S.ITEM_ID])
    hits = served.merge(future[["request", S.ITEM_ID]], on=["request", S.ITEM_ID])
    out["n_hits"] = np.bincount(hits["request"], minlength=len(out))
    out["n_watched"] = np.bincount(future["request"], minlength=len(out))
    out["hit"] = out["n_hits"] > 0
    return out
