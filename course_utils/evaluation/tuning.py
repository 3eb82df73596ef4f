"""Hyperparameter tuning on a validation split: fit every setting of a small grid, compare.

The split passed to :func:`tune` must be a *validation* split carved from training data,
``validation_split(split.train)``, never the benchmark test: choosing hyperparameters on
test makes the test score optimistic. :data:`RETRIEVAL_GRIDS` holds the small grids used
to choose the defaults of the collaborative retrieval models.

Picking the highest validation mean picks noise when the top of a grid is flat. When one
setting is *simpler* (a blend weight of 1 = no blend, no switch, fewer parts),
:func:`select_with_evidence` keeps it unless another setting beats it with a paired
bootstrap interval above zero: extra complexity has to earn its place on validation.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import ParameterGrid

from course_utils.data.splits import Split
from course_utils.evaluation.harness import ACCURACY_METRICS, paired_compare, per_user_metrics

__all__ = ["tune", "select_with_evidence", "RETRIEVAL_GRIDS"]

#: Small grids around the tuned defaults (the other hyperparameters at their defaults).
RETRIEVAL_GRIDS: dict[str, dict[str, list]] = {
    "PureSVD": {"n_factors": [8, 16, 32, 64], "use_ratings": [False, True]},
    "ALS": {"regularization": [20.0, 30.0, 50.0], "alpha": [0.5, 1.0, 2.0]},
    "EASE": {"regularization": [500.0, 1000.0, 2000.0]},
    "ItemKNN": {"k_neighbors": [20, 50, 100], "shrinkage": [50.0, 200.0, 500.0]},
}


def select_with_evidence(
    per_user: Mapping[Hashable, Sequence[float]],
    prefer: Hashable,
    *,
    n_boot: int = 2000,
    random_state: int = 0,
) -> tuple[pd.DataFrame, Hashable]:
    """Keep the preferred (simpler) candidate unless another one beats it with evidence.

    Every candidate is compared with ``prefer`` on the same users: the mean of the
    per-user differences and its 95 % paired bootstrap interval
    (:func:`~course_utils.evaluation.paired_compare`). A candidate *beats* the
    preferred one when the whole interval lies above zero; among those, the highest mean
    wins. If none does, ``prefer`` is kept, even when another mean is a little higher: a
    difference the interval cannot tell from zero is noise, and noise does not transfer to
    test.

    Parameters
    ----------
    per_user : dict of label -> 1-D array
        One metric value per validation user for each candidate, aligned by user. Labels
        are any hashable values (names, blend weights, ...).
    prefer : label
        The label of the simpler candidate, kept by default.
    n_boot, random_state
        As for :func:`~course_utils.evaluation.paired_compare`.

    Returns
    -------
    table : DataFrame
        One row per candidate (input order): ``candidate``, ``mean``, ``diff`` (mean
        difference to ``prefer``), ``ci_low``, ``ci_high`` and ``beats_preferred``.
    chosen : label
        The selected label (one of the keys of ``per_user``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = rng.random(400)
    >>> per_user = {"simple": base, "noise": base + rng.normal(0, 0.05, 400),
    ...             "better": base + rng.normal(0.05, 0.05, 400)}
    >>> table, chosen = select_with_evidence(per_user, prefer="simple")
    >>> chosen, table["beats_preferred"].tolist()
    ('better', [False, False, True])
    >>> select_with_evidence({"simple": base, "noise": per_user["noise"]}, "simple")[1]
    'simple'
    """
    if prefer not in per_user:
        raise ValueError(f"prefer must be one of {list(per_user)}; got {prefer!r}")
    ref = np.asarray(per_user[prefer], dtype=np.float64)
    rows = []
    for label, values in per_user.items():
        v = np.asarray(values, dtype=np.float64)
        if v.shape != ref.shape or v.ndim != 1:
            raise ValueError(
                f"per-user values must be 1-D and aligned by user; {label!r} has shape "
                f"{v.shape}, {prefer!r} has {ref.shape}"
            )
        compared = paired_compare(ref, v, n_boot=n_boot, random_state=random_state)
        rows.append(
            {
                "candidate": label,
                "mean": float(v.mean()),
                "diff": compared["diff"],
                "ci_low": compared["ci_low"],
                "ci_high": compared["ci_high"],
                "beats_preferred": compared["ci_low"] > 0,
            }
        )
    table = pd.DataFrame(rows)
    beats = table["beats_preferred"].to_numpy()
    if not beats.any():
        return table, prefer
    best = int(np.argmax(np.where(beats, table["mean"].to_numpy(), -np.inf)))
    return table, list(per_user)[best]


def tune(
    model_cls: type,
    grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
    split: Split,
    *,
    k: int = 10,
    metric: str = "ndcg",
    fixed: Mapping | None = None,
    prefer: Mapping | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Fit ``model_cls(**fixed, **params)`` on ``split.train`` for every grid setting.

    Parameters
    ----------
    model_cls : type
        A :class:`~course_utils.models.Recommender` subclass.
    grid : dict of lists, or list of such dicts
        As for scikit-learn's ``ParameterGrid``: every combination is tried.
    split : Split
        A validation split, ``validation_split(benchmark.train)``.
    k : int
        Cut-off of the metric.
    metric : str
        One of ``ACCURACY_METRICS`` ("ndcg", "precision", ...).
    fixed : dict, optional
        Hyperparameters held fixed across the grid.
    prefer : dict, optional
        A simpler setting of the grid to keep unless another one beats it with a 95 %
        paired bootstrap interval above zero (:func:`select_with_evidence`). Without it,
        the highest mean wins.

    Returns
    -------
    table : DataFrame
        One row per setting: its parameters, ``"<metric>@<k>"`` and ``fit_seconds``, in
        grid order; with ``prefer``, also ``diff``, ``ci_low``, ``ci_high`` and
        ``beats_preferred`` against the preferred setting.
    best_params : dict
        The setting with the highest metric (the first one on ties), or with ``prefer``
        the setting :func:`select_with_evidence` chooses.

    Examples
    --------
    >>> from course_utils.models import ItemKNN
    >>> from course_utils.data.splits import random_split
    >>> df = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3],
    ...                    "item_id": [1, 2, 3, 1, 2, 3, 1, 2, 3, 4]})
    >>> split = random_split(df, 0.7, random_state=0, relevance_threshold=None)
    >>> table, best = tune(ItemKNN, {"k_neighbors": [1, 2]}, split, k=1, fixed={"shrinkage": 0.0})
    >>> list(table.columns), best
    (['k_neighbors', 'ndcg@1', 'fit_seconds'], {'k_neighbors': 1})

    On the course data: ``tune(ALS, RETRIEVAL_GRIDS["ALS"],
    validation_split(benchmark_split().train))``.
    """
    if metric not in ACCURACY_METRICS:
        raise ValueError(f"metric must be one of {ACCURACY_METRICS}; got {metric!r}")
    if not isinstance(split, Split):
        raise TypeError(f"split must be a Split (a validation split); got {type(split).__name__}")
    settings = list(ParameterGrid(grid))
    if not settings:
        raise ValueError("grid has no settings; give at least one value per parameter")
    fixed = dict(fixed or {})
    overlap = set(fixed) & set().union(*settings)
    if overlap:
        raise ValueError(f"parameters {sorted(overlap)} are both fixed and in the grid")
    if prefer is not None and dict(prefer) not in settings:
        raise ValueError(f"prefer must be one of the grid settings {settings}; got {dict(prefer)}")
    column = f"{metric}@{k}"
    rows, per_user = [], {}
    for number, params in enumerate(settings):
        start = time.perf_counter()
        model = model_cls(**fixed, **params).fit(split.train)
        seconds = time.perf_counter() - start
        values = per_user_metrics(model, split, ks=k)[metric].to_numpy()
        per_user[number] = values
        rows.append({**params, column: float(values.mean()), "fit_seconds": seconds})
    table = pd.DataFrame(rows)
    if prefer is None:
        return table, dict(settings[int(np.argmax(table[column].to_numpy()))])
    evidence, chosen = select_with_evidence(per_user, settings.index(dict(prefer)))
    table = pd.concat([table, evidence[["diff", "ci_low", "ci_high", "beats_preferred"]]], axis=1)
    return table, dict(settings[chosen])
