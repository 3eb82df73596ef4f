"""The JSON HTTP endpoint over :class:`RecommendationService`: FastAPI on uvicorn.

Routes:

- ``POST /recommend`` with a JSON object ``{"user_id": 1, "history": [...], "k": 10,
  "context": {...}}`` (the pydantic model :class:`RecommendRequest`) answers 200 with a
  :class:`RecommendResponse`; a malformed or out-of-range request answers 400 with
  ``{"error": "<why>"}``, a body over :data:`MAX_BODY_BYTES` 413, a body not received
  within the request timeout 408;
- ``GET /healthz``: liveness (the process answers); ``GET /readyz`` (and its older name
  ``GET /health``): readiness, 200 with what is loaded once the artifacts are loaded and
  verified (a load balancer sends traffic only then);
- ``GET /metrics``: request counts by route and status and a latency histogram in the
  Prometheus text format (what step 7 monitors); per process.

Anything else is 404 (unknown path) or 405 (wrong method), with the same JSON error body.
An unexpected exception answers 500 with a generic message and the server keeps running.

Why a maintained server: parsing HTTP by hand is where endpoints break (negative or lying
``Content-Length``, chunked bodies, connections that stall). uvicorn parses HTTP with
``h11``; on top, :class:`ServerLimits` sets a body-size limit, a request timeout (a client
must send its request line, headers and body within it; a silent connection is closed), a
keep-alive timeout, and a concurrency limit (beyond it uvicorn answers 503 at once rather
than queueing without bound). FastAPI validates requests and responses with pydantic.

One process serves requests on a thread pool (numpy releases the GIL in its heavy loops);
production runs one process per core (``python -m course_utils.serving --workers N``)
behind a load balancer with TLS. The server binds to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol

from course_utils.serving.service import BadRequest, RecommendationService

__all__ = [
    "HOST",
    "MAX_BODY_BYTES",
    "GuardedH11Protocol",
    "HTTPServer",
    "RecommendRequest",
    "RecommendResponse",
    "ServerLimits",
    "make_app",
    "make_http_server",
    "serve_in_background",
]

HOST = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
ROUTES = ("/recommend", "/healthz", "/readyz", "/health", "/metrics")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class ServerLimits:
    """What one server process accepts.

    Attributes
    ----------
    max_body_bytes : int
        Larger bodies get 413 (checked on ``Content-Length`` and on the bytes received).
    request_timeout : float
        Seconds a client has to send a complete request (headers and body); a connection
        that sends nothing, or stalls mid-request, is answered 408 or closed within about
        twice this.
    keep_alive_timeout : float
        Seconds an idle keep-alive connection stays open.
    max_concurrency : int
        Connections plus in-flight requests; beyond it, 503 at once (load shedding).
    """

    max_body_bytes: int = MAX_BODY_BYTES
    request_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    max_concurrency: int = 100

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_concurrency"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1; got {value!r}")
        for name in ("request_timeout", "keep_alive_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a number > 0; got {value!r}")


class RecommendRequest(BaseModel):
    """``POST /recommend`` body; ranges (k, history length, context) are the service's."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: Int64
    history: list[Int64] | None = None
    k: Int64 = 10
    context: dict[str, Any] | None = None


class RecommendedItem(BaseModel):
    item_id: int
    title: str
    score: float


class RecommendResponse(BaseModel):
    """``POST /recommend`` answer (see :meth:`RecommendationService.recommend`)."""

    user_id: int
    source: str
    model_version: str
    items: list[RecommendedItem]
    latency_ms: dict[str, float]


