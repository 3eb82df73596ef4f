# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/exercises/04_model_development.ipynb)
#
# # Step 4 exercises · Model development
#
# You will practise: the closed-form ALS update for one user, the EASE closed form, the
# shrunk item-item cosine of item-kNN, min-max score blending for a hybrid, a cold-start
# fallback rule, candidate recall of a retrieval stage, one ranking feature computed
# point-in-time, spotting a leak in a ranker's training window, and item content (user
# tags) as of a cutoff. Each coded exercise
# ends with a check cell that tells you whether your answer is right; after it, your
# function is put to work on MovieLens.

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
from course_utils.models import (
    ALS,
    ContentBased,
    Popularity,
    PureSVD,
    Vocabulary,
    interaction_matrix,
    retrieve,
)
from course_utils.data import benchmark_split, load_dataset
from course_utils.exercises.checking import working_or_reference
from course_utils.exercises.step04 import (
    check_als_user_update,
    check_cosine_item_similarity,
    check_ease_closed_form,
)
from course_utils.exercises.step04_extra import check_cold_start_scores, check_minmax_rows
from course_utils.exercises.step04b import check_candidate_recall, check_point_in_time_feature
from course_utils.exercises.step04_content import check_item_tags_as_of
from course_utils.features import catalogue_as_of

plt.rcParams["figure.dpi"] = 80
movielens = load_dataset("movielens")
movies = movielens.items
split = benchmark_split()
train = split.train
title_of = movies.set_index(S.ITEM_ID)[S.TITLE]
print(split)


def movie_id(title: str) -> int:
    return int(movies.loc[movies[S.TITLE] == title, S.ITEM_ID].iloc[0])


# %% [markdown]
# ## Exercise 1 · The closed-form ALS update for one user
#
# **Practise:** turning a weighted ridge regression into three lines of linear algebra.
#
# With the item factors $Y$ (shape `(n_items, f)`) fixed, one user's factors in implicit ALS
# (Hu, Koren and Volinsky 2008) are
#
# $$x_u = \big(Y^\top Y + Y^\top (C_u - I) Y + \lambda I\big)^{-1} Y^\top C_u\, p_u ,$$
#
# where $C_u = \operatorname{diag}(c_u)$ holds the user's confidences (1 for items without
# interaction) and $p_u$ their 0/1 preferences. Write `als_user_update(Y, YtY, c_u, p_u, reg)`
# returning $x_u$ (shape `(f,)`); `YtY` is $Y^\top Y$, precomputed once for all users.
#
# <details><summary>Hint</summary>
#
# Never build the `n_items x n_items` matrix $C_u$: `(Y.T * (c_u - 1)) @ Y` is
# $Y^\top (C_u - I) Y$ because multiplying `Y.T` by a row vector scales its columns. The
# right-hand side is `Y.T @ (c_u * p_u)`. Solve with `np.linalg.solve(A, b)` instead of
# inverting `A`.
# </details>

# %%
def als_user_update(Y, YtY, c_u, p_u, reg):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_als_user_update(als_user_update)

# %% [markdown]
# Your update also serves a **brand-new user without retraining** ("fold-in"): fit ALS once,
# then solve for a user who has just rated three Pixar films 5 stars.

# %%
als_user_update_demo = working_or_reference(als_user_update, check_als_user_update)
als = ALS().fit(train)
Y = als.item_factors_.astype(np.float64)
liked = [movie_id(t) for t in ["Toy Story", "Finding Nemo", "Monsters, Inc."]]
r_new = np.zeros(als.n_items_)
r_new[als.items_.index(np.array(liked))] = 5.0
x_new = als_user_update_demo(
    Y, Y.T @ Y, 1.0 + als.alpha * r_new, (r_new > 0).astype(float), als.regularization
)
scores = Y @ x_new
scores[als.items_.index(np.array(liked))] = -np.inf
print("top 5 for the new user:", title_of[als.items_.ids(np.argsort(-scores)[:5])].tolist())

