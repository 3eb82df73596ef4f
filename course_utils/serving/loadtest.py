"""Step 6, serving: a bounded closed-loop load test against an HTTP endpoint on this machine.

In a **closed loop** each of ``concurrency`` clients sends a request, waits for the answer
and sends the next, so the offered load adapts to the server. Raising the number of clients
raises throughput until the server saturates; past that point throughput flattens and
latency grows instead: the knee that sets how many cores a given QPS needs. Little's law
ties the three numbers together, ``clients in the system = throughput x mean latency``,
which :func:`closed_loop_load` reports as a check.

The test only talks to loopback addresses (127.0.0.0/8, ``localhost``, ``::1``), every
client stops after ``max_requests`` requests or ``duration_s`` seconds, whichever comes
first, and every request has a timeout: it cannot run away.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

__all__ = ["closed_loop_load", "load_curve"]


def _loopback(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"url must be an http:// URL with a host; got {url!r}")
    host = parts.hostname
    if host != "localhost":
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"load tests only target loopback addresses; got host {host!r}")
    return host, parts.port or 80, parts.path or "/"


def closed_loop_load(
    url: str,
    payloads: Callable[[int], dict] | Sequence[dict],
    *,
    concurrency: int,
    max_requests: int = 1000,
    duration_s: float = 10.0,
    warmup: int = 20,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """Run ``concurrency`` closed-loop clients against ``url`` (JSON POST) and measure.

    Parameters
    ----------
    url : loopback http URL of the endpoint
    payloads : a function ``i -> request body`` or a sequence of bodies (used round-robin)
    concurrency : number of clients, each with its own keep-alive connection
    max_requests : total requests measured over all clients (after the warm-up)
    duration_s : hard stop for the measured phase
    warmup : requests per client sent (and discarded) before measuring
    timeout_s : per-request socket timeout

    Returns
    -------
    dict with ``concurrency``, ``requests``, ``errors`` (non-2xx or failed requests),
    ``seconds``, ``throughput_rps``, ``p50_ms``, ``p99_ms``, ``mean_ms`` and
    ``littles_law_clients`` (throughput x mean latency; close to ``concurrency`` when the
    clients spend their time waiting on the server).
    """
    host, port, path = _loopback(url)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1; got {concurrency!r}")
    if isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 1:
        raise ValueError(f"max_requests must be an int >= 1; got {max_requests!r}")
    if not duration_s > 0 or not timeout_s > 0:
        raise ValueError("duration_s and timeout_s must be positive")
    body_of = payloads if callable(payloads) else (lambda i: payloads[i % len(payloads)])
    counter = iter(range(10**12))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    stop_at = [0.0]

    def next_index() -> int:
        with lock:
            return next(counter)

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        try:
            for _ in range(warmup):
                _send(conn, path, body_of(next_index()))
            barrier.wait()
            go.wait()  # the clock starts once every client is warm
            while time.perf_counter() < stop_at[0]:
                with lock:
                    if len(latencies) + errors[0] >= max_requests:
                        return
                i = next_index()
                start = time.perf_counter()
                ok = _send(conn, path, body_of(i))
                elapsed = (time.perf_counter() - start) * 1e3
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1
        finally:
            conn.close()

    barrier = threading.Barrier(concurrency + 1)
    go = threading.Event()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for th in threads:
        th.start()
    barrier.wait()
    begin = time.perf_counter()
    stop_at[0] = begin + duration_s
    go.set()
    for th in threads:
        th.join(timeout=duration_s + timeout_s + 5.0)
    seconds = time.perf_counter() - begin
    lat = np.asarray(latencies)
    done = len(lat)
    throughput = done / seconds if seconds > 0 else float("nan")
    mean = float(lat.mean()) if done else float("nan")
    return {
        "concurrency": concurrency,
        "requests": done,
        "errors": errors[0],
        "seconds": seconds,
        "throughput_rps": throughput,
        "p50_ms": float(np.percentile(lat, 50)) if done else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if done else float("nan"),
        "mean_ms": mean,
        "littles_law_clients": throughput * mean / 1e3,
    }


def _send(conn: http.client.HTTPConnection, path: str, body: dict) -> bool:
    data = json.dumps(body).encode()
    try:
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return 200 <= response.status < 300
    except (OSError, http.client.HTTPException):
        conn.close()  # reconnect on the next request
        return False


def load_curve(
    url: str,
    payloads: Callable[[int], dict] | Sequence[dict],
    *,
    concurrencies: Sequence[int] = (1, 2, 4, 8, 16),
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`closed_loop_load` at each concurrency; one row per level.

    Examples
    --------
    >>> load_curve("http://example.com/recommend", [{}])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: load tests only target loopback addresses; got host 'example.com'
    """
    _loopback(url)
    rows = [closed_loop_load(url, payloads, concurrency=c, **kwargs) for c in concurrencies]
    return pd.DataFrame(rows).set_index("concurrency")
