# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/06_deployment.ipynb)
#
# # Step 6 exercises · Deployment and serving
#
# You will practise: re-ranking a list for **diversity with MMR**, reading **latency
# percentiles** per stage from a request log, writing the **cold-start routing rule** of the
# service, and deciding between **nightly batch** and **online** serving for two product
# surfaces. Each exercise ends with a check cell that tells you whether your answer is
# right; the last one is a written question with a model answer.

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
from course_utils.benchmark.serving import batch_vs_online
from course_utils.data import benchmark_split, load_dataset
from course_utils.exercises.checking import working_or_reference
from course_utils.exercises.step06 import (
    check_cache_hit_rate,
    check_mmr_rerank,
    check_route_request,
    check_stage_percentiles,
)
from course_utils.models import PureSVD
from course_utils.monitoring import RequestLog
from course_utils.serving import RecommendationService

movielens = load_dataset("movielens")
split = benchmark_split()
model = PureSVD(n_factors=32).fit(split.train)
log = RequestLog()
service = RecommendationService.from_model(model, movielens.items, mmr_lambda=1.0, request_log=log)
print(service)

# %% [markdown]
# The service above serves a PureSVD retriever on MovieLens with the course's
# `RecommendationService` (step 6 notebook), with diversity re-ranking switched off
# (`mmr_lambda=1.0`). The exercises rebuild three of its parts and size its cache.
#
# ## Exercise 1 · Diversity by maximal marginal relevance
#
# **Practise:** a greedy re-ranking rule that trades relevance for variety.
#
# Write `mmr_rerank(scores, item_vectors, k, lambda_)` returning the **indices** of the `k`
# items chosen, in the order chosen. At each step pick the item `i` not chosen yet that
# maximises
#
# $$\lambda \cdot \mathrm{score}_i - (1 - \lambda) \max_{j \in \text{chosen}} \cos(v_i, v_j),$$
#
# where the max over an empty list is 0 (only then: once an item is chosen, a negative
# cosine counts as it is) and a zero vector has cosine 0 with everything. Ties go to the
# smaller index (what `np.argmax` does).
#
# <details><summary>Hint</summary>
#
# All cosines at once: normalise the rows (what about a zero row?) and take one matrix
# product. Keep, for every item, its largest similarity to the items chosen so far, and
# update it after each pick. What should it hold *before* the first pick, so that the
# first update gives exactly the similarities to the first item, negative ones included?
# The loop runs over the `k` picks, never over the items.
# </details>

# %%
def mmr_rerank(scores, item_vectors, k: int, lambda_: float = 0.7) -> np.ndarray:
    ### BEGIN SOLUTION
    s = np.asarray(scores, dtype=float)
    V = np.asarray(item_vectors, dtype=float)
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    unit = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)
    sim = unit @ unit.T
    redundancy = np.full(len(s), -np.inf)  # max over the chosen items; none chosen yet
    available = np.ones(len(s), dtype=bool)
    chosen = []
    for _ in range(k):
        penalty = np.where(np.isneginf(redundancy), 0.0, redundancy)  # empty max -> 0
        objective = np.where(available, lambda_ * s - (1 - lambda_) * penalty, -np.inf)
        best = int(np.argmax(objective))
        chosen.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, sim[best])
    return np.array(chosen)
    ### END SOLUTION


# %%
check_mmr_rerank(mmr_rerank)

# %% [markdown]
# Once it passes, re-rank a real list: the 50 best PureSVD candidates of one user, with
# genre multi-hot vectors as the item vectors. Scores are min-max scaled to [0, 1] first,
# so that they live on the scale of the cosine. The **intra-list similarity** (mean cosine
# between the genre vectors of two titles of the top 10) falls as `lambda_` falls: the list
# repeats itself less, at the price of lower-scored titles.

