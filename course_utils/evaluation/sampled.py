"""Step 5, sampled-negative evaluation: the shortcut of many papers, and why it misleads.

Rank each relevant test item against ``n_negatives`` random items instead of the whole
catalogue (:func:`sample_negatives`, :func:`sampled_ranks`,
:func:`sampled_negative_evaluation`). It is cheap and inflates every score; the notebook
shows it can also reorder models (Krichene and Rendle, *On Sampled Metrics for Item
Recommendation*, KDD 2020).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.splits import Split
from course_utils.evaluation import metrics as M
from course_utils.evaluation.scores import _pair_keys

__all__ = ["sample_negatives", "sampled_negative_evaluation", "sampled_ranks"]


# --------------------------------------------------------------------------- sampled metrics
def sample_negatives(
    split: Split, n_negatives: int = 100, *, random_state: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Draw ``n_negatives`` random items for every relevant test pair of ``split``.

    Positives are the relevant (user, item) pairs of the evaluated users whose item is a
    candidate (appears in train; no collaborative model can rank any other item). Negatives
    are drawn uniformly **with replacement** from ``split.candidate_items``, excluding every
    item the user interacted with in train or test; offending draws are redrawn, round after
    round, until none is left (vectorised over all pairs at once).

    Parameters
    ----------
    split : Split
    n_negatives : int, default 100
        Random items per positive.
    random_state : int
        Seed for ``np.random.default_rng``.

    Returns
    -------
    positives : DataFrame
        ``user_id`` and ``item_id`` of each evaluated pair, sorted by user then item.
    negatives : ndarray of int64, shape (len(positives), n_negatives)
        Item ids; row ``j`` belongs to ``positives.iloc[j]``.

    Examples
    --------
    >>> split = benchmark_split()  # doctest: +SKIP
    >>> pos, neg = sample_negatives(split, n_negatives=100)  # doctest: +SKIP
    >>> neg.shape[1]  # doctest: +SKIP
    100
    """
    if isinstance(n_negatives, bool) or not isinstance(n_negatives, (int, np.integer)):
        raise TypeError(f"n_negatives must be an int; got {type(n_negatives).__name__}")
    if n_negatives < 1:
        raise ValueError(f"n_negatives must be >= 1; got {n_negatives}")
    candidates = split.candidate_items
    rel = split.relevant
    positives = rel[rel[S.ITEM_ID].isin(candidates)].reset_index(drop=True)
    if positives.empty:
        raise ValueError("split has no relevant test pair whose item appears in train")

    seen = pd.concat([split.train, split.test])[[S.USER_ID, S.ITEM_ID]].drop_duplicates()
    seen = seen[seen[S.USER_ID].isin(positives[S.USER_ID].unique())]
    n_blocked = seen[seen[S.ITEM_ID].isin(candidates)].groupby(S.USER_ID).size()
    if (n_blocked >= len(candidates)).any():
        user = int(n_blocked.index[(n_blocked >= len(candidates)).to_numpy()][0])
        raise ValueError(f"user {user} interacted with every candidate item; no negative left")

    offset = int(max(candidates.max(), seen[S.ITEM_ID].max())) + 1
    seen_keys = np.sort(_pair_keys(seen[S.USER_ID], seen[S.ITEM_ID], offset))

    def is_seen(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = _pair_keys(users, items, offset)
        pos = np.minimum(np.searchsorted(seen_keys, keys), len(seen_keys) - 1)
        return seen_keys[pos] == keys

    users = np.repeat(positives[S.USER_ID].to_numpy(dtype=np.int64)[:, None], n_negatives, axis=1)
    rng = np.random.default_rng(random_state)
    negatives = candidates[rng.integers(0, len(candidates), size=users.shape)]
    bad = is_seen(users, negatives)
    while bad.any():  # each round redraws only the offending cells
        negatives[bad] = candidates[rng.integers(0, len(candidates), size=int(bad.sum()))]
        bad[bad] = is_seen(users[bad], negatives[bad])
    return positives, negatives.astype(np.int64)


def sampled_ranks(pos_scores, neg_scores) -> np.ndarray:
    """0-based rank of each positive among its negatives; ties count half.

    ``rank_j = #{negatives scoring above} + 0.5 * #{negatives scoring equal}`` -- the
    expected rank when ties are broken at random. A positive the model cannot score (NaN)
    ranks last (``n_negatives``); NaN negatives rank below everything.

    Examples
    --------
    >>> sampled_ranks([0.5, 0.9], [[0.7, 0.1, 0.5], [0.1, 0.2, 0.3]]).tolist()
    [1.5, 0.0]
    """
    pos = np.asarray(pos_scores, dtype=np.float64)
    neg = np.asarray(neg_scores, dtype=np.float64)
    if pos.ndim != 1 or neg.ndim != 2 or neg.shape[0] != pos.shape[0]:
        raise ValueError(
            f"need pos_scores (n,) and neg_scores (n, n_negatives); got {pos.shape} and {neg.shape}"
        )
    neg = np.where(np.isnan(neg), -np.inf, neg)
    above = (neg > pos[:, None]).sum(axis=1)
    ties = (neg == pos[:, None]).sum(axis=1)
    return np.where(np.isnan(pos), float(neg.shape[1]), above + 0.5 * ties)


def sampled_negative_evaluation(
    model, split: Split, n_negatives: int = 100, *, k: int = 10, random_state: int = 0
) -> pd.DataFrame:
    """Per-user hit rate@k and NDCG@k when each test item competes with ``n_negatives`` items.

    For every positive pair of :func:`sample_negatives`, the model scores the positive and
    its negatives (``model.score``); with ``r`` its :func:`sampled_ranks` rank,
    ``hit = r < k`` and ``ndcg = 1 / log2(r + 2)`` if ``r < k`` else 0 (one relevant item
    per list, so the ideal DCG is 1). A user's score is the mean over their positives.

    Parameters
    ----------
    model : fitted recommender with ``score(user_ids, item_ids)``
    split : Split
    n_negatives : int, default 100
    k : int, default 10
    random_state : int
        Seed of the negatives: the same seed gives every model the same negatives.

    Returns
    -------
    DataFrame
        One row per evaluated user: ``user_id``, ``hit_rate``, ``ndcg``, ``n_pairs``.

    Examples
    --------
    >>> per_user = sampled_negative_evaluation(model, split)  # doctest: +SKIP
    >>> per_user["ndcg"].mean()  # doctest: +SKIP
    """
    k = M._check_k(k)
    positives, negatives = sample_negatives(split, n_negatives, random_state=random_state)
    users = positives[S.USER_ID].to_numpy(dtype=np.int64)
    items = np.column_stack([positives[S.ITEM_ID].to_numpy(dtype=np.int64), negatives])
    scores = model.score(np.repeat(users, items.shape[1]), items.ravel()).reshape(items.shape)
    rank = sampled_ranks(scores[:, 0], scores[:, 1:])
    hit = rank < k
    gain = np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)
    frame = pd.DataFrame({S.USER_ID: users, "hit_rate": hit.astype(np.float64), "ndcg": gain})
    out = frame.groupby(S.USER_ID, sort=True).agg(
        hit_rate=("hit_rate", "mean"), ndcg=("ndcg", "mean"), n_pairs=("ndcg", "size")
    )
    return out.reset_index()
