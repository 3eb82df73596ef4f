# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/05_evaluation.ipynb)
#
# # Step 5 exercises: ranking metrics, confidence intervals and A/B tests
#
# **What you practise**
#
# * turning the formulas of **precision@k** and **NDCG@k** into vectorised numpy code that
#   scores every user at once (no Python loop over users);
# * the edge cases that silently break offline evaluation: hits ranked below `k`, users
#   with fewer relevant items than `k`, users with **no** relevant items, a single user
#   passed as a 1-D array, and an invalid `k`;
# * reading what the two metrics reward differently;
# * putting an interval around an offline metric with the **bootstrap** over users;
# * sizing an A/B test with a **power analysis**, and measuring by simulation how much
#   **peeking** at a running test inflates its false-positive rate;
# * choosing the **guardrail metrics** that protect a launch;
# * shrinking an A/B test's variance with **CUPED** and checking its arms with a
#   **sample-ratio-mismatch** test before reading any metric.
#
# **How to work.** Fill in the code between the lines marked `# YOUR CODE HERE` and run
# the check cell below it. A check prints ✅ when your function agrees with the course's
# reference implementation (`course_utils.evaluation.metrics`, `course_utils.evaluation`,
# `course_utils.evaluation.abtest`) on several inputs, ⏳ while the exercise is untouched, and ❌ with
# the failing input, the expected and the received value and a hint otherwise. Each
# exercise has a hint you can unfold.

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
import math

import numpy as np
from scipy import stats

from course_utils.exercises.checking import working_or_reference
from course_utils.exercises.step05 import (
    check_bootstrap_ci,
    check_cuped_adjust,
    check_ndcg_at_k,
    check_peeking_false_positive_rate,
    check_precision_at_k,
    check_sample_size_two_proportions,
    check_srm_p_value,
)
from course_utils.evaluation import abtest

# %% [markdown]
# ## Theory in five lines
#
# An offline evaluation turns each user's top-$L$ recommendation list into a row of a
# boolean **hit matrix**: `hits[u, i]` is `True` when the item user $u$ got at rank $i$
# (0-based, best first) is one of the items the user actually watched in the test period.
# `n_relevant[u]` is how many test items the user has. With $h_{u,i}$ for `hits[u, i]`:
#
# $$\text{precision@}k(u) = \frac{1}{k}\sum_{i=0}^{k-1} h_{u,i}$$
#
# Precision ignores *where* in the top $k$ the hits are. **Discounted cumulative gain**
# divides each hit by the logarithm of its position, so a hit at the top counts most:
#
# $$\text{DCG@}k(u) = \sum_{i=0}^{k-1} \frac{h_{u,i}}{\log_2(i+2)}, \qquad
# \text{IDCG@}k(u) = \sum_{i=0}^{\min(k,\,n_u)-1} \frac{1}{\log_2(i+2)}, \qquad
# \text{NDCG@}k(u) = \frac{\text{DCG@}k(u)}{\text{IDCG@}k(u)}$$
#
# The ideal DCG is the best score possible for this user: all of their $n_u$ relevant
# items (at most $k$ of them) at the top. NDCG therefore lies in $[0, 1]$; a user with
# $n_u = 0$ has nothing to find and scores 0 by convention (the course reports such users
# separately rather than dividing by zero).

# %% [markdown]
# ## Exercise 1: precision@k
#
# Implement `precision_at_k(hits, k)`:
#
# * `hits` is a boolean array of shape `(n_users, L)` with `L >= k`, or a 1-D array of
#   length `L` for a single user;
# * return a float array of shape `(n_users,)`, or a single number for 1-D input;
# * raise `ValueError` when `k < 1`.
#
# <details><summary>Hint</summary>
#
# `hits[..., :k]` keeps the first `k` ranks for both 1-D and 2-D input; `.sum(axis=-1)`
# counts the hits per user. Dividing by `k` (not by `L`, not by the number of relevant
# items) gives precision.
#
# </details>