# %%
mmr_rerank_demo = working_or_reference(mmr_rerank, check_mmr_rerank)
genres = movielens.items.set_index(S.ITEM_ID)[S.GENRES]
titles = movielens.items.set_index(S.ITEM_ID)[S.TITLE]
vocab = np.unique(np.concatenate(genres.to_numpy()))
pool = service.recommend(int(split.eval_users[0]), k=50)["items"]
ids = np.array([item["item_id"] for item in pool])
scores = np.array([item["score"] for item in pool])
vectors = np.array([np.isin(vocab, genres[i]) for i in ids], dtype=float)
unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
relevance = (scores - scores.min()) / (scores.max() - scores.min())
for lam in (1.0, 0.7, 0.4):
    top = mmr_rerank_demo(relevance, vectors, 10, lam)
    sim = unit[top] @ unit[top].T
    ils = (sim.sum() - 10) / (10 * 9)
    print(
        f"lambda_={lam}: intra-list similarity {ils:.3f}, mean relevance {relevance[top].mean():.3f}"
    )
    print("   " + "; ".join(titles[ids[top[:4]]]))

# %% [markdown]
# ## Exercise 2 · Latency percentiles per stage
#
# **Practise:** reading a request log the way an on-call engineer does.
#
# Write `stage_percentiles(latencies, q=(50, 95, 99))`. `latencies` is a DataFrame with one
# row per request and one column per stage (milliseconds); a stage that did not run for a
# request (a cold-start request has no ranking) holds `NaN` and must be ignored. Return a
# DataFrame indexed by the stage names (in column order) with one column per percentile,
# named `"p50"`, `"p95"`, `"p99"`, using linear interpolation between order statistics
# (NumPy's and pandas' default).
#
# <details><summary>Hint</summary>
#
# Which NumPy or pandas percentile functions skip `NaN`? Whichever you use, check which axis
# holds the stages in its result, and name the columns from `q`.
# </details>

# %%
def stage_percentiles(latencies: pd.DataFrame, q=(50, 95, 99)) -> pd.DataFrame:
    ### BEGIN SOLUTION
    values = np.nanpercentile(latencies.to_numpy(dtype=float), q, axis=0)
    return pd.DataFrame(values.T, index=latencies.columns, columns=[f"p{p:g}" for p in q])
    ### END SOLUTION


# %%
check_stage_percentiles(stage_percentiles)

# %% [markdown]
# Now on a real log: serve 1,000 requests (20% from unknown users), then read the log the
# service filled. The numbers depend on the machine, so they differ from run to run.

# %%
# NBVAL_IGNORE_OUTPUT
stage_percentiles_demo = working_or_reference(stage_percentiles, check_stage_percentiles)
rng = np.random.default_rng(0)
users = rng.choice(split.eval_users, 1000)
users = np.where(rng.random(1000) < 0.2, 10**7 + np.arange(1000), users)
for user in users:
    service.recommend(int(user), k=20)
frame = log.to_frame()
latencies = frame.filter(like="latency_").rename(columns=lambda c: c[len("latency_") : -len("_ms")])
print(stage_percentiles_demo(latencies).round(3))

# %% [markdown]
# ## Exercise 3 · The cold-start routing rule
#
# **Practise:** deciding which path answers a request before any model runs.
#
# Write `route_request(is_known, n_history, min_history=3)` returning one of three strings:
#
# * `"personalised"` when the user is known to the model **and** has at least
#   `min_history` items (stored history plus the request's recent items);
# * otherwise `"cold_start_content"` when there is at least one history item (recommend
#   titles whose content resembles it);
# * otherwise `"cold_start_popularity"` (nothing is known: show what is popular).
#
# <details><summary>Hint</summary>
#
# Two `if`s: check the personalised condition first, then whether any history exists.
# </details>

# %%
def route_request(is_known: bool, n_history: int, min_history: int = 3) -> str:
    ### BEGIN SOLUTION
    if is_known and n_history >= min_history:
        return "personalised"
    return "cold_start_content" if n_history >= 1 else "cold_start_popularity"
    ### END SOLUTION


# %%
check_route_request(route_request)

# %% [markdown]
# Your rule against the service's answers for three real requests:

