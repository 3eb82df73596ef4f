"""Step 7 incident simulations: model decay, replayed traffic and injected faults.

Monitoring code is only as good as the incidents it has been tried on. This module holds
the small, reusable pieces that notebook 07 uses to stage them, top to bottom:

1. **Decay of a frozen model.** :func:`window_metrics` scores a fitted model on the
   relevant interactions of one later time window; :func:`decay_curve` trains at a
   series of cutoffs and scores every model on the windows that follow it, so the same
   users in the same window are ranked by models of different ages (a paired design);
   :func:`decay_summary` turns that into the relative change per model age with a
   user-clustered bootstrap interval, and :func:`retrain_interval` into a cadence.
2. **Traffic replay.** :func:`session_requests` samples day-by-day requests from an
   event log, :func:`replay` sends them through a recommendation service and returns
   its request log stamped with the simulated times, :func:`online_metrics` scores the
   served lists against what each user watched next.
3. **Data drift of a categorical item attribute:** :func:`category_psi`, the PSI of,
   e.g., the genre mix consumed in each window against a reference period.
4. **Fault injection:** :func:`inject_latency` slows one stage of some requests.
5. **An alert threshold from an A/A baseline:** :func:`aa_psi_threshold`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from course_utils import metrics as M
from course_utils import schema as S
from course_utils.models.base import Recommender, top_k
from course_utils.monitoring import RequestLog, psi

__all__ = [
    "RetrainInterval",
    "aa_psi_threshold",
    "category_psi",
    "decay_curve",
    "decay_summary",
    "inject_latency",
    "online_metrics",
    "replay",
    "restamp",
    "retrain_interval",
    "session_requests",
    "window_metrics",
]

_BATCH_USERS = 2048  # users scored at once: bounds the dense (users x items) block


def _utc(value: Any, name: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a timestamp; got {value!r}")
    if ts.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. tz='UTC'); got {ts}")
    return ts.tz_convert("UTC")


def _ns(timestamps: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (int64) of tz-aware timestamps, whatever their unit."""
    return pd.DatetimeIndex(timestamps).as_unit("ns").asi8


def _check_events(events: Any, name: str = "interactions") -> None:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame; got {type(events).__name__}")
    missing = {S.USER_ID, S.ITEM_ID, S.TIMESTAMP} - set(events.columns)
    if missing:
        raise ValueError(f"{name} lacks columns {sorted(missing)}; has {list(events.columns)}")


# ---------------------------------------------------------------------------------------
# 1. Decay of a frozen model
# ---------------------------------------------------------------------------------------


