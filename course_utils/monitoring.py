"""Step 7, monitoring: request logs, rolling summaries, drift tests, alert rules, freshness.

A recommender rarely fails loudly. The service keeps answering in time while the feature
store has lost user histories (everyone is routed to the cold-start fallback), the
candidate index has gone stale (catalog coverage collapses onto a few hits) or the input
population has moved (drift). This module turns a structured request log into the numbers
that expose those failures, and alert rules into the decision "page someone or not".

Contents, top to bottom:

1. ``RequestLog``: column buffers a serving process appends to (``record``), with
   ``to_frame`` / ``from_frame`` / ``from_arrays`` and ``simulate_request_log``.
2. ``summarize``: per-window latency percentiles, error rate, source mix and quality of the
   served items (coverage, popularity bias, intra-list diversity, per-window PSI), all with
   ``np.bincount`` and a grouped quantile, never a Python loop over requests.
3. Drift statistics: ``psi``, ``psi_categorical``, ``ks_test``, ``chi2_test_categorical``
   and ``drift_report``.
4. Alerting: ``AlertRule``, ``Alert``, ``evaluate_alerts`` and ``DEFAULT_RULES``.
5. ``freshness`` of the model and of its training data.
6. Series helpers: ``rolling_percentile`` and ``detect_change_day``.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import re
import threading
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.stats

from course_utils.schema import TIMESTAMP, USER_ID

__all__ = [
    "COLD_START_SOURCE",
    "DEFAULT_RULES",
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "Alert",
    "AlertRule",
    "Chi2Result",
    "Freshness",
    "KSResult",
    "RequestLog",
    "chi2_test_categorical",
    "detect_change_day",
    "drift_report",
    "evaluate_alerts",
    "freshness",
    "ks_test",
    "psi",
    "psi_categorical",
    "rolling_percentile",
    "simulate_request_log",
    "summarize",
]

SOURCE = "source"
N_ITEMS = "n_items"
MODEL_VERSION = "model_version"
ERROR = "error"
ITEMS = "items"
LATENCY_TOTAL = "latency_total_ms"
COLD_START_SOURCE = "cold_start"  # `source` of requests answered by the cold-start path

# Population Stability Index conventions from credit-risk scorecard monitoring
# (Siddiqi, "Credit Risk Scorecards", 2006): < 0.1 no real change, 0.1-0.2 moderate shift
# worth a look, > 0.2 significant shift (investigate / retrain).
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.2

_STAGE_COLUMN = re.compile(r"^latency_(.+)_ms$")


def _latency_column(stage: str) -> str:
    return f"latency_{stage}_ms"


# ---------------------------------------------------------------------------------------
# 1. The request log
# ---------------------------------------------------------------------------------------


@dataclass
class _Columns:
    """Consolidated numpy columns of a request log (items as flat array + offsets)."""

    timestamp_ns: np.ndarray  # int64, ns since the epoch, UTC
    user_id: np.ndarray
    source: np.ndarray  # object (str)
    stage_ms: dict[str, np.ndarray]  # float64, NaN when the stage did not run
    total_ms: np.ndarray  # float64
    n_items: np.ndarray  # int64
    model_version: np.ndarray  # object (str)
    error: np.ndarray  # object: None or str
    has_items: np.ndarray  # bool: were the served item ids logged?
    item_offsets: np.ndarray  # int64, length n + 1; items of row i: flat[off[i]:off[i+1]]
    items_flat: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamp_ns)

    @classmethod
    def empty(cls) -> _Columns:
        obj = np.array([], dtype=object)
        return cls(
            np.array([], np.int64), np.array([], np.int64), obj, {}, np.array([]),
            np.array([], np.int64), obj, obj, np.array([], bool), np.zeros(1, np.int64),
            np.array([], np.int64),
        )  # fmt: skip

    def concat(self, other: _Columns) -> _Columns:
        if len(self) == 0:
            return other
        n, m = len(self), len(other)
        stage_ms = {}
        for s in dict.fromkeys([*self.stage_ms, *other.stage_ms]):  # union, first-seen order
            left = self.stage_ms.get(s, np.full(n, np.nan))
            stage_ms[s] = np.concatenate([left, other.stage_ms.get(s, np.full(m, np.nan))])
        return _Columns(
            np.concatenate([self.timestamp_ns, other.timestamp_ns]),
            np.concatenate([self.user_id, other.user_id]),
            np.concatenate([self.source, other.source]),
            stage_ms,
            np.concatenate([self.total_ms, other.total_ms]),
            np.concatenate([self.n_items, other.n_items]),
            np.concatenate([self.model_version, other.model_version]),
            np.concatenate([self.error, other.error]),
            np.concatenate([self.has_items, other.has_items]),
            np.concatenate([self.item_offsets, other.item_offsets[1:] + self.item_offsets[-1]]),
            np.concatenate([self.items_flat, other.items_flat]),
        )


def _timestamp_ns(timestamp: Any) -> int:
    """One timestamp -> int ns since the epoch (UTC); numbers are epoch seconds."""
    is_number = isinstance(timestamp, (int, float, np.integer, np.floating))
    if is_number and not isinstance(timestamp, bool):
        return round(float(timestamp) * 1e9)
    ts = pd.Timestamp(timestamp)
    if ts.tzinfo is None:
        raise ValueError(
            f"timestamp must be timezone-aware (e.g. pd.Timestamp(..., tz='UTC')) or epoch "
            f"seconds; got the naive timestamp {ts}"
        )
    return int(ts.value)


def _object_array(values: Sequence[Any]) -> np.ndarray:
    """1-D object array of scalars (str / None); never broadcast into 2-D."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _flat_item_array(values: list[Any] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size == 0:
        return np.array([], dtype=np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    return _object_array(values)


class RequestLog:
    """Structured log of served recommendation requests, kept as column buffers.

    ``record`` appends one request to plain Python lists under a lock (a few microseconds,
    no pandas in the serving path, safe from several threads); the buffers are turned into numpy columns only when the log is
    read (``to_frame``, ``summarize``). Served item ids are stored as one flat array plus
    offsets, so per-window item statistics never build a list per request.

    Examples
    --------
    >>> log = RequestLog()
    >>> log.record(timestamp="2024-01-01T10:00:00Z", user_id=7, source="personalized",
    ...            stage_ms={"retrieval": 12.0, "ranking": 30.0}, model_version="v1",
    ...            items=[10, 20, 30])
    >>> df = log.to_frame()
    >>> df[["latency_retrieval_ms", "latency_total_ms", "n_items"]].iloc[0].tolist()
    [12.0, 42.0, 3.0]
    >>> df["items"].iloc[0]
    [10, 20, 30]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # record() from several server threads stays aligned
        self._frozen = _Columns.empty()
        self._reset_buffers()

    def _reset_buffers(self) -> None:
        self._ts: list[int] = []
        self._user: list[Any] = []
        self._source: list[str] = []
        self._stage: dict[str, list[float]] = {}
        self._total: list[float] = []
        self._n_items: list[int] = []
        self._version: list[str] = []
        self._error: list[str | None] = []
        self._has_items: list[bool] = []
        self._item_ends: list[int] = []
        self._items: list[Any] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._frozen) + len(self._ts)

    def __repr__(self) -> str:
        return f"RequestLog({len(self):,} requests, stages={self.stages})"

    @property
    def stages(self) -> list[str]:
        """Names of the latency stages seen so far, in first-seen order."""
        return list(dict.fromkeys([*self._frozen.stage_ms, *self._stage]))

    def record(
        self,
        *,
        timestamp: Any,
        user_id: Any,
        source: str,
        stage_ms: Mapping[str, float],
        model_version: str,
        n_items: int | None = None,
        error: str | None = None,
        items: Sequence[Any] | None = None,
    ) -> None:
        """Append one served request.

        Parameters
        ----------
        timestamp : timezone-aware timestamp, ISO string with offset, or epoch seconds
        user_id : the requesting user
        source : which path answered, e.g. ``"personalized"``, ``"cold_start"``, ``"fallback"``
        stage_ms : latency per stage in milliseconds, e.g. ``{"retrieval": 12.0}``; the key
            ``"total"`` gives the measured end-to-end latency, otherwise it is the stage sum
        model_version : version tag of the model that produced the list
        n_items : length of the returned list (default: ``len(items)``)
        error : None for a successful request, else a short error code
        items : the served item ids (None when not logged)
        """
        if not isinstance(stage_ms, Mapping):
            raise TypeError(
                f"stage_ms must be a mapping stage -> ms; got {type(stage_ms).__name__}"
            )
        if error is not None and not isinstance(error, str):
            raise TypeError(f"error must be None or a str; got {type(error).__name__}")
        if items is not None:
            if isinstance(items, (str, bytes)) or not hasattr(items, "__len__"):
                raise TypeError(f"items must be a sequence of item ids; got {type(items).__name__}")
            if n_items is None:
                n_items = len(items)
            elif n_items != len(items):
                raise ValueError(f"n_items={n_items} but {len(items)} items were given")
        if n_items is None or n_items < 0:
            raise ValueError(f"n_items must be an int >= 0 (or pass items); got {n_items!r}")
        stages = {k: float(v) for k, v in stage_ms.items() if k != "total"}
        if any(not v >= 0 for v in stages.values()):  # also rejects NaN
            raise ValueError(f"stage latencies must be >= 0 ms; got {dict(stage_ms)}")
        total = float(stage_ms["total"]) if "total" in stage_ms else sum(stages.values())

        ts = _timestamp_ns(timestamp)  # validate everything before touching the buffers
        with self._lock:
            n_pending = len(self._ts)
            for name in stages:  # new stages, in the caller's order (a set would shuffle them)
                if name not in self._stage:
                    self._stage[name] = [math.nan] * n_pending
            for name, buf in self._stage.items():
                buf.append(stages.get(name, math.nan))
            self._ts.append(ts)
            self._user.append(user_id)
            self._source.append(source)
            self._total.append(total)
            self._n_items.append(int(n_items))
            self._version.append(model_version)
            self._error.append(error)
            self._has_items.append(items is not None)
            if items is not None:
                self._items.extend(items)
            self._item_ends.append(len(self._items))

    def _columns(self) -> _Columns:
        """Move the pending Python buffers into numpy columns and return all columns."""
        with self._lock:
            return self._consolidate()

    def _consolidate(self) -> _Columns:
        if self._ts:
            pending = _Columns(
                np.asarray(self._ts, dtype=np.int64),
                np.asarray(self._user),
                _object_array(self._source),
                {k: np.asarray(v, dtype=float) for k, v in self._stage.items()},
                np.asarray(self._total, dtype=float),
                np.asarray(self._n_items, dtype=np.int64),
                _object_array(self._version),
                _object_array(self._error),
                np.asarray(self._has_items, dtype=bool),
                np.concatenate([[0], np.asarray(self._item_ends, dtype=np.int64)]),
                _flat_item_array(self._items),
            )
            self._frozen = self._frozen.concat(pending)
            self._reset_buffers()
        return self._frozen

    def to_frame(self) -> pd.DataFrame:
        """Tidy DataFrame, one row per request.

        Columns: ``timestamp`` (UTC), ``user_id``, ``source``, ``latency_<stage>_ms`` for
        every stage, ``latency_total_ms``, ``n_items``, ``model_version``, ``error`` (None
        when the request succeeded) and ``items`` (list of item ids, or None).
        """
        c = self._columns()
        off = c.item_offsets
        flat, starts, ends = c.items_flat.tolist(), off[:-1].tolist(), off[1:].tolist()
        items = [  # Python lists on the way out only; summarize never needs them
            flat[a:b] if h else None
            for a, b, h in zip(starts, ends, c.has_items.tolist(), strict=True)
        ]
        data: dict[str, Any] = {
            TIMESTAMP: pd.to_datetime(c.timestamp_ns, unit="ns", utc=True),
            USER_ID: c.user_id,
            SOURCE: c.source,
            **{_latency_column(s): v for s, v in c.stage_ms.items()},
            LATENCY_TOTAL: c.total_ms,
            N_ITEMS: c.n_items,
            MODEL_VERSION: c.model_version,
            ERROR: pd.Series(c.error, dtype=object),
            ITEMS: pd.Series(items, dtype=object),
        }
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> RequestLog:
        """Rebuild a log from a frame in the ``to_frame`` layout (``error``, ``items`` optional)."""
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame; got {type(df).__name__}")
        required = [TIMESTAMP, USER_ID, SOURCE, LATENCY_TOTAL, N_ITEMS, MODEL_VERSION]
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise ValueError(f"df is missing required columns {missing}; has {list(df.columns)}")
        ts = df[TIMESTAMP]
        if not isinstance(ts.dtype, pd.DatetimeTZDtype):
            raise ValueError(f"column {TIMESTAMP!r} must be tz-aware datetimes; got {ts.dtype}")
        stage_ms = {
            m.group(1): df[col].to_numpy(dtype=float)
            for col in df.columns
            if (m := _STAGE_COLUMN.match(str(col))) and col != LATENCY_TOTAL
        }
        error = df[ERROR].to_numpy(dtype=object) if ERROR in df.columns else None
        n_items = df[N_ITEMS].to_numpy(dtype=np.int64)
        items = None
        has_items = np.zeros(len(df), dtype=bool)
        if ITEMS in df.columns:
            col = df[ITEMS].to_numpy(dtype=object)
            has_items = ~pd.isna(col)
            logged = col[has_items]
            lengths = np.fromiter(map(len, logged), dtype=np.int64, count=len(logged))
            if not np.array_equal(lengths, n_items[has_items]):
                raise ValueError("column 'n_items' disagrees with len(items) on some rows")
            items = _flatten(logged, int(lengths.sum()))
        log = cls.from_arrays(
            timestamp=ts,
            user_id=df[USER_ID].to_numpy(),
            source=df[SOURCE].to_numpy(dtype=object),
            stage_ms=stage_ms,
            total_ms=df[LATENCY_TOTAL].to_numpy(dtype=float),
            n_items=n_items,
            model_version=df[MODEL_VERSION].to_numpy(dtype=object),
            error=error,
            items=items,
            has_items=has_items if items is not None else None,
        )
        return log

    @classmethod
    def from_arrays(
        cls,
        *,
        timestamp: Any,
        user_id: Any,
        source: Any,
        stage_ms: Mapping[str, Any],
        model_version: Any,
        n_items: Any,
        total_ms: Any = None,
        error: Any = None,
        items: Any = None,
        has_items: Any = None,
    ) -> RequestLog:
        """Vectorised constructor for big logs (tests, benchmarks, simulations).

        Parameters
        ----------
        timestamp : tz-aware datetimes (array-like / Series / DatetimeIndex), length n
        user_id, source, model_version : array-likes of length n (a scalar is broadcast)
        stage_ms : mapping stage -> float array of length n (NaN: stage did not run)
        n_items : int array of length n, the length of each served list
        total_ms : end-to-end latency; default the NaN-ignoring sum of the stages
        error : array of None / str, default all None
        items : flat array of the served item ids, request after request; it holds
            ``n_items[has_items].sum()`` ids
        has_items : bool array, which requests have their items in ``items``
            (default: all of them when ``items`` is given, none otherwise)

        Examples
        --------
        >>> log = RequestLog.from_arrays(
        ...     timestamp=pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
        ...     user_id=[1, 2], source="personalized", model_version="v1",
        ...     stage_ms={"ranking": [20.0, 30.0]}, n_items=[2, 1], items=[5, 6, 5])
        >>> log.to_frame()["items"].tolist()
        [[5, 6], [5]]
        """
        ts = pd.DatetimeIndex(timestamp)
        if ts.tz is None:
            raise ValueError("timestamp must be timezone-aware; localize it, e.g. tz='UTC'")
        ts_ns = ts.tz_convert(None).as_unit("ns").to_numpy().view(np.int64)
        n = len(ts_ns)

        def column(values: Any, name: str, dtype: Any = None) -> np.ndarray:
            if np.ndim(values) == 0:
                arr = np.empty(n, dtype=object if dtype is None else dtype)
                arr[:] = values
                return arr
            arr = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
            if arr.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},); got {arr.shape}")
            return arr

        stages = {str(k): column(v, f"stage_ms[{k!r}]", float) for k, v in stage_ms.items()}
        if any((v < 0).any() for v in stages.values()):
            raise ValueError("stage latencies must be >= 0 ms")
        if total_ms is None:
            total = (
                np.zeros(n) if not stages else np.nansum(np.column_stack(list(stages.values())), 1)
            )
        else:
            total = column(total_ms, "total_ms", float)
        n_items_arr = column(n_items, "n_items", np.int64)
        if (n_items_arr < 0).any():
            raise ValueError("n_items must be >= 0")
        if has_items is None:
            has_items_arr = np.full(n, items is not None)
        else:
            has_items_arr = column(has_items, "has_items", bool)
        lengths = np.where(has_items_arr, n_items_arr, 0)
        flat = np.array([], np.int64) if items is None else _flat_item_array(np.asarray(items))
        if len(flat) != lengths.sum():
            raise ValueError(
                f"items must hold n_items[has_items].sum() = {lengths.sum()} ids; got {len(flat)}"
            )
        err = np.full(n, None, dtype=object) if error is None else column(error, "error", object)
        err = np.where(pd.isna(err), None, err)
        log = cls()
        log._frozen = _Columns(
            ts_ns,
            column(user_id, "user_id"),
            column(source, "source", object),
            stages,
            total,
            n_items_arr,
            column(model_version, "model_version", object),
            err,
            has_items_arr,
            np.concatenate([[0], np.cumsum(lengths)]),
            flat,
        )
        return log


def _flatten(lists: np.ndarray, total: int) -> np.ndarray:
    """Concatenate a 1-D object array of sequences (ints fast-pathed through fromiter)."""
    first = next((lst[0] for lst in lists if len(lst)), None)
    if isinstance(first, (int, np.integer)) and not isinstance(first, bool):
        try:
            return np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=total)
        except (TypeError, ValueError, OverflowError):
            pass  # mixed ids: fall back to objects
    return _flat_item_array(list(itertools.chain.from_iterable(lists)))


def simulate_request_log(
    n_requests: int = 100_000,
    *,
    start: str = "2024-01-01",
    days: float = 7.0,
    n_users: int = 100_000,
    catalog_size: int = 5_000,
    k: int = 10,
    cold_start_share: float = 0.05,
    error_rate: float = 0.002,
    random_state: int | None = 0,
) -> RequestLog:
    """Synthetic request log, built with vectorised numpy (1M requests in about a second).

    Stage latencies are log-normal (retrieval ~12 ms, ranking ~35 ms, rerank ~4 ms median,
    plus ~5 ms overhead); personalized lists are ``k`` ids drawn with replacement from a
    Zipf-like popularity over item ids ``1..catalog_size``; cold-start lists come from the
    50 most popular items; failed requests serve nothing.

    Examples
    --------
    >>> log = simulate_request_log(1_000, days=2, random_state=0)
    >>> len(log), log.stages
    (1000, ['retrieval', 'ranking', 'rerank'])
    """
    if n_requests < 1 or k < 1 or catalog_size < 1 or n_users < 1:
        raise ValueError(
            "n_requests, k, catalog_size and n_users must be >= 1; got "
            f"{n_requests}, {k}, {catalog_size}, {n_users}"
        )
    for name, share in [("cold_start_share", cold_start_share), ("error_rate", error_rate)]:
        if not 0 <= share <= 1:
            raise ValueError(f"{name} must be in [0, 1]; got {share}")
    rng = np.random.default_rng(random_state)
    t0 = pd.Timestamp(start, tz="UTC")
    offsets = np.sort(rng.uniform(0, days * 86_400e9, n_requests)).astype(np.int64)
    timestamp = t0 + pd.to_timedelta(offsets, unit="ns")

    cold = rng.random(n_requests) < cold_start_share
    failed = rng.random(n_requests) < error_rate
    stage_ms = {
        "retrieval": rng.lognormal(np.log(12.0), 0.35, n_requests),
        "ranking": np.where(cold, np.nan, rng.lognormal(np.log(35.0), 0.40, n_requests)),
        "rerank": rng.lognormal(np.log(4.0), 0.30, n_requests),
    }
    total = np.nansum(np.column_stack(list(stage_ms.values())), 1)
    total += rng.lognormal(np.log(5.0), 0.5, n_requests)

    n_items = np.where(failed, 0, k)
    # item ids ~ floor(x) with density of x proportional to x^-0.9 on [1, catalog_size + 1):
    # inverse-CDF sampling, x = (1 + u ((C + 1)^0.1 - 1))^(1 / 0.1)
    per_item_cold = np.repeat(cold[~failed], k)
    u = rng.random(per_item_cold.size)
    x = (1.0 + u * ((catalog_size + 1.0) ** 0.1 - 1.0)) ** 10.0
    draws = np.minimum(x.astype(np.int64), catalog_size)
    top = rng.integers(1, min(50, catalog_size) + 1, per_item_cold.size)
    items = np.where(per_item_cold, top, draws)

    return RequestLog.from_arrays(
        timestamp=timestamp,
        user_id=rng.integers(1, n_users + 1, n_requests),
        source=np.where(cold, COLD_START_SOURCE, "personalized").astype(object),
        stage_ms=stage_ms,
        total_ms=total,
        n_items=n_items,
        model_version="v1",
        error=np.where(failed, "timeout", None),
        items=items,
    )


# ---------------------------------------------------------------------------------------
# 2. Rolling summaries
# ---------------------------------------------------------------------------------------


def _as_columns(log: RequestLog | pd.DataFrame, name: str = "log") -> _Columns:
    if isinstance(log, pd.DataFrame):
        log = RequestLog.from_frame(log)
    if not isinstance(log, RequestLog):
        raise TypeError(f"{name} must be a RequestLog or a DataFrame; got {type(log).__name__}")
    return log._columns()


def _window_codes(
    timestamp_ns: np.ndarray, freq: str | pd.Timedelta
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Window number of every request, and the window starts (aligned to the epoch, UTC)."""
    try:
        step = pd.Timedelta(freq)
    except (ValueError, TypeError):
        raise ValueError(
            f"freq must be a fixed length such as '1h' or '1D'; got {freq!r}"
        ) from None
    step_ns = int(step.value)
    if step_ns <= 0:
        raise ValueError(f"freq must be a positive duration; got {freq!r}")
    start = (timestamp_ns.min() // step_ns) * step_ns
    codes = (timestamp_ns - start) // step_ns
    n_windows = int(codes.max()) + 1
    if n_windows > 1_000_000:
        raise ValueError(f"freq={freq!r} gives {n_windows:,} windows; use a coarser freq")
    starts = pd.to_datetime(start + np.arange(n_windows) * step_ns, unit="ns", utc=True)
    return codes, pd.DatetimeIndex(starts, name="window")


def _item_codes(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes 0..U-1 of served item ids and the distinct ids (a bincount LUT for ints)."""
    if (
        flat.dtype.kind in "iu"
        and flat.size
        and flat.min() >= 0
        and flat.max() < 4 * flat.size + 10**6
    ):
        present = np.zeros(int(flat.max()) + 1, dtype=bool)
        present[flat] = True
        lut = np.cumsum(present) - 1
        return lut[flat], np.flatnonzero(present)
    codes, uniques = pd.factorize(flat)
    return codes, np.asarray(uniques)


def _distinct_per_window(
    window: np.ndarray, codes: np.ndarray, n_windows: int, n_codes: int
) -> np.ndarray:
    """Number of distinct codes in each window: presence bitmap, or unique keys when large."""
    key = window * n_codes + codes
    if n_windows * n_codes <= 50_000_000:
        seen = np.zeros(n_windows * n_codes, dtype=bool)
        seen[key] = True
        return seen.reshape(n_windows, n_codes).sum(axis=1)
    return np.bincount(np.unique(key) // n_codes, minlength=n_windows)


def _per_window_mean(window: np.ndarray, values: np.ndarray, n_windows: int) -> np.ndarray:
    ok = ~np.isnan(values)
    if not ok.all():  # skip the copies in the common all-known case
        window, values = window[ok], values[ok]
    total = np.bincount(window, weights=values, minlength=n_windows)
    count = np.bincount(window, minlength=n_windows)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _intra_list_diversity(
    c: _Columns, item_codes: np.ndarray, uniques: np.ndarray, item_genres: Any
) -> np.ndarray:
    """ILD of every served list: 1 - mean pairwise cosine similarity of genre vectors.

    With unit genre vectors u_1..u_k (zero for items without genres), the sum over pairs
    of u_i . u_j equals (|sum u|^2 - sum |u|^2) / 2, so one sparse product (requests x
    items) @ (items x genres) gives every list at once. NaN for lists shorter than 2.
    """
    genres = pd.Series(item_genres).reindex(uniques)
    exploded = genres.explode()
    exploded = exploded[exploded.notna()]
    rows = pd.Index(uniques).get_indexer(exploded.index)
    genre_codes, genre_names = pd.factorize(exploded.to_numpy())
    onehot = sp.csr_matrix(
        (np.ones(len(rows)), (rows, genre_codes)), shape=(len(uniques), max(len(genre_names), 1))
    )
    onehot.sum_duplicates()
    onehot.data[:] = 1.0  # an item listing a genre twice still counts it once
    norms = np.sqrt(np.asarray(onehot.sum(axis=1)).ravel())
    unit = (
        sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ onehot
    ).toarray()
    has_genre = (norms > 0).astype(float)

    lengths = np.diff(c.item_offsets)
    served = sp.csr_matrix(
        (np.ones(len(item_codes)), item_codes, c.item_offsets), shape=(len(c), len(uniques))
    )
    sim_sum = np.empty(len(c))
    chunk = 200_000  # bounds memory of the dense (requests x genres) block
    for lo in range(0, len(c), chunk):
        block = served[lo : lo + chunk]
        vec_sum = block @ unit  # (requests x genres), dense
        sim_sum[lo : lo + chunk] = ((vec_sum**2).sum(axis=1) - block @ has_genre) / 2
    pairs = lengths * (lengths - 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(lengths >= 2, 1.0 - sim_sum / pairs, np.nan)


def _column_values(c: _Columns, column: str) -> np.ndarray:
    named = {
        USER_ID: c.user_id, SOURCE: c.source, N_ITEMS: c.n_items, MODEL_VERSION: c.model_version,
        LATENCY_TOTAL: c.total_ms, **{_latency_column(s): v for s, v in c.stage_ms.items()},
    }  # fmt: skip
    if column not in named:
        raise ValueError(
            f"drift column {column!r} is not a log column; choose from {sorted(named)}"
        )
    return named[column]


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "iuf"


def _windowed_psi(
    reference: np.ndarray,
    current: np.ndarray,
    window: np.ndarray,
    n_windows: int,
    bins: int,
    eps: float,
) -> np.ndarray:
    """PSI of every window's values against one reference sample, via one 2-D bincount."""
    if _is_numeric(reference) and _is_numeric(current):
        ref = reference[~np.isnan(reference.astype(float))]
        keep = ~np.isnan(current.astype(float))
        edges = _quantile_edges(ref, bins)
        ref_bin = np.searchsorted(edges, ref, side="right")
        cur_bin = np.searchsorted(edges, current[keep], side="right")
        n_bins = len(edges) + 1
    else:
        keep = ~pd.isna(current)
        codes, _ = pd.factorize(np.concatenate([reference[~pd.isna(reference)], current[keep]]))
        n_ref = int((~pd.isna(reference)).sum())
        ref_bin, cur_bin = codes[:n_ref], codes[n_ref:]
        n_bins = int(codes.max()) + 1 if codes.size else 1
    if ref_bin.size == 0:
        raise ValueError("reference has no non-missing values for a drift column")
    ref_counts = np.bincount(ref_bin, minlength=n_bins)
    cur_counts = np.bincount(window[keep] * n_bins + cur_bin, minlength=n_windows * n_bins)
    return _psi_from_counts(ref_counts, cur_counts.reshape(n_windows, n_bins), eps)


def summarize(
    log: RequestLog | pd.DataFrame,
    freq: str | pd.Timedelta = "1D",
    *,
    catalog_size: int | None = None,
    item_popularity: Mapping[Any, float] | pd.Series | None = None,
    item_genres: Mapping[Any, Sequence[str]] | pd.Series | None = None,
    reference: RequestLog | pd.DataFrame | None = None,
    drift_columns: Sequence[str] = (),
    percentiles: Sequence[float] = (50, 95, 99),
    bins: int = 10,
    eps: float = 1e-4,
) -> pd.DataFrame:
    """Per-window health of a recommender service, one row per time window.

    Parameters
    ----------
    log : RequestLog or a DataFrame in the ``RequestLog.to_frame`` layout
        (passing the RequestLog skips re-flattening the ``items`` lists).
    freq : fixed window length, e.g. ``"1D"`` or ``"1h"``; windows are aligned to the Unix
        epoch (days start at midnight UTC, hours on the hour) and empty windows are kept
        (``request_count`` 0, other metrics NaN).
    catalog_size : number of items that could be served; enables ``coverage``
        (default ``len(item_popularity)`` when that is given).
    item_popularity : item id -> popularity (e.g. training interaction count or share);
        enables ``popularity_mean``, the mean popularity of served impressions.
    item_genres : item id -> list of genres; enables ``ild_mean``, the mean intra-list
        diversity (1 - mean pairwise cosine similarity of genre vectors).
    reference, drift_columns : a reference log (e.g. last week's) and log columns such
        as ``"n_items"`` or ``"source"``; adds ``psi_<column>`` per window.
    percentiles : latency percentiles in [0, 100] (numpy's linear interpolation).
    bins, eps : passed to the PSI computation.

    Returns
    -------
    DataFrame indexed by window start (``window``, UTC) with ``request_count``,
    ``error_rate``, ``latency_<stage>_ms_p<q>`` (stages and ``total``), ``share_<source>``
    (always including ``share_cold_start``, which pools every source named ``cold_start``
    or ``cold_start_<path>``), ``n_items_mean`` and, when items were logged,
    ``n_distinct_items`` plus the optional ``coverage``, ``popularity_mean``, ``ild_mean``
    and ``psi_<column>``.

    Examples
    --------
    >>> log = simulate_request_log(2_000, days=2, catalog_size=500, random_state=0)
    >>> summary = summarize(log, "1D", catalog_size=500)
    >>> summary["request_count"].tolist(), summary["share_cold_start"].round(3).tolist()
    ([1007, 993], [0.05, 0.052])
    """
    c = _as_columns(log)
    if len(c) == 0:
        raise ValueError("the log is empty; nothing to summarize")
    pct = np.asarray(percentiles, dtype=float)
    if pct.ndim != 1 or pct.size == 0 or ((pct < 0) | (pct > 100)).any():
        raise ValueError(f"percentiles must be values in [0, 100]; got {percentiles!r}")
    window, windows = _window_codes(c.timestamp_ns, freq)
    n_windows = len(windows)
    count = np.bincount(window, minlength=n_windows)
    errors = np.bincount(window, weights=~pd.isna(c.error), minlength=n_windows)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: dict[str, np.ndarray] = {"request_count": count, "error_rate": errors / count}

    # latency percentiles, end to end and per stage (pandas' grouped quantile sorts once)
    latency = pd.DataFrame({_latency_column(s): v for s, v in c.stage_ms.items()})
    latency[LATENCY_TOTAL] = c.total_ms
    quant = latency.groupby(window).quantile(pct / 100).unstack()
    for col in latency.columns:
        for p in pct:
            values = quant[(col, p / 100)].reindex(range(n_windows)).to_numpy()
            out[f"{col}_p{p:g}"] = values

    # source mix: one 2-D bincount over (window, source)
    source_code, source_names = pd.factorize(c.source)
    n_src = len(source_names)
    mix = np.bincount(window * n_src + source_code, minlength=n_windows * n_src)
    mix = mix.reshape(n_windows, n_src)
    names = sorted({*map(str, source_names), COLD_START_SOURCE})
    for name in names:
        # share_cold_start pools every cold-start path ("cold_start_popularity", ...)
        hits = [
            i
            for i, s in enumerate(source_names)
            if str(s) == name or (name == COLD_START_SOURCE and str(s).startswith(name + "_"))
        ]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"share_{name}"] = mix[:, hits].sum(axis=1) / count
    with np.errstate(invalid="ignore", divide="ignore"):
        out["n_items_mean"] = np.bincount(window, weights=c.n_items, minlength=n_windows) / count

    # quality of the served items: explode via np.repeat over the flat item array
    if c.has_items.any():
        item_window = np.repeat(window, np.diff(c.item_offsets))
        codes, uniques = _item_codes(c.items_flat)
        distinct = _distinct_per_window(item_window, codes, n_windows, len(uniques))
        logged = np.bincount(window[c.has_items], minlength=n_windows) > 0
        out["n_distinct_items"] = np.where(logged, distinct, np.nan)
        if catalog_size is None and item_popularity is not None:
            catalog_size = len(item_popularity)
        if catalog_size is not None:
            if catalog_size < 1:
                raise ValueError(f"catalog_size must be >= 1; got {catalog_size}")
            out["coverage"] = out["n_distinct_items"] / catalog_size
        if item_popularity is not None:
            pop = pd.Series(item_popularity, dtype=float).reindex(uniques).to_numpy()
            out["popularity_mean"] = _per_window_mean(item_window, pop[codes], n_windows)
        if item_genres is not None:
            ild = _intra_list_diversity(c, codes, uniques, item_genres)
            out["ild_mean"] = _per_window_mean(window, ild, n_windows)
    elif catalog_size is not None or item_popularity is not None or item_genres is not None:
        raise ValueError("item statistics were requested but the log holds no served items")

    if drift_columns:
        if reference is None:
            raise ValueError("drift_columns needs a reference log")
        ref = _as_columns(reference, "reference")
        for col in drift_columns:
            out[f"psi_{col}"] = _windowed_psi(
                _column_values(ref, col), _column_values(c, col), window, n_windows, bins, eps
            )
    return pd.DataFrame(out, index=windows)


# ---------------------------------------------------------------------------------------
# 3. Drift statistics
# ---------------------------------------------------------------------------------------


def _finite_1d(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be numeric; got values like {np.asarray(values).ravel()[:3]}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; drop or impute them first")
    return arr


def _quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's interior quantiles (ties merged).

    The outer bins are open, (-inf, e_1) and [e_last, inf), so current values outside
    the reference range still land in a bin.
    """
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def _psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float) -> np.ndarray:
    """PSI = sum_b (q_b - p_b) ln(q_b / p_b); proportions clipped at eps (empty bins).

    ``cur_counts`` is (n_windows, n_bins); rows without observations give NaN. Every term
    is >= 0 because (q - p) and ln(q / p) share their sign.
    """
    p = np.maximum(ref_counts / ref_counts.sum(), eps)
    totals = cur_counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.maximum(cur_counts / totals, eps)
        return np.where(totals[:, 0] > 0, ((q - p) * np.log(q / p)).sum(axis=1), np.nan)


def psi(reference: Any, current: Any, *, bins: int = 10, eps: float = 1e-4) -> float:
    """Population Stability Index of a numeric feature, bins at reference quantiles.

    Reading (credit-risk convention): < 0.1 stable, 0.1-0.2 moderate shift, > 0.2
    significant shift.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=10_000)
    >>> round(psi(ref, ref), 6)
    0.0
    >>> psi(ref, rng.normal(0.5, 1, 10_000)) > PSI_SIGNIFICANT
    True
    """
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an int >= 1; got {bins!r}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1); got {eps}")
    ref = _finite_1d(reference, "reference")
    cur = _finite_1d(current, "current")
    edges = _quantile_edges(ref, bins)
    n_bins = len(edges) + 1
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=n_bins)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=n_bins)
    return float(_psi_from_counts(ref_counts, cur_counts[None, :], eps)[0])


def _category_counts(reference: Any, current: Any, counts: bool) -> pd.DataFrame:
    """Two-column table (reference, current) of counts over the union of categories."""

    def one(x: Any, name: str) -> pd.Series:
        if counts:
            if not isinstance(x, (Mapping, pd.Series)):
                raise TypeError(f"with counts=True, {name} must be a mapping category -> count")
            s = pd.Series(x, dtype=float)
            if (s < 0).any() or not np.isfinite(s).all():
                raise ValueError(f"{name} counts must be finite and >= 0")
        else:
            try:
                s = pd.Series(np.asarray(x, dtype=object).ravel()).value_counts()
            except TypeError as e:
                raise TypeError(f"{name} values must be hashable categories: {e}") from None
        if s.sum() <= 0:
            raise ValueError(f"{name} has no observations")
        return s

    table = pd.concat([one(reference, "reference"), one(current, "current")], axis=1).fillna(0)
    table.columns = ["reference", "current"]
    return table[table.sum(axis=1) > 0]


def psi_categorical(
    reference: Any, current: Any, *, counts: bool = False, eps: float = 1e-4
) -> float:
    """PSI of a categorical feature (one bin per category of either sample).

    Pass raw values, or ``counts=True`` with mappings / Series category -> count.

    Examples
    --------
    >>> psi_categorical(["a", "a", "b"], ["a", "b", "b"]) > 0
    True
    >>> psi_categorical({"a": 2, "b": 1}, {"a": 20, "b": 10}, counts=True)
    0.0
    """
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1); got {eps}")
    table = _category_counts(reference, current, counts).to_numpy()
    return float(_psi_from_counts(table[:, 0], table[None, :, 1], eps)[0])


class KSResult(NamedTuple):
    """Two-sample KS test: D = max |F_ref - F_cur| and its p-value."""

    statistic: float
    pvalue: float


class Chi2Result(NamedTuple):
    """Pearson chi-square homogeneity test: statistic, p-value, degrees of freedom."""

    statistic: float
    pvalue: float
    dof: int


def ks_test(
    reference: Any, current: Any, *, method: Literal["auto", "asymp", "exact"] = "auto"
) -> KSResult:
    """Two-sample Kolmogorov-Smirnov test: D = max_x |F_ref(x) - F_cur(x)|.

    The statistic is computed here (both empirical CDFs evaluated at every pooled value).
    The p-value comes from scipy: Smirnov's asymptotic distribution
    ``scipy.stats.kstwo.sf(D, round(n m / (n + m)))`` for large samples and scipy's exact
    computation when ``method="exact"`` (``"auto"``: exact up to 10,000 per sample, as
    ``scipy.stats.ks_2samp`` does, which falls back to the asymptotic value when the exact
    computation fails).

    Examples
    --------
    >>> ks_test([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]).statistic
    0.5
    """
    if method not in ("auto", "asymp", "exact"):
        raise ValueError(f"method must be 'auto', 'asymp' or 'exact'; got {method!r}")
    ref = np.sort(_finite_1d(reference, "reference"))
    cur = np.sort(_finite_1d(current, "current"))
    pooled = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, pooled, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, pooled, side="right") / cur.size
    d = float(np.max(np.abs(cdf_ref - cdf_cur)))

    if method == "exact" or (method == "auto" and max(ref.size, cur.size) <= 10_000):
        with warnings.catch_warnings():  # scipy itself falls back to asymp when exact fails
            warnings.simplefilter("ignore", RuntimeWarning)
            pvalue = float(scipy.stats.ks_2samp(ref, cur, method="exact").pvalue)
    else:
        en = ref.size * cur.size / (ref.size + cur.size)
        pvalue = float(np.clip(scipy.stats.kstwo.sf(d, np.round(en)), 0, 1))
    return KSResult(d, pvalue)


def chi2_test_categorical(reference: Any, current: Any, *, counts: bool = False) -> Chi2Result:
    """Pearson chi-square test that two samples share one categorical distribution.

    Builds the 2 x K contingency table over the union of categories and calls
    ``scipy.stats.chi2_contingency(table, correction=False)``.

    Examples
    --------
    >>> r = chi2_test_categorical(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20)
    >>> r.dof, round(r.statistic, 3)
    (1, 19.78)
    """
    table = _category_counts(reference, current, counts).to_numpy().T
    res = scipy.stats.chi2_contingency(table, correction=False)
    return Chi2Result(float(res.statistic), float(res.pvalue), int(res.dof))


def drift_report(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    bins: int = 10,
    eps: float = 1e-4,
    psi_threshold: float = PSI_SIGNIFICANT,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """Drift of each column between two frames: PSI plus a significance test.

    Numeric columns get ``psi`` and a KS test, other columns ``psi_categorical`` and a
    chi-square test; missing values are dropped. ``drift`` flags PSI > ``psi_threshold``:
    an effect size, because with monitoring-sized samples a p-value is tiny for any shift,
    however harmless. ``significant`` (p < ``alpha``) is reported next to it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"age": rng.normal(30, 5, 5000), "device": rng.choice(["tv", "app"], 5000)})
    >>> cur = pd.DataFrame({"age": rng.normal(36, 5, 5000), "device": rng.choice(["tv", "app"], 5000)})
    >>> drift_report(ref, cur, ["age", "device"])["drift"].tolist()
    [True, False]
    """
    for name, frame in [("reference_df", reference_df), ("current_df", current_df)]:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame; got {type(frame).__name__}")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    if isinstance(columns, str) or len(columns) == 0:
        raise ValueError(f"columns must be a non-empty list of column names; got {columns!r}")
    rows = []
    for col in columns:
        ref, cur = reference_df[col].dropna(), current_df[col].dropna()
        numeric = pd.api.types.is_numeric_dtype(ref.dtype) and not pd.api.types.is_bool_dtype(
            ref.dtype
        )
        if numeric:
            value, (stat, p) = psi(ref, cur, bins=bins, eps=eps), ks_test(ref, cur)
            test = "ks"
        else:
            value = psi_categorical(ref, cur, eps=eps)
            stat, p, _ = chi2_test_categorical(ref, cur)
            test = "chi2"
        level = (
            "significant"
            if value > PSI_SIGNIFICANT
            else "moderate"
            if value > PSI_MODERATE
            else "none"
        )
        rows.append({
            "feature": col, "kind": "numeric" if numeric else "categorical",
            "n_reference": len(ref), "n_current": len(cur), "psi": value, "psi_level": level,
            "test": test, "statistic": stat, "p_value": p,
            "significant": p < alpha, "drift": value > psi_threshold,
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("feature")


# ---------------------------------------------------------------------------------------
# 4. Alerting
# ---------------------------------------------------------------------------------------

_SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertRule:
    """A threshold on one summary metric, evaluated per window.

    Why this shape: an alert should page a human only when a metric is (a) past a level
    tied to a user-visible promise (an SLO) or to a known-bad change, (b) measured on
    enough traffic to trust it, and (c) not a one-window blip when blips are common. Hence
    the three knobs ``threshold``/``direction``, ``min_count`` and ``window``.

    Parameters
    ----------
    metric : summary column, or a glob pattern such as ``"psi_*"`` (one check per match)
    threshold : the level that fires the rule
    direction : ``">"`` fires when value > threshold, ``"<"`` when value < threshold
    window : number of consecutive windows that must breach (1: fire at once)
    min_count : skip windows with fewer requests (p99 of 20 requests is noise)
    mode : ``"level"`` compares the metric itself; ``"delta"`` its difference from the
        mean of the previous ``baseline_windows`` windows; ``"relative"`` that
        difference divided by the baseline mean
    baseline_windows : length of the trailing baseline for ``delta`` / ``relative``
    severity : ``"info"``, ``"warning"`` or ``"critical"``
    description : the reason for the rule, shown in the alert message
    """

    metric: str
    threshold: float
    direction: Literal[">", "<"] = ">"
    window: int = 1
    min_count: int = 0
    mode: Literal["level", "delta", "relative"] = "level"
    baseline_windows: int = 7
    severity: str = "warning"
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise TypeError(f"metric must be a non-empty str; got {self.metric!r}")
        if self.direction not in (">", "<"):
            raise ValueError(f"direction must be '>' or '<'; got {self.direction!r}")
        if not np.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number; got {self.threshold!r}")
        if self.window < 1:
            raise ValueError(f"window must be >= 1; got {self.window}")
        if self.min_count < 0:
            raise ValueError(f"min_count must be >= 0; got {self.min_count}")
        if self.mode not in ("level", "delta", "relative"):
            raise ValueError(f"mode must be 'level', 'delta' or 'relative'; got {self.mode!r}")
        if self.baseline_windows < 1:
            raise ValueError(f"baseline_windows must be >= 1; got {self.baseline_windows}")
        if self.severity not in _SEVERITIES:
            raise ValueError(f"severity must be one of {_SEVERITIES}; got {self.severity!r}")


@dataclass(frozen=True)
class Alert:
    """One fired rule in one window; ``str(alert)`` is the one-line page text."""

    time: Any
    metric: str
    value: float
    threshold: float
    severity: str
    message: str

    def __str__(self) -> str:
        when = (
            f"{self.time:%Y-%m-%d %H:%M} UTC"
            if isinstance(self.time, pd.Timestamp)
            else str(self.time)
        )
        return f"[{self.severity.upper()}] {when} | {self.message}"


# Defaults for a service with a 200 ms p99 SLO. Each threshold is a convention or a
# promise, not a fitted number; tune min_count to your traffic per window.
DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        "latency_total_ms_p99", 200.0, ">", min_count=100, severity="critical",
        description="p99 latency SLO is 200 ms (>= 100 requests so p99 is not one request)",
    ),
    AlertRule(
        "error_rate", 0.01, ">", min_count=1000, severity="critical",
        description="error budget is 1% of requests (>= 1000 requests: ~10 expected errors)",
    ),
    AlertRule(
        "share_cold_start", 0.05, ">", mode="delta", baseline_windows=7,
        description="cold-start share jumped 5+ points over its 7-window mean: new-user "
        "surge, or user histories missing from the feature store",
    ),
    AlertRule(
        "coverage", -0.2, "<", mode="relative", baseline_windows=7,
        description="catalog coverage fell 20%+ below its 7-window mean: stale candidate "
        "index or ranking collapsed onto popular items",
    ),
    AlertRule(
        "psi_*", PSI_SIGNIFICANT, ">", min_count=1000, severity="critical",
        description="PSI > 0.2 is a significant distribution shift (credit-risk convention; "
        "0.1-0.2 is moderate)",
    ),
)  # fmt: skip


def _rule_value(series: pd.Series, rule: AlertRule) -> pd.Series:
    values = series.astype(float)
    if rule.mode == "level":
        return values
    k = rule.baseline_windows
    baseline = values.shift(1).rolling(k, min_periods=k).mean()
    if rule.mode == "delta":
        return values - baseline
    return (values - baseline) / baseline.where(baseline != 0)


def evaluate_alerts(
    summary: pd.DataFrame,
    rules: Sequence[AlertRule] = DEFAULT_RULES,
    *,
    missing: Literal["raise", "skip"] = "raise",
) -> list[Alert]:
    """Check every rule on every window of a ``summarize`` frame.

    A rule fires in each window where its condition has held for ``rule.window``
    consecutive windows (windows with NaN, or fewer than ``min_count`` requests, break
    the run). A glob rule (``"psi_*"``) that matches no column is skipped; an exact metric
    name missing from ``summary`` raises unless ``missing="skip"``.

    Returns
    -------
    list of Alert, ordered by time and then by rule order.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> s = pd.DataFrame({"error_rate": [0.001, 0.03, 0.002], "request_count": 5000}, index=idx)
    >>> [str(a) for a in evaluate_alerts(s, [AlertRule("error_rate", 0.01)])]
    ['[WARNING] 2024-01-02 00:00 UTC | error_rate = 0.03 > 0.01']
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a DataFrame; got {type(summary).__name__}")
    if missing not in ("raise", "skip"):
        raise ValueError(f"missing must be 'raise' or 'skip'; got {missing!r}")
    fired: list[tuple[int, int, Alert]] = []
    for rule_no, rule in enumerate(rules):
        if not isinstance(rule, AlertRule):
            raise TypeError(f"rules must hold AlertRule objects; got {type(rule).__name__}")
        is_glob = any(ch in rule.metric for ch in "*?[")
        metrics = (
            fnmatch.filter(map(str, summary.columns), rule.metric) if is_glob else [rule.metric]
        )
        if not is_glob and rule.metric not in summary.columns:
            if missing == "raise":
                raise ValueError(
                    f"metric {rule.metric!r} is not a summary column (columns: {list(summary.columns)}); "
                    "pass the inputs summarize() needs for it, or missing='skip'"
                )
            continue
        eligible = pd.Series(True, index=summary.index)
        if rule.min_count > 0:
            if "request_count" not in summary.columns:
                raise ValueError(
                    f"rule on {rule.metric!r} has min_count but summary has no request_count"
                )
            eligible = summary["request_count"] >= rule.min_count
        for metric in metrics:
            value = _rule_value(summary[metric], rule)
            breach = (value > rule.threshold) if rule.direction == ">" else (value < rule.threshold)
            breach &= eligible
            if rule.window > 1:
                breach = (
                    breach.astype(int).rolling(rule.window, min_periods=rule.window).sum()
                    == rule.window
                )
            what = {"level": metric, "delta": f"{metric} change vs {rule.baseline_windows}-window mean",
                    "relative": f"{metric} relative change vs {rule.baseline_windows}-window mean"}[rule.mode]  # fmt: skip
            for pos in np.flatnonzero(breach.to_numpy()):
                v = float(value.iloc[pos])
                message = f"{what} = {v:.4g} {rule.direction} {rule.threshold:g}"
                if rule.window > 1:
                    message += f" for {rule.window} windows"
                if rule.description:
                    message += f" ({rule.description})"
                alert = Alert(
                    summary.index[pos], metric, v, float(rule.threshold), rule.severity, message
                )
                fired.append((pos, rule_no, alert))
    fired.sort(key=lambda t: (t[0], t[1]))
    return [a for _, _, a in fired]


