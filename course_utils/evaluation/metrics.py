"""Ranking metrics, vectorised over users.

Accuracy metrics take a boolean *hit matrix*: ``hits[u, i]`` is True when the item that
user ``u`` was recommended at rank ``i`` (0-based) is relevant to that user. Build it
from recommendations with :func:`hit_matrix`. A 1-D ``hits`` is one user; the function
then returns a scalar. ``n_relevant[u]`` is the number of relevant items of user ``u``
(the denominator of recall and the size of the ideal ranking in NDCG and MAP).

Beyond-accuracy metrics take the recommended item ids directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "hit_matrix",
    "precision_at_k",
    "recall_at_k",
    "hit_rate_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "map_at_k",
    "catalog_coverage",
    "intra_list_diversity",
    "novelty",
    "popularity_bias",
]


# --------------------------------------------------------------------------- checks
def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int; got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    return int(k)


def _as_hits(hits, k: int) -> tuple[np.ndarray, bool]:
    """Return a 2-D boolean view of ``hits`` cut to ``k`` columns and whether it was 1-D."""
    arr = np.asarray(hits)
    if arr.dtype.kind not in "biu":
        raise TypeError(f"hits must be a boolean (or 0/1) array; got dtype {arr.dtype}")
    single = arr.ndim == 1
    if single:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"hits must be 1-D (one user) or 2-D (users x ranks); got {arr.ndim}-D")
    if arr.dtype.kind != "b":
        if not np.isin(arr, (0, 1)).all():
            raise ValueError("hits must contain only 0/1 or True/False")
        arr = arr.astype(bool)
    if arr.shape[1] < k:
        raise ValueError(f"hits has {arr.shape[1]} ranks but k={k}; need at least k columns")
    return arr[:, :k], single


def _as_n_relevant(n_relevant, n_users: int) -> np.ndarray:
    arr = np.asarray(n_relevant)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"n_relevant must be numeric; got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError("n_relevant contains NaN")
    arr = np.broadcast_to(arr, (n_users,)) if arr.ndim == 0 else arr
    if arr.shape != (n_users,):
        raise ValueError(f"n_relevant must have shape ({n_users},); got {arr.shape}")
    if (arr < 0).any():
        raise ValueError("n_relevant must be >= 0")
    return arr.astype(np.float64)


def _out(values: np.ndarray, single: bool):
    return np.float64(values[0]) if single else values


def _check_hits_within_relevant(hits: np.ndarray, n_rel: np.ndarray) -> None:
    if (hits.sum(axis=1) > n_rel).any():
        raise ValueError("a user has more hits than relevant items; check n_relevant")


# --------------------------------------------------------------------------- building hits
def _int_ids(values, what: str) -> np.ndarray:
    """``values`` as int64 ids; a clear TypeError for strings, floats or objects."""
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must hold integer item ids; got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} holds ids beyond the int64 range")
    return arr.astype(np.int64)


def hit_matrix(recommended, relevant: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Hit matrix and relevant counts from recommended ids and per-user relevant sets.

    Parameters
    ----------
    recommended : array-like of shape (n_users, L)
        Recommended integer item ids per user, best first. A repeated id counts as a hit
        only at its first rank (a list cannot earn credit twice for one item).
    relevant : sequence of sets, length n_users
        The relevant item ids of each user, in the same user order (duplicates count once).
        A dict is refused: build the sequence in row order, ``[rel[u] for u in users]``.

    Returns
    -------
    hits : ndarray of bool, shape (n_users, L)
    n_relevant : ndarray of int, shape (n_users,)

    Examples
    --------
    >>> hits, n_rel = hit_matrix([[3, 1, 2]], [{1, 7}])
    >>> hits.tolist(), n_rel.tolist()
    ([[False, True, False]], [2])
    """
    rec = _int_ids(recommended, "recommended")
    if rec.ndim != 2:
        raise ValueError(f"recommended must be 2-D (users x ranks); got {rec.ndim}-D")
    if isinstance(relevant, Mapping) or not isinstance(relevant, (Sequence, np.ndarray)):
        raise TypeError(
            "relevant must be a sequence of per-user sets in the row order of recommended; "
            f"got {type(relevant).__name__} (for a dict, pass [relevant[u] for u in users])"
        )
    if len(relevant) != rec.shape[0]:
        raise ValueError(
            f"relevant has {len(relevant)} users but recommended has {rec.shape[0]} rows"
        )
    sets = []
    for row, items in enumerate(relevant):
        if isinstance(items, (str, bytes, Mapping)) or not hasattr(items, "__iter__"):
            raise TypeError(
                f"relevant[{row}] must be a set (or list) of item ids; got {type(items).__name__}"
            )
        sets.append(np.unique(_int_ids(list(items), f"relevant[{row}]")))
    n_rel = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    rel_rows = np.repeat(np.arange(len(sets)), n_rel)
    rel_items = np.concatenate(sets) if sets else np.empty(0, dtype=np.int64)
    return hits_from_pairs(rec, rel_rows, rel_items), n_rel


