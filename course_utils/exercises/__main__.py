"""Command line: ``python -m course_utils.exercises {build,check} [NOTEBOOK ...] [options]``.

``build`` writes the derived nbgrader metadata into ``solutions/*.ipynb`` and regenerates
``exercises/*.ipynb`` from them; ``check`` exits with status 1 and lists the files when
``exercises/`` differs from what ``build`` would write or the solutions' nbgrader metadata
is stale. ``nbgrader --course DIR`` copies the solution notebooks into the nbgrader course
folder ``DIR`` as ``source/NN_name/NN_name.ipynb`` (one assignment per step; see the
README's "For instructors").
Default folders are ``solutions/`` and ``exercises/`` of the repository found above the
working directory (or above this package).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.exercises.build import (
    MarkerError,
    build_exercises,
    check_exercises,
    find_repo_root,
    select_notebooks,
)
from course_utils.exercises.grading import GradingError, prepare_course


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.exercises",
        description="Build exercise notebooks from solution notebooks, or check they are fresh.",
    )
    parser.add_argument("command", choices=["build", "check", "nbgrader"])
    parser.add_argument(
        "notebooks",
        nargs="*",
        help="only these solution notebooks, e.g. 05_evaluation (default: all)",
    )
    parser.add_argument("--solutions", type=Path, help="folder of solution notebooks")
    parser.add_argument("--exercises", type=Path, help="folder to write exercise notebooks to")
    parser.add_argument("--course", type=Path, help="nbgrader course folder (command nbgrader)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parse(argv)
    try:
        if args.solutions is None or args.exercises is None:
            root = find_repo_root()
            args.solutions = args.solutions or root / "solutions"
            args.exercises = args.exercises or root / "exercises"
        if args.command == "nbgrader":
            if args.course is None:
                print("error: nbgrader needs --course DIR", file=sys.stderr)
                return 2
            for path in prepare_course(
                select_notebooks(args.solutions, args.notebooks), args.course
            ):
                print(f"wrote {path}")
            return 0
        if args.command == "build":
            for result in build_exercises(args.solutions, args.exercises, args.notebooks):
                n = result.n_regions
                print(f"built {result.target} ({n} solution region{'' if n == 1 else 's'})")
            return 0
        problems = check_exercises(args.solutions, args.exercises, args.notebooks)
    except (MarkerError, GradingError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if problems:
        print("exercise notebooks are out of date; run `python -m course_utils.exercises build`:")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"exercise notebooks in {args.exercises} are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
