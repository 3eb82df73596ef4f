"""Step 5, sequential testing: why peeking breaks a fixed-horizon test, and the fix.

``simulate_peeking`` looks at A/A tests every day: stopping at the first "significant" look
inflates the false-positive rate. Bonferroni, Pocock and O'Brien-Fleming boundaries
(``sequential_boundaries``, computed by exact numerical integration with
``boundary_crossing_probability``, no simulation) bring it back to ``alpha``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from course_utils.evaluation.abtest._checks import _check_count, _check_open_unit, _z_critical
from course_utils.evaluation.abtest.analysis import _pooled_z

__all__ = ["boundary_crossing_probability", "sequential_boundaries", "simulate_peeking"]

BOUNDARIES = ("naive", "fixed", "bonferroni", "pocock", "obrien_fleming")

# --------------------------------------------------------------------------- peeking


def _simpson_grid(half_width: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and composite-Simpson weights on [-half_width, half_width]."""
    m = 2 * max(1, math.ceil(half_width / step)) + 1  # odd number of nodes
    x, h = np.linspace(-half_width, half_width, m, retstep=True)
    w = np.full(m, 2.0)
    w[1::2] = 4.0
    w[[0, -1]] = 1.0
    return x, w * h / 3


def boundary_crossing_probability(z_boundaries, *, step: float = 0.1) -> float:
    """Chance that an A/A test crosses a two-sided boundary at some look.

    The looks are equally spaced in information (the same number of new users before each), so
    under the null hypothesis the cumulative score ``S_k = sqrt(k) Z_k`` is a Gaussian random
    walk with unit-variance steps. The probability that ``|Z_k| >= z_boundaries[k]`` at some look
    is computed exactly (up to quadrature error ~1e-6) with the recursive numerical integration
    of Armitage, McPherson & Rowe (1969), as in Jennison & Turnbull (2000, ch. 19): the density
    of ``S_k`` on the continuation region is carried from look to look by Simpson's rule.
    Infinite entries mean "no test at this look".

    Parameters
    ----------
    z_boundaries : array-like of float
        Critical |z| value at each look (``np.inf`` to skip a look).
    step : float, default 0.1
        Grid spacing on the score scale.

    Returns
    -------
    float
        The overall false-positive rate of the sequential design.

    Examples
    --------
    >>> round(boundary_crossing_probability([1.96] * 5), 3)  # five naive looks
    0.142
    """
    b = np.asarray(z_boundaries, dtype=float)
    if b.ndim != 1 or b.size < 1:
        raise ValueError(f"z_boundaries must be a non-empty 1-D array; got shape {b.shape}")
    if np.any(np.isnan(b)) or np.any(b <= 0):
        raise ValueError("z_boundaries must be positive (np.inf for looks without a test)")
    looks = np.flatnonzero(np.isfinite(b))
    if looks.size == 0:
        return 0.0
    times = looks + 1.0  # information (in units of one look) at each tested look
    a = b[looks] * np.sqrt(times)  # boundaries on the score scale
    steps_sd = np.sqrt(np.diff(times, prepend=0.0))  # sd of the walk between tested looks

    crossing = 2 * stats.norm.sf(a[0] / steps_sd[0])
    x, w = _simpson_grid(a[0], step)
    density = stats.norm.pdf(x, scale=steps_sd[0])  # of S on the continuation region
    for k in range(1, looks.size):  # one iteration per look: O(n_looks), not per user
        sd = steps_sd[k]
        mass = w * density
        crossing += mass @ (stats.norm.sf((a[k] - x) / sd) + stats.norm.cdf((-a[k] - x) / sd))
        x_new, w_new = _simpson_grid(a[k], step)
        density = stats.norm.pdf(x_new[:, None] - x[None, :], scale=sd) @ mass
        x, w = x_new, w_new
    return float(crossing)