# --------------------------------------------------------------------------- metrics
class Metrics:
    """Request counts and a latency histogram, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int], int] = {}
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, method, status)
            self._counts[key] = self._counts.get(key, 0) + 1
            buckets = self._buckets.setdefault(route, [0] * (len(LATENCY_BUCKETS) + 1))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            buckets[-1] += 1  # +Inf, the count
            self._sums[route] = self._sums.get(route, 0.0) + seconds

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP http_requests_total HTTP requests answered, by route, method and status.",
                "# TYPE http_requests_total counter",
            ]
            for (route, method, status), n in sorted(self._counts.items()):
                lines.append(
                    f'http_requests_total{{route="{route}",method="{method}",status="{status}"}} {n}'
                )
            lines += [
                "# HELP http_request_duration_seconds Time from request start to response end.",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for route, buckets in sorted(self._buckets.items()):
                for bound, n in zip((*LATENCY_BUCKETS, "+Inf"), buckets, strict=True):
                    lines.append(
                        f'http_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {n}'
                    )
                lines.append(
                    f'http_request_duration_seconds_sum{{route="{route}"}} {self._sums[route]:.6f}'
                )
                lines.append(
                    f'http_request_duration_seconds_count{{route="{route}"}} {buckets[-1]}'
                )
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- ASGI guards
async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class _Guard:
    """Outermost ASGI layer: metrics, the body-size limit and the body timeout.

    The body is read here in full (at most ``max_body_bytes``, within ``request_timeout``)
    and replayed to FastAPI, so neither a lying ``Content-Length`` nor a chunked or endless
    body nor a stalled client can hold a worker.
    """

    def __init__(self, app, *, limits: ServerLimits, metrics: Metrics) -> None:
        self.app, self.limits, self.metrics = app, limits, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_and_record(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_and_record)
        finally:
            route = scope["path"] if scope["path"] in ROUTES else "other"  # bounded labels
            method = scope["method"] if scope["method"] in ("GET", "POST", "HEAD") else "other"
            self.metrics.observe(route, method, status[0], time.perf_counter() - start)

    async def _handle(self, scope, receive, send) -> None:
        limit = self.limits.max_body_bytes
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_json(send, 413, {"error": f"request body over {limit} bytes"})
            return
        chunks: list[bytes] = []

        async def read() -> str:
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return "gone"
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > limit:
                    return "too large"
                if not message.get("more_body", False):
                    return "ok"

        try:
            outcome = await asyncio.wait_for(read(), self.limits.request_timeout)
        except asyncio.TimeoutError:
            timeout = self.limits.request_timeout
            await _send_json(
                send, 408, {"error": f"request body not received within {timeout:g} s"}
            )
            return
        if outcome == "gone":
            return
        if outcome == "too large":
            await _send_json(send, 413, {"error": f"request body over {limit} bytes"})
            return
        body, replayed = b"".join(chunks), [False]

        async def replay():
            if not replayed[0]:
                replayed[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _field_error(error: dict) -> str:
    """One pydantic error as ``"<field> <what was expected>; got <type>"``."""
    loc = ".".join(str(p) for p in error["loc"] if p != "body") or "the body"
    kind, value = error["type"], error.get("input")
    expected = {
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "list_type": "must be a list of item ids",
        "dict_type": "must be a JSON object",
        "model_attributes_type": "must be a JSON object",
        "greater_than_equal": "must fit in 64 bits",
        "less_than_equal": "must fit in 64 bits",
        "missing": "is required",
        "extra_forbidden": f"is not a request field (allowed: {list(RecommendRequest.model_fields)})",
        "json_invalid": "is not valid JSON",
    }.get(kind)
    if isinstance(value, bytes):  # FastAPI parses JSON only when the client says it is JSON
        return "the body must be JSON, sent with the header Content-Type: application/json"
    if expected is None:
        return f"{loc}: {error.get('msg', 'invalid')}"
    if kind in ("missing", "extra_forbidden", "json_invalid"):
        return f"{loc} {expected}"
    shown = type(value).__name__ if kind.endswith("_type") else "a value out of range"
    return f"{loc} {expected}; got {shown}"


def make_app(service: RecommendationService, *, limits: ServerLimits | None = None) -> FastAPI:
    """The ASGI application serving ``service`` (see the module docstring)."""
    if not isinstance(service, RecommendationService):
        raise TypeError(f"service must be a RecommendationService; got {type(service).__name__}")
    limits = limits or ServerLimits()
    app = FastAPI(title="course_utils recommendations", docs_url=None, redoc_url=None)
    app.state.metrics = Metrics()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        message = "; ".join(_field_error(e) for e in errors[:3]) or "invalid request"
        if any(e["type"] == "json_invalid" for e in errors):
            message = "the body is not valid JSON"
        return JSONResponse({"error": message}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no route {request.url.path[:100]!r}; use POST /recommend or GET /readyz"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:  # FastAPI's "There was an error parsing the body" and the like
            message = "the body is not valid JSON" if exc.status_code == 400 else str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "internal error"}, status_code=500)

    @app.post("/recommend", response_model=RecommendResponse)
    def recommend(request: RecommendRequest) -> dict:
        try:
            return service.recommend(**request.model_dump())
        except BadRequest as err:
            return JSONResponse({"error": str(err)}, status_code=400)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "alive"}

    @app.get("/readyz")
    @app.get("/health")
    def readyz() -> dict:
        return service.health()

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        return app.state.metrics.render()

    app.add_middleware(_Guard, limits=limits, metrics=app.state.metrics)
    return app


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that starts no request in time.

    uvicorn times out idle keep-alive connections but not a client that connects and then
    sends nothing, or half a request line: every ``request_timeout`` seconds this checks
    that a new request has started or one is in flight, and closes the connection if not
    (so a stalled client holds a socket for at most about twice the timeout).
    """

    request_timeout: float = ServerLimits.request_timeout

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._watch_seen, self._watch = None, None
        self._arm()

    def _arm(self) -> None:
        self._watch_seen = self.cycle
        self._watch = self.loop.call_later(self.request_timeout, self._check)

    def _check(self) -> None:
        if self.transport.is_closing():
            return
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self.cycle is self._watch_seen:  # no new request for a whole period
            self.transport.close()
            return
        self._arm()

    def connection_lost(self, exc) -> None:
        if self._watch is not None:
            self._watch.cancel()
        super().connection_lost(exc)