# %%
route_request_demo = working_or_reference(route_request, check_route_request)
known = int(split.eval_users[1])
requests = [
    {"user_id": known},
    {"user_id": 10**9, "history": [1, 260]},
    {"user_id": 10**9},
]
for request in requests:
    answer = service.handle({**request, "k": 5})
    n_history = len(request.get("history", [])) + (
        int(model.seen_[model.users_.index([known])].nnz) if request["user_id"] == known else 0
    )
    mine = route_request_demo(request["user_id"] == known, n_history)
    print(f"{str(request):45} service: {answer['source']:22} yours: {mine}")


# %% [markdown]
# ## Exercise 4 · How much traffic does a cache absorb?
#
# **Practise:** sizing a cache from a popularity distribution.
#
# The home-screen row of an unknown user depends only on the title they came from, so the
# service can cache one response per title. A cache that always holds the `capacity` most
# requested titles answers exactly their requests. Write
# `cache_hit_rate(request_counts, capacity)`: the share of all requests a cache of
# `capacity` entries serves, given one request count per title. Raise `ValueError` when a
# count is negative, there are no requests at all, or `capacity` is not an integer `>= 0`.
#
# <details><summary>Hint</summary>
#
# Which titles would you keep if you could keep only `capacity` of them? The hit rate is
# their share of **all** requests. What should capacity 0 give, and a capacity larger than
# the catalogue?
# </details>

