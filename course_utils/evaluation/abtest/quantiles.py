"""Step 5, percentile guardrails: the change of p99 latency with a bootstrap over users.

A latency SLO is a percentile (p99 <= 200 ms), so the guardrail compares percentiles, not
means: a change that adds a slow tail can leave the mean almost unchanged. Requests of one
user are correlated (same device, network, history length), and users were randomised, so
the bootstrap resamples **users** with all their requests (a cluster bootstrap), not single
requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_utils.evaluation.abtest._checks import _check_count, _check_open_unit

__all__ = ["QuantileDifference", "bootstrap_quantile_difference"]

_MAX_CELLS = 4_000_000  # bound the memory of one chunk of resampled values


@dataclass(frozen=True)
class QuantileDifference:
    """Change of a percentile between arms (B minus A) with a bootstrap interval.

    Attributes
    ----------
    q : float
        The quantile (0.99 for p99).
    quantile_a, quantile_b : float
        The percentile in each arm.
    difference : float
        ``quantile_b - quantile_a``.
    ci_low, ci_high : float
        Percentile-bootstrap interval of the difference.
    """

    q: float
    quantile_a: float
    quantile_b: float
    difference: float
    ci_low: float
    ci_high: float

    def non_inferior(self, margin: float) -> bool:
        """True when the whole interval lies below ``margin`` (lower is better)."""
        return bool(self.ci_high < margin)


def _units(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(
            f"{name} must be 1-D or (units, requests) with >= 2 units; got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return arr


def _boot_quantiles(arr: np.ndarray, q: float, n_boot: int, rng) -> np.ndarray:
    n, r = arr.shape
    out = np.empty(n_boot)
    chunk = max(1, _MAX_CELLS // (n * r))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = np.quantile(arr[idx].reshape(stop - start, n * r), q, axis=1)
    return out


def bootstrap_quantile_difference(
    values_a,
    values_b,
    *,
    q: float = 0.99,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> QuantileDifference:
    """Percentile-bootstrap interval of ``quantile(B) - quantile(A)``, resampling units.

    Parameters
    ----------
    values_a, values_b : array-like
        1-D: one value per unit. 2-D ``(users, requests)``: each row is one user's requests;
        a resample draws whole rows, and the quantile is taken over all requests drawn.
    q : float, default 0.99
        Quantile in (0, 1).
    n_boot : int, default 1000
        Bootstrap resamples (each arm resampled independently), >= 100.
    confidence : float, default 0.95
        Interval level.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    QuantileDifference

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.gamma(4.0, 20.0, size=(2000, 5))
    >>> res = bootstrap_quantile_difference(a, a + 10.0, n_boot=200)
    >>> round(res.difference, 6), res.ci_low < 10.0 < res.ci_high
    (10.0, True)
    """
    a, b = _units("values_a", values_a), _units("values_b", values_b)
    q = float(_check_open_unit("q", q))
    _check_open_unit("confidence", confidence)
    n_boot = _check_count("n_boot", n_boot, minimum=100)
    rng = np.random.default_rng(random_state)
    qa, qb = float(np.quantile(a, q)), float(np.quantile(b, q))
    diffs = _boot_quantiles(b, q, n_boot, rng) - _boot_quantiles(a, q, n_boot, rng)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [tail, 1 - tail])
    return QuantileDifference(q, qa, qb, qb - qa, float(lo), float(hi))