# %%
def precision_at_k(hits, k):
    """Share of the top-k recommendations that are relevant, per user."""
    ### BEGIN SOLUTION
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    top_k = np.asarray(hits, dtype=bool)[..., :k]
    return top_k.sum(axis=-1) / k
    ### END SOLUTION


# %%
check_precision_at_k(precision_at_k)

# %% [markdown]
# ## Exercise 2: NDCG@k
#
# Implement `ndcg_at_k(hits, n_relevant, k)` with binary gains as in the formulas above:
#
# * `hits` as in exercise 1; `n_relevant` is an int array of shape `(n_users,)`, or a
#   single int, giving each user's number of relevant items;
# * the ideal DCG places `min(k, n_relevant)` hits at the top;
# * users with `n_relevant == 0` score 0 (no division by zero, no `nan`);
# * return shape `(n_users,)`, or a single number for 1-D `hits`; `k < 1` raises
#   `ValueError`.
#
# <details><summary>Hint</summary>
#
# Compute the discounts once: `discounts = 1 / np.log2(np.arange(2, k + 2))` is
# $1/\log_2(i+2)$ for $i = 0, \dots, k-1$. Then `DCG = hits[..., :k] @ discounts`.
# For the ideal DCG, `np.concatenate([[0.0], np.cumsum(discounts)])[m]` is the sum of the
# first `m` discounts, so index it with `np.minimum(n_relevant, k)`. Finish with
# `np.divide(dcg, idcg, out=np.zeros(np.shape(dcg)), where=idcg > 0)`.
#
# </details>

# %%
def ndcg_at_k(hits, n_relevant, k):
    """Normalised discounted cumulative gain with binary gains, per user."""
    ### BEGIN SOLUTION
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    top_k = np.asarray(hits, dtype=bool)[..., :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))  # 1 / log2(i + 2) for ranks i = 0..k-1
    dcg = top_k @ discounts
    ideal_prefix = np.concatenate([[0.0], np.cumsum(discounts)])  # best DCG with m hits
    idcg = ideal_prefix[np.minimum(np.asarray(n_relevant), k).astype(int)]
    ndcg = np.divide(dcg, idcg, out=np.zeros(np.shape(dcg)), where=idcg > 0)
    return ndcg if ndcg.ndim else np.float64(ndcg)
    ### END SOLUTION


# %%
check_ndcg_at_k(ndcg_at_k)

# %% [markdown]
# ## A worked example you can check by hand
#
# Three users, top-4 lists, evaluated at $k = 3$:
#
# | user | hits at ranks 0..3 | relevant items |
# |------|--------------------|----------------|
# | A    | ✓ · ✓ ·            | 2              |
# | B    | · · ✓ ✓            | 4              |
# | C    | · · · ·            | 0              |
#
# By hand: A has 2 hits in the top 3, so precision@3 = 2/3; its DCG is
# $1/\log_2 2 + 1/\log_2 4 = 1.5$ and its ideal DCG (2 relevant items at the top) is
# $1 + 1/\log_2 3$. B's only hit in the top 3 is at rank 2 (the hit at rank 3 falls
# outside), so DCG $= 1/\log_2 4 = 0.5$ against an ideal of three hits. C scores 0. The
# cell below prints your functions' results next to these hand calculations.

# %%
precision_at_k_demo = working_or_reference(precision_at_k, check_precision_at_k)
ndcg_at_k_demo = working_or_reference(ndcg_at_k, check_ndcg_at_k)
hits = np.array(
    [
        [True, False, True, False],  # user A
        [False, False, True, True],  # user B
        [False, False, False, False],  # user C
    ]
)
n_relevant = np.array([2, 4, 0])
by_hand = {
    "precision@3": [2 / 3, 1 / 3, 0.0],
    "NDCG@3": [1.5 / (1 + 1 / np.log2(3)), 0.5 / (1 + 1 / np.log2(3) + 1 / np.log2(4)), 0.0],
}
yours = {
    "precision@3": precision_at_k_demo(hits, k=3),
    "NDCG@3": ndcg_at_k_demo(hits, n_relevant, k=3),
}
for metric, values in yours.items():
    print(f"{metric:<12} yours:   ", "  ".join(f"{v:.4f}" for v in values))
    print(f"{'':<12} by hand: ", "  ".join(f"{v:.4f}" for v in by_hand[metric]))
