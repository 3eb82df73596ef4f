"""Checks for the step 6 exercises (deployment and serving).

* ``mmr_rerank(scores, item_vectors, k, lambda_)``: diversity re-ranking by maximal
  marginal relevance, checked against :func:`course_utils.serving.mmr_rerank`;
* ``stage_percentiles(latencies, q)``: per-stage latency percentiles of a request log,
  checked against pandas' ``DataFrame.quantile``;
* ``route_request(is_known, n_history, min_history)``: the cold-start routing rule,
  checked against :func:`course_utils.serving.route_request`;
* ``cache_hit_rate(request_counts, capacity)``: the share of requests a cache of the most
  requested keys absorbs, checked against :func:`course_utils.serving.cache.cache_hit_rate`.
* ``recall_at_k(approx, exact, k)``: how much of the exact top-k an approximate
  nearest-neighbour search found, checked against
  :func:`course_utils.serving.index.recall_at_k`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils.exercises.checking import Case, CheckResult, check_function, with_reference
from course_utils.serving import cache, index, rerank, service

__all__ = [
    "check_cache_hit_rate",
    "check_mmr_rerank",
    "check_recall_at_k",
    "check_route_request",
    "check_stage_percentiles",
]

MMR_HINT = (
    "Similarity is the cosine (unit vectors; a zero vector is similar to nothing). An item's "
    "redundancy is its MAX similarity to the items already chosen (0 while none is chosen; "
    "a negative cosine stays negative). Each step picks the best objective among the items "
    "not chosen yet; ties go to the smaller index."
)
PERCENTILE_HINT = (
    "One row per stage, one column per requested percentile, named like 'p50'. A stage a "
    "request did not run is NaN and must not count. Interpolate linearly between ranks "
    "(numpy's and pandas' default)."
)
CACHE_HINT = (
    "Which keys does the best cache of `capacity` entries hold? Its hit rate is their share "
    "of ALL requests. Think about capacity 0 and a capacity larger than the number of keys."
)
ROUTE_HINT = (
    "Three outcomes: 'personalised' when the user is known AND n_history >= min_history; "
    "otherwise 'cold_start_content' when there is at least one history item to build a "
    "content profile from; otherwise 'cold_start_popularity'."
)

RECALL_HINT = (
    "For each query row, count how many of the first k exact items appear among the first "
    "k approximate items (order does not matter: use sets or np.isin on that row only; -1 "
    "means 'not found' and matches nothing), divide by k, and average over the rows. "
    "Compare row by row: an item found for another query does not count."
)


# --------------------------------------------------------------------------- MMR
def check_mmr_rerank(fn: Callable) -> CheckResult:
    """Check ``mmr_rerank(scores, item_vectors, k, lambda_)`` against the course's MMR.

    Examples
    --------
    >>> ok = check_mmr_rerank(rerank.mmr_rerank)  # doctest: +ELLIPSIS
    ✅ mmr_rerank: passed 8 checks
    ...
    """
    rng = np.random.default_rng(6)
    genres = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=float)
    scores = np.array([1.0, 0.95, 0.5, 0.7, 0.2])
    cases = [
        Case(scores, genres, 3, 1.0, label="lambda_=1 keeps the score order"),
        Case(scores, genres, 3, 0.5, label="lambda_=0.5 skips the near-duplicate"),
        Case(scores, genres, 5, 0.3, label="all items, strong diversity"),
        Case(scores, genres, 1, 0.0, label="k=1: the first pick"),
        Case(
            np.array([0.9, 0.5, 0.2]),
            np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]),
            2,
            0.5,
            label="a negative cosine lowers redundancy below 0 (no clamping)",
        ),  # fmt: skip
        Case(
            np.array([0.9, 0.8, 0.1]),
            np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]),
            3,
            0.5,
            label="a zero vector is similar to nothing",
        ),  # fmt: skip
        Case(
            rng.random(40),
            rng.integers(0, 2, (40, 8)).astype(float),
            10,
            0.7,
            label="40 random candidates, 8 genres (seed 6)",
        ),  # fmt: skip
        Case(
            rng.random(30),
            rng.normal(size=(30, 5)),
            30,
            0.5,
            label="30 candidates with real-valued vectors, k = n",
        ),  # fmt: skip
    ]
    return check_function(
        fn, reference=rerank.mmr_rerank, cases=cases, name="mmr_rerank", hint=MMR_HINT,
        compare=_same_picks,
    )  # fmt: skip


def _same_picks(expected, got) -> str | None:
    """The same item positions in the same order (any 1-D container of ints)."""
    try:
        got = np.asarray(got)
    except Exception:  # noqa: BLE001
        return f"expected item positions, received {type(got).__name__}"
    if got.ndim != 1 or got.dtype.kind not in "iuf":
        return (
            f"expected a 1-D list of item positions, received shape {got.shape}, dtype {got.dtype}"
        )
    if len(got) != len(expected):
        return f"{len(got)} items picked, expected {len(expected)}"
    if len(set(got.tolist())) < len(got):
        return "an item was picked twice: skip the items already chosen"
    differ = np.flatnonzero(got != np.asarray(expected))
    if len(differ) == 0:
        return None
    step = int(differ[0])
    return (
        f"the picks agree up to step {step}, where item {int(expected[step])} was expected "
        f"and item {int(got[step])} received"
    )


# --------------------------------------------------------------------------- percentiles
def _reference_percentiles(latencies: pd.DataFrame, q=(50, 95, 99)) -> pd.DataFrame:
    table = latencies.quantile([p / 100 for p in q]).T  # linear interpolation, NaN skipped
    table.columns = [f"p{p:g}" for p in q]
    return table


def check_stage_percentiles(fn: Callable) -> CheckResult:
    """Check ``stage_percentiles(latencies, q)`` against ``DataFrame.quantile``.

    Examples
    --------
    >>> ok = check_stage_percentiles(_reference_percentiles)  # doctest: +ELLIPSIS
    ✅ stage_percentiles: passed 5 checks
    ...
    """
    rng = np.random.default_rng(60)
    hundred = pd.DataFrame(
        {"retrieval": np.arange(1.0, 101.0), "total": np.arange(101.0, 1.0, -1.0)}
    )
    cold = pd.DataFrame(
        {
            "retrieval": [1.0, 2.0, 3.0, 4.0],
            "ranking": [5.0, np.nan, 7.0, np.nan],
            "total": [9.0, 3.0, 11.0, 5.0],
        }
    )
    log = pd.DataFrame(
        {
            "route": rng.exponential(0.05, 2000),
            "retrieval": rng.lognormal(0.5, 0.4, 2000),
            "ranking": rng.lognormal(0.0, 0.6, 2000),
        }
    )
    log["total"] = log.sum(axis=1) + rng.exponential(0.2, 2000)
    cases = [
        Case(hundred, label="1..100 ms: p50 = 50.5 (interpolated)"),
        Case(hundred, (50, 90), label="other percentiles: q=(50, 90)"),
        Case(cold, label="NaN where a stage did not run is ignored"),
        Case(hundred.iloc[:1], label="a single request"),
        Case(log, label="2,000 simulated requests with long tails (seed 60)"),
    ]
    return check_function(
        fn, reference=_reference_percentiles, cases=cases, name="stage_percentiles",
        hint=PERCENTILE_HINT,
    )  # fmt: skip


# --------------------------------------------------------------------------- routing
def check_route_request(fn: Callable) -> CheckResult:
    """Check ``route_request(is_known, n_history, min_history)`` against the service's rule.

    Examples
    --------
    >>> ok = check_route_request(service.route_request)  # doctest: +ELLIPSIS
    ✅ route_request: passed 8 checks
    ...
    """
    cases = [
        Case(True, 40, 3, label="a known user with a long history"),
        Case(True, 3, 3, label="exactly min_history items"),
        Case(True, 2, 3, label="a known user with too short a history"),
        Case(True, 0, 1, label="a known user whose history is empty"),
        Case(False, 5, 3, label="an unknown user who sent recent items"),
        Case(False, 1, 3, label="an unknown user with one recent item"),
        Case(False, 0, 3, label="an unknown user with nothing"),
        Case(True, 4, 10, label="a stricter min_history"),
    ]
    return check_function(
        fn, reference=service.route_request, cases=cases, name="route_request", hint=ROUTE_HINT
    )


# --------------------------------------------------------------------------- ANN recall
def check_recall_at_k(fn: Callable) -> CheckResult:
    """Check ``recall_at_k(approx, exact, k)`` against the course's ANN recall.

    Examples
    --------
    >>> ok = check_recall_at_k(index.recall_at_k)  # doctest: +ELLIPSIS
    ✅ recall_at_k: passed 8 checks
    ...
    """
    rng = np.random.default_rng(66)
    exact = np.array([[4, 1, 7], [2, 5, 9]])
    big_exact = np.argsort(rng.random((50, 500)), axis=1)[:, :20]
    big_approx = big_exact.copy()
    lost = rng.random(big_approx.shape) < 0.15  # 15% of the true neighbours missed...
    big_approx[lost] = 500 + rng.integers(0, 100, lost.sum())  # ...replaced by other items
    big_approx = rng.permuted(big_approx, axis=1)  # and returned in another order
    cases = [
        Case(exact, exact, 3, label="identical results: 1.0"),
        Case(exact[:, ::-1], exact, 3, label="same items in another order: 1.0"),
        Case(np.array([[4, 8, 1], [9, 6, 3]]), exact, 3, label="2 of 3 and 1 of 3 found"),
        Case(
            np.array([[2, 5, 9], [4, 1, 7]]),
            exact,
            3,
            label="each row holds the other query's items: 0.0",
        ),
        Case(
            np.array([[4, -1, -1], [-1, -1, -1]]), exact, 3, label="-1 (not found) matches nothing"
        ),
        Case(
            np.array([[7, 4, 1], [5, 0, 9]]),
            exact,
            2,
            label="k=2: only the first two columns of each count",
        ),
        Case(exact, exact, 4, label="k larger than the results: ValueError"),
        Case(big_approx, big_exact, 20, label="50 queries, top-20, about 15% missed (seed 66)"),
    ]
    return check_function(
        fn, reference=index.recall_at_k, cases=cases, name="recall_at_k", hint=RECALL_HINT
    )


# --------------------------------------------------------------------------- cache hit rate
def check_cache_hit_rate(fn: Callable) -> CheckResult:
    """Check ``cache_hit_rate(request_counts, capacity)`` against the serving package's.

    Examples
    --------
    >>> ok = check_cache_hit_rate(cache.cache_hit_rate)  # doctest: +ELLIPSIS
    ✅ cache_hit_rate: passed 8 checks
    ...
    """
    zipf = np.floor(1e5 / np.arange(1, 5_001) ** 1.1)
    shuffled = np.random.default_rng(61).permutation(zipf)
    cases = [
        Case(np.array([5, 1, 3, 1]), 2, label="4 keys, a cache of 2: (5 + 3) / 10"),
        Case([1, 1, 1, 1], 3, label="equal counts: capacity / n_keys"),
        Case(np.array([2, 9, 0, 4, 4]), 1, label="counts in any order: the largest one"),
        Case(np.array([5, 1, 3, 1]), 0, label="no cache: 0"),
        Case(np.array([5, 1, 3, 1]), 10, label="capacity above the number of keys: 1"),
        Case(shuffled, 500, label="5,000 titles with Zipf-like demand, cache of 500 (seed 61)"),
        Case(np.array([0, 0, 0]), 1, label="no requests at all: ValueError"),
        Case(np.array([3, 1]), -1, label="negative capacity: ValueError"),
    ]
    return check_function(
        fn, reference=cache.cache_hit_rate, cases=cases, name="cache_hit_rate", hint=CACHE_HINT
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(rerank.mmr_rerank)(check_mmr_rerank)
with_reference(_reference_percentiles)(check_stage_percentiles)
with_reference(service.route_request)(check_route_request)
with_reference(cache.cache_hit_rate)(check_cache_hit_rate)
with_reference(index.recall_at_k)(check_recall_at_k)
