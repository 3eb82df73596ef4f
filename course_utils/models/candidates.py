"""Candidate generation, the first stage of a two-stage recommender.

Several cheap retrievers (EASE, ALS, popularity, ...) each propose their top-N unseen
items for a user; the candidate set is the **union** of these lists. Every candidate
keeps, for each source ``s``, the columns

- ``from_<s>``: 1 when ``s`` retrieved the item, else 0;
- ``<s>_rank``: its rank in the list of ``s`` (1 = best), ``N + 1`` when not retrieved;
- ``<s>_score``: the score ``s`` gave it; when not retrieved, the lowest score ``s``
  retrieved for that user (an upper bound of the unknown true score).

These are the retriever features the ranker of the second stage sees.

:func:`candidate_recall` measures the share of a user's relevant test items that made it
into the candidates. The ranker only reorders candidates, so the recall of the union is
the ceiling of whatever the second stage can reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.splits import Split

if TYPE_CHECKING:  # course_utils.models imports this module (TwoStage): no runtime cycle
    from course_utils.models.base import Recommender

__all__ = ["retrieve", "candidate_recall", "candidate_recall_table", "candidate_sources"]

_BATCH_USERS = 2048


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int; got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    return int(n)


def _top_n_long(model: Recommender, users: np.ndarray, n: int, name: str) -> pd.DataFrame:
    """One source's top-n unseen items per user as a long table (user, item, rank, score)."""
    from course_utils.models.base import top_k  # here, not at import: see TYPE_CHECKING

    frames = [  # typed empty frame, so users without candidates still give the columns
        pd.DataFrame(
            {
                S.USER_ID: np.empty(0, np.int64),
                S.ITEM_ID: np.empty(0, np.int64),
                f"{name}_rank": np.empty(0),
                f"{name}_score": np.empty(0),
            }
        )
    ]
    n_eff = min(n, model.n_items_)
    for start in range(0, len(users), _BATCH_USERS):  # batches bound memory, not speed
        batch = users[start : start + _BATCH_USERS]
        idx, scores = top_k(model.score_matrix(batch, exclude_seen=True), n_eff)
        keep = np.isfinite(scores)  # -inf marks seen items when a user has < n unseen
        rank = np.broadcast_to(np.arange(1, n_eff + 1), idx.shape)
        frames.append(
            pd.DataFrame(
                {
                    S.USER_ID: np.repeat(batch, n_eff).reshape(idx.shape)[keep],
                    S.ITEM_ID: model.items_.ids(idx[keep]),
                    f"{name}_rank": rank[keep].astype(np.float64),
                    f"{name}_score": scores[keep],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def retrieve(retrievers: Mapping[str, Recommender], user_ids, n: int = 200) -> pd.DataFrame:
    """Union of every retriever's top-``n`` unseen items per user, with per-source features.

    Parameters
    ----------
    retrievers : mapping of name -> fitted Recommender
        The candidate sources, e.g. ``{"ease": EASE().fit(train), "pop": Popularity().fit(train)}``.
    user_ids : array-like of int
        Users to generate candidates for (cold users get each source's fallback).
    n : int, default 200
        Items taken from each source.

    Returns
    -------
    DataFrame sorted by (user_id, item_id): ``user_id``, ``item_id``, then per source
    ``from_<s>``, ``<s>_rank`` and ``<s>_score`` (see the module docstring).

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [10, 20, 20, 30]})
    >>> c = retrieve({"pop": Popularity().fit(df)}, [1], n=2)
    >>> c[["item_id", "from_pop", "pop_rank", "pop_score"]].to_dict("records")
    [{'item_id': 30, 'from_pop': 1, 'pop_rank': 1.0, 'pop_score': 1.0}]
    """
    if not isinstance(retrievers, Mapping) or not retrievers:
        raise TypeError(f"retrievers must be a non-empty mapping name -> model; got {retrievers!r}")
    n = _check_n(n)
    users = np.unique(np.atleast_1d(np.asarray(user_ids, dtype=np.int64)))
    key = [S.USER_ID, S.ITEM_ID]
    lists = {name: _top_n_long(model, users, n, name) for name, model in retrievers.items()}
    out = reduce(lambda a, b: a.merge(b, on=key, how="outer"), lists.values())
    out = out.sort_values(key, kind="stable").reset_index(drop=True)
    for pos, (name, part) in enumerate(lists.items()):
        retrieved = out[f"{name}_rank"].notna()
        lowest = part.groupby(S.USER_ID)[f"{name}_score"].min()
        out.insert(2 + pos, f"from_{name}", retrieved.astype(np.int8))
        out[f"{name}_rank"] = out[f"{name}_rank"].fillna(float(n + 1))
        fill = out[S.USER_ID].map(lowest).astype(np.float64)  # NaN if s retrieved nothing
        out[f"{name}_score"] = out[f"{name}_score"].fillna(fill)
    return out


def candidate_sources(candidates: pd.DataFrame) -> list[str]:
    """Names of the sources in a :func:`retrieve` table (from its ``from_<s>`` columns)."""
    return [c.removeprefix("from_") for c in candidates.columns if c.startswith("from_")]


def candidate_recall(candidates: pd.DataFrame, split: Split) -> pd.Series:
    """Share of each evaluated user's relevant test items that are among the candidates.

    Parameters
    ----------
    candidates : DataFrame
        At least ``user_id`` and ``item_id`` (one row per candidate).
    split : Split
        Supplies ``eval_users``, ``relevant`` and ``n_relevant``.

    Returns
    -------
    Series indexed by ``split.eval_users``: ``|candidates(u) & relevant(u)| / |relevant(u)|``
    (0 for users without candidates). Its mean is the mean candidate recall.

    Examples
    --------
    >>> from course_utils.data.splits import Split
    >>> test = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 7], "rating": [5.0, 4.0, 4.5]})
    >>> split = Split(pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1]}), test)
    >>> cands = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 9, 8]})
    >>> candidate_recall(cands, split).tolist()
    [0.5, 0.0]
    """
    if not isinstance(candidates, pd.DataFrame):
        raise TypeError(f"candidates must be a DataFrame; got {type(candidates).__name__}")
    missing = sorted({S.USER_ID, S.ITEM_ID} - set(candidates.columns))
    if missing:
        raise ValueError(f"candidates lacks columns {missing}; has {list(candidates.columns)}")
    key = [S.USER_ID, S.ITEM_ID]
    found = split.relevant.merge(candidates[key].drop_duplicates(), on=key, how="inner")
    hits = found.groupby(S.USER_ID).size().reindex(split.eval_users, fill_value=0)
    recall = hits.to_numpy() / split.n_relevant
    return pd.Series(recall, index=pd.Index(split.eval_users, name=S.USER_ID), name="recall")


def candidate_recall_table(candidates: pd.DataFrame, split: Split) -> pd.DataFrame:
    """Mean candidate recall and list size for each source and for the union.

    Returns
    -------
    DataFrame indexed by source name (then ``"union"``) with ``recall`` (mean over
    evaluated users) and ``candidates_per_user`` (mean over users with candidates).

    Examples
    --------
    >>> from course_utils.data.splits import Split
    >>> test = pd.DataFrame({"user_id": [1, 1], "item_id": [5, 6], "rating": [5.0, 4.0]})
    >>> split = Split(pd.DataFrame({"user_id": [1], "item_id": [1]}), test)
    >>> cands = pd.DataFrame({"user_id": [1, 1], "item_id": [5, 6], "from_a": [1, 0],
    ...     "from_b": [0, 1]})
    >>> candidate_recall_table(cands, split)["recall"].tolist()
    [0.5, 0.5, 1.0]
    """
    rows = {}
    subsets = {s: candidates[candidates[f"from_{s}"] == 1] for s in candidate_sources(candidates)}
    subsets["union"] = candidates
    for name, part in subsets.items():
        rows[name] = {
            "recall": float(candidate_recall(part, split).mean()),
            "candidates_per_user": float(part.groupby(S.USER_ID).size().mean())
            if len(part)
            else 0.0,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "source"
    return table
