"""Step 7, monitoring: SLO burn-rate alerts computed from raw request latencies.

An SLO such as "99 % of requests answer within 200 ms over 30 days" leaves an **error
budget**: 1 % of requests may be slow. The **burn rate** of a time window is the share of
bad requests in it divided by that budget: at 1 the budget lasts exactly the SLO period,
at 14.4 a 30-day budget loses 2 % of itself in one hour. A **multi-window** rule pages only
while a long window (the burn is big enough to matter) *and* a short window (it is still
going on) both burn faster than a factor, and only once that has held for a minimum
duration, so a blip does not page and the page clears soon after recovery (Beyer et al.,
*The Site Reliability Workbook*, O'Reilly 2018, chapter 5).

:func:`burn_rates` computes the rates on a regular time grid from the raw latencies
(never from averaged percentiles: percentiles of windows do not average to the percentile
of their union); :func:`burn_rate_alerts` turns them into alert episodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["burn_rate_alerts", "burn_rates", "window_burn_rate"]


def _check_latencies(latency_ms: Any) -> pd.Series:
    if not isinstance(latency_ms, pd.Series) or not isinstance(latency_ms.index, pd.DatetimeIndex):
        raise TypeError("latency_ms must be a pandas Series with a DatetimeIndex of request times")
    if len(latency_ms) == 0:
        raise ValueError("latency_ms is empty; burn rates need at least one request")
    values = pd.to_numeric(latency_ms, errors="coerce").astype(float)
    if not np.isfinite(values.to_numpy()).all():
        raise ValueError("latency_ms must hold finite numbers (NaN or inf found)")
    return values.sort_index(kind="stable")


def window_burn_rate(
    latency_ms: Any, threshold_ms: float = 200.0, objective: float = 0.99
) -> float:
    """Burn rate of one window: the share of requests slower than ``threshold_ms``,
    divided by the error budget ``1 - objective``.

    A request exactly at the threshold meets the SLO. 1.0 spends the budget exactly as fast
    as the SLO allows; 3.0 three times as fast.

    Examples
    --------
    >>> round(window_burn_rate([100.0, 150.0, 250.0, 180.0], threshold_ms=200.0, objective=0.9), 6)
    2.5
    """
    values = np.asarray(latency_ms, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"latency_ms must be a non-empty 1-D sequence; got shape {values.shape}")
    if not 0.0 < float(objective) < 1.0:
        raise ValueError(f"objective must be in (0, 1); got {objective!r}")
    return float((values > threshold_ms).mean() / (1.0 - float(objective)))


def _window_name(window: str) -> str:
    return str(window).replace(" ", "")


def burn_rates(
    latency_ms: pd.Series,
    *,
    threshold_ms: float = 200.0,
    objective: float = 0.99,
    windows: tuple[str, ...] = ("5min", "1h"),
    step: str = "1min",
) -> pd.DataFrame:
    """Error-budget burn rate of each trailing window, on a regular grid of times.

    A request is *bad* when its latency exceeds ``threshold_ms``; the budget is
    ``1 - objective``. At each grid time ``t`` the burn rate of window ``w`` is
    ``bad requests in (t - w, t] / requests in (t - w, t] / (1 - objective)``.

    Parameters
    ----------
    latency_ms : Series of latencies indexed by request time (DatetimeIndex)
    threshold_ms : latency above which a request counts against the SLO
    objective : share of requests that must be good, in (0, 1)
    windows : trailing window lengths (pandas offsets such as ``"5min"``, ``"1h"``)
    step : spacing of the grid on which the rates are reported

    Returns
    -------
    DataFrame indexed by grid time with ``burn_<window>`` and ``requests_<window>`` per
    window (NaN burn where a window holds no request).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=6, freq="1min", tz="UTC")
    >>> lat = pd.Series([10.0, 10.0, 300.0, 300.0, 10.0, 10.0], index=t)
    >>> rates = burn_rates(lat, windows=("2min",), step="1min")
    >>> rates["burn_2min"].round(1).tolist()  # half of the last 2 minutes bad = 50x a 1% budget
    [0.0, 0.0, 50.0, 100.0, 50.0, 0.0]
    """
    values = _check_latencies(latency_ms)
    if not 0.0 < float(objective) < 1.0:
        raise ValueError(f"objective must be in (0, 1); got {objective!r}")
    if not np.isfinite(threshold_ms):
        raise ValueError(f"threshold_ms must be a finite number; got {threshold_ms!r}")
    if isinstance(windows, str) or len(windows) == 0:
        raise ValueError(f"windows must be a non-empty tuple of durations; got {windows!r}")
    budget = 1.0 - float(objective)
    bad = (values > threshold_ms).astype(float)
    step_td = pd.Timedelta(step)
    if step_td <= pd.Timedelta(0):
        raise ValueError(f"step must be a positive duration; got {step!r}")
    grid = pd.date_range(
        values.index[0].ceil(step_td), values.index[-1].ceil(step_td), freq=step_td
    )
    # cumulative counts at each grid time: requests and bad requests up to and including t
    grid = grid.as_unit("ns")  # one resolution for both (pandas may parse to us)
    times = values.index.as_unit("ns").asi8
    upto = np.searchsorted(times, grid.asi8, side="right")
    cum_bad = np.concatenate([[0.0], np.cumsum(bad.to_numpy())])
    out = {}
    for window in windows:
        span = pd.Timedelta(window)
        if span <= pd.Timedelta(0):
            raise ValueError(f"windows must be positive durations; got {window!r}")
        start = np.searchsorted(times, (grid - span).asi8, side="right")
        n = upto - start
        n_bad = cum_bad[upto] - cum_bad[start]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, n_bad / np.maximum(n, 1) / budget, np.nan)
        name = _window_name(window)
        out[f"burn_{name}"] = rate
        out[f"requests_{name}"] = n
    return pd.DataFrame(out, index=grid)


def burn_rate_alerts(
    rates: pd.DataFrame,
    *,
    factor: float,
    windows: tuple[str, ...] = ("5min", "1h"),
    min_duration: str = "2min",
    keep_firing_for: str = "0min",
    min_requests: int = 1,
) -> pd.DataFrame:
    """Alert episodes: every window burns faster than ``factor`` for ``min_duration``.

    The condition holds at a grid time when each of ``windows`` has at least
    ``min_requests`` requests and a burn rate ``>= factor``. An episode starts (pages)
    once the condition has held continuously for ``min_duration``. It ends when the
    condition has stayed false for ``keep_firing_for`` (Prometheus' ``keep_firing_for``:
    a short dip inside an incident does not resolve the page and page again); a
    condition that returns within that time continues the same episode.

    Returns
    -------
    DataFrame with one row per episode: ``condition_from`` (first time the condition
    held), ``fired`` (page time), ``resolved`` (NaT while still firing at the end of the
    rates), ``peak_burn`` (largest burn of the longest window during the episode).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=10, freq="1min", tz="UTC")
    >>> r = pd.DataFrame({"burn_2min": [0, 20, 30, 30, 30, 0, 20, 0, 0, 0.0],
    ...                   "requests_2min": 10}, index=t)
    >>> ep = burn_rate_alerts(r, factor=14.4, windows=("2min",), min_duration="2min")
    >>> len(ep), f"{ep['fired'].iloc[0]:%H:%M}", f"{ep['resolved'].iloc[0]:%H:%M}"
    (1, '00:03', '00:05')
    >>> held = burn_rate_alerts(r, factor=14.4, windows=("2min",), min_duration="2min",
    ...                         keep_firing_for="2min")  # the dip at 00:05 does not resolve it
    >>> len(held), f"{held['resolved'].iloc[0]:%H:%M}"
    (1, '00:09')
    """
    if not isinstance(rates, pd.DataFrame) or not isinstance(rates.index, pd.DatetimeIndex):
        raise TypeError("rates must be the DataFrame that burn_rates returns")
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be a positive number; got {factor!r}")
    if isinstance(min_requests, bool) or not isinstance(min_requests, (int, np.integer)):
        raise TypeError(f"min_requests must be an int; got {type(min_requests).__name__}")
    wait, keep = pd.Timedelta(min_duration), pd.Timedelta(keep_firing_for)
    if wait < pd.Timedelta(0) or keep < pd.Timedelta(0):
        raise ValueError("min_duration and keep_firing_for must be durations >= 0")
    names = [_window_name(w) for w in windows]
    missing = [f"burn_{n}" for n in names if f"burn_{n}" not in rates.columns]
    if missing:
        raise ValueError(
            f"rates has no column {missing}; compute them with burn_rates(windows=...)"
        )
    hold = pd.Series(True, index=rates.index)
    for n in names:
        enough = rates.get(f"requests_{n}", pd.Series(min_requests, index=rates.index))
        hold &= (rates[f"burn_{n}"] >= factor).fillna(False) & (enough >= min_requests)
    longest = rates[f"burn_{max(names, key=lambda n: pd.Timedelta(n))}"]
    index = rates.index
    flags = np.concatenate([[False], hold.to_numpy(), [False]]).astype(int)
    edges = np.flatnonzero(np.diff(flags))
    episodes: list[dict] = []
    open_ep: dict | None = None
    for begin, end in zip(edges[::2], edges[1::2], strict=True):  # runs [begin, end)
        cleared = index[end] if end < len(index) else pd.NaT
        if open_ep is not None and index[begin] - open_ep["cleared"] <= keep:
            open_ep["cleared"], open_ep["last"] = cleared, end  # the same incident goes on
            continue
        if open_ep is not None:
            episodes.append(open_ep)
            open_ep = None
        fire_at = index[begin] + wait
        if fire_at > index[end - 1]:
            continue  # the condition did not last long enough to page
        open_ep = {"condition_from": index[begin], "fired": fire_at, "cleared": cleared,
                   "first": begin, "last": end}  # fmt: skip
        if pd.isna(cleared):
            break
    if open_ep is not None:
        episodes.append(open_ep)
    rows = []
    for ep in episodes:
        resolved = ep["cleared"] + keep if not pd.isna(ep["cleared"]) else pd.NaT
        if not pd.isna(resolved) and resolved > index[-1]:
            resolved = pd.NaT  # still firing when the rates end
        rows.append({"condition_from": ep["condition_from"], "fired": ep["fired"],
                     "resolved": resolved,
                     "peak_burn": float(longest.iloc[ep["first"] : ep["last"]].max())})  # fmt: skip
    return pd.DataFrame(rows, columns=["condition_from", "fired", "resolved", "peak_burn"])
