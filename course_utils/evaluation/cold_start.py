"""Cold-start experiments: new users with a few interactions, new items with none.

Two questions a streaming platform faces every day, made measurable on the benchmark:

**New users.** :func:`truncate_histories` keeps only the **last** ``n`` training
interactions of chosen users (the ones right before their test window), so the time gap
to the test window stays the same for every ``n`` and only the *amount* of history varies.
``n = 0`` removes the users from training altogether: every model then serves them its
fallback (popularity in this course). :func:`evaluate_users` scores a fixed set of users
against the original test set, whether or not a model knows them.

**New items.** :func:`hold_out_items` removes a random share of items from training
entirely, as if they were released after the last retrain. :func:`hit_rate_on_items`
asks whether a model still puts them in front of the users who went on to like them:
either ranked among the held-out items only (a "new on the platform" row) or among all
items (the home page). A collaborative model has no vector for an item without
interactions, so it can only rank new items at random (``among="items"``) or never
(``among="all"``); a content model and the item tower of a two-tower model embed them from
their metadata. :func:`random_hit_rate` is the chance level of the first view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import gammaln

from course_utils.data import schema as S
from course_utils.data.splits import Split
from course_utils.evaluation import metrics as M
from course_utils.evaluation.harness import evaluate_recommendations
from course_utils.models.base import Recommender

__all__ = [
    "truncate_histories",
    "restrict_users",
    "evaluate_users",
    "hold_out_items",
    "hit_rate_on_items",
    "random_hit_rate",
]


def _check_n(n, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{what} must be an int; got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"{what} must be >= 0; got {n}")
    return int(n)


def _check_split(split) -> None:
    if not isinstance(split, Split):
        raise TypeError(
            f"split must be a course_utils.data.splits.Split; got {type(split).__name__}"
        )


def _like(split: Split, train: pd.DataFrame, test: pd.DataFrame, name: str, **info) -> Split:
    """A Split with the relevance rule of ``split`` and new rows."""
    return Split(
        train,
        test,
        name=name,
        relevance_threshold=split.relevance_threshold,
        relevance_column=split.relevance_column,
        info=info,
    )


def truncate_histories(split: Split, n: int, *, users: ArrayLike | None = None) -> Split:
    """Keep only the last ``n`` training interactions of ``users``; everything else unchanged.

    Parameters
    ----------
    split : Split
        Usually the benchmark split.
    n : int
        History length to keep (>= 0). Interactions are ordered by (timestamp, item_id)
        and the latest ``n`` stay, so the gap to the test window does not depend on ``n``.
        ``n = 0`` drops the users from train: models treat them as unknown users.
    users : array-like of int, optional
        The "new" users; default every evaluated user of ``split``. Other users keep their
        full history, so collaborative models still have data to learn from.

    Returns
    -------
    Split
        Same test rows and relevance rule; ``info`` holds ``n`` and the truncated ``users``.
        Evaluate it with :func:`evaluate_users` (with ``n = 0`` the users have no training
        row, so they drop out of the returned split's own ``eval_users``).

    Examples
    --------
    >>> train = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [10, 11, 12, 10],
    ...     "timestamp": pd.to_datetime([1, 2, 3, 1], unit="D", utc=True)})
    >>> test = pd.DataFrame({"user_id": [1], "item_id": [13], "rating": [5.0],
    ...     "timestamp": pd.to_datetime([4], unit="D", utc=True)})
    >>> short = truncate_histories(Split(train, test), 2, users=[1])
    >>> short.train[["user_id", "item_id"]].values.tolist()  # user 1 keeps its last two
    [[1, 11], [1, 12], [2, 10]]
    """
    _check_split(split)
    n = _check_n(n)
    chosen = split.eval_users if users is None else np.asarray(users, dtype=np.int64)
    train = split.train
    ordered = train[[S.USER_ID, S.TIMESTAMP, S.ITEM_ID]].reset_index(drop=True)
    ordered = ordered.sort_values([S.USER_ID, S.TIMESTAMP, S.ITEM_ID], kind="stable")
    from_end = ordered.groupby(S.USER_ID).cumcount(ascending=False)  # 0 = the latest
    keep = np.empty(len(train), dtype=bool)
    keep[ordered.index.to_numpy()] = (~ordered[S.USER_ID].isin(chosen) | (from_end < n)).to_numpy()
    kept = train[keep]
    return _like(
        split, kept, split.test, f"{split.name}, {n} interactions", n=n, users=np.unique(chosen)
    )


def restrict_users(split: Split, users: ArrayLike) -> Split:
    """The split limited to ``users`` (train and test rows); eval users = users ∩ eval users.

    Examples
    --------
    >>> train = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 10]})
    >>> test = pd.DataFrame({"user_id": [1, 2], "item_id": [11, 11], "rating": [5.0, 5.0]})
    >>> restrict_users(Split(train, test), [2]).eval_users.tolist()
    [2]
    """
    _check_split(split)
    users = np.asarray(users, dtype=np.int64)
    return _like(
        split,
        split.train[split.train[S.USER_ID].isin(users)],
        split.test[split.test[S.USER_ID].isin(users)],
        f"{split.name}, {len(np.unique(users))} users",
    )


def evaluate_users(
    model: Recommender, split: Split, users: ArrayLike, ks: int | tuple[int, ...] = (10,)
) -> pd.DataFrame:
    """Per-user metrics of ``model`` for ``users``, judged on the test set of ``split``.

    The model may know the users with any history (or not at all: it then serves its
    fallback); only users that are evaluated in ``split`` count. Items the *model* saw a
    user interact with are excluded from that user's list, as in the benchmark.

    Returns
    -------
    DataFrame
        :func:`course_utils.evaluation.evaluate_recommendations` rows: ``user_id``, ``k``
        and one column per accuracy metric.
    """
    target = restrict_users(split, users)
    if len(target.eval_users) == 0:
        raise ValueError("none of the given users is evaluated in split")
    recommended, _ = model.recommend(target.eval_users, k=max(np.atleast_1d(ks)))
    return evaluate_recommendations(recommended, target, ks)


def hold_out_items(
    interactions: pd.DataFrame, frac: float = 0.1, *, random_state: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Remove a seeded random ``frac`` of the distinct items from ``interactions``.

    Returns
    -------
    reduced : DataFrame
        ``interactions`` without any row of the held-out items.
    held_out : ndarray of int64
        The held-out item ids, sorted (``round(frac * n_items)``, at least one).

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [10, 11, 11, 12]})
    >>> reduced, held = hold_out_items(df, frac=0.3, random_state=0)
    >>> len(held), bool(reduced["item_id"].isin(held).any())
    (1, False)
    """
    if not 0.0 < frac < 1.0:
        raise ValueError(f"frac must be in (0, 1); got {frac}")
    items = np.unique(interactions[S.ITEM_ID].to_numpy()).astype(np.int64)
    n_out = max(1, int(round(frac * len(items))))
    if n_out >= len(items):
        raise ValueError(f"frac={frac} would hold out all {len(items)} items")
    rng = np.random.default_rng(random_state)
    held = np.sort(rng.choice(items, size=n_out, replace=False))
    return interactions[~interactions[S.ITEM_ID].isin(held)], held