# %% [markdown]
# ## Exercise 2 · The EASE closed form
#
# **Practise:** a constrained least-squares problem whose solution is one matrix inverse.
#
# EASE (Steck 2019) learns item-item weights $B$ with $\operatorname{diag}(B) = 0$ minimising
# $\|X - XB\|_F^2 + \lambda\|B\|_F^2$. With $G = X^\top X$ and $P = (G + \lambda I)^{-1}$:
#
# $$B_{ij} = -\frac{P_{ij}}{P_{jj}} \;(i \ne j), \qquad B_{jj} = 0 .$$
#
# Write `ease_closed_form(G, reg)` returning $B$. Do not modify `G` in place: callers reuse
# the Gram matrix (for instance to try several `reg` values), and the check fails an answer
# that changes it.
#
# <details><summary>Hint</summary>
#
# Build $P$ first (a new array, so `G` stays intact). Dividing a matrix by a 1-D array
# broadcasts over its **last** axis: which axis holds the $j$ of $P_{jj}$? Then enforce the
# constraint on the diagonal.
# </details>

# %%
def ease_closed_form(G, reg):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_ease_closed_form(ease_closed_form)

# %% [markdown]
# On MovieLens, restricted to the 1,000 most-rated titles (so the inverse takes a blink),
# which titles does watching *The Matrix* raise most?

# %%
ease_closed_form_demo = working_or_reference(ease_closed_form, check_ease_closed_form)
users, items = Vocabulary(train[S.USER_ID].to_numpy()), Vocabulary(train[S.ITEM_ID].to_numpy())
X = interaction_matrix(train, users, items)  # 0/1 users x items
top = np.argsort(-np.asarray(X.sum(axis=0)).ravel(), kind="stable")[:1000]
X_top = X[:, top].toarray()
top_ids = items.ids(top)
matrix = int(np.flatnonzero(top_ids == movie_id("Matrix, The"))[0])
B = ease_closed_form_demo(X_top.T @ X_top, 100.0)
print("EASE:", title_of[top_ids[np.argsort(-B[matrix])[:5]]].tolist())

# %% [markdown]
# ## Exercise 3 · Shrunk cosine item similarity
#
# **Practise:** the similarity behind "people who watched this also watched", vectorised.
#
# Item-kNN compares item columns $X_i$ of the user-item matrix:
#
# $$\operatorname{sim}(i, j) = \frac{X_i^\top X_j}{\|X_i\|\,\|X_j\| + s},$$
#
# with shrinkage $s \ge 0$ pulling pairs seen together only a few times towards 0. Write
# `cosine_item_similarity(X, shrinkage)` for a dense array `X` (users x items) returning the
# full `(n_items, n_items)` matrix, diagonal included. An item nobody interacted with has
# similarity 0 to everything (not NaN).
#
# <details><summary>Hint</summary>
#
# `norms = np.linalg.norm(X, axis=0)`; numerator `X.T @ X`; denominator
# `np.outer(norms, norms) + shrinkage`; divide with
# `np.divide(num, den, out=np.zeros_like(num), where=den > 0)`.
# </details>

# %%
def cosine_item_similarity(X, shrinkage=0.0):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_cosine_item_similarity(cosine_item_similarity)

# %% [markdown]
# The neighbours of *Toy Story* among the same 1,000 titles, without and with shrinkage
# (shrinkage favours pairs backed by many common users):

# %%
cosine_item_similarity_demo = working_or_reference(
    cosine_item_similarity, check_cosine_item_similarity
)
toy_story = int(np.flatnonzero(top_ids == movie_id("Toy Story"))[0])
for s in [0.0, 50.0]:
    sim = cosine_item_similarity_demo(X_top, s)
    np.fill_diagonal(sim, -np.inf)
    print(f"shrinkage {s:>4}:", title_of[top_ids[np.argsort(-sim[toy_story])[:5]]].tolist())