def hits_from_pairs(recommended: np.ndarray, rel_rows: np.ndarray, rel_items: np.ndarray):
    """Hit matrix from recommended ids and relevant (row, item) pairs, fully vectorised.

    Ids of any sign and size are fine (items are matched by value, not by arithmetic on
    them); a repeated id in a row is a hit only at its first rank.

    Examples
    --------
    >>> hits_from_pairs(np.array([[-1, 5, 5]]), np.array([0]), np.array([5])).tolist()
    [[False, True, False]]
    """
    rec = _int_ids(recommended, "recommended")
    if rec.ndim != 2:
        raise ValueError(f"recommended must be 2-D (users x ranks); got {rec.ndim}-D")
    rows = np.asarray(rel_rows, dtype=np.int64)
    items = _int_ids(rel_items, "relevant items")
    if rows.shape != items.shape or rows.ndim != 1:
        raise ValueError(
            f"rel_rows and rel_items must be 1-D of one length; got {rows.shape}, {items.shape}"
        )
    n_rows, length = rec.shape
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        raise ValueError(f"rel_rows must be in [0, {n_rows}); got {rows.min()}..{rows.max()}")
    # dense codes for item ids, then one (row, code) key: no collision whatever the ids
    codes, inverse = np.unique(np.concatenate([rec.ravel(), items]), return_inverse=True)
    rec_codes, rel_codes = inverse[: rec.size].reshape(rec.shape), inverse[rec.size :]
    n_codes = np.int64(max(len(codes), 1))
    rec_keys = np.arange(n_rows, dtype=np.int64)[:, None] * n_codes + rec_codes
    hits = np.isin(rec_keys, rows * n_codes + rel_codes)
    if length > 1 and hits.any():  # credit an item once per list, at its first rank
        order = np.argsort(rec_keys, axis=1, kind="stable")
        keys_sorted = np.take_along_axis(rec_keys, order, axis=1)
        repeat = np.zeros_like(hits)
        repeat[:, 1:] = keys_sorted[:, 1:] == keys_sorted[:, :-1]
        first = np.ones_like(hits)
        np.put_along_axis(first, order, ~repeat, axis=1)
        hits &= first
    return hits


# --------------------------------------------------------------------------- accuracy
def precision_at_k(hits, k: int):
    """Share of the top-k recommendations that are relevant.

    ``precision@k = (hits in top k) / k``.

    Examples
    --------
    >>> precision_at_k([True, False, True, False], k=2)
    np.float64(0.5)
    """
    k = _check_k(k)
    h, single = _as_hits(hits, k)
    return _out(h.sum(axis=1) / k, single)


