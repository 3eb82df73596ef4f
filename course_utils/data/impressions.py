"""An impression log for the synthetic platform: what was *shown*, played or not.

Interaction logs record only what users played. Everything else is *unobserved*: the
user may dislike the title, or may never have seen it. An impression log records the
rows that were shown, so "shown but not played" becomes a real negative.

:func:`simulate_impressions` adds such a log to a dataset after the fact. Its story,
built in (so a demonstration of the mechanism, not evidence about users):

* every play happened from a row of ``slate_size`` titles shown at that moment;
* the other titles of the row were chosen by the platform's *logging policy*, a
  "popular now" row: released titles drawn in proportion to their play count (the
  exposure bias of a popularity policy);
* the played title sat at position ``p`` with probability proportional to
  ``1 / p ** position_decay`` (position bias: top slots get more plays).

Vectorised and seeded; 100K plays take well under a second.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.dataset import Dataset

__all__ = ["POSITION", "PLAYED", "simulate_impressions"]

POSITION = "position"  # 1 = first slot of the row
PLAYED = "played"


def simulate_impressions(
    dataset: Dataset,
    *,
    slate_size: int = 10,
    position_decay: float = 1.0,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """One row of ``slate_size`` impressions per play of ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        With ``interactions`` (``user_id``, ``item_id``, ``timestamp``) and ``items``;
        an ``items.release_date`` column, when present, keeps unreleased titles out of
        the rows.
    slate_size : int, default 10
        Titles per row (>= 2).
    position_decay : float, default 1.0
        Position bias: the played title is at position ``p`` with probability
        proportional to ``p ** -position_decay`` (0 = no position bias).
    random_state : int or None
        Seed of ``np.random.default_rng``.

    Returns
    -------
    DataFrame
        ``user_id``, ``item_id``, ``timestamp``, ``position`` (1..slate_size),
        ``played`` (bool); ``slate_size`` rows per play, sorted by time and position.
        A title appears at most once per row; the other titles of a row are never ones
        the user played before.

    Examples
    --------
    >>> from course_utils.data import make_synthetic
    >>> ds = make_synthetic(n_users=50, n_items=200, n_interactions=500, random_state=0)
    >>> imp = simulate_impressions(ds, slate_size=5, random_state=0)
    >>> len(imp), int(imp["played"].sum())
    (2500, 500)
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset; got {type(dataset).__name__}")
    if isinstance(slate_size, bool) or not isinstance(slate_size, numbers.Integral):
        raise TypeError(f"slate_size must be an integer; got {type(slate_size).__name__}")
    if slate_size < 2:
        raise ValueError(f"slate_size must be >= 2; got {slate_size}")
    if isinstance(position_decay, bool) or not isinstance(position_decay, numbers.Real):
        raise TypeError(f"position_decay must be a number; got {type(position_decay).__name__}")
    if not np.isfinite(position_decay) or position_decay < 0:
        raise ValueError(f"position_decay must be a finite number >= 0; got {position_decay}")
    plays = dataset.interactions.sort_values(S.TIMESTAMP, kind="stable")
    items = dataset.items
    n_items = len(items)
    if n_items < slate_size:
        raise ValueError(
            f"the catalogue ({n_items} titles) is smaller than slate_size {slate_size}"
        )
    rng = np.random.default_rng(random_state)
    item_ids = items[S.ITEM_ID].to_numpy()
    counts = plays[S.ITEM_ID].value_counts().reindex(item_ids, fill_value=0).to_numpy(float)
    p = (counts + 1.0) / (counts + 1.0).sum()  # "popular now", every title possible
    release = (
        items[S.RELEASE_DATE].to_numpy(dtype="datetime64[ns]")
        if S.RELEASE_DATE in items.columns
        else np.full(n_items, np.datetime64("1900-01-01", "ns"))
    )
    n = len(plays)
    user = plays[S.USER_ID].to_numpy()
    t = plays[S.TIMESTAMP].to_numpy(dtype="datetime64[ns]")
    played_item = plays[S.ITEM_ID].to_numpy()
    n_other = slate_size - 1

    # draw candidates with oversampling, keep the first n_other valid ones per play
    others = np.empty((n, n_other), dtype=item_ids.dtype)
    todo = np.arange(n)
    first_play = plays.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min()
    for _ in range(50):
        if len(todo) == 0:
            break
        width = 3 * n_other
        cand = rng.choice(n_items, size=(len(todo), width), p=p)
        ok = release[cand] <= t[todo, None]
        cand_ids = item_ids[cand]
        ok &= cand_ids != played_item[todo, None]
        # no duplicates within a row: keep the first occurrence
        srt = np.sort(cand_ids, axis=1)
        order = np.argsort(cand_ids, axis=1, kind="stable")
        dup_sorted = np.zeros_like(ok)
        dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
        dup = np.zeros_like(ok)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        ok &= ~dup
        # not a title the user had already played before this moment
        key = pd.MultiIndex.from_arrays([np.repeat(user[todo], width), cand_ids.ravel()])
        before = first_play.reindex(key).to_numpy(dtype="datetime64[ns]").reshape(cand.shape)
        ok &= ~(before < t[todo, None])
        enough = ok.sum(axis=1) >= n_other
        rows = np.flatnonzero(enough)
        pos = np.argsort(~ok[rows], axis=1, kind="stable")[:, :n_other]
        others[todo[rows]] = np.take_along_axis(cand_ids[rows], pos, axis=1)
        todo = todo[~enough]
    if len(todo):
        raise ValueError(
            f"could not fill {len(todo)} rows with {n_other} valid titles; use a smaller slate_size"
        )
    weights = np.arange(1, slate_size + 1, dtype=float) ** -float(position_decay)
    slot = rng.choice(slate_size, size=n, p=weights / weights.sum())  # 0-based played slot
    row = np.empty((n, slate_size), dtype=item_ids.dtype)
    is_played = np.arange(slate_size)[None, :] == slot[:, None]
    row[is_played] = played_item
    row[~is_played] = others.ravel()
    return pd.DataFrame(
        {
            S.USER_ID: np.repeat(user, slate_size),
            S.ITEM_ID: row.ravel(),
            S.TIMESTAMP: pd.to_datetime(np.repeat(t, slate_size), utc=True),
            POSITION: np.tile(np.arange(1, slate_size + 1), n),
            PLAYED: is_played.ravel(),
        }
    )
