"""Appendix A1 benchmark: the nightly ALS + candidate batch, Spark against the course's numpy.

For each size of the synthetic generator (1M, 3M and 10M interactions; users and titles
grow with it, 100,000 users x 50,000 titles at 10M) two runs, each in a fresh child
process so that peak memory is that run's alone:

- **numpy**: the course :class:`~course_utils.models.ALS` fit, then the top-``TOP_N``
  unseen titles of every user (``recommend``), written as bucketed Parquet;
- **spark**: a ``local[2]`` session reads the interactions from Parquet, trains MLlib ALS
  (:func:`course_utils.scale.als.fit_mllib_als`) and runs
  :func:`course_utils.scale.als.nightly_batch`, also to bucketed Parquet.

Both use the same configuration (:data:`CONFIG`: the course ALS's factors,
regularisation and confidence slope; fewer iterations than the course's 15 so that the
10M run fits the time of a shared 2-core machine). Timed: from the interactions on disk
(Spark) or in memory (numpy) to the candidates on disk; the JVM start is timed apart.
Peak memory: the child's peak resident set (``VmHWM``) plus, for Spark, the JVM's
(Linux ``/proc``). Spark's stage metrics give tasks and shuffle bytes of the run.

Results go to ``results/spark_scaling.json`` after every measurement (so a run stopped
early keeps what it measured). ``quick=True`` measures 1M only and does not save.
Run: ``python -m course_utils.benchmark spark``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from course_utils.benchmark.serving import RESULTS_DIR, machine_info

__all__ = ["CONFIG", "SIZES", "SPARK_JSON", "TOP_N", "load_results", "run", "scale_for"]

SPARK_JSON = RESULTS_DIR / "spark_scaling.json"
SIZES = (1_000_000, 3_000_000, 10_000_000)
TOP_N = 100
N_BUCKETS = 16
CORES = 2
CONFIG = dict(n_factors=64, regularization=30.0, alpha=1.0, iterations=5)
"""The course ALS's defaults except ``iterations`` (15 there), for both engines."""


def scale_for(n_interactions: int) -> dict:
    """Generator sizes at ``n_interactions``: 100 per user, 200 per title (100K x 50K at 10M).

    Examples
    --------
    >>> scale_for(1_000_000)
    {'n_users': 10000, 'n_items': 5000, 'n_interactions': 1000000}
    """
    return {
        "n_users": n_interactions // 100,
        "n_items": n_interactions // 200,
        "n_interactions": int(n_interactions),
    }


