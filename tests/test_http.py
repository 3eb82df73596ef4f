"""The HTTP endpoint over loopback: real requests, bad requests, concurrency, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
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
from course_utils.serving.http import MAX_BODY_BYTES, make_http_server
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
        (None, b"", "must be a JSON object; got NoneType"),
    ],
)
def test_bad_requests_get_400_with_the_reason(served, payload, raw, message):
    url = served[0]
    status, body = _call(url, "/recommend", payload, method="POST", raw=raw)
    assert status == 400
    assert message in body["error"]


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
