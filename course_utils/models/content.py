"""Content-based recommender: TF-IDF item profiles and a user profile from their history.

Each item is described by one TF-IDF vector per token *family* (genres, tags, decade; step
3's :func:`course_utils.features.item_content_matrix`), rows L2-normalised. A user's profile
in family ``f`` is the (rating-centred) sum of the vectors of the items in their history,
and the score averages the per-family cosines over the ``F`` families:

    p_u^f = sum_{i in H(u)} w_ui * f_i^f,
    score(u, j) = (1 / F) * sum_f  f_j^f . p_u^f / ||p_u^f||,

so an item scores high when its content resembles what the user engaged with, and a title
with thirty tags cannot drown out the genres of the rest of the history (with one joint
vector over all tokens, ``per_family=False``, it does). Because
scores need only content, items never seen in training can be ranked (the cold-item
case), which collaborative models cannot do. Reference: Lops, de Gemmis and Semeraro,
*Content-based Recommender Systems: State of the Art and Trends*, Recommender Systems
Handbook, 2011.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.features.content import (
    align_item_rows,
    catalogue_as_of,
    item_content_blocks,
    item_content_matrix,
    unit_blocks,
    user_cutoffs,
)
from course_utils.models.base import Recommender, interaction_matrix

__all__ = ["ContentBased", "point_in_time_items"]


def point_in_time_items(
    items: pd.DataFrame, tag_events: pd.DataFrame | None, interactions: pd.DataFrame
) -> pd.DataFrame:
    """``items`` with tags as of each user's last interaction in ``interactions``.

    ``tag_events=None`` returns ``items`` unchanged (the caller's catalogue is taken as
    already point in time).
    """
    if tag_events is None:
        return items
    return catalogue_as_of(items, tag_events, user_cutoffs(interactions))


class ContentBased(Recommender):
    """Recommend items whose content (genres, tags, decade) matches the user's history.

    Parameters
    ----------
    items : DataFrame
        The catalogue: ``item_id``, ``genres``, ``tags``, ``year``. Every item in it can be
        recommended, including items with no training interactions.
    use : tuple of str
        Token families for the TF-IDF vectors.
    min_df : int
        Minimum number of items a token must appear in.
    rating_weight : bool
        Weight history items by ``rating - user mean + 1`` (liked items count more);
        otherwise every history item counts once.
    per_family : bool
        Normalise each token family separately and average the family cosines (the
        default); ``False`` builds one joint TF-IDF vector over all tokens.
    tag_events : DataFrame, optional
        Timestamped tag applications (``Dataset.tags``). When given, the ``tags`` of
        ``items`` are rebuilt at fit time from the tags each user applied at or before their
        last interaction in the fitted data (point-in-time content,
        :func:`~course_utils.features.catalogue_as_of`); otherwise ``items.tags`` is used as
        given.

    Attributes
    ----------
    item_vectors_ : sparse matrix, shape (n_items, n_features)
        The family blocks side by side, each scaled by ``1 / sqrt(F)``, so that
        ``item_vectors_ @ item_vectors_.T`` is the average per-family cosine.
    user_profiles_ : sparse matrix, shape (n_users, n_features)
        Per-family unit profiles, scaled the same way: ``user_profiles_ @ item_vectors_.T``
        is the score above.
    family_slices_ : dict of str -> slice
        The columns of each family block.

    Notes
    -----
    ``per_family`` and the other defaults were chosen on the MovieLens validation split
    (each user's last 20 % of train). Joint vector vs per family: NDCG@10 0.0061 vs
    0.0246 for users with their whole history; 0.0126 / 0.0086 / 0.0148 vs
    0.0148 / 0.0164 / 0.0317 for 150 users cut to 1 / 3 / 5 ratings; hit rate@10 of
    10 % held-out titles in a "new titles" row 0.072 vs 0.117 (chance 0.029).

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1, 2, 3], "genres": [["Comedy"], ["Comedy"], ["Horror"]],
    ...     "tags": [[], [], []], "year": pd.array([1990, 1991, 2010], dtype="Int64")})
    >>> df = pd.DataFrame({"user_id": [7], "item_id": [1]})
    >>> ContentBased(items=items, min_df=1).fit(df).recommend([7], k=1)[0].tolist()
    [[2]]
    """

    def __init__(
        self,
        *,
        items: pd.DataFrame | None = None,
        use: tuple[str, ...] = ("genres", "tags", "decade"),
        min_df: int = 2,
        rating_weight: bool = True,
        per_family: bool = True,
        tag_events: pd.DataFrame | None = None,
    ) -> None:
        self.items = items
        self.use = use
        self.min_df = min_df
        self.rating_weight = rating_weight
        self.per_family = per_family
        self.tag_events = tag_events

    def _extra_item_ids(self) -> np.ndarray:
        if not isinstance(self.items, pd.DataFrame):
            raise TypeError(
                f"ContentBased needs items=<catalogue DataFrame>; got {type(self.items).__name__}"
            )
        return self.items[S.ITEM_ID].to_numpy(dtype=np.int64)

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        use = (self.use,) if isinstance(self.use, str) else tuple(self.use)
        items = point_in_time_items(self.items, self.tag_events, interactions)
        if self.per_family:
            F, names, ids, self.family_slices_ = item_content_blocks(
                items, use=use, min_df=self.min_df
            )
        else:
            F, names, ids = item_content_matrix(items, use=use, min_df=self.min_df)
            self.family_slices_ = {"+".join(use): slice(0, F.shape[1])}
        if F.shape[1] == 0:
            raise ValueError(
                f"no content token of {list(use)} occurs in >= min_df={self.min_df} items; "
                "lower min_df or use other fields"
            )
        self.item_vectors_ = align_item_rows(F, ids, self.items_.ids_)
        self.feature_names_ = names
        W = X
        if self.rating_weight and S.RATING in interactions and interactions[S.RATING].notna().any():
            rating = interactions[S.RATING].fillna(interactions[S.RATING].mean())
            centred = rating - rating.groupby(interactions[S.USER_ID]).transform("mean") + 1.0
            W = interaction_matrix(interactions, self.users_, self.items_, centred.clip(lower=0.1))
        # (n_users, d): a unit profile per family, each block scaled by 1/sqrt(F)
        self.user_profiles_ = unit_blocks(W @ self.item_vectors_, self.family_slices_)

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_profiles_[user_index] @ self.item_vectors_.T).todense())

    def profile_scores(self, history_item_ids, weights=None) -> np.ndarray:
        """Scores over all items for an ad-hoc history (a new user's first clicks).

        ``weights`` (one per history item, e.g. ``rating - mean + 1`` clipped at 0.1 as in
        ``fit``) weight the profile sum; by default every item counts once.
        """
        self._check_fitted()
        idx = self.items_.index(np.asarray(history_item_ids, dtype=np.int64))
        w = np.ones(len(idx)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != idx.shape:
            raise ValueError(
                f"weights must have one value per history item ({len(idx)}); got shape {w.shape}"
            )
        p = np.asarray(self.item_vectors_[idx].T @ w).ravel()
        return self.item_vectors_ @ unit_blocks(p, self.family_slices_)

    def similar_items(self, item_ids, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The k most content-similar items to each given item (excluding itself), by cosine."""
        from course_utils.models.base import top_k

        self._check_fitted()
        idx = self.items_.index(np.atleast_1d(np.asarray(item_ids, dtype=np.int64)))
        sims = np.asarray((self.item_vectors_[idx] @ self.item_vectors_.T).todense())
        sims[np.arange(len(idx)), idx] = -np.inf
        cols, vals = top_k(sims, k)
        return self.items_.ids(cols), vals
