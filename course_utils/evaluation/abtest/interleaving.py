"""Step 5, interleaving: comparing two rankers within one user's list.

``team_draft_interleave`` merges two ranked lists by team draft and credits clicks to the
team that contributed the item; ``simulate_interleaving`` measures how much more sensitive
it is than an A/B test on the same simulated users.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from course_utils.evaluation.abtest._checks import (
    _check_at_least,
    _check_count,
    _check_open_unit,
    _z_critical,
)

__all__ = ["simulate_interleaving", "team_draft_interleave"]

# --------------------------------------------------------------------------- interleaving


def team_draft_interleave(
    ranking_a,
    ranking_b,
    length: int,
    *,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Team-draft interleaving (Radlinski, Kurup & Joachims, 2008) for many users at once.

    Like two captains picking players: the team with fewer picks so far (a coin flip when
    tied) adds its highest-ranked item not yet shown, until the list has ``length`` items. A
    click later counts for the team that contributed the clicked item. The loop runs over list
    positions; each step is vectorised over users.

    Parameters
    ----------
    ranking_a, ranking_b : array-like of shape (n_users, n_items)
        Each row a permutation of ``0..n_items-1``: item indices, best first.
    length : int
        Length of the interleaved list, ``1 <= length <= n_items``.
    random_state : int, Generator or None
        Seed for the coin flips.

    Returns
    -------
    shown : ndarray of int, shape (n_users, length)
        The interleaved list of each user.
    from_b : ndarray of bool, shape (n_users, length)
        Whether each shown item was contributed by ranker B.

    Examples
    --------
    >>> shown, from_b = team_draft_interleave([[0, 1, 2, 3]], [[2, 0, 3, 1]], 4, random_state=0)
    >>> shown.tolist(), from_b.astype(int).tolist()
    ([[0, 2, 3, 1]], [[0, 1, 1, 0]])
    """
    a = np.asarray(ranking_a)
    b = np.asarray(ranking_b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"rankings must be 2-D arrays of the same shape; got {a.shape} and {b.shape}"
        )
    n_users, n_items = a.shape
    items = np.arange(n_items)
    if not (np.all(np.sort(a, axis=1) == items) and np.all(np.sort(b, axis=1) == items)):
        raise ValueError("each ranking row must be a permutation of 0..n_items-1")
    length = _check_count("length", length)
    if length > n_items:
        raise ValueError(f"length must be <= n_items={n_items}; got {length}")
    rng = np.random.default_rng(random_state)
    rows = np.arange(n_users)
    used = np.zeros((n_users, n_items), dtype=bool)
    picks_a = np.zeros(n_users, dtype=int)
    picks_b = np.zeros(n_users, dtype=int)
    shown = np.empty((n_users, length), dtype=int)
    from_b = np.empty((n_users, length), dtype=bool)
    for pos in range(length):
        # each ranker's best item not yet shown: the first False of `used` in its order
        best_a = a[rows, np.argmax(~np.take_along_axis(used, a, axis=1), axis=1)]
        best_b = b[rows, np.argmax(~np.take_along_axis(used, b, axis=1), axis=1)]
        b_turn = (picks_b < picks_a) | ((picks_a == picks_b) & (rng.random(n_users) < 0.5))
        item = np.where(b_turn, best_b, best_a)
        used[rows, item] = True
        shown[:, pos], from_b[:, pos] = item, b_turn
        picks_a += ~b_turn
        picks_b += b_turn
    return shown, from_b


