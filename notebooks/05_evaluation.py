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
#    power analysis, check the design by simulation, avoid peeking and report the result.
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
    metric_by_segment,
    paired_compare,
    plot_comparison,
    sample_negatives,
    sampled_negative_evaluation,
    sampled_ranks,
    segment_users,
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
# the users with replacement 1,000 times and take the 2.5 % and 97.5 % quantiles of the mean.
# The interval answers "how much would this number move with another sample of users?".
#
# * **precision@k** share of the k items that are relevant; **recall@k** share of the
#   user's relevant items found; **hit rate@k** at least one relevant item;
# * **NDCG@k** rewards relevant items near the top (log discount); **MAP@k** averages the
#   precision at each hit; **MRR@k** is the reciprocal rank of the first hit.
#
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

# %% [markdown]
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
print("NDCG@10 per segment (rows) and model (columns):")
by_segment[model_cols].round(4).T

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

# %%
overall_rank = {name: i + 1 for i, name in enumerate(model_cols)}
for segment, row in by_segment[model_cols].iterrows():
    order = row.sort_values(ascending=False).index[:4]
    ranked = " > ".join(f"{name} {row[name]:.3f} (#{overall_rank[name]} overall)" for name in order)
    print(f"{segment:<11} ({int(by_segment.loc[segment, 'users']):>3} users): {ranked}")
heavy_wins = int((by_segment.loc["heavy", model_cols] > by_segment.loc["light", model_cols]).sum())
print(f"{heavy_wins} of {len(model_cols)} models score higher on heavy than on light users.")
gap = by_segment.loc["heavy", best] / by_segment.loc["light", best]
print(f"{best}: heavy users score {gap:.1f}x the NDCG@10 of light users.")
niche_ratio = by_segment.loc["niche", best] / by_segment.loc["niche", "Popularity"]
main_ratio = by_segment.loc["mainstream", best] / by_segment.loc["mainstream", "Popularity"]
print(
    f"{best} vs popularity: {niche_ratio:.1f}x on niche users, {main_ratio:.1f}x on mainstream users."
)

# %% [markdown]
# Read each line as "who serves this segment best": the printed ranking per segment shows
# whether the overall order holds everywhere or a model that is mediocre on average is
# the better choice for one group. The last lines count how many models serve heavy users
# better than light ones: a model tuned on the mean over users is tuned mostly for the
# segment where it scores highest.

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
# The original tutorial evaluated on a random sample of 300 users. Which 300 users you draw
# changes the number. Below, 2,000 random subsets of 300 of the evaluated users (drawn
# without replacement, as the tutorial did) for the best model, next to the 95 % bootstrap
# interval from all users; then the same subsets for the two *closest* models of the
# comparison, to see how often a 300-user evaluation gets their order wrong.

# %%
n_users, subset = len(split.eval_users), 300
rng = np.random.default_rng(0)
draws = rng.random((2000, n_users)).argsort(axis=1)[:, :subset]  # 2,000 subsets of 300 users
first = ndcg_at(best)
sub_first = first[draws].mean(axis=1)
lo_full, hi_full = at_10.loc[best, "ndcg_lo"], at_10.loc[best, "ndcg_hi"]
lo_sub, hi_sub = np.quantile(sub_first, [0.025, 0.975])
one_lo, one_hi = bootstrap_ci(first[draws[0]], n_boot=1000)
print(
    f"{best} NDCG@10 on all {n_users} users: {first.mean():.4f}, 95% bootstrap CI {lo_full:.4f}-{hi_full:.4f} (width {hi_full - lo_full:.4f})"
)
print(
    f"2,000 subsets of {subset} users: middle 95% of their NDCG@10 {lo_sub:.4f}-{hi_sub:.4f} (width {hi_sub - lo_sub:.4f})"
)
print(
    f"the bootstrap CI computed inside one {subset}-user subset is {one_hi - one_lo:.4f} wide, {(one_hi - one_lo) / (hi_full - lo_full):.2f}x the all-user CI"
)

