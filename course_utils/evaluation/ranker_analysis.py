"""Validation analysis of the two-stage ranker: cross-validated NDCG, ablation, importance.

Every configuration choice of :class:`~course_utils.models.two_stage.TwoStage` (N, which
features, ranker settings) is made here, on the validation window carved from train, never
on test. The validation users are split at random into folds; each fold is judged by a ranker
fitted on the other folds' candidates, so a choice is never judged on the rows it was
fitted on:

- :func:`validation_ndcg`: cross-validated NDCG@k of the ranker and of each retriever
  alone (the benchmark's metric, with all of a user's relevant validation items in the
  denominator, so the candidate recall caps it);
- :func:`ablation`: that comparison for several N and with or without the retriever
  features, reusing one set of retrievers fitted on ``val.train``;
- :func:`permutation_importance_table`: how much held-out NDCG drops when one feature
  column is shuffled (:func:`sklearn.inspection.permutation_importance`, seeded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.splits import validation_split
from course_utils.evaluation import metrics as M
from course_utils.models.candidates import candidate_recall, candidate_sources
from course_utils.models.two_stage import (
    RankerData,
    fit_ranker,
    fit_retrievers,
    predict_ranker,
    ranker_training_data,
    retriever_feature_names,
)

__all__ = [
    "user_folds",
    "ranked_hits",
    "validation_ndcg",
    "ablation",
    "permutation_importance_table",
]


def user_folds(users, folds: int = 3, random_state: int = 0) -> np.ndarray:
    """A seeded fold number in ``0 .. folds-1`` for each of ``users`` (balanced sizes).

    Examples
    --------
    >>> np.bincount(user_folds(np.arange(10), folds=3)).tolist()
    [4, 3, 3]
    """
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an int >= 2; got {folds!r}")
    n = len(np.asarray(users))
    if n < folds:
        raise ValueError(f"need at least {folds} users for {folds} folds; got {n}")
    return np.random.default_rng(random_state).permutation(n) % folds


def ranked_hits(user_ids, item_ids, labels, scores, users: np.ndarray, k: int = 10) -> np.ndarray:
    """Hit matrix (len(users), k) of each user's candidates sorted by score, best first.

    Ties go to the smaller item id (as in every course model); users with fewer than
    ``k`` candidates are padded with misses.

    Examples
    --------
    >>> ranked_hits([1, 1, 2], [5, 6, 7], [0, 1, 1], [0.2, 0.9, 0.1], np.array([1, 2]), k=2)
    array([[ True, False],
           [ True, False]])
    """
    user_ids = np.asarray(user_ids, dtype=np.int64)
    order = np.lexsort((np.asarray(item_ids), -np.asarray(scores, dtype=np.float64), user_ids))
    u, lab = user_ids[order], np.asarray(labels, dtype=bool)[order]
    starts = np.r_[0, np.flatnonzero(u[1:] != u[:-1]) + 1]
    rank = np.arange(len(u)) - np.repeat(starts, np.diff(np.r_[starts, len(u)]))
    keep = (rank < k) & np.isin(u, users)
    hits = np.zeros((len(users), k), dtype=bool)
    hits[np.searchsorted(users, u[keep]), rank[keep]] = lab[keep]
    return hits


def _ndcg(data: RankerData, rows: np.ndarray, scores, users: np.ndarray, k: int) -> np.ndarray:
    """Per-user NDCG@k of ``scores`` over the candidate ``rows`` of ``users``."""
    c = data.candidates.iloc[rows]
    hits = ranked_hits(c[S.USER_ID], c[S.ITEM_ID], data.labels[rows], scores, users, k)
    n_rel = pd.Series(data.split.n_relevant, index=data.split.eval_users).reindex(users)
    return M.ndcg_at_k(hits, n_rel.to_numpy(), k)


def _feature_columns(data: RankerData, retriever_features: bool) -> list[str]:
    columns = list(data.features.columns)
    if retriever_features:
        return columns
    return [c for c in columns if c not in retriever_feature_names(columns)]


def _fit_without(data: RankerData, hold: np.ndarray, columns, ranker_kwargs: dict):
    """Fit the ranker on the rows of users not in ``hold``; returns (ranker, held-out rows).

    ``ranker_kwargs``: ``params``, ``negative_share``, ``balance_users``, ``random_state``.
    """
    users = data.candidates[S.USER_ID].to_numpy()
    held = np.isin(users, hold)
    kwargs = dict(ranker_kwargs)
    balance = kwargs.pop("balance_users")
    ranker = fit_ranker(
        data.features.loc[~held, columns], data.labels[~held],
        user_ids=users[~held] if balance else None, **kwargs,
    )  # fmt: skip
    if ranker is None:
        raise ValueError("the training users' candidates hold a single label class")
    return ranker, np.flatnonzero(held)


def validation_ndcg(
    data: RankerData,
    *,
    retriever_features: bool = True,
    params: Mapping | None = None,
    negative_share: float = 0.15,
    balance_users: bool = True,
    folds: int = 3,
    k: int = 10,
    random_state: int = 0,
) -> pd.DataFrame:
    """Cross-validated per-user NDCG@k on the validation window: ranker vs each retriever.

    The validation users are split into ``folds`` groups; each group is ranked by a
    ranker fitted on the other groups' candidates, so every user is judged by a ranker
    that never saw their labels.

    Returns
    -------
    DataFrame indexed by ``user_id`` (all validation users) with ``two_stage``, one column
    per source (its candidates in its own order) and ``candidate_recall``.

    Examples
    --------
    >>> data = ranker_training_data(train, items, n_candidates=200)  # doctest: +SKIP
    >>> validation_ndcg(data).mean()  # doctest: +SKIP
    """
    users = data.split.eval_users
    fold = user_folds(users, folds, random_state)
    columns = _feature_columns(data, retriever_features)
    sources = candidate_sources(data.candidates)
    kwargs = dict(params=params, negative_share=negative_share, balance_users=balance_users,
                  random_state=random_state)  # fmt: skip
    parts = []
    for f in range(folds):
        hold = users[fold == f]
        ranker, rows = _fit_without(data, hold, columns, kwargs)
        part = {
            "two_stage": _ndcg(
                data, rows, predict_ranker(ranker, data.features.iloc[rows][columns]), hold, k
            )
        }
        for s in sources:
            part[s] = _ndcg(data, rows, -data.candidates[f"{s}_rank"].to_numpy()[rows], hold, k)
        parts.append(pd.DataFrame(part, index=pd.Index(hold, name=S.USER_ID)))
    out = pd.concat(parts).sort_index()
    out["candidate_recall"] = candidate_recall(data.candidates, data.split).reindex(out.index)
    return out


def ablation(
    train: pd.DataFrame,
    items: pd.DataFrame,
    retrievers=None,
    *,
    n_values: Sequence[int] = (100, 200),
    retriever_features: Sequence[bool] = (True, False),
    fitted: Mapping | None = None,
    k: int = 10,
    random_state: int = 0,
    **ranker_kwargs,
) -> pd.DataFrame:
    """Cross-validated validation NDCG@k for every (N, with/without retriever features) pair.

    Retrievers are fitted once on ``validation_split(train).train`` (or passed as
    ``fitted``, already fitted there) and reused for every N. ``ranker_kwargs``
    (``params``, ``negative_share``, ``balance_users``, ``folds``) go to
    :func:`validation_ndcg`.

    Returns
    -------
    DataFrame with ``n_candidates``, ``retriever_features``, ``candidate_recall``,
    ``ndcg`` (two-stage, mean over validation users, see :func:`validation_ndcg`) and
    ``best_retriever_ndcg``.

    Examples
    --------
    >>> ablation(split.train, items)  # doctest: +SKIP
    """
    if fitted is None:
        fitted = fit_retrievers(retrievers, validation_split(train).train)
    rows = []
    for n in n_values:
        data = ranker_training_data(train, items, n_candidates=n, fitted=fitted)
        for use in retriever_features:
            res = validation_ndcg(
                data, retriever_features=use, k=k, random_state=random_state, **ranker_kwargs
            )
            sources = list(fitted)
            rows.append(
                {
                    "n_candidates": int(n),
                    "retriever_features": bool(use),
                    "candidate_recall": float(res["candidate_recall"].mean()),
                    "ndcg": float(res["two_stage"].mean()),
                    "best_retriever_ndcg": float(res[sources].mean().max()),
                }
            )
    return pd.DataFrame(rows)


def permutation_importance_table(
    data: RankerData,
    *,
    params: Mapping | None = None,
    negative_share: float = 0.15,
    balance_users: bool = True,
    folds: int = 3,
    k: int = 10,
    n_repeats: int = 3,
    random_state: int = 0,
) -> pd.DataFrame:
    """Drop in held-out NDCG@k when each feature is shuffled, mean and std over repeats.

    The ranker is fitted on the validation users outside the first of ``folds`` user
    groups; the score is the mean NDCG@k of that group's candidates.
    :func:`sklearn.inspection.permutation_importance` shuffles one column at a time and
    keeps the row order, so each row stays with its user.

    Returns
    -------
    DataFrame indexed by feature, sorted by ``importance`` (mean NDCG drop), with
    ``importance_std``.

    Examples
    --------
    >>> permutation_importance_table(data).head()  # doctest: +SKIP
    """
    from sklearn.inspection import permutation_importance

    users = data.split.eval_users
    hold = users[user_folds(users, folds, random_state) == 0]
    columns = list(data.features.columns)
    kwargs = dict(params=params, negative_share=negative_share, balance_users=balance_users,
                  random_state=random_state)  # fmt: skip
    ranker, rows = _fit_without(data, hold, columns, kwargs)

    def scorer(estimator, X, y) -> float:  # X rows stay aligned with ``rows``
        return float(_ndcg(data, rows, predict_ranker(estimator, X), hold, k).mean())

    result = permutation_importance(
        ranker, data.features.iloc[rows][columns], data.labels[rows], scoring=scorer,
        n_repeats=n_repeats, random_state=random_state,
    )  # fmt: skip
    table = pd.DataFrame(
        {"importance": result.importances_mean, "importance_std": result.importances_std},
        index=pd.Index(columns, name="feature"),
    )
    return table.sort_values("importance", ascending=False)
