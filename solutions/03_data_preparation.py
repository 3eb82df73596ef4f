# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/03_data_preparation.ipynb)
#
# # Step 3 exercises · Data preparation
#
# You will practise: implementing the benchmark's per-user temporal split, computing a
# user feature **as of a cutoff** without looking past it, measuring the long tail with the
# Gini coefficient, and finding a leaking feature in a table a teammate built. Each
# exercise ends with a check cell that tells you whether your answer is right.

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

from course_utils import features
from course_utils.data import schema as S
from course_utils.data import benchmark_split, load_dataset
from course_utils.exercises.checking import working_or_reference
from course_utils.exercises.step03 import (
    check_asof_user_features,
    check_gini,
    check_leaky_feature,
    check_per_user_train_mask,
    check_user_history_features,
    suspect_item_table,
)

movielens = load_dataset("movielens")
ratings, movies = movielens.interactions, movielens.items
print(movielens)

# %% [markdown]
# ## Exercise 1 · The per-user temporal split
#
# **Practise:** implementing a split protocol exactly, vectorised with pandas.
#
# Write `per_user_train_mask(interactions, train_frac=0.8)` returning a boolean NumPy array,
# one value per row **in the original row order**: `True` for the rows that go to train.
# Each user's interactions are ordered by `(timestamp, item_id)` (the item id breaks ties
# between equal timestamps) and the first `ceil(train_frac * n)` of the user's `n`
# interactions go to train. Raise `ValueError` unless `0 < train_frac < 1`.
#
# <details><summary>Hint</summary>
#
# `ordered = interactions.sort_values(["user_id", "timestamp", "item_id"])`;
# `ordered.groupby("user_id").cumcount()` numbers each user's rows 0, 1, 2, ...;
# `groupby(...)["item_id"].transform("size")` gives each row its user's `n`. Compare, then
# bring the result back to the original order with `.reindex(interactions.index)`.
# Floating point: `0.28 * 25` is `7.000000000000001`, whose ceiling is 8, so use
# `np.ceil(train_frac * n - 1e-9)`.
# </details>

# %%
def per_user_train_mask(interactions: pd.DataFrame, train_frac: float = 0.8) -> np.ndarray:
    ### BEGIN SOLUTION
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac must be in (0, 1); got {train_frac}")
    ordered = interactions.sort_values([S.USER_ID, S.TIMESTAMP, S.ITEM_ID], kind="stable")
    by_user = ordered.groupby(S.USER_ID)
    position = by_user.cumcount()
    n = by_user[S.ITEM_ID].transform("size")
    in_train = position < np.ceil(train_frac * n - 1e-9)
    return in_train.reindex(interactions.index).to_numpy(dtype=bool)
    ### END SOLUTION


# %%
check_per_user_train_mask(per_user_train_mask)

# %% [markdown]
# Once it passes, your split reproduces the course benchmark on MovieLens:

# %%
per_user_train_mask_demo = working_or_reference(per_user_train_mask, check_per_user_train_mask)
mask = per_user_train_mask_demo(ratings, 0.8)
bench = benchmark_split()
print(
    f"your split: {mask.sum():,} train / {(~mask).sum():,} test rows; "
    f"benchmark: {len(bench.train):,} / {len(bench.test):,}"
)

# %% [markdown]
# ## Exercise 2 · A point-in-time user feature
#
# **Practise:** computing features as a feature store serves them, with no peek at the future.
#
# Write `user_history_features(interactions, cutoff)` returning a DataFrame with one row
# per user (user ids as the index, or as a `user_id` column; any row order) and the columns
# `n_interactions`, `mean_rating` and `days_since_last`, using **only interactions strictly
# before** `cutoff` (a UTC `pd.Timestamp`).
# `mean_rating` ignores missing ratings; `days_since_last` is the time from the user's last
# interaction before the cutoff to the cutoff, in (fractional) days. Users with no
# interaction before the cutoff do not appear.
#
# <details><summary>Hint</summary>
#
# Filter first, then aggregate per user: a count, a mean that skips missing ratings, and the
# time between the last event and the cutoff. Subtracting timestamps gives a `Timedelta`;
# dividing it by `pd.Timedelta(days=1)` turns it into fractional days.
# </details>

# %%
def user_history_features(interactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    ### BEGIN SOLUTION
    past = interactions[interactions[S.TIMESTAMP] < cutoff]
    by_user = past.groupby(S.USER_ID)
    return pd.DataFrame(
        {
            "n_interactions": by_user.size(),
            "mean_rating": by_user[S.RATING].mean(),
            "days_since_last": (cutoff - by_user[S.TIMESTAMP].max()) / pd.Timedelta(days=1),
        }
    )
    ### END SOLUTION


# %%
check_user_history_features(user_history_features)

# %% [markdown]
# ## Exercise 3 · The Gini coefficient of popularity
#
# **Practise:** quantifying the long tail with one number.
#
# Write `gini(counts)` for a 1-D array (or list) of non-negative interaction counts per
# item. With the counts sorted ascending, `x_1 <= ... <= x_n`:
#
# $$G = \frac{2 \sum_{i=1}^{n} i\, x_i}{n \sum_i x_i} - \frac{n + 1}{n}$$
#
# It is 0 when every item is equally popular and approaches 1 when one item takes everything.
#
# <details><summary>Hint</summary>
#
# `x = np.sort(np.asarray(counts, dtype=float))`, `i = np.arange(1, len(x) + 1)`; the rest
# is the formula. Return a plain `float`.
# </details>

# %%
def gini(counts) -> float:
    ### BEGIN SOLUTION
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = x.size
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * x.sum()) - (n + 1) / n)
    ### END SOLUTION


# %%
check_gini(gini)

