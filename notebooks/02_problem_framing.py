# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/notebooks/02_problem_framing.ipynb)
#
# # Step 2 · Problem framing: from a business goal to an ML task
#
# **Learning objectives.** After this notebook you can
# 1. translate a business objective (more watch time, better discovery, less churn) into a
#    measurable ML objective, and name the failure mode of each candidate;
# 2. build labels from implicit (watch %) and explicit (rating) feedback and choose a threshold;
# 3. frame the two stages of a recommender as ML tasks: retrieval as extreme multiclass
#    next-watch prediction, ranking as pointwise classification of a relevant watch;
# 4. measure the baselines every later model must beat, on the course benchmark protocol.
#
# **The design question.** *What exactly should the model predict, so that optimising it
# moves the business metric and not a proxy that can be gamed?*

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
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data import benchmark_split, load_dataset, validation_split
from course_utils.evaluation import compare, evaluate, plot_comparison
from course_utils.design import objective_table, relevance_labels, threshold_curve
from course_utils.models import Popularity, Random

plt.rcParams["figure.dpi"] = 80
synthetic = load_dataset("synthetic", random_state=42)
movielens = load_dataset("movielens")
print(synthetic)
print(movielens)

# %% [markdown]
# ## 1. From business objective to ML objective
#
# The platform wants **more watch time, more discovery and less churn**. None of these can be
# optimised directly by a model that scores one (user, title) pair: we need a per-pair
# target. Four candidates, each with a failure mode:
#
# | candidate target | what it rewards | failure mode |
# |---|---|---|
# | click / start | titles people start | clickbait: thumbnails and titles that attract starts but not watching |
# | completion | titles people finish | short titles: a 20-minute special is easier to finish than a 3-hour epic |
# | total watch time | minutes watched | long titles and autoplay; ignores whether the user liked it |
# | **relevant watch** | a like, or watching ≥ 60 % | needs a threshold choice; still a proxy for satisfaction |
#
# Let us measure the completion failure mode on the synthetic streaming data, where every
# event has a watch % and every title a duration.