ndcg = yours["NDCG@3"]
print(f"mean NDCG@3 over all three users:   {float(np.mean(ndcg)):.4f}")
print(f"mean NDCG@3 over A and B (n_rel>0): {float(np.mean(ndcg[n_relevant > 0])):.4f}")

# %% [markdown]
# ## Exercise 3 (written): what does each metric reward?
#
# The lists `✓ · ·` and `· · ✓` have the same precision@3 (1/3) but very different
# NDCG@3 (1 and 0.5 for a user with one relevant item). On the home screen of the
# streaming service only the first two tiles of a row are visible without scrolling.
# Which of the two metrics would you put on the team's dashboard, and why? What does
# including users like C (no relevant items) do to the average, and how would you report
# them instead?
#
# <details><summary>Hint</summary>
#
# Compute both metrics for the two lists yourself, then ask which one changes when the hit moves out of the visible tiles. For users without relevant items, what is their score under any model?
# </details>
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/05_evaluation.ipynb`: try first, then compare.*

# %% [markdown]
# ### BEGIN SOLUTION
# **Model answer.** NDCG@k, with k close to what the screen shows: it rewards putting the
# relevant title in the visible first positions, while precision@k gives the same credit
# to a hit at rank 0 and at rank k-1, which is exactly the difference between the two lists.
# Precision stays useful as an easy-to-explain companion ("how many of the k tiles were
# good"). Users with no relevant items in the test period score 0 on every accuracy
# metric whatever the model does, so including them only dilutes the mean (here from
# the average of A and B to two thirds of it) and makes runs with different test splits
# incomparable; exclude them from the mean and report their count separately (and, for
# new users, evaluate cold-start behaviour with its own metric).
#
# **Rubric (2 points: half a point for each).** A good answer
#
# 1. chooses NDCG@k (k about what is visible) because position matters on the screen;
# 2. explains that precision@k gives the same credit at rank 1 and rank k;
# 3. users without relevant items score 0 whatever the model does and dilute the mean;
# 4. reports them separately (their count), and excludes them from the mean.
# ### END SOLUTION

# %% [markdown]
# # Part 2: from one number to a decision
#
# ## Exercise 4: a bootstrap confidence interval
#
# **What you practise:** quantifying how much a mean metric would move with another sample
# of users, by resampling the users themselves; drawing all resamples in one vectorised
# call; reproducible randomness through a seeded generator.
#
# The mean NDCG@10 over 591 users is one number from one sample of users. The
# **percentile bootstrap** pretends the sample is the population: draw $n$ users *with
# replacement* from the $n$ evaluated users, recompute the mean, repeat `n_boot` times and
# read the 2.5 % and 97.5 % quantiles of those means as the 95 % interval.
#
# Implement `bootstrap_ci(values, n_boot, seed)` returning `(lo, hi)` as two floats, with
# **exactly** this random procedure (so that the check can compare to the last digit):
#
# 1. `values = np.asarray(values, dtype=float)`, `n = len(values)`;
# 2. `rng = np.random.default_rng(seed)`;
# 3. `idx = rng.integers(0, n, size=(n_boot, n))` in **one** call: row `b` holds the user
#    indices of resample `b`;
# 4. `means = values[idx].mean(axis=1)`;
# 5. `lo, hi = np.quantile(means, [0.025, 0.975])` (numpy's default linear interpolation).
#
# <details><summary>Hint</summary>
#
# Fancy indexing does the resampling: `values[idx]` has shape `(n_boot, n)`, one resample
# per row, so no Python loop is needed. Drawing one resample per loop iteration, or with
# `rng.choice` on another shape, consumes the random stream differently and gives other
# (equally valid, but not comparable) numbers. Return `float(lo), float(hi)`.
#
# </details>

# %%
def bootstrap_ci(values, n_boot, seed):
    """95 % percentile bootstrap interval of the mean of ``values``: (lo, hi)."""
    ### BEGIN SOLUTION
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))  # one resample per row
    means = values[idx].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)
    ### END SOLUTION


# %%
check_bootstrap_ci(bootstrap_ci)

# %% [markdown]
# **On real data.** The cell below scores the popularity baseline on the course benchmark
# (591 users) and puts your interval around its mean NDCG@10; then it does the same for a
# random 60 users, to show how the width grows as the sample shrinks (about as
# $1/\sqrt{n}$).

# %%
bootstrap_ci_demo = working_or_reference(bootstrap_ci, check_bootstrap_ci)
from course_utils.evaluation import per_user_metrics
from course_utils.models import Popularity
from course_utils.data import benchmark_split

split = benchmark_split()
ndcg = per_user_metrics(Popularity().fit(split.train), split, ks=10)["ndcg"].to_numpy()
few = ndcg[np.random.default_rng(0).choice(len(ndcg), size=60, replace=False)]
for label, sample in ((f"all {len(ndcg)} users", ndcg), ("60 random users", few)):
    lo, hi = bootstrap_ci_demo(sample, 2000, 0)
    print(
        f"popularity NDCG@10, {label:<15}: {sample.mean():.4f}, 95% CI {lo:.4f}-{hi:.4f} (width {hi - lo:.4f})"
    )

# %% [markdown]
# ## Exercise 5: how many users does an A/B test need?
#
# **What you practise:** the power analysis that fixes an A/B test's size *before* it
# starts, for a conversion-type metric such as click-through rate (CTR).
#
# A test compares the control rate $p_A$ with the treatment rate
# $p_B = p_A (1 + \text{relative lift})$ using a two-sided two-proportion z-test at level
# $\alpha$; it should detect the lift with probability `power`. The classic normal
# approximation (pooled variance under "no difference", unpooled under the lift) gives the
# users needed **per arm**:
#
# $$n = \frac{\left(z_{1-\alpha/2}\sqrt{2\bar p(1-\bar p)} + z_{\text{power}}\sqrt{p_A(1-p_A) + p_B(1-p_B)}\right)^2}{(p_B - p_A)^2},
# \qquad \bar p = \frac{p_A + p_B}{2},$$
#
# where $z_q$ is the standard normal quantile (`stats.norm.ppf(q)`). Implement
# `sample_size_two_proportions(p_baseline, relative_lift, alpha=0.05, power=0.8)`:
#
# * return $n$ rounded **up** to a whole number of users (`math.ceil`) as an `int`;
# * a negative `relative_lift` (a decrease) is allowed;
# * raise `ValueError` when $p_B$ is not strictly between 0 and 1.
#
# <details><summary>Hint</summary>
#
# `z_crit = stats.norm.ppf(1 - alpha / 2)` and `z_power = stats.norm.ppf(power)`. Compute
# the numerator inside the square, divide by the difference of the rates, square, then
# `math.ceil`. For a 10 % baseline and a +10 % lift the answer is close to 15,000 per arm.
#
# </details>

# %%
def sample_size_two_proportions(p_baseline, relative_lift, alpha=0.05, power=0.8):
    """Users per arm for a two-sided two-proportion z-test to detect the relative lift."""
    ### BEGIN SOLUTION
    p_a = p_baseline
    p_b = p_baseline * (1 + relative_lift)
    if not 0 < p_b < 1:
        raise ValueError(f"the treatment rate must be in (0, 1); got {p_b}")
    p_bar = (p_a + p_b) / 2
    z_crit = stats.norm.ppf(1 - alpha / 2)
    z_power = stats.norm.ppf(power)
    spread = z_crit * math.sqrt(2 * p_bar * (1 - p_bar))
    spread += z_power * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    return math.ceil((spread / (p_b - p_a)) ** 2)
    ### END SOLUTION


# %%
check_sample_size_two_proportions(sample_size_two_proportions)

# %%
sample_size_two_proportions_demo = working_or_reference(
    sample_size_two_proportions, check_sample_size_two_proportions
)
for rel in (0.02, 0.05, 0.10, 0.20):
    n = sample_size_two_proportions_demo(0.10, rel)
    print(f"CTR 0.10, lift +{rel:.0%}: {n:>9,} users per arm")

# %% [markdown]
# Halving the lift roughly quadruples the sample: the detectable effect shrinks only as
# $1/\sqrt{n}$. This is why "let's detect +1 %" is rarely affordable.
#
# ## Exercise 6: the false-positive rate of peeking, by simulation
#
# **What you practise:** simulating thousands of experiments at once with numpy arrays,
# and measuring a property of a *procedure* (here: look every day, stop at the first
# significant result) rather than of one dataset.
#
# In an **A/A test** both arms have the same true rate `p`, so every "significant" result
# is a false positive. Implement
# `peeking_false_positive_rate(n_sims, n_days, users_per_day_per_arm, p, alpha=0.05, seed=0)`:
#
# 1. `rng = np.random.default_rng(seed)`; for each arm draw the daily conversions
#    `rng.binomial(users_per_day_per_arm, p, size=(n_sims, n_days))` and take the running
#    totals with `cumsum(axis=1)`;
# 2. after day `d` (0-based) each arm has `n_d = users_per_day_per_arm * (d + 1)` users;
#    compute the pooled two-proportion z statistic at every look:
#    $z = (\hat p_B - \hat p_A) / \sqrt{\bar p (1 - \bar p) \cdot 2 / n_d}$ with
#    $\bar p$ = (conversions A + conversions B) / $(2 n_d)$;
# 3. a simulated test is a false positive if $|z| > z_{1-\alpha/2}$ at **any** look;
# 4. return the share of false positives as a float.
#
# Your random draws differ from the reference's, so the check accepts rates within 0.015
# of it (about 3.5 standard errors with 20,000 simulated tests).
#
# <details><summary>Hint</summary>
#
# Keep everything as `(n_sims, n_days)` arrays: `n = users_per_day_per_arm *
# np.arange(1, n_days + 1)` broadcasts against them. `(np.abs(z) > z_crit).any(axis=1)` is
# one boolean per simulated test; its `.mean()` is the rate. With a single look the rate
# must come out close to `alpha`.
#
# </details>

