# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/02_problem_framing.ipynb)
#
# # Step 2 exercises · Problem framing
#
# You will practise: turning raw feedback into labels and impressions into negatives, measuring how a threshold changes
# the positive share, implementing the popularity baseline and evaluating it on the course
# benchmark, and justifying an ML objective in writing. Each exercise ends with a check cell
# that tells you whether your answer is right.

# %%
# Colab setup: installs course_utils and fetches MovieLens when run on Google Colab; does nothing elsewhere.
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
# ## Exercise 4 · Negatives from impressions
#
# **Practise:** building negative labels from what users were shown and ignored.
#
# The home page logs every impression: `(user_id, item_id, clicked)`, one row per time a
# title was shown. Write `impression_negatives(impressions)` returning a DataFrame with
# columns `user_id` and `item_id`: every pair the user was shown at least once and clicked
# in **none** of those impressions, each pair once (row order and index do not matter).
# A title skipped on Monday and clicked on Friday is a positive for that user.
#
# <details><summary>Hint</summary>
#
# Work per (user, title) pair rather than per impression row: what must be true of all the
# impressions of a pair for it to be a negative? A groupby over both columns, or Python
# sets of pairs, both work.
# </details>

# %%
def impression_negatives(impressions):
    ### BEGIN SOLUTION
    pair = [S.USER_ID, S.ITEM_ID]
    ever_clicked = impressions.groupby(pair)["clicked"].any()
    return ever_clicked[~ever_clicked].index.to_frame(index=False)
    ### END SOLUTION


# %%
check_impression_negatives(impression_negatives)

# %% [markdown]
# How many negatives does a simulated impression log give, and how many skipped
# impressions turn out not to be negatives because the title was clicked another time?

# %%
from course_utils.design.labels import impression_negatives as course_negatives

rng = np.random.default_rng(0)
log = pd.DataFrame(
    {
        S.USER_ID: rng.integers(0, 200, 5_000),
        S.ITEM_ID: rng.zipf(1.6, 5_000) % 300,
        "clicked": rng.random(5_000) < 0.1,
    }
)
negatives_of = working_or_reference(
    impression_negatives, check_impression_negatives, course_negatives, "impression_negatives"
)
negatives = negatives_of(log)
skipped = log.loc[~log["clicked"], [S.USER_ID, S.ITEM_ID]].drop_duplicates()
print(f"impressions: {len(log):,}; skipped (user, title) pairs: {len(skipped):,}")
print(
    f"negatives: {len(negatives):,}; skipped but clicked another time: {len(skipped) - len(negatives):,}"
)

# %% [markdown]
# ## Exercise 5 · Justify the ML objective (written)
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
