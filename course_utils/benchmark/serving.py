"""Step 6 benchmarks: serving latency per stage, batching, capacity, and how fit cost grows.

``run()`` measures, single-threaded (BLAS and OpenMP pinned to one thread, as one
request would run on a busy server):

1. **MovieLens**: per-stage and end-to-end latency p50/p95/p99 of the full two-stage
   service over 10,000 requests;
2. **50K items** (synthetic, :func:`course_utils.data.synthetic.make_synthetic`): the same
   for a catalogue of the seed's size, with ALS + popularity retrievers (EASE would need
   a dense 50K x 50K weight matrix, 20 GB in float64, and an O(n^3) inverse), and the
   ratio of the end-to-end p99 to the **retrieval floor** (one source's scoring and
   top-N alone);
3. **single vs batched** scoring: milliseconds per user when B users are scored by one
   matrix product;
4. **capacity** with the measured CPU time: cores for 100K QPS, memory for 100M user
   embeddings, and nightly batch precomputation against online serving;
5. **fit cost** against data size (CPU seconds): ALS and two-tower against interactions,
   EASE against items, with log-log slopes; saved to ``results/serving_scaling.csv``.

Latency is wall-clock and suffers from other processes; CPU time per request
(``time.thread_time``) is what capacity planning needs. ``quick=True`` shrinks every
part (fewer requests, smaller sweeps) and does not overwrite the saved results.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.design import capacity

__all__ = [
    "RESULTS_DIR",
    "SCALING_CSV",
    "LATENCY_JSON",
    "batch_cost_per_user",
    "batch_vs_online",
    "capacity_table",
    "fit_slopes",
    "local_slopes",
    "latency_percentiles",
    "machine_info",
    "measure_latency",
    "measure_retrieval_floor",
    "measure_batched_scoring",
    "plot_scaling",
    "request_mix",
    "run",
    "run_latency",
    "run_scaling",
    "service_scorer",
    "time_fits",
]

RESULTS_DIR = Path(__file__).parent / "results"
SCALING_CSV = RESULTS_DIR / "serving_scaling.csv"
LATENCY_JSON = RESULTS_DIR / "serving_latency.json"
STAGES = ("route", "retrieval", "features", "ranking", "rerank", "total")


def machine_info() -> dict:
    """Where and when a measurement ran (stored next to saved results)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "date": _dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical cores, {platform.system()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average_1min": round(load, 1),
    }


# --------------------------------------------------------------------------- latency
def request_mix(
    service, n: int, *, cold_share: float = 0.0, k: int = 20, random_state: int = 0
) -> list[dict]:
    """``n`` request payloads: known users drawn uniformly, ``cold_share`` unknown users.

    Examples
    --------
    >>> request_mix(service, 3, cold_share=0.0)[0].keys()  # doctest: +SKIP
    dict_keys(['user_id', 'k'])
    """
    rng = np.random.default_rng(random_state)
    users = service.users.ids_[rng.integers(0, len(service.users), n)]
    unknown = int(service.users.ids_.max()) + 1 + np.arange(n)
    users = np.where(rng.random(n) < cold_share, unknown, users)
    return [{"user_id": int(u), "k": k} for u in users]


def measure_latency(service, requests: Sequence[dict]) -> pd.DataFrame:
    """Serve ``requests`` one at a time; one row per request with the stage latencies (ms).

    Columns: the stages reported by the service, ``total`` (wall-clock, as the service
    measured it), ``cpu_ms`` (CPU time of the serving thread) and ``source``.
    """
    from threadpoolctl import threadpool_limits

    rows = []
    with threadpool_limits(1):
        for payload in requests:  # one request after another: the single-threaded server
            cpu = time.thread_time()
            response = service.handle(payload)
            rows.append(
                {
                    **response["latency_ms"],
                    "cpu_ms": 1000 * (time.thread_time() - cpu),
                    "source": response["source"],
                }
            )
    return pd.DataFrame(rows)


def latency_percentiles(latencies: pd.DataFrame, q: Sequence[float] = (50, 95, 99)) -> pd.DataFrame:
    """Percentiles (rows: stages, columns ``p50``...) of a :func:`measure_latency` table.

    Examples
    --------
    >>> df = pd.DataFrame({"retrieval": np.arange(1.0, 101.0), "total": np.arange(2.0, 202.0, 2)})
    >>> latency_percentiles(df, q=(50, 99)).round(2).to_dict("index")
    {'retrieval': {'p50': 50.5, 'p99': 99.01}, 'total': {'p50': 101.0, 'p99': 198.02}}
    """
    stages = [c for c in (*STAGES, "cpu_ms") if c in latencies]
    values = np.nanpercentile(latencies[stages].to_numpy(dtype=float), q, axis=0)
    return pd.DataFrame(values.T, index=stages, columns=[f"p{p:g}" for p in q])


