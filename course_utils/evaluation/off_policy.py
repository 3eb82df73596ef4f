"""Step 5, off-policy evaluation: estimate a new policy's click rate from logged traffic.

The production recommender (the *logging policy* ``pi_0``) chose each shown item at random
with a known probability, its **propensity**, and the log kept it. Inverse propensity
scoring (IPS) reweights each logged reward by ``pi_new(a | x) / pi_0(a | x)``:

``V_IPS = mean_i( pi_new(a_i | x_i) / pi_0(a_i | x_i) * r_i )``

which is unbiased for the new policy's value when ``pi_0(a | x) > 0`` wherever
``pi_new(a | x) > 0``. It can answer "what click rate would the new ranker get on *this*
traffic, for *this* logged reward?" before any A/B test; it cannot see items the old policy
never showed (zero propensity), long-term effects (churn, habits), or changes in behaviour
that the log does not contain. Its variance grows with the weights: a target far from the
logging policy leaves few effective samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "LoggedBandit",
    "OffPolicyEstimate",
    "ips_estimate",
    "policy_value",
    "simulate_logged_bandit",
    "softmax_policy",
]


@dataclass(frozen=True)
class LoggedBandit:
    """Simulated logged traffic with known truth.

    Attributes
    ----------
    contexts, actions : ndarray of int
        The user type ``x_i`` and the item ``a_i`` shown in each logged event.
    rewards : ndarray of float
        Click (1.0) or not (0.0).
    propensities : ndarray of float
        ``pi_0(a_i | x_i)``, logged with the event.
    logging_policy : ndarray, shape (n_contexts, n_actions)
        The full logging policy (rows sum to 1).
    true_ctr : ndarray, shape (n_contexts, n_actions)
        The true click probability of every (context, item) pair.
    context_probs : ndarray, shape (n_contexts,)
        How often each context occurs.
    """

    contexts: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray
    logging_policy: np.ndarray
    true_ctr: np.ndarray
    context_probs: np.ndarray


@dataclass(frozen=True)
class OffPolicyEstimate:
    """An IPS estimate with its normal-approximation interval and effective sample size."""

    value: float
    se: float
    ci_low: float
    ci_high: float
    effective_sample_size: float
    n_events: int


def softmax_policy(scores, temperature: float = 1.0, *, support=None) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature``; items outside ``support`` get probability 0.

    Examples
    --------
    >>> softmax_policy([[0.0, 0.0, 1.0]], temperature=1e-3).round(3).tolist()
    [[0.0, 0.0, 1.0]]
    """
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    logits = s / temperature
    if support is not None:
        mask = np.broadcast_to(np.asarray(support, dtype=bool), s.shape)
        if not mask.any(axis=1).all():
            raise ValueError("support must allow at least one item per context")
        logits = np.where(mask, logits, -np.inf)
    logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def _check_policy(name: str, policy, shape: tuple[int, int]) -> np.ndarray:
    p = np.asarray(policy, dtype=float)
    if p.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0):
        raise ValueError(f"{name} rows must be probabilities summing to 1")
    return p


def policy_value(policy, true_ctr, context_probs) -> float:
    """Exact click rate of ``policy``: ``sum_x P(x) sum_a policy(a | x) ctr(x, a)``.

    Examples
    --------
    >>> policy_value([[0.5, 0.5]], [[0.1, 0.3]], [1.0])
    0.2
    """
    ctr = np.asarray(true_ctr, dtype=float)
    p = _check_policy("policy", policy, ctr.shape)
    w = np.asarray(context_probs, dtype=float)
    return float(round(w @ (p * ctr).sum(axis=1), 12))


