"""The HTTP endpoint over loopback: real requests, bad requests, concurrency, the CLI."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from course_utils.monitoring.request_log import RequestLog
from course_utils.serving import (
    RecommendationService,
    export_pipeline,
    save_artifacts,
    serve_in_background,
)
from course_utils.serving.__main__ import main
from course_utils.serving.artifacts import manifest_digest
from course_utils.serving.http import HOST, MAX_BODY_BYTES, ServerLimits, make_http_server
from tests.test_serving import small_world


@pytest.fixture(scope="module")
def served():
    data, model = small_world()
    log = RequestLog()
    service = RecommendationService.from_model(
        model, data.items, model_version="http-test", request_log=log
    )
    with serve_in_background(service, port=0) as url:
        yield url, service, log, model


def _call(url: str, path: str, body=None, method: str | None = None, raw: bytes | None = None):
    """(status, decoded JSON) of one request; HTTP errors are returned, not raised."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_health(served):
    url, service, _, _ = served
    status, body = _call(url, "/health")
    assert status == 200
    assert body == service.health() and body["model_version"] == "http-test"


def test_a_good_request(served):
    url, service, _, model = served
    user = int(model.users_.ids_[4])
    payload = {"user_id": user, "history": [int(model.items_.ids_[0])], "k": 5}
    status, body = _call(url, "/recommend", payload)
    assert status == 200
    direct = service.recommend(**payload)
    assert body["items"] == direct["items"] and body["source"] == "personalised"
    assert body["model_version"] == "http-test" and "total" in body["latency_ms"]


@pytest.mark.parametrize(
    "payload, raw, message",
    [
        ({"user_id": 1, "k": 0}, None, "k must be between 1 and 100; got 0"),
        ({"user_id": "abc"}, None, "user_id must be an integer; got str"),
        ({"user_id": 1, "history": [10**9]}, None, "unknown to the catalogue"),
        ({"user_id": 1, "history": "1"}, None, "history must be a list"),
        (None, b"{not json", "the body is not valid JSON"),
        (None, b"[1, 2]", "must be a JSON object; got list"),
        (None, b"", "the body is required"),
        (None, b'{"user_id": 1, "k": true}', "k must be an integer; got bool"),
        (None, b'{"user_id": 1, "k": 2.0}', "k must be an integer; got float"),
        (None, b'{"user_id": 1, "surprise": 1}', "surprise is not a request field"),
        (None, b'{"user_id": 1' + b"0" * 30 + b"}", "user_id must fit in 64 bits"),
        (None, b'{"user_id": 1' + b"0" * 5000 + b"}", "not valid JSON"),
        # 5,000 levels: Python 3.11's parser gives up (not valid JSON), 3.13's parses it and
        # the schema rejects the list; either way a 400 that says why
        (
            None,
            b'{"user_id": 1, "context": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            ("not valid JSON", "context must be a JSON object"),
        ),
        (None, b'{"user_id": 1, "context": {"a": ' + b"[" * 500 + b"]" * 500 + b"}}", None),
        (None, b'{"user_id": 1, "context": {"mmr_lambda": NaN}}', "mmr_lambda"),
        (None, b'{"user_id": 1, "history": [1, "2"]}', "history.1 must be an integer"),
        (None, b"\xff\xfe", "not valid JSON"),
    ],
)
def test_bad_requests_get_400_with_the_reason(served, payload, raw, message):
    url = served[0]
    status, body = _call(url, "/recommend", payload, method="POST", raw=raw)
    if message is None:  # deep but harmless nesting inside an ignored context key
        assert status == 200, body
        return
    assert status == 400
    messages = message if isinstance(message, tuple) else (message,)
    assert any(m in body["error"] for m in messages), body["error"]


def test_wrong_routes_methods_and_sizes(served):
    url = served[0]
    assert _call(url, "/nothing")[0] == 404
    assert _call(url, "/recommend")[0] == 405  # GET
    assert _call(url, "/health", {"x": 1})[0] == 405  # POST
    status, body = _call(url, "/recommend", raw=b" " * (MAX_BODY_BYTES + 1), method="POST")
    assert status == 413 and f"over {MAX_BODY_BYTES} bytes" in body["error"]


def test_concurrent_requests_are_all_answered_correctly(served):
    url, service, log, model = served
    users = [int(u) for u in model.users_.ids_[:8]] + [10**9]
    expected = {u: service.recommend(u, k=10)["items"] for u in users}
    before = len(log)
    jobs = [users[(t * 25 + i) % len(users)] for t in range(8) for i in range(25)]

    def one(user):
        return user, _call(url, "/recommend", {"user_id": user, "k": 10})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, jobs))
    assert len(results) == 200
    assert all(status == 200 for _, (status, _) in results)
    assert all(body["items"] == expected[user] for user, (_, body) in results)
    assert len(log) - before == 200  # nothing lost in the request log either


