"""Step 5, beyond accuracy: what the top-k lists look like as a whole.

Catalogue coverage, genre diversity, novelty, popularity bias and long-tail share
(:func:`long_tail_share`, :func:`beyond_accuracy_table`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.evaluation import metrics as M
from course_utils.evaluation.segments import item_popularity
from course_utils.features.content import genre_multi_hot

__all__ = ["beyond_accuracy_table", "long_tail_share"]


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

    * ``coverage`` -- :func:`~course_utils.evaluation.metrics.catalog_coverage` over the catalogue
      (``items``, plus any training item missing from it);
    * ``diversity`` -- mean genre :func:`~course_utils.evaluation.metrics.intra_list_diversity`
      (cosine distance of :func:`~course_utils.features.genre_multi_hot` rows);
    * ``novelty`` -- mean :func:`~course_utils.evaluation.metrics.novelty` in bits, with ``p_i`` the
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
