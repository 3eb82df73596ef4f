# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/notebooks/05_evaluation.ipynb)
#
# # Step 5 · Evaluation: offline and online
#
# **Learning objectives.** After this notebook you can
# 1. compare recommenders on one fixed protocol with several ranking metrics, **confidence
#    intervals over users** and a paired test against a baseline;
# 2. look beyond accuracy (coverage, diversity, novelty, popularity bias, long tail) and see
#    the accuracy-coverage trade-off;
# 3. break a result down by **user segment** and say who each model serves;
# 4. recognise three metric pitfalls with numbers: sampled negatives, leaky random splits
#    and small evaluation samples;
# 5. design an **A/B test** (metric, guardrails, randomisation unit, duration), size it with a
#    power analysis, check the design by simulation, avoid peeking and report the result
#    without overclaiming;
# 6. check an experiment's plumbing with a **sample-ratio-mismatch** test, shrink its
#    variance with **CUPED**, analyse **ratio metrics** with the delta method, and say what
#    **off-policy evaluation** (IPS) can and cannot tell before the test.
#
# **The design question.** *Which model should go to an online test, what evidence do we
# have offline, and how do we run the online test so that its answer can be trusted?*
#
# Offline evaluation ranks candidates cheaply on logged data; only an online test measures
# what the business cares about. Part 1 produces the short list, part 2 the decision.

# %%
# Colab setup: on Google Colab, pip-installs course_utils from GitHub (MovieLens downloads later, on first use); elsewhere it does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "course_utils @ git+https://github.com/recsys-course/recsys-design-course",
        ],
        check=True,
    )

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats

from course_utils.evaluation import (
    ACCURACY_METRICS,
    PrecomputedScores,
    abtest,
    beyond_accuracy_table,
    bootstrap_ci,
    compare,
    evaluate,
    ips_estimate,
    metric_by_segment,
    metrics,
    paired_compare,
    plot_comparison,
    sample_negatives,
    sampled_negative_evaluation,
    sampled_ranks,
    policy_value,
    segment_intervals,
    segment_users,
    simulate_logged_bandit,
    softmax_policy,
)
from course_utils.data import benchmark_split, load_movielens, random_split
from course_utils.models import (
    ALS,
    EASE,
    NON_CANDIDATE_SCORE,
    ContentBased,
    ItemKNN,
    Popularity,
    PureSVD,
    Random,
    TwoStage,
    TwoTower,
)

plt.rcParams["figure.dpi"] = 80
sns.set_theme(style="whitegrid", context="notebook")

# %% [markdown]
# # Part 1 · Offline evaluation
#
# ## 1 · The protocol
#
# Every number in part 1 comes from the course benchmark (`benchmark_split`, fixed in step 3):
# each user's MovieLens ratings sorted by time, the first 80 % to train and the rest to test;
# a test item is **relevant** when rated >= 4; rankings exclude the user's training items;
# evaluated users have training history and at least one relevant test item.

# %%
movielens = load_movielens()
movies, ratings = movielens.items, movielens.interactions
split = benchmark_split()
print(split)
print(
    f"{len(split.candidate_items):,} candidate items, "
    f"{split.n_relevant.mean():.1f} relevant test items per evaluated user on average"
)

# %% [markdown]
# ## 2 · Fit every step-4 model once
#
# All models follow one contract (`fit(train)`, `recommend(users, k)`, `score(users, items)`)
# with the hyperparameters step 4 chose on the validation split, never on test. Each is
# fitted once here and reused by every section below (fit times vary by machine, so this
# cell's output is not compared in CI). The hybrid is not repeated here: step 4 tuned its
# blend weight to 1 (no blend beat EASE on validation by more than noise), so for these
# users it ranks exactly as EASE does.

# %%
# NBVAL_IGNORE_OUTPUT
candidates = {
    "Popularity": Popularity(),
    "Random": Random(random_state=0),
    "ContentBased": ContentBased(items=movies),
    "ItemKNN": ItemKNN(),
    "PureSVD": PureSVD(),
    "ALS": ALS(),
    "EASE": EASE(),
    "TwoTower": TwoTower(items=movies),
    "TwoStage": TwoStage(items=movies),
}
models, fit_seconds = {}, {}
for name, model in candidates.items():
    start = time.perf_counter()
    models[name] = model.fit(split.train)
    fit_seconds[name] = time.perf_counter() - start
print("fit seconds:", ", ".join(f"{n} {s:.1f}" for n, s in fit_seconds.items()))

# %% [markdown]
# ## 3 · The full comparison, with intervals
#
# `compare` recommends the top 20 for all evaluated users, scores each user at k = 5, 10 and
# 20 on six metrics and adds a **95 % percentile bootstrap interval** per metric: resample
# the users with replacement 1,000 times and keep the middle 95 % of the resampled means.
# The interval answers "how much would this number move with another sample of users?".
#
# For one user, let $h_i \in \{0, 1\}$ say whether the item at rank $i$ (1-based) is
# relevant and $R$ be the number of the user's relevant test items. Every metric below is
# this per-user value averaged over the users:
#
# | metric | formula (one user) | reads as |
# |---|---|---|
# | precision@k | $\frac{1}{k}\sum_{i=1}^{k} h_i$ | share of the k slots that are relevant |
# | recall@k | $\frac{1}{R}\sum_{i=1}^{k} h_i$ | share of the user's relevant items found |
# | hit rate@k | $\mathbb{1}\left[\sum_{i=1}^{k} h_i > 0\right]$ | at least one relevant item |
# | NDCG@k | $\frac{\mathrm{DCG@k}}{\mathrm{IDCG@k}}$, $\mathrm{DCG@k} = \sum_{i=1}^{k} \frac{h_i}{\log_2(i+1)}$, $\mathrm{IDCG@k} = \sum_{i=1}^{\min(k, R)} \frac{1}{\log_2(i+1)}$ | hits near the top count more; 1 for the best possible list |
# | MAP@k | $\frac{1}{\min(k, R)}\sum_{i=1}^{k} h_i \cdot \mathrm{precision@}i$ | precision averaged over the ranks of the hits |
# | MRR@k | $1 / \text{rank of the first hit}$ (0 without a hit) | how far down the first relevant item is |
#
# A worked example: a top-5 list with hits at ranks 1 and 3, for a user with 3 relevant
# test items. The cell computes each formula by hand and with `course_utils.evaluation.metrics`
# (the functions the harness uses):

# %%
example = np.array([True, False, True, False, False])  # h_1..h_5
k_ex, r_ex = len(example), 3
ranks = np.arange(1, k_ex + 1)
dcg = (example / np.log2(ranks + 1)).sum()
idcg = (1 / np.log2(np.arange(1, min(k_ex, r_ex) + 1) + 1)).sum()
by_hand = {
    "precision": example.sum() / k_ex,
    "recall": example.sum() / r_ex,
    "hit_rate": float(example.any()),
    "ndcg": dcg / idcg,
    "map": (example * example.cumsum() / ranks).sum() / min(k_ex, r_ex),
    "mrr": 1 / ranks[example.argmax()],
}
library = {
    "precision": metrics.precision_at_k(example, k_ex),
    "recall": metrics.recall_at_k(example, r_ex, k_ex),
    "hit_rate": metrics.hit_rate_at_k(example, k_ex),
    "ndcg": metrics.ndcg_at_k(example, r_ex, k_ex),
    "map": metrics.map_at_k(example, r_ex, k_ex),
    "mrr": metrics.mrr_at_k(example, k_ex),
}
print(
    f"DCG@5 = 1/log2(2) + 1/log2(4) = {dcg:.4f}; IDCG@5 = 1/log2(2) + 1/log2(3) + 1/log2(4) = {idcg:.4f}"
)
print("AP@5 = (1 * P@1 + 1 * P@3) / min(5, 3) = (1/1 + 2/3) / 3")
pd.DataFrame({"by hand": by_hand, "course_utils": {m: float(v) for m, v in library.items()}}).round(
    4
)

# %% [markdown]
# Scoring 591 users against every item is the expensive part of an evaluation, and part 1
# asks each model about the same users several times. `PrecomputedScores` calls the
# model's `score_matrix` once and answers `recommend` and `score` from it (with the model's
# own results), so every section below reuses one score matrix per model.

# %%
scored = {name: PrecomputedScores(model, split.eval_users) for name, model in models.items()}
table = compare(scored, split, ks=(5, 10, 20), metrics=ACCURACY_METRICS, n_boot=1000)
per_user = table.attrs["per_user"]  # model -> one row per (user, k)
at_10 = table[table["k"] == 10].set_index("model").sort_values("ndcg", ascending=False)
means = at_10[list(ACCURACY_METRICS)].round(4)
means.insert(
    1, "ndcg 95% CI", [f"{lo:.4f}-{hi:.4f}" for lo, hi in at_10[["ndcg_lo", "ndcg_hi"]].to_numpy()]
)
print("All metrics at k = 10 (mean over users; NDCG with its bootstrap interval):")
means

