"""Offline evaluation beyond the mean: sampled metrics, user segments, beyond-accuracy.

Three concerns of step 5, each reusable on any :class:`~course_utils.splits.Split`, plus
:class:`PrecomputedScores`, which scores a model's evaluated users once so that every
evaluation below reuses the same score matrix:

1. **Sampled-negative evaluation** -- the shortcut of many papers: rank each relevant test
   item against ``n_negatives`` random items instead of the whole catalogue
   (:func:`sample_negatives`, :func:`sampled_ranks`, :func:`sampled_negative_evaluation`).
   It is cheap and inflates every score; the notebook shows it can also reorder models
   (Krichene and Rendle, *On Sampled Metrics for Item Recommendation*, KDD 2020).
2. **Segments** -- who a model serves well: users by length of training history (light /
   medium / heavy) and by the mean popularity of what they watched (niche / mainstream)
   (:func:`segment_users`, :func:`metric_by_segment`).
3. **Beyond accuracy** -- what the top-k lists look like as a whole: catalogue coverage,
   genre diversity, novelty, popularity bias and long-tail share
   (:func:`long_tail_share`, :func:`beyond_accuracy_table`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from course_utils import metrics as M
from course_utils import schema as S
from course_utils.features import genre_multi_hot
from course_utils.models.base import top_k
from course_utils.models.vocab import Vocabulary
from course_utils.splits import Split

__all__ = [
    "PrecomputedScores",
    "sample_negatives",
    "sampled_ranks",
    "sampled_negative_evaluation",
    "segment_users",
    "metric_by_segment",
    "item_popularity",
    "long_tail_share",
    "beyond_accuracy_table",
]

ACTIVITY_LEVELS = ("light", "medium", "heavy")
TASTE_LEVELS = ("niche", "mainstream")


def _pair_keys(users: np.ndarray, items: np.ndarray, offset: int) -> np.ndarray:
    """One int64 key per (user, item) pair, so pair membership is a single ``np.isin``."""
    return np.asarray(users, dtype=np.int64) * np.int64(offset) + np.asarray(items, np.int64)


# --------------------------------------------------------------------------- score once
class PrecomputedScores:
    """A fitted model's scores for a fixed set of users, computed once and reused.

    Offline evaluation asks one model about the same users several times (top-k lists for
    the accuracy table and for the beyond-accuracy table, pair scores for sampled metrics),
    and scoring every user against every item is the expensive step. This wrapper calls
    ``model.score_matrix(user_ids)`` once and answers :meth:`recommend` and :meth:`score`
    from that matrix, with the same results the model gives for those users (seen items
    excluded from the lists by the model's ``seen_`` matrix, ties to the smaller item id).

    Parameters
    ----------
    model : fitted Recommender
    user_ids : array-like of int
        The users to score, e.g. ``split.eval_users``. Other users raise ``ValueError``.

    Attributes
    ----------
    users_ : Vocabulary
        The scored users (sorted).
    scores_ : ndarray of shape (n_users, n_items)
        ``model.score_matrix`` of ``users_``, items in the model's vocabulary order.

    Examples
    --------
    >>> scored = PrecomputedScores(model, split.eval_users)  # doctest: +SKIP
    >>> compare({"EASE": scored}, split)  # doctest: +SKIP
    """

    def __init__(self, model, user_ids) -> None:
        users = np.asarray(user_ids)
        if users.ndim != 1 or users.size == 0:
            raise ValueError(f"user_ids must be a non-empty 1-D array; got shape {users.shape}")
        self.model = model
        self.users_ = Vocabulary(users)
        self.scores_ = model.score_matrix(self.users_.ids_)

    def _rows(self, user_ids) -> tuple[np.ndarray, np.ndarray]:
        users = np.atleast_1d(np.asarray(user_ids)).astype(np.int64)
        rows = self.users_.index(users, strict=False)
        if (rows < 0).any():
            missing = users[rows < 0][:5].tolist()
            raise ValueError(f"users {missing} were not precomputed; pass them to user_ids")
        return users, rows

    def recommend(self, user_ids, k: int = 10, *, exclude_seen: bool = True):
        """Top-k item ids and scores per user, as ``model.recommend`` returns them."""
        k = M._check_k(k)
        users, rows = self._rows(user_ids)
        scores = self.scores_[rows]  # a copy: fancy indexing
        if exclude_seen:
            known = self.model.known_users(users)
            seen = self.model.seen_[self.model.users_.index(users[known])].tocoo()
            scores[np.flatnonzero(known)[seen.row], seen.col] = -np.inf
            most_seen = int(np.bincount(seen.row, minlength=1).max())
            if k > scores.shape[1] - most_seen:
                raise ValueError(
                    f"k={k} exceeds the {scores.shape[1] - most_seen} unseen items available "
                    "to some user; lower k or pass exclude_seen=False"
                )
        idx, values = top_k(scores, k)
        return self.model.items_.ids(idx), values

    def score(self, user_ids, item_ids) -> np.ndarray:
        """Scores of (user, item) pairs, as ``model.score`` gives them (NaN for unknown items)."""
        _, rows = self._rows(user_ids)
        items = np.asarray(item_ids).astype(np.int64)
        if rows.shape != items.shape:
            raise ValueError(
                f"user_ids and item_ids must have the same length; got {rows.shape} and {items.shape}"
            )
        cols = self.model.items_.index(items, strict=False)
        out = np.full(len(items), np.nan)
        known = cols >= 0
        out[known] = self.scores_[rows[known], cols[known]]
        return out


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


# --------------------------------------------------------------------------- segments
def item_popularity(train: pd.DataFrame) -> pd.Series:
    """Distinct training users per item (index ``item_id``, sorted).

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [5, 5, 7]})
    >>> item_popularity(df).to_dict()
    {5: 2, 7: 1}
    """
    pairs = train[[S.USER_ID, S.ITEM_ID]].drop_duplicates()
    return pairs.groupby(S.ITEM_ID).size().sort_index().rename("popularity")


def segment_users(split: Split) -> pd.DataFrame:
    """Activity and taste segments of the evaluated users of ``split``.

    * ``activity``: ``n_train`` (distinct training items) cut at its tertiles ``q1 <= q2``
      over the evaluated users: light ``n <= q1``, medium ``q1 < n <= q2``, heavy ``n > q2``.
    * ``taste``: ``mean_popularity``, the mean :func:`item_popularity` of the user's
      training items; mainstream above the median over the evaluated users, niche otherwise.

    Returns
    -------
    DataFrame indexed by ``user_id`` (``split.eval_users``): ``n_train``, ``activity``,
    ``mean_popularity``, ``taste`` (the two segments are ordered categoricals).

    Examples
    --------
    >>> segments = segment_users(benchmark_split())  # doctest: +SKIP
    >>> segments["activity"].value_counts()  # doctest: +SKIP
    """
    users = split.eval_users
    train = split.train[split.train[S.USER_ID].isin(users)]
    pairs = train[[S.USER_ID, S.ITEM_ID]].drop_duplicates()
    pop = item_popularity(split.train)
    pairs = pairs.assign(popularity=pop.reindex(pairs[S.ITEM_ID]).to_numpy())
    stats = pairs.groupby(S.USER_ID).agg(
        n_train=(S.ITEM_ID, "size"), mean_popularity=("popularity", "mean")
    )
    stats = stats.reindex(users)
    q1, q2 = np.quantile(stats["n_train"], [1 / 3, 2 / 3])
    level = (stats["n_train"] > q1).astype(int) + (stats["n_train"] > q2).astype(int)
    stats["activity"] = pd.Categorical.from_codes(level.to_numpy(), ACTIVITY_LEVELS, ordered=True)
    mainstream = stats["mean_popularity"] > stats["mean_popularity"].median()
    stats["taste"] = pd.Categorical.from_codes(
        mainstream.astype(int).to_numpy(), TASTE_LEVELS, ordered=True
    )
    stats.index.name = S.USER_ID
    return stats[["n_train", "activity", "mean_popularity", "taste"]]


def metric_by_segment(
    per_user: Mapping[str, pd.DataFrame],
    segments: pd.DataFrame,
    by: str,
    *,
    metric: str = "ndcg",
    k: int | None = 10,
) -> pd.DataFrame:
    """Mean ``metric`` per segment and model: rows are the levels of ``segments[by]``.

    ``per_user`` maps a model name to a per-user frame (``user_id``, optional ``k``,
    ``metric``), e.g. ``compare(...).attrs["per_user"]``; rows with another ``k`` are
    dropped when the frame has a ``k`` column. A final ``users`` column counts each segment.

    Examples
    --------
    >>> table = metric_by_segment(per_user, segment_users(split), "activity")  # doctest: +SKIP
    """
    if by not in segments:
        raise ValueError(f"segments has no column {by!r}; has {list(segments.columns)}")
    columns = {}
    for name, frame in per_user.items():
        if metric not in frame:
            raise ValueError(f"per-user frame of {name!r} has no column {metric!r}")
        if k is not None and "k" in frame:
            frame = frame[frame["k"] == k]
        values = frame.set_index(S.USER_ID)[metric].reindex(segments.index)
        if values.isna().any():
            raise ValueError(f"per-user frame of {name!r} lacks some segmented users")
        columns[name] = values.groupby(segments[by], observed=False).mean()
    table = pd.DataFrame(columns)
    table["users"] = segments[by].value_counts().reindex(table.index)
    return table


# --------------------------------------------------------------------------- beyond accuracy
def long_tail_share(recommended, item_ids, item_counts, *, head_share: float = 0.2) -> float:
    """Share of recommended slots filled with items outside the popular head.

    The head is the ``ceil(head_share * n)`` items with the most interactions among the
    ``n`` items with at least one (ties broken by the smaller id); every other item,
    including never-interacted ones, is long tail.

    Examples
    --------
    >>> long_tail_share([[1, 2], [1, 3]], np.array([1, 2, 3, 4, 5]), np.array([9, 5, 0, 3, 1]))
    0.5
    """
    if not 0 < head_share < 1:
        raise ValueError(f"head_share must be in (0, 1); got {head_share}")
    ids = np.asarray(item_ids, dtype=np.int64)
    counts = np.asarray(item_counts, dtype=np.float64)
    if ids.shape != counts.shape:
        raise ValueError(f"item_ids and item_counts must align; got {ids.shape} and {counts.shape}")
    n_head = int(np.ceil(head_share * (counts > 0).sum()))
    head = ids[np.lexsort((ids, -counts))[:n_head]]
    rec = M._as_recs(recommended)
    return float(1.0 - np.isin(rec, head).mean())


def beyond_accuracy_table(
    recommendations: Mapping[str, np.ndarray],
    items: pd.DataFrame,
    train: pd.DataFrame,
    *,
    head_share: float = 0.2,
) -> pd.DataFrame:
    """Beyond-accuracy profile of several models' top-k lists, one row per model.

    Columns, each computed over all lists of a model:

    * ``coverage`` -- :func:`~course_utils.metrics.catalog_coverage` over the catalogue
      (``items``, plus any training item missing from it);
    * ``diversity`` -- mean genre :func:`~course_utils.metrics.intra_list_diversity`
      (cosine distance of :func:`~course_utils.features.genre_multi_hot` rows);
    * ``novelty`` -- mean :func:`~course_utils.metrics.novelty` in bits, with ``p_i`` the
      share of training users who interacted with item ``i``;
    * ``popularity_bias`` -- mean training interaction count of the recommended items;
    * ``long_tail_share`` -- :func:`long_tail_share` with the given ``head_share``.

    Examples
    --------
    >>> recs = {"Popularity": pop_model.recommend(split.eval_users, k=10)[0]}  # doctest: +SKIP
    >>> beyond_accuracy_table(recs, movies, split.train)  # doctest: +SKIP
    """
    train_ids = train[S.ITEM_ID].to_numpy(dtype=np.int64)
    extra = items[[S.ITEM_ID]].iloc[:0]
    missing = np.setdiff1d(train_ids, items[S.ITEM_ID].to_numpy(dtype=np.int64))
    if missing.size:  # training items the catalogue lacks: no genres
        extra = pd.DataFrame({S.ITEM_ID: missing, S.GENRES: [[] for _ in missing]})
    catalogue = pd.concat([items[[S.ITEM_ID, S.GENRES]], extra], ignore_index=True)
    genres, _, ids = genre_multi_hot(catalogue)
    counts = train.groupby(S.ITEM_ID).size().reindex(ids, fill_value=0).to_numpy()
    users_per_item = item_popularity(train).reindex(ids, fill_value=0).to_numpy()
    n_users = train[S.USER_ID].nunique()
    rows = {}
    for name, rec in recommendations.items():
        rec = M._as_recs(rec)
        rows[name] = {
            "coverage": M.catalog_coverage(rec, len(ids)),
            "diversity": float(M.intra_list_diversity(rec, ids, genres).mean()),
            "novelty": float(M.novelty(rec, ids, users_per_item, n_users).mean()),
            "popularity_bias": float(M.popularity_bias(rec, ids, counts).mean()),
            "long_tail_share": long_tail_share(rec, ids, counts, head_share=head_share),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table