def recall_at_k(hits, n_relevant, k: int):
    """Share of a user's relevant items found in the top k: ``hits / |relevant|``.

    Users with no relevant items score 0.

    Examples
    --------
    >>> recall_at_k([True, False, True], n_relevant=4, k=3)
    np.float64(0.5)
    """
    k = _check_k(k)
    h, single = _as_hits(hits, k)
    n_rel = _as_n_relevant(n_relevant, h.shape[0])
    _check_hits_within_relevant(h, n_rel)
    n_hits = h.sum(axis=1)
    out = np.divide(n_hits, n_rel, out=np.zeros(len(n_rel)), where=n_rel > 0)
    return _out(out, single)


def hit_rate_at_k(hits, k: int):
    """1 if at least one of the top-k items is relevant, else 0.

    Examples
    --------
    >>> hit_rate_at_k([[False, True], [False, False]], k=2).tolist()
    [1.0, 0.0]
    """
    k = _check_k(k)
    h, single = _as_hits(hits, k)
    return _out(h.any(axis=1).astype(np.float64), single)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(hits, n_relevant, k: int):
    """Normalised discounted cumulative gain with binary gains.

    ``DCG@k = sum_{i<k} hit_i / log2(i + 2)``; the ideal DCG places
    ``min(k, |relevant|)`` hits at the top. Users with no relevant items score 0.

    Examples
    --------
    >>> round(float(ndcg_at_k([False, True, False], n_relevant=1, k=3)), 4)
    0.6309
    """
    k = _check_k(k)
    h, single = _as_hits(hits, k)
    n_rel = _as_n_relevant(n_relevant, h.shape[0])
    _check_hits_within_relevant(h, n_rel)
    disc = _discounts(k)
    dcg = h @ disc
    ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
    out = np.divide(dcg, idcg, out=np.zeros(len(n_rel)), where=idcg > 0)
    return _out(out, single)


def mrr_at_k(hits, k: int):
    """Reciprocal rank of the first relevant item in the top k (0 when there is none).

    Examples
    --------
    >>> mrr_at_k([False, False, True], k=3)
    np.float64(0.3333333333333333)
    """
    k = _check_k(k)
    h, single = _as_hits(hits, k)
    first = h.argmax(axis=1)
    out = np.where(h.any(axis=1), 1.0 / (first + 1), 0.0)
    return _out(out, single)


def map_at_k(hits, n_relevant, k: int):
    """Average precision at k, normalised by ``min(k, |relevant|)``.

    ``AP@k = sum_{i<k} P@(i+1) * hit_i / min(k, |relevant|)``.

    Examples
    --------
    >>> round(float(map_at_k([True, False, True], n_relevant=2, k=3)), 4)
    0.8333
    """
    k = _check_k(k)
    h, single = _as_hits(hits, k)
    n_rel = _as_n_relevant(n_relevant, h.shape[0])
    _check_hits_within_relevant(h, n_rel)
    prec = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    denom = np.minimum(n_rel, k)
    out = np.divide((prec * h).sum(axis=1), denom, out=np.zeros(len(n_rel)), where=denom > 0)
    return _out(out, single)


# --------------------------------------------------------------------------- beyond accuracy
def _as_recs(recommended) -> np.ndarray:
    rec = np.asarray(recommended)
    if rec.ndim != 2:
        raise ValueError(f"recommended must be 2-D (users x ranks); got {rec.ndim}-D")
    return rec


def catalog_coverage(recommended, n_catalog: int) -> float:
    """Share of the catalogue that appears in at least one recommendation list.

    Examples
    --------
    >>> catalog_coverage([[1, 2], [2, 3]], n_catalog=10)
    0.3
    """
    rec = _as_recs(recommended)
    if isinstance(n_catalog, bool) or not isinstance(n_catalog, (int, np.integer)):
        raise TypeError(f"n_catalog must be an int; got {type(n_catalog).__name__}")
    if n_catalog < 1:
        raise ValueError(f"n_catalog must be >= 1; got {n_catalog}")
    n_distinct = len(np.unique(rec))
    if n_distinct > n_catalog:
        raise ValueError(
            f"the lists hold {n_distinct} distinct items but n_catalog={n_catalog}; "
            "n_catalog must count every recommendable item"
        )
    return float(n_distinct / n_catalog)