# %%
print("NDCG at k = 5, 10, 20 (mean [95% CI]):")
table.assign(
    cell=[
        f"{m:.4f} [{lo:.4f}, {hi:.4f}]"
        for m, lo, hi in table[["ndcg", "ndcg_lo", "ndcg_hi"]].to_numpy()
    ]
).pivot(index="model", columns="k", values="cell").loc[at_10.index]

# %%
print("Every metric at every cut-off (means over users):")
table.pivot(index="model", columns="k", values=list(ACCURACY_METRICS)).loc[at_10.index].round(4)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
plot_comparison(table, metric="ndcg", k=10, ax=axes[0])
plot_comparison(table, metric="recall", k=20, ax=axes[1])
axes[0].set_title("NDCG@10")
axes[1].set_title("Recall@20")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Paired comparison against popularity.** Two models are scored on the *same* users, so
# the right question is about the per-user *difference*: `paired_compare` bootstraps the
# mean difference (much narrower than comparing two separate intervals, because the
# user-to-user variation cancels) and adds a paired t-test. Testing eight models against
# one baseline is eight tests, so the last column also applies a Bonferroni correction.

# %%
def ndcg_at(name: str, k: int = 10) -> np.ndarray:
    frame = per_user[name]
    return frame.loc[frame["k"] == k, "ndcg"].to_numpy()


others = [name for name in at_10.index if name != "Popularity"]
paired = pd.DataFrame(
    [
        paired_compare(ndcg_at("Popularity"), ndcg_at(name), names=("Popularity", name))
        for name in others
    ]
).set_index("b")
paired["significant (Bonferroni)"] = paired["p_value"] < 0.05 / len(others)
print(f"NDCG@10 of each model minus popularity, paired over the same {len(ndcg_at('EASE'))} users:")
paired[["diff", "ci_low", "ci_high", "rel_lift", "p_value", "significant (Bonferroni)"]].round(4)

# %%
best = at_10.index[0]
better = paired.index[(paired["ci_low"] > 0) & paired["significant (Bonferroni)"]].tolist()
print(
    f"Best NDCG@10: {best} ({at_10.loc[best, 'ndcg']:.4f}, 95% CI {at_10.loc[best, 'ndcg_lo']:.4f}-{at_10.loc[best, 'ndcg_hi']:.4f})."
)
print(f"Significantly better than popularity (paired, Bonferroni): {', '.join(better)}.")
runner_up = at_10.index[1]
close = paired_compare(ndcg_at(runner_up), ndcg_at(best), names=(runner_up, best))
print(f"Best vs runner-up: {close}")

# %% [markdown]
# ## 4 · Beyond accuracy
#
# A model can be accurate by recommending the same blockbusters to everyone. For each
# model's top-10 lists, `beyond_accuracy_table` reports:
#
# * **coverage**: share of the catalogue recommended to at least one user;
# * **diversity**: mean pairwise cosine distance of the genre vectors within a list;
# * **novelty**: mean self-information $-\log_2 p_i$ (bits), $p_i$ = share of training users
#   who rated item $i$; higher means less-known items;
# * **popularity bias**: mean training count of the recommended items;
# * **long-tail share**: share of recommended slots outside the 20 % most-rated items.

# %%
top10 = {name: model.recommend(split.eval_users, k=10)[0] for name, model in scored.items()}
beyond = beyond_accuracy_table(top10, movies, split.train)
beyond.insert(0, "ndcg@10", at_10["ndcg"].reindex(beyond.index))
beyond = beyond.sort_values("ndcg@10", ascending=False)
beyond.round(4)

# %%
fig, ax = plt.subplots(figsize=(8.5, 4.5))
markers = "osD^vP*Xhp"
for (name, row), marker in zip(beyond.iterrows(), markers):
    ax.scatter(row["coverage"], row["ndcg@10"], s=70, marker=marker, label=name)
ax.set_xscale("log")
ax.set_xlabel("catalogue coverage of the top-10 lists (log scale)")
ax.set_ylabel("NDCG@10")
ax.set_title("Accuracy vs coverage: one point per model")
ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9)
fig.tight_layout()
plt.show()

# %%
head_items = int(np.ceil(0.2 * split.train["item_id"].nunique()))
print(
    f"The head is the {head_items:,} most-rated items (20 % of the {split.train['item_id'].nunique():,} "
    f"rated ones); the rest of the {len(movies):,}-title catalogue is long tail."
)
for name in ("Popularity", best, beyond["long_tail_share"].idxmax()):
    row = beyond.loc[name]
    print(
        f"{name:<12} long-tail share {row['long_tail_share']:.1%}, coverage {row['coverage']:.1%}, "
        f"NDCG@10 {row['ndcg@10']:.4f}"
    )

# %%
pts = beyond[["ndcg@10", "coverage"]]
dominated = {
    name: [
        other
        for other in pts.index
        if other != name
        and (pts.loc[other] >= pts.loc[name]).all()
        and (pts.loc[other] > pts.loc[name]).any()
    ]
    for name in pts.index
}
front = [name for name, by in dominated.items() if not by]
print("Not beaten on both NDCG@10 and coverage by any other model:", ", ".join(front))
for name, by in dominated.items():
    if by:
        print(f"  {name:<12} is beaten on both by {', '.join(by)}")
second = beyond.index[1]
print(
    f"{best} vs {second}: NDCG@10 {beyond.loc[best, 'ndcg@10']:.4f} vs {beyond.loc[second, 'ndcg@10']:.4f}, "
    f"coverage {beyond.loc[best, 'coverage']:.1%} vs {beyond.loc[second, 'coverage']:.1%}"
)

# %% [markdown]
# **The accuracy-coverage trade-off, as these numbers show it.** The trade-off is real only
# between models on the front printed above: along it, more coverage costs NDCG. A model
# beaten on *both* axes is simply worse, and the two most accurate models are compared on
# the last line: there, accuracy does not have to be paid for with coverage. Coverage of a
# top-10 list is still a small share of the catalogue for every accurate model, so "more
# coverage" in production usually means an explicit re-ranking step (step 6), not a
# different model.
#
# ## 5 · Segments: who does each model serve?
#
# A mean over users hides who the model works for. `segment_users` splits the evaluated users
# two ways: by **activity** (number of training ratings, cut at its tertiles: light, medium,
# heavy) and by **taste** (mean popularity of the items they rated: niche below the median,
# mainstream above).

# %%
segments = segment_users(split)
print(segments.groupby("activity", observed=True)["n_train"].agg(["count", "min", "median", "max"]))
print(
    segments.groupby("taste", observed=True)["mean_popularity"]
    .agg(["count", "min", "median", "max"])
    .round(1)
)

# %%
by_segment = pd.concat(
    [
        metric_by_segment(per_user, segments, "activity"),
        metric_by_segment(per_user, segments, "taste"),
    ]
)
model_cols = list(at_10.index)
seg_ci = pd.concat(
    [segment_intervals(per_user, segments, by, n_boot=1000) for by in ("activity", "taste")]
)
seg_ci["cell"] = [
    f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
    for m, lo, hi in seg_ci[["mean", "ci_low", "ci_high"]].to_numpy()
]
print("NDCG@10 per segment: mean [95% bootstrap CI over the segment's users]")
seg_ci.pivot(index="model", columns="segment", values="cell").loc[
    model_cols, list(by_segment.index)
]

# %%
fig, ax = plt.subplots(figsize=(8, 5))
sns.heatmap(
    by_segment[model_cols].T,
    annot=True,
    fmt=".3f",
    cmap="Blues",
    cbar_kws={"label": "NDCG@10"},
    ax=ax,
)
ax.set_xlabel("segment")
ax.set_ylabel("")
ax.set_title("NDCG@10 by user segment")
plt.show()

# %% [markdown]
# With about 200 users per activity segment, the intervals are wide: two cells of the
# table can only be compared when the comparison itself has an interval. Within a
# segment the models are scored on the same users, so the right test is again the paired
# difference; between segments (different users) it is a two-sample comparison.

# %%
seg_rows = []
seg_levels = [(col, level) for col in ("activity", "taste") for level in segments[col].unique()]
for column, level in sorted(seg_levels, key=lambda cl: list(by_segment.index).index(cl[1])):
    mask = (segments[column] == level).to_numpy()
    row = by_segment.loc[level, model_cols].sort_values(ascending=False)
    top, runner = row.index[0], row.index[1]
    diff = paired_compare(ndcg_at(runner)[mask], ndcg_at(top)[mask], names=(runner, top))
    vs_pop = paired_compare(ndcg_at("Popularity")[mask], ndcg_at(best)[mask])
    seg_rows.append(
        {
            "segment": level,
            "users": int(mask.sum()),
            "top model": top,
            "runner-up": runner,
            "top - runner-up [95% CI]": f"{diff['diff']:+.3f} [{diff['ci_low']:+.3f}, {diff['ci_high']:+.3f}]",
            "top distinguishable": bool(diff["ci_low"] > 0),
            f"{best} - Popularity [95% CI]": f"{vs_pop['diff']:+.3f} [{vs_pop['ci_low']:+.3f}, {vs_pop['ci_high']:+.3f}]",
        }
    )
