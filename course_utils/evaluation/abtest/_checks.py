"""Argument checks and normal-approximation helpers shared by the A/B-testing modules (private)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = []

# --------------------------------------------------------------------------- checks


def _first_bad(arr: np.ndarray, ok: np.ndarray) -> object:
    bad = arr[~ok]
    return bad.flat[0].item() if bad.size else arr


def _check_open_unit(name: str, value) -> np.ndarray:
    """Values strictly inside (0, 1), e.g. a rate, alpha or power."""
    arr = np.asarray(value, dtype=float)
    ok = (arr > 0) & (arr < 1)  # NaN fails both comparisons
    if not np.all(ok):
        raise ValueError(f"{name} must be in (0, 1); got {_first_bad(arr, ok)!r}")
    return arr


def _check_at_least(name: str, value, minimum: float) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    ok = np.isfinite(arr) & (arr >= minimum)
    if not np.all(ok):
        raise ValueError(f"{name} must be >= {minimum:g}; got {_first_bad(arr, ok)!r}")
    return arr


def _check_count(name: str, value, minimum: int = 1) -> int:
    """A whole number >= minimum (numpy integers and integral floats are accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(value)


def _check_positive(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return value


def _check_nonzero(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    ok = np.isfinite(arr) & (arr != 0)
    if not np.all(ok):
        raise ValueError(f"{name} must be a non-zero finite number; got {_first_bad(arr, ok)!r}")
    return arr


def _scalar_or_array(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if np.ndim(arr) == 0 else arr


def _z_critical(alpha: float, two_sided: bool) -> float:
    """The normal quantile a |z| (two-sided) or z (one-sided) must exceed to reject."""
    return float(stats.norm.isf(alpha / 2 if two_sided else alpha))


def _normal_power(shift, threshold, two_sided: bool):
    """P(reject) when the test statistic is N(shift, 1) and rejects beyond ``threshold``."""
    power = stats.norm.cdf(shift - threshold)
    if two_sided:
        power = power + stats.norm.cdf(-shift - threshold)
    return _scalar_or_array(power)
