"""Benchmark: the synthetic streaming-platform generator is fast and memory-bounded.

Targets (issue, spine I):

- default size (5,000 users x 2,000 items x 100,000 interactions) in <= 1 s on one core,
  median of 5 runs (3 with ``quick``). For context, the seed generator took 162 s for
  the default size (a fact quoted from the issue, not measured here);
- platform scale (100,000 users x 50,000 items x 10,000,000 interactions) in <= 60 s
  within 4 GB. Skipped with ``quick``. Run in a fresh child process (numpy/BLAS limited
  to one thread) so that its peak resident set size (``ru_maxrss``: the whole process,
  interpreter and libraries included) measures this one call. Wall and CPU time are
  both printed: on a shared machine the CPU time is the steadier of the two.

Run: ``python -m course_utils.benchmark.data`` (or ``python -m course_utils.benchmark data``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from course_utils.data.synthetic import make_synthetic

DEFAULT_TARGET_S = 1.0
SEED_DEFAULT_S = 162.0  # the seed generator at the default size, as reported in the issue
SCALE = dict(n_users=100_000, n_items=50_000, n_interactions=10_000_000)
SCALE_TARGET_S = 60.0
SCALE_TARGET_BYTES = 4 * 2**30


def _peak_rss_bytes() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes, Linux: KiB


def _scale_child() -> None:
    """Run in the child process: one platform-scale generation, result as JSON."""
    baseline = _peak_rss_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    ds = make_synthetic(**SCALE, random_state=0)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    inter = ds.interactions
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_bytes": _peak_rss_bytes(),
                "baseline_bytes": baseline,
                "rows": len(inter),
                "users": int(inter["user_id"].nunique()),
                "items": int(inter["item_id"].nunique()),
            }
        )
    )


def _run_scale() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    code = "from course_utils.benchmark.data import _scale_child; _scale_child()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> None:
    repeats = 3 if quick else 5
    make_synthetic(n_users=50, n_items=20, n_interactions=200)  # warm-up: lazy imports
    times, cpu_times = [], []
    for seed in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        ds = make_synthetic(random_state=seed)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    med = float(np.median(times))
    print(
        f"make_synthetic() default size {ds!r}: median {med:.3f} s wall over {repeats} runs "
        f"(min {min(times):.3f}, max {max(times):.3f}; median CPU {np.median(cpu_times):.3f} s); "
        f"target <= {DEFAULT_TARGET_S:.0f} s -> {med / DEFAULT_TARGET_S:.2f} of budget"
    )
    print(
        f"  context: the seed generator took {SEED_DEFAULT_S:.0f} s for the default size "
        f"(issue; not re-measured) -> {SEED_DEFAULT_S / med:,.0f}x that time"
    )
    if quick:
        print("platform scale (10M interactions): skipped (--quick)")
        return
    r = _run_scale()
    gib = 2**30
    print(
        f"make_synthetic(100,000 users x 50,000 items x 10,000,000 interactions): "
        f"{r['rows']:,} rows, {r['users']:,} active users, {r['items']:,} items watched; "
        f"{r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU (one run, child process, "
        f"1 BLAS thread); target <= "
        f"{SCALE_TARGET_S:.0f} s -> {r['seconds'] / SCALE_TARGET_S:.2f} of budget"
    )
    print(
        f"  peak memory (ru_maxrss of the child, whole process): {r['peak_bytes'] / gib:.2f} GiB "
        f"(after imports, before the call: {r['baseline_bytes'] / gib:.2f} GiB); "
        f"target <= 4 GiB -> {r['peak_bytes'] / SCALE_TARGET_BYTES:.2f} of budget"
    )


if __name__ == "__main__":
    run()
