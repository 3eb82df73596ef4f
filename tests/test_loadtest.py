"""Tests for course_utils.serving.loadtest against a tiny loopback server (bounded, local)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from course_utils.serving.loadtest import closed_loop_load, load_curve


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - the stdlib's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(0.004)
        status = 400 if body.get("bad") else 200
        data = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/recommend"
    server.shutdown()
    server.server_close()


def test_closed_loop_counts_requests_and_stops_by_itself(url):
    out = closed_loop_load(url, [{"user_id": 1}], concurrency=2, max_requests=60, warmup=2)
    assert out["errors"] == 0
    assert 60 <= out["requests"] <= 61  # at most one request in flight per client past the cap
    assert out["p50_ms"] <= out["p99_ms"]
    # Little's law: clients ~ throughput x latency (loose: client overhead is not counted)
    assert 0.3 * 2 <= out["littles_law_clients"] <= 2.05


def test_non_2xx_answers_are_errors(url):
    out = closed_loop_load(url, lambda i: {"bad": i % 2 == 0}, concurrency=1, max_requests=20,
                           warmup=0)  # fmt: skip
    assert out["errors"] == 10 and out["requests"] == 10


def test_duration_bounds_the_run(url):
    start = time.perf_counter()
    out = closed_loop_load(url, [{}], concurrency=1, max_requests=10**6, duration_s=0.5, warmup=0)
    assert time.perf_counter() - start < 5.0
    assert out["requests"] < 10**6


def test_load_curve_has_one_row_per_concurrency(url):
    table = load_curve(url, [{}], concurrencies=(1, 3), max_requests=30, warmup=1)
    assert list(table.index) == [1, 3]


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1:8000/x", "http://example.com/x", "https://127.0.0.1/x", "127.0.0.1:80"],
)
def test_only_loopback_http_targets_are_allowed(target):
    with pytest.raises(ValueError):
        closed_loop_load(target, [{}], concurrency=1)


@pytest.mark.parametrize("kw", [dict(concurrency=0), dict(concurrency=1, max_requests=0)])
def test_bad_parameters_are_rejected(url, kw):
    with pytest.raises(ValueError):
        closed_loop_load(url, [{}], **kw)
