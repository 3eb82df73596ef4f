"""Step 7, monitoring: how a frozen model decays, and how often to retrain.

:func:`window_metrics` scores a fitted model on the relevant interactions of one later time
window; :func:`decay_curve` trains at a series of cutoffs and scores every model on the
windows that follow it, so the same users in the same window are ranked by models of
different ages (a paired design); :func:`decay_summary` turns that into the relative change
per model age with a user-clustered bootstrap interval, and :func:`retrain_interval` into a
cadence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.evaluation import metrics as M
from course_utils.models.base import Recommender, top_k
from course_utils.monitoring._common import _BATCH_USERS, _check_events, _utc

__all__ = ["RetrainInterval", "decay_curve", "decay_summary", "retrain_interval", "window_metrics"]

# ---------------------------------------------------------------------------------------
# 1. Decay of a frozen model
# ---------------------------------------------------------------------------------------


def window_metrics(
    model: Recommender,
    interactions: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    k: int = 10,
    users: Any = None,
    relevance_threshold: float | None = 4.0,
    relevance_column: str = S.RATING,
) -> pd.DataFrame:
    """Per-user top-k quality of a fitted model on the interactions in ``[start, end)``.

    A user is scored when they are known to the model, have at least one relevant
    interaction in the window and (if ``users`` is given) are in ``users``. The ranking
    excludes every item the user interacted with before ``start``: the model's own
    training history and anything consumed between training and the window, as the
    serving layer's "already watched" filter would. Relevant items the model has never
    seen cannot be recommended; ``unknown_share`` reports how many there were.

    Parameters
    ----------
    model : fitted Recommender
    interactions : DataFrame with ``user_id``, ``item_id``, ``timestamp`` (and the
        relevance column unless ``relevance_threshold`` is None)
    start, end : timezone-aware window bounds
    k : list length
    users : optional user ids to restrict to
    relevance_threshold, relevance_column : an interaction in the window is relevant
        when ``relevance_column >= relevance_threshold``; None makes every one relevant

    Returns
    -------
    DataFrame, one row per scored user (sorted by ``user_id``): ``user_id``,
    ``n_relevant``, ``ndcg``, ``recall``, ``hit_rate`` (all at ``k``) and
    ``unknown_share``.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> t = pd.to_datetime([1, 2, 3, 4, 5, 6], unit="D", utc=True)
    >>> df = pd.DataFrame({"user_id": [1, 2, 2, 3, 1, 3], "item_id": [10, 10, 20, 20, 20, 30],
    ...                    "timestamp": t})
    >>> pop = Popularity().fit(df[df.timestamp < t[4]])
    >>> window_metrics(pop, df, t[4], t[5] + pd.Timedelta("1D"), k=1,
    ...                relevance_threshold=None)[["user_id", "hit_rate", "unknown_share"]]
       user_id  hit_rate  unknown_share
    0        1       1.0            0.0
    1        3       0.0            1.0
    """
    _check_events(interactions)
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError(f"end must be after start; got start={start}, end={end}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}")
    if k > model.n_items_:
        raise ValueError(f"k must be <= the model's {model.n_items_} items; got {k}")
    ts = interactions[S.TIMESTAMP]
    window = interactions[(ts >= start) & (ts < end)]
    if relevance_threshold is not None:
        if relevance_column not in interactions.columns:
            raise ValueError(f"interactions lack the relevance column {relevance_column!r}")
        window = window[window[relevance_column] >= relevance_threshold]
    relevant = window[[S.USER_ID, S.ITEM_ID]].drop_duplicates()
    candidates = np.unique(relevant[S.USER_ID].to_numpy())
    candidates = candidates[model.known_users(candidates)]
    if users is not None:
        candidates = np.intersect1d(candidates, np.asarray(users, dtype=np.int64))
    relevant = relevant[relevant[S.USER_ID].isin(candidates)]
    rel_rows = np.searchsorted(candidates, relevant[S.USER_ID].to_numpy())
    rel_items = relevant[S.ITEM_ID].to_numpy()
    n_rel = np.bincount(rel_rows, minlength=len(candidates))
    unknown = np.bincount(
        rel_rows, weights=~model.items_.contains(rel_items), minlength=len(candidates)
    )

    before = interactions[(ts < start) & interactions[S.USER_ID].isin(candidates)]
    seen_rows = np.searchsorted(candidates, before[S.USER_ID].to_numpy())
    seen_pos = model.items_.index(before[S.ITEM_ID].to_numpy(), strict=False)  # -1: unknown
    seen_rows, seen_pos = seen_rows[seen_pos >= 0], seen_pos[seen_pos >= 0]

    recommended = np.empty((len(candidates), k), dtype=np.int64)
    for lo in range(0, len(candidates), _BATCH_USERS):
        hi = min(lo + _BATCH_USERS, len(candidates))
        scores = model.score_matrix(candidates[lo:hi], exclude_seen=True)
        in_batch = (seen_rows >= lo) & (seen_rows < hi)
        scores[seen_rows[in_batch] - lo, seen_pos[in_batch]] = -np.inf
        idx, _ = top_k(scores, k)
        recommended[lo:hi] = model.items_.ids(idx)
    hits = M.hits_from_pairs(recommended, rel_rows, rel_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        unknown_share = unknown / n_rel
    return pd.DataFrame(
        {
            S.USER_ID: candidates,
            "n_relevant": n_rel,
            "ndcg": M.ndcg_at_k(hits, n_rel, k),
            "recall": M.recall_at_k(hits, n_rel, k),
            "hit_rate": M.hit_rate_at_k(hits, k),
            "unknown_share": unknown_share,
        }
    )


def _edges(edges: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(edges)
    if idx.tz is None:
        raise ValueError("edges must be timezone-aware (e.g. pd.date_range(..., tz='UTC'))")
    if len(idx) < 2 or not (np.diff(idx.asi8) > 0).all():
        raise ValueError(f"edges must hold >= 2 strictly increasing timestamps; got {len(idx)}")
    return idx.tz_convert("UTC")


def decay_curve(
    interactions: pd.DataFrame,
    models: Mapping[str, Callable[[], Recommender]],
    edges: Any,
    *,
    max_age: int | None = None,
    k: int = 10,
    relevance_threshold: float | None = 4.0,
    relevance_column: str = S.RATING,
) -> pd.DataFrame:
    """Quality of models trained at successive cutoffs on the windows that follow them.

    ``edges`` t_0 < t_1 < ... < t_n define the windows W_i = [t_i, t_{i+1}). One model
    per factory is trained at every t_j (on the interactions before t_j) and scored
    with :func:`window_metrics` on W_i for every age ``a = i - j`` in ``0..max_age``,
    on the users it knows (history before t_j) with a relevant interaction in W_i.
    Every user scored at age ``a`` in W_i is also scored at age 0 there (the newer
    model knows them too), so :func:`decay_summary` compares ages **paired**: same
    users, same relevant items, same exclusions; only the model's age changes.

    Parameters
    ----------
    interactions : DataFrame with ``user_id``, ``item_id``, ``timestamp`` (+ relevance)
    models : name -> zero-argument factory returning an unfitted Recommender
    edges : timezone-aware, strictly increasing window boundaries
    max_age : oldest age scored, in windows (default: all, ``len(edges) - 2``)
    k, relevance_threshold, relevance_column : passed to :func:`window_metrics`

    Returns
    -------
    DataFrame, one row per (window, age, model, user): ``window`` (start of W_i),
    ``trained_at`` (t_j), ``age``, ``model`` and the columns of :func:`window_metrics`.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"user_id": rng.integers(1, 30, 600), "item_id": rng.integers(1, 40, 600),
    ...     "timestamp": pd.to_datetime(rng.integers(0, 90 * 86400, 600), unit="s", utc=True)})
    >>> df = df.drop_duplicates(["user_id", "item_id"])
    >>> edges = pd.date_range("1970-01-31", periods=3, freq="30D", tz="UTC")
    >>> curve = decay_curve(df, {"pop": Popularity}, edges, relevance_threshold=None)
    >>> sorted(set(zip(curve["window"].dt.month, curve["age"])))  # windows from Jan 31, Mar 2
    [(1, 0), (3, 0), (3, 1)]
    """
    _check_events(interactions)
    edges = _edges(edges)
    n_windows = len(edges) - 1
    max_age = n_windows - 1 if max_age is None else max_age
    if isinstance(max_age, bool) or not isinstance(max_age, (int, np.integer)) or max_age < 0:
        raise ValueError(f"max_age must be an int >= 0; got {max_age!r}")
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty mapping name -> model factory")
    ts = interactions[S.TIMESTAMP]
    fitted: dict[int, dict[str, Recommender]] = {}
    frames = []
    for i in range(n_windows):
        fitted[i] = {name: make().fit(interactions[ts < edges[i]]) for name, make in models.items()}
        fitted.pop(i - max_age - 1, None)  # no later window needs it
        for age in range(min(i, max_age) + 1):
            for name, model in fitted[i - age].items():
                scored = window_metrics(
                    model, interactions, edges[i], edges[i + 1], k=k,
                    relevance_threshold=relevance_threshold, relevance_column=relevance_column,
                )  # fmt: skip
                scored.insert(0, "model", name)
                scored.insert(0, "age", age)
                scored.insert(0, "trained_at", edges[i - age])
                scored.insert(0, "window", edges[i])
                frames.append(scored)
    return pd.concat(frames, ignore_index=True)


def decay_summary(
    curve: pd.DataFrame,
    metric: str = "ndcg",
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Relative change of ``metric`` with model age, paired against age 0.

    For each model and age ``a`` the (window, user) pairs scored at both ages 0 and
    ``a`` are kept; ``rel_change = sum(m_a - m_0) / sum(m_0)`` over those pairs. The
    interval is a percentile bootstrap that resamples **users** (a user appears in
    several windows, so pairs are not independent).

    Returns
    -------
    DataFrame indexed by (model, age): ``n_pairs``, ``n_users``, ``mean`` (metric at
    that age), ``mean_age0`` (at age 0 on the same pairs), ``rel_change``, ``ci_low``,
    ``ci_high``.

    Examples
    --------
    >>> curve = pd.DataFrame({"window": [0, 0, 0, 0], "user_id": [1, 2, 1, 2],
    ...     "model": "m", "age": [0, 0, 1, 1], "ndcg": [0.5, 0.3, 0.4, 0.3]})
    >>> round(float(decay_summary(curve).loc[("m", 1), "rel_change"]), 6)  # (0.4 - 0.5) / 0.8
    -0.125
    """
    need = {"window", S.USER_ID, "model", "age", metric}
    if not isinstance(curve, pd.DataFrame) or not need <= set(curve.columns):
        raise ValueError(f"curve must be a decay_curve frame with columns {sorted(need)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if n_boot < 100:
        raise ValueError(f"n_boot must be >= 100; got {n_boot}")
    rng = np.random.default_rng(random_state)
    alpha = (1 - confidence) / 2
    keys = ["model", "window", S.USER_ID]
    base = curve[curve["age"] == 0][[*keys, metric]].rename(columns={metric: "base"})
    rows = []
    for (model, age), group in curve.groupby(["model", "age"], sort=True):
        paired = group[[*keys, metric]].merge(base, on=keys)
        if paired.empty:
            continue
        per_user = paired.groupby(S.USER_ID)[[metric, "base"]].sum()
        diff = (per_user[metric] - per_user["base"]).to_numpy()
        b = per_user["base"].to_numpy()
        draws = rng.integers(0, len(per_user), size=(n_boot, len(per_user)))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = diff[draws].sum(axis=1) / b[draws].sum(axis=1)
            rel = diff.sum() / b.sum()
        lo, hi = (
            np.nanquantile(boot, [alpha, 1 - alpha]) if np.isfinite(boot).any() else (np.nan,) * 2
        )
        rows.append({
            "model": model, "age": age, "n_pairs": len(paired), "n_users": len(per_user),
            "mean": paired[metric].mean(), "mean_age0": paired["base"].mean(),
            "rel_change": rel, "ci_low": lo, "ci_high": hi,
        })  # fmt: skip
    return pd.DataFrame(rows).set_index(["model", "age"])


class RetrainInterval(NamedTuple):
    """Fitted decay rate and the age at which it reaches the tolerated drop."""

    slope: float  # relative change per unit of age (negative: decay)
    interval: float  # age at which slope * age = -max_drop (inf when there is no decay)


def retrain_interval(
    age: Any, rel_change: Any, *, max_drop: float, weights: Any = None
) -> RetrainInterval:
    """Retrain cadence from a decay curve: when does the fitted drop exceed ``max_drop``?

    Fits ``rel_change = slope * age`` (a line through the origin, since age 0 is the
    reference) by weighted least squares, ``slope = sum(w a r) / sum(w a^2)``, and
    returns ``interval = max_drop / -slope`` (in the units of ``age``), or ``inf`` when
    the fitted slope is not negative.

    Examples
    --------
    >>> plan = retrain_interval([1, 2, 3], [-0.02, -0.04, -0.06], max_drop=0.05)
    >>> round(plan.slope, 6), round(plan.interval, 6)
    (-0.02, 2.5)
    """
    a = np.asarray(age, dtype=float)
    r = np.asarray(rel_change, dtype=float)
    w = np.ones_like(a) if weights is None else np.asarray(weights, dtype=float)
    if a.ndim != 1 or a.shape != r.shape or a.shape != w.shape:
        raise ValueError(
            f"age, rel_change and weights must be 1-D of one length; got {a.shape}, {r.shape}, {w.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(r).all() and np.isfinite(w).all()):
        raise ValueError("age, rel_change and weights must be finite")
    if (w < 0).any() or not (w * a**2).sum() > 0:
        raise ValueError("weights must be >= 0 with some weight on a non-zero age")
    if not 0 < max_drop < 1:
        raise ValueError(f"max_drop must be in (0, 1); got {max_drop}")
    slope = float((w * a * r).sum() / (w * a**2).sum())
    interval = max_drop / -slope if slope < 0 else float("inf")
    return RetrainInterval(slope, interval)
