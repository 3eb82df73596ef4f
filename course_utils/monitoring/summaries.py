"""Step 7, monitoring: per-window summaries of a request log.

``summarize`` computes latency percentiles, error rate, source mix and the quality of the
served items (coverage, popularity bias, intra-list diversity, per-window PSI) with
``np.bincount`` and a grouped quantile, never a Python loop over requests.
``rolling_percentile`` computes a rolling latency percentile from raw values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data.schema import USER_ID
from course_utils.monitoring.drift import _psi_from_counts, _quantile_edges
from course_utils.monitoring.request_log import (
    COLD_START_SOURCE,
    LATENCY_TOTAL,
    MODEL_VERSION,
    N_ITEMS,
    SOURCE,
    RequestLog,
    _Columns,
    _latency_column,
)

__all__ = ["rolling_percentile", "summarize"]

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