def _target_pairs(split: Split, item_ids) -> tuple[np.ndarray, pd.DataFrame]:
    """Evaluated users with a relevant test item among ``item_ids``, and those pairs."""
    items = np.unique(np.asarray(item_ids, dtype=np.int64))
    pairs = split.relevant[split.relevant[S.ITEM_ID].isin(items)]
    if pairs.empty:
        raise ValueError("no evaluated user has a relevant test item among item_ids")
    return np.unique(pairs[S.USER_ID].to_numpy()), pairs


def hit_rate_on_items(
    model: Recommender,
    split: Split,
    item_ids: ArrayLike,
    k: int = 10,
    *,
    among: str = "items",
    random_state: int = 0,
) -> pd.Series:
    """Did the model show each user one of the given items that they went on to like?

    Parameters
    ----------
    model : fitted Recommender
    split : Split
        Supplies the relevant test pairs; users count when they have a relevant test item
        among ``item_ids`` (and are evaluated in ``split``).
    item_ids : array-like of int
        The items of interest (e.g. the held-out, new items).
    k : int
        List length.
    among : {"items", "all"}
        ``"items"``: rank only ``item_ids`` (a row of new releases); equal scores go to
        the smaller id. Items the model has no score for (not in its vocabulary) come
        last, in a seeded random order.
        ``"all"``: the model's usual top-k over every item it knows (the home page).
    random_state : int
        Seed of the tie-breaking order for ``among="items"``.

    Returns
    -------
    Series of 0/1 floats indexed by ``user_id``: 1 when the user's top-k holds at least one
    relevant item of ``item_ids``. Its mean is the hit rate@k.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> train = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [10, 10, 11]})
    >>> test = pd.DataFrame({"user_id": [1], "item_id": [11], "rating": [5.0]})
    >>> model = Popularity().fit(train)
    >>> hit_rate_on_items(model, Split(train, test), [11], k=1, among="all").tolist()
    [1.0]
    """
    _check_split(split)
    k = M._check_k(k)
    if among not in ("items", "all"):
        raise ValueError(f"among must be 'items' or 'all'; got {among!r}")
    users, pairs = _target_pairs(split, item_ids)
    if among == "all":
        recommended, _ = model.recommend(users, k=k)
    else:
        items = np.unique(np.asarray(item_ids, dtype=np.int64))
        if k > len(items):
            raise ValueError(f"k must be <= the number of items ({len(items)}); got {k}")
        pos, known = model.items_._lookup(items)
        scores = np.full((len(users), len(items)), -np.inf)
        scores[:, known] = model.score_matrix(users)[:, pos[known]]
        scores = np.nan_to_num(scores, nan=-np.inf)
        # ties among scored items go to the smaller id; unscored items follow in random order
        shuffle = np.random.default_rng(random_state).permutation(len(items))
        tiebreak = np.where(known, np.arange(len(items)), len(items) + shuffle)
        order = np.lexsort((np.broadcast_to(tiebreak, scores.shape), -scores), axis=1)
        recommended = items[order[:, :k]]
    rows = np.searchsorted(users, pairs[S.USER_ID].to_numpy())
    hits = M.hits_from_pairs(recommended, rows, pairs[S.ITEM_ID].to_numpy())
    return pd.Series(
        hits.any(axis=1).astype(np.float64),
        index=pd.Index(users, name=S.USER_ID),
        name=f"hit_rate@{k}",
    )


