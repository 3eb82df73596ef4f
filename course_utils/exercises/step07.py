"""Checks for the step 7 exercises (monitoring): PSI, an A/A alert threshold, the drift
day of a series and a rolling p99.

Every check compares the learner's function with the course's reference implementation
(:mod:`course_utils.monitoring` and :func:`course_utils.monitoring.aa_psi_threshold`) on
hand-made inputs and on seeded random samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils import monitoring
from course_utils.exercises.checking import Case, check_function, with_reference

__all__ = [
    "check_aa_threshold",
    "check_burn_rate",
    "check_detect_drift_day",
    "check_psi",
    "check_rolling_p99",
]

PSI_HINT = (
    "The bin edges are the reference's inner quantiles (bins - 1 of them). A value equal to "
    "an edge belongs to the bin ABOVE it (np.searchsorted's side='right'). Both samples' "
    "proportions are clipped below at eps before PSI = sum((q - p) * ln(q / p)). "
    "bins < 1 -> ValueError."
)
AA_HINT = (
    "rng = np.random.default_rng(random_state), created once. For each of the n_splits: "
    "perm = rng.permutation(n); a = x[perm[: n // 2]], b = x[perm[n // 2 :]]; "
    "score psi(a, b). Return float(np.percentile(scores, q))."
)
DRIFT_HINT = (
    "values = series.to_numpy(); hits = np.flatnonzero(values > threshold) (or < for "
    "direction '<'); return series.index[hits[0]] if there is a hit, else None. A value "
    "equal to the threshold is not a breach."
)
BURN_HINT = (
    "Two numbers make a burn rate: the share of the window's requests that broke the SLO "
    "(is a request exactly at the threshold a breach?), and the share the SLO allows to "
    "break (the error budget, derived from the objective). Keep both as fractions. "
    "Validate like the rest of the course: an empty window or an objective outside (0, 1) "
    "is a ValueError."
)
ROLLING_HINT = (
    "Entry i summarises the `window` latencies that END at i (i included), with linear "
    "interpolation (numpy's and pandas' default); entries without a full window are NaN. "
    "pandas has rolling windows; numpy can view all windows at once."
)


def _normal(seed: int, n: int, loc: float = 0.0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, scale, n)


def check_psi(fn: Callable) -> bool:
    """Check a learner's ``psi(reference, current, bins=10, eps=1e-4)`` against ``monitoring.psi``.

    Examples
    --------
    >>> ok = check_psi(monitoring.psi)  # doctest: +ELLIPSIS
    ✅ psi: passed 9 checks
    ...
    """
    ref = _normal(0, 5_000)
    lumpy = np.random.default_rng(1).integers(0, 4, 2_000).astype(float)
    cases = [
        Case(ref, ref.copy(), label="identical samples -> 0"),
        Case(ref, _normal(2, 5_000, 0.0, 1.0), label="same distribution, new sample (small PSI)"),
        Case(ref, _normal(3, 5_000, 0.5, 1.0), label="mean shifted by half a std (PSI > 0.2)"),
        Case(ref, _normal(4, 3_000, 0.0, 2.0), bins=5, label="wider spread, bins=5"),
        Case(
            ref, _normal(5, 1_000, 10.0, 1.0), label="all current values above the reference range"
        ),
        Case(
            lumpy, np.r_[lumpy, np.zeros(500)], label="integer reference: tied quantiles merge bins"
        ),
        Case(
            np.array([1.0, 2.0, 3.0, 4.0]),
            np.array([4.0, 4.0, 4.0]),
            bins=2,
            eps=0.01,
            label="empty bins clipped at eps=0.01",
        ),  # fmt: skip
        Case(
            np.arange(11.0),
            np.array([5.0, 5.0, 5.0, 5.0, 6.0, 7.0, 1.0]),
            bins=2,
            label="values equal to an edge go to the bin above it",
        ),  # fmt: skip
        Case(ref, ref, bins=0, label="bins=0 raises ValueError"),
    ]
    return check_function(fn, reference=monitoring.psi, cases=cases, name="psi", hint=PSI_HINT)


def _aa_reference(reference, n_splits: int = 200, q: float = 99.0, random_state: int = 0) -> float:
    return monitoring.aa_psi_threshold(reference, n_splits=n_splits, q=q, random_state=random_state)


def check_aa_threshold(fn: Callable) -> bool:
    """Check ``aa_threshold(reference, n_splits=200, q=99.0, random_state=0)``.

    The reference is :func:`course_utils.monitoring.aa_psi_threshold` (10 bins).

    Examples
    --------
    >>> ok = check_aa_threshold(_aa_reference)  # doctest: +ELLIPSIS
    ✅ aa_threshold: passed 4 checks
    ...
    """
    cases = [
        Case(_normal(0, 2_000), n_splits=50, label="2,000 normal values, 50 splits"),
        Case(_normal(1, 500), n_splits=50, q=95.0, label="500 values (noisier halves), q=95"),
        Case(
            _normal(2, 2_000), n_splits=50, q=50.0, random_state=7, label="median, random_state=7"
        ),
        Case(
            np.random.default_rng(3).exponential(30.0, 1_001),
            n_splits=20,
            label="odd length (1,001 skewed latencies): halves of 500 and 501",
        ),  # fmt: skip
    ]
    return check_function(
        fn, reference=_aa_reference, cases=cases, name="aa_threshold", hint=AA_HINT
    )


def _days(values) -> pd.Series:
    return pd.Series(
        values, index=pd.date_range("2024-09-01", periods=len(values), freq="D", tz="UTC")
    )


def check_detect_drift_day(fn: Callable) -> bool:
    """Check ``detect_drift_day(series, threshold, direction=">")`` against
    ``monitoring.detect_change_day``.

    Examples
    --------
    >>> ok = check_detect_drift_day(monitoring.detect_change_day)  # doctest: +ELLIPSIS
    ✅ detect_drift_day: passed 6 checks
    ...
    """
    psi_days = _days([0.01, 0.02, 0.01, 0.15, 0.14, 0.16])
    cases = [
        Case(psi_days, 0.1, label="PSI crosses 0.1 on the 4th day"),
        Case(psi_days, 0.2, label="never crosses -> None"),
        Case(_days([0.05, 0.1, 0.1, 0.3]), 0.1, label="equal to the threshold is not a breach"),
        Case(_days([0.5, 0.01, 0.6]), 0.2, label="already above on the first day"),
        Case(
            _days([0.42, 0.41, 0.43, 0.30, 0.29]),
            0.35,
            direction="<",
            label="coverage falls below 0.35: direction '<'",
        ),  # fmt: skip
        Case(
            pd.Series([1.0, 5.0, 9.0], index=["mon", "tue", "wed"]),
            4.0,
            label="any index labels (strings)",
        ),  # fmt: skip
    ]
    return check_function(
        fn,
        reference=monitoring.detect_change_day,
        cases=cases,
        name="detect_drift_day",
        hint=DRIFT_HINT,
    )


def _rolling_reference(latencies, window: int) -> np.ndarray:
    return monitoring.rolling_percentile(
        np.asarray(latencies, dtype=float), window, q=99
    ).to_numpy()


def check_rolling_p99(fn: Callable) -> bool:
    """Check ``rolling_p99(latencies, window)`` (a float array, NaN for the first
    ``window - 1`` entries) against ``monitoring.rolling_percentile(..., q=99)``.

    Examples
    --------
    >>> ok = check_rolling_p99(_rolling_reference)  # doctest: +ELLIPSIS
    ✅ rolling_p99: passed 5 checks
    ...
    """
    rng = np.random.default_rng(0)
    latencies = rng.lognormal(np.log(50.0), 0.4, 3_000)
    spiky = latencies.copy()
    spiky[1_500:][rng.random(1_500) < 0.03] += 150.0
    cases = [
        Case(np.array([10.0, 20.0, 30.0, 40.0, 50.0]), 2, label="5 values, window 2 (by hand)"),
        Case(np.array([10.0, 20.0, 30.0]), 1, label="window 1: each value itself"),
        Case(latencies, 200, label="3,000 log-normal latencies, window 200"),
        Case(spiky, 500, label="3 % of requests +150 ms from request 1,500, window 500"),
        Case(np.array([5.0, 7.0]), 3, label="window longer than the series: all NaN"),
    ]
    return check_function(
        fn, reference=_rolling_reference, cases=cases, name="rolling_p99", hint=ROLLING_HINT
    )


def _burn_reference(latency_ms, threshold_ms: float = 200.0, objective: float = 0.99) -> float:
    return monitoring.window_burn_rate(latency_ms, threshold_ms=threshold_ms, objective=objective)


def check_burn_rate(fn: Callable) -> bool:
    """Check ``burn_rate(latency_ms, threshold_ms=200.0, objective=0.99)`` against
    :func:`course_utils.monitoring.window_burn_rate`.

    Examples
    --------
    >>> ok = check_burn_rate(_burn_reference)  # doctest: +ELLIPSIS
    ✅ burn_rate: passed 8 checks
    ...
    """
    rng = np.random.default_rng(0)
    week = rng.lognormal(np.log(80.0), 0.35, 5_000)
    week[rng.random(5_000) < 0.03] += 150.0
    cases = [
        Case(np.array([100.0, 150.0, 250.0, 180.0]), objective=0.9,
             label="4 requests, 1 slow, objective 0.9 (by hand)"),
        Case(np.array([200.0, 200.0, 201.0, 50.0]), label="exactly 200 ms meets the SLO"),
        Case(week, label="5,000 latencies, 3 % of them +150 ms, objective 0.99"),
        Case(week, objective=0.999, label="the same window against a 99.9 % objective"),
        Case(week, threshold_ms=300.0, label="threshold 300 ms"),
        Case([120.0, 90.0, 400.0], objective=0.5, label="a plain list of latencies"),
        Case(np.array([]), label="an empty window raises ValueError"),
        Case(week, objective=1.0, label="objective 1.0 (no budget) raises ValueError"),
    ]  # fmt: skip
    return check_function(
        fn, reference=_burn_reference, cases=cases, name="burn_rate", hint=BURN_HINT
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(monitoring.psi)(check_psi)
with_reference(_aa_reference)(check_aa_threshold)
with_reference(monitoring.detect_change_day)(check_detect_drift_day)
with_reference(_rolling_reference)(check_rolling_p99)
with_reference(_burn_reference)(check_burn_rate)
