"""Back-of-envelope capacity planning: compute, memory, scoring cost, latency and logs.

Each function is one line of arithmetic a designer does on a whiteboard, written down
so that the notebook, the exercises and later steps reuse the same numbers:

* compute: ``cores = QPS x CPU-seconds per request / target utilisation``;
* memory: ``bytes = rows x dimensions x bytes per value``;
* scoring: brute force computes ``n_items x dim`` multiply-adds per request, an HNSW
  index at most ``(M x log2(n_items) + 2 M x ef) x dim`` with a beam ``ef`` >= candidates;
* latency: the per-stage budgets must add up to no more than the end-to-end p99;
* logs: ``bytes = events per day x bytes per event x retention x replication``.

Sizes use decimal units (1 GB = 10**9 bytes), as cloud providers bill them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = [
    "LatencyBudget",
    "LogVolume",
    "ScoringCost",
    "ann_scoring_cost",
    "brute_force_scoring_cost",
    "cores_needed",
    "embedding_memory_bytes",
    "events_per_day",
    "format_bytes",
    "log_volume",
    "machines_needed",
    "remaining_budget_ms",
]


# --------------------------------------------------------------------------- validation
def _positive(name: str, value: ArrayLike, *, allow_zero: bool = False) -> np.ndarray:
    """Return ``value`` as a float array after checking it is numeric, finite and > 0."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if allow_zero and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0; got {value!r}")
    if not allow_zero and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return arr


def _positive_scalar(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Like :func:`_positive` for a single number; returns a Python float."""
    arr = _positive(name, value, allow_zero=allow_zero)
    if arr.ndim != 0:
        raise TypeError(f"{name} must be a single number; got an array of shape {arr.shape}")
    return float(arr)


def _positive_int(name: str, value: int) -> int:
    """Return ``value`` as an int >= 1; whole floats such as ``100e6`` are accepted."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if not isinstance(value, numbers.Integral) and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value!r}")
    return int(value)


def _scalar_or_array(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if arr.ndim == 0 else arr


# --------------------------------------------------------------------------- compute
def cores_needed(
    qps: ArrayLike, cpu_ms_per_request: ArrayLike, target_utilisation: float = 0.5
) -> float | np.ndarray:
    """CPU cores needed to serve ``qps`` requests per second.

    Each request keeps one core busy for ``cpu_ms_per_request`` milliseconds, so the
    load is ``qps x cpu_ms / 1000`` busy cores. Running cores at
    ``target_utilisation < 1`` leaves headroom for bursts above the planned peak,
    garbage-collection pauses, a lost zone and queueing (latency rises steeply as
    utilisation approaches 1).

    Parameters
    ----------
    qps : float or array-like
        Requests per second (> 0).
    cpu_ms_per_request : float or array-like
        CPU time one request costs, in milliseconds (> 0). In step 1 this is an
        assumption; step 6 replaces it with a measured number.
    target_utilisation : float, default 0.5
        Planned average utilisation of each core, in (0, 1].

    Returns
    -------
    float or ndarray
        Cores needed (fractional; round up with :func:`machines_needed`). An array when
        any input is an array.

    Examples
    --------
    >>> cores_needed(100_000, cpu_ms_per_request=20)
    4000.0
    >>> cores_needed(100_000, cpu_ms_per_request=20, target_utilisation=1.0)
    2000.0
    """
    qps_arr = _positive("qps", qps)
    cpu_arr = _positive("cpu_ms_per_request", cpu_ms_per_request)
    util = _positive("target_utilisation", target_utilisation)
    if np.any(util > 1):
        raise ValueError(f"target_utilisation must be in (0, 1]; got {target_utilisation!r}")
    busy_cores = qps_arr * (cpu_arr / 1000.0)
    return _scalar_or_array(busy_cores / util)


def machines_needed(cores: float, cores_per_machine: int) -> int:
    """Whole machines that provide ``cores`` cores: ``ceil(cores / cores_per_machine)``.

    Parameters
    ----------
    cores : float
        Cores needed (> 0), e.g. from :func:`cores_needed`.
    cores_per_machine : int
        Usable cores per machine (>= 1).

    Returns
    -------
    int
        Number of machines. A ratio within 1e-9 of an integer is not rounded up, so
        floating-point noise such as ``4000.0000000000005`` cores does not cost a machine.

    Examples
    --------
    >>> machines_needed(4000.0, cores_per_machine=32)
    125
    >>> machines_needed(4001.0, cores_per_machine=32)
    126
    """
    n_cores = _positive_scalar("cores", cores)
    per_machine = _positive_int("cores_per_machine", cores_per_machine)
    return math.ceil(n_cores / per_machine - 1e-9)


# --------------------------------------------------------------------------- memory
def embedding_memory_bytes(n: int, dim: int, dtype: DTypeLike = "float32") -> int:
    """Bytes to hold an ``n x dim`` embedding table of ``dtype`` (no index overhead).

    Parameters
    ----------
    n : int
        Rows (users or items), >= 1.
    dim : int
        Embedding dimension, >= 1.
    dtype : numpy dtype or str, default "float32"
        Element type; ``float16`` halves the memory of ``float32``, ``int8``
        (quantised) quarters it.

    Returns
    -------
    int
        ``n x dim x itemsize`` bytes.

    Examples
    --------
    >>> embedding_memory_bytes(100_000_000, 64, "float32")
    25600000000
    >>> format_bytes(embedding_memory_bytes(50_000, 64, "float32"))
    '12.8 MB'
    """
    n = _positive_int("n", n)
    dim = _positive_int("dim", dim)
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError as err:
        raise TypeError(f"dtype must be a numpy dtype such as 'float32'; got {dtype!r}") from err
    return n * dim * itemsize


def format_bytes(n_bytes: float) -> str:
    """Render a byte count with a decimal unit (B, kB, MB, GB, TB, PB) and 3 significant digits.

    Examples
    --------
    >>> format_bytes(25_600_000_000), format_bytes(512), format_bytes(131_400_000_000_000)
    ('25.6 GB', '512 B', '131 TB')
    """
    value = _positive_scalar("n_bytes", n_bytes, allow_zero=True)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if round(value, 0 if unit == "B" else 1) < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} PB"