def simulate_logged_bandit(
    n_events: int,
    *,
    n_contexts: int = 20,
    n_actions: int = 30,
    n_unsupported: int = 0,
    temperature: float = 0.5,
    score_noise: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> LoggedBandit:
    """Logged traffic of a stochastic production ranker, with known click probabilities.

    True click probabilities are ``sigmoid(-2.5 + relevance)`` with ``relevance ~ N(0, 1)`` per
    (context, item). The production ranker knows the relevance with noise ``score_noise`` and
    picks the shown item with ``softmax(noisy score / temperature)``; the last
    ``n_unsupported`` items (e.g. new titles) are never shown by it (propensity 0).

    Examples
    --------
    >>> logs = simulate_logged_bandit(50_000, random_state=0)
    >>> round(float(logs.rewards.mean()), 3), logs.logging_policy.shape
    (0.25, (20, 30))
    """
    rng = np.random.default_rng(random_state)
    if not (isinstance(n_events, (int, np.integer)) and n_events >= 1):
        raise ValueError(f"n_events must be an integer >= 1; got {n_events!r}")
    if not 0 <= n_unsupported < n_actions:
        raise ValueError(f"n_unsupported must be in [0, n_actions); got {n_unsupported!r}")
    relevance = rng.standard_normal((n_contexts, n_actions))
    true_ctr = 1.0 / (1.0 + np.exp(-(relevance - 2.5)))
    noisy = relevance + score_noise * rng.standard_normal(relevance.shape)
    support = np.arange(n_actions) < n_actions - n_unsupported
    logging = softmax_policy(noisy, temperature, support=support)
    context_probs = np.full(n_contexts, 1.0 / n_contexts)
    contexts = rng.integers(0, n_contexts, size=n_events)
    cum = logging.cumsum(axis=1)[contexts]
    actions = np.minimum((rng.random(n_events)[:, None] > cum).sum(axis=1), n_actions - 1)
    rewards = (rng.random(n_events) < true_ctr[contexts, actions]).astype(float)
    return LoggedBandit(
        contexts=contexts,
        actions=actions,
        rewards=rewards,
        propensities=logging[contexts, actions],
        logging_policy=logging,
        true_ctr=true_ctr,
        context_probs=context_probs,
    )


def ips_estimate(
    rewards, target_probs, propensities, *, clip: float | None = None, confidence: float = 0.95
) -> OffPolicyEstimate:
    """Inverse propensity scoring estimate of a target policy's mean reward.

    Parameters
    ----------
    rewards : array-like of float
        Logged rewards ``r_i``.
    target_probs : array-like of float
        ``pi_new(a_i | x_i)``: the probability that the *new* policy shows the logged item.
    propensities : array-like of float
        ``pi_0(a_i | x_i)`` logged at serving time, in (0, 1].
    clip : float, optional
        Cap the weights at ``clip`` (less variance, some bias).
    confidence : float, default 0.95
        Level of the normal-approximation interval.

    Returns
    -------
    OffPolicyEstimate
        ``value``, ``se`` (standard deviation of the weighted rewards over ``sqrt(n)``),
        interval, and the effective sample size ``(sum w)**2 / sum w**2``.

    Examples
    --------
    >>> est = ips_estimate([1, 0, 1, 0], [1.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5])
    >>> est.value, est.effective_sample_size
    (0.5, 2.0)
    """
    r = np.asarray(rewards, dtype=float)
    t = np.asarray(target_probs, dtype=float)
    p = np.asarray(propensities, dtype=float)
    if not (r.ndim == 1 and r.shape == t.shape == p.shape and r.size >= 2):
        raise ValueError(
            "rewards, target_probs and propensities must be 1-D of one equal length >= 2; "
            f"got {r.shape}, {t.shape} and {p.shape}"
        )
    if np.any(p <= 0) or np.any(p > 1):
        raise ValueError("propensities must be in (0, 1]: a logged event had a chance to be shown")
    if np.any(t < 0) or np.any(t > 1):
        raise ValueError("target_probs must be in [0, 1]")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    w = t / p
    if clip is not None:
        if not clip > 0:
            raise ValueError(f"clip must be > 0; got {clip!r}")
        w = np.minimum(w, clip)
    terms = w * r
    value = float(terms.mean())
    se = float(terms.std(ddof=1) / np.sqrt(r.size))
    half = float(stats.norm.isf((1 - confidence) / 2)) * se
    ess = float(w.sum() ** 2 / (w**2).sum()) if w.any() else 0.0
    return OffPolicyEstimate(value, se, value - half, value + half, ess, int(r.size))
