"""A JSON HTTP endpoint over :class:`RecommendationService`, standard library only.

Routes:

- ``POST /recommend`` with a JSON object ``{"user_id": 1, "history": [...], "k": 10,
  "context": {...}}`` answers 200 with the service's response, 400 with
  ``{"error": "<why>"}`` for a bad request, 413 for a body over 64 kB;
- ``GET /health`` answers 200 with what is loaded (a load balancer's liveness probe).

Anything else is 404 (unknown path) or 405 (wrong method). An unexpected exception
answers 500 with a generic message and leaves the server running.

The server is :mod:`wsgiref` with :class:`socketserver.ThreadingMixIn`: one thread per
connection, so slow clients do not block others (numpy releases the GIL in its heavy
loops). It binds to 127.0.0.1 only. It is a teaching server: production would run the
same WSGI app under a hardened server (gunicorn, uWSGI) behind a load balancer with TLS.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from course_utils.serving.service import BadRequest, RecommendationService

__all__ = [
    "HOST",
    "MAX_BODY_BYTES",
    "ThreadingWSGIServer",
    "make_app",
    "make_http_server",
    "serve_in_background",
]

HOST = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large", 500: "Internal Server Error"}  # fmt: skip


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref's server with one thread per connection."""

    daemon_threads = True  # do not keep the process alive for open connections
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    """No access line on stderr per request (the RequestLog is the access log)."""

    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        pass


def _json(start_response: Callable, status: int, body: dict) -> list[bytes]:
    data = json.dumps(body).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(f"{status} {_REASONS[status]}", headers)
    return [data]


def make_app(service: RecommendationService) -> Callable:
    """The WSGI application serving ``service`` (see the module docstring)."""
    if not isinstance(service, RecommendationService):
        raise TypeError(f"service must be a RecommendationService; got {type(service).__name__}")

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/health":
            if method != "GET":
                return _json(start_response, 405, {"error": "use GET /health"})
            return _json(start_response, 200, service.health())
        if path != "/recommend":
            return _json(
                start_response,
                404,
                {"error": f"no route {path!r}; use POST /recommend or GET /health"},
            )
        if method != "POST":
            return _json(start_response, 405, {"error": "use POST /recommend with a JSON body"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _json(start_response, 411, {"error": "Content-Length must be an integer"})
        if length > MAX_BODY_BYTES:
            return _json(
                start_response, 413, {"error": f"request body over {MAX_BODY_BYTES} bytes"}
            )
        try:
            payload = json.loads(environ["wsgi.input"].read(length) or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return _json(start_response, 400, {"error": f"the body is not valid JSON: {err}"})
        try:
            return _json(start_response, 200, service.handle(payload))
        except BadRequest as err:
            return _json(start_response, 400, {"error": str(err)})
        except Exception:  # keep serving; the request log has recorded the failure
            return _json(start_response, 500, {"error": "internal error"})

    return app


def make_http_server(service: RecommendationService, port: int = 0) -> ThreadingWSGIServer:
    """A threading WSGI server on 127.0.0.1:``port`` (0 picks a free port)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int in [0, 65535]; got {port!r}")
    return make_server(
        HOST, port, make_app(service), server_class=ThreadingWSGIServer, handler_class=_QuietHandler
    )


@contextmanager
def serve_in_background(service: RecommendationService, port: int = 0) -> Iterator[str]:
    """Run the endpoint in a background thread; yields its base URL, shuts down on exit.

    Examples
    --------
    >>> with serve_in_background(service) as url:  # doctest: +SKIP
    ...     urllib.request.urlopen(url + "/health").read()
    """
    server = make_http_server(service, port)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
