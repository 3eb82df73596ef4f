"""nbgrader metadata derived from the solution markers (course_utils.exercises.grading)."""

from __future__ import annotations

import nbformat
import pytest

from course_utils.exercises.build import build_exercises, check_exercises
from course_utils.exercises.grading import (
    AUTO_POINTS,
    WRITTEN_POINTS,
    GradingError,
    apply_nbgrader_metadata,
    derive_nbgrader_metadata,
    nbgrader_problems,
    prepare_course,
)

BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/org/repo/blob/main/solutions/01_demo.ipynb)"
)
SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"


def _nb(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    return nb


def _exercise_notebook() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return _nb(
        md(BADGE),
        md("## Exercise 1 · f"),
        code(SOLUTION),
        code("_ = check_f(f)"),
        code("def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION"),
        code("check_g(g)  # points: 3"),
        md("## Exercise 2 (written)\nWhy?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        code("print(f(1))"),
    )


def test_cells_are_classified_from_markers_and_check_calls():
    metas = derive_nbgrader_metadata(_exercise_notebook())
    kinds = [(m["solution"], m["grade"], m["locked"], m.get("points")) for m in metas]
    assert kinds == [
        (False, False, True, None),
        (False, False, True, None),
        (True, False, False, None),
        (False, True, True, AUTO_POINTS),
        (True, False, False, None),
        (False, True, True, 3),
        (True, True, False, WRITTEN_POINTS),
        (False, False, True, None),
    ]
    ids = [m["grade_id"] for m in metas]
    assert ids[2:7] == ["f", "check_f", "g", "check_g", "exercise2_written"]
    assert len(set(ids)) == len(ids)


def test_grade_ids_are_unique_when_names_repeat():
    code = nbformat.v4.new_code_cell
    metas = derive_nbgrader_metadata(_nb(code(SOLUTION), code(SOLUTION), code("check_f(f)")))
    assert [m["grade_id"] for m in metas] == ["f", "f_2", "check_f"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (SOLUTION + "\ncheck_f(f)", "move the check call into a cell of its own"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "inside a function"),
    ],
)
def test_cells_nbgrader_cannot_grade_are_rejected(source, message):
    with pytest.raises(GradingError, match=message):
        derive_nbgrader_metadata(_nb(nbformat.v4.new_code_cell(source)), "demo.ipynb")


def test_stale_metadata_is_reported_and_fixed_by_build(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    nbformat.write(_exercise_notebook(), sol / "01_demo.ipynb")
    problems = check_exercises(sol, ex)
    assert any("cell 2: nbgrader metadata missing" in p for p in problems)
    build_exercises(sol, ex)
    assert check_exercises(sol, ex) == []
    nb = nbformat.read(sol / "01_demo.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("check_h(f)"))  # a new check, no metadata
    nbformat.write(nb, sol / "01_demo.ipynb")
    assert any("cell 3: nbgrader metadata" in p for p in check_exercises(sol, ex))
    assert nbgrader_problems(nb)  # and the derived metadata differs
    assert apply_nbgrader_metadata(nb) and not apply_nbgrader_metadata(nb)


def test_prepare_course_points_the_badge_at_exercises(tmp_path):
    sol = tmp_path / "01_demo.ipynb"
    nbformat.write(_exercise_notebook(), sol)
    [source] = prepare_course([sol], tmp_path / "course")
    assert source == tmp_path / "course" / "source" / "01_demo" / "01_demo.ipynb"
    nb = nbformat.read(source, as_version=4)
    assert (
        "/exercises/01_demo.ipynb" in nb.cells[0].source and "/solutions/" not in nb.cells[0].source
    )
    assert nb.cells[2].metadata["nbgrader"]["grade_id"] == "f"
    assert (tmp_path / "course" / "nbgrader_config.py").is_file()