# %% [markdown]
# ## Exercise 4 · Min-max blending for a hybrid
#
# **Practise:** putting two models' scores on one scale before blending them.
#
# A collaborative model's scores and a content model's cosine similarities live on very
# different scales, so the hybrid rescales **each user's row** to [0, 1] first:
#
# $$\operatorname{minmax}(s)_i = \frac{s_i - \min_j s_j}{\max_j s_j - \min_j s_j}.$$
#
# Write `minmax_rows(scores)` for a 2-D array (users x items). Only **finite** entries count
# for the min and max (`-inf` marks titles the user has already seen) and become 0; a row
# whose finite entries are all equal becomes all 0.
#
# <details><summary>Hint</summary>
#
# `finite = np.isfinite(s)`; `lo = np.where(finite, s, np.inf).min(axis=1, keepdims=True)`
# and the same with `-np.inf` and `max` for `hi`; then
# `np.divide(s - lo, hi - lo, out=np.zeros_like(s), where=(hi - lo > 0) & finite)`.
# </details>

# %%
def minmax_rows(scores):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_minmax_rows(minmax_rows)

# %% [markdown]
# Why it matters: the raw scores of PureSVD and of the content model have different ranges
# (PureSVD's even go negative), so in an unnormalised 50/50 blend the model with the larger
# spread decides alone.

# %%
minmax_rows_demo = working_or_reference(minmax_rows, check_minmax_rows)
# titles both models know, with tags as of each user's train cutoff (point in time)
catalogue = catalogue_as_of(movies, movielens.tags, interactions=train)
svd = PureSVD().fit(train)
content = ContentBased(items=catalogue, tag_events=movielens.tags).fit(train)
popularity = Popularity().fit(train)
some_users = split.eval_users[:3]
cols = content.items_.index(svd.items_.ids_)  # content columns in PureSVD's item order
svd_scores = svd.score_matrix(some_users, exclude_seen=True)
content_scores = content.score_matrix(some_users, exclude_seen=True)[:, cols]
for name, s in [("PureSVD", svd_scores), ("content", content_scores)]:
    finite = s[np.isfinite(s)]
    print(f"{name:8s} scores range from {finite.min():8.3f} to {finite.max():8.3f}")
blended = 0.5 * minmax_rows_demo(svd_scores) + 0.5 * minmax_rows_demo(content_scores)
print(
    "first user's blended top 5:",
    title_of[svd.items_.ids(np.argsort(-blended[0])[:5])].tolist(),
)

# %% [markdown]
# ## Exercise 5 · A cold-start fallback rule
#
# **Practise:** writing down, as code, what a recommender does for users it barely knows.
#
# A *switching* hybrid (the course's `Hybrid` with its `min_history` parameter) serves a
# user according to their number of training interactions $n_u$:
#
# * $n_u = 0$ (unknown user): **popularity**, the fallback of every model;
# * $0 < n_u <$ `min_history`: **content** scores alone (a profile is meaningful after one title);
# * otherwise: the **blended** scores.
#
# Write `cold_start_scores(n_history, popularity, content, blended, min_history=3)`: the
# score arrays have one row per user (same shape), `n_history` one entry per user; return the
# array of chosen rows.
#
# <details><summary>Hint</summary>
#
# Turn the history lengths into a column, `n = np.asarray(n_history)[:, None]`, so that the
# conditions broadcast over the items, then
# `np.select([n == 0, n < min_history], [popularity, content], default=blended)`.
# </details>

# %%
def cold_start_scores(n_history, popularity, content, blended, min_history=3):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_cold_start_scores(cold_start_scores)