# %%
def peeking_false_positive_rate(n_sims, n_days, users_per_day_per_arm, p, alpha=0.05, seed=0):
    """Share of A/A tests declared significant at some daily look."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    conv_a = rng.binomial(users_per_day_per_arm, p, size=(n_sims, n_days)).cumsum(axis=1)
    conv_b = rng.binomial(users_per_day_per_arm, p, size=(n_sims, n_days)).cumsum(axis=1)
    n = users_per_day_per_arm * np.arange(1, n_days + 1)  # users per arm after each day
    pooled = (conv_a + conv_b) / (2 * n)
    z = (conv_b - conv_a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    z_crit = stats.norm.ppf(1 - alpha / 2)
    return float((np.abs(z) > z_crit).any(axis=1).mean())
    ### END SOLUTION


# %%
check_peeking_false_positive_rate(peeking_false_positive_rate)

# %%
peeking_false_positive_rate_demo = working_or_reference(
    peeking_false_positive_rate, check_peeking_false_positive_rate
)
for looks in (1, 7, 14, 28):
    rate = peeking_false_positive_rate_demo(20_000, looks, 1000, 0.10, seed=1)
    print(f"{looks:>2} daily looks: false-positive rate {rate:.1%}")

# %% [markdown]
# ## Exercise 7 (written): choosing guardrail metrics
#
# **What you practise:** deciding what a launch must *not* break, not only what it
# should improve.
#
# The new ranker of the step-5 notebook is tested against the current one, with
# click-through rate on the home-screen rows as the primary metric. Name **four guardrail
# metrics** for this test. For each, say what harm it protects against, how it is measured
# per user (or per request), and the direction that counts as "worse". Then answer: the
# test ends with CTR significantly up (+6 %), but the churn guardrail is significantly
# worse. What do you decide, and why can a ranker raise CTR and still hurt the business?
#
# <details><summary>Hint</summary>
#
# Think of the ways a ranker can win on clicks while the user is less happy: slower pages, clickbait, repetitive titles, people leaving. Each is a guardrail; say how you would measure it per user.
# </details>
#
# *Write your answer in the cell below. A model answer and a grading rubric (2 points) are in the solution notebook, `solutions/05_evaluation.ipynb`: try first, then compare.*

# %% [markdown]
# ### BEGIN SOLUTION
# **Model answer.**
#
# | guardrail | harm it catches | measured as | worse = |
# |---|---|---|---|
# | p99 serving latency of the rows (SLO 200 ms) and error / timeout rate | a heavier model (e.g. a two-stage ranker) slows the home screen; slow pages lose sessions | latency per request, compared as p99 per arm, plus the share of requests that fall back | higher |
# | churn / cancellation rate | recommendations that satisfy less in the long run | share of users who cancel during (and after) the test | higher |
# | complaints and negative feedback ("not interested", thumbs down, support tickets about recommendations) | irrelevant, repetitive or inappropriate titles | share of users who gave negative feedback | higher |
# | watch time per user and completion rate | clickbait: more starts, fewer minutes; trailers and short titles pushed up | minutes watched per user; share of starts finished | lower |
#
# Other reasonable choices: catalogue coverage / share of plays outside the top titles
# (content costs and creator fairness), diversity of what users watch, revenue per user,
# crash rate of the client.
#
# **The decision:** don't ship. Guardrails are decided before the test precisely so that a
# primary win cannot buy a guardrail loss; a significant churn increase outweighs a CTR gain
# because CTR is only a *proxy* for the value the user gets. A ranker can raise CTR by
# promoting catchy thumbnails, short or popular titles, or by narrowing what users see,
# which ends in less satisfaction, less watch time and, after a few weeks, cancellations.
# Next steps: look at which segment churns, check for a bug or a latency regression, and
# iterate on the model; guardrails need their own power (a non-inferiority margin sized
# like the primary metric), otherwise "not significantly worse" means little.
#
# **Rubric (2 points: half a point for each).** A good answer
#
# 1. four guardrails, each with the harm it catches (e.g. latency/errors, churn, negative feedback, watch time);
# 2. each measured per user or per request, with the direction that counts as worse;
# 3. the decision: do not ship when a pre-registered guardrail (churn) is significantly worse;
# 4. why: CTR is a proxy that a ranker can raise with clickbait or narrowing, which hurts satisfaction and retention.
# ### END SOLUTION

# %% [markdown]
# ## Exercise 8: CUPED, the variance-reduced metric
#
# **What you practise:** using what you knew about each user *before* the test to remove
# noise from the test's metric, without biasing the lift.
#
# Each user has an in-test metric $y$ (e.g. minutes watched during the test) and the same
# metric from the weeks before the test, $x$. Implement `cuped_adjust(metric, covariate)`
# returning one adjusted value per user:
#
# $$y_i^{\text{cuped}} = y_i - \theta\,(x_i - \bar x), \qquad \theta = \frac{\operatorname{cov}(y, x)}{\operatorname{var}(x)}$$
#
# computed over all the users you are given (both arms pooled). The adjusted values keep
# the mean of `metric`.
#
# <details><summary>Hint</summary>
#
# `np.cov(y, x)[0, 1]` uses `ddof=1`, so divide by `np.var(x, ddof=1)`: mixing the two
# conventions scales theta by $n/(n-1)$. $\theta$ is a regression slope, not a
# correlation; centring $x$ on its mean is what keeps the mean of $y$.
#
# </details>

# %%
def cuped_adjust(metric, covariate):
    """CUPED-adjusted metric: metric - theta * (covariate - mean(covariate))."""
    ### BEGIN SOLUTION
    y = np.asarray(metric, dtype=float)
    x = np.asarray(covariate, dtype=float)
    theta = np.cov(y, x)[0, 1] / np.var(x, ddof=1)
    return y - theta * (x - x.mean())
    ### END SOLUTION


# %%
check_cuped_adjust(cuped_adjust)

# %%
watch = abtest.simulate_pre_post(4000, persistence=0.7, effect=1.5, random_state=0)
try:
    adjusted = cuped_adjust(watch["post"], watch["pre"])
    in_b = (watch["variant"] == "B").to_numpy()
    for label, values in (("plain", watch["post"].to_numpy()), ("CUPED", adjusted)):
        res = abtest.t_test_continuous(values[~in_b], values[in_b])
        print(
            f"{label:<6} lift {res.absolute_lift:+.2f} min (true +1.5), "
            f"95% CI {res.ci_low:+.2f} to {res.ci_high:+.2f}"
        )
    print(f"variance kept by CUPED: {adjusted.var() / watch['post'].var():.1%}")
except NotImplementedError:
    print("⏳ Implement cuped_adjust above to compare the intervals.")

# %% [markdown]
# ## Exercise 9: the sample-ratio-mismatch check
#
# **What you practise:** the first check of every A/B test analysis: are the arms as large
# as the design says?
#
# Implement `srm_p_value(counts, ratios=None)`: `counts` holds the users observed in each
# arm, `ratios` the planned allocation (any positive scale, e.g. `[50, 50]` or
# `[0.9, 0.1]`; equal arms when `None`). Return the p-value of Pearson's chi-squared
# goodness-of-fit test,
#
# $$\chi^2 = \sum_{\text{arms}} \frac{(O - E)^2}{E}, \qquad E = \text{total} \cdot \frac{\text{ratio}}{\sum \text{ratios}},$$
#
# with (number of arms - 1) degrees of freedom. Platforms flag a mismatch at p < 0.001.
#
# <details><summary>Hint</summary>
#
# Divide by the **expected** counts, not the observed ones; `stats.chi2.sf(chi2, df)` is
# the upper tail. The same counts can be exactly as planned under an unequal allocation
# and an extreme mismatch under a 50/50 one, so use `ratios` when it is given.
#
# </details>

# %%
def srm_p_value(counts, ratios=None):
    """p-value of the chi-squared test of the arm sizes against the planned ratios."""
    ### BEGIN SOLUTION
    observed = np.asarray(counts, dtype=float)
    share = np.ones_like(observed) if ratios is None else np.asarray(ratios, dtype=float)
    expected = observed.sum() * share / share.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(chi2, df=observed.size - 1))
    ### END SOLUTION


# %%
check_srm_p_value(srm_p_value)

# %%
try:
    for lost in (0, 300, 1_000, 2_000):
        p = srm_p_value([50_000, 50_000 - lost])
        verdict = "MISMATCH" if p < 0.001 else "ok"
        print(f"50,000 users per arm assigned, {lost:>5,} lost in B: p = {p:.3g} -> {verdict}")
except NotImplementedError:
    print("⏳ Implement srm_p_value above to see when a loss becomes detectable.")

# %% [markdown]
# ## Summary
#
# * Both ranking metrics are a few vectorised lines over the users x ranks hit matrix:
#   slice the top k, then a sum (precision) or a dot product with the log discounts (DCG).
# * NDCG's normaliser depends on each user's number of relevant items, capped at k;
#   users without relevant items need an explicit rule instead of a division by zero.
# * A bootstrap over users turns a mean metric into an interval; its width shrinks as
#   $1/\sqrt{n}$, so small evaluation samples give wide intervals.
# * An A/B test is sized before it starts; halving the detectable lift costs four times the
#   users. Looking at a running test every day and stopping at the first significant result
#   multiplies the false-positive rate; guardrails protect what the primary metric ignores.
# * CUPED subtracts what the pre-period predicts: same expected lift, less variance. An SRM
#   check on the arm sizes comes before any metric: a broken split makes every metric
#   untrustworthy, however good it looks.
# * The course's tested, reference versions live in `course_utils.evaluation.metrics`,
#   `course_utils.evaluation` and `course_utils.evaluation.abtest`.
