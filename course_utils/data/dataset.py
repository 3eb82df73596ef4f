"""The `Dataset` container returned by every loader (MovieLens and synthetic)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Tidy tables of one dataset.

    Attributes
    ----------
    name : str
        ``"movielens"`` or ``"synthetic"``.
    interactions : DataFrame
        One row per (user, item) event: ``user_id`` (int64), ``item_id`` (int64),
        ``rating`` (float64, NaN when unrated), ``timestamp`` (datetime64, UTC);
        synthetic data adds ``watch_pct`` (float64, 0-100) and ``completed`` (bool).
    items : DataFrame
        One row per item: ``item_id``, ``title``, ``year`` (Int64), ``genres`` (list of str),
        ``tags`` (list of str); synthetic adds ``duration``, ``avg_rating``, ``release_date``.
    users : DataFrame or None
        Synthetic only: ``user_id``, ``age_group``, ``country``, ``preferred_genres``.
    links : DataFrame or None
        MovieLens only: ``item_id``, ``imdb_id``, ``tmdb_id``.
    tags : DataFrame or None
        MovieLens only: one row per tag application, ``user_id``, ``item_id``, ``tag``,
        ``timestamp`` (UTC). ``items.tags`` lists every tag ever applied (it leaks the
        future); point-in-time content uses these events with a cutoff
        (:func:`course_utils.features.catalogue_as_of`).
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    tags: pd.DataFrame | None = None

    def __repr__(self) -> str:
        inter = self.interactions
        return (
            f"Dataset({self.name!r}: {inter['user_id'].nunique():,} users, "
            f"{len(self.items):,} items, {len(inter):,} interactions)"
        )