# %%
def cache_hit_rate(request_counts, capacity: int) -> float:
    ### BEGIN SOLUTION
    counts = np.asarray(request_counts, dtype=float)
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 0:
        raise ValueError(f"capacity must be an int >= 0; got {capacity!r}")
    if (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("request counts must be >= 0 with at least one request")
    return float(np.sort(counts)[::-1][:capacity].sum() / counts.sum())
    ### END SOLUTION


# %%
check_cache_hit_rate(cache_hit_rate)

# %% [markdown]
# On MovieLens, counting one request per rating as a stand-in for demand: how much of the
# traffic would caches of 1 %, 5 % and 20 % of the catalogue absorb?

# %%
from course_utils.serving.cache import cache_hit_rate as course_hit_rate

hit_rate = working_or_reference(
    cache_hit_rate, check_cache_hit_rate, course_hit_rate, "cache_hit_rate"
)
demand = split.train[S.ITEM_ID].value_counts().to_numpy()
for share in (0.01, 0.05, 0.20):
    capacity = int(share * len(demand))
    print(
        f"cache of {capacity:5,} titles ({share:4.0%} of {len(demand):,}): hit rate {hit_rate(demand, capacity):.3f}"
    )

# %% [markdown]
# ## Exercise 5 · Batch or online? (written)
#
# **Practise:** choosing a serving mode from cost, freshness and who is active.
#
# The platform has 100M members. Two product teams ask for recommendations:
#
# 1. **a weekly email** "10 titles for you this week", sent on Monday morning to every member
#    who opted in (60M);
# 2. **the home-screen row**, 100K requests per second at peak, which must reflect a play
#    within **5 minutes** (step 1's freshness requirement).
#
# The table below prices both modes with illustrative numbers: online, 5 ms of CPU per
# request; nightly batch, 1 ms of CPU per user (one matrix product scores many users at
# once). For each surface, choose batch, online or a mix, and justify it with cost,
# freshness and waste in 4-6 sentences.

# %%
print(batch_vs_online(batch_cpu_ms_per_user=1.0, online_cpu_ms_per_request=5.0).to_string())


# %% [markdown]
# <details><summary>Hint</summary>
#
# Who reads the result, and how soon after the data changes? A batch job computes a list for
# every user whether they come back or not; an online request only for the user who is
# there. Storage and staleness are costs too.
# </details>
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/06_deployment.ipynb`: try first, then compare.*

# %% [markdown]
# ### BEGIN SOLUTION
# **Model answer.** The **weekly email is a batch job**: it is read hours after it is
# computed anyway, so minutes of freshness buy nothing, and 60M users at about 1 ms each is
# roughly 17 CPU core-hours once a week, cheap enough to run on spare capacity with no
# latency guarantee. The **home-screen row must be served online**: a nightly list is up to
# 24 hours stale and cannot reflect a play within 5 minutes, so it violates the freshness
# requirement however cheap it is. Online is far more expensive (the table: about 24,000
# provisioned core-hours a day against 28 for a nightly run, because peak traffic means
# billions of requests a day, many per member), which is why teams keep everything that
# does not depend on the latest play offline: item embeddings, feature tables and an ANN
# index refreshed nightly, a precomputed popularity list as the fallback; and only the
# user-dependent scoring, ranking and filtering run per request.
#
# **Rubric (2 points: half a point for each).** A good answer
#
# 1. the weekly email is batch: read hours later, freshness buys nothing, cheap (about 1 ms per user);
# 2. the home-screen row is online: a nightly list cannot reflect a play within 5 minutes;
# 3. uses the table's costs: online is far more expensive per day, batch computes lists for users who never come back;
# 4. the mix: precompute what does not depend on the latest play (embeddings, ANN index, features, popularity fallback); score per request.
# ### END SOLUTION

# %% [markdown]
# ## Exercise 6 · Recall of an approximate nearest-neighbour search
#
# **Practise:** measuring what an ANN index gives up against exact search (notebook 06,
# section 10).
#
# Write `recall_at_k(approx, exact, k)`. `approx` and `exact` are integer arrays of shape
# `(n_queries, L)`: for each query, the item indices returned by an approximate index and by
# exact search, best first. The approximate index writes `-1` where it found fewer than `L`
# items. Return the mean over the queries of
#
# `|{first k of approx row} ∩ {first k of exact row}| / k`
#
# as a float. Order within the top-k does not matter; `-1` matches nothing; an item found
# for *another* query does not count. Raise `ValueError` when `k` is larger than the number
# of columns of either array.
#
# <details><summary>Hint</summary>
#
# Loop over the rows with `zip(approx, exact)`: `set(a[:k]) & set(e[:k])`, without `-1`,
# divided by `k`; then `np.mean`. Or vectorised: `(e[:, :, None] == a[:, None, :]).any(axis=2)`
# on the first `k` columns.
# </details>

# %%
def recall_at_k(approx: np.ndarray, exact: np.ndarray, k: int) -> float:
    ### BEGIN SOLUTION
    approx, exact = np.asarray(approx), np.asarray(exact)
    if k > min(approx.shape[1], exact.shape[1]):
        raise ValueError(f"k must be <= the columns of both arrays; got k={k}")
    found = [len((set(a[:k].tolist()) - {-1}) & set(e[:k].tolist())) for a, e in zip(approx, exact)]
    return float(np.mean(found) / k)
    ### END SOLUTION


# %%
from course_utils.exercises.step06 import check_recall_at_k

check_recall_at_k(recall_at_k)

# %% [markdown]
# Now on real vectors: "more like this" for 300 MovieLens titles, searched among the PureSVD
# item factors of the model above with an HNSW index (faiss) at three `efSearch` values, and
# scored by your function against exact search.

# %%
from course_utils.serving.index import ExactIndex, HNSWIndex, faiss_threads

item_vectors = model.item_factors_.astype(np.float32)
probe = item_vectors[np.random.default_rng(5).choice(len(item_vectors), 300, replace=False)]
with faiss_threads(1):
    exact_top, _ = ExactIndex().build(item_vectors).search(probe, 50)
    hnsw = HNSWIndex(M=8, ef_construction=40).build(item_vectors)
    for ef in (50, 100, 400):
        hnsw.ef_search = ef
        approx_top, _ = hnsw.search(probe, 50)
        try:
            print(f"efSearch={ef:4d}: recall@50 = {recall_at_k(approx_top, exact_top, 50):.3f}")
        except NotImplementedError:
            print("⏳ recall_at_k is not attempted yet")
            break
