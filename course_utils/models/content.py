"""Content-based recommender: TF-IDF item profiles and a user profile from their history.

Each item is a TF-IDF vector over genres, tags and decade (step 3's
:func:`course_utils.features.item_content_matrix`), rows L2-normalised. A user's profile is
the (rating-centred) sum of the vectors of the items in their history,

    p_u = sum_{i in H(u)} w_ui * f_i,     score(u, j) = f_j . p_u / ||p_u||,

so an item scores high when its content resembles what the user engaged with. Because
scores need only content, items never seen in training can be ranked (the cold-item
case), which collaborative models cannot do. Reference: Lops, de Gemmis and Semeraro,
*Content-based Recommender Systems: State of the Art and Trends*, Recommender Systems
Handbook, 2011.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils import schema as S
from course_utils.features import item_content_matrix
from course_utils.models.base import Recommender, interaction_matrix

__all__ = ["ContentBased"]


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
    ) -> None:
        self.items = items
        self.use = use
        self.min_df = min_df
        self.rating_weight = rating_weight

    def _extra_item_ids(self) -> np.ndarray:
        if not isinstance(self.items, pd.DataFrame):
            raise TypeError(
                f"ContentBased needs items=<catalogue DataFrame>; got {type(self.items).__name__}"
            )
        return self.items[S.ITEM_ID].to_numpy(dtype=np.int64)

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        F, names, ids = item_content_matrix(self.items, use=self.use, min_df=self.min_df)
        # align content rows with the item vocabulary (items without metadata get zero rows)
        rows = np.full(len(self.items_), -1)
        known = self.items_.contains(ids)
        rows[self.items_.index(ids[known])] = np.flatnonzero(known)
        select = sp.csr_matrix(
            (np.ones(int((rows >= 0).sum())), (np.flatnonzero(rows >= 0), rows[rows >= 0])),
            shape=(len(self.items_), F.shape[0]),
        )
        self.item_vectors_ = (select @ F).tocsr()
        self.feature_names_ = names
        W = X
        if self.rating_weight and S.RATING in interactions and interactions[S.RATING].notna().any():
            rating = interactions[S.RATING].fillna(interactions[S.RATING].mean())
            centred = rating - rating.groupby(interactions[S.USER_ID]).transform("mean") + 1.0
            W = interaction_matrix(interactions, self.users_, self.items_, centred.clip(lower=0.1))
        profiles = W @ self.item_vectors_  # (n_users, d)
        norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1))).ravel()
        self.user_profiles_ = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ profiles

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_profiles_[user_index] @ self.item_vectors_.T).todense())

    def profile_scores(self, history_item_ids) -> np.ndarray:
        """Scores over all items for an ad-hoc history (a new user's first clicks)."""
        self._check_fitted()
        idx = self.items_.index(np.asarray(history_item_ids, dtype=np.int64))
        p = np.asarray(self.item_vectors_[idx].sum(axis=0)).ravel()
        return self.item_vectors_ @ (p / max(np.linalg.norm(p), 1e-12))

    def similar_items(self, item_ids, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The k most content-similar items to each given item (excluding itself), by cosine."""
        from course_utils.models.base import top_k

        self._check_fitted()
        idx = self.items_.index(np.atleast_1d(np.asarray(item_ids, dtype=np.int64)))
        sims = np.asarray((self.item_vectors_[idx] @ self.item_vectors_.T).todense())
        sims[np.arange(len(idx)), idx] = -np.inf
        cols, vals = top_k(sims, k)
        return self.items_.ids(cols), vals
