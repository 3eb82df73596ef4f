# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/exercises/01_requirements.ipynb)
#
# # Step 1 exercises: capacity planning for a variant platform
#
# **What you practise**
#
# * turning requirements into resources with one line of arithmetic each: CPU cores and
#   machines from the peak load, the part of a p99 latency target left for ranking, and the
#   memory of an embedding table at two precisions;
# * checking your inputs the way the course package does (a clear `ValueError` instead of a
#   silently wrong number);
# * reading which requirement drives which cost.
#
# **How to work.** Fill in the code between the lines marked `# YOUR CODE HERE` and run
# the check cell below it. A check prints ✅ when your function agrees with the course's
# reference implementation (`course_utils.design.capacity`) on several inputs, ⏳ while the
# exercise is untouched, and ❌ with the failing input, the expected and the received
# value and a hint otherwise. Each exercise has a hint you can unfold.

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

from course_utils.design import LatencyBudget, format_bytes, machines_needed, plot_latency_budget
from course_utils.exercises.checking import working_or_reference
from course_utils.exercises.step01 import (
    CORES_PER_MACHINE,
    CPU_MS_PER_REQUEST,
    MOBILE_FIXED_STAGES,
    MOBILE_P99_MS,
    VARIANT,
    check_cores_needed,
    check_embedding_memory_bytes,
    check_peak_qps,
    check_remaining_budget_ms,
    check_variant_machines,
)

plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## The scenario
#
# A second platform asks for the same recommender: a regional service with fewer members
# but a much sharper evening peak. Everything else — catalogue, latency, freshness and
# availability targets — stays as in the step 1 notebook. The requirements object prints
# the agreed numbers, and the assumptions of the notebook carry over:

# %%
print(VARIANT)
print(f"\nCPU time per request (from its stages, as in notebook 01): {CPU_MS_PER_REQUEST:g} ms")
print(f"cores per machine:            {CORES_PER_MACHINE}")

# %% [markdown]
# ## Exercise 1: cores and machines for the variant
#
# Implement `cores_needed(qps, cpu_ms_per_request, target_utilisation=0.5)`:
#
# * each request keeps one core busy for `cpu_ms_per_request` milliseconds;
# * the cores run at `target_utilisation` on average, so you provision more than the busy
#   cores (headroom for bursts, a lost zone and queueing);
# * return the (fractional) number of cores;
# * raise `ValueError` when `target_utilisation` is not in (0, 1].
#
# <details><summary>Hint</summary>
#
# Requests per second times CPU-*seconds* per request is the number of cores busy at every
# instant. Dividing by the utilisation gives the cores to provision: at 50 % utilisation,
# twice the busy cores. Watch the units: the CPU time is given in milliseconds.
#
# </details>

