"""Benchmark: the course protocol reproduces popularity, and ``evaluate`` is fast.

Targets (spine II): popularity NDCG@10 = 0.0740 and P@10 = 0.0562 (within 0.001) on the
591 evaluated users, and ``evaluate`` of a fitted model in <= 0.5 s (the seed took 3 s
for 300 sampled users).
"""

from __future__ import annotations

import time

import numpy as np

from course_utils.data.splits import benchmark_split
from course_utils.evaluation.harness import evaluate
from course_utils.models import Popularity

TARGET_S = 0.5


def run(quick: bool = False) -> None:
    split = benchmark_split()
    model = Popularity().fit(split.train)
    times = []
    for _ in range(3 if quick else 7):
        start = time.perf_counter()
        table = evaluate(model, split, ks=(5, 10, 20))
        times.append(time.perf_counter() - start)
    row = table[table["k"] == 10].iloc[0]
    print(
        f"benchmark protocol: {len(split.eval_users)} evaluated users, "
        f"{len(split.candidate_items):,} candidate items"
    )
    print(
        f"popularity NDCG@10 = {row['ndcg']:.4f} (expected 0.0740), "
        f"P@10 = {row['precision']:.4f} (expected 0.0562)"
    )
    med = float(np.median(times))
    print(
        f"evaluate(k=5,10,20) median {med:.3f} s over {len(times)} runs; "
        f"target <= {TARGET_S} s -> {med / TARGET_S:.2f} of budget"
    )


if __name__ == "__main__":
    run()
