"""Serve saved artifacts over HTTP: ``python -m course_utils.serving --artifacts DIR --port N``.

The artifacts are loaded and verified before the port opens (digests, versions, schema,
arrays; see :mod:`course_utils.serving.artifacts`): a broken directory prints the
:class:`~course_utils.serving.ArtifactError` message and exits with status 2. The endpoint
(FastAPI on uvicorn, see :mod:`course_utils.serving.http`) binds to 127.0.0.1 only.

``--workers N`` runs N server processes on the one port, each loading and verifying the
artifacts itself: the deployment shape is one process per CPU core (Python runs one
thread of Python code at a time per process), behind a load balancer that checks
``GET /readyz``. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from course_utils.serving.artifacts import ArtifactError, load_artifacts
from course_utils.serving.http import HOST, ServerLimits, make_app, make_http_server
from course_utils.serving.service import RecommendationService

ENV_ARTIFACTS = "COURSE_SERVING_ARTIFACTS"
ENV_MMR_LAMBDA = "COURSE_SERVING_MMR_LAMBDA"


def _bounded(cast, low: float, high: float, what: str):
    """An argparse ``type``: ``cast(text)`` within [low, high], else an argparse error."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text}")
        return value

    return parse


_port = _bounded(int, 0, 65535, "an integer in [0, 65535]")
_unit = _bounded(float, 0.0, 1.0, "a number in [0, 1]")
_workers = _bounded(int, 1, math.inf, "an integer >= 1")


def _load_service(directory: str, mmr_lambda: float) -> RecommendationService:
    return RecommendationService(load_artifacts(directory), mmr_lambda=mmr_lambda)


def app_from_env():
    """App factory of each worker process (``--workers`` > 1): artifacts from the environment."""
    service = _load_service(os.environ[ENV_ARTIFACTS], float(os.environ[ENV_MMR_LAMBDA]))
    return make_app(service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.serving",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--artifacts", required=True, help="directory written by save_artifacts")
    parser.add_argument(
        "--port", type=_port, default=8000, help="TCP port on 127.0.0.1 (0: any free port)"
    )
    parser.add_argument(
        "--mmr-lambda", type=_unit, default=0.8, help="default relevance weight of MMR, in [0, 1]"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes (production: one per CPU core); each loads the artifacts",
    )
    args = parser.parse_args(argv)
    try:
        service = _load_service(args.artifacts, args.mmr_lambda)
    except (ArtifactError, OSError) as err:
        print(f"cannot load artifacts: {err}", file=sys.stderr)
        return 2
    try:
        server = make_http_server(service, args.port)
    except OSError as err:
        print(f"cannot listen on {HOST}:{args.port}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"serving {service.model_version} on {server.url}", flush=True)
    if args.workers == 1:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
        return 0
    import uvicorn

    port = server.port  # chosen (0 -> a free port) and released for uvicorn's shared socket
    server.close()
    os.environ[ENV_ARTIFACTS] = os.path.abspath(args.artifacts)
    os.environ[ENV_MMR_LAMBDA] = repr(args.mmr_lambda)
    limits = ServerLimits()
    uvicorn.run(
        "course_utils.serving.__main__:app_from_env",
        factory=True,
        host=HOST,
        port=port,
        workers=args.workers,
        http="course_utils.serving.http:GuardedH11Protocol",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=limits.keep_alive_timeout,
        limit_concurrency=limits.max_concurrency,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