# the two models with the closest mean NDCG@10 among those that beat popularity
top = at_10.loc[better, "ndcg"]
gaps = top.diff(-1).abs().dropna()
model_a = gaps.idxmin()
model_b = top.index[top.index.get_loc(model_a) + 1]
values_a, values_b = ndcg_at(model_a), ndcg_at(model_b)
sub_a, sub_b = values_a[draws].mean(axis=1), values_b[draws].mean(axis=1)
print(f"closest pair: {paired_compare(values_b, values_a, names=(model_b, model_a))}")
print(f"{model_b} beats {model_a} in {(sub_b > sub_a).mean():.1%} of the {subset}-user subsets")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].hist(sub_first, bins=40, color="tab:blue", alpha=0.7, label=f"{subset}-user subsets")
axes[0].axvspan(
    lo_full, hi_full, color="tab:orange", alpha=0.2, label=f"95% CI, all {n_users} users"
)
axes[0].axvline(first.mean(), color="tab:orange", lw=2)
axes[0].set_xlabel("NDCG@10")
axes[0].set_ylabel("subsets")
axes[0].set_title(best)
axes[0].legend(fontsize=9)
axes[1].hist(sub_a - sub_b, bins=40, color="tab:green", alpha=0.7)
axes[1].axvline(0, color="black", lw=1)
axes[1].set_xlabel(f"NDCG@10 of {model_a} minus {model_b}")
axes[1].set_title("Which of two close models wins depends on the 300 users")
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
# | **guardrails** | p99 latency of the rows (SLO 200 ms), churn (cancellations), complaints / "not interested" rate, error rate | must not get worse; any significant degradation blocks the launch |
# | **randomisation unit** | the **user** (hash of user id and experiment salt), not the request or the session | one consistent experience per person across devices; users are independent, so the z-test's variance is right; per-request assignment would mix both arms in one person's behaviour |
# | split | 50 / 50 of eligible users | maximises power for a given traffic |
# | **duration** | the sample size divided by daily traffic, rounded **up to whole weeks** | viewing differs by weekday; novelty effects fade after the first days |
# | analysis | two-sided two-proportion z-test at alpha = 0.05, power 80 %, fixed horizon | decided *before* the test starts |
#
# **Assumptions (stated, not measured):** baseline CTR 0.10; the smallest lift worth
# shipping is **+10 % relative** (0.10 -> 0.11); for watch time, a per-user standard
# deviation of 30 minutes (mean 45) and a minimum lift of 3 minutes.

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
# The original tutorial simulated **one** test with 10,000 users (5,000 per arm) and a true
# +10 % CTR lift, printed z = 1.82 and concluded "not significant". One run cannot tell a
# missing effect from a missing sample: the question is how often such a test *can* detect
# a real +10 % lift, its **power**.

# %%
n_seed = 5000
print(f"z = 1.82 has two-sided p = {2 * stats.norm.sf(1.82):.3f}: above 0.05")
power_seed = abtest.power_two_proportions(p_a, p_a * (1 + lift), n_seed)
sim_seed = abtest.simulate_ab_tests(p_a, p_a * (1 + lift), n_seed, n_sims, random_state=0).mean()
mde_seed = abtest.minimum_detectable_effect(p_a, n_seed, relative=True)
print(
    f"power of the 10K-user test to detect a true +10 % lift: {power_seed:.3f} (simulated {sim_seed:.3f})"
)
print(
    f"so it misses a real +10 % lift {1 - power_seed:.0%} of the time; its minimum detectable lift at 80 % power is +{mde_seed:.1%}"
)
sim_sized = abtest.simulate_ab_tests(p_a, p_a * (1 + lift), n_ctr, n_sims, random_state=3).mean()
print(
    f"sized correctly ({n_ctr:,} per arm): the lift is detected in {sim_sized:.1%} of {n_sims:,} simulated tests (designed: 80 %)"
)

# %%
n_grid = np.linspace(500, 40_000, 200)
fig, ax = plt.subplots(figsize=(8, 4))
for rel in (0.05, 0.10, 0.20):
    ax.plot(
        n_grid, abtest.power_two_proportions(p_a, p_a * (1 + rel), n_grid), label=f"+{rel:.0%} lift"
    )
ax.axhline(0.8, color="grey", ls="--", lw=1)
ax.axvline(n_seed, color="tab:red", ls=":", label="original test (5,000 per arm)")
ax.axvline(n_ctr, color="tab:green", ls=":", label=f"designed test ({n_ctr:,} per arm)")
ax.set_xlabel("users per arm")
ax.set_ylabel("power")
ax.set_title("Power of a two-proportion z-test, baseline CTR 0.10")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# **Duration.** With the designed sample size, the test length follows from the traffic
# that reaches the experiment. Suppose 2,200 new eligible users a day enter the test
# (a deliberately small slice of the platform, so that other tests can run in parallel):