def window_metrics(
    model: Recommender,
    interactions: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    k: int = 10,
    users: Any = None,
    relevance_threshold: float | None = 4.0,
    relevance_column: str = S.RATING,
) -> pd.DataFrame:
    """Per-user top-k quality of a fitted model on the interactions in ``[start, end)``.

    A user is scored when they are known to the model, have at least one relevant
    interaction in the window and (if ``users`` is given) are in ``users``. The ranking
    excludes every item the user interacted with before ``start``: the model's own
    training history and anything consumed between training and the window, as the
    serving layer's "already watched" filter would. Relevant items the model has never
    seen cannot be recommended; ``unknown_share`` reports how many there were.

    Parameters
    ----------
    model : fitted Recommender
    interactions : DataFrame with ``user_id``, ``item_id``, ``timestamp`` (and the
        relevance column unless ``relevance_threshold`` is None)
    start, end : timezone-aware window bounds
    k : list length
    users : optional user ids to restrict to
    relevance_threshold, relevance_column : an interaction in the window is relevant
        when ``relevance_column >= relevance_threshold``; None makes every one relevant

    Returns
    -------
    DataFrame, one row per scored user (sorted by ``user_id``): ``user_id``,
    ``n_relevant``, ``ndcg``, ``recall``, ``hit_rate`` (all at ``k``) and
    ``unknown_share``.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> t = pd.to_datetime([1, 2, 3, 4, 5, 6], unit="D", utc=True)
    >>> df = pd.DataFrame({"user_id": [1, 2, 2, 3, 1, 3], "item_id": [10, 10, 20, 20, 20, 30],
    ...                    "timestamp": t})
    >>> pop = Popularity().fit(df[df.timestamp < t[4]])
    >>> window_metrics(pop, df, t[4], t[5] + pd.Timedelta("1D"), k=1,
    ...                relevance_threshold=None)[["user_id", "hit_rate", "unknown_share"]]
       user_id  hit_rate  unknown_share
    0        1       1.0            0.0
    1        3       0.0            1.0
    """
    _check_events(interactions)
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError(f"end must be after start; got start={start}, end={end}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}")
    if k > model.n_items_:
        raise ValueError(f"k must be <= the model's {model.n_items_} items; got {k}")
    ts = interactions[S.TIMESTAMP]
    window = interactions[(ts >= start) & (ts < end)]
    if relevance_threshold is not None:
        if relevance_column not in interactions.columns:
            raise ValueError(f"interactions lack the relevance column {relevance_column!r}")
        window = window[window[relevance_column] >= relevance_threshold]
    relevant = window[[S.USER_ID, S.ITEM_ID]].drop_duplicates()
    candidates = np.unique(relevant[S.USER_ID].to_numpy())
    candidates = candidates[model.known_users(candidates)]
    if users is not None:
        candidates = np.intersect1d(candidates, np.asarray(users, dtype=np.int64))
    relevant = relevant[relevant[S.USER_ID].isin(candidates)]
    rel_rows = np.searchsorted(candidates, relevant[S.USER_ID].to_numpy())
    rel_items = relevant[S.ITEM_ID].to_numpy()
    n_rel = np.bincount(rel_rows, minlength=len(candidates))
    unknown = np.bincount(
        rel_rows, weights=~model.items_.contains(rel_items), minlength=len(candidates)
    )

    before = interactions[(ts < start) & interactions[S.USER_ID].isin(candidates)]
    seen_rows = np.searchsorted(candidates, before[S.USER_ID].to_numpy())
    seen_pos = model.items_.index(before[S.ITEM_ID].to_numpy(), strict=False)  # -1: unknown
    seen_rows, seen_pos = seen_rows[seen_pos >= 0], seen_pos[seen_pos >= 0]

    recommended = np.empty((len(candidates), k), dtype=np.int64)
    for lo in range(0, len(candidates), _BATCH_USERS):
        hi = min(lo + _BATCH_USERS, len(candidates))
        scores = model.score_matrix(candidates[lo:hi], exclude_seen=True)
        in_batch = (seen_rows >= lo) & (seen_rows < hi)
        scores[seen_rows[in_batch] - lo, seen_pos[in_batch]] = -np.inf
        idx, _ = top_k(scores, k)
        recommended[lo:hi] = model.items_.ids(idx)
    hits = M.hits_from_pairs(recommended, rel_rows, rel_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        unknown_share = unknown / n_rel
    return pd.DataFrame(
        {
            S.USER_ID: candidates,
            "n_relevant": n_rel,
            "ndcg": M.ndcg_at_k(hits, n_rel, k),
            "recall": M.recall_at_k(hits, n_rel, k),
            "hit_rate": M.hit_rate_at_k(hits, k),
            "unknown_share": unknown_share,
        }
    )


def _edges(edges: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(edges)
    if idx.tz is None:
        raise ValueError("edges must be timezone-aware (e.g. pd.date_range(..., tz='UTC'))")
    if len(idx) < 2 or not (np.diff(idx.asi8) > 0).all():
        raise ValueError(f"edges must hold >= 2 strictly increasing timestamps; got {len(idx)}")
    return idx.tz_convert("UTC")


def decay_curve(
    interactions: pd.DataFrame,
    models: Mapping[str, Callable[[], Recommender]],
    edges: Any,
    *,
    max_age: int | None = None,
    k: int = 10,
    relevance_threshold: float | None = 4.0,
    relevance_column: str = S.RATING,
) -> pd.DataFrame:
    """Quality of models trained at successive cutoffs on the windows that follow them.

    ``edges`` t_0 < t_1 < ... < t_n define the windows W_i = [t_i, t_{i+1}). One model
    per factory is trained at every t_j (on the interactions before t_j) and scored
    with :func:`window_metrics` on W_i for every age ``a = i - j`` in ``0..max_age``,
    on the users it knows (history before t_j) with a relevant interaction in W_i.
    Every user scored at age ``a`` in W_i is also scored at age 0 there (the newer
    model knows them too), so :func:`decay_summary` compares ages **paired**: same
    users, same relevant items, same exclusions; only the model's age changes.

    Parameters
    ----------
    interactions : DataFrame with ``user_id``, ``item_id``, ``timestamp`` (+ relevance)
    models : name -> zero-argument factory returning an unfitted Recommender
    edges : timezone-aware, strictly increasing window boundaries
    max_age : oldest age scored, in windows (default: all, ``len(edges) - 2``)
    k, relevance_threshold, relevance_column : passed to :func:`window_metrics`

    Returns
    -------
    DataFrame, one row per (window, age, model, user): ``window`` (start of W_i),
    ``trained_at`` (t_j), ``age``, ``model`` and the columns of :func:`window_metrics`.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"user_id": rng.integers(1, 30, 600), "item_id": rng.integers(1, 40, 600),
    ...     "timestamp": pd.to_datetime(rng.integers(0, 90 * 86400, 600), unit="s", utc=True)})
    >>> df = df.drop_duplicates(["user_id", "item_id"])
    >>> edges = pd.date_range("1970-01-31", periods=3, freq="30D", tz="UTC")
    >>> curve = decay_curve(df, {"pop": Popularity}, edges, relevance_threshold=None)
    >>> sorted(set(zip(curve["window"].dt.month, curve["age"])))  # windows from Jan 31, Mar 2
    [(1, 0), (3, 0), (3, 1)]
    """
    _check_events(interactions)
    edges = _edges(edges)
    n_windows = len(edges) - 1
    max_age = n_windows - 1 if max_age is None else max_age
    if isinstance(max_age, bool) or not isinstance(max_age, (int, np.integer)) or max_age < 0:
        raise ValueError(f"max_age must be an int >= 0; got {max_age!r}")
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty mapping name -> model factory")
    ts = interactions[S.TIMESTAMP]
    fitted: dict[int, dict[str, Recommender]] = {}
    frames = []
    for i in range(n_windows):
        fitted[i] = {name: make().fit(interactions[ts < edges[i]]) for name, make in models.items()}
        fitted.pop(i - max_age - 1, None)  # no later window needs it
        for age in range(min(i, max_age) + 1):
            for name, model in fitted[i - age].items():
                scored = window_metrics(
                    model, interactions, edges[i], edges[i + 1], k=k,
                    relevance_threshold=relevance_threshold, relevance_column=relevance_column,
                )  # fmt: skip
                scored.insert(0, "model", name)
                scored.insert(0, "age", age)
                scored.insert(0, "trained_at", edges[i - age])
                scored.insert(0, "window", edges[i])
                frames.append(scored)
    return pd.concat(frames, ignore_index=True)


def decay_summary(
    curve: pd.DataFrame,
    metric: str = "ndcg",
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Relative change of ``metric`` with model age, paired against age 0.

    For each model and age ``a`` the (window, user) pairs scored at both ages 0 and
    ``a`` are kept; ``rel_change = sum(m_a - m_0) / sum(m_0)`` over those pairs. The
    interval is a percentile bootstrap that resamples **users** (a user appears in
    several windows, so pairs are not independent).

    Returns
    -------
    DataFrame indexed by (model, age): ``n_pairs``, ``n_users``, ``mean`` (metric at
    that age), ``mean_age0`` (at age 0 on the same pairs), ``rel_change``, ``ci_low``,
    ``ci_high``.

    Examples
    --------
    >>> curve = pd.DataFrame({"window": [0, 0, 0, 0], "user_id": [1, 2, 1, 2],
    ...     "model": "m", "age": [0, 0, 1, 1], "ndcg": [0.5, 0.3, 0.4, 0.3]})
    >>> round(float(decay_summary(curve).loc[("m", 1), "rel_change"]), 6)  # (0.4 - 0.5) / 0.8
    -0.125
    """
    need = {"window", S.USER_ID, "model", "age", metric}
    if not isinstance(curve, pd.DataFrame) or not need <= set(curve.columns):
        raise ValueError(f"curve must be a decay_curve frame with columns {sorted(need)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if n_boot < 100:
        raise ValueError(f"n_boot must be >= 100; got {n_boot}")
    rng = np.random.default_rng(random_state)
    alpha = (1 - confidence) / 2
    keys = ["model", "window", S.USER_ID]
    base = curve[curve["age"] == 0][[*keys, metric]].rename(columns={metric: "base"})
    rows = []
    for (model, age), group in curve.groupby(["model", "age"], sort=True):
        paired = group[[*keys, metric]].merge(base, on=keys)
        if paired.empty:
            continue
        per_user = paired.groupby(S.USER_ID)[[metric, "base"]].sum()
        diff = (per_user[metric] - per_user["base"]).to_numpy()
        b = per_user["base"].to_numpy()
        draws = rng.integers(0, len(per_user), size=(n_boot, len(per_user)))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = diff[draws].sum(axis=1) / b[draws].sum(axis=1)
            rel = diff.sum() / b.sum()
        lo, hi = (
            np.nanquantile(boot, [alpha, 1 - alpha]) if np.isfinite(boot).any() else (np.nan,) * 2
        )
        rows.append({
            "model": model, "age": age, "n_pairs": len(paired), "n_users": len(per_user),
            "mean": paired[metric].mean(), "mean_age0": paired["base"].mean(),
            "rel_change": rel, "ci_low": lo, "ci_high": hi,
        })  # fmt: skip
    return pd.DataFrame(rows).set_index(["model", "age"])


class RetrainInterval(NamedTuple):
    """Fitted decay rate and the age at which it reaches the tolerated drop."""

    slope: float  # relative change per unit of age (negative: decay)
    interval: float  # age at which slope * age = -max_drop (inf when there is no decay)


def retrain_interval(
    age: Any, rel_change: Any, *, max_drop: float, weights: Any = None
) -> RetrainInterval:
    """Retrain cadence from a decay curve: when does the fitted drop exceed ``max_drop``?

    Fits ``rel_change = slope * age`` (a line through the origin, since age 0 is the
    reference) by weighted least squares, ``slope = sum(w a r) / sum(w a^2)``, and
    returns ``interval = max_drop / -slope`` (in the units of ``age``), or ``inf`` when
    the fitted slope is not negative.

    Examples
    --------
    >>> plan = retrain_interval([1, 2, 3], [-0.02, -0.04, -0.06], max_drop=0.05)
    >>> round(plan.slope, 6), round(plan.interval, 6)
    (-0.02, 2.5)
    """
    a = np.asarray(age, dtype=float)
    r = np.asarray(rel_change, dtype=float)
    w = np.ones_like(a) if weights is None else np.asarray(weights, dtype=float)
    if a.ndim != 1 or a.shape != r.shape or a.shape != w.shape:
        raise ValueError(
            f"age, rel_change and weights must be 1-D of one length; got {a.shape}, {r.shape}, {w.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(r).all() and np.isfinite(w).all()):
        raise ValueError("age, rel_change and weights must be finite")
    if (w < 0).any() or not (w * a**2).sum() > 0:
        raise ValueError("weights must be >= 0 with some weight on a non-zero age")
    if not 0 < max_drop < 1:
        raise ValueError(f"max_drop must be in (0, 1); got {max_drop}")
    slope = float((w * a * r).sum() / (w * a**2).sum())
    interval = max_drop / -slope if slope < 0 else float("inf")
    return RetrainInterval(slope, interval)


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
    ``[request time, request time + horizon)``), ``n_watched`` (distinct items they
    interacted with in that span) and ``hit`` (``n_hits > 0``).

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
    future = joined[(ahead >= pd.Timedelta(0)) & (ahead < span)].drop_duplicates(
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


# ---------------------------------------------------------------------------------------
# 3. Drift of a categorical item attribute
# ---------------------------------------------------------------------------------------


def category_psi(
    events: pd.DataFrame,
    item_categories: Mapping | pd.Series,
    reference: pd.DataFrame,
    *,
    freq: str = "1D",
    eps: float = 1e-4,
) -> pd.DataFrame:
    """PSI of the category mix consumed in each window against a reference period.

    Every event contributes one count to each category of its item (e.g. each genre of
    the watched title); events whose item has no category are ignored. Windows start at
    multiples of ``freq`` since the Unix epoch, like
    :func:`~course_utils.monitoring.summarize`, so the result joins its output.

    Returns
    -------
    DataFrame indexed by window start (``window``): ``event_count`` and ``psi``.

    Examples
    --------
    >>> genres = pd.Series({1: ["Drama"], 2: ["Comedy", "Drama"], 3: ["Documentary"]})
    >>> day = lambda d, n: pd.to_datetime([f"2024-01-0{d}"] * n, utc=True)
    >>> ref = pd.DataFrame({"user_id": 1, "item_id": [1, 2, 1, 2], "timestamp": day(1, 4)})
    >>> cur = pd.DataFrame({"user_id": 1, "item_id": [1, 2, 3, 3], "timestamp": day(2, 4)})
    >>> out = category_psi(cur, genres, ref)
    >>> out["event_count"].tolist(), round(float(out["psi"].iloc[0]), 3)
    ([4], 3.521)
    """
    for name, frame in (("events", events), ("reference", reference)):
        _check_events(frame, name)
    categories = pd.Series(item_categories)
    step = pd.Timedelta(freq)
    if step <= pd.Timedelta(0):
        raise ValueError(f"freq must be a positive duration; got {freq!r}")

    def exploded(frame: pd.DataFrame) -> pd.DataFrame:
        cats = categories.reindex(frame[S.ITEM_ID].to_numpy())
        out = pd.DataFrame({"t": frame[S.TIMESTAMP].to_numpy(), "category": cats.to_numpy()})
        return out.explode("category").dropna(subset=["category"])

    ref = exploded(reference)["category"].value_counts()
    if ref.empty:
        raise ValueError("reference has no events with a category")
    cur = exploded(events)
    cur["window"] = cur["t"].dt.floor(step)
    table = pd.crosstab(cur["window"], cur["category"])  # windows x categories
    names = table.columns.union(ref.index)
    q = table.reindex(columns=names, fill_value=0).to_numpy(dtype=float)
    p = ref.reindex(names, fill_value=0).to_numpy(dtype=float)
    # PSI = sum_c (q_c - p_c) ln(q_c / p_c), proportions clipped at eps as in monitoring.psi
    p = np.maximum(p / p.sum(), eps)
    q = np.maximum(q / q.sum(axis=1, keepdims=True), eps)
    counts = events[S.TIMESTAMP].dt.floor(step).value_counts()
    return pd.DataFrame(
        {
            "event_count": counts.reindex(table.index).to_numpy(),
            "psi": ((q - p) * np.log(q / p)).sum(axis=1),
        },
        index=pd.DatetimeIndex(table.index, name="window"),
    )


# ---------------------------------------------------------------------------------------
# 4. Fault injection
# ---------------------------------------------------------------------------------------


def inject_latency(
    log: RequestLog | pd.DataFrame,
    stage: str,
    extra_ms: float,
    *,
    start: Any,
    share: float = 1.0,
    random_state: int = 0,
) -> RequestLog | pd.DataFrame:
    """A copy of ``log`` where one stage got slower from ``start`` on.

    Each request at or after ``start`` that ran ``stage`` is hit with probability
    ``share`` (a slow shard, a cold cache, a GC pause); a hit adds ``extra_ms`` to the
    stage and to the end-to-end latency. Returns the same type it was given (a
    RequestLog or a frame in the ``RequestLog.to_frame`` layout).

    Examples
    --------
    >>> log = RequestLog()
    >>> for day in (1, 2):
    ...     log.record(timestamp=f"2024-01-0{day}T12:00Z", user_id=day, source="p",
    ...                stage_ms={"ranking": 30.0, "retrieval": 10.0}, model_version="v1", n_items=0)
    >>> slow = inject_latency(log, "ranking", 150.0, start="2024-01-02T00:00Z")
    >>> slow.to_frame()[["latency_ranking_ms", "latency_total_ms"]].to_numpy().tolist()
    [[30.0, 40.0], [180.0, 190.0]]
    """
    is_log = isinstance(log, RequestLog)
    if not is_log and not isinstance(log, pd.DataFrame):
        raise TypeError(f"log must be a RequestLog or a DataFrame; got {type(log).__name__}")
    frame = log.to_frame() if is_log else log.copy()
    column = f"latency_{stage}_ms"
    if column not in frame.columns:
        stages = [
            c[8:-3] for c in frame.columns if c.startswith("latency_") and c != "latency_total_ms"
        ]
        raise ValueError(f"stage {stage!r} is not in the log; stages: {stages}")
    if not np.isfinite(extra_ms) or extra_ms < 0:
        raise ValueError(f"extra_ms must be a finite number >= 0; got {extra_ms}")
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1]; got {share}")
    start = _utc(start, "start")
    rng = np.random.default_rng(random_state)
    hit = (
        (frame[S.TIMESTAMP] >= start).to_numpy()
        & frame[column].notna().to_numpy()
        & (rng.random(len(frame)) < share)
    )
    frame[column] = frame[column] + np.where(hit, extra_ms, 0.0)
    frame["latency_total_ms"] = frame["latency_total_ms"] + np.where(hit, extra_ms, 0.0)
    return RequestLog.from_frame(frame) if is_log else frame


# ---------------------------------------------------------------------------------------
# 5. An alert threshold from an A/A baseline
# ---------------------------------------------------------------------------------------


def aa_psi_threshold(
    reference: Any,
    *,
    n_splits: int = 200,
    q: float = 99.0,
    bins: int = 10,
    random_state: int = 0,
) -> float:
    """The ``q``-th percentile of PSI between random halves of a reference sample.

    Two halves of the same data differ only by sampling noise, so their PSI shows what
    "no drift" looks like at this sample size; a threshold above its 99th percentile
    pages on roughly 1 % of drift-free windows or fewer. Split ``s`` uses
    ``perm = rng.permutation(n)`` with ``rng = np.random.default_rng(random_state)``
    (one generator for all splits), first half ``perm[: n // 2]``, second half the
    rest, and :func:`course_utils.monitoring.psi` (first half as the reference).

    Examples
    --------
    >>> ref = np.random.default_rng(0).normal(size=2_000)
    >>> round(aa_psi_threshold(ref, n_splits=100), 4), round(aa_psi_threshold(ref, q=50), 4)
    (0.0578, 0.0169)
    """
    values = np.asarray(reference, dtype=float)
    if values.ndim != 1 or values.size < 4:
        raise ValueError(f"reference must be 1-D with >= 4 values; got shape {values.shape}")
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(f"n_splits must be an int >= 1; got {n_splits!r}")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100]; got {q}")
    rng = np.random.default_rng(random_state)
    half = values.size // 2
    scores = np.empty(n_splits)
    for s in range(n_splits):  # a few hundred splits, each one vectorised psi
        perm = rng.permutation(values.size)
        scores[s] = psi(values[perm[:half]], values[perm[half:]], bins=bins)
    return float(np.percentile(scores, q))