# %% [markdown]
# ## Exercise 4 · Find the leaking feature
#
# **Practise:** auditing a feature table for point-in-time correctness.
#
# A teammate built item features "as of" the cutoff below for a model trained on the
# ratings before it. One column was computed on **all** ratings, including those after the
# cutoff. Write `leaky_feature(suspect, interactions, items, cutoff)` returning the name of
# the leaking column of the table `suspect`, found with code: the check tries it on other
# tables, in which other columns leak.
#
# <details><summary>Hint</summary>
#
# What would an honest table look like? `course_utils.features` computes item features as
# of a cutoff. Compare the two tables column by column, and decide how missing values
# (NaN) should compare.
# </details>

# %%
cutoff = ratings[S.TIMESTAMP].quantile(0.8)
suspect = suspect_item_table(ratings, movies, cutoff)
print(f"cutoff {cutoff:%Y-%m-%d}")
suspect.head()


# %%
def leaky_feature(suspect, interactions, items, cutoff) -> str:
    ### BEGIN SOLUTION
    honest = features.item_features(interactions, items, cutoff)
    differs = [
        column
        for column in suspect.columns
        if not np.allclose(suspect[column], honest[column], equal_nan=True)
    ]
    return differs[0]
    ### END SOLUTION


# %%
check_leaky_feature(leaky_feature)

# %% [markdown]
# ## Exercise 5 · Choose a split for the platform (written)
#
# **Practise:** arguing for an evaluation protocol and naming what it leaks.
#
# On the streaming platform events arrive continuously and every user is active for months.
# Which split would you use to compare two retrieval models offline, why, and what could
# still leak into it? Answer in 3-5 sentences.
#
# <details><summary>Hint</summary>
#
# Think about what the model will face online: it is trained up to some day and then serves
# the following days. Then look for information that exists in your training data but would
# not exist at serving time (features, catalogue, popularity).
# </details>
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/03_data_preparation.ipynb`: try first, then compare.*

# %% [markdown]
# ### BEGIN SOLUTION
# **Model answer.** Use a **global temporal split with a rolling window**: train on
# everything before day T, test on the following week, and repeat for several T (backtesting),
# because that is exactly the situation online: a model trained up to yesterday serving
# today, with new titles and trends it has not seen. Unlike MovieLens, users here are active
# across the cutoff, so enough users remain evaluable. Leaks to avoid: item and user
# features must be computed **as of T** (no popularity or mean rating that includes the test
# week), the candidate set must contain only titles released before T, and hyperparameters
# are tuned on a window before the test window, never on it.
#
# **Rubric (2 points: half a point for each).** A good answer
#
# 1. a global temporal split (train before T, test after), ideally repeated over several T (backtesting);
# 2. the reason: it reproduces serving (trained up to yesterday, serving today, with new titles and trends);
# 3. features must be computed as of T (no popularity or mean rating that includes the test window);
# 4. other leaks named: titles released after T in the candidates, tuning on the test window.
# ### END SOLUTION

# %% [markdown]
# ## Exercise 6 · An as-of join that does not leak
#
# **Practise:** building the ranker's training features per event, point in time.
#
# Write `asof_user_features(examples, interactions)` returning a DataFrame with one row per
# row of `examples` (same order) and the columns `user_n` and `user_mean_rating`: the
# number of the user's interactions **strictly before** the example's `timestamp`, and the
# mean of their (non-missing) ratings among them (NaN when there is none). `examples` has
# `user_id` and `timestamp`; `interactions` has `user_id, item_id, rating, timestamp`. An
# example that *is* an interaction must not see itself, nor anything later.
#
# <details><summary>Hint</summary>
#
# Sort the interactions by time; per user, cumulative count and cumulative rating sum give a
# snapshot after every event (keep the last per `(user_id, timestamp)`). Then
# `pd.merge_asof(left, snapshots, on="timestamp", by="user_id", allow_exact_matches=False)`
# with both sides sorted by time; restore the examples' order and fill the count with 0.
# </details>

# %%
def asof_user_features(examples, interactions):
    ### BEGIN SOLUTION
    snap = interactions.sort_values(S.TIMESTAMP, kind="stable")
    rated = snap[S.RATING].notna().astype(int)
    snap = pd.DataFrame(
        {
            S.USER_ID: snap[S.USER_ID],
            S.TIMESTAMP: snap[S.TIMESTAMP],
            "user_n": snap.groupby(S.USER_ID).cumcount() + 1,
            "n_rated": rated.groupby(snap[S.USER_ID]).cumsum(),
            "rating_sum": snap[S.RATING].fillna(0.0).groupby(snap[S.USER_ID]).cumsum(),
        }
    )
    snap = snap.groupby([S.USER_ID, S.TIMESTAMP], as_index=False).last()
    snap["user_mean_rating"] = snap["rating_sum"] / snap["n_rated"].where(snap["n_rated"] > 0)
    left = examples[[S.USER_ID, S.TIMESTAMP]].reset_index(drop=True)
    left["row"] = np.arange(len(left))
    joined = pd.merge_asof(
        left.sort_values(S.TIMESTAMP, kind="stable"),
        snap.sort_values(S.TIMESTAMP, kind="stable")[
            [S.USER_ID, S.TIMESTAMP, "user_n", "user_mean_rating"]
        ],
        on=S.TIMESTAMP,
        by=S.USER_ID,
        allow_exact_matches=False,
    ).sort_values("row")
    return pd.DataFrame(
        {
            "user_n": joined["user_n"].fillna(0).astype(int).to_numpy(),
            "user_mean_rating": joined["user_mean_rating"].to_numpy(),
        }
    )
    ### END SOLUTION


# %%
_ = check_asof_user_features(asof_user_features)