# %% [markdown]
# Notebook 04 (section 1.11) measured this rule on MovieLens: new users with 1, 3 or 5
# ratings, served by popularity, content, PureSVD, a hybrid that blends with weight 0.99
# and a hybrid that switches at 3. In a few sentences: on this data, is switching users with one or two
# ratings to the content model a good rule? What would you choose instead, and how would
# you choose `min_history` without touching the test set?
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/04_model_development.ipynb`: try first, then compare.*

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown]
# ## Exercise 6 · Candidate recall, the ceiling of a two-stage system
#
# **Practise:** measuring the retrieval stage by what the ranker can still reach.
#
# Write `candidate_recall(candidates, split)`: `candidates` is a DataFrame with (at least)
# `user_id` and `item_id`, one row per proposed title (duplicates possible when several
# sources propose it); return a pandas Series indexed by `split.eval_users` with, for each
# evaluated user, the share of their relevant test titles (`split.relevant`) that are among
# their candidates (0 for a user without candidates).
#
# <details><summary>Hint</summary>
#
# `found = split.relevant.merge(candidates[["user_id", "item_id"]].drop_duplicates(),
# on=["user_id", "item_id"])` keeps the relevant pairs that were retrieved; count them per
# user with `groupby("user_id").size()`, `reindex(split.eval_users, fill_value=0)` and divide
# by `split.n_relevant` (aligned with `split.eval_users`).
# </details>

# %%
def candidate_recall(candidates, split):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_candidate_recall(candidate_recall)

# %% [markdown]
# Your function on the benchmark: how much of the test can the top 100 of PureSVD, of
# popularity, and of their union still reach?

# %%
candidate_recall_demo = working_or_reference(candidate_recall, check_candidate_recall)
sources = {"PureSVD": svd, "popularity": popularity}
lists = {name: retrieve({name: model}, split.eval_users, n=100) for name, model in sources.items()}
lists["union"] = pd.concat(lists.values())
for name, cands in lists.items():
    print(f"{name:10s} candidate recall@100 = {candidate_recall_demo(cands, split).mean():.3f}")

# %% [markdown]
# ## Exercise 7 · A ranking feature, point-in-time
#
# **Practise:** computing a feature as it was when the user was active, with no look at the
# future.
#
# The ranker's feature `item_pop_at_user` counts how often the candidate title had been rated
# **strictly before the user's own last interaction** $t_u$ (MovieLens spans 1996-2018: for a
# user last active in 2001, what was popular in 2018 is the future). Write
# `item_popularity_at_user(interactions, candidates)` returning a float array aligned with the
# candidate rows:
#
# * $t_u$ = the user's last timestamp in `interactions`;
# * the value = number of rows of `interactions` with the candidate's `item_id` and a
#   timestamp **strictly before** $t_u$ (every user's rows count, the user's own included);
# * candidates of users without interactions get NaN; titles never rated get 0.
#
# <details><summary>Hint</summary>
#
# `t_u = interactions.groupby("user_id")["timestamp"].max()`; give each candidate row its
# user's `t_u` with `candidates["user_id"].map(t_u)`; merge the candidates (with a row number)
# with `interactions[["item_id", "timestamp"]]` on `item_id`, keep the rows with
# `timestamp < t_u`, count per row number, `reindex` to all rows with 0, and set NaN where
# `t_u` is missing.
# </details>

# %%
def item_popularity_at_user(interactions, candidates):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_point_in_time_feature(item_popularity_at_user)

# %% [markdown]
# Why it matters: the ten most-rated titles of the training data, for the user whose last
# rating is closest to mid-2000, counted as of that user's time and over all of train.

# %%
item_popularity_at_user_demo = working_or_reference(
    item_popularity_at_user, check_point_in_time_feature
)
last_seen = train.groupby(S.USER_ID)[S.TIMESTAMP].max()
early_user = int((last_seen - pd.Timestamp("2000-06-01", tz="UTC")).abs().idxmin())
popular_now = train[S.ITEM_ID].value_counts().index[:10].to_numpy()
pairs = pd.DataFrame({S.USER_ID: early_user, S.ITEM_ID: popular_now})
as_of_user = item_popularity_at_user_demo(train, pairs)
print(f"user {early_user} last rated on {last_seen[early_user]:%Y-%m-%d}")
print(
    pd.DataFrame(
        {
            "title": title_of[popular_now].to_numpy(),
            "ratings before the user's time": as_of_user.astype(int),
            "ratings in all of train": train[S.ITEM_ID].value_counts().iloc[:10].to_numpy(),
        }
    ).to_string(index=False)
)

# %% [markdown]
# ## Exercise 8 (written) · A leak in the ranker's training window
#
# A teammate built the ranker's training data with the pipeline below (positions in one
# user's ratings in time order; the two other rows are unchanged from notebook 04). Offline,
# their ranker beats the retrievers by a wide margin on the validation users; on the test
# window the lift disappears.

# %%
spans = [  # (row, start %, stop %, colour)
    ("ranker training:\nretrievers + features", 0, 80, "tab:blue"),
    ("ranker training:\nlabels", 64, 80, "tab:orange"),
    ("serving:\nretrievers + features", 0, 80, "tab:green"),
    ("benchmark test", 80, 100, "tab:red"),
]
fig, ax = plt.subplots(figsize=(7.5, 2.6))
for row, (_, start, stop, colour) in enumerate(spans[::-1]):
    ax.barh(row, stop - start, left=start, color=colour, alpha=0.75)
ax.set_yticks(range(len(spans)), [s[0] for s in spans[::-1]], fontsize=9)
ax.set_xlabel("share of the user's ratings, in time order (%)")
ax.set_title("The teammate's training window")
plt.show()

# %% [markdown]
# What leaks, which features are affected, why does the offline lift vanish on test, and
# how do you fix the pipeline?
#
# <details><summary>Hint</summary>
#
# Compare the windows row by row: which inputs of a training row were computed from ratings that are also its labels? What is different about those inputs at serving time?
# </details>
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/04_model_development.ipynb`: try first, then compare.*

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown]
# ## Exercise 9 · Item tags as of a cutoff
#
# **Practise:** building item content that uses only what was known at a cutoff.
#
# MovieLens users tag a title after watching it, and most tags in `tags.csv` were applied
# after the tagging user's train cutoff: a title's all-time tag list tells a model what
# some users went on to watch in the test period. `movielens.tags` keeps every tag event
# (`user_id`, `item_id`, `tag`, `timestamp`). Write `item_tags_as_of(tag_events, cutoffs)`
# returning a dict `{item_id: sorted list of unique tags}`, where `cutoffs` is a Series of
# timestamps indexed by `user_id` (each user's own train cutoff):
#
# * keep a tag event only if its timestamp is **at or before** the tagging user's cutoff;
# * a user with no cutoff (not in train) contributes nothing;
# * each item's tags are unique and sorted; items with no tag left are absent.
#
# <details><summary>Hint</summary>
#
# Give every tag event the cutoff of the user who applied it (a lookup by `user_id`; a user
# without a cutoff gets a missing value), compare it with the event's own time, then group
# what is left by title. Mind the two edge cases the text names: "at or before", and users
# without a cutoff.
# </details>

# %%
def item_tags_as_of(tag_events, cutoffs):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check_item_tags_as_of(item_tags_as_of)

# %% [markdown]
# Why it matters: the tags of a few well-known titles with every tag ever applied, and as
# of each tagging user's train cutoff.

# %%
cutoffs = train.groupby(S.USER_ID)[S.TIMESTAMP].max()
try:
    as_of = item_tags_as_of(movielens.tags, cutoffs)
    n_all = movies[S.TAGS].str.len().gt(0).sum()
    print(
        f"titles with a tag: {n_all:,} with every tag ever applied, {len(as_of):,} as of the cutoffs"
    )
    for title in ["Toy Story", "Pulp Fiction", "Fight Club"]:
        item = movie_id(title)
        all_tags = movies.set_index(S.ITEM_ID).at[item, S.TAGS]
        print(f"{title}: {len(all_tags)} tags ever, {len(as_of.get(item, []))} as of the cutoffs")
except NotImplementedError:
    print("⏳ item_tags_as_of is not attempted yet")

