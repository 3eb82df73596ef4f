"""Benchmark: the two-stage recommender (step 4b) against the best single retriever.

On the course benchmark (MovieLens, per-user temporal split, 591 evaluated users; one
seed: ``python -m course_utils.benchmark results`` repeats the comparison over seeds 0-4):

- candidate recall@N on the validation window (what ``TwoStage.fit`` measured) and on
  test, per source and for the union (the ceiling of the ranker);
- NDCG@10 of the two-stage model vs the best of its retrievers (each fitted on the full
  train, as inside the model), their ratio (target >= 1.10) and the paired bootstrap
  95 % interval of the per-user lift (target: excludes zero);
- fit time of the whole pipeline (target <= 60 s on 2 cores) and scoring time of all
  591 users (target <= 5 s), with the per-stage split of the scoring time;
- unless ``quick``: the validation ablation (N = 100 vs 200, with and without the
  retriever features) and the permutation importance of the features.

Every configuration choice of ``TwoStage`` was made on the validation window carved from
train (see :mod:`course_utils.evaluation.ranker_analysis`); test is only read here.

Run: ``python -m course_utils.benchmark.two_stage`` (or ``python -m course_utils.benchmark two_stage``).
"""

from __future__ import annotations

import os
import time

import numpy as np

from course_utils.data import schema as S
from course_utils.data.movielens import load_dataset
from course_utils.data.splits import benchmark_split, validation_split
from course_utils.evaluation.harness import paired_compare, per_user_metrics
from course_utils.evaluation.ranker_analysis import ablation, permutation_importance_table
from course_utils.features.content import catalogue_as_of
from course_utils.models.candidates import candidate_recall_table, retrieve
from course_utils.models.two_stage import (
    TwoStage,
    default_retrievers,
    fit_retrievers,
    ranker_training_data,
)

RATIO_TARGET = 1.10
FIT_TARGET_S = 60.0
SCORE_TARGET_S = 5.0


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _ndcg10(model, split) -> np.ndarray:
    pu = per_user_metrics(model, split, ks=(10,))
    return pu["ndcg"].to_numpy()


def run(quick: bool = False) -> None:
    split = benchmark_split()
    ds = load_dataset("movielens")
    items = catalogue_as_of(ds.items, ds.tags, interactions=split.train)  # point in time
    print(f"benchmark: {split}; machine: {_load()}")

    start = time.perf_counter()
    model = TwoStage(items=items, tag_events=ds.tags).fit(split.train)
    fit_s = time.perf_counter() - start
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in model.fit_timings_.items())
    trees = model.ranker_.n_iter_ if model.ranker_ is not None else 0
    print(
        f"ranker: {trees} trees on {model.n_training_rows_:,} validation candidate rows "
        f"({len(model.feature_names_)} features)"
    )
    print(
        f"fit (validation-window training + refit on train): {fit_s:.1f} s ({phases}); "
        f"target <= {FIT_TARGET_S:.0f} s -> {fit_s / FIT_TARGET_S:.2f} of budget ({_load()})"
    )

    test_cands = retrieve(model.retrievers_, split.eval_users, model.n_candidates)
    recall = candidate_recall_table(test_cands, split)
    recall.insert(0, "recall_validation", [model.candidate_recall_[s] for s in recall.index])
    recall = recall.rename(columns={"recall": "recall_test"})
    print(f"candidate recall@{model.n_candidates} (share of relevant items among the candidates):")
    print(recall.round(4).to_string())

    times = []
    for _ in range(3):
        start = time.perf_counter()
        model.recommend(split.eval_users, k=10)
        times.append(time.perf_counter() - start)
    score_s = float(np.median(times))
    stages = ", ".join(f"{k} {v:.0f}" for k, v in model.last_timings_.items())
    print(
        f"scoring {len(split.eval_users)} users (top-10): median {score_s:.2f} s over 3 runs "
        f"({stages}); target <= {SCORE_TARGET_S:.0f} s -> {score_s / SCORE_TARGET_S:.2f} of budget"
    )

    two_stage = _ndcg10(model, split)
    singles = {name: _ndcg10(m, split) for name, m in model.retrievers_.items()}
    for name, values in singles.items():
        print(f"NDCG@10 {name:>9}: {values.mean():.4f}")
    best = max(singles, key=lambda name: singles[name].mean())
    ratio = two_stage.mean() / singles[best].mean()
    cmp = paired_compare(singles[best], two_stage, names=(best, "two-stage"))
    print(f"NDCG@10 two-stage: {two_stage.mean():.4f}")
    print(
        f"two-stage / best retriever ({best}) = {ratio:.3f}; target >= {RATIO_TARGET:.2f} -> "
        f"{'met' if ratio >= RATIO_TARGET else 'NOT met'}"
    )
    print(
        f"{cmp}; interval excludes zero -> {'yes' if cmp['ci_low'] > 0 or cmp['ci_high'] < 0 else 'no'}"
    )
    if quick:
        return

    start = time.perf_counter()
    sources = default_retrievers(0, items=items, tag_events=ds.tags, two_tower=model.two_tower)
    fitted = fit_retrievers(sources, validation_split(split.train).train)
    table = ablation(split.train, items, fitted=fitted, n_values=(100, 200))
    print(
        f"ablation on the validation window (3-fold over users, {time.perf_counter() - start:.0f} s):"
    )
    print(table.round(4).to_string(index=False))

    data = ranker_training_data(split.train, items, n_candidates=200, fitted=fitted)
    importance = permutation_importance_table(data, n_repeats=3)
    print("permutation importance on validation (drop in held-out NDCG@10 when shuffled), top 10:")
    print(importance.head(10).round(4).to_string())
    users = data.candidates[S.USER_ID].nunique()
    print(
        f"(ranker training data: {len(data.labels):,} rows, {int(data.labels.sum()):,} positives, {users} users)"
    )


if __name__ == "__main__":
    run()