print("Paired comparisons within each segment (same users, NDCG@10):")
pd.DataFrame(seg_rows).set_index("segment")

# %%
heavy = (segments["activity"] == "heavy").to_numpy()
light = (segments["activity"] == "light").to_numpy()
gap_test = abtest.t_test_continuous(ndcg_at(best)[light], ndcg_at(best)[heavy])
print(
    f"{best}, heavy minus light users: {gap_test.absolute_lift:+.3f} NDCG@10 "
    f"(95% CI {gap_test.ci_low:+.3f} to {gap_test.ci_high:+.3f}, Welch p = {gap_test.p_value:.2g})"
)
separated = [
    name
    for name in model_cols
    if seg_ci.query("model == @name and segment == 'heavy'")["ci_low"].iloc[0]
    > seg_ci.query("model == @name and segment == 'light'")["ci_high"].iloc[0]
]
print(
    f"models whose heavy-user interval lies entirely above their light-user interval: "
    f"{len(separated)} of {len(model_cols)}"
)

# %% [markdown]
# Read the paired table as "who serves this segment best, *if anyone can tell*": a top
# model whose paired interval against the runner-up includes 0 is not distinguishable from
# it on this segment's users, so the table supports no per-segment model choice there.
# The heavy-minus-light line is a difference between groups of *different* users, which
# differ in more than activity (taste, the age of their account, how many test items
# they have), so it says where the model scores higher, not why.

# %% [markdown]
# ## 6 · Metric pitfalls, with numbers
#
# ### 6a · Sampled negatives inflate scores and can reorder models
#
# Many papers rank each test item against **100 random items** instead of the whole
# catalogue, because it is cheap. `sampled_negative_evaluation` does exactly that: for every
# relevant test pair it draws 100 items the user never rated, ranks the test item among the
# 101 scores and computes hit rate@10 and NDCG@10 (the same negatives for every model). A random
# ranker already scores about 10/101 hit rate. Krichene and Rendle (KDD 2020) showed that
# sampled metrics are not even consistent with the full ones: they can change the order.

# %%
sampled = {
    name: sampled_negative_evaluation(model, split, n_negatives=100, k=10, random_state=0)
    for name, model in scored.items()
}
pitfall = pd.DataFrame(
    {
        "full NDCG@10": at_10["ndcg"],
        "sampled NDCG@10": {name: frame["ndcg"].mean() for name, frame in sampled.items()},
        "full HR@10": at_10["hit_rate"],
        "sampled HR@10": {name: frame["hit_rate"].mean() for name, frame in sampled.items()},
    }
)
pitfall["inflation (NDCG)"] = pitfall["sampled NDCG@10"] / pitfall["full NDCG@10"]
pitfall["full rank"] = pitfall["full NDCG@10"].rank(ascending=False).astype(int)
pitfall["sampled rank"] = pitfall["sampled NDCG@10"].rank(ascending=False).astype(int)
pitfall.sort_values("full rank").round(4)

# %%
tau = stats.kendalltau(pitfall["full rank"], pitfall["sampled rank"]).statistic
moved = pitfall.index[pitfall["full rank"] != pitfall["sampled rank"]].tolist()
print(
    f"Kendall tau between the full and the sampled ranking of the {len(pitfall)} models: {tau:.3f}"
)
print(f"Models whose rank changes: {', '.join(moved) if moved else 'none'}")
print(
    f"Sampled NDCG@10 is {pitfall['inflation (NDCG)'].min():.1f}x to "
    f"{pitfall['inflation (NDCG)'].max():.1f}x the full one; "
    f"Random's sampled hit rate {pitfall.loc['Random', 'sampled HR@10']:.3f} vs 10/101 = {10 / 101:.3f}."
)

# %% [markdown]
# **Why the order changes.** 100 random items are mostly obscure titles, so the sampled
# metric asks "can the model tell a title this user rated from a random one?", which any
# popularity-aware model answers well; the full ranking asks "is it in the top 10 of all
# candidate items?".
# A two-stage model is hit hardest: it scores only the candidates its retrievers proposed
# and gives every other item the same low score (`NON_CANDIDATE_SCORE`). A relevant item the
# retrievers missed then ties with almost all random negatives (a sampled miss), while a
# single-stage model can still place such an item above most random obscure titles (a
# sampled hit) although it would not put it in its full top 10 either. The cell below
# measures both on the same pairs:

# %%
positives, negatives = sample_negatives(split, n_negatives=100, random_state=0)
pair_users = positives["user_id"].to_numpy()


def sampled_hits(model) -> np.ndarray:
    """Sampled hit@10 of every positive pair (the same negatives as above)."""
    pos = model.score(pair_users, positives["item_id"].to_numpy())
    neg = model.score(np.repeat(pair_users, negatives.shape[1]), negatives.ravel())
    return sampled_ranks(pos, neg.reshape(negatives.shape)) < 10


outside = (
    scored["TwoStage"].score(pair_users, positives["item_id"].to_numpy()) == NON_CANDIDATE_SCORE
)
print(
    f"{outside.mean():.1%} of the {len(positives):,} relevant test pairs are outside TwoStage's candidates"
)
for name in ("TwoStage", "EASE", "ALS"):
    hits = sampled_hits(scored[name])
    print(
        f"{name:<9} sampled hit rate@10 on those pairs {hits[outside].mean():.1%}, "
        f"on the others {hits[~outside].mean():.1%}"
    )

# %% [markdown]
# ### 6b · The same model under a random and a temporal split
#
# Step 3 warned that a random split leaks the future: a user's later ratings train the
# model that is then asked to "predict" earlier ones, and other users' future behaviour
# tells it what will be popular. The same two models, fitted and evaluated under both
# protocols (each on its own split's evaluated users):

# %%
leaky = random_split(ratings, 0.8, random_state=0)
rows = []
for name, make in (("Popularity", Popularity), ("ItemKNN", ItemKNN)):
    for protocol, sp_ in (("per-user temporal (benchmark)", split), ("random", leaky)):
        fitted = scored[name] if sp_ is split else make().fit(sp_.train)
        ndcg = evaluate(fitted, sp_, ks=10)["ndcg"].iloc[0]
        rows.append(
            {"model": name, "split": protocol, "users": len(sp_.eval_users), "ndcg@10": ndcg}
        )
splits_table = pd.DataFrame(rows).pivot(index="model", columns="split", values="ndcg@10")
splits_table["ratio random / temporal"] = (
    splits_table["random"] / splits_table["per-user temporal (benchmark)"]
)
print(leaky)
splits_table.round(4)

# %% [markdown]
# ### 6c · What evaluating on 300 sampled users does to the variance
#
# The original tutorial evaluated on a random sample of 300 users. The question is what a
# *new* sample of users would give, so the simulation below treats the evaluated users as
# the population and draws fresh samples from it **with replacement**, 2,000 of 300 users
# and 2,000 of the full size. (Drawing 300 of *these* users without replacement would hide
# the cost: every such subset shares half of its users with the full set, so its mean
# cannot stray far from the full mean.) The spread of the sample means is the uncertainty
# each evaluation size leaves; the same samples then decide the order of the best model
# and the runner-up, whose paired difference on all users is small but excludes 0.

# %%
n_users, subset = len(split.eval_users), 300
rng = np.random.default_rng(0)
draws = {size: rng.integers(0, n_users, size=(2000, size)) for size in (subset, n_users)}
first = ndcg_at(best)
sample_means = {size: first[idx].mean(axis=1) for size, idx in draws.items()}
spread = {size: np.quantile(m, [0.025, 0.975]) for size, m in sample_means.items()}
for size in (n_users, subset):
    lo_s, hi_s = spread[size]
    print(
        f"{best} NDCG@10 over 2,000 samples of {size} users: middle 95% {lo_s:.4f}-{hi_s:.4f} "
        f"(width {hi_s - lo_s:.4f}, sd {sample_means[size].std():.4f})"
    )
ratio_sd = sample_means[subset].std() / sample_means[n_users].std()
print(
    f"{subset} users: {ratio_sd:.2f}x the spread of {n_users} users "
    f"(theory sqrt({n_users}/{subset}) = {np.sqrt(n_users / subset):.2f})"
)

