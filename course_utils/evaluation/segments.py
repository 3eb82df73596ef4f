"""Step 5, segments: who a model serves well.

Users by length of training history (light / medium / heavy) and by the mean popularity of
what they watched (niche / mainstream): :func:`item_popularity`, :func:`segment_users`,
:func:`metric_by_segment`, and :func:`segment_intervals` (a bootstrap interval per segment, so that
two segments, or two models within one segment, are only compared when the intervals allow).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.splits import Split
from course_utils.evaluation.harness import bootstrap_ci

__all__ = [
    "ACTIVITY_LEVELS",
    "TASTE_LEVELS",
    "item_popularity",
    "metric_by_segment",
    "segment_intervals",
    "segment_users",
]

ACTIVITY_LEVELS = ("light", "medium", "heavy")
TASTE_LEVELS = ("niche", "mainstream")


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


def segment_intervals(
    per_user: Mapping[str, pd.DataFrame],
    segments: pd.DataFrame,
    by: str,
    *,
    metric: str = "ndcg",
    k: int | None = 10,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Mean ``metric`` per (segment, model) with a 95 % percentile bootstrap interval over users.

    Returns a long frame with columns ``segment``, ``model``, ``users``, ``mean``, ``ci_low``
    and ``ci_high``; each interval resamples the segment's users (about 200 per segment in
    notebook 05, so the intervals are wide).

    Examples
    --------
    >>> table = segment_intervals(per_user, segment_users(split), "activity")  # doctest: +SKIP
    """
    means = metric_by_segment(per_user, segments, by, metric=metric, k=k)
    rows = []
    for name, frame in per_user.items():
        if k is not None and "k" in frame:
            frame = frame[frame["k"] == k]
        values = frame.set_index(S.USER_ID)[metric].reindex(segments.index)
        for level in means.index:
            v = values[segments[by] == level].to_numpy()
            if v.size < 2:
                lo = hi = float("nan")
            else:
                lo, hi = bootstrap_ci(v, n_boot=n_boot, random_state=random_state)
            rows.append(
                {
                    "segment": level,
                    "model": name,
                    "users": int(v.size),
                    "mean": float(means.loc[level, name]),
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    return pd.DataFrame(rows)
