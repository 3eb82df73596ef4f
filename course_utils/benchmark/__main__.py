"""Run the course benchmarks: ``python -m course_utils.benchmark [--quick] [section ...]``.

Each section is a module of this package with ``run(quick=False)`` that prints what it
measured in this run (medians and ratios; machines are noisy, so compare ratios).
Without arguments every section runs in order; ``--quick`` skips the heavy scale runs.
"""

from __future__ import annotations

import argparse
import importlib
import time

SECTIONS = (
    "data",  # synthetic generator speed (issue: spine I)
    "evaluation",  # benchmark protocol and evaluate() speed (spine II)
    "features",  # point-in-time features (step 3)
    "retrieval",  # retrieval models vs their bars, implicit side by side (step 4a)
    "two_stage",  # the ranking stage (step 4b)
    "serving",  # latency, capacity and scaling (step 6)
    "ann",  # approximate nearest neighbours vs exact search at 1M titles (step 6)
    "monitoring",  # log summaries (step 7)
    "results",  # the README's headline table: every model, NDCG@10 with its interval
    "spark",  # appendix A1: ALS + nightly batch on Spark vs numpy (needs requirements-spark.txt)
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.benchmark", description=__doc__)
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=[])
    parser.add_argument("--quick", action="store_true", help="skip the heavy scale runs")
    args = parser.parse_args(argv)
    for name in args.sections or SECTIONS:
        try:
            module = importlib.import_module(f"course_utils.benchmark.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"course_utils.benchmark.{name}":
                raise
            print(f"== {name}: not available in this version, skipped\n")
            continue
        print(f"== {name}")
        start = time.perf_counter()
        module.run(quick=args.quick)
        print(f"-- {name} done in {time.perf_counter() - start:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
