"""The README's headline table: every model on the course benchmark, stochastic ones over 5 seeds.

Run ``python -m course_utils.benchmark results`` to regenerate it. It prints a Markdown
table to paste into README.md and saves what it measured as package data
(``course_utils/benchmark/results/model_seeds.csv`` and ``two_stage_seeds.csv``), which
notebooks 04 and 05 show (labelled as saved) instead of refitting every model five times.

- Deterministic models (Random with its fixed seed, Popularity, ContentBased, ItemKNN,
  PureSVD, EASE, Hybrid) are fitted once: NDCG@10 with its 95 % bootstrap interval over the
  591 evaluated users.
- Stochastic models (ALS, TwoTower, TwoStage) are fitted with ``random_state`` 0-4: NDCG@10
  as mean ± standard deviation over the seeds (the seed spread, to set next to the gaps
  between models).
- The bar of issue 17: for every seed, TwoStage NDCG@10 >= 1.10 x EASE and the paired
  bootstrap 95 % interval of its per-user lift over EASE excludes zero.

Content-reading models get the catalogue as of the train cutoffs
(:func:`course_utils.features.catalogue_as_of`) and the tag events.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.data.movielens import load_movielens
from course_utils.data.splits import benchmark_split
from course_utils.evaluation.harness import bootstrap_ci, paired_compare, per_user_metrics
from course_utils.features.content import catalogue_as_of
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

SEEDS = (0, 1, 2, 3, 4)
RATIO_TARGET = 1.10
RESULTS_DIR = Path(__file__).with_name("results")
MODEL_SEEDS_CSV = RESULTS_DIR / "model_seeds.csv"
TWO_STAGE_SEEDS_CSV = RESULTS_DIR / "two_stage_seeds.csv"
TWO_STAGE_NAME = "TwoStage (EASE + ALS + two-tower + popularity -> GBDT rankers)"
STOCHASTIC = ("ALS", "TwoTower", TWO_STAGE_NAME)


def _deterministic(items, tags):
    return {
        "Random": Random(random_state=0),
        "Popularity": Popularity(),
        "ContentBased": ContentBased(items=items, tag_events=tags),
        "ItemKNN": ItemKNN(),
        "PureSVD": PureSVD(),
        "EASE": EASE(),
        "Hybrid (EASE + content)": Hybrid(items=items, tag_events=tags),
    }


def _stochastic(items, tags, seed: int):
    return {
        "ALS": ALS(random_state=seed),
        "TwoTower": TwoTower(items=items, tag_events=tags, random_state=seed),
        TWO_STAGE_NAME: TwoStage(items=items, tag_events=tags, random_state=seed),
    }


def _row(name: str, seed, model, split) -> tuple[dict, np.ndarray]:
    start = time.perf_counter()
    model.fit(split.train)
    fit_s = time.perf_counter() - start
    pu = per_user_metrics(model, split, ks=(10,))
    ndcg = pu["ndcg"].to_numpy()
    lo, hi = bootstrap_ci(ndcg, n_boot=1000)  # as in compare()
    row = {
        "model": name,
        "seed": seed,
        "ndcg": ndcg.mean(),
        "ndcg_lo": lo,
        "ndcg_hi": hi,
        "precision": pu["precision"].mean(),
        "recall": pu["recall"].mean(),
        "fit_s": fit_s,
    }
    return row, ndcg


def measure(
    seeds=SEEDS, *, quick: bool = False, deterministic: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every model (stochastic ones once per seed); per-seed rows and the TwoStage bar.

    ``deterministic=False`` skips the models without a seed (EASE is still fitted, as the
    bar's reference), so that seeds can run in separate processes and be concatenated.
    """
    split = benchmark_split()
    ds = load_movielens()
    items = catalogue_as_of(ds.items, ds.tags, interactions=split.train)
    rows, bar_rows, ease = [], [], None
    for name, model in _deterministic(items, ds.tags).items():
        if not deterministic and name != "EASE":
            continue
        row, ndcg = _row(name, np.nan, model, split)
        if deterministic:
            rows.append(row)
        if name == "EASE":
            ease = ndcg
    for seed in seeds:
        for name, model in _stochastic(items, ds.tags, seed).items():
            if quick and name == TWO_STAGE_NAME:
                continue
            row, ndcg = _row(name, seed, model, split)
            rows.append(row)
            print(
                f"  seed {seed}: {name} NDCG@10 {row['ndcg']:.4f} ({row['fit_s']:.0f} s)",
                flush=True,
            )
            if name == TWO_STAGE_NAME:
                cmp = paired_compare(ease, ndcg, names=("EASE", "TwoStage"))
                bar_rows.append(
                    {
                        "seed": seed,
                        "two_stage": ndcg.mean(),
                        "ease": ease.mean(),
                        "ratio": ndcg.mean() / ease.mean(),
                        "lift": cmp["diff"],
                        "ci_low": cmp["ci_low"],
                        "ci_high": cmp["ci_high"],
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(bar_rows)


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One row per model: mean and sd over seeds (sd NaN for deterministic models)."""
    g = per_seed.groupby("model", sort=False)
    out = g[["ndcg", "precision", "recall", "fit_s"]].mean()
    out["ndcg_sd"] = g["ndcg"].std(ddof=1)
    out["n_seeds"] = g["seed"].count()
    out["ndcg_lo"] = g["ndcg_lo"].first().where(out["n_seeds"] == 0)
    out["ndcg_hi"] = g["ndcg_hi"].first().where(out["n_seeds"] == 0)
    return out.reset_index().sort_values("ndcg", kind="stable").reset_index(drop=True)


def load_seed_results() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The saved per-seed results (``model_seeds.csv``) and the TwoStage bar (``two_stage_seeds.csv``).

    Examples
    --------
    >>> per_seed, bar = load_seed_results()  # doctest: +SKIP
    >>> sorted(bar["seed"])  # doctest: +SKIP
    [0, 1, 2, 3, 4]
    """
    return pd.read_csv(MODEL_SEEDS_CSV), pd.read_csv(TWO_STAGE_SEEDS_CSV)


def markdown_table(summary: pd.DataFrame) -> str:
    """The README table: NDCG@10 as mean ± sd over seeds, or with its 95 % CI when deterministic."""
    pop = float(summary.loc[summary["model"] == "Popularity", "ndcg"].iloc[0])
    lines = [
        "| model | NDCG@10 | P@10 | R@10 | vs popularity | fit time |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary.itertuples():
        if row.n_seeds > 0:
            ndcg = f"{row.ndcg:.4f} ± {row.ndcg_sd:.4f} (mean ± sd, {row.n_seeds} seeds)"
        else:
            ndcg = f"{row.ndcg:.4f} (95% CI {row.ndcg_lo:.4f}-{row.ndcg_hi:.4f})"
        lines.append(
            f"| {row.model} | {ndcg} | {row.precision:.4f} | {row.recall:.4f} | "
            f"{row.ndcg / pop:.2f}x | {row.fit_s:.1f} s |"
        )
    return "\n".join(lines)


def bar_report(bar: pd.DataFrame) -> str:
    """One line per seed, and whether the bar holds at every seed."""
    lines = []
    for r in bar.itertuples():
        ok = r.ratio >= RATIO_TARGET and (r.ci_low > 0 or r.ci_high < 0)
        lines.append(
            f"seed {r.seed}: TwoStage {r.two_stage:.4f} / EASE {r.ease:.4f} = {r.ratio:.3f}x, "
            f"lift {r.lift:+.4f} (95% CI {r.ci_low:+.4f} to {r.ci_high:+.4f}) -> "
            f"{'met' if ok else 'NOT met'}"
        )
    met = all(
        (r.ratio >= RATIO_TARGET) and (r.ci_low > 0 or r.ci_high < 0) for r in bar.itertuples()
    )
    lines.append(
        f"bar (>= {RATIO_TARGET:.2f}x EASE, interval excludes zero, every seed): "
        f"{'met' if met and len(bar) else 'NOT met'}"
    )
    return "\n".join(lines)


def save(per_seed: pd.DataFrame, bar: pd.DataFrame) -> None:
    """Write the per-seed rows and the bar as the package's saved results."""
    RESULTS_DIR.mkdir(exist_ok=True)
    per_seed.round(6).to_csv(MODEL_SEEDS_CSV, index=False)
    bar.sort_values("seed").round(6).to_csv(TWO_STAGE_SEEDS_CSV, index=False)
    print(f"\nsaved {MODEL_SEEDS_CSV.name} and {TWO_STAGE_SEEDS_CSV.name} in {RESULTS_DIR}")


def report(per_seed: pd.DataFrame, bar: pd.DataFrame) -> None:
    """Print the README table and the bar."""
    print(
        "course benchmark: MovieLens ml-latest-small, 591 users, per-user temporal 80/20, "
        "relevant = rating >= 4; content as of the train cutoffs\n"
    )
    print(markdown_table(summarise(per_seed)))
    if len(bar):
        print("\n" + bar_report(bar.sort_values("seed")))


def run(quick: bool = False, seeds=SEEDS, save_results: bool = True) -> None:
    per_seed, bar = measure(seeds, quick=quick)
    report(per_seed, bar)
    if save_results and not quick:
        save(per_seed, bar)


if __name__ == "__main__":
    run()
