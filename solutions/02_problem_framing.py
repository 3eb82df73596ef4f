# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/02_problem_framing.ipynb)
#
# # Step 2 exercises · Problem framing
#
# You will practise: turning raw feedback into labels and impressions into negatives, measuring how a threshold changes
# the positive share, implementing the popularity baseline and evaluating it on the course
# benchmark, justifying an ML objective in writing, comparing two models by RMSE and by
# NDCG, and turning an impression log into negatives. Each exercise ends with a check cell
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
from course_utils.exercises.checking import working_or_reference
from course_utils.exercises.step02 import (
    check_impression_negatives,
    check_label_relevant,
    check_ndcg_from_scores,
    check_popularity_recommend,
    check_positive_share,
    check_rmse,
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
# Split the rows into two kinds, rated and unrated (`Series.notna()`), and write the rule
# for each kind as a boolean Series. How do you combine two boolean Series so that each row
# takes the verdict of its own kind? Both thresholds are inclusive.
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


# %%
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


# %%
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
# One ordering of the items serves every user: count the training interactions per item
# and sort (which two keys, in which directions?). Each user then walks down that list and
# skips what they already have. A loop over users is fine here (the package's version is
# vectorised).
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


# %%
check_popularity_recommend(popularity_recommend)

# %% [markdown]
# Now evaluate your baseline on the course benchmark: it should reproduce the popularity
# NDCG@10 of the main notebook. If your function does not pass its check yet, the cell says
# so and evaluates the course's `Popularity` model instead.

# %%
from course_utils.evaluation import evaluate_recommendations
from course_utils.models import Popularity
from course_utils.data import benchmark_split


def course_popularity(train, user_ids, k):
    return Popularity().fit(train).recommend(np.asarray(user_ids), k=k)[0]


recommend = working_or_reference(
    popularity_recommend, check_popularity_recommend, course_popularity, "popularity_recommend"
)
split = benchmark_split()
per_user = evaluate_recommendations(recommend(split.train, split.eval_users, k=10), split, ks=10)
print(f"popularity NDCG@10 on the benchmark: {per_user['ndcg'].mean():.4f}")


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
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/02_problem_framing.ipynb`: try first, then compare.*

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
#
# **Rubric (2 points: half a point for each).** A good answer
#
# 1. churn is per user and delayed, so it cannot label a single (user, title) pair; a proxy is needed;
# 2. a concrete per-title target (e.g. relevant watch, weighted towards new subscribers) with a reason it predicts retention;
# 3. the online judge is retention of new subscribers (an A/B test), with secondary metrics;
# 4. a failure mode of the proxy (popular, safe titles that do not build a habit) and a guardrail that catches it.
# ### END SOLUTION

# %% [markdown]
# ## Exercise 5 · RMSE or NDCG: which model is better?
#
# **Practise:** the difference between rating prediction and top-N ranking.
#
# Write `rmse(predicted, actual)` (root mean squared error; `ValueError` when the shapes
# differ) and `ndcg_from_scores(scores, relevant, k)`: one user's NDCG@k when the titles
# are ordered by `scores`, highest first (ties: the smaller index first), with `relevant`
# a boolean array of the same length. A hit at rank `r` earns `1/log2(r + 1)`; divide by the
# best possible DCG (`min(#relevant, k)` hits at the top); return 0 when nothing is
# relevant and raise `ValueError` when `k < 1`.
#
# <details><summary>Hint</summary>
#
# `np.sqrt(np.mean((p - a) ** 2))`. For NDCG: `order = np.argsort(-scores, kind="stable")[:k]`,
# `discounts = 1 / np.log2(np.arange(2, k + 2))`, `dcg = (relevant[order] * discounts[:len(order)]).sum()`.
# </details>

# %%
def rmse(predicted, actual):
    ### BEGIN SOLUTION
    p, a = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    if p.shape != a.shape:
        raise ValueError(f"predicted and actual must have the same shape; got {p.shape}, {a.shape}")
    return float(np.sqrt(np.mean((p - a) ** 2)))
    ### END SOLUTION


def ndcg_from_scores(scores, relevant, k):
    ### BEGIN SOLUTION
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    relevant = np.asarray(relevant, dtype=bool)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((relevant[order] * discounts[: len(order)]).sum())
    ideal = float(discounts[: min(int(relevant.sum()), k)].sum())
    return dcg / ideal if ideal > 0 else 0.0
    ### END SOLUTION


# %%
_ = check_rmse(rmse)
_ = check_ndcg_from_scores(ndcg_from_scores)

# %% [markdown]
# Now use both on one user and two models. The user rated six titles; titles 0 and 1 are
# the ones they loved (relevant). Model A predicts every rating within half a star but
# slightly under-rates the two favourites; model B's predictions are far off in scale but
# put the favourites first. Which model has the lower RMSE, and which the higher NDCG@2?

# %%
true_ratings = np.array([5.0, 5.0, 4.5, 4.5, 3.0, 2.0])
loved = true_ratings == 5.0
model_a = np.array([4.5, 4.6, 4.7, 4.8, 3.2, 2.1])
model_b = np.array([3.0, 2.9, 2.0, 1.9, 1.0, 0.5])
try:
    for name, pred in [("A", model_a), ("B", model_b)]:
        print(
            f"model {name}: RMSE {rmse(pred, true_ratings):.3f}, "
            f"NDCG@2 {ndcg_from_scores(pred, loved, 2):.3f}"
        )
except NotImplementedError:
    print("⏳ rmse / ndcg_from_scores are not attempted yet")

# %% [markdown]
# ### BEGIN SOLUTION
# **Model answer.** Model A wins on RMSE (its predictions are close on every title) and loses
# on NDCG@2 (0: it ranks two good-but-not-loved titles above the favourites); model B is
# the opposite. A home-screen row only shows the order of the top titles, so the ranking
# metric is the one to optimise; notebook 02 measures the same disagreement on MovieLens.
# ### END SOLUTION

# %% [markdown]
# ## Exercise 6 · Negatives from an impression log
#
# **Practise:** turning "shown but not played" into training negatives, without mislabelling.
#
# Write `impression_negatives(impressions, plays, label_days)` returning a DataFrame with
# `user_id`, `item_id`, `timestamp`: the impressions with `played == False`, **except** those
# whose title the user played before the impression or within `label_days` after it (a title
# shown tonight and watched tomorrow is not a dislike; a title already watched is not a
# useful negative). `impressions` has `user_id, item_id, timestamp, position, played`;
# `plays` has `user_id, item_id, timestamp`.
#
# <details><summary>Hint</summary>
#
# `first = plays.groupby(["user_id", "item_id"])["timestamp"].min()`; join it on the shown
# rows; drop the rows where `first < timestamp + pd.Timedelta(days=label_days)`.
# </details>

# %%
def impression_negatives(impressions, plays, label_days=7.0):
    ### BEGIN SOLUTION
    shown = impressions.loc[~impressions["played"], [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]]
    first = plays.groupby([S.USER_ID, S.ITEM_ID])[S.TIMESTAMP].min().rename("first_play")
    shown = shown.join(first, on=[S.USER_ID, S.ITEM_ID])
    window_end = shown[S.TIMESTAMP] + pd.Timedelta(days=label_days)
    keep = shown["first_play"].isna() | (shown["first_play"] >= window_end)
    return shown.loc[keep, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]].reset_index(drop=True)
    ### END SOLUTION


# %%
_ = check_impression_negatives(impression_negatives)
