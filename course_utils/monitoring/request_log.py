"""Step 7, monitoring: the structured request log a serving process appends to.

``RequestLog`` keeps one column buffer per field (``record`` appends a request under a lock;
``to_frame`` / ``from_frame`` / ``from_arrays`` convert), and ``simulate_request_log``
makes a realistic log for the notebook and the benchmark. Every other monitoring module
reads this log.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from course_utils.data.schema import TIMESTAMP, USER_ID

__all__ = ["COLD_START_SOURCE", "RequestLog", "simulate_request_log"]

SOURCE = "source"
N_ITEMS = "n_items"
MODEL_VERSION = "model_version"
ERROR = "error"
ITEMS = "items"
LATENCY_TOTAL = "latency_total_ms"
COLD_START_SOURCE = "cold_start"  # `source` of requests answered by the cold-start path

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