def test_port_must_be_valid():
    data, model = small_world()
    service = RecommendationService.from_model(model, data.items)
    with pytest.raises(ValueError, match="port"):
        make_http_server(service, port=70000)


def test_the_command_line_server(tmp_path, capsys):
    data, model = small_world()
    directory = tmp_path / "model"
    save_artifacts(
        export_pipeline(model, data.items),
        directory,
        model_version="cli-test",
        training_interactions=data.interactions,
    )
    command = [
        sys.executable,
        "-m",
        "course_utils.serving",
        "--artifacts",
        str(directory),
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("serving cli-test on http://127.0.0.1:"), (
            line + process.stderr.read()
        )
        url = line.split()[-1]
        status, body = _call(url, "/recommend", {"user_id": int(model.users_.ids_[0]), "k": 3})
        assert status == 200 and len(body["items"]) == 3
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert main(["--artifacts", str(tmp_path / "none")]) == 2  # a clear refusal, no traceback
    assert "no manifest.json" in capsys.readouterr().err


# --------------------------------------------------------------------------- probes, metrics
def test_liveness_readiness_and_metrics(served):
    url, service, _, model = served
    assert _call(url, "/healthz") == (200, {"status": "alive"})
    assert _call(url, "/readyz") == (200, service.health())

    def count(text, status):
        prefix = f'http_requests_total{{route="/recommend",method="POST",status="{status}"}} '
        return sum(int(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))

    def metrics():
        with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            return response.read().decode()

    before = metrics()
    _call(url, "/recommend", {"user_id": int(model.users_.ids_[0]), "k": 2})
    _call(url, "/recommend", {"user_id": 1, "k": 0})
    after = metrics()
    assert count(after, 200) == count(before, 200) + 1
    assert count(after, 400) == count(before, 400) + 1
    for line in after.splitlines():  # the Prometheus text format, line by line
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+\{[^}]*\} [0-9.e+-]+", line), line
    buckets = [
        int(line.split()[-1])
        for line in after.splitlines()
        if line.startswith('http_request_duration_seconds_bucket{route="/recommend"')
    ]
    assert buckets == sorted(buckets) and buckets[-1] >= 2  # cumulative, +Inf = count


# --------------------------------------------------------------------------- robustness
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def guarded():
    data, model = small_world()
    service = RecommendationService.from_model(model, data.items, model_version="robust")
    limits = ServerLimits(request_timeout=TIMEOUT, keep_alive_timeout=TIMEOUT)
    with serve_in_background(service, port=0, limits=limits) as url:
        yield url, int(url.rsplit(":", 1)[1]), model


def _raw(port: int, data: bytes, *, close_write: bool = False, wait: float = 10.0) -> bytes:
    """Send raw bytes; return everything the server sends back before it closes."""
    with socket.create_connection((HOST, port), timeout=wait) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            chunks.append(b"<hang>")
    return b"".join(chunks)


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    return match is not None and len(body) >= int(match.group(1))


def _status(response: bytes) -> int | None:
    match = re.match(rb"HTTP/1\.1 (\d{3})", response)
    return int(match.group(1)) if match else None


POST = b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    "data, close_write, expected",
    [
        (POST + b"Content-Length: -1\r\n\r\n" + b"x" * 100_000, False, {400}),
        (POST + b"Content-Length: abc\r\n\r\n{}", False, {400}),
        (POST + b"Content-Length: 100\r\n\r\n{}", False, {408}),  # lying length
        (POST + b"Content-Length: 100\r\n\r\n{}", True, {None}),  # ... and half-closed
        (POST + b"Content-Length: 99999999\r\n\r\n{}", False, {413}),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n4\r\n{\"us\r\n0\r\n\r\n", False, {400}),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"8000\r\n" + b" " * 0x8000 + b"\r\n"
         + b"8000\r\n" + b" " * 0x8000 + b"\r\n" + b"10\r\n" + b" " * 16 + b"\r\n0\r\n\r\n", False, {413}),
        (POST + b"Transfer-Encoding: chunked\r\n\r\n" + b"fffff\r\n" + b" " * 10, False, {408, 413}),
        (b"GARBAGE\r\n\r\n", False, {400}),
        (b"POST /recommend HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n", False, {400, 431, None}),
        (POST.replace(b"Content-Type: application/json\r\n", b"") + b"Content-Length: 13\r\n\r\n{\"user_id\":1}", False, {400}),
        (b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", False, {400}),
    ],
)  # fmt: skip
def test_hostile_http_gets_a_4xx_or_a_close_never_a_5xx_or_a_hang(
    guarded, data, close_write, expected
):
    _, port, _ = guarded
    start = time.monotonic()
    response = _raw(port, data, close_write=close_write)
    assert b"<hang>" not in response
    assert time.monotonic() - start < 2 * TIMEOUT + 5
    assert _status(response) in expected, response[:300]


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return None


