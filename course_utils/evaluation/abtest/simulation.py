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

__all__ = ["simulate_ab_tests", "simulate_user_level_ab"]

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
