"""Evaluation harness: score every evaluated user of a split, with intervals.

``evaluate(model, split)`` returns one row per (model, k) and one column per metric.
:func:`per_user_metrics` keeps the per-user values that :func:`bootstrap_ci` and
:func:`paired_compare` need for confidence intervals and segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.splits import Split
from course_utils.evaluation import metrics as M

__all__ = [
    "ACCURACY_METRICS",
    "hits_for_split",
    "per_user_metrics",
    "evaluate",
    "evaluate_recommendations",
    "bootstrap_ci",
    "paired_compare",
    "PairedComparison",
    "compare",
    "plot_comparison",
]

ACCURACY_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


def _check_ks(ks) -> tuple[int, ...]:
    ks = (ks,) if isinstance(ks, (int, np.integer)) else tuple(ks)
    if not ks:
        raise ValueError("ks must name at least one cut-off")
    for k in ks:
        M._check_k(k)
    return tuple(int(k) for k in ks)


def _check_evaluable(split: Split) -> None:
    if not isinstance(split, Split):
        raise TypeError(f"split must be a Split; got {type(split).__name__}")
    if len(split.eval_users) == 0:
        raise ValueError(
            f"{split!r} has no evaluated users: no user has both a train interaction and a "
            f"relevant test item (relevance_column={split.relevance_column!r}, "
            f"relevance_threshold={split.relevance_threshold!r}); check the threshold and the split"
        )


def hits_for_split(recommended: np.ndarray, split: Split) -> np.ndarray:
    """Hit matrix for ``recommended`` rows aligned with ``split.eval_users``."""
    rec = np.asarray(recommended)
    if rec.ndim != 2 or rec.shape[0] != len(split.eval_users):
        raise ValueError(
            f"recommended must have one row per evaluated user ({len(split.eval_users)}); "
            f"got shape {rec.shape}"
        )
    _check_evaluable(split)
    rel = split.relevant
    rows = np.searchsorted(split.eval_users, rel[S.USER_ID].to_numpy())
    return M.hits_from_pairs(rec, rows, rel[S.ITEM_ID].to_numpy())


def evaluate_recommendations(recommended, split: Split, ks=(5, 10, 20)) -> pd.DataFrame:
    """Per-user metrics of precomputed top-K lists (rows aligned with ``split.eval_users``).

    Returns a DataFrame with ``user_id``, ``k`` and one column per accuracy metric.
    """
    ks = _check_ks(ks)
    rec = np.asarray(recommended)
    if rec.ndim != 2 or rec.shape[1] < max(ks):
        raise ValueError(f"recommended must be 2-D with >= {max(ks)} columns; got {rec.shape}")
    hits = hits_for_split(rec, split)
    n_rel = split.n_relevant
    frames = []
    for k in ks:
        frames.append(
            pd.DataFrame(
                {
                    S.USER_ID: split.eval_users,
                    "k": k,
                    "precision": M.precision_at_k(hits, k),
                    "recall": M.recall_at_k(hits, n_rel, k),
                    "ndcg": M.ndcg_at_k(hits, n_rel, k),
                    "map": M.map_at_k(hits, n_rel, k),
                    "mrr": M.mrr_at_k(hits, k),
                    "hit_rate": M.hit_rate_at_k(hits, k),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def per_user_metrics(model, split: Split, ks=(5, 10, 20)) -> pd.DataFrame:
    """Recommend for every evaluated user of ``split`` and score each user at each k."""
    ks = _check_ks(ks)
    _check_evaluable(split)
    recommended, _ = model.recommend(split.eval_users, k=max(ks), exclude_seen=True)
    return evaluate_recommendations(recommended, split, ks)


def _summarise(per_user: pd.DataFrame, name: str) -> pd.DataFrame:
    table = per_user.groupby("k", sort=True)[list(ACCURACY_METRICS)].mean().reset_index()
    table.insert(0, "model", name)
    return table


def evaluate(model, split: Split, ks=(5, 10, 20), *, name: str | None = None) -> pd.DataFrame:
    """Mean metrics over all evaluated users: one row per k, one column per metric.

    Examples
    --------
    >>> from course_utils.models import Popularity
    >>> split = benchmark_split()  # doctest: +SKIP
    >>> evaluate(Popularity().fit(split.train), split, ks=10)  # doctest: +SKIP
    """
    name = name or type(model).__name__
    return _summarise(per_user_metrics(model, split, ks), name)


def bootstrap_ci(
    values, *, confidence: float = 0.95, n_boot: int = 2000, random_state: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, resampling users with replacement.

    Examples
    --------
    >>> lo, hi = bootstrap_ci(np.r_[np.zeros(50), np.ones(50)])
    >>> lo < 0.5 < hi
    True
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be 1-D with >= 2 entries; got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(
            f"values must be finite; got {int(np.isnan(v).sum())} NaN and "
            f"{int(np.isinf(v).sum())} infinite entries"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if n_boot < 100:
        raise ValueError(f"n_boot must be >= 100; got {n_boot}")
    rng = np.random.default_rng(random_state)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // v.size)  # bound memory of the (chunk, n) index matrix
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = v[rng.integers(0, v.size, size=(stop - start, v.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


class PairedComparison(dict):
    """Result of :func:`paired_compare` (a dict with a readable ``str``)."""

    def __str__(self) -> str:
        return (
            f"{self['b']} vs {self['a']}: mean diff {self['diff']:+.4f} "
            f"(95% CI {self['ci_low']:+.4f} to {self['ci_high']:+.4f}), "
            f"relative lift {self['rel_lift']:+.1%}, p = {self['p_value']:.4f}, "
            f"{self['n_users']} users"
        )


def paired_compare(
    values_a, values_b, *, names=("A", "B"), n_boot: int = 2000, random_state: int = 0
) -> PairedComparison:
    """Compare two models on the same users: mean difference B - A with a paired bootstrap CI.

    The p-value is the two-sided paired t-test (``scipy.stats.ttest_rel``).
    """
    from scipy import stats

    a = np.asarray(values_a, dtype=np.float64)
    b = np.asarray(values_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"values must be 1-D and aligned by user; got {a.shape} and {b.shape}")
    diff = b - a
    lo, hi = bootstrap_ci(diff, n_boot=n_boot, random_state=random_state)
    p = float(stats.ttest_rel(b, a).pvalue) if np.any(diff != 0) else 1.0
    mean_a = float(a.mean())
    return PairedComparison(
        a=names[0],
        b=names[1],
        diff=float(diff.mean()),
        ci_low=lo,
        ci_high=hi,
        rel_lift=float(diff.mean() / mean_a) if mean_a else float("nan"),
        p_value=p,
        n_users=int(a.size),
    )


def compare(
    models: Mapping[str, object],
    split: Split,
    ks: Sequence[int] = (10,),
    *,
    metrics: Sequence[str] = ("ndcg", "precision", "recall"),
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Comparison table of fitted models: mean and 95 % bootstrap interval per metric.

    Returns one row per (model, k) with columns ``<metric>``, ``<metric>_lo``, ``<metric>_hi``.
    The per-user frames are kept in ``table.attrs["per_user"]`` (dict name -> DataFrame).
    """
    ks = _check_ks(ks)
    rows, per_user = [], {}
    for name, model in models.items():
        pu = per_user_metrics(model, split, ks)
        per_user[name] = pu
        for k in ks:
            sub = pu[pu["k"] == k]
            row = {"model": name, "k": k}
            for m in metrics:
                lo, hi = bootstrap_ci(sub[m].to_numpy(), n_boot=n_boot, random_state=random_state)
                row.update({m: float(sub[m].mean()), f"{m}_lo": lo, f"{m}_hi": hi})
            rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["per_user"] = per_user
    return table


def plot_comparison(table: pd.DataFrame, metric: str = "ndcg", k: int = 10, ax=None):
    """Horizontal bar chart of one metric at one k, with the bootstrap intervals as error bars."""
    import matplotlib.pyplot as plt

    sub = table[table["k"] == k].sort_values(metric)
    if sub.empty:
        raise ValueError(f"table has no rows for k={k}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.4 * len(sub) + 1.2))
    err = np.vstack([sub[metric] - sub[f"{metric}_lo"], sub[f"{metric}_hi"] - sub[metric]])
    ax.barh(sub["model"], sub[metric], xerr=err, color="tab:blue", alpha=0.8, capsize=3)
    ax.set_xlabel(f"{metric}@{k} (95% bootstrap CI over users)")
    ax.grid(axis="x", alpha=0.3)
    return ax