# ---------------------------------------------------------------------------------------
# 5. Freshness
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """Ages of the serving model and of its training data at time ``now``."""

    now: pd.Timestamp
    model_age: pd.Timedelta
    data_age: pd.Timedelta
    max_model_age: pd.Timedelta
    max_data_age: pd.Timedelta
    alerts: tuple[Alert, ...] = field(default=())

    @property
    def is_fresh(self) -> bool:
        """True when neither age exceeds its limit."""
        return not self.alerts


def _aware(ts: Any, name: str) -> pd.Timestamp:
    out = pd.Timestamp(ts)
    if out.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. tz='UTC'); got {out}")
    return out.tz_convert("UTC")


def freshness(
    now: Any,
    model_trained_at: Any,
    data_cutoff: Any,
    *,
    max_model_age: str | pd.Timedelta = "7D",
    max_data_age: str | pd.Timedelta = "2D",
) -> Freshness:
    """Model age (now - training time) and data age (now - newest training event).

    Defaults: a weekly retraining schedule tolerates a 7-day-old model; the data age
    limit of 2 days is a daily pipeline plus one day of slack. Exceeding either adds a
    warning ``Alert`` (metric ``model_age_days`` / ``data_age_days``).

    Examples
    --------
    >>> f = freshness("2024-03-10T00:00Z", "2024-03-01T00:00Z", "2024-02-29T00:00Z")
    >>> f.model_age.days, f.data_age.days, f.is_fresh
    (9, 10, False)
    """
    now_ts = _aware(now, "now")
    trained = _aware(model_trained_at, "model_trained_at")
    cutoff = _aware(data_cutoff, "data_cutoff")
    if trained > now_ts:
        raise ValueError(f"model_trained_at ({trained}) is after now ({now_ts})")
    if cutoff > trained:
        raise ValueError(f"data_cutoff ({cutoff}) is after model_trained_at ({trained})")
    limits = {}
    for name, limit in [("max_model_age", max_model_age), ("max_data_age", max_data_age)]:
        limits[name] = pd.Timedelta(limit)
        if limits[name] <= pd.Timedelta(0):
            raise ValueError(f"{name} must be a positive duration; got {limit!r}")
    model_age, data_age = now_ts - trained, now_ts - cutoff
    day = pd.Timedelta("1D")
    alerts = tuple(
        Alert(now_ts, metric, age / day, limit / day, "warning",
              f"{metric} = {age / day:.2f} > {limit / day:g} ({what})")
        for metric, age, limit, what in [
            ("model_age_days", model_age, limits["max_model_age"], "model overdue for retraining"),
            ("data_age_days", data_age, limits["max_data_age"], "training data is stale"),
        ]
        if age > limit
    )  # fmt: skip
    return Freshness(
        now_ts, model_age, data_age, limits["max_model_age"], limits["max_data_age"], alerts
    )


