"""Build the exercise notebooks from the solution notebooks.

``solutions/NN_name.ipynb`` is the single source. Every region between a line
``### BEGIN SOLUTION`` and a line ``### END SOLUTION`` is replaced:

* in code cells by ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, indented
  like the BEGIN marker (so it works inside a function body);
* in markdown cells by a line ``YOUR ANSWER HERE``.

Outputs and execution counts are cleared, the "Open in Colab" badge is pointed at
``exercises/`` and everything else (cell ids, metadata) is kept, so building twice gives
byte-identical files. Before stripping, the nbgrader metadata derived from the markers
(:mod:`course_utils.exercises.grading`) is written into the solution notebook (when it
changed) and so carried into the exercise notebook. :func:`check_exercises` reports
exercise notebooks that differ from a fresh build and solution notebooks whose nbgrader
metadata is missing or stale (used by CI).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.exercises.grading import apply_nbgrader_metadata, nbgrader_problems

__all__ = [
    "BEGIN",
    "END",
    "MarkerError",
    "build_exercises",
    "check_exercises",
    "find_repo_root",
    "select_notebooks",
    "strip_solutions",
    "strip_source",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"

_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (?:BEGIN|END) SOLUTION)[ \t]*$")
_COLAB_SOLUTIONS = re.compile(r"(colab\.research\.google\.com/github/[^\s)\"']*?)/solutions/")


class MarkerError(ValueError):
    """A solution region is not closed, closed twice or nested."""


@dataclass(frozen=True)
class BuildResult:
    """One built notebook: where it came from, where it went and how many regions it had."""

    source: Path
    target: Path
    n_regions: int


def strip_source(source: str, cell_type: str, where: str = "cell") -> tuple[str, int]:
    """Replace the solution regions of one cell's source; return ``(new_source, n_regions)``.

    Parameters
    ----------
    source : str
        The cell source.
    cell_type : {"code", "markdown", "raw"}
        Code cells get a ``raise NotImplementedError()`` stub, others ``YOUR ANSWER HERE``.
    where : str
        Name of the cell used in error messages, e.g. ``"solutions/05.ipynb, cell 7"``.

    Raises
    ------
    MarkerError
        When a BEGIN has no END, an END has no BEGIN, or regions are nested.

    Examples
    --------
    >>> src = "def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"
    >>> print(strip_source(src, "code")[0])
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    out: list[str] = []
    begin_line: int | None = None
    n_regions = 0
    lines = source.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        match = _MARKER.match(line.rstrip("\r\n"))
        if match is None:
            if begin_line is None:
                out.append(line)
            continue
        if match["marker"] == BEGIN:
            if begin_line is not None:
                raise MarkerError(
                    f"{where}: nested '{BEGIN}' on line {number} "
                    f"(the region opened on line {begin_line} is not closed yet)"
                )
            begin_line = number
            indent = match["indent"]
            if cell_type == "code":
                out.extend(f"{indent}{stub}\n" for stub in CODE_STUB)
            else:
                out.append(f"{ANSWER_STUB}\n")
        else:
            if begin_line is None:
                raise MarkerError(f"{where}: '{END}' on line {number} has no matching '{BEGIN}'")
            begin_line = None
            n_regions += 1
    if begin_line is not None:
        raise MarkerError(f"{where}: '{BEGIN}' on line {begin_line} has no matching '{END}'")
    text = "".join(out)
    if not source.endswith("\n") and text.endswith("\n"):
        text = text[:-1]
    return text, n_regions


def strip_solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> int:
    """Turn a solution notebook into an exercise notebook in place; return the region count.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("Why?\\n### BEGIN SOLUTION\\nBecause.\\n### END SOLUTION"),
    ... ])
    >>> strip_solutions(nb), nb.cells[0].source
    (1, 'Why?\\nYOUR ANSWER HERE')
    """
    total = 0
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        cell.source, n_regions = strip_source(cell.source, cell.cell_type, where)
        total += n_regions
        if cell.cell_type == "markdown":
            cell.source = _COLAB_SOLUTIONS.sub(r"\1/exercises/", cell.source)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return total