def simulate_interleaving(
    n_users: int,
    n_sims: int,
    *,
    n_items: int = 20,
    length: int = 10,
    noise_a: float = 1.0,
    noise_b: float = 0.7,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = None,
) -> dict[str, float]:
    """Power of an A/B test and of team-draft interleaving to find the better of two rankers.

    User model: each user has ``n_items`` candidates with true relevance ``r ~ N(0, 1)``; ranker
    X orders them by ``r + noise_X * N(0, 1)`` (the smaller the noise, the better the ranker).
    The user examines position ``i`` (0-based) with probability ``1 / (i + 1)`` and clicks an
    examined item with probability ``sigmoid(r - 2)``.

    * **A/B test** -- half the ``n_users`` see ranker A's top ``length``, half ranker B's; Welch's
      t-test on clicks per user.
    * **Interleaving** -- all ``n_users`` see the team-draft interleaved list; each user prefers
      the ranker credited with more of their clicks (ties ignored); a two-sided sign test
      (normal approximation) on the preferences.

    Each simulated experiment counts as a detection when it is significant at ``alpha`` and
    favours B. With ``noise_a == noise_b`` the rankers are equally good and both shares estimate
    the false-positive rate (at most ``alpha``; half of the rejections favour B).

    Parameters
    ----------
    n_users : int
        Users per experiment (both arms together for the A/B test), >= 4.
    n_sims : int
        Simulated experiments, >= 1. Memory grows as ``n_sims * n_users * n_items``.
    n_items, length : int
        Candidates per user and length of the list shown.
    noise_a, noise_b : float
        Ranking noise of A (control) and B (treatment), >= 0.
    alpha : float, default 0.05
        Significance level of both tests.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    dict
        ``{"ab_test": power, "interleaving": power}``.

    Examples
    --------
    >>> power = simulate_interleaving(1000, 100, random_state=0)
    >>> {name: round(value, 2) for name, value in power.items()}
    {'ab_test': 0.34, 'interleaving': 0.47}
    """
    n_users = _check_count("n_users", n_users, minimum=4)
    n_sims = _check_count("n_sims", n_sims)
    n_items = _check_count("n_items", n_items)
    length = _check_count("length", length)
    if length > n_items:
        raise ValueError(f"length must be <= n_items={n_items}; got {length}")
    noise_a = float(_check_at_least("noise_a", noise_a, 0))
    noise_b = float(_check_at_least("noise_b", noise_b, 0))
    _check_open_unit("alpha", alpha)
    rng = np.random.default_rng(random_state)
    total = n_sims * n_users  # every experiment's users, simulated together
    relevance = rng.standard_normal((total, n_items))
    rank_a = np.argsort(-(relevance + noise_a * rng.standard_normal((total, n_items))), axis=1)
    rank_b = np.argsort(-(relevance + noise_b * rng.standard_normal((total, n_items))), axis=1)
    examine = 1.0 / np.arange(1, length + 1)
    attract = 1.0 / (1.0 + np.exp(-(relevance - 2.0)))

    def clicks_on(shown: np.ndarray) -> np.ndarray:
        p_click = examine * np.take_along_axis(attract, shown, axis=1)
        return rng.random(shown.shape) < p_click

    # A/B: the first half of each experiment's users sees A, the second half B
    in_b = np.arange(n_users) >= n_users // 2
    shown_ab = np.where(np.tile(in_b, n_sims)[:, None], rank_b, rank_a)[:, :length]
    clicks = clicks_on(shown_ab).sum(axis=1).reshape(n_sims, n_users)
    welch = stats.ttest_ind(clicks[:, in_b], clicks[:, ~in_b], axis=1, equal_var=False)
    ab_detects = (np.nan_to_num(welch.pvalue, nan=1.0) < alpha) & (welch.statistic > 0)

    # interleaving: everyone sees the team-draft list; count the users preferring each ranker
    shown, from_b = team_draft_interleave(rank_a, rank_b, length, random_state=rng)
    clicked = clicks_on(shown)
    credit = (clicked & from_b).sum(axis=1) - (clicked & ~from_b).sum(axis=1)
    wins_b = (credit > 0).reshape(n_sims, n_users).sum(axis=1)
    wins_a = (credit < 0).reshape(n_sims, n_users).sum(axis=1)
    z = _pooled_sign_z(wins_b, wins_a)
    il_detects = z > _z_critical(alpha, two_sided=True)
    return {"ab_test": float(ab_detects.mean()), "interleaving": float(il_detects.mean())}


def _pooled_sign_z(wins_b: np.ndarray, wins_a: np.ndarray) -> np.ndarray:
    """Sign-test z statistic ``(W_B - W_A) / sqrt(W_B + W_A)`` (0 when nobody expressed one)."""
    decided = (wins_b + wins_a).astype(float)
    diff = (wins_b - wins_a).astype(float)
    return np.divide(diff, np.sqrt(decided), out=np.zeros_like(diff), where=decided > 0)
