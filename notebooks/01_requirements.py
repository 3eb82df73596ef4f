# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/notebooks/01_requirements.ipynb)
#
# # Step 1: Requirements — what exactly are we building?
#
# **Design question.** A streaming platform wants people to watch more, to discover more of
# its catalogue and to cancel less. Before choosing any model: what must its recommender
# do, for how many people, how fast, how fresh and under which constraints — and what does
# that cost in machines, memory and storage?
#
# **Learning objectives.** After this notebook you can
#
# 1. ask the clarifying questions a designer asks, grouped by category;
# 2. write the agreed answers down as a validated, structured object
#    (`course_utils.design.requirements.SystemRequirements`);
# 3. turn requirements into back-of-envelope capacity numbers — cores, machines, embedding
#    memory, scoring cost, a latency budget and log storage — with the tested functions of
#    `course_utils.design.capacity`;
# 4. explain why a catalogue of tens of thousands of titles calls for a **two-stage funnel**
#    (retrieval, then ranking), and sketch the serving path;
# 5. summarise all of it in the one-page design document a production team would write.

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
import dataclasses
import timeit

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from course_utils.data import schema as S
from course_utils.design import (
    LatencyBudget,
    SystemRequirements,
    ann_scoring_cost,
    brute_force_scoring_cost,
    cores_needed,
    embedding_memory_bytes,
    events_per_day,
    format_bytes,
    log_volume,
    machines_needed,
    plot_architecture,
    plot_funnel,
    plot_latency_budget,
)
from course_utils.data import load_dataset, locate_movielens

plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## 1. Business context
#
# The platform is a subscription video service with a large catalogue of films and series.
# Its home screen shows rows of titles; today they are mostly editorial ("new releases",
# "popular now"). The product team wants a personalised row and names three goals:
#
# * **more watch time** — members who find something worth watching quickly watch more;
# * **content discovery** — the catalogue was expensive to license, yet most plays go to a
#   small set of hits; good recommendations surface the long tail a member would enjoy;
# * **less churn** — members who keep finding something to watch keep paying.
#
# These are *business* metrics, measured over weeks (watch hours per member, share of the
# catalogue watched, monthly cancellation rate). A recommender influences them only through
# what it shows on each request, which is why step 2 turns them into a measurable ML
# objective and step 5 into offline metrics and an A/B test. Step 1 fixes the frame: who
# is served, how much, how fast and under which constraints.

# %% [markdown]
# ## 2. The questions a designer asks
#
# A requirements conversation is a sequence of clarifying questions. Grouping them by
# category makes it hard to forget one. The third column is what the product, data and
# legal teams answered in our case; the numbers are collected in section 4.
#
# | category | questions | what we agreed |
# |---|---|---|
# | **business objective** | What should improve, and how is it measured? Which surface shows the recommendations? What does success look like in an A/B test? | More watch time, more catalogue discovery, less churn; one personalised row on the home screen; judged by an A/B test on watch time per member. |
# | **features and feedback** | Can users like or dislike titles? Rate them? Which signals could serve as labels — plays, watch percentage, completions, likes/dislikes, searches? Do we log what was *shown* (impressions), not only what was clicked? | Thumbs up/down exist but are rare; plays with the share watched are the main implicit signal; impressions are logged so that "shown but not played" can act as a negative. |
# | **data sources and size** | Which logs exist and for how long? Catalogue metadata (genres, cast, release date)? User profile (country, age group, device)? How many events per day? | Interaction and impression logs, a catalogue table and a user profile table; sizes estimated in section 5.5. Until we have platform data we learn on MovieLens (section 3). |
# | **constraints** | Titles that may not be shown (licensing by country, maturity ratings, parental controls)? Business rules (do not repeat what was just watched)? Budget? Team size? | Country availability and maturity rating are hard filters; already-finished titles are removed; the service must run on commodity CPUs. |
# | **scale** | How many users, how many titles, how many requests at peak? How fast do they grow? | Users, titles and peak requests per second as in the requirements table (section 4). |
# | **latency and freshness** | Latency target (median and tail) for one request? How soon must a new title be recommendable? How soon must a play change the recommendations? Availability target? | Server-side p50 and p99 targets, a freshness target for new titles and for user history, and an availability target (section 4). |
# | **privacy and fairness** | Which personal data may be used, and under which consent (GDPR/CCPA)? Retention limits and deletion requests? Must new or niche titles get exposure? Are any user groups served worse? | Only first-party viewing data with consent; event logs kept for a limited time and deletable per user; no sensitive attributes as features; exposure of new titles and per-group quality monitored (step 7). |
#
# Requirements are split into **functional** ones (what the system does: return a
# personalised, filtered, de-duplicated row) and **non-functional** ones (scale, latency,
# freshness, availability, privacy). The non-functional numbers drive the architecture.