def random_hit_rate(split: Split, item_ids: ArrayLike, k: int = 10) -> pd.Series:
    """Chance level of :func:`hit_rate_on_items` with ``among="items"``, per user.

    With ``m`` items ranked uniformly at random and ``r`` of them relevant to the user,
    ``P(hit) = 1 - C(m - r, k) / C(m, k)`` (no relevant item among the first k).

    Examples
    --------
    >>> train = pd.DataFrame({"user_id": [1], "item_id": [10]})
    >>> test = pd.DataFrame({"user_id": [1], "item_id": [11], "rating": [5.0]})
    >>> round(float(random_hit_rate(Split(train, test), [11, 12, 13, 14], k=1).iloc[0]), 6)
    0.25
    """
    _check_split(split)
    k = M._check_k(k)
    users, pairs = _target_pairs(split, item_ids)
    m = len(np.unique(np.asarray(item_ids, dtype=np.int64)))
    if k > m:
        raise ValueError(f"k must be <= the number of items ({m}); got {k}")
    r = pairs.groupby(S.USER_ID).size().reindex(users).to_numpy(dtype=np.float64)

    def log_comb(a, b):
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    miss = np.where(m - r >= k, np.exp(log_comb(m - r, k) - log_comb(m, k)), 0.0)
    return pd.Series(1.0 - miss, index=pd.Index(users, name=S.USER_ID), name=f"random@{k}")
