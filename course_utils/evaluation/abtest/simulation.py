"""Step 5, A/B tests simulated: many tests at once to check power empirically.

``simulate_ab_tests`` draws many tests from binomials; ``simulate_user_level_ab`` makes one
user-level test with per-user outcomes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from course_utils.data.schema import USER_ID
from course_utils.evaluation.abtest._checks import _check_count, _check_open_unit
from course_utils.evaluation.abtest.analysis import _pooled_z

__all__ = [
    "monte_carlo_interval",
    "simulate_ab_tests",
    "simulate_pre_post",
    "simulate_sessions",
    "simulate_user_level_ab",
]

# --------------------------------------------------------------------------- simulation


def simulate_ab_tests(
    p_a: float,
    p_b: float,
    n_per_arm: int,
    n_sims: int,
    *,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = None,
    return_pvalues: bool = False,
) -> np.ndarray:
    """Run ``n_sims`` independent A/B tests at once and z-test each one.

    Each simulated test draws its conversion counts as ``Binomial(n_per_arm, p)`` per arm (the
    sum of the users' Bernoulli clicks, without materialising the users) and applies the pooled
    two-proportion z-test. The share of rejections estimates the power (``p_a != p_b``) or the
    false-positive rate (``p_a == p_b``, an A/A test).

    Parameters
    ----------
    p_a, p_b : float
        True conversion rates of control and treatment, in (0, 1).
    n_per_arm : int
        Users per arm, >= 1.
    n_sims : int
        Number of simulated tests, >= 1.
    alpha : float, default 0.05
        Significance level of each (two-sided) test.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.
    return_pvalues : bool, default False
        Return the p-values instead of the rejection booleans.

    Returns
    -------
    ndarray of shape (n_sims,)
        ``p_value < alpha`` per test (bool), or the p-values.

    Examples
    --------
    >>> rejected = simulate_ab_tests(0.10, 0.11, 5000, 20_000, random_state=0)
    >>> round(float(rejected.mean()), 3)  # empirical power of the 10K-user design
    0.371
    """
    p_a = float(_check_open_unit("p_a", p_a))
    p_b = float(_check_open_unit("p_b", p_b))
    n = _check_count("n_per_arm", n_per_arm)
    n_sims = _check_count("n_sims", n_sims)
    _check_open_unit("alpha", alpha)
    rng = np.random.default_rng(random_state)
    conv_a = rng.binomial(n, p_a, size=n_sims)
    conv_b = rng.binomial(n, p_b, size=n_sims)
    p_values = 2 * stats.norm.sf(np.abs(_pooled_z(conv_a, n, conv_b, n)))
    return p_values if return_pvalues else p_values < alpha


def simulate_user_level_ab(
    n_users: int,
    p_a: float,
    relative_lift: float,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """One A/B test at user level: random 50/50 assignment, then one Bernoulli click per user.

    Users are split by a random permutation, so arm B gets exactly ``n_users // 2`` users and
    arm A the rest; user ``u`` clicks with probability ``p_a`` in A and
    ``p_a * (1 + relative_lift)`` in B.

    Parameters
    ----------
    n_users : int
        Users in the whole test, >= 2.
    p_a : float
        Control click-through rate, in (0, 1).
    relative_lift : float
        True relative lift of the treatment (0.10 = +10 %; 0 gives an A/A test).
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    DataFrame
        One row per user: ``user_id`` (int64, 0..n_users-1), ``variant`` (``"A"``/``"B"``)
        and ``clicked`` (bool).

    Examples
    --------
    >>> from course_utils.evaluation.abtest import z_test_two_proportions
    >>> users = simulate_user_level_ab(10_000, 0.10, 0.10, random_state=42)
    >>> counts = users.groupby("variant")["clicked"].agg(["sum", "count"])
    >>> counts.to_dict("index")
    {'A': {'sum': 506, 'count': 5000}, 'B': {'sum': 518, 'count': 5000}}
    >>> result = z_test_two_proportions(*counts.loc["A"], *counts.loc["B"])
    >>> round(result.statistic, 2), result.decision
    (0.4, 'inconclusive')
    """
    n_users = _check_count("n_users", n_users, minimum=2)
    p_a = float(_check_open_unit("p_a", p_a))
    lift = float(relative_lift)
    p_b = float(_check_open_unit("p_a * (1 + relative_lift)", p_a * (1 + lift)))
    rng = np.random.default_rng(random_state)
    in_b = rng.permutation(n_users) < n_users // 2
    clicked = rng.random(n_users) < np.where(in_b, p_b, p_a)
    return pd.DataFrame(
        {
            USER_ID: np.arange(n_users, dtype=np.int64),
            "variant": np.where(in_b, "B", "A"),
            "clicked": clicked,
        }
    )


def simulate_pre_post(
    n_users: int,
    *,
    mean: float = 45.0,
    sd: float = 30.0,
    persistence: float = 0.8,
    effect: float = 0.0,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Per-user metric before and during a test (e.g. watch minutes), with a known effect.

    Each user has a habitual level ``u ~ Gamma`` with mean ``mean`` and standard deviation
    ``sd * sqrt(persistence)``; each period adds independent noise ``N(0, sd**2 (1 -
    persistence))``, so both periods have mean ``mean`` and standard deviation ``sd`` and
    their correlation is ``persistence``. Users are split 50/50 at random; arm B adds
    ``effect`` to the in-test value only (the pre-period cannot be affected by the treatment).

    Returns
    -------
    DataFrame
        ``user_id``, ``variant`` (``"A"``/``"B"``), ``pre`` and ``post`` (float).

    Examples
    --------
    >>> users = simulate_pre_post(20_000, effect=2.0, random_state=0)
    >>> round(float(users[["pre", "post"]].corr().iloc[0, 1]), 2)
    0.8
    """
    n_users = _check_count("n_users", n_users, minimum=2)
    if not 0 <= persistence < 1:
        raise ValueError(f"persistence must be in [0, 1); got {persistence!r}")
    if not (mean > 0 and sd > 0):
        raise ValueError(f"mean and sd must be positive; got {mean!r} and {sd!r}")
    rng = np.random.default_rng(random_state)
    habit_var = sd**2 * persistence
    if persistence > 0:
        habit = rng.gamma(mean**2 / habit_var, habit_var / mean, size=n_users)
    else:
        habit = np.full(n_users, float(mean))
    noise = rng.normal(0.0, sd * np.sqrt(1 - persistence), size=(2, n_users))
    in_b = rng.permutation(n_users) < n_users // 2
    return pd.DataFrame(
        {
            USER_ID: np.arange(n_users, dtype=np.int64),
            "variant": np.where(in_b, "B", "A"),
            "pre": habit + noise[0],
            "post": habit + noise[1] + np.where(in_b, float(effect), 0.0),
        }
    )


def simulate_sessions(
    n_users: int,
    *,
    mean_sessions: float = 4.0,
    clicks_per_session: float = 0.3,
    heterogeneity: float = 1.0,
    relative_lift: float = 0.0,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Session-level log of a user-randomised test, for ratio metrics (clicks per session).

    User ``u`` has ``1 + Poisson(mean_sessions - 1)`` sessions and a personal click rate
    ``rate_u ~ Gamma(1 / heterogeneity, clicks_per_session * heterogeneity)`` (mean
    ``clicks_per_session``, coefficient of variation ``sqrt(heterogeneity)``); each of their
    sessions has ``Poisson(rate_u)`` clicks, times ``1 + relative_lift`` in arm B. Sessions of
    one user are therefore correlated through ``rate_u``. The true clicks per session are
    ``clicks_per_session`` in A and ``clicks_per_session * (1 + relative_lift)`` in B.

    Returns
    -------
    DataFrame
        One row per session: ``user_id``, ``variant`` and ``clicks`` (int).

    Examples
    --------
    >>> log = simulate_sessions(1000, random_state=0)
    >>> log.groupby("variant")["clicks"].mean().round(2).to_dict()
    {'A': 0.29, 'B': 0.31}
    """
    n_users = _check_count("n_users", n_users, minimum=2)
    if not mean_sessions >= 1:
        raise ValueError(f"mean_sessions must be >= 1; got {mean_sessions!r}")
    if not (clicks_per_session > 0 and heterogeneity > 0):
        raise ValueError(
            "clicks_per_session and heterogeneity must be positive; "
            f"got {clicks_per_session!r} and {heterogeneity!r}"
        )
    rng = np.random.default_rng(random_state)
    in_b = rng.permutation(n_users) < n_users // 2
    sessions = 1 + rng.poisson(mean_sessions - 1, size=n_users)
    rate = rng.gamma(1 / heterogeneity, clicks_per_session * heterogeneity, size=n_users)
    rate = rate * np.where(in_b, 1 + float(relative_lift), 1.0)
    user = np.repeat(np.arange(n_users, dtype=np.int64), sessions)
    return pd.DataFrame(
        {
            USER_ID: user,
            "variant": np.where(in_b, "B", "A")[user],
            "clicks": rng.poisson(rate[user]),
        }
    )


def monte_carlo_interval(
    successes: int, n_sims: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson interval of a rate estimated by simulation (e.g. a false-positive rate).

    A simulated rate is itself an estimate: ``successes`` rejections out of ``n_sims``
    simulated tests. The Wilson score interval is
    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``.

    Examples
    --------
    >>> [round(x, 4) for x in monte_carlo_interval(1080, 20_000)]
    [0.051, 0.0572]
    """
    n = _check_count("n_sims", n_sims)
    k = _check_count("successes", successes, minimum=0)
    if k > n:
        raise ValueError(f"successes must be <= n_sims={n}; got {k}")
    _check_open_unit("confidence", confidence)
    z = float(stats.norm.isf((1 - confidence) / 2))
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return float(centre - half), float(centre + half)