# %% [markdown]
# ## 3. What the data we have says
#
# We do not have the platform's logs yet, so the course learns on MovieLens
# (`ml-latest-small`, explicit ratings from 0.5 to 5 stars). It answers two of the
# questions above on real data: can ratings serve as like/dislike labels, and how
# concentrated is attention on a few titles?

# %%
ds = load_dataset("movielens")
ratings = ds.interactions
n_users, n_items = ratings[S.USER_ID].nunique(), ratings[S.ITEM_ID].nunique()
density = len(ratings) / (n_users * n_items)
print(ds)
print(f"rated titles: {n_items:,} of {len(ds.items):,} in the catalogue")
print(f"density: {density:.2%} of all user x title pairs carry a rating")
print(f"stars from {ratings[S.RATING].min():g} to {ratings[S.RATING].max():g}")
print(f"period: {ratings[S.TIMESTAMP].min():%Y-%m-%d} to {ratings[S.TIMESTAMP].max():%Y-%m-%d}")

# %% [markdown]
# Ratings of 4 stars and above read naturally as **likes** and 2 stars and below as
# **dislikes**; the rest is lukewarm. Popularity is summarised by the share of all ratings
# that go to the most-rated tenth of the titles.

# %%
LIKE_MIN, DISLIKE_MAX = 4.0, 2.0
stars = ratings[S.RATING]
like_share = float((stars >= LIKE_MIN).mean())
dislike_share = float((stars <= DISLIKE_MAX).mean())
print(f"likes (>= {LIKE_MIN:g} stars):    {like_share:.1%} of ratings")
print(f"dislikes (<= {DISLIKE_MAX:g} stars): {dislike_share:.1%} of ratings")

per_title = ratings[S.ITEM_ID].value_counts().to_numpy()  # sorted, most-rated first
cumulative_share = np.cumsum(per_title) / per_title.sum()
top_tenth = int(np.ceil(0.1 * len(per_title)))
print(
    f"the most-rated 10% of titles ({top_tenth:,}) receive "
    f"{cumulative_share[top_tenth - 1]:.1%} of all ratings"
)
print(f"titles rated exactly once: {(per_title == 1).mean():.1%}")

# %%
fig, (ax_stars, ax_pop) = plt.subplots(1, 2, figsize=(11, 3.6))
counts = stars.value_counts().sort_index()
colours = np.where(
    counts.index >= LIKE_MIN, "tab:green", np.where(counts.index <= DISLIKE_MAX, "tab:red", "0.6")
)
ax_stars.bar(counts.index, counts.to_numpy(), width=0.4, color=colours)
ax_stars.set(xlabel="stars", ylabel="ratings", title="Ratings as labels: dislike / neutral / like")
title_share = np.arange(1, len(per_title) + 1) / len(per_title)
ax_pop.plot(title_share, cumulative_share, color="tab:blue")
ax_pop.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="equal attention")
ax_pop.axvline(0.1, color="0.3", linestyle=":")
ax_pop.set(
    xlabel="share of titles (most-rated first)",
    ylabel="share of all ratings",
    title="Attention concentrates on a few titles",
)
ax_pop.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# Two consequences for the requirements:
#
# * explicit feedback is skewed towards likes (people rate what they chose to watch, and
#   mostly enjoyed). A platform has far more *implicit* feedback — plays and the share
#   watched — so the course treats watching as the main signal and likes/dislikes as
#   additional labels (step 2);
# * a small head of titles collects most of the attention. A recommender trained only to
#   predict popularity would reinforce it, which works against the **discovery** goal:
#   step 5 therefore measures catalogue coverage next to accuracy.

