"""nbgrader cell metadata, derived from the solution markers, and nbgrader course folders.

Every solution notebook is an nbgrader *source* notebook. Its cells are classified by what
they contain, so a new exercise needs no hand-written metadata:

* a **code** cell with a ``### BEGIN SOLUTION`` region is a *solution* cell (the learner
  edits it; ``grade_id`` = the first function defined in it);
* a code cell with a top-level call ``check_...(...)`` (optionally ``_ = check_...(...)``)
  is an *autograded test* cell worth :data:`AUTO_POINTS` point (``grade_id`` = the check's
  name); it must not also contain a solution region;
* a **markdown** cell with a solution region is a *written answer*, graded by hand with the
  rubric of the solution notebook, worth :data:`WRITTEN_POINTS` points;
* every other cell is *read-only* (``locked``), so ``nbgrader autograde`` restores it.

A line ``# points: N`` in a check cell (or ``<!-- points: N -->`` in a written answer)
overrides the default points. :func:`apply_nbgrader_metadata` writes the metadata,
:func:`nbgrader_problems` lists what is wrong with a notebook's metadata, and
:func:`prepare_course` lays out ``source/<assignment>/`` of an nbgrader course folder.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "AUTO_POINTS",
    "WRITTEN_POINTS",
    "apply_nbgrader_metadata",
    "cell_kind",
    "derive_nbgrader_metadata",
    "nbgrader_problems",
    "point_badge_at_exercises",
    "prepare_course",
]

AUTO_POINTS = 1
"""Points of an autograded check cell (all or nothing: the check passes or raises)."""
WRITTEN_POINTS = 2
"""Points of a written answer, graded by hand with the rubric in the solution notebook."""
SCHEMA_VERSION = 3

_BEGIN = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*$", re.M)
_TOP_LEVEL_STUB = re.compile(r"^### BEGIN SOLUTION[ \t]*$", re.M)
_CHECK_CALL = re.compile(r"^(?:[A-Za-z_]\w*\s*=\s*)?(check_\w+)\(", re.M)
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)
_ASSIGN = re.compile(r"^([A-Za-z_]\w*)\s*=", re.M)
_POINTS = re.compile(r"(?:#|<!--)\s*points:\s*(\d+)")
_EXERCISE = re.compile(r"^#+\s*Exercise\s+(\d+)", re.M)
_COLAB_SOLUTIONS = re.compile(r"(colab\.research\.google\.com/github/[^\s)\"']*?)/solutions/")


class GradingError(ValueError):
    """A cell that cannot be given consistent nbgrader metadata."""


def cell_kind(cell: nbformat.NotebookNode) -> str:
    """Classify a cell: ``"solution"``, ``"check"``, ``"written"`` or ``"readonly"``.

    Examples
    --------
    >>> cell_kind(nbformat.v4.new_code_cell("_ = check_gini(gini)"))
    'check'
    >>> cell_kind(nbformat.v4.new_markdown_cell("Why?\\n### BEGIN SOLUTION\\nX\\n### END SOLUTION"))
    'written'
    """
    has_solution = bool(_BEGIN.search(cell.source))
    if cell.cell_type == "markdown":
        return "written" if has_solution else "readonly"
    if cell.cell_type != "code":
        return "readonly"
    has_check = bool(_CHECK_CALL.search(cell.source))
    if has_solution and has_check:
        return "solution+check"
    if has_solution:
        return "solution"
    return "check" if has_check else "readonly"


def _points(source: str, default: int) -> int:
    match = _POINTS.search(source)
    return int(match[1]) if match else default


def derive_nbgrader_metadata(nb: nbformat.NotebookNode, name: str = "notebook") -> list[dict]:
    """The ``nbgrader`` metadata of every cell of a solution notebook, in cell order.

    Raises
    ------
    GradingError
        When a code cell holds both a solution region and a check call (nbgrader cannot
        grade a cell the learner edits), or a solution stub would sit at the top level of
        a code cell (the untouched notebook would then stop at that cell).

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("def f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n"
    ...                               "    ### END SOLUTION"),
    ...     nbformat.v4.new_code_cell("check_f(f)")])
    >>> [(m["grade_id"], m["solution"], m["grade"]) for m in derive_nbgrader_metadata(nb)]
    [('f', True, False), ('check_f', False, True)]
    """
    metas: list[dict] = []
    used: set[str] = set()
    exercise = "0"
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            heading = _EXERCISE.search(cell.source)
            exercise = heading[1] if heading else exercise
        kind = cell_kind(cell)
        if kind == "solution+check":
            raise GradingError(
                f"{where}: a solution region and a check call in the same cell; move the "
                "check call into a cell of its own (nbgrader grades the check cell)"
            )
        if kind == "solution" and _TOP_LEVEL_STUB.search(cell.source):
            raise GradingError(
                f"{where}: '### BEGIN SOLUTION' at the top level of a code cell; put the "
                "answer inside a function so the untouched notebook still runs to the end"
            )
        meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        if kind == "solution":
            found = _DEF.search(cell.source) or _ASSIGN.search(cell.source)
            base = found[1] if found else f"exercise{exercise}_answer"
            meta.update(solution=True, grade=False, locked=False)
        elif kind == "check":
            base = _CHECK_CALL.search(cell.source)[1]
            meta.update(solution=False, grade=True, locked=True)
            meta["points"] = _points(cell.source, AUTO_POINTS)
        elif kind == "written":
            base = f"exercise{exercise}_written"
            meta.update(solution=True, grade=True, locked=False)
            meta["points"] = _points(cell.source, WRITTEN_POINTS)
        else:
            base = f"cell-{cell.get('id') or index}"
            meta.update(solution=False, grade=False, locked=True)
        grade_id, n = base, 2
        while grade_id in used:
            grade_id, n = f"{base}_{n}", n + 1
        used.add(grade_id)
        meta["grade_id"] = grade_id
        metas.append(meta)
    return metas


def apply_nbgrader_metadata(nb: nbformat.NotebookNode, name: str = "notebook") -> bool:
    """Write the derived ``nbgrader`` metadata into ``nb``'s cells; return True if it changed."""
    changed = False
    for cell, meta in zip(nb.cells, derive_nbgrader_metadata(nb, name), strict=True):
        if cell.metadata.get("nbgrader") != meta:
            cell.metadata["nbgrader"] = meta
            changed = True
    return changed