class HTTPServer:
    """A uvicorn server bound to ``127.0.0.1:port`` (``port`` and ``url`` once bound)."""

    def __init__(
        self, service: RecommendationService, port: int = 0, limits: ServerLimits | None = None
    ) -> None:
        import uvicorn

        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in [0, 65535]; got {port!r}")
        self.limits = limits or ServerLimits()
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((HOST, port))
            self.socket.listen(2048)  # connections queue from now on, before the loop runs
        except OSError:
            self.socket.close()
            raise
        self.port = self.socket.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        config = uvicorn.Config(
            make_app(service, limits=self.limits),
            http=type(
                "GuardedH11Protocol",
                (GuardedH11Protocol,),
                {"request_timeout": self.limits.request_timeout},
            ),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=self.limits.keep_alive_timeout,
            limit_concurrency=self.limits.max_concurrency,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or Ctrl-C in the main thread)."""
        self.server.run(sockets=[self.socket])

    def shutdown(self) -> None:
        self.server.should_exit = True

    def close(self) -> None:
        self.socket.close()


def make_http_server(
    service: RecommendationService, port: int = 0, *, limits: ServerLimits | None = None
) -> HTTPServer:
    """An :class:`HTTPServer` for ``service`` on 127.0.0.1:``port`` (0 picks a free port)."""
    return HTTPServer(service, port, limits)


@contextmanager
def serve_in_background(
    service: RecommendationService, port: int = 0, *, limits: ServerLimits | None = None
) -> Iterator[str]:
    """Run the endpoint in a background thread; yields its base URL, shuts down on exit.

    Examples
    --------
    >>> with serve_in_background(service) as url:  # doctest: +SKIP
    ...     urllib.request.urlopen(url + "/readyz").read()
    """
    server = make_http_server(service, port, limits=limits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.server.started:
            raise RuntimeError(f"the HTTP server did not start on {server.url}")
        yield server.url
    finally:
        server.shutdown()
        thread.join(timeout=30)
        server.close()