# the best model and the runner-up: a real but small difference (section 3)
model_a, model_b = best, runner_up
values_a, values_b = ndcg_at(model_a), ndcg_at(model_b)
print(f"on all users: {paired_compare(values_b, values_a, names=(model_b, model_a))}")
wrong = {}
for size, idx in draws.items():
    diff_ab = values_a[idx].mean(axis=1) - values_b[idx].mean(axis=1)
    wrong[size] = diff_ab
    print(
        f"samples of {size:>3} users: {model_b} comes out ahead of {model_a} in {(diff_ab < 0).mean():.1%}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
bins = np.linspace(
    min(m.min() for m in sample_means.values()), max(m.max() for m in sample_means.values()), 50
)
for size, color in ((n_users, "tab:orange"), (subset, "tab:blue")):
    axes[0].hist(
        sample_means[size], bins=bins, color=color, alpha=0.55, label=f"samples of {size} users"
    )
axes[0].axvline(first.mean(), color="black", lw=1)
axes[0].set_xlabel("NDCG@10 of the sample")
axes[0].set_ylabel("samples")
axes[0].set_title(f"{best}: the 300-user estimate is spread wider")
axes[0].legend(fontsize=9)
bins_d = np.linspace(min(d.min() for d in wrong.values()), max(d.max() for d in wrong.values()), 50)
for size, color in ((n_users, "tab:orange"), (subset, "tab:blue")):
    axes[1].hist(
        wrong[size], bins=bins_d, color=color, alpha=0.55, label=f"samples of {size} users"
    )
axes[1].axvline(0, color="black", lw=1)
axes[1].set_xlabel(f"NDCG@10 of {model_a} minus {model_b}")
axes[1].set_title("Left of 0: the sample ranks the two models the wrong way round")
axes[1].legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# # Part 2 · Online evaluation: the A/B test
#
# ## 7 · Design the test
#
# Offline metrics say which model ranks held-out ratings best; the business cares whether
# people watch more and stay subscribed. The A/B test for "new recommender (B) vs current
# one (A)" on the home-screen rows:
#
# | design choice | decision | why |
# |---|---|---|
# | **primary metric** | user click-through rate: share of users who start a recommended title during the test | directly moved by the ranking, per user (matches the randomisation unit), fast to react |
# | secondary | watch minutes per user; completion rate | value, not just clicks (clickbait raises CTR, not minutes) |
# | **guardrails** (non-inferiority margins) | p99 latency of the rows: B's p99 minus A's p99 must stay below **+10 ms** (the SLO is 200 ms); churn (cancellations): below **+0.5 points**; complaints / "not interested" rate: below **+0.3 points**; error rate | the upper end of the 95 % interval of each change must lie below its margin, decided before launch; a percentile guardrail is tested as a percentile |
# | **randomisation unit** | the **user** (hash of user id and experiment salt), not the request or the session | one consistent experience per person across devices; users are independent, so the z-test's variance is right; per-request assignment would mix both arms in one person's behaviour |
# | split | 50 / 50 of eligible users | maximises power for a given traffic |
# | **duration** | the sample size divided by daily traffic, rounded **up to whole weeks** | viewing differs by weekday; novelty effects fade after the first days |
# | analysis | two-sided two-proportion z-test at alpha = 0.05, power 80 %, fixed horizon | decided *before* the test starts |
# | **decision rule** | ship when the lower end of the CTR lift's 95 % interval is above 0 **and** every guardrail passes; otherwise do not ship | written down before launch, applied once at the planned horizon |
#
# **Assumptions (stated, not measured):** baseline CTR 0.10; the smallest lift worth
# shipping is **+10 % relative** (0.10 -> 0.11; section 16 discusses why); for watch time, a
# per-user standard deviation of 30 minutes (mean 45) and a minimum lift of 3 minutes. (The
# seed tutorial assumed another baseline; section 9 uses its own numbers.)

# %% [markdown]
# ## 8 · Power analysis and sample size
#
# For two proportions the classic normal approximation is
#
# $$n = \frac{\left(z_{1-\alpha/2}\sqrt{2\bar p(1-\bar p)} + z_{1-\beta}\sqrt{p_A(1-p_A) + p_B(1-p_B)}\right)^2}{(p_B - p_A)^2}$$
#
# users **per arm**, with $\bar p = (p_A + p_B)/2$; for a continuous metric with standard
# deviation $\sigma$ it is $n = 2\sigma^2 (z_{1-\alpha/2} + z_{1-\beta})^2 / \delta^2$. Both
# formulas are approximations, so the cell after the next checks them by simulation.

# %%
p_a, lift, alpha, target_power = 0.10, 0.10, 0.05, 0.80
n_ctr = abtest.sample_size_two_proportions(p_a, relative_lift=lift, alpha=alpha, power=target_power)
sd_watch, mde_watch = 30.0, 3.0
n_watch = abtest.sample_size_continuous(sd_watch, mde_watch, alpha=alpha, power=target_power)
print(
    f"CTR {p_a:.2f} -> {p_a * (1 + lift):.2f} (+{lift:.0%}): {n_ctr:,} users per arm, {2 * n_ctr:,} in total"
)
print(f"watch time +{mde_watch:.0f} min (sd {sd_watch:.0f}): {n_watch:,} users per arm")
n_half = abtest.sample_size_two_proportions(
    p_a, relative_lift=lift / 2, alpha=alpha, power=target_power
)
print(
    f"halving the lift to +{lift / 2:.0%}: {n_half:,} users per arm ({n_half / n_ctr:.1f}x as many)"
)

# %%
def report_power(label: str, computed: float, simulated: float, n_runs: int) -> None:
    gap = abs(simulated - computed)
    print(
        f"{label}: computed power {computed:.3f}, simulated {simulated:.3f} over {n_runs:,} tests; "
        f"difference {100 * gap:.1f} points (within 2 points: {gap <= 0.02})"
    )


n_sims = 20_000
sim_ctr = abtest.simulate_ab_tests(p_a, p_a * (1 + lift), n_ctr, n_sims, random_state=1).mean()
power_ctr = abtest.power_two_proportions(p_a, p_a * (1 + lift), n_ctr)
report_power("CTR, two-proportion z-test", power_ctr, sim_ctr, n_sims)

# watch minutes are skewed, not normal: gamma with mean 45 and sd 30 (B: mean 48, same sd)
rng = np.random.default_rng(2)
n_sims_watch = 4000
watch_a = rng.gamma((45 / sd_watch) ** 2, sd_watch**2 / 45, size=(n_sims_watch, n_watch))
watch_b = rng.gamma((48 / sd_watch) ** 2, sd_watch**2 / 48, size=(n_sims_watch, n_watch))
welch = stats.ttest_ind(watch_b, watch_a, axis=1, equal_var=False)
sim_watch = float((welch.pvalue < alpha).mean())
power_watch = abtest.power_continuous(sd_watch, mde_watch, n_watch)
report_power("watch time, Welch t-test", power_watch, sim_watch, n_sims_watch)
del watch_a, watch_b

# %% [markdown]
# ## 9 · The original simulator, reworked
#
# The seed tutorial simulated **one** test, printed z = 1.82 and concluded "not
# significant". One run cannot tell a missing effect from a missing sample: the question
# is how often such a test *can* detect the lift it simulated, its **power**. Its simulator's
# parameters are reproduced in the next cell (the seed tutorial's code is not part of this
# repository; the values are those of its simulator, not the course's design above):

# %%
# the seed tutorial's simulator: one test of 10,000 users split 50/50, a baseline CTR of 5 %
# and a true relative lift of +10 %; it printed z = 1.82
SEED_TEST = {"n_users": 10_000, "baseline_ctr": 0.05, "relative_lift": 0.10, "printed_z": 1.82}

# %%
p_seed, lift_seed = SEED_TEST["baseline_ctr"], SEED_TEST["relative_lift"]
n_seed = SEED_TEST["n_users"] // 2
z_printed = SEED_TEST["printed_z"]
print(f"z = {z_printed} has two-sided p = {2 * stats.norm.sf(z_printed):.3f}: above 0.05")
power_seed = abtest.power_two_proportions(p_seed, p_seed * (1 + lift_seed), n_seed)
sim_seed = abtest.simulate_ab_tests(
    p_seed, p_seed * (1 + lift_seed), n_seed, n_sims, random_state=0
).mean()
mde_seed = abtest.minimum_detectable_effect(p_seed, n_seed, relative=True)
print(
    f"CTR {p_seed:.2f}, {n_seed:,} users per arm: power to detect a true +{lift_seed:.0%} lift "
    f"{power_seed:.3f} (simulated {sim_seed:.3f} over {n_sims:,} tests)"
)
print(
    f"so it misses a real +{lift_seed:.0%} lift {1 - power_seed:.0%} of the time; "
    f"its minimum detectable lift at 80 % power is +{mde_seed:.1%}"
)
n_seed_needed = abtest.sample_size_two_proportions(p_seed, relative_lift=lift_seed)
print(
    f"to detect +{lift_seed:.0%} on a {p_seed:.0%} baseline with 80 % power it needed "
    f"{n_seed_needed:,} users per arm, {n_seed_needed / n_seed:.1f}x what it had"
)
sim_sized = abtest.simulate_ab_tests(p_a, p_a * (1 + lift), n_ctr, n_sims, random_state=3).mean()
print(
    f"the course's design (CTR {p_a:.2f}, {n_ctr:,} per arm) detects its +{lift:.0%} lift in "
    f"{sim_sized:.1%} of {n_sims:,} simulated tests (designed: 80 %)"
)

# %%
n_grid = np.linspace(500, 60_000, 300)
fig, ax = plt.subplots(figsize=(8, 4))
for base, style in ((p_seed, "-"), (p_a, "--")):
    for rel in (0.10, 0.20):
        ax.plot(
            n_grid,
            abtest.power_two_proportions(base, base * (1 + rel), n_grid),
            style,
            label=f"baseline {base:.2f}, +{rel:.0%} lift",
        )
ax.axhline(0.8, color="grey", ls=":", lw=1)
ax.plot(n_seed, power_seed, "o", color="tab:red", ms=8, label=f"seed test ({n_seed:,} per arm)")
ax.plot(
    n_ctr, target_power, "s", color="tab:green", ms=8, label=f"designed test ({n_ctr:,} per arm)"
)
ax.set_xlabel("users per arm")
ax.set_ylabel("power")
ax.set_title("Power of a two-proportion z-test (alpha 0.05)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Duration.** With the designed sample size, the test length follows from the traffic
# that reaches the experiment. Suppose 2,200 new eligible users a day enter the test
# (a deliberately small slice of the platform, so that other tests can run in parallel):

# %%
users_per_day_per_arm = 1100
days = int(np.ceil(n_ctr / users_per_day_per_arm))
weeks = int(np.ceil(days / 7))
print(f"{2 * users_per_day_per_arm:,} eligible users a day, {users_per_day_per_arm:,} per arm")
print(
    f"{n_ctr:,} users per arm at {users_per_day_per_arm:,} per arm per day: {days} days -> run {weeks} full weeks ({7 * weeks} days)"
)

# %% [markdown]
# ## 10 · Peeking: why "stop when significant" breaks the test
#
# A dashboard shows the p-value every day; stopping the first time it dips below 0.05
# tests 14 times instead of once. Under **no** true difference (an A/A test) each look has
# a 5 % chance of a false alarm and the chances add up. The z statistic of an A/A test is a
# random walk over the days:

# %%
n_days = 7 * weeks
rng = np.random.default_rng(4)
conv = rng.binomial(users_per_day_per_arm, p_a, size=(2, 20, n_days)).cumsum(axis=2)  # 20 A/A tests
seen = users_per_day_per_arm * np.arange(1, n_days + 1)
pooled = (conv[0] + conv[1]) / (2 * seen)
z_paths = (conv[1] - conv[0]) / seen / np.sqrt(pooled * (1 - pooled) * 2 / seen)
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(np.arange(1, n_days + 1), z_paths.T, color="grey", alpha=0.6, lw=1)
for kind, style in (("naive", "--"), ("pocock", "-"), ("obrien_fleming", "-.")):
    bound = abtest.sequential_boundaries(n_days, kind=kind)
    ax.plot(np.arange(1, n_days + 1), bound, style, color="tab:red", label=kind)
    ax.plot(np.arange(1, n_days + 1), -bound, style, color="tab:red")
ax.set_ylim(-5, 5)
ax.set_xlabel("day (one look per day)")
ax.set_ylabel("z statistic")
ax.set_title("20 simulated A/A tests and three stopping boundaries")
ax.legend(fontsize=9)
plt.show()
crossed = (np.abs(z_paths) > stats.norm.isf(alpha / 2)).any(axis=1).sum()
last_day = (np.abs(z_paths[:, -1]) > stats.norm.isf(alpha / 2)).sum()
print(
    f"of these 20 A/A tests, {crossed} cross |z| = 1.96 on some day; significant on the last day: {last_day}"
)

# %%
designs = ("naive", "fixed", "bonferroni", "pocock", "obrien_fleming")
n_peek = 100_000  # A/A tests per stopping rule: a false-positive rate needs many
fpr = [
    abtest.simulate_peeking(
        n_peek, n_days, users_per_day_per_arm, p_a, boundary=kind, random_state=5
    )
    for kind in designs
]
peeking = pd.DataFrame(
    {
        "false-positive rate (A/A)": fpr,
        "its 95% Monte-Carlo interval": [
            "{:.3f}-{:.3f}".format(*abtest.monte_carlo_interval(round(r * n_peek), n_peek))
            for r in fpr
        ],
        "power (+10 % lift)": [
            abtest.simulate_peeking(
                20_000,
                n_days,
                users_per_day_per_arm,
                p_a,
                boundary=kind,
                relative_lift=lift,
                random_state=6,
            )
            for kind in designs
        ],
        "first-look |z|": [abtest.sequential_boundaries(n_days, kind=kind)[0] for kind in designs],
        "last-look |z|": [abtest.sequential_boundaries(n_days, kind=kind)[-1] for kind in designs],
    },
    index=pd.Index(designs, name="stopping rule"),
)
peeking.round(3)

# %%
naive_fpr = peeking.loc["naive", "false-positive rate (A/A)"]
exact = abtest.boundary_crossing_probability(abtest.sequential_boundaries(n_days, kind="naive"))
print(
    f"Peeking daily for {n_days} days and stopping at the first p < 0.05: false-positive rate {naive_fpr:.1%} "
    f"(exact computation {exact:.1%}), not 5 %."
)
for kind in ("fixed", "pocock", "obrien_fleming"):
    row = peeking.loc[kind]
    print(
        f"{kind:<15} false-positive rate {row['false-positive rate (A/A)']:.1%} "
        f"(Monte-Carlo 95% interval {row['its 95% Monte-Carlo interval']}), power {row['power (+10 % lift)']:.1%}"
    )
fixed_lo, fixed_hi = abtest.monte_carlo_interval(round(fpr[1] * n_peek), n_peek)
print(
    f"the fixed design's simulated rate is an estimate from {n_peek:,} A/A tests: its interval "
    f"{'contains' if fixed_lo <= alpha <= fixed_hi else 'excludes'} the nominal {alpha:.0%}"
)

# %% [markdown]
# The remedies: either **do not look** (fixed horizon: analyse once, at the planned end)
# or look with a boundary built for repeated looks. **Pocock** uses one stricter constant
# at every look; **O'Brien-Fleming** is very strict early and close to 1.96 at the end, so
# it keeps nearly the power of the fixed design while allowing an early stop for a large
# effect. Bonferroni is valid but wastes power. (Always-valid p-values and Bayesian
# decision rules are the other modern options.)
#
# ## 11 · Optional: interleaving
#
# To compare two *rankers*, **team-draft interleaving** shows every user one merged list
# and credits each click to the ranker that contributed the item; every user compares both
# rankers, which removes the user-to-user variance.
#
# **The simulation's user model** (`abtest.simulate_interleaving`): each user has 20
# candidate titles with a true relevance drawn from a standard normal; ranker A orders
# them by relevance plus noise of standard deviation 1.0, ranker B (the better one) with
# noise 0.7; the user looks at position $i$ with probability $1/i$ and clicks a title she
# looks at with probability $\mathrm{sigmoid}(\text{relevance} - 2)$. The A/B test splits
# 1,000 users into two arms and compares clicks per user (Welch); interleaving shows all
# 1,000 users the merged list and counts who credited more clicks to B than to A (a sign
# test). The next cell measures the **effect size** this builds in, and the share of
# simulated experiments that find B better (with its Monte-Carlo interval):

# %%
rng = np.random.default_rng(70)
rel_big = rng.standard_normal((50_000, 20))
examine = 1.0 / np.arange(1, 11)
attract = 1.0 / (1.0 + np.exp(-(rel_big - 2.0)))
expected_clicks = {}
for name, noise in (("A", 1.0), ("B", 0.7)):
    shown = np.argsort(-(rel_big + noise * rng.standard_normal(rel_big.shape)), axis=1)[:, :10]
    expected_clicks[name] = (examine * np.take_along_axis(attract, shown, axis=1)).sum(axis=1)
del rel_big, attract
effect = expected_clicks["B"].mean() / expected_clicks["A"].mean() - 1
print(
    f"expected clicks per user: A {expected_clicks['A'].mean():.4f}, B {expected_clicks['B'].mean():.4f} "
    f"(B is {effect:+.1%} better)"
)

n_chunks, per_chunk = 6, 100
runs = [
    abtest.simulate_interleaving(1000, per_chunk, random_state=np.random.default_rng([7, c]))
    for c in range(n_chunks)
]
n_il = n_chunks * per_chunk
found_rate = {}
for method in ("ab_test", "interleaving"):
    found = round(sum(r[method] for r in runs) * per_chunk)
    found_rate[method] = found / n_il
    lo_il, hi_il = abtest.monte_carlo_interval(found, n_il)
    print(
        f"{method:<12} finds the better ranker in {found / n_il:.1%} of {n_il} simulated experiments "
        f"(95% Monte-Carlo interval {lo_il:.1%}-{hi_il:.1%})"
    )
print(f"interleaving / A/B test: {found_rate['interleaving'] / found_rate['ab_test']:.1f}x")

# %% [markdown]
# With an effect of this size, 1,000 users are far too few for an A/B test; the same
# users interleaved find the better ranker more often (the ratio is printed), because each user
# compares both rankers. Interleaving is a fast **pre-test** to prune rankers; it measures
# preference, not the business metrics or the guardrails, so the final decision still
# comes from an A/B test.
#
# ## 12 · Before reading any metric: the sample-ratio-mismatch check
#
# The design splits users 50/50. If the arms end up with sizes that a fair coin would
# rarely produce, something between assignment and logging is broken, and the users who
# remain in the two arms are no longer comparable. `abtest.srm_test` is Pearson's
# chi-squared test of the arm sizes against the planned ratio,
# $\chi^2 = \sum_{\text{arms}} (O - E)^2 / E$ with one degree of freedom fewer than arms,
# flagged at p < 0.001 because platforms run it on every experiment.
#
# **A simulated bug.** The designed test (true lift +10 %) runs with a redirect in arm B
# that loses some users before their exposure is logged: those who leave the page at once
# (they would not have clicked) vanish with probability 5 %. Nothing else changes.

# %%
n_users_test = 2 * n_ctr
users = abtest.simulate_user_level_ab(n_users_test, p_a, lift, random_state=8)
in_b = (users["variant"] == "B").to_numpy()
rng = np.random.default_rng(80)
lost = in_b & ~users["clicked"].to_numpy() & (rng.random(n_users_test) < 0.05)
buggy = users[~lost]


def ctr_test(frame: pd.DataFrame) -> abtest.ABTestResult:
    counts = frame.groupby("variant")["clicked"].agg(["sum", "count"])
    return abtest.z_test_two_proportions(*counts.loc["A"].tolist(), *counts.loc["B"].tolist())


for label, frame in (("correct logging", users), ("redirect bug", buggy)):
    res = ctr_test(frame)
    sizes = frame["variant"].value_counts().reindex(["A", "B"]).to_numpy()
    print(f"{label}: {abtest.srm_test(sizes)}")
    print(
        f"    CTR lift {res.absolute_lift:+.4f} (relative {res.relative_lift:+.1%}), "
        f"95% CI {res.ci_low:+.4f} to {res.ci_high:+.4f}, p = {res.p_value:.2g}"
    )
print(f"true lift {p_a * lift:+.4f} (relative {lift:+.0%})")

# %% [markdown]
# The buggy run's metric comparison looks like a good result, with nothing in the CTR test
# that says "broken"; only the arm sizes do. Over many simulated runs of the same test
# (the counts drawn from binomials, no users materialised; arm sizes binomial, as with
# hash-based assignment):

# %%
n_runs = 2000
rng = np.random.default_rng(81)
n_a_runs = rng.binomial(n_users_test, 0.5, n_runs)  # hash-based assignment: binomial arm sizes
n_b_runs = n_users_test - n_a_runs
clicks_a = rng.binomial(n_a_runs, p_a)
clicks_b = rng.binomial(n_b_runs, p_a * (1 + lift))
n_b_seen = n_b_runs - rng.binomial(n_b_runs - clicks_b, 0.05)  # the redirect bug
flags, lifts = {}, {}
for label, n_b in (("correct logging", n_b_runs), ("redirect bug", n_b_seen)):
    flags[label] = np.array([abtest.srm_test([a, b]).mismatch for a, b in zip(n_a_runs, n_b)])
    lifts[label] = clicks_b / n_b - clicks_a / n_a_runs
    k_flag = int(flags[label].sum())
    lo_f, hi_f = abtest.monte_carlo_interval(k_flag, n_runs)
    print(
        f"{label:<16} SRM flagged in {k_flag / n_runs:.1%} of {n_runs:,} runs (95% MC {lo_f:.1%}-{hi_f:.1%}); "
        f"mean estimated CTR lift {lifts[label].mean():+.4f} (true {p_a * lift:+.4f})"
    )

# %% [markdown]
# The bug inflates the estimated lift (the lost users are non-clickers of arm B only), and
# the CTR test cannot notice: a larger lift is just "good news", in every run. The SRM
# check flags the bug in most runs (the share is printed above; a larger loss, or the same
# loss in a larger test, is flagged more reliably) and fires on correct logging about as
# rarely as its 0.001 threshold promises. That is why experimentation platforms run it
# *before* showing any metric, and refuse to show the metrics of a test that fails it.
#
# ## 13 · CUPED: the same test with less variance
#
# Much of the variance of a per-user metric such as watch minutes is *who the user is*: a
# heavy viewer watches a lot in both arms. CUPED (Deng et al., 2013) subtracts the part of
# each user's metric that their **pre-experiment** value predicts:
#
# $$y_i^{\text{cuped}} = y_i - \theta\,(x_i - \bar x), \qquad \theta = \frac{\operatorname{cov}(y, x)}{\operatorname{var}(x)},$$
#
# with $x_i$ the same metric in the weeks before the test. Assignment is random, so $x$ has
# the same mean in both arms: the lift is unchanged in expectation, and the variance falls
# by the factor $1 - \rho^2$ ($\rho$ = correlation of $x$ and $y$). A sample-size formula
# scales with the variance, so the same power needs $1 - \rho^2$ times the users.
#
# The simulator `abtest.simulate_pre_post` gives each user a habitual level of watch
# minutes (mean 45, sd 30 as in the design) and a pre/post correlation set to 0.7 (an
# assumption of the simulation); arm B adds a known +1.5 minutes.

# %%
persistence, true_minutes = 0.7, 1.5
watch = abtest.simulate_pre_post(
    2 * n_watch,
    mean=45.0,
    sd=sd_watch,
    persistence=persistence,
    effect=true_minutes,
    random_state=13,
)
arm_a, arm_b = watch[watch["variant"] == "A"], watch[watch["variant"] == "B"]
cuped = abtest.cuped_test(arm_a["post"], arm_a["pre"], arm_b["post"], arm_b["pre"])
for label, res in (("plain Welch test", cuped.plain), ("CUPED-adjusted", cuped.adjusted)):
    print(
        f"{label:<17} lift {res.absolute_lift:+.2f} min, 95% CI {res.ci_low:+.2f} to {res.ci_high:+.2f}, "
        f"p = {res.p_value:.3g} -> {res.decision}"
    )
print(
    f"theta {cuped.theta:.3f}, correlation {cuped.correlation:.3f}: variance reduced by "
    f"{cuped.variance_reduction:.1%} (1 - rho^2 predicts {1 - cuped.correlation**2:.1%} remaining); "
    f"interval {cuped.ci_width_ratio:.2f}x as wide"
)
sd_cuped = sd_watch * np.sqrt(1 - cuped.variance_reduction)
n_watch_cuped = abtest.sample_size_continuous(sd_cuped, mde_watch, alpha=alpha, power=target_power)
print(
    f"users per arm to detect +{mde_watch:.0f} min with 80 % power: plain {n_watch:,}, "
    f"CUPED {n_watch_cuped:,} ({n_watch_cuped / n_watch:.0%} of the plain test)"
)

# %%
cuped_runs = []
for seed in range(200):
    w = abtest.simulate_pre_post(
        2 * n_watch, sd=sd_watch, persistence=persistence, effect=true_minutes, random_state=seed
    )
    a_, b_ = w[w["variant"] == "A"], w[w["variant"] == "B"]
    r = abtest.cuped_test(a_["post"], a_["pre"], b_["post"], b_["pre"])
    cuped_runs.append(
        {
            "plain lift": r.plain.absolute_lift,
            "CUPED lift": r.adjusted.absolute_lift,
            "plain detects": r.plain.p_value < alpha,
            "CUPED detects": r.adjusted.p_value < alpha,
        }
    )
cuped_runs = pd.DataFrame(cuped_runs)
for kind in ("plain", "CUPED"):
    est = cuped_runs[f"{kind} lift"]
    hits = int(cuped_runs[f"{kind} detects"].sum())
    lo_c, hi_c = abtest.monte_carlo_interval(hits, len(cuped_runs))
    print(
        f"{kind:<6} over {len(cuped_runs)} simulated tests: lift {est.mean():+.3f} ± {est.std():.3f} min "
        f"(true {true_minutes:+.1f}); detects it in {hits / len(cuped_runs):.1%} (95% MC {lo_c:.1%}-{hi_c:.1%})"
    )

# %% [markdown]
# Both estimates are centred on the true effect; the adjusted one scatters less, so the
# same users detect a smaller effect more often. CUPED needs a pre-period value for each
# user (new users have none: give them the mean, i.e. no adjustment) and the covariate must
# be measured **before** assignment, otherwise the treatment leaks into it.
#
# ## 14 · Ratio metrics: clicks per session, randomised by user
#
# "Clicks per session" is a ratio of two per-user sums. Its sessions are not independent
# observations: the sessions of one user share that user's habits, and whole users were
# randomised. The **naive** standard error treats every session as an independent draw;
# the **delta method** (or a bootstrap over users) works with per-user sums $N_u$ (clicks)
# and $D_u$ (sessions) of the $n$ users of an arm:
#
# $$\widehat{\operatorname{Var}}\Big(\frac{\bar N}{\bar D}\Big) \approx \frac{1}{n\,\bar D^2}\Big(s_N^2 - 2R\,s_{ND} + R^2 s_D^2\Big), \qquad R = \frac{\bar N}{\bar D}.$$
#
# `abtest.simulate_sessions` gives each user a personal click rate (so their sessions are
# correlated) and no true difference between the arms (an A/A test):

# %%
def user_totals(log: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-user clicks, sessions and arm (True for B) from a session log."""
    uid = log["user_id"].to_numpy()
    clicks = np.bincount(uid, weights=log["clicks"].to_numpy())
    sessions = np.bincount(uid).astype(float)
    arm_b = np.zeros(len(sessions), dtype=bool)
    arm_b[uid] = log["variant"].to_numpy() == "B"
    return clicks, sessions, arm_b


def naive_se(log: pd.DataFrame) -> float:
    """Standard error of the difference if every session were an independent observation."""
    per_arm = log.groupby("variant")["clicks"].agg(["var", "count"])
    return float(np.sqrt((per_arm["var"] / per_arm["count"]).sum()))


n_ratio_users = 4000
session_log = abtest.simulate_sessions(n_ratio_users, heterogeneity=2.0, random_state=14)
c_u, s_u, b_u = user_totals(session_log)
ratio_res = abtest.ratio_test(c_u[~b_u], s_u[~b_u], c_u[b_u], s_u[b_u])
rng = np.random.default_rng(15)
boot = []
for arm in (~b_u, b_u):
    idx = rng.integers(0, arm.sum(), size=(1000, arm.sum()))
    boot.append(c_u[arm][idx].sum(axis=1) / s_u[arm][idx].sum(axis=1))
boot_se = float((boot[1] - boot[0]).std())
delta_se = (ratio_res.ci_high - ratio_res.ci_low) / (2 * stats.norm.isf(alpha / 2))
print(
    f"{n_ratio_users:,} users, {len(session_log):,} sessions; clicks per session A {ratio_res.mean_a:.4f}, "
    f"B {ratio_res.mean_b:.4f}"
)
print(
    f"standard error of the difference: naive (sessions) {naive_se(session_log):.4f}, "
    f"delta method {delta_se:.4f}, bootstrap over users {boot_se:.4f}"
)

# %%
aa_diff, aa_naive, aa_delta = [], [], []
for seed in range(200):
    log = abtest.simulate_sessions(n_ratio_users, heterogeneity=2.0, random_state=1000 + seed)
    c_, s_, b_ = user_totals(log)
    res = abtest.ratio_test(c_[~b_], s_[~b_], c_[b_], s_[b_])
    aa_diff.append(res.absolute_lift)
    aa_naive.append(naive_se(log))
    aa_delta.append((res.ci_high - res.ci_low) / (2 * stats.norm.isf(alpha / 2)))
aa_diff, aa_naive, aa_delta = map(np.asarray, (aa_diff, aa_naive, aa_delta))
z_crit = stats.norm.isf(alpha / 2)
print(f"true sd of the difference over {len(aa_diff)} A/A tests: {aa_diff.std():.4f}")
for label, se_ in (("naive", aa_naive), ("delta method", aa_delta)):
    k_rej = int((np.abs(aa_diff) / se_ > z_crit).sum())
    lo_r, hi_r = abtest.monte_carlo_interval(k_rej, len(aa_diff))
    print(
        f"{label:<12} mean SE {se_.mean():.4f} ({se_.mean() / aa_diff.std():.2f}x the true sd); "
        f"false-positive rate {k_rej / len(aa_diff):.1%} (95% MC {lo_r:.1%}-{hi_r:.1%}, nominal {alpha:.0%})"
    )

# %% [markdown]
# The naive standard error is too small, so a test built on it declares differences that
# are not there far more often than 5 %; the delta method matches the spread of the A/A
# differences and holds its level. Rule: **analyse at the unit of randomisation** (the
# user), whatever the unit of the metric.
#
# ## 15 · Reporting the result
#
# One simulated run of the designed test (the true CTR lift is +10 %, correct logging as
# in section 12), analysed with the primary metric and the guardrails of the design table.
# Each guardrail is a **non-inferiority** check: the upper end of the 95 % interval of its
# change must stay below the margin written in the design. A plain "not significantly
# worse" would let an underpowered guardrail pass anything. Latency is the designed
# guardrail, **p99**, compared with a bootstrap over users (each user's requests are
# resampled together, `abtest.bootstrap_quantile_difference`). In this simulation each
# user sends five requests; the new ranker adds 1 ms to every request and changes neither
# churn nor complaints.

# %%
rng = np.random.default_rng(9)
requests_per_user = 5
user_speed = rng.gamma(4.0, 10.0, size=(n_users_test, 1))  # device and network of the user
latency_ms = user_speed + rng.gamma(2.0, 15.0, size=(n_users_test, requests_per_user))
latency_ms += np.where(in_b, 1.0, 0.0)[:, None]
churned = rng.random(n_users_test) < 0.02
complained = rng.random(n_users_test) < 0.005


def rate_test(flags: np.ndarray) -> abtest.ABTestResult:
    """Two-proportion z-test of a per-user 0/1 guardrail (lower is better)."""
    return abtest.z_test_two_proportions(
        int(flags[~in_b].sum()),
        int((~in_b).sum()),
        int(flags[in_b].sum()),
        int(in_b.sum()),
        higher_is_better=False,
    )


p99 = abtest.bootstrap_quantile_difference(
    latency_ms[~in_b], latency_ms[in_b], q=0.99, n_boot=300, random_state=10
)
margins = {"p99 latency (ms)": 10.0, "churn": 0.005, "complaints": 0.003}
changes = {
    "p99 latency (ms)": (p99.difference, p99.ci_low, p99.ci_high),
    "churn": (lambda r: (r.absolute_lift, r.ci_low, r.ci_high))(rate_test(churned)),
    "complaints": (lambda r: (r.absolute_lift, r.ci_low, r.ci_high))(rate_test(complained)),
}
print(f"p99 latency: A {p99.quantile_a:.1f} ms, B {p99.quantile_b:.1f} ms (SLO 200 ms)")
guardrails = {}
for name, (change, lo_g, hi_g) in changes.items():
    guardrails[name] = bool(hi_g < margins[name])
    print(
        f"guardrail {name:<17} change {change:+.4f}, 95% CI {lo_g:+.4f} to {hi_g:+.4f}, "
        f"margin +{margins[name]:g}: {'ok' if guardrails[name] else 'FAILED'}"
    )
z_975 = stats.norm.isf(alpha / 2)
print("chance that each guardrail passes when the true change is 0 (its non-inferiority power):")
for name, (_change, lo_g, hi_g) in changes.items():
    se_g = (hi_g - lo_g) / (2 * z_975)
    print(f"    {name:<17} {stats.norm.cdf(margins[name] / se_g - z_975):.0%}")
print(f"SRM: {abtest.srm_test([int((~in_b).sum()), int(in_b.sum())])}")
counts = users.groupby("variant")["clicked"].agg(["sum", "count"])
result = abtest.z_test_two_proportions(
    int(counts.loc["A", "sum"]),
    int(counts.loc["A", "count"]),
    int(counts.loc["B", "sum"]),
    int(counts.loc["B", "count"]),
    guardrails=guardrails,
)
print()
print(result)

# %%
true_lift = p_a * lift
designed = p_a * lift  # the smallest lift worth shipping, in CTR points
print(
    f"95% CI of the CTR lift: {result.ci_low:+.4f} to {result.ci_high:+.4f} "
    f"(relative {result.ci_low / p_a:+.1%} to {result.ci_high / p_a:+.1%})"
)
print(
    f"  excludes lifts above {result.ci_high:+.4f} and below {result.ci_low:+.4f}; "
    f"contains 0: {result.ci_low <= 0 <= result.ci_high}; "
    f"contains the designed +{lift:.0%} ({designed:+.4f}): {result.ci_low <= designed <= result.ci_high}"
)
print(
    f"decision rule (agreed before launch): ship iff the lower end > 0 and all guardrails pass "
    f"-> {result.decision}"
)
print(
    f"(simulation only: the true lift {true_lift:+.4f} is inside this run's CI: "
    f"{result.ci_low <= true_lift <= result.ci_high}; a real test never knows it)"
)

# %% [markdown]
# **The guardrails.** The churn guardrail fails in this run although the simulation builds in
# no churn change at all: the power line above shows how often a harmless ranker passes
# each non-inferiority check at this sample size. A margin that the test cannot confirm
# most of the time blocks good launches by chance; guardrail margins need their own power
# calculation when the test is designed (exercise 7), just like the primary metric.
#
# **How to report it.** Give the decision *with* its evidence, in the terms fixed before
# launch: the lift with its interval (the range of effects compatible with the data),
# the p-value against the pre-registered alpha, the SRM check, each guardrail against its
# margin, and the decision rule's verdict. Then say what the interval rules out and what it
# does not, as the cell above prints it:
#
# * lifts larger than the upper end, and drops below the lower end, are unlikely;
# * every lift inside the interval is still compatible with the data. When the interval
#   contains both 0 and the designed +10 %, the honest report is "**inconclusive**: the
#   data are compatible with no effect and with the lift we designed for"; it is *not* "no
#   effect" and *not* "no effect of +10 % or more" (that would need an interval whose upper
#   end lies below +10 %);
# * the decision follows the rule agreed in advance, whatever the result looks like; when
#   the rule says "do not ship" for an inconclusive result, the team does not ship, and
#   extending the test until it turns significant would be peeking again. With 80 % power,
#   one run in five misses a real lift of the designed size; a new, pre-registered test
#   (larger, or with CUPED) is the way to learn more.
#
# ## 16 · The offline-online gap
#
# Part 1 chose the model offline; part 2 sizes the online test for a +10 % CTR lift. The
# two numbers are not the same quantity:

# %%
current, candidate = runner_up, best
offline_lift = at_10.loc[candidate, "ndcg"] / at_10.loc[current, "ndcg"] - 1
print(
    f"offline: {candidate} vs {current}, NDCG@10 {offline_lift:+.1%} (paired 95% CI "
    f"{close['ci_low']:+.4f} to {close['ci_high']:+.4f} in NDCG points)"
)
for rel in (0.05, lift, offline_lift):
    n_rel = abtest.sample_size_two_proportions(p_a, relative_lift=rel)
    print(
        f"online CTR lift +{rel:.1%}: {n_rel:,} users per arm, "
        f"{int(np.ceil(n_rel / users_per_day_per_arm / 7))} weeks at {users_per_day_per_arm:,} per arm per day"
    )

# %% [markdown]
# * **Why an offline NDCG lift like this one may not move CTR.** Offline NDCG scores how well a model
#   ranks held-out *ratings* of titles users found through the *old* system; online CTR
#   depends on what the new rows show, where on the page, to users who react to novelty,
#   artwork and position. Items the old system never surfaced have no ratings, so a model
#   that finds them gets no offline credit; a model that mimics the old system's exposure
#   gets too much. The offline lift says the candidate is worth a test, not how large the
#   online lift will be; the two are often far apart, in either direction, and only the
#   A/B test measures the online one.
# * **Why the minimum lift is +10 %.** It is a product decision, not a statistical one: the
#   smallest lift that pays for the change (a heavier model costs serving capacity, step 6)
#   and that the traffic available can detect in a few weeks. The cell above prints the
#   cost of aiming lower: half the lift needs about four times the users and weeks.
#
# **Off-policy evaluation.** Before any A/B test, the logs of the current system can
# estimate a *new* policy's click rate, if the current system randomises what it shows and
# logs the probability (the **propensity** $\pi_0(a \mid x)$) of each item it showed.
# **Inverse propensity scoring** reweights each logged click by how much more (or less)
# often the new policy would have shown that item:
#
# $$\hat V_{\text{IPS}}(\pi) = \frac{1}{n}\sum_{i=1}^{n} \frac{\pi(a_i \mid x_i)}{\pi_0(a_i \mid x_i)}\, r_i .$$
#
# `simulate_logged_bandit` simulates such logs: 20 user types, 30 titles with known click
# probabilities, and a production ranker that samples what it shows from a softmax over
# noisy scores; the last 3 titles are new and the production ranker never shows them. The
# candidate knows the true click probabilities better (a softmax over their logarithms);
# a second candidate also shows the new titles. The exact value of every policy is known:

# %%
ips_rows = []
for seed in range(5):
    logs = simulate_logged_bandit(50_000, n_unsupported=3, random_state=seed)
    supported = np.arange(logs.true_ctr.shape[1]) < logs.true_ctr.shape[1] - 3
    policies = {
        "candidate (old titles)": softmax_policy(np.log(logs.true_ctr), 0.3, support=supported),
        "candidate (with new titles)": softmax_policy(np.log(logs.true_ctr), 0.3),
    }
    logged_value = policy_value(logs.logging_policy, logs.true_ctr, logs.context_probs)
    for name, pol in policies.items():
        est = ips_estimate(logs.rewards, pol[logs.contexts, logs.actions], logs.propensities)
        truth = policy_value(pol, logs.true_ctr, logs.context_probs)
        ips_rows.append(
            {
                "seed": seed,
                "policy": name,
                "logged CTR (true)": logged_value,
                "true CTR": truth,
                "IPS estimate": est.value,
                "IPS 95% CI covers truth": est.ci_low <= truth <= est.ci_high,
                "effective sample size": est.effective_sample_size,
            }
        )
ips_table = pd.DataFrame(ips_rows)
ips_summary = ips_table.groupby("policy", sort=False).agg(
    true_ctr=("true CTR", "mean"),
    ips_mean=("IPS estimate", "mean"),
    ips_sd=("IPS estimate", "std"),
    covered=("IPS 95% CI covers truth", "sum"),
    ess=("effective sample size", "mean"),
)
print(
    f"production ranker's true CTR, mean over 5 seeds: {ips_table['logged CTR (true)'].mean():.4f}; "
    f"each log has {50_000:,} events"
)
ips_summary.round(4)

# %% [markdown]
# Over the five simulated logs (mean ± sd across seeds in the table), IPS recovers the
# value of the candidate that stays within what the production ranker shows, and its
# interval covers the truth in most seeds (the `covered` column counts them), at the price
# of an **effective sample size** far below the number of events: the more the candidate
# departs from the logging policy, the noisier the estimate. For the candidate that also
# shows new titles it is biased low, and no amount of data fixes that: events with
# propensity 0 never occur in the log.
#
# So off-policy evaluation **can** rank candidate policies on the logged reward, for the
# traffic and items the current system already randomises over, before spending an A/B
# test; it **cannot** see items or layouts the logging policy never tried, long-term effects
# (watch time, churn, habits), feedback loops, or interference between users, and it needs
# the production system to randomise and log propensities in the first place. It prunes
# candidates; the A/B test decides.
#
# ## What a production team would do
#
# > * **Offline**: a fixed, versioned benchmark (data snapshot, split, metrics, candidate
# >   set) in CI, reporting intervals and segment breakdowns for every candidate model, never
# >   sampled metrics; a model only goes online if it beats the production model offline
# >   without hurting coverage or a key segment.
# > * **Experimentation platform**: deterministic hashing of user ids with a per-experiment
# >   salt, layered experiments so many tests run at once, exposure logging (only users who
# >   actually saw the rows are analysed), and an automatic **sample-ratio-mismatch** check
# >   (a chi-square test that the arms have the planned sizes) before any metric is read.
# > * **Pre-registration**: metric, guardrails, minimum detectable effect, sample size and
# >   duration are written down before launch; analysis at the planned horizon, or with a
# >   sequential boundary (O'Brien-Fleming, always-valid p-values) if the team must peek.
# > * **Variance reduction** (CUPED, section 13) is on by default for every metric with a
# >   pre-period; ratio metrics get delta-method standard errors (section 14); interleaving
# >   and off-policy estimates (section 16) pre-screen rankers before A/B tests.
# > * **Long-term effects**: holdout groups kept on the old model for months catch novelty
# >   effects and slow churn that a two-week test misses.

# %% [markdown]
# ## Summary
#
# * Compare models on one protocol with several metrics, **bootstrap intervals over users**
#   and **paired** differences against a baseline; correct for multiple comparisons.
# * Accuracy is not everything: coverage, diversity, novelty and the long-tail share show
#   what the lists look like, and segments (with intervals) show who a model serves, as
#   far as about 200 users per segment can tell.
# * Sampled negatives inflate scores and can reorder models; random splits leak the
#   future; a smaller evaluation sample spreads the estimate wider and flips the order of
#   close models more often. The cells above print the numbers for each.
# * Online, size the test **before** running it: the seed tutorial's 10K-user test could not
#   see its own +10 % lift most of the time. Peeking without a sequential boundary inflates
#   the false-positive rate; a simulated rate comes with its Monte-Carlo interval.
# * Check the arm sizes (SRM) before reading any metric; analyse at the unit of
#   randomisation (delta method for ratio metrics); use pre-period data (CUPED) to buy power.
# * Report the lift with its interval, what it rules out and what it does not, the
#   guardrails as designed (p99 as a percentile) and the decision of the rule agreed in
#   advance; an inconclusive result is reported as inconclusive.
# * Offline lifts choose what to test, not the online effect; IPS on logged propensities
#   estimates a policy's logged reward for items the old system showed, nothing more.
#
# **Next step (6 · deployment):** serve the chosen model within the 200 ms p99 budget, with
# the logging that this notebook's online metrics and step 7's monitoring need.
