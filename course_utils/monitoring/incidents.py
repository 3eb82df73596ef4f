"""Step 7, monitoring: staging incidents to try the monitoring on.

:func:`category_psi` measures drift of a categorical item attribute (e.g. the genre mix
consumed per window against a reference period), :func:`inject_latency` slows one stage of
some requests, and :func:`aa_psi_threshold` derives an alert threshold from an A/A baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.monitoring._common import _check_events, _utc
from course_utils.monitoring.drift import psi
from course_utils.monitoring.request_log import RequestLog

__all__ = ["aa_psi_threshold", "category_psi", "inject_latency"]

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