# --------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class ScoringCost:
    """Work to score one request's candidates by dot products with the user vector.

    Attributes
    ----------
    items_scored : float
        Item vectors compared with the user vector per request.
    flops_per_request : float
        ``2 x items_scored x dim`` (one multiply and one add per dimension).
    flops_per_second : float
        ``flops_per_request x qps``.
    bytes_per_request : float
        Item-vector bytes read per request, ``items_scored x dim x itemsize``; with one
        request at a time, memory bandwidth rather than arithmetic is the limit.
    """

    items_scored: float
    flops_per_request: float
    flops_per_second: float
    bytes_per_request: float


def _scoring_cost(items_scored: float, dim: int, qps: float, dtype: DTypeLike) -> ScoringCost:
    itemsize = np.dtype(dtype).itemsize
    flops = 2.0 * items_scored * dim
    return ScoringCost(
        items_scored=float(items_scored),
        flops_per_request=flops,
        flops_per_second=flops * qps,
        bytes_per_request=float(items_scored * dim * itemsize),
    )


def brute_force_scoring_cost(
    n_items: int, dim: int, qps: float, dtype: DTypeLike = "float32"
) -> ScoringCost:
    """Cost of exact retrieval: score every item against the user vector on every request.

    Parameters
    ----------
    n_items : int
        Items in the catalogue (>= 1).
    dim : int
        Embedding dimension (>= 1).
    qps : float
        Requests per second (> 0).
    dtype : numpy dtype or str, default "float32"
        Element type of the item vectors (sets ``bytes_per_request``).

    Returns
    -------
    ScoringCost

    Examples
    --------
    >>> cost = brute_force_scoring_cost(50_000, 64, qps=100_000)
    >>> cost.flops_per_request, cost.flops_per_second
    (6400000.0, 640000000000.0)
    """
    n_items = _positive_int("n_items", n_items)
    dim = _positive_int("dim", dim)
    qps = _positive_scalar("qps", qps)
    return _scoring_cost(n_items, dim, qps, dtype)