# %%
def cores_needed(qps, cpu_ms_per_request, target_utilisation=0.5):
    """CPU cores to provision for `qps` requests per second."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
_ = check_cores_needed(cores_needed)

# %% [markdown]
# Now use your function for the variant: how many machines of `CORES_PER_MACHINE` cores
# does its peak load need at `CPU_MS_PER_REQUEST` and the default utilisation? Write
# `variant_machines(peak_qps, cpu_ms_per_request, cores_per_machine)` (the variant's values
# are the defaults) with your `cores_needed`; a machine is bought whole, and
# `machines_needed(cores, cores_per_machine)` from `course_utils.design.capacity` rounds up. The
# check tries other loads and machine sizes too, and says so if the problem is in your
# `cores_needed`.
#
# <details><summary>Hint</summary>
#
# `VARIANT.peak_qps` is the load. The number of users does not appear in this calculation
# at all — compute scales with requests, not with accounts.
#
# </details>

# %%
def variant_machines(
    peak_qps=VARIANT.peak_qps,
    cpu_ms_per_request=CPU_MS_PER_REQUEST,
    cores_per_machine=CORES_PER_MACHINE,
):
    """Machines a platform needs at its peak (the variant's, by default)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
_ = check_variant_machines(variant_machines, cores_needed)

# %% [markdown]
# ## Exercise 2: a latency budget for the mobile app
#
# The mobile team wants a tighter p99 than the web page. Network, feature fetch, retrieval
# and re-ranking budgets are already agreed (printed below); ranking gets whatever is left.
#
# Implement `remaining_budget_ms(p99_ms, stages)`:
#
# * `stages` maps stage names to their budgets in milliseconds;
# * return how many milliseconds of `p99_ms` are left after all the stages;
# * raise `ValueError` when the stages already exceed `p99_ms` (exactly 0 left is fine).
#
# <details><summary>Hint</summary>
#
# `sum(stages.values())` is the time already allocated. A negative remainder must not be
# returned: it would let a later stage believe it has a budget. Say in the error message
# what the stages add up to and what the target is.
#
# </details>

# %%
print(f"mobile p99 target: {MOBILE_P99_MS:g} ms")
for stage, ms in MOBILE_FIXED_STAGES.items():
    print(f"  {stage:<14} {ms:g} ms")


# %%
def remaining_budget_ms(p99_ms, stages):
    """Milliseconds of the p99 target left after the given stages."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
_ = check_remaining_budget_ms(remaining_budget_ms)

# %% [markdown]
# With a working function, the ranking budget, the number of candidates a ranker costing
# 100 µs per candidate can afford, and the full budget drawn by the course package (which
# validates the plan again):

# %%
remaining_budget_ms_demo = working_or_reference(remaining_budget_ms, check_remaining_budget_ms)
RANK_US_PER_CANDIDATE = 100
ranking_ms = remaining_budget_ms_demo(MOBILE_P99_MS, MOBILE_FIXED_STAGES)
affordable = int(ranking_ms * 1000) // RANK_US_PER_CANDIDATE  # integer µs: no float floor trap
print(f"ranking budget: {ranking_ms:g} ms")
print(f"candidates at {RANK_US_PER_CANDIDATE} µs each: at most {affordable:,}")
mobile = LatencyBudget({**MOBILE_FIXED_STAGES, "ranking": ranking_ms}, p99_ms=MOBILE_P99_MS)
ax = plot_latency_budget(mobile)
ax.set_title("Mobile latency budget")
plt.show()

# %% [markdown]
# ## Exercise 3: embedding memory at float16 and float32
#
# Implement `embedding_memory_bytes(n, dim, dtype="float32")`: the bytes of an `n x dim`
# table whose values have type `dtype` (a string such as `"float16"` or a numpy dtype).
# Then compare the variant's user table at both precisions.
#
# <details><summary>Hint</summary>
#
# `np.dtype(dtype).itemsize` is the number of bytes per value: 4 for float32, 2 for
# float16, 1 for int8. Multiply by the number of values.
#
# </details>

# %%
def embedding_memory_bytes(n, dim, dtype="float32"):
    """Bytes of an n x dim embedding table of the given dtype."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
_ = check_embedding_memory_bytes(embedding_memory_bytes)

# %%
embedding_memory_bytes_demo = working_or_reference(
    embedding_memory_bytes, check_embedding_memory_bytes
)
EMBEDDING_DIM = 64
for dtype in ["float32", "float16"]:
    size = embedding_memory_bytes_demo(VARIANT.n_users, EMBEDDING_DIM, dtype)
    print(f"variant user table, {dtype}: {format_bytes(size)}")
for dtype in [np.float32, np.float16]:
    print(f"{np.dtype(dtype).name} keeps about {np.finfo(dtype).precision} significant digits")

# %% [markdown]
# ## Exercise 3b: peak QPS from the user base
#
# Before trusting a peak-load requirement, derive it from the users. Implement
# `peak_qps(daily_active_users, sessions_per_day, requests_per_session, peak_to_mean)`:
# the requests of a day spread over its seconds (`24 * 60 * 60`) give the mean load, and the evening
# peak is `peak_to_mean` times the mean. Raise `ValueError` when `peak_to_mean < 1`.
# Then use it: the variant's 20M members, 30 % active per day, 1.5 sessions, 20 rows per
# session and a peak-to-mean of 4.5 — does that support its 300K requests/s?
#
# <details><summary>Hint</summary>
#
# `daily_active_users * sessions_per_day * requests_per_session / 86_400 * peak_to_mean`.
#
# </details>

# %%
def peak_qps(daily_active_users, sessions_per_day, requests_per_session, peak_to_mean):
    """Peak requests per second implied by the user base."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
_ = check_peak_qps(peak_qps)
try:
    derived = peak_qps(0.3 * VARIANT.n_users, 1.5, 20, 4.5)
    print(
        f"derived peak {derived:,.0f} requests/s vs the variant's {VARIANT.peak_qps:,.0f} "
        f"({VARIANT.peak_qps / derived:,.0f}x the derived peak)"
    )
except NotImplementedError:
    print("⏳ peak_qps is not attempted yet")

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown]
# ## Exercise 4 (written): which requirement drives which cost?
#
# Compared with the course platform, the variant has fewer users and a higher peak load.
# In three or four sentences: which of the estimates above changed, in which direction,
# and why? What does float16 cost you in exchange for the memory it saves?
#
# <details><summary>Hint</summary>
#
# Sort the estimates of this notebook by what drives them: requests per second, number of accounts, or a product decision. Then think about what a number with about three significant digits does to two scores that are almost equal.
# </details>
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/01_requirements.ipynb`: try first, then compare.*

# %% [markdown]
# YOUR ANSWER HERE