# %%
users_per_day_per_arm = 1100
days = int(np.ceil(n_ctr / users_per_day_per_arm))
weeks = int(np.ceil(days / 7))
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
peeking = pd.DataFrame(
    {
        "false-positive rate (A/A)": [
            abtest.simulate_peeking(
                20_000, n_days, users_per_day_per_arm, p_a, boundary=kind, random_state=5
            )
            for kind in designs
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
        f"{kind:<15} false-positive rate {row['false-positive rate (A/A)']:.1%}, power {row['power (+10 % lift)']:.1%}"
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
# rankers, which removes the user-to-user variance. A small simulation with 1,000 users per
# experiment:

# %%
power_il = abtest.simulate_interleaving(1000, 100, random_state=7)
print(
    f"share of 100 simulated experiments that find the better ranker: A/B test {power_il['ab_test']:.0%}, interleaving {power_il['interleaving']:.0%}"
)

# %% [markdown]
# Interleaving is a fast **pre-test** to prune rankers; it measures preference, not the
# business metrics or the guardrails, so the final decision still comes from an A/B test.
#
# ## 12 · Reporting the result
#
# One simulated run of the designed test (the true CTR lift is +10 %), analysed with the
# primary metric and three guardrails. Each guardrail is a **non-inferiority** check decided
# before the test: the upper end of the 95 % interval of its change must stay below a
# margin (latency +5 ms per user on average, churn +0.5 points, complaints +0.3 points). A
# plain "not significantly worse" would let an underpowered guardrail pass anything. In
# this simulation the new ranker costs 1 ms of latency and changes neither churn nor
# complaints.

# %%
n_users_test = 2 * n_ctr
users = abtest.simulate_user_level_ab(n_users_test, p_a, lift, random_state=8)
counts = users.groupby("variant")["clicked"].agg(["sum", "count"])
in_b = (users["variant"] == "B").to_numpy()
rng = np.random.default_rng(9)
latency_ms = rng.gamma(4.0, 20.0, size=n_users_test) + np.where(in_b, 1.0, 0.0)  # mean per user
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


checks = {
    "latency (ms)": (
        abtest.t_test_continuous(latency_ms[~in_b], latency_ms[in_b], higher_is_better=False),
        5.0,
    ),
    "churn": (rate_test(churned), 0.005),
    "complaints": (rate_test(complained), 0.003),
}
for name, (res, margin) in checks.items():
    print(
        f"guardrail {name:<13} change {res.absolute_lift:+.4f}, 95% CI {res.ci_low:+.4f} to {res.ci_high:+.4f}, "
        f"margin +{margin:g}: {'ok' if res.ci_high < margin else 'FAILED'}"
    )
guardrails = {name: bool(res.ci_high < margin) for name, (res, margin) in checks.items()}
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
print(
    f"true lift {true_lift:+.4f}; inside this run's 95% CI: {result.ci_low <= true_lift <= result.ci_high}"
)
print(
    f"this run is {'one of the ~80 % that detect' if result.significant else 'one of the ~20 % that miss'} the true lift (designed power 80 %)"
)

# %% [markdown]
# The report gives the decision *with* its evidence: the lift with its interval (the range
# of effects compatible with the data), the p-value against the pre-registered alpha, the
# guardrails and the decision rule's reason. An inconclusive result at the planned horizon
# is an answer too: with 80 % power, one run in five misses a real lift of the designed size,
# and extending the test until it turns significant would be peeking again. The honest
# options are to report "no detectable effect of +10 % or more", or to plan a new, larger
# test for a smaller effect.
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
# > * **Variance reduction** (CUPED: adjust each user's metric by their pre-experiment value)
# >   shrinks the required sample when past behaviour predicts the metric; interleaving
# >   pre-screens rankers before A/B tests.
# > * **Long-term effects**: holdout groups kept on the old model for months catch novelty
# >   effects and slow churn that a two-week test misses.

# %% [markdown]
# ## Summary
#
# * Compare models on one protocol with several metrics, **bootstrap intervals over users**
#   and **paired** differences against a baseline; correct for multiple comparisons.
# * Accuracy is not everything: coverage, diversity, novelty and the long-tail share show
#   what the lists look like, and segments show who a model serves.
# * Sampled negatives inflate scores and can reorder models; random splits leak the
#   future; small evaluation samples make the ranking of close models a coin toss. The cells
#   above print the numbers for each.
# * Online, size the test **before** running it: the original 10K-user test could not see a
#   +10 % lift most of the time. Peeking without a sequential boundary inflates the
#   false-positive rate; report the lift with its interval, the p-value, the guardrails and
#   the decision.
#
# **Next step (6 · deployment):** serve the chosen model within the 200 ms p99 budget, with
# the logging that this notebook's online metrics and step 7's monitoring need.