def ann_scoring_cost(
    n_items: int, dim: int, qps: float, m: int = 16, ef: int = 500, dtype: DTypeLike = "float32"
) -> ScoringCost:
    """Rough upper bound on the work of approximate retrieval with an HNSW graph index.

    The model: the search descends the upper layers greedily (``~log2(n_items)`` hops,
    ``m`` neighbours compared per hop), then runs a beam search of width ``ef`` on the
    bottom layer, where each of the ``~ef`` expanded nodes compares the query with its
    ``2 m`` bottom-layer neighbours. So it scores about
    ``m x log2(n_items) + 2 m x ef`` items (capped at ``n_items``). To return ``k``
    candidates the beam must hold at least ``k`` (``ef >= k``). Many neighbours are
    already visited, so real searches score fewer items: treat the result as an upper
    bound within a small factor, to be replaced by a measurement (step 6).

    Parameters
    ----------
    n_items : int
        Items in the index (>= 1).
    dim : int
        Embedding dimension (>= 1).
    qps : float
        Requests per second (> 0).
    m : int, default 16
        Neighbours per node (the HNSW ``M`` parameter).
    ef : int, default 500
        Beam width of the search (``ef_search``); at least the number of candidates
        the retrieval stage returns.
    dtype : numpy dtype or str, default "float32"
        Element type of the item vectors.

    Returns
    -------
    ScoringCost

    Examples
    --------
    >>> cost = ann_scoring_cost(1024, 64, qps=1.0, m=16, ef=10)
    >>> cost.items_scored, cost.flops_per_request
    (480.0, 61440.0)
    >>> ann_scoring_cost(50_000, 64, qps=1.0, ef=500).items_scored < 50_000
    True
    """
    n_items = _positive_int("n_items", n_items)
    dim = _positive_int("dim", dim)
    qps = _positive_scalar("qps", qps)
    m = _positive_int("m", m)
    ef = _positive_int("ef", ef)
    visited = min(float(n_items), m * max(math.log2(n_items), 1.0) + 2 * m * ef)
    return _scoring_cost(visited, dim, qps, dtype)


# --------------------------------------------------------------------------- latency
def _stage_items(stages: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    if not isinstance(stages, Mapping):
        raise TypeError(
            f"stages must be a mapping of stage name -> milliseconds; got {type(stages).__name__}"
        )
    if len(stages) == 0:
        raise ValueError("stages must contain at least one stage; got an empty mapping")
    items = []
    for name, ms in stages.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"stage names must be non-empty strings; got {name!r}")
        items.append((name, _positive_scalar(f"stage {name!r}", ms)))
    return tuple(items)


def remaining_budget_ms(p99_ms: float, stages: Mapping[str, float]) -> float:
    """Milliseconds of the p99 target left after the given stages' budgets.

    Parameters
    ----------
    p99_ms : float
        End-to-end p99 latency target (> 0).
    stages : mapping of str to float
        Budgets (ms, > 0) of the stages already planned.

    Returns
    -------
    float
        ``p99_ms - sum(stages)``; 0 when the stages use the whole budget.

    Raises
    ------
    ValueError
        If the stages already exceed ``p99_ms``.

    Examples
    --------
    >>> remaining_budget_ms(200, {"network": 40, "retrieval": 30})
    130.0
    """
    p99 = _positive_scalar("p99_ms", p99_ms)
    items = _stage_items(stages)
    total = math.fsum(ms for _, ms in items)
    if total > p99 + 1e-9:
        raise ValueError(
            f"latency budget exceeds p99: stages sum to {total:g} ms but p99_ms is {p99:g} ms "
            f"(over by {total - p99:g} ms)"
        )
    return max(p99 - total, 0.0)


