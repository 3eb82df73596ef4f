"""Benchmark: point-in-time feature tables for MovieLens are cheap to rebuild.

Target (step 3): building all user and item features of MovieLens ml-latest-small
(610 users, 9,742 items, 100,836 ratings) as of a cutoff takes <= 1 s (median of 5
runs), so a notebook or a daily batch job can recompute them at every cutoff it needs.
The TF-IDF content matrix is timed alongside for reference (it is static).

Run: ``python -m course_utils.benchmark.features`` (or ``python -m course_utils.benchmark features``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils import features as F
from course_utils.data.movielens import load_dataset

TARGET_S = 1.0


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def run(quick: bool = False) -> None:
    repeats = 3 if quick else 5
    ds = load_dataset("movielens")
    inter, items = ds.interactions, ds.items
    F.item_content_matrix(items)  # warm-up: imports scikit-learn once
    cutoffs = {
        "after the last rating": inter["timestamp"].max() + pd.Timedelta(seconds=1),
        "at the 80% time quantile": inter["timestamp"].quantile(0.8),
    }
    for label, cutoff in cutoffs.items():
        med, (users, item_table) = _median_time(
            lambda c=cutoff: F.build_features(inter, items, c), repeats
        )
        print(
            f"build_features as of {label} ({cutoff:%Y-%m-%d}): users {users.shape}, "
            f"items {item_table.shape}; median {med:.3f} s over {repeats} runs; "
            f"target <= {TARGET_S} s -> {med / TARGET_S:.2f} of budget"
        )
    med, (matrix, names, _) = _median_time(lambda: F.item_content_matrix(items), repeats)
    print(
        f"item_content_matrix: {matrix.shape[0]:,} items x {len(names)} features, "
        f"{matrix.nnz:,} non-zeros; median {med:.3f} s over {repeats} runs"
    )


if __name__ == "__main__":
    run()
