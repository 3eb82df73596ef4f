"""Benchmark: ``summarize`` digests a 1M-request log in <= 2 s.

A seeded synthetic log (30 days, 10 items per list, 50,000-item catalog) is summarized
per day with every optional statistic on (coverage, popularity bias, intra-list
diversity, PSI of two log columns against the first week). Reported: the median of 3
runs from the tidy DataFrame (``to_frame`` layout, the documented input) and from the
``RequestLog`` itself (no re-flattening of the item lists), wall-clock and CPU time, and
the cost of ``RequestLog.record`` per call. The machine may be shared, so CPU time is
printed next to wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from course_utils.monitoring.request_log import RequestLog, simulate_request_log
from course_utils.monitoring.summaries import summarize

TARGET_S = 2.0
GENRES = np.array(
    ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
     "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
     "Thriller", "War", "Western"]
)  # fmt: skip


def _catalog(catalog_size: int, seed: int) -> tuple[pd.Series, pd.Series]:
    """Item popularity (Zipf-like) and 1-3 random genres per item."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, catalog_size + 1)
    popularity = pd.Series(ids**-0.9 / np.sum(ids**-0.9), index=ids)
    scores = rng.random((catalog_size, len(GENRES)))
    n_genres = rng.integers(1, 4, catalog_size)
    keep = np.argsort(scores, axis=1)[:, :3]
    genres = pd.Series(
        [list(GENRES[row[:n]]) for row, n in zip(keep, n_genres, strict=True)], index=ids
    )
    return popularity, genres


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def _record_cost(n_calls: int, seed: int) -> float:
    """Microseconds per ``RequestLog.record`` call (appending to Python lists)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(1, 100_000, n_calls).tolist()
    lat = rng.lognormal(3, 0.4, (n_calls, 3)).tolist()
    items = rng.integers(1, 50_000, (n_calls, 10)).tolist()
    t0 = 1_704_067_200.0
    log = RequestLog()
    start = time.perf_counter()
    for i in range(n_calls):
        r, k, e = lat[i]
        log.record(
            timestamp=t0 + i, user_id=users[i], source="personalized",
            stage_ms={"retrieval": r, "ranking": k, "rerank": e},
            model_version="v1", items=items[i],
        )  # fmt: skip
    return (time.perf_counter() - start) / n_calls * 1e6


def run(quick: bool = False) -> None:
    n_requests = 200_000 if quick else 1_000_000
    catalog_size = 50_000
    start = time.perf_counter()
    log = simulate_request_log(
        n_requests, days=30, n_users=1_000_000, catalog_size=catalog_size, random_state=0
    )
    print(f"simulate_request_log: {n_requests:,} requests in {time.perf_counter() - start:.2f} s")
    popularity, genres = _catalog(catalog_size, seed=1)
    reference = simulate_request_log(
        100_000, days=7, n_users=1_000_000, catalog_size=catalog_size, random_state=2
    )
    start = time.perf_counter()
    frame = log.to_frame()
    print(f"to_frame: {time.perf_counter() - start:.2f} s; from_frame: ", end="")
    start = time.perf_counter()
    RequestLog.from_frame(frame)._columns()
    print(f"{time.perf_counter() - start:.2f} s")

    kwargs = dict(
        item_popularity=popularity, item_genres=genres, reference=reference,
        drift_columns=("latency_total_ms", "source"),
    )  # fmt: skip
    summary = summarize(log, "1D", **kwargs)
    print(
        f"summary: {len(summary)} daily windows x {summary.shape[1]} metrics; day 1: "
        f"p99 {summary['latency_total_ms_p99'].iloc[0]:.1f} ms, "
        f"coverage {summary['coverage'].iloc[0]:.4f}, ILD {summary['ild_mean'].iloc[0]:.4f}"
    )
    scale = 1_000_000 / n_requests  # the budget is for 1M requests; quick runs scale up
    for label, source in [("DataFrame", frame), ("RequestLog", log)]:
        wall, cpu = _time(lambda src=source: summarize(src, "1D", **kwargs), repeats=3)
        print(
            f"summarize({label}, '1D', all statistics), {n_requests:,} requests: median "
            f"{wall:.3f} s wall, {cpu:.3f} s CPU (3 runs); budget {TARGET_S} s per 1M "
            f"requests -> wall {wall * scale / TARGET_S:.2f}x, CPU {cpu * scale / TARGET_S:.2f}x"
            + ("" if scale == 1 else " (scaled linearly to 1M)")
        )
    wall, cpu = _time(lambda: summarize(log, "1h"), repeats=3)
    print(
        f"summarize(RequestLog, '1h', latency/errors/mix/coverage): {wall:.3f} s wall ({cpu:.3f} s CPU)"
    )
    n_calls = 20_000 if quick else 100_000
    print(
        f"RequestLog.record: {_record_cost(n_calls, seed=3):.2f} us per call over {n_calls:,} calls"
    )


if __name__ == "__main__":
    run()
