# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/02_problem_framing.ipynb)
#
# # Step 2 exercises · Problem framing
#
# You will practise: turning raw feedback into labels, measuring how a threshold changes
# the positive share, implementing the popularity baseline and evaluating it on the course
# benchmark, and justifying an ML objective in writing. Each exercise ends with a check cell
# that tells you whether your answer is right.

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
import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.exercises.step02 import (
    check_label_relevant,
    check_popularity_recommend,
    check_positive_share,
)

# %% [markdown]
# ## Exercise 1 · A label function
#
# **Practise:** combining explicit and implicit feedback into one label.
#
# Write `label_relevant(interactions, rating_threshold, watch_threshold)` that returns one
# boolean per row: where the user rated (`rating` is not NaN) the rating decides
# (`rating >= rating_threshold`); where they did not, the watch does
# (`watch_pct >= watch_threshold`).
#
# <details><summary>Hint</summary>
#
# `rated = df["rating"].notna()`; then `(rated & (df["rating"] >= r)) | (~rated & (df["watch_pct"] >= w))`.
# </details>

# %%
def label_relevant(interactions, rating_threshold=4.0, watch_threshold=60.0):
    ### BEGIN SOLUTION
    rating = interactions[S.RATING]
    rated = rating.notna()
    liked = rated & (rating >= rating_threshold)
    watched = ~rated & (interactions[S.WATCH_PCT] >= watch_threshold)
    return (liked | watched).to_numpy()
    ### END SOLUTION


check_label_relevant(label_relevant)

# %% [markdown]
# ## Exercise 2 · Positive share by threshold
#
# **Practise:** vectorised thinking (no Python loop over values).
#
# Write `positive_share(values, thresholds)` returning, for each threshold, the share of the
# non-missing `values` that are `>= threshold`.
#
# <details><summary>Hint</summary>
#
# Drop NaN with `values[~np.isnan(values)]`, then broadcast: `values[None, :] >= thresholds[:, None]`
# is a (thresholds × values) boolean matrix; take `.mean(axis=1)`.
# </details>

# %%
def positive_share(values, thresholds):
    ### BEGIN SOLUTION
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return (v[None, :] >= np.asarray(thresholds, dtype=float)[:, None]).mean(axis=1)
    ### END SOLUTION


check_positive_share(positive_share)

# %% [markdown]
# ## Exercise 3 · The popularity baseline
#
# **Practise:** implementing a baseline exactly, with its tie-breaking and exclusion rules.
#
# Write `popularity_recommend(train, user_ids, k)` returning a `(len(user_ids), k)` array of
# item ids: items ordered by training interaction count (most first, ties by the smaller
# item id), skipping the items each user already has in `train`.
#
# <details><summary>Hint</summary>
#
# `counts = train.groupby("item_id").size()`; sort with
# `counts.reset_index().sort_values([0, "item_id"], ascending=[False, True])`. For each user,
# take the first k items of that order not in the user's train set. A loop over users is fine
# here (the package's version is vectorised).
# </details>

# %%
def popularity_recommend(train, user_ids, k):
    ### BEGIN SOLUTION
    counts = train.groupby(S.ITEM_ID).size().rename("n").reset_index()
    order = counts.sort_values(["n", S.ITEM_ID], ascending=[False, True])[S.ITEM_ID].to_numpy()
    seen = train.groupby(S.USER_ID)[S.ITEM_ID].agg(set)
    rows = []
    for user in user_ids:
        have = seen.get(user, set())
        rows.append([i for i in order if i not in have][:k])
    return np.array(rows, dtype=np.int64)
    ### END SOLUTION


check_popularity_recommend(popularity_recommend)

# %% [markdown]
# Now evaluate your baseline on the course benchmark: it should reproduce the popularity
# NDCG@10 of the main notebook (about 0.074).

# %%
from course_utils.evaluation import evaluate_recommendations
from course_utils.data import benchmark_split


def evaluate_my_popularity():
    split = benchmark_split()
    recs = popularity_recommend(split.train, split.eval_users, k=10)
    per_user = evaluate_recommendations(recs, split, ks=10)
    return per_user["ndcg"].mean()


try:
    print(f"my popularity NDCG@10 on the benchmark: {evaluate_my_popularity():.4f}")
except NotImplementedError:
    print("⏳ popularity_recommend is not attempted yet")

# %% [markdown]
# ## Exercise 4 · Justify the ML objective (written)
#
# **Practise:** arguing for a training target from a business goal.
#
# The business goal changes: *"reduce churn among subscribers in their first month"*.
# Which per-(user, title) target would you train the ranking model on, which online metric
# would judge it, and what is that target's failure mode? Answer in 3-5 sentences.
#
# <details><summary>Hint</summary>
#
# Churn is a per-user, delayed outcome: you cannot label a single recommendation with it.
# Think of a per-title proxy that predicts retention and the guardrail that catches gaming.
# </details>

# %% [markdown]
# ### BEGIN SOLUTION
# **Model answer.** Churn is measured per user weeks later, so it cannot label one
# recommendation; train instead on a *relevant watch* (a like or ≥ 60 % watched) restricted
# to or up-weighted for new subscribers, because early satisfying watches predict
# retention. Judge it online with **30-day retention of new subscribers** in an A/B test, with
# watch minutes and session starts as secondary metrics. Failure mode: the model may push
# safe, very popular titles that are watched but do not build a lasting habit, narrowing
# discovery; guard with catalogue coverage and a diversity floor, and watch the retention
# metric, not only the proxy.
# ### END SOLUTION