# %% [markdown]
# ## 4. The agreed requirements as a validated object
#
# Requirements scattered over meeting notes drift. Written as one frozen dataclass they
# are checked once, shared by every later step and shown the same way everywhere. The
# defaults of `SystemRequirements` are the numbers our product team agreed on.

# %%
req = SystemRequirements()
req

# %% [markdown]
# Latencies are **server side** (request received to response sent), and both the median
# and the tail are specified: with a personalised row on the home screen, the p99 is what
# the slowest one in a hundred page loads feels. The availability target becomes an
# *error budget*, the minutes of failure allowed per month. Impossible combinations are
# rejected with a message that says what was expected and what arrived:

# %%
for bad in [{"p50_ms": 80, "p99_ms": 60}, {"availability": 1.0}, {"n_items": 0}]:
    try:
        SystemRequirements(**bad)
    except ValueError as err:
        print(f"{bad} -> ValueError: {err}")

# %% [markdown]
# A variant scenario is one `dataclasses.replace` away and is validated again — the
# exercises use this one:

# %%
variant = dataclasses.replace(req, n_users=20_000_000, peak_qps=300_000)
print(variant)

# %% [markdown]
# ## 5. Back-of-envelope capacity planning
#
# Each estimate below is one line of arithmetic, implemented and unit-tested in
# `course_utils.design.capacity` so that the exercises and later steps reuse the same numbers.
# The inputs that are *assumptions* today are named in capitals; step 6 replaces the CPU
# cost per request with a measured number.

# %%
CPU_MS_PER_REQUEST = 20.0  # assumed CPU time of one request (retrieval + features + ranking)
TARGET_UTILISATION = 0.5  # headroom for bursts, a lost zone and queueing
CORES_PER_MACHINE = 32
EMBEDDING_DIM = 64
N_CANDIDATES = 500  # titles passed from retrieval to ranking (section 6)

# %% [markdown]
# ### 5.1 Compute: cores and machines
#
# One request keeps one core busy for `CPU_MS_PER_REQUEST`. At the peak, the busy cores are
# requests per second times CPU-seconds per request; planning for 50 % utilisation doubles
# that. The key line of `cores_needed`:
#
# ```python
# busy_cores = qps * (cpu_ms_per_request / 1000)
# cores = busy_cores / target_utilisation
# ```

# %%
cores = cores_needed(req.peak_qps, CPU_MS_PER_REQUEST, target_utilisation=TARGET_UTILISATION)
machines = machines_needed(cores, CORES_PER_MACHINE)
busy = req.peak_qps * CPU_MS_PER_REQUEST / 1000
print(f"busy cores at peak:  {busy:,.0f}")
print(f"cores to provision:  {cores:,.0f} (at {TARGET_UTILISATION:.0%} utilisation)")
print(f"machines:            {machines:,} x {CORES_PER_MACHINE} cores")

# %% [markdown]
# The CPU cost per request is the least certain input, and the answer scales linearly
# with it (`cores_needed` accepts arrays):

# %%
cpu_ms_grid = np.array([5.0, 10.0, 20.0, 50.0])
cores_grid = cores_needed(req.peak_qps, cpu_ms_grid, target_utilisation=TARGET_UTILISATION)
sensitivity = pd.DataFrame(
    {
        "CPU ms per request": cpu_ms_grid,
        "cores": cores_grid.round().astype(int),
        "machines": [machines_needed(c, CORES_PER_MACHINE) for c in cores_grid],
    }
)
print(sensitivity.to_string(index=False))