# %%
per_title = objective_table(synthetic.interactions, synthetic.items)
per_title = per_title[per_title["starts"] >= 20]  # enough events for a stable rate
bins = pd.cut(per_title[S.DURATION], [0, 40, 80, 100, 120, 150, 400])
by_duration = per_title.groupby(bins, observed=True)["completion_rate"].agg(["mean", "size"])
print(by_duration.round(3).to_string())
rho = per_title[[S.DURATION, "completion_rate"]].corr(method="spearman").iloc[0, 1]
print(f"Spearman correlation of duration and completion rate: {rho:.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.scatter(per_title[S.DURATION], per_title["completion_rate"], s=6, alpha=0.3)
centres = [iv.mid for iv in by_duration.index]
ax.plot(centres, by_duration["mean"], "o-", color="tab:red", label="mean per duration bin")
ax.set_xlabel("duration (minutes)")
ax.set_ylabel("completion rate")
ax.set_title("Synthetic platform: long titles are completed less often")
ax.legend()
plt.show()

# %% [markdown]
# What would each objective put at the top? Rank titles by each target and look at the
# durations of the top 50.

# %%
top = {}
for target in ["completion_rate", "watch_minutes", "relevant_watches", "starts"]:
    best = per_title.nlargest(50, target)
    top[target] = {
        "mean duration of top 50 (min)": best[S.DURATION].mean(),
        "mean completion rate of top 50": best["completion_rate"].mean(),
    }
summary = pd.DataFrame(top).T
print(f"catalogue mean duration: {per_title[S.DURATION].mean():.1f} min")
print(summary.round(3).to_string())

# %% [markdown]
# Read the table: ranking by **completion rate** fills the top with titles far shorter than
# the catalogue average, and ranking by **watch minutes** with long ones, while *relevant
# watches* stays close to the catalogue. **Clicks** fail in a way this data cannot show,
# because it records no impressions: a model trained on clicks learns what *looks* good in a
# row of thumbnails. Misleading artwork raises click-through and lowers satisfaction, and
# users who are repeatedly disappointed churn — the opposite of the business goal.
#
# The course therefore optimises **relevant watches**: an explicit like where we have one,
# otherwise a substantial watch. Total watch time stays the *online* success metric of the
# A/B test (step 5), where it cannot be gamed title by title.

# %% [markdown]
# ## 2. Labels: implicit and explicit feedback
#
# * **Explicit**: a rating (MovieLens, 0.5-5 stars; about 30 % of synthetic events). Clear
#   meaning, but sparse and biased toward people who rate.
# * **Implicit**: watch % (synthetic). Available for every event, but noisy: a 15 % watch may
#   be a dislike or an interrupted evening.
#
# `relevance_labels` combines both: a rating decides where there is one, watch % elsewhere.

# %%
labels = relevance_labels(synthetic.interactions, rating_threshold=4.0, watch_threshold=60.0)
rated = synthetic.interactions[S.RATING].notna()
print(f"synthetic events: {len(labels):,}; rated: {rated.mean():.1%}")
print(
    f"positive share: {labels.mean():.3f} "
    f"(rated events {labels[rated].mean():.3f}, unrated {labels[~rated].mean():.3f})"
)

# %% [markdown]
# How does the threshold change the positive share and the set of titles that ever get a
# positive label? Too high a threshold leaves few positives and a narrow catalogue; too low
# counts abandoned starts as likes.

# %%
watch_curve = threshold_curve(synthetic.interactions, S.WATCH_PCT, np.arange(10, 100, 10))
rating_curve = threshold_curve(movielens.interactions, S.RATING, np.arange(1.0, 5.5, 0.5))
print("synthetic, watch % threshold:")
print(watch_curve.round(3).to_string(index=False))
print("\nMovieLens, rating threshold:")
print(rating_curve.round(3).to_string(index=False))

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, curve, label, n_items in [
    (axes[0], watch_curve, "watch % threshold (synthetic)", synthetic.items.shape[0]),
    (axes[1], rating_curve, "rating threshold (MovieLens)", movielens.items.shape[0]),
]:
    ax.plot(curve["threshold"], curve["positive_share"], "o-", label="positive share of events")
    ax.plot(
        curve["threshold"],
        curve["positive_items"] / n_items,
        "s--",
        label="share of titles with a positive",
    )
    ax.set_xlabel(label)
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
axes[0].legend(loc="lower left")
plt.tight_layout()
plt.show()

# %%
ml_at_4 = rating_curve.set_index("threshold").loc[4.0]
mean_rating = movielens.interactions[S.RATING].mean()
print(
    f"MovieLens mean rating {mean_rating:.2f}; at >= 4.0: "
    f"{ml_at_4['positive_share']:.1%} of ratings positive, "
    f"{ml_at_4['positive_items']:.0f} titles and {ml_at_4['positive_users']:.0f} users "
    "with a positive"
)

# %% [markdown]
# **Why the benchmark uses rating ≥ 4.** The mean rating sits between 3 and 4, so 4 and
# above means "liked more than this user's average title" for most users, while still
# labelling about half of the ratings positive and leaving almost every user and several
# thousand titles with positives (printed above). A threshold of 3 would call lukewarm
# ratings relevant; 4.5 would throw away most of the signal.

# %% [markdown]
# ## 3. Framing the two stages as ML tasks
#
# **Retrieval: representation learning / extreme multiclass classification.** Following
# YouTube's deep retrieval model (Covington, Adams and Sargin, RecSys 2016), treat "which
# title will this user watch next?" as a softmax over the whole catalogue:
#
# $$P(\text{watch}=i \mid u, c) = \frac{e^{\mathbf{v}_i^\top \mathbf{u}}}{\sum_{j=1}^{N} e^{\mathbf{v}_j^\top \mathbf{u}}}$$
#
# With $N$ = 50K classes the softmax is trained with sampled negatives, and serving becomes
# a nearest-neighbour search for the user vector $\mathbf{u}$ among item vectors
# $\mathbf{v}_j$: 50K → 500 candidates in milliseconds (step 4a builds this, step 6 serves it).
#
# **Ranking: pointwise classification of a relevant watch.** For each of the 500 candidates,
# predict $P(\text{relevant watch} \mid u, i, \text{context})$ with rich features (the user's
# genre affinity, the title's recent popularity, time of day…) and sort. Binary
# cross-entropy on the labels above; step 4b builds it with gradient boosting.
#
# ## 4. Inputs and outputs of the system
#
# | | retrieval | ranking |
# |---|---|---|
# | input | user id + recent history (ids), context | user, ~500 candidates, their features, context |
# | output | ~500 candidate ids with scores | top 20 titles, ordered, with scores |
# | label | next relevant watch (multiclass) | relevant watch (binary) |
# | loss | sampled softmax | log loss (pointwise) |
# | offline metric | recall@500 | NDCG@10, precision@10 |
# | online metric | — | watch minutes per user, retention (A/B test, step 5) |

# %% [markdown]
# ## 5. Baselines every later model must beat
#
# On the course benchmark protocol (MovieLens, each user's first 80 % of ratings in time
# to train, relevant = rating ≥ 4, all evaluated users): random, popularity, and *recent*
# popularity (only the last `window_days` of training count). The window is chosen on a
# validation split carved from train — never on test.

# %%
split = benchmark_split()
val = validation_split(split.train)
print(split)
print(val)
windows = [30, 90, 365, 730, 1825]
val_ndcg = {
    w: evaluate(Popularity(window_days=w).fit(val.train), val, ks=10)["ndcg"].iloc[0]
    for w in windows
}
for w, v in val_ndcg.items():
    print(f"window {w:>5} days: validation NDCG@10 = {v:.4f}")
best_window = max(val_ndcg, key=val_ndcg.get)
all_time = evaluate(Popularity().fit(val.train), val, ks=10)["ndcg"].iloc[0]
print(f"chosen window: {best_window} days; all-time popularity on validation: {all_time:.4f}")

# %%
baselines = {
    "Random": Random(random_state=0).fit(split.train),
    "Popularity": Popularity().fit(split.train),
    f"Recent popularity ({best_window} d)": Popularity(window_days=best_window).fit(split.train),
}
table = compare(baselines, split, ks=(10,), metrics=("ndcg", "precision", "recall"))
print(table.round(4).to_string(index=False))

# %%
ax = plot_comparison(table, "ndcg", k=10)
ax.set_title("Baselines on the course benchmark (591 users)")
plt.show()

# %% [markdown]
# Popularity's NDCG@10 of about 0.074 (printed above) is the bar: every model in step 4 must
# clear it, and random's near-zero score shows how much signal even "what is popular" carries.
#
# Compare the printed validation scores of recent and all-time popularity: on this protocol
# "recent" is measured against the *latest* training timestamp, but MovieLens users rated
# over 20+ years and each user's test period is their own future, not a shared calendar
# week. Trending rows pay off on a live platform where everyone's "now" is the same date;
# step 3 returns to what each split leaks and what it cannot measure.

# %% [markdown]
# ## What a production team would do
#
# > * Write the **objective down with its guardrails** before any modelling: "maximise
# >   relevant watches per session, subject to no drop in 7-day retention and p99 latency
# >   ≤ 200 ms".
# > * Log **impressions**, not only watches, so that clicks, skips and negatives exist; record
# >   the position and the model version with every impression.
# > * Use **several labels** (relevant watch, completion, explicit thumbs) as separate heads of
# >   one ranking model, combined by a tunable weighted score (multi-objective ranking).
# > * Keep an **online metric** (watch minutes, retention) as the final judge, because every
# >   offline label is a proxy.
#
# ## Summary
#
# * Each candidate target has a failure mode measured above: completion rewards short titles,
#   watch time rewards long ones, clicks reward clickbait.
# * The course predicts a **relevant watch**: rating ≥ 4 where rated, otherwise watch ≥ 60 %.
# * Retrieval is extreme multiclass next-watch prediction; ranking is pointwise classification.
# * The baselines are measured on the benchmark protocol; popularity is the bar to beat.
#
# **Next:** step 3 prepares the data — validation, EDA, point-in-time features and the split.