@dataclass(frozen=True, init=False)
class LatencyBudget:
    """Per-stage latency budgets of one request, validated against the end-to-end p99.

    Giving each stage a p99 budget and requiring the budgets to sum to at most the
    end-to-end p99 is conservative: the slow tails of independent stages rarely
    coincide, so the real end-to-end p99 is usually lower than the sum.

    Parameters
    ----------
    stages : mapping of str to float
        Stage name -> budget in milliseconds (> 0), in request order.
    p99_ms : float
        End-to-end p99 target in milliseconds.

    Raises
    ------
    ValueError
        If a budget is not positive or the budgets sum to more than ``p99_ms``.

    Examples
    --------
    >>> budget = LatencyBudget({"network": 40, "retrieval": 30, "ranking": 80}, p99_ms=200)
    >>> budget.total_ms, budget.slack_ms
    (150.0, 50.0)
    >>> LatencyBudget({"network": 150, "ranking": 80}, p99_ms=200)
    Traceback (most recent call last):
        ...
    ValueError: latency budget exceeds p99: stages sum to 230 ms but p99_ms is 200 ms (over by 30 ms)
    """

    stages: tuple[tuple[str, float], ...]
    p99_ms: float

    def __init__(self, stages: Mapping[str, float], p99_ms: float) -> None:
        items = _stage_items(stages)
        p99 = _positive_scalar("p99_ms", p99_ms)
        remaining_budget_ms(p99, dict(items))  # raises if over budget
        object.__setattr__(self, "stages", items)
        object.__setattr__(self, "p99_ms", p99)

    @property
    def total_ms(self) -> float:
        """Sum of the stage budgets."""
        return math.fsum(ms for _, ms in self.stages)

    @property
    def slack_ms(self) -> float:
        """Unallocated milliseconds, ``p99_ms - total_ms``."""
        return remaining_budget_ms(self.p99_ms, dict(self.stages))

    def as_dict(self) -> dict[str, float]:
        """Stage name -> budget (ms), in request order."""
        return dict(self.stages)

    def __str__(self) -> str:
        width = max(len(name) for name, _ in self.stages + (("slack", 0.0),))
        lines = [f"Latency budget (p99 {self.p99_ms:g} ms)"]
        lines += [
            f"  {name:<{width}}  {ms:6.1f} ms  {ms / self.p99_ms:6.1%}" for name, ms in self.stages
        ]
        lines.append(
            f"  {'slack':<{width}}  {self.slack_ms:6.1f} ms  {self.slack_ms / self.p99_ms:6.1%}"
        )
        return "\n".join(lines)


# --------------------------------------------------------------------------- logs
def events_per_day(
    n_users: int, daily_active_fraction: float, events_per_active_user: float
) -> float:
    """Logged interaction events per day: ``n_users x daily active share x events per user``.

    Examples
    --------
    >>> events_per_day(100_000_000, daily_active_fraction=0.3, events_per_active_user=20)
    600000000.0
    """
    n_users = _positive_int("n_users", n_users)
    share = _positive_scalar("daily_active_fraction", daily_active_fraction)
    if share > 1:
        raise ValueError(f"daily_active_fraction must be in (0, 1]; got {daily_active_fraction!r}")
    per_user = _positive_scalar("events_per_active_user", events_per_active_user, allow_zero=True)
    return n_users * share * per_user


@dataclass(frozen=True)
class LogVolume:
    """Daily and retained size of an event log.

    Attributes
    ----------
    bytes_per_day : float
        Raw bytes written per day (one copy).
    bytes_stored : float
        ``bytes_per_day x retention_days x replication``: what the storage system holds.
    """

    bytes_per_day: float
    bytes_stored: float


def log_volume(
    events_per_day: float, bytes_per_event: float, retention_days: float, replication: int = 3
) -> LogVolume:
    """Storage for an event log kept ``retention_days`` days with ``replication`` copies.

    Parameters
    ----------
    events_per_day : float
        Events logged per day (>= 0).
    bytes_per_event : float
        Average stored size of one event (> 0), after any compression.
    retention_days : float
        Days each event is kept (> 0).
    replication : int, default 3
        Copies the storage system keeps (3 in HDFS-style stores).

    Returns
    -------
    LogVolume

    Examples
    --------
    >>> vol = log_volume(600_000_000, bytes_per_event=200, retention_days=365)
    >>> format_bytes(vol.bytes_per_day), format_bytes(vol.bytes_stored)
    ('120 GB', '131 TB')
    """
    events = _positive_scalar("events_per_day", events_per_day, allow_zero=True)
    size = _positive_scalar("bytes_per_event", bytes_per_event)
    days = _positive_scalar("retention_days", retention_days)
    copies = _positive_int("replication", replication)
    per_day = events * size
    return LogVolume(bytes_per_day=per_day, bytes_stored=per_day * days * copies)