def _vm_hwm_bytes(pid: int | str = "self") -> int:
    """Peak resident set of a process (Linux), 0 where /proc is unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def _data(size: int):
    from course_utils.data import make_synthetic

    return make_synthetic(**scale_for(size), random_state=0).interactions


def _child_numpy(size: int, out_dir: Path) -> dict:
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from course_utils.data import schema as S
    from course_utils.models import ALS

    train = _data(size)[[S.USER_ID, S.ITEM_ID]]
    with threadpool_limits(CORES):
        start = time.perf_counter()
        model = ALS(**CONFIG, use_ratings=False, random_state=0).fit(train)
        fit_s = time.perf_counter() - start
        users = model.users_.ids_
        ids, scores = model.recommend(users, k=TOP_N)
        frame = pd.DataFrame(
            {
                S.USER_ID: np.repeat(users, TOP_N),
                S.ITEM_ID: ids.ravel(),
                S.RANK: np.tile(np.arange(1, TOP_N + 1, dtype=np.int32), len(users)),
                S.SCORE: scores.ravel().astype(np.float32),
            }
        )
        frame["bucket"] = (frame[S.USER_ID] % N_BUCKETS).astype(np.int32)
        frame.to_parquet(out_dir / "candidates", partition_cols=["bucket"], index=False)
        total_s = time.perf_counter() - start
    return {"fit_seconds": fit_s, "seconds": total_s, "rows": len(frame)}


def _child_spark(size: int, out_dir: Path) -> dict:
    from course_utils.data import schema as S
    from course_utils.scale.als import fit_mllib_als, mllib_reg_param, nightly_batch
    from course_utils.scale.metrics import StageMeter
    from course_utils.scale.spark import spark_session, stop_spark

    train = _data(size)[[S.USER_ID, S.ITEM_ID]].astype(np.int32)
    train[S.RATING] = np.float32(1.0)
    train.to_parquet(out_dir / "interactions.parquet", index=False)
    n_users = int(train[S.USER_ID].nunique())
    del train
    start = time.perf_counter()
    spark = spark_session("benchmark", cores=CORES)
    startup_s = time.perf_counter() - start
    jvm_pid = spark.sparkContext._gateway.proc.pid
    start = time.perf_counter()
    with StageMeter(spark, f"ALS + batch at {size}") as meter:
        sdf = spark.read.parquet(str(out_dir / "interactions.parquet"))
        model = fit_mllib_als(
            sdf,
            n_factors=CONFIG["n_factors"],
            reg_param=mllib_reg_param(CONFIG["regularization"], size, n_users),
            alpha=CONFIG["alpha"],
            iterations=CONFIG["iterations"],
            n_blocks=CORES,
        )
        fit_s = time.perf_counter() - start
        info = nightly_batch(model, sdf, out_dir / "candidates", n=TOP_N, n_buckets=N_BUCKETS)
    total_s = time.perf_counter() - start
    jvm_peak = _vm_hwm_bytes(jvm_pid)
    stop_spark()
    return {
        "startup_seconds": startup_s,
        "fit_seconds": fit_s,
        "seconds": total_s,
        "rows": info["rows"],
        "short_users": info["short_users"],
        "jvm_peak_bytes": jvm_peak,
        **meter.totals(),
    }


def _child(engine: str, size: int) -> None:
    """Entry point of a child process: one measurement, printed as the last JSON line."""
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        before = _vm_hwm_bytes()
        result = (_child_numpy if engine == "numpy" else _child_spark)(size, Path(tmp))
    result.update(engine=engine, size=size, python_peak_bytes=_vm_hwm_bytes(), baseline=before)
    result["peak_bytes"] = result["python_peak_bytes"] + result.get("jvm_peak_bytes", 0)
    print(json.dumps(result))


def _measure(engine: str, size: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(CORES), OPENBLAS_NUM_THREADS=str(CORES))
    done = subprocess.run(
        [sys.executable, "-m", "course_utils.benchmark.spark", "--child", engine, str(size)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{engine} at {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_results(path: Path | str = SPARK_JSON) -> dict:
    """The saved results: ``{"machine": ..., "config": ..., "runs": [...]}``.

    Examples
    --------
    >>> sorted(load_results())  # doctest: +SKIP
    ['config', 'machine', 'runs', 'top_n']
    """
    return json.loads(Path(path).read_text())


def run(quick: bool = False, sizes=None) -> dict:
    """Measure both engines at each size, print a table, save after every measurement."""
    from course_utils.scale.spark import spark_available

    if not spark_available():
        print("spark: pyspark not installed; `pip install -r requirements-spark.txt` first")
        return {}
    sizes = (SIZES[0],) if quick else tuple(sizes or SIZES)
    results = {"machine": machine_info(), "config": CONFIG, "top_n": TOP_N, "runs": []}
    for size in sizes:
        for engine in ("numpy", "spark"):
            result = _measure(engine, size)
            results["runs"].append(result)
            print(
                f"{engine:>5} {size:>10,}: {result['seconds']:7.1f} s "
                f"(fit {result['fit_seconds']:.1f} s), peak {result['peak_bytes'] / 2**30:.2f} GiB"
                + (
                    f", JVM start {result['startup_seconds']:.1f} s, "
                    f"{result['stages']} stages, {result['tasks']} tasks, shuffle write "
                    f"{result['shuffle_write_bytes'] / 2**20:.0f} MiB"
                    if engine == "spark"
                    else ""
                ),
                flush=True,
            )
            if not quick:
                results["machine"]["load_average_1min"] = machine_info()["load_average_1min"]
                SPARK_JSON.write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        sizes = [int(s) for s in sys.argv[1:]] or None
        run(sizes=sizes)