def test_mixed_load_with_slow_and_half_open_clients(guarded):
    """A few threads of valid and invalid requests while slow and half-open clients hang on."""
    url, port, model = guarded
    users = [int(u) for u in model.users_.ids_[:20]]
    bad = [
        b"{not json", b"[]", b'{"user_id": "x"}', b'{"user_id": 1, "k": 0}',
        b"x" * (MAX_BODY_BYTES + 10), b'{"user_id": 1, "context": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    ]  # fmt: skip

    def client(worker: int) -> list[tuple[int, float]]:
        out = []
        for i in range(60):
            start = time.monotonic()
            if (worker + i) % 3:
                status, _ = _call(url, "/recommend", {"user_id": users[i % 20], "k": 10})
            else:
                status, _ = _call(url, "/recommend", raw=bad[i % len(bad)], method="POST")
            out.append((status, time.monotonic() - start))
        return out

    def stall(kind: int) -> bytes:
        with socket.create_connection((HOST, port), timeout=4 * TIMEOUT + 10) as sock:
            if kind == 0:
                sock.sendall(b"POST /recommend HTTP/1.1\r\nHo")  # slow headers
            elif kind == 1:
                sock.sendall(POST + b"Content-Length: 500\r\n\r\n{")  # slow body
            elif kind == 2:
                sock.sendall(POST + b"Content-Length: 500\r\n\r\n{")
                sock.shutdown(socket.SHUT_WR)  # half-open
            # kind 3: connect and say nothing
            try:
                return sock.recv(65536) + sock.recv(65536)  # b"" once the server closes
            except TimeoutError:
                return b"<hang>"

    _call(url, "/recommend", {"user_id": users[0], "k": 10})  # warm up
    rss_before = _rss_mb()
    with ThreadPoolExecutor(max_workers=16) as pool:
        stalls = [pool.submit(stall, i % 4) for i in range(12)]
        loads = [pool.submit(client, w) for w in range(4)]
        results = [r for f in loads for r in f.result(timeout=300)]
        stalled = [f.result(timeout=4 * TIMEOUT + 20) for f in stalls]
    rss_after = _rss_mb()
    statuses = [s for s, _ in results]
    assert len(statuses) == 240 and all(s < 500 for s in statuses), sorted(set(statuses))
    assert statuses.count(200) == 160 and set(statuses) <= {200, 400, 413}
    assert max(t for _, t in results) < 30  # nothing waited on a stalled client
    assert all(b"<hang>" not in r for r in stalled)  # every stalled client was cut off
    assert _call(url, "/healthz") == (200, {"status": "alive"})
    if rss_before is not None:
        assert rss_after - rss_before < 100, (rss_before, rss_after)


# --------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "abc"], "argument --port: must be an integer in [0, 65535]; got 'abc'"),
        (["--port", "70000"], "argument --port: must be an integer in [0, 65535]; got 70000"),
        (["--port", "-1"], "argument --port: must be an integer in [0, 65535]"),
        (["--mmr-lambda", "2"], "argument --mmr-lambda: must be a number in [0, 1]; got 2"),
        (["--mmr-lambda", "nan"], "argument --mmr-lambda: must be a number in [0, 1]"),
        (["--mmr-lambda", "x"], "argument --mmr-lambda: must be a number in [0, 1]; got 'x'"),
        (["--workers", "0"], "argument --workers: must be an integer >= 1"),
    ],
)
def test_bad_cli_arguments_get_argparse_errors(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["--artifacts", str(tmp_path), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _saved(tmp_path, version: str):
    data, model = small_world()
    directory = tmp_path / "model"
    save_artifacts(
        export_pipeline(model, data.items), directory, model_version=version,
        training_interactions=data.interactions,
    )  # fmt: skip
    return directory, model


def test_a_broken_artifact_directory_prints_the_artifact_error(tmp_path):
    directory, _ = _saved(tmp_path, "v")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["config"]["n_candidates"] = 0
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    command = [sys.executable, "-m", "course_utils.serving", "--artifacts", str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "cannot load artifacts" in done.stderr and "config.n_candidates" in done.stderr
    assert "Traceback" not in done.stderr


def test_several_worker_processes_serve_one_port(tmp_path):
    directory, model = _saved(tmp_path, "workers")
    command = [sys.executable, "-m", "course_utils.serving", "--artifacts", str(directory),
               "--port", "0", "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("serving workers on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split()[-1]
        deadline = time.monotonic() + 120
        while True:  # the workers load the artifacts before they accept
            try:
                status, body = _call(url, "/readyz")
                break
            except OSError:  # refused or reset while the workers start
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        assert status == 200 and body["model_version"] == "workers"
        status, body = _call(url, "/recommend", {"user_id": int(model.users_.ids_[0]), "k": 3})
        assert status == 200 and len(body["items"]) == 3
    finally:
        process.terminate()
        process.wait(timeout=60)