def _write(nb: nbformat.NotebookNode, target: Path) -> None:
    text = nbformat.writes(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((text if text.endswith("\n") else text + "\n").encode("utf-8"))


def build_notebook(
    source: Path, target: Path, label: str | None = None, update_source: bool = True
) -> BuildResult:
    """Build one exercise notebook from one solution notebook.

    The solution notebook gets its derived nbgrader metadata first (rewritten in place
    when it changed, unless ``update_source`` is False).
    """
    label = label or str(source)
    nb = nbformat.read(source, as_version=nbformat.NO_CONVERT)
    if apply_nbgrader_metadata(nb, name=label) and update_source:
        _write(nb, source)
    n_regions = strip_solutions(nb, name=label)
    _write(nb, target)
    from course_utils.notebooks import write_pair  # the jupytext .py twin, like every notebook

    write_pair(target)
    return BuildResult(source=source, target=target, n_regions=n_regions)


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest folder holding both ``solutions/`` and ``course_utils/``.

    Searched upwards from ``start`` (default: the working directory), then from the
    location of this package (an editable install inside the repository).
    """
    starts = [Path.cwd() if start is None else Path(start), Path(__file__).resolve()]
    for origin in starts:
        origin = origin.resolve()
        for folder in (origin, *origin.parents):
            if (folder / "solutions").is_dir() and (folder / "course_utils").is_dir():
                return folder
    raise FileNotFoundError(
        "could not find the course repository (a folder containing solutions/ and "
        f"course_utils/) above {starts[0]}; pass --solutions and --exercises explicitly"
    )


def _label(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def select_notebooks(solutions_dir: Path, names: list[str] | None) -> list[Path]:
    """Solution notebooks to build: all of them, or those named (``05_evaluation[.ipynb]``)."""
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"solutions folder not found: {solutions_dir}")
    sources = sorted(solutions_dir.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no *.ipynb notebooks in {solutions_dir}")
    if not names:
        return sources
    wanted = {Path(name).stem for name in names}
    unknown = sorted(wanted - {src.stem for src in sources})
    if unknown:
        raise FileNotFoundError(f"no solution notebook {', '.join(unknown)} in {solutions_dir}")
    return [src for src in sources if src.stem in wanted]


def build_exercises(
    solutions_dir: Path,
    exercises_dir: Path,
    names: list[str] | None = None,
    update_source: bool = True,
) -> list[BuildResult]:
    """Build ``exercises_dir/X.ipynb`` for every ``solutions_dir/X.ipynb`` (sorted by name).

    ``names`` restricts the build to some notebooks, e.g. ``["05_evaluation"]``.
    """
    solutions_dir, exercises_dir = Path(solutions_dir), Path(exercises_dir)
    sources = select_notebooks(solutions_dir, names)
    root = solutions_dir.parent
    return [
        build_notebook(src, exercises_dir / src.name, _label(src, root), update_source)
        for src in sources
    ]


def check_exercises(
    solutions_dir: Path, exercises_dir: Path, names: list[str] | None = None
) -> list[str]:
    """Problems with ``exercises_dir`` compared with a fresh build; empty when up to date.

    Without ``names`` it also reports exercise notebooks that have no solution notebook.
    Solution notebooks whose nbgrader metadata differs from the derived one are reported
    too (``build`` rewrites it).
    """
    solutions_dir, exercises_dir = Path(solutions_dir), Path(exercises_dir)
    problems = []
    root = solutions_dir.parent
    for src in select_notebooks(solutions_dir, names):
        nb = nbformat.read(src, as_version=nbformat.NO_CONVERT)
        problems += nbgrader_problems(nb, name=_label(src, root))
    with tempfile.TemporaryDirectory() as tmp:
        for result in build_exercises(solutions_dir, Path(tmp), names, update_source=False):
            committed = exercises_dir / result.target.name
            if not committed.is_file():
                problems.append(f"{committed}: missing (built from {result.source})")
            elif committed.read_bytes() != result.target.read_bytes():
                problems.append(f"{committed}: differs from a fresh build of {result.source}")
    if names:
        return problems
    built = {p.name for p in solutions_dir.glob("*.ipynb")}
    for extra in sorted(exercises_dir.glob("*.ipynb")):
        if extra.name not in built:
            problems.append(f"{extra}: has no solution notebook in {solutions_dir}")
    return problems
