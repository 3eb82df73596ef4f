"""Hyperparameter tuning on a validation split: fit every setting of a small grid, compare.

The split passed to :func:`tune` must be a *validation* split carved from training data,
``validation_split(split.train)``, never the benchmark test: choosing hyperparameters on
test makes the test score optimistic. :data:`RETRIEVAL_GRIDS` holds the small grids used
to choose the defaults of the collaborative retrieval models.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import ParameterGrid

from course_utils.evaluation import ACCURACY_METRICS, evaluate
from course_utils.splits import Split

__all__ = ["tune", "RETRIEVAL_GRIDS"]

#: Small grids around the tuned defaults (the other hyperparameters at their defaults).
RETRIEVAL_GRIDS: dict[str, dict[str, list]] = {
    "PureSVD": {"n_factors": [8, 16, 32, 64], "use_ratings": [False, True]},
    "ALS": {"regularization": [20.0, 30.0, 50.0], "alpha": [0.5, 1.0, 2.0]},
    "EASE": {"regularization": [500.0, 1000.0, 2000.0]},
    "ItemKNN": {"k_neighbors": [20, 50, 100], "shrinkage": [50.0, 200.0, 500.0]},
}


def tune(
    model_cls: type,
    grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
    split: Split,
    *,
    k: int = 10,
    metric: str = "ndcg",
    fixed: Mapping | None = None,
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

    Returns
    -------
    table : DataFrame
        One row per setting: its parameters, ``"<metric>@<k>"`` and ``fit_seconds``, in
        grid order.
    best_params : dict
        The setting with the highest metric (the first one on ties).

    Examples
    --------
    >>> from course_utils.models import ItemKNN
    >>> from course_utils.splits import random_split
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
    column = f"{metric}@{k}"
    rows = []
    for params in settings:
        start = time.perf_counter()
        model = model_cls(**fixed, **params).fit(split.train)
        seconds = time.perf_counter() - start
        score = float(evaluate(model, split, ks=k)[metric].iloc[0])
        rows.append({**params, column: score, "fit_seconds": seconds})
    table = pd.DataFrame(rows)
    best = settings[int(np.argmax(table[column].to_numpy()))]
    return table, dict(best)
