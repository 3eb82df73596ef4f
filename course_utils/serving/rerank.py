"""Business rules after ranking: diversity by maximal marginal relevance (MMR).

A ranker scores items one at a time, so its top 10 can be ten near-identical titles.
MMR (Carbonell and Goldstein, *The use of MMR, diversity-based reranking for reordering
documents and producing summaries*, SIGIR 1998) builds the list greedily: at every step
it picks the item ``i`` not yet chosen that maximises

    lambda_ * score_i - (1 - lambda_) * max_{j already chosen} sim(i, j),

with ``sim`` the cosine similarity of item vectors (genres here) and the max over an
empty list taken as 0 (only then: once an item is chosen, a negative cosine is a bonus,
not clamped to 0). ``lambda_ = 1`` keeps the ranker's order; smaller values trade
relevance for variety. Scores should be on the scale of the similarities (the service
min-max scales its ranker scores to [0, 1] first).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mmr_rerank", "min_max_scale"]


def min_max_scale(scores) -> np.ndarray:
    """Scores mapped linearly onto [0, 1] (all zeros when they are all equal).

    Examples
    --------
    >>> min_max_scale([2.0, 4.0, 3.0]).tolist()
    [0.0, 1.0, 0.5]
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s.copy()
    span = s.max() - s.min()
    return (s - s.min()) / span if span > 0 else np.zeros_like(s)


def mmr_rerank(scores, item_vectors, k: int, lambda_: float = 0.7) -> np.ndarray:
    """Greedy MMR re-ranking: positions of the k chosen items, in the order chosen.

    Parameters
    ----------
    scores : array-like, shape (n,)
        Relevance of each candidate (higher is better).
    item_vectors : array-like, shape (n, d)
        One vector per candidate; similarity is the cosine (zero vectors are similar to
        nothing).
    k : int
        Number of items to pick, 1 <= k <= n.
    lambda_ : float in [0, 1]
        Weight of relevance; ``1 - lambda_`` is the weight of the redundancy penalty.

    Returns
    -------
    ndarray of int, shape (k,)
        Indices into ``scores``; ties go to the smaller index.

    Examples
    --------
    >>> vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> mmr_rerank([0.9, 0.8, 0.5], vectors, k=2, lambda_=1.0).tolist()
    [0, 1]
    >>> mmr_rerank([0.9, 0.8, 0.5], vectors, k=2, lambda_=0.5).tolist()  # skips the duplicate
    [0, 2]
    >>> opposite = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # cosine -1 with item 0
    >>> mmr_rerank([0.9, 0.5, 0.2], opposite, k=2, lambda_=0.5).tolist()  # a bonus, not 0
    [0, 2]
    """
    s = np.asarray(scores, dtype=np.float64)
    V = np.asarray(item_vectors, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D; got shape {s.shape}")
    if V.ndim != 2 or len(V) != len(s):
        raise ValueError(f"item_vectors must have shape ({len(s)}, d); got {V.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(s):
        raise ValueError(f"k must be an int between 1 and {len(s)}; got {k!r}")
    if isinstance(lambda_, bool) or not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1]; got {lambda_!r}")
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    unit = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)
    sim = unit @ unit.T
    redundancy = np.zeros(len(s))  # max similarity to the items chosen so far (0 before any)
    available = np.ones(len(s), dtype=bool)
    chosen = np.empty(k, dtype=np.int64)
    for step in range(k):  # greedy: each pick depends on the previous ones
        objective = np.where(available, lambda_ * s - (1.0 - lambda_) * redundancy, -np.inf)
        best = int(np.argmax(objective))
        chosen[step] = best
        available[best] = False
        # the max over the chosen items: negative cosines count (no clamping at 0)
        redundancy = sim[best].copy() if step == 0 else np.maximum(redundancy, sim[best])
    return chosen