# %% [markdown]
# ### 5.2 Memory: embedding tables
#
# Most recommenders represent users and titles as vectors (step 4). One table of
# `n x dim` numbers costs `n x dim x bytes per value`:

# %%
memory = pd.DataFrame(
    [
        (table, f"{n:,}", dtype, format_bytes(embedding_memory_bytes(n, EMBEDDING_DIM, dtype)))
        for table, n in [("users", req.n_users), ("titles", req.n_items)]
        for dtype in ["float32", "float16"]
    ],
    columns=["table", "rows", "dtype", f"memory (dim {EMBEDDING_DIM})"],
)
print(memory.to_string(index=False))
ratio = embedding_memory_bytes(req.n_users, EMBEDDING_DIM) / embedding_memory_bytes(
    req.n_items, EMBEDDING_DIM
)
print(f"the user table is {ratio:,.0f}x the title table")

# %% [markdown]
# The title table is small enough to live in the memory of *every* serving replica. The
# user table is not: it belongs in a sharded key-value store (a feature store) from which
# a request fetches one user's vector — or the user vector is computed on the fly from
# recent history, which also serves the user-freshness requirement. That fetch is the
# "feature fetch" stage of the latency budget below.

# %% [markdown]
# ### 5.3 Scoring: brute force against an approximate index
#
# To retrieve candidates, a request scores titles by the dot product of their vectors with
# the user's vector. Brute force scores **every** title: `2 x n_items x dim` floating-point
# operations per request. An HNSW index (a navigable small-world graph, used by FAISS,
# hnswlib and most vector databases) walks about `log2(n_items)` hops and compares the
# query with about `M` neighbours per hop, i.e. roughly `M x log2(n_items)` titles. This
# is an order-of-magnitude model (it ignores the beam width `ef_search`); step 6 measures.

# %%
brute = brute_force_scoring_cost(req.n_items, EMBEDDING_DIM, req.peak_qps)
ann = ann_scoring_cost(req.n_items, EMBEDDING_DIM, req.peak_qps, m=16)
for name, cost in [("brute force", brute), ("HNSW (M=16)", ann)]:
    print(
        f"{name:<12} scores {cost.items_scored:>8,.0f} titles: "
        f"{cost.flops_per_request / 1e6:7.3f} MFLOP/request, "
        f"{cost.flops_per_second / 1e9:7.1f} GFLOP/s at peak, "
        f"reads {format_bytes(cost.bytes_per_request)}/request"
    )
print(f"HNSW scores {brute.items_scored / ann.items_scored:,.0f}x fewer titles")

# %% [markdown]
# The gap grows with the catalogue, because `log2(n)` grows so slowly:

# %%
catalogue_sizes = [50_000, 1_000_000, 100_000_000]
growth = pd.DataFrame(
    {
        "titles": catalogue_sizes,
        "brute force scores": [
            brute_force_scoring_cost(n, EMBEDDING_DIM, 1).items_scored for n in catalogue_sizes
        ],
        "HNSW scores (approx.)": [
            round(ann_scoring_cost(n, EMBEDDING_DIM, 1).items_scored) for n in catalogue_sizes
        ],
    }
)
growth["ratio"] = (growth["brute force scores"] / growth["HNSW scores (approx.)"]).round(0)
print(growth.to_string(index=False, float_format=lambda x: f"{x:,.0f}"))

# %% [markdown]
# ### 5.4 Latency budget
#
# The p99 target is split across the stages of one request. Giving each stage a p99 budget
# and requiring the budgets to add up to at most the end-to-end p99 is conservative (slow
# tails of independent stages rarely coincide), which is why it is the usual starting
# point. `LatencyBudget` refuses a plan that does not fit.

# %%
budget = LatencyBudget(
    {"network": 30, "feature fetch": 20, "retrieval": 30, "ranking": 80, "re-ranking": 15},
    p99_ms=req.p99_ms,
)
print(budget)
ax = plot_latency_budget(budget)
ax.set_title(f"Where the {req.p99_ms:g} ms of the p99 go")
plt.show()