# ---------------------------------------------------------------------------------------
# 6. Series helpers
# ---------------------------------------------------------------------------------------


def rolling_percentile(
    latencies: pd.Series | Sequence[float] | np.ndarray,
    window: int | str,
    *,
    q: float = 99.0,
    min_periods: int | None = None,
) -> pd.Series:
    """Rolling q-th percentile (numpy's linear interpolation) of a latency series.

    ``window`` is a number of observations, or a duration such as ``"5min"`` when the
    series has a sorted DatetimeIndex.

    Examples
    --------
    >>> rolling_percentile(pd.Series([10.0, 20.0, 30.0, 40.0]), 2, q=50).tolist()
    [nan, 15.0, 25.0, 35.0]
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100]; got {q}")
    series = (
        latencies
        if isinstance(latencies, pd.Series)
        else pd.Series(np.asarray(latencies, dtype=float))
    )
    if isinstance(window, str):
        if not isinstance(series.index, pd.DatetimeIndex):
            raise ValueError(
                f"a duration window ({window!r}) needs a DatetimeIndex; got {type(series.index).__name__}"
            )
    elif not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an int >= 1 or a duration string; got {window!r}")
    return (
        series.astype(float)
        .rolling(window, min_periods=min_periods)
        .quantile(q / 100, interpolation="linear")
    )


def detect_change_day(
    series: pd.Series, threshold: float, *, direction: Literal[">", "<"] = ">"
) -> Hashable | None:
    """Index label of the first value past ``threshold`` (None if it never crosses).

    Examples
    --------
    >>> s = pd.Series([0.05, 0.05, 0.21, 0.22], index=["mon", "tue", "wed", "thu"])
    >>> detect_change_day(s, 0.1)
    'wed'
    """
    if not isinstance(series, pd.Series):
        raise TypeError(f"series must be a pandas Series; got {type(series).__name__}")
    if direction not in (">", "<"):
        raise ValueError(f"direction must be '>' or '<'; got {direction!r}")
    values = series.to_numpy(dtype=float)
    hits = np.flatnonzero(values > threshold if direction == ">" else values < threshold)
    return series.index[hits[0]] if hits.size else None
