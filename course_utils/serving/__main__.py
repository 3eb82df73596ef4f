"""Serve saved artifacts over HTTP: ``python -m course_utils.serving --artifacts DIR --port N``.

The artifacts are verified while loading (checksums, versions; see
:mod:`course_utils.serving.artifacts`); the endpoint binds to 127.0.0.1 only. Stop it
with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

from course_utils.serving.artifacts import ArtifactError, load_artifacts
from course_utils.serving.http import HOST, make_http_server
from course_utils.serving.service import RecommendationService


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.serving", description=__doc__)
    parser.add_argument("--artifacts", required=True, help="directory written by save_artifacts")
    parser.add_argument(
        "--port", type=int, default=8000, help="TCP port on 127.0.0.1 (0: any free port)"
    )
    parser.add_argument(
        "--mmr-lambda", type=float, default=0.8, help="default relevance weight of MMR"
    )
    args = parser.parse_args(argv)
    try:
        artifacts = load_artifacts(args.artifacts)
    except (ArtifactError, OSError) as err:
        print(f"cannot load artifacts: {err}", file=sys.stderr)
        return 2
    service = RecommendationService(artifacts, mmr_lambda=args.mmr_lambda)
    server = make_http_server(service, args.port)
    print(f"serving {service.model_version} on http://{HOST}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