# %%
try:
    LatencyBudget({**budget.as_dict(), "ranking": 150}, p99_ms=req.p99_ms)
except ValueError as err:
    print(f"ValueError: {err}")

# %% [markdown]
# The ranking budget decides how many candidates the ranker can afford. A ranking model
# with rich features costs, as an assumption to be measured later, about 100 µs per
# candidate:

# %%
RANK_US_PER_CANDIDATE = 100
ranking_ms = budget.as_dict()["ranking"]
affordable = int(ranking_ms * 1000 // RANK_US_PER_CANDIDATE)
print(f"assumed ranking cost: {RANK_US_PER_CANDIDATE} µs per candidate")
print(f"ranking budget: {ranking_ms:g} ms -> at most {affordable:,} candidates")
print(f"ranking {N_CANDIDATES:,} candidates: {N_CANDIDATES * RANK_US_PER_CANDIDATE / 1000:g} ms")
print(
    f"ranking the whole catalogue ({req.n_items:,} titles): "
    f"{req.n_items * RANK_US_PER_CANDIDATE / 1000:,.0f} ms"
)

# %% [markdown]
# Retrieval got its own budget. Does brute force over our catalogue fit it? Measure it on
# this machine: score all titles for one user and keep the best `N_CANDIDATES`, one
# request at a time, and the same work for a batch of users in one matrix product.
# `cores_needed` expects CPU time on *one* core, so the measurement limits numpy to a
# single thread. The numbers change from machine to machine and from run to run (other
# programs share the CPU).

# %%
# NBVAL_IGNORE_OUTPUT
rng = np.random.default_rng(0)
title_vectors = rng.standard_normal((req.n_items, EMBEDDING_DIM), dtype=np.float32)
user_vectors = rng.standard_normal((256, EMBEDDING_DIM), dtype=np.float32)


def retrieve_one(user_vector):
    scores = title_vectors @ user_vector  # n_items dot products
    return np.argpartition(-scores, N_CANDIDATES)[:N_CANDIDATES]  # unordered top candidates


def retrieve_batch(batch):
    scores = batch @ title_vectors.T  # (batch, n_items) in one matrix product
    return np.argpartition(-scores, N_CANDIDATES, axis=1)[:, :N_CANDIDATES]


def best_ms(fn, number, repeat=5):
    """Fastest of `repeat` timings of `number` calls, in ms per call."""
    return 1000 * min(timeit.repeat(fn, number=number, repeat=repeat)) / number


with threadpool_limits(limits=1):  # CPU time on one core
    one_ms = best_ms(lambda: retrieve_one(user_vectors[0]), number=20)
    per_user_batched = best_ms(lambda: retrieve_batch(user_vectors), number=2) / len(user_vectors)
print(f"one user at a time: {one_ms:.2f} ms per request")
print(f"batch of {len(user_vectors)} users: {per_user_batched:.2f} ms per request")
retrieval_ms = budget.as_dict()["retrieval"]
print(f"one at a time uses {one_ms / retrieval_ms:.1%} of the {retrieval_ms:g} ms retrieval budget")
brute_cores = cores_needed(req.peak_qps, one_ms, target_utilisation=TARGET_UTILISATION)
print(
    f"brute-force retrieval alone at {req.peak_qps:,.0f} QPS: {brute_cores:,.0f} cores "
    f"({machines_needed(brute_cores, CORES_PER_MACHINE):,} machines)"
)

# %% [markdown]
# The printed share of the retrieval budget says whether brute force is fast enough per
# request. Even where it is, every request pays it, and the core count printed last
# multiplies it out at peak. An approximate index cuts the work per request by the factor
# of section 5.3; batching can speed up the matrix product but not the top-k selection,
# so compare the two measured lines before relying on it. Both are serving decisions for
# step 6.

# %% [markdown]
# ### 5.5 Logs: how much data arrives each day
#
# Two logs feed training and monitoring: **interactions** (plays, watch progress,
# completions, likes) and **impressions** (every title shown in a row, played or not —
# the negatives of step 3). Assumptions: the share of users active on a day, events per
# active user, bytes per stored event (user, title, time, event type, watch share, device,
# session, row position, app version, ...), retention and three storage replicas. As a
# sanity check on event size, MovieLens stores one rating in fewer bytes, because it keeps
# only four fields:

# %%
csv_bytes_per_rating = (locate_movielens() / "ratings.csv").stat().st_size / len(ratings)
memory_bytes_per_rating = ratings.memory_usage(index=False).sum() / len(ratings)
print(f"MovieLens: {csv_bytes_per_rating:.1f} bytes per rating as CSV")
print(f"MovieLens: {memory_bytes_per_rating:.0f} bytes per rating in memory (4 columns)")

# %%
DAILY_ACTIVE_FRACTION = 0.3
EVENTS_PER_ACTIVE_USER = 20
BYTES_PER_EVENT, BYTES_PER_IMPRESSION = 200, 50
PEAK_TO_MEAN = 3.0  # the evening peak is about three times the daily mean load

interactions_per_day = events_per_day(req.n_users, DAILY_ACTIVE_FRACTION, EVENTS_PER_ACTIVE_USER)
impressions_per_day = req.peak_qps / PEAK_TO_MEAN * 86_400 * req.slate_size
plan = {  # log -> (events per day, bytes per event, retention in days)
    "interactions": (interactions_per_day, BYTES_PER_EVENT, 365),
    "impressions": (impressions_per_day, BYTES_PER_IMPRESSION, 30),
}
logs = {name: log_volume(*spec, replication=3) for name, spec in plan.items()}
volume = pd.DataFrame(
    {
        "events/day": [f"{events:,.0f}" for events, _, _ in plan.values()],
        "bytes/event": [size for _, size, _ in plan.values()],
        "per day": [format_bytes(v.bytes_per_day) for v in logs.values()],
        "retention (days)": [days for _, _, days in plan.values()],
        "stored (3 copies)": [format_bytes(v.bytes_stored) for v in logs.values()],
    },
    index=list(plan),
)
print(volume.to_string())

# %% [markdown]
# Impressions dwarf interactions: every request shows a full row, while only a few titles
# are played. That is why production systems keep impressions for a shorter time, sample
# them or aggregate them, and why "log what was shown" must be decided now — it cannot be
# recovered later.

# %% [markdown]
# ## 6. The two-stage funnel and the serving path
#
# Sections 5.3 and 5.4 together explain the standard shape of a recommender. Ranking the
# whole catalogue with an expensive model cannot fit the latency budget, and scoring it
# with a cheap model is affordable only approximately. So a **cheap retrieval stage**
# narrows the catalogue to a few hundred candidates and an **expensive ranking stage**
# orders those, before business rules pick the row that is shown.

# %%
funnel = [("catalogue", req.n_items), ("candidates", N_CANDIDATES), ("shown", req.slate_size)]
print(" -> ".join(f"{label} {count:,}" for label, count in funnel))
fig, (ax_funnel, ax_arch) = plt.subplots(
    1, 2, figsize=(13, 3.4), gridspec_kw={"width_ratios": [1, 2.3]}
)
plot_funnel(funnel, ax=ax_funnel, title="Two-stage funnel")
plot_architecture(
    ["app", ["retrieval\n(ANN index)", "feature\nstore"], "ranking", "re-ranking\n& filters"],
    edges=[
        ("app", "retrieval\n(ANN index)"),
        ("app", "feature\nstore"),
        ("retrieval\n(ANN index)", "ranking", f"{N_CANDIDATES}"),
        ("feature\nstore", "ranking"),
        ("ranking", "re-ranking\n& filters"),
        ("re-ranking\n& filters", "app", f"{req.slate_size} titles"),
    ],
    ax=ax_arch,
    title="Serving path (detailed in step 6)",
)
fig.tight_layout()
plt.show()

# %% [markdown]
# The re-ranking stage applies the constraints from section 2 (availability per country,
# maturity rating, nothing already finished) and diversity rules, which is also where the
# discovery goal gets a lever that does not depend on the model.

# %% [markdown]
# ## 7. The capacity sheet
#
# All derived numbers in one place; the design document below quotes only these.

# %%
sheet = pd.DataFrame(
    [
        ("peak load", f"{req.peak_qps:,.0f} requests/s"),
        ("CPU per request (assumed)", f"{CPU_MS_PER_REQUEST:g} ms"),
        (
            "cores / machines",
            f"{cores:,.0f} cores / {machines:,} machines of {CORES_PER_MACHINE} cores",
        ),
        (
            "user embeddings (float32)",
            format_bytes(embedding_memory_bytes(req.n_users, EMBEDDING_DIM)),
        ),
        (
            "title embeddings (float32)",
            format_bytes(embedding_memory_bytes(req.n_items, EMBEDDING_DIM)),
        ),
        ("retrieval work, brute force", f"{brute.flops_per_second / 1e9:,.0f} GFLOP/s at peak"),
        ("retrieval work, HNSW", f"{ann.flops_per_second / 1e9:,.1f} GFLOP/s at peak"),
        ("latency budget", f"{budget.total_ms:g} of {budget.p99_ms:g} ms allocated"),
        ("funnel", " -> ".join(f"{count:,}" for _, count in funnel)),
        ("interaction log", f"{format_bytes(logs['interactions'].bytes_per_day)}/day"),
        ("impression log", f"{format_bytes(logs['impressions'].bytes_per_day)}/day"),
        ("error budget", f"{req.error_budget_minutes():g} min per 30 days"),
    ],
    columns=["quantity", "estimate"],
)
print(sheet.to_string(index=False))

# %% [markdown]
# > **What a production team would write down: a one-page design document**
# >
# > **Goals.** Increase watch time per member and the share of the catalogue members
# > discover, and reduce churn, through one personalised row on the home screen; success is
# > decided by an A/B test on watch time per member (step 5).
# >
# > **Non-goals (for now).** Search ranking, artwork personalisation, notifications,
# > recommendations for logged-out visitors, real-time retraining of the model.
# >
# > **SLOs.** Server-side latency p50 and p99 and availability as in the requirements
# > table (section 4), measured per region at the load balancer; the error budget above
# > pauses risky launches when it is spent. Freshness: new titles recommendable within the
# > agreed day (daily index rebuild), user history reflected within the agreed minutes
# > (streamed features).
# >
# > **Capacity.** The capacity sheet above, with its assumptions named (CPU per request,
# > active share, event size) and an owner for replacing each with a measurement.
# >
# > **Design sketch.** Retrieval from an approximate index, ranking of the candidates with
# > features from a feature store, re-ranking with filters and diversity rules; offline
# > training on the interaction and impression logs.
# >
# > **Risks.** The assumed CPU cost is wrong by a large factor (measure early; the
# > sensitivity table shows the effect); feedback loops that concentrate attention on the
# > head of the catalogue (monitor coverage); cold start for new titles and members;
# > privacy (consent, retention, deletion requests); a dependency outage (a cached
# > popularity row as fallback keeps the page useful).
# >
# > **Open questions.** Which exact metric the A/B test optimises (step 2); how much of
# > the impression log to keep.

# %% [markdown]
# ## Summary
#
# * Requirements start with questions by category: business objective, features and
#   feedback, data, constraints, scale, latency and freshness, privacy and fairness.
# * The agreed numbers live in one validated object, `SystemRequirements`, which rejects
#   impossible values and prints the same table everywhere.
# * Back-of-envelope estimates turn them into costs: cores grow with requests per second
#   and CPU per request; memory grows with users (the user table is far larger than the
#   title table); brute-force scoring is fast per request but expensive at peak load;
#   impressions dominate the log volume.
# * The p99 budget per stage limits how many candidates the ranker can score, which —
#   together with the scoring cost — is why the system is a two-stage funnel.
# * Next, step 2 turns the business goals into an ML objective and labels.