def measure_retrieval_floor(
    service, n_requests: int, *, source: str | None = None, random_state: int = 0
) -> np.ndarray:
    """Milliseconds of the bare retrieval for one source: score every item, exact top-N.

    This is the floor of a request: no validation, no filters, no features, no ranking.
    """
    from threadpoolctl import threadpool_limits

    from course_utils.models.base import top_k
    from course_utils.serving.pipeline import retriever_scores

    name, kind, arrays = next(r for r in service._retrievers if source in (None, r[0]))
    rng = np.random.default_rng(random_state)
    rows = rng.integers(0, len(service.users), n_requests)
    n = min(service.n_candidates, len(service.items))
    histories = service._histories.get(name)  # None for embeddings and popularity
    out = np.empty(n_requests)
    with threadpool_limits(1):
        for i, row in enumerate(rows):
            start = time.perf_counter()
            history = histories[row : row + 1] if histories is not None else None
            top_k(retriever_scores(kind, arrays, np.array([row]), history), n)
            out[i] = 1000 * (time.perf_counter() - start)
    return out


def service_scorer(service, source: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """``score(user_rows) -> (len(rows), n_items)`` of one retriever of a service."""
    from course_utils.serving.pipeline import retriever_scores

    name, kind, arrays = next(r for r in service._retrievers if source in (None, r[0]))
    histories = service._histories.get(name)
    return lambda rows: retriever_scores(
        kind, arrays, rows, histories[rows] if histories is not None else None
    )


def measure_batched_scoring(
    score: Callable[[np.ndarray], np.ndarray],
    n_users: int,
    batch_sizes: Sequence[int] = (1, 8, 64, 512),
    *,
    n: int = 200,
    min_users: int = 1024,
    random_state: int = 0,
) -> pd.DataFrame:
    """CPU milliseconds per user to score B users at once, and to take their top-N.

    ``score(rows)`` returns the (B, n_items) scores of users ``rows`` (e.g.
    ``U[rows] @ V.T`` or :func:`service_scorer`). Scoring B users is one matrix-matrix
    product that reads the item factors once per batch instead of once per user, so its
    cost per user falls with B; the top-N selection touches every score either way.

    Examples
    --------
    >>> V = np.random.default_rng(0).normal(size=(1000, 8))
    >>> t = measure_batched_scoring(lambda rows: V[rows] @ V.T, 1000, (1, 10), n=5, min_users=20)
    >>> t.columns.tolist()
    ['batch_size', 'score_ms_per_user', 'top_n_ms_per_user', 'cpu_ms_per_user']
    """
    from threadpoolctl import threadpool_limits

    from course_utils.models.base import top_k

    rng = np.random.default_rng(random_state)
    rows = []
    with threadpool_limits(1):
        for b in batch_sizes:
            batches = rng.integers(0, n_users, (max(1, min_users // b), b))
            score_s = top_s = 0.0
            for batch in batches:
                t0 = time.thread_time()
                scores = score(batch)
                t1 = time.thread_time()
                top_k(scores, min(n, scores.shape[1]))
                score_s, top_s = score_s + t1 - t0, top_s + time.thread_time() - t1
            per_user = 1000 / batches.size
            rows.append((b, score_s * per_user, top_s * per_user, (score_s + top_s) * per_user))
    columns = ["batch_size", "score_ms_per_user", "top_n_ms_per_user", "cpu_ms_per_user"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- capacity
def capacity_table(
    cpu_ms_per_request: float,
    *,
    qps: float = 100_000,
    n_users: int = 100_000_000,
    dim: int = 64,
    cores_per_machine: int = 32,
    target_utilisation: float = 0.5,
) -> pd.DataFrame:
    """Cores, machines and embedding memory for the seed's load, from a measured CPU time.

    Examples
    --------
    >>> capacity_table(2.0).loc["cores for peak QPS", "value"]
    '400'
    """
    cores = capacity.cores_needed(qps, cpu_ms_per_request, target_utilisation)
    rows = [
        ("measured CPU per request", f"{cpu_ms_per_request:.2f} ms"),
        ("cores for peak QPS", f"{cores:,.0f}"),
        (
            "machines",
            f"{capacity.machines_needed(cores, cores_per_machine):,} x {cores_per_machine} cores",
        ),
        (
            "user embeddings, float32",
            capacity.format_bytes(capacity.embedding_memory_bytes(n_users, dim, "float32")),
        ),
        (
            "user embeddings, float64",
            capacity.format_bytes(capacity.embedding_memory_bytes(n_users, dim, "float64")),
        ),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value"]).set_index("quantity")


def batch_cost_per_user(cpu_ms_per_request: float, batched: pd.DataFrame) -> float:
    """Batch CPU per user: an online request with its one-user scoring replaced by the
    cheapest batched scoring (features, ranking and rules do not batch).

    Examples
    --------
    >>> t = pd.DataFrame({"batch_size": [1, 64], "score_ms_per_user": [2.0, 0.5]})
    >>> batch_cost_per_user(5.0, t)
    3.5
    """
    single = float(batched.loc[batched["batch_size"] == 1, "score_ms_per_user"].iloc[0])
    return max(cpu_ms_per_request - single + float(batched["score_ms_per_user"].min()), 0.0)


def batch_vs_online(
    batch_cpu_ms_per_user: float,
    online_cpu_ms_per_request: float,
    *,
    n_users: int = 100_000_000,
    qps: float = 100_000,
    slate_size: int = 20,
    window_hours: float = 4.0,
    target_utilisation: float = 0.5,
) -> pd.DataFrame:
    """Nightly top-k for every user against serving every request online.

    Batch: every user's list is computed once a night (``n_users x batch cost``) within
    ``window_hours`` and stored (item id and score, 4 bytes each); lists are up to a day
    stale and a user's new plays change nothing until the next run. Online: cores are
    provisioned for peak QPS and every list sees the latest history.

    Examples
    --------
    >>> t = batch_vs_online(1.0, 5.0)
    >>> t.loc["CPU core-hours per day", "batch (nightly)"]
    '27.8'
    """
    batch_core_hours = n_users * batch_cpu_ms_per_user / 1000 / 3600
    online_cores = capacity.cores_needed(qps, online_cpu_ms_per_request, target_utilisation)
    rows = {
        "CPU core-hours per day": (
            f"{batch_core_hours:,.1f}",
            f"{online_cores * 24:,.0f} (provisioned for peak)",
        ),
        "cores while running": (
            f"{batch_core_hours / window_hours:,.0f} for a {window_hours:g} h window",
            f"{online_cores:,.0f}",
        ),
        "storage of results": (capacity.format_bytes(n_users * slate_size * 8), "none"),
        "staleness": ("up to 24 h", "the latest play"),
        "work for inactive users": ("yes (every user, every night)", "none"),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["batch (nightly)", "online"])


# --------------------------------------------------------------------------- fit cost
def _cpu_seconds(fn: Callable[[], object]) -> float:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        start = time.process_time()
        fn()
        return time.process_time() - start


def time_fits(
    models: Sequence[str], sizes: Sequence[int], *, n_items: int = 20_000, random_state: int = 0
) -> pd.DataFrame:
    """Single-core CPU seconds to fit each model on synthetic data of each size.

    ``"als"`` and ``"two_tower"`` (one epoch) are timed against the number of
    interactions (users = interactions / 50, ``n_items`` items); ``"ease"`` against the
    number of items (``sizes`` are item counts; 20 interactions per item).
    """
    from course_utils.data.synthetic import make_synthetic
    from course_utils.models.als import ALS
    from course_utils.models.ease import EASE
    from course_utils.models.two_tower import TwoTower

    factories = {  # binary input: the synthetic log rates only some of its events
        "als": lambda data: ALS(use_ratings=False),
        "two_tower": lambda data: TwoTower(items=data.items, epochs=1),
        "ease": lambda data: EASE(use_ratings=False),
    }
    unknown = sorted(set(models) - set(factories))
    if unknown:
        raise ValueError(f"models must be among {sorted(factories)}; got {unknown}")
    rows = []
    for size in sizes:
        data = {}  # one dataset per shape, shared by the models that use it
        for model in models:
            if model == "ease":  # the cost is in the items: an n_items x n_items inverse
                shape = {
                    "n_users": max(1000, 4 * size),
                    "n_items": size,
                    "n_interactions": 20 * size,
                }
            else:
                shape = {
                    "n_users": max(200, size // 50),
                    "n_items": n_items,
                    "n_interactions": size,
                }
            key = tuple(shape.values())
            if key not in data:
                data[key] = make_synthetic(**shape, random_state=random_state)
            estimator = factories[model](data[key])
            seconds = _cpu_seconds(lambda e=estimator, d=data[key]: e.fit(d.interactions))
            rows.append(
                {
                    "model": model,
                    "size": size,
                    "n_interactions": len(data[key].interactions),
                    "n_items": shape["n_items"],
                    "cpu_seconds": seconds,
                }
            )
    return pd.DataFrame(rows).sort_values(["model", "size"], kind="stable", ignore_index=True)


def fit_slopes(times: pd.DataFrame) -> dict[str, float]:
    """Log-log slope of CPU seconds against ``size`` per model (1 = linear, 3 = cubic).

    Examples
    --------
    >>> df = pd.DataFrame({"model": ["x"] * 3, "size": [10, 100, 1000], "cpu_seconds": [1.0, 100.0, 10_000.0]})
    >>> fit_slopes(df)
    {'x': 2.0}
    """
    slopes = {}
    for model, part in times.groupby("model", sort=False):
        slope = np.polyfit(
            np.log(part["size"].astype(float)), np.log(part["cpu_seconds"].astype(float)), 1
        )[0]
        slopes[model] = round(float(slope), 2)
    return slopes


def local_slopes(times: pd.DataFrame) -> dict[str, float]:
    """Slope between the two largest sizes per model: the growth rate where it matters.

    A fixed overhead flattens the slope of small runs, so the slope over the whole range
    understates how fast a cubic cost (EASE's inverse) grows at the top.

    Examples
    --------
    >>> df = pd.DataFrame({"model": ["x"] * 3, "size": [10, 100, 1000], "cpu_seconds": [5.0, 6.0, 600.0]})
    >>> local_slopes(df)
    {'x': 2.0}
    """
    slopes = {}
    for model, part in times.sort_values("size").groupby("model", sort=False):
        (s0, t0), (s1, t1) = part[["size", "cpu_seconds"]].to_numpy(dtype=float)[-2:]
        slopes[model] = round(float(np.log(t1 / t0) / np.log(s1 / s0)), 2)
    return slopes


def plot_scaling(times: pd.DataFrame, ax=None):
    """Log-log plot of fit CPU seconds against size, one line per model, slope in the legend."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    slopes = fit_slopes(times)
    labels = {
        "als": "ALS (x = interactions)",
        "two_tower": "two-tower, 1 epoch (x = interactions)",
        "ease": "EASE (x = items)",
    }
    colors = {"als": "C0", "two_tower": "C1", "ease": "C2"}  # the same in every panel
    for model, part in times.groupby("model", sort=False):
        ax.loglog(
            part["size"],
            part["cpu_seconds"],
            "o-",
            color=colors.get(model),
            label=f"{labels.get(model, model)}: slope {slopes[model]:.2f}",
        )
    ax.set_xlabel("data size (interactions, or items for EASE)")
    ax.set_ylabel("fit time (single-core CPU seconds)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


# --------------------------------------------------------------------------- the run
def _movielens_service(quick: bool):
    from threadpoolctl import threadpool_limits

    from course_utils.data.movielens import load_dataset
    from course_utils.data.splits import benchmark_split
    from course_utils.models.two_stage import TwoStage
    from course_utils.serving import RecommendationService

    split, items = benchmark_split(), load_dataset().items
    with threadpool_limits(1):
        model = TwoStage(items=items).fit(split.train)
    return RecommendationService.from_model(model, items, model_version="movielens-bench")


def _synthetic_service(quick: bool):
    from threadpoolctl import threadpool_limits

    from course_utils.data.synthetic import make_synthetic
    from course_utils.models import Popularity
    from course_utils.models.als import ALS
    from course_utils.models.two_stage import TwoStage
    from course_utils.serving import RecommendationService

    n_users, n_interactions = (5_000, 250_000) if quick else (30_000, 1_500_000)
    data = make_synthetic(
        n_users=n_users, n_items=50_000, n_interactions=n_interactions, random_state=0
    )
    # binary ALS: the synthetic log rates only about 30% of its events
    retrievers = {"als": ALS(iterations=8 if quick else 15, use_ratings=False), "pop": Popularity()}
    start = time.process_time()
    with threadpool_limits(1):
        model = TwoStage(items=data.items, retrievers=retrievers).fit(data.interactions)
    fit_s = time.process_time() - start
    service = RecommendationService.from_model(
        model, data.items, model_version="synthetic-50k-bench"
    )
    return service, data, fit_s


def _print_table(title: str, table: pd.DataFrame) -> None:
    print(f"\n{title}\n{table.to_string()}")


def run_latency(quick: bool = False) -> dict:
    """Parts 1-4: latency on MovieLens and at 50K items, batching, capacity; returns them."""
    n_requests = 2_000 if quick else 10_000
    saved: dict = {"machine": machine_info(), "n_requests": n_requests}

    service = _movielens_service(quick)
    lat = measure_latency(service, request_mix(service, n_requests))
    table = latency_percentiles(lat)
    _print_table(f"MovieLens, {service}: latency over {n_requests:,} requests (ms)", table.round(2))
    saved["movielens"] = table.round(3).to_dict("index")

    service, data, fit_s = _synthetic_service(quick)
    print(f"\nsynthetic catalogue: {data}; TwoStage fit {fit_s:.0f} CPU s")
    lat = measure_latency(service, request_mix(service, n_requests))
    table = latency_percentiles(lat)
    floor = measure_retrieval_floor(service, min(n_requests, 2_000), source="als")
    floor_p = {f"p{q}": float(np.percentile(floor, q)) for q in (50, 95, 99)}
    p99, cpu_p99 = table.loc["total", "p99"], table.loc["cpu_ms", "p99"]
    _print_table(f"50K items, {service}: latency over {n_requests:,} requests (ms)", table.round(2))
    print(
        f"{len(service.items):,} of the catalogue's {data.items.shape[0]:,} titles have "
        "interactions and are scored per request"
    )
    print(
        f"retrieval floor (ALS scoring + top-{service.n_candidates}): "
        f"p50 {floor_p['p50']:.2f} ms, p99 {floor_p['p99']:.2f} ms"
    )
    print(
        f"end-to-end p99: {p99:.1f} ms wall-clock ({p99 / floor_p['p99']:.1f} x the floor's p99), "
        f"{cpu_p99:.1f} ms of CPU; target <= 20 ms: "
        f"{'met' if p99 <= 20 else 'missed'} on wall-clock, {'met' if cpu_p99 <= 20 else 'missed'} on CPU "
        f"(wall-clock includes waiting for the CPU: load average {machine_info()['load_average_1min']})"
    )
    saved["synthetic_50k"] = table.round(3).to_dict("index")
    saved["synthetic_50k_setup"] = {
        "users": len(service.users),
        "catalogue_titles": int(data.items.shape[0]),
        "titles_scored": len(service.items),
        "interactions": len(data.interactions),
        "fit_cpu_seconds": round(fit_s, 1),
        "retrievers": [name for name, _, _ in service._retrievers],
        "ranker_trees": service._ranker.n_trees,
        "n_candidates_per_retriever": service.n_candidates,
    }
    saved["retrieval_floor_50k"] = {k: round(v, 3) for k, v in floor_p.items()}

    batched = measure_batched_scoring(service_scorer(service, "als"), len(service.users))
    _print_table("single vs batched ALS scoring and top-N (CPU ms per user)", batched.round(3))
    saved["batched"] = batched.round(4).to_dict("records")

    cpu_ms = float(lat["cpu_ms"].mean())
    _print_table("capacity with the measured CPU time (50K items)", capacity_table(cpu_ms))
    per_user = batch_cost_per_user(cpu_ms, batched)
    _print_table("nightly batch vs online", batch_vs_online(per_user, cpu_ms))
    saved["cpu_ms_per_request"] = round(cpu_ms, 3)
    saved["batch_cpu_ms_per_user"] = round(per_user, 3)
    return saved


def run_scaling(quick: bool = False) -> pd.DataFrame:
    """Part 5: fit cost against data size, with the log-log slopes."""
    if quick:
        sizes, items = [50_000, 100_000, 200_000], [500, 1_000, 2_000]
    else:
        sizes, items = (
            [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000],
            [1_000, 2_000, 4_000, 8_000, 12_000],
        )
    times = pd.concat([time_fits(["als", "two_tower"], sizes), time_fits(["ease"], items)])
    _print_table("fit cost (single-core CPU seconds)", times.round(2))
    print(
        f"log-log slopes: {fit_slopes(times)}; between the two largest sizes: {local_slopes(times)}"
    )
    return times


def run(quick: bool = False) -> None:
    """Run every part and print it; the full run saves its results under ``results/``."""
    info = machine_info()
    print(f"machine: {info['machine']}; load average {info['load_average_1min']}; {info['date']}")
    saved = run_latency(quick)
    times = run_scaling(quick)
    if not quick:
        RESULTS_DIR.mkdir(exist_ok=True)
        LATENCY_JSON.write_text(json.dumps(saved, indent=2))
        times.round({"cpu_seconds": 3}).assign(date=info["date"], machine=info["machine"]).to_csv(
            SCALING_CSV, index=False
        )
        print(f"saved {SCALING_CSV.name} and {LATENCY_JSON.name} in {RESULTS_DIR}")