def nbgrader_problems(nb: nbformat.NotebookNode, name: str = "notebook") -> list[str]:
    """What differs between ``nb``'s ``nbgrader`` metadata and the derived metadata."""
    try:
        metas = derive_nbgrader_metadata(nb, name)
    except GradingError as err:
        return [str(err)]
    problems = []
    for index, (cell, meta) in enumerate(zip(nb.cells, metas, strict=True)):
        if cell.metadata.get("nbgrader") != meta:
            problems.append(f"{name}, cell {index}: nbgrader metadata missing or out of date")
    return problems


def point_badge_at_exercises(nb: nbformat.NotebookNode) -> None:
    """Point "Open in Colab" links at ``exercises/`` instead of ``solutions/`` (in place)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _COLAB_SOLUTIONS.sub(r"\1/exercises/", cell.source)


CONFIG = '''"""nbgrader configuration written by `python -m course_utils.exercises nbgrader`."""

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.root = "."
c.ExecutePreprocessor.timeout = 600  # seconds per cell; the step notebooks load data
'''


def prepare_course(solutions: list[Path], course_dir: Path) -> list[Path]:
    """Copy solution notebooks into an nbgrader course folder as assignments.

    Each ``solutions/NN_name.ipynb`` becomes ``course_dir/source/NN_name/NN_name.ipynb``
    (assignment ``NN_name``) with fresh nbgrader metadata and its Colab badge pointed at
    ``exercises/``; ``course_dir/nbgrader_config.py`` is written when missing.

    Returns
    -------
    list of Path
        The source notebooks written.
    """
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
    written = []
    for src in solutions:
        nb = nbformat.read(src, as_version=4)
        nb = copy.deepcopy(nb)
        apply_nbgrader_metadata(nb, str(src))
        point_badge_at_exercises(nb)
        target = course_dir / "source" / src.stem / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written
