"""The README's headline table: every model on the course benchmark, NDCG@10 with its interval.

Run ``python -m course_utils.benchmark results`` to regenerate it; it prints a Markdown
table (model, NDCG@10 with the 95 % bootstrap interval over the 591 evaluated users,
P@10, R@10, the lift over popularity and the fit time measured in this run) to paste
into README.md.
"""

from __future__ import annotations

import time

from course_utils.data.movielens import load_movielens
from course_utils.data.splits import benchmark_split
from course_utils.evaluation.harness import compare
from course_utils.models import (
    ALS,
    EASE,
    ContentBased,
    Hybrid,
    ItemKNN,
    Popularity,
    PureSVD,
    Random,
    TwoStage,
    TwoTower,
)


def _models(items):
    return {
        "Random": Random(random_state=0),
        "Popularity": Popularity(),
        "ContentBased": ContentBased(items=items),
        "ItemKNN": ItemKNN(),
        "PureSVD": PureSVD(),
        "ALS": ALS(),
        "EASE": EASE(),
        "TwoTower": TwoTower(items=items),
        "Hybrid (EASE + content)": Hybrid(items=items),
        "TwoStage (EASE + ALS + popularity -> GBDT ranker)": TwoStage(items=items),
    }


def run(quick: bool = False) -> None:
    split = benchmark_split()
    items = load_movielens().items
    fitted, fit_s = {}, {}
    for name, model in _models(items).items():
        if quick and name.startswith("TwoStage"):
            continue
        start = time.perf_counter()
        fitted[name] = model.fit(split.train)
        fit_s[name] = time.perf_counter() - start
    table = compare(fitted, split, ks=(10,), metrics=("ndcg", "precision", "recall"))
    pop = float(table.loc[table["model"] == "Popularity", "ndcg"].iloc[0])
    print(
        f"course benchmark: MovieLens ml-latest-small, {len(split.eval_users)} users, "
        "per-user temporal 80/20, relevant = rating >= 4\n"
    )
    print("| model | NDCG@10 (95% CI) | P@10 | R@10 | vs popularity | fit time |")
    print("|---|---|---|---|---|---|")
    for row in table.sort_values("ndcg").itertuples():
        print(
            f"| {row.model} | {row.ndcg:.4f} ({row.ndcg_lo:.4f}-{row.ndcg_hi:.4f}) | "
            f"{row.precision:.4f} | {row.recall:.4f} | {row.ndcg / pop:.2f}x | "
            f"{fit_s[row.model]:.1f} s |"
        )


if __name__ == "__main__":
    run()