def sequential_boundaries(n_looks: int, *, kind: str = "pocock", alpha: float = 0.05) -> np.ndarray:
    """Critical |z| at each of ``n_looks`` equally spaced looks of a two-sided test.

    * ``"naive"`` -- ``z_{1 - alpha/2}`` at every look (peeking; false-positive rate >> alpha).
    * ``"fixed"`` -- test only once, at the last look (``inf`` before it).
    * ``"bonferroni"`` -- ``z_{1 - alpha / (2 K)}`` at every look (valid but conservative).
    * ``"pocock"`` -- one constant ``c`` at every look (Pocock, 1977).
    * ``"obrien_fleming"`` -- ``C sqrt(K / k)`` at look ``k``: very strict early, close to
      ``z_{1 - alpha/2}`` at the end (O'Brien & Fleming, 1979).

    For Pocock and O'Brien-Fleming the constant is the root of
    ``boundary_crossing_probability(boundaries) = alpha`` (Brent's method; no simulation, no
    tables), so the overall false-positive rate is exactly ``alpha``.

    Examples
    --------
    >>> sequential_boundaries(5, kind="pocock").round(3)
    array([2.413, 2.413, 2.413, 2.413, 2.413])
    >>> sequential_boundaries(5, kind="obrien_fleming").round(3)
    array([4.562, 3.226, 2.634, 2.281, 2.04 ])
    """
    k = _check_count("n_looks", n_looks)
    alpha = float(_check_open_unit("alpha", alpha))
    if kind not in BOUNDARIES:
        raise ValueError(f"kind must be one of {BOUNDARIES}; got {kind!r}")
    z_once = _z_critical(alpha, two_sided=True)
    if kind == "naive":
        return np.full(k, z_once)
    if kind == "fixed":
        return np.r_[np.full(k - 1, np.inf), z_once]
    z_bonferroni = _z_critical(alpha / k, two_sided=True)
    if kind == "bonferroni":
        return np.full(k, z_bonferroni)
    shape = np.ones(k) if kind == "pocock" else np.sqrt(k / np.arange(1, k + 1))
    if k == 1:
        return shape * z_once

    # the constant lies between the naive one (too liberal) and Bonferroni's (too strict)
    def excess(c: float) -> float:
        return boundary_crossing_probability(c * shape) - alpha

    c = optimize.brentq(excess, z_once, z_bonferroni, xtol=1e-6)
    return c * shape


def simulate_peeking(
    n_sims: int,
    n_days: int,
    users_per_day_per_arm: int,
    p: float,
    *,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = None,
    boundary: str = "naive",
    relative_lift: float = 0.0,
) -> float:
    """Share of tests that stop "significant" when the results are checked every day.

    Simulates ``n_sims`` tests at once: the daily conversions of each arm form an
    ``(n_sims, n_days)`` binomial array whose cumulative sums give the running totals, so the
    pooled z statistic of every test at every daily look is one vectorised expression. A test
    stops at the first look where ``|z|`` exceeds the boundary of that look (see
    :func:`sequential_boundaries`). With ``relative_lift=0`` (an A/A test, the default) the
    returned share is the false-positive rate; with a lift it is the power of the design.

    Parameters
    ----------
    n_sims : int
        Simulated tests, >= 1.
    n_days : int
        Looks (one per day), >= 1.
    users_per_day_per_arm : int
        New users entering each arm per day, >= 1.
    p : float
        Control conversion rate, in (0, 1).
    alpha : float, default 0.05
        Overall significance level the boundary is built for.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.
    boundary : str, default "naive"
        ``"naive"``, ``"fixed"``, ``"bonferroni"``, ``"pocock"`` or ``"obrien_fleming"``.
    relative_lift : float, default 0.0
        True relative lift of arm B.

    Returns
    -------
    float
        Share of simulated tests that ever rejected.

    Examples
    --------
    >>> round(simulate_peeking(4000, 14, 1000, 0.10, random_state=0), 3)  # 14 naive peeks
    0.211
    >>> round(simulate_peeking(4000, 14, 1000, 0.10, random_state=0, boundary="pocock"), 3)
    0.051
    """
    n_sims = _check_count("n_sims", n_sims)
    n_days = _check_count("n_days", n_days)
    per_day = _check_count("users_per_day_per_arm", users_per_day_per_arm)
    p_a = float(_check_open_unit("p", p))
    p_b = float(_check_open_unit("p * (1 + relative_lift)", p_a * (1 + float(relative_lift))))
    bounds = sequential_boundaries(n_days, kind=boundary, alpha=alpha)
    rng = np.random.default_rng(random_state)
    conv_a = rng.binomial(per_day, p_a, size=(n_sims, n_days)).cumsum(axis=1)
    conv_b = rng.binomial(per_day, p_b, size=(n_sims, n_days)).cumsum(axis=1)
    users = per_day * np.arange(1, n_days + 1)
    z = _pooled_z(conv_a, users, conv_b, users)
    stopped = (np.abs(z) > bounds).any(axis=1)
    return float(stopped.mean())