def _lookup(recommended: np.ndarray, item_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row ``values[j]`` for every recommended id equal to ``item_ids[j]`` (ids must be known)."""
    order = np.argsort(item_ids)
    sorted_ids = item_ids[order]
    pos = np.searchsorted(sorted_ids, recommended)
    pos = np.clip(pos, 0, len(sorted_ids) - 1)
    if not (sorted_ids[pos] == recommended).all():
        missing = np.unique(recommended[sorted_ids[pos] != recommended])[:5]
        raise ValueError(f"recommended ids not found in item_ids: {missing.tolist()}")
    return values[order[pos]]


def intra_list_diversity(recommended, item_ids, item_features) -> np.ndarray:
    """Mean pairwise cosine distance between the items of each list.

    Parameters
    ----------
    recommended : (n_users, k) item ids
    item_ids : (n_items,) ids indexing the rows of ``item_features``
    item_features : (n_items, d) array, e.g. a genre multi-hot matrix

    Returns
    -------
    ndarray (n_users,) in [0, 1] for non-negative features; items with an all-zero
    feature row count as dissimilar to everything.

    Examples
    --------
    >>> feats = np.array([[1, 0], [1, 0], [0, 1]])
    >>> intra_list_diversity([[0, 1, 2]], np.arange(3), feats).round(4).tolist()
    [0.6667]
    """
    rec = _as_recs(recommended)
    k = rec.shape[1]
    if k < 2:
        raise ValueError(f"intra-list diversity needs lists of length >= 2; got {k}")
    feats = np.asarray(item_features, dtype=np.float64)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    unit = np.divide(feats, norms, out=np.zeros_like(feats), where=norms > 0)
    vecs = _lookup(rec, np.asarray(item_ids), unit)  # (n_users, k, d)
    sims = np.einsum("ukd,ujd->ukj", vecs, vecs)
    off_diag = (sims.sum(axis=(1, 2)) - np.einsum("ukk->u", sims)) / (k * (k - 1))
    return 1.0 - off_diag


def novelty(recommended, item_ids, item_counts, n_users: int) -> np.ndarray:
    """Mean self-information ``-log2(p_i)`` of the recommended items, per user.

    ``p_i`` is the share of users who interacted with item ``i`` in training
    (``item_counts / n_users``); unseen items get ``p = 1 / n_users`` (maximally novel).

    Examples
    --------
    >>> novelty([[0, 1]], np.array([0, 1]), np.array([50, 25]), n_users=100).tolist()
    [1.5]
    """
    rec = _as_recs(recommended)
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)):
        raise TypeError(f"n_users must be an int; got {type(n_users).__name__}")
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1; got {n_users}")
    raw = np.asarray(item_counts, dtype=np.float64)
    if not np.isfinite(raw).all() or (raw < 0).any():
        raise ValueError("item_counts must be finite counts >= 0")
    counts = np.maximum(raw, 1.0)
    p = np.minimum(counts / n_users, 1.0)
    return (-np.log2(_lookup(rec, np.asarray(item_ids), p))).mean(axis=1)


def popularity_bias(recommended, item_ids, item_popularity) -> np.ndarray:
    """Mean popularity (e.g. training interaction count) of the recommended items, per user.

    Examples
    --------
    >>> popularity_bias([[0, 1]], np.array([0, 1]), np.array([10, 2])).tolist()
    [6.0]
    """
    rec = _as_recs(recommended)
    pop = np.asarray(item_popularity, dtype=np.float64)
    return _lookup(rec, np.asarray(item_ids), pop).mean(axis=1)
