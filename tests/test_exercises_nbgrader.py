"""The nbgrader round trip on two steps, in a temporary course folder.

``python -m course_utils.exercises nbgrader`` lays out ``source/``; ``nbgrader
generate_assignment`` releases it; ``nbgrader autograde`` then grades three submissions
built from the release as a learner would: (a) untouched -> 0 points, (b) every solution
cell filled in from the solution notebook -> full points, (c) the same with one planted bug
-> exactly that exercise's points lost. Written answers are graded by hand and are not part
of the automatic score. Skipped (with a message) when nbgrader is not installed: it is an
instructor dependency (``requirements-instructor.txt``), installed by ``.ci/run``.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.exercises.grading import prepare_course

pytest.importorskip(
    "nbgrader",
    reason="nbgrader is not installed: pip install -r requirements-instructor.txt",
)
from nbgrader.api import Gradebook  # noqa: E402 - only once nbgrader is known to exist

REPO = Path(__file__).resolve().parents[1]
# Two fast steps (no MovieLens in their demo cells), and one planted bug in each:
# (solution function, text replaced, replacement, the check cell that must then fail).
BUGS = {
    "01_requirements": (
        "embedding_memory_bytes",
        "np.dtype(dtype).itemsize",
        "4",
        "check_embedding_memory_bytes",
    ),
    "07_monitoring": ("rolling_p99", "windows, 99,", "windows, 95,", "check_rolling_p99"),
}
STUDENTS = ("untouched", "solved", "onebug")
pytestmark = pytest.mark.timeout(900)


def _env() -> dict[str, str]:
    """nbgrader calls the ``alembic`` script: put this interpreter's scripts first on PATH."""
    paths = [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    python_path = [str(REPO), os.environ.get("PYTHONPATH", "")]
    return {
        "PATH": os.pathsep.join(filter(None, paths)),
        "PYTHONPATH": os.pathsep.join(filter(None, python_path)),
    }


def _nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, **_env())
    env.pop("MPLBACKEND", None)  # notebook kernels use their inline backend
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def _submission(release: nbformat.NotebookNode, source: nbformat.NotebookNode, bug=None):
    """The release with every solution cell replaced by the solution notebook's cell."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
            if bug and meta["grade_id"] == bug[0]:
                assert bug[1] in cell.source, f"the planted bug needs {bug[1]!r} in {bug[0]}"
                cell.source = cell.source.replace(bug[1], bug[2])
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", _env()["PATH"])
        return _grade(tmp_path_factory)


def _grade(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    sources = prepare_course([REPO / "solutions" / f"{step}.ipynb" for step in BUGS], course)
    for step, src in zip(BUGS, sources, strict=True):
        _nbgrader(course, "generate_assignment", step, "--force")
        release = nbformat.read(course / "release" / step / src.name, as_version=4)
        source = nbformat.read(src, as_version=4)
        submissions = {
            "untouched": release,
            "solved": _submission(release, source),
            "onebug": _submission(release, source, BUGS[step]),
        }
        for student, nb in submissions.items():
            target = course / "submitted" / student / step / src.name
            target.parent.mkdir(parents=True)
            nbformat.write(nb, target)
        _nbgrader(course, "autograde", step)
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for step, src in zip(BUGS, sources, strict=True):
            notebook = gb.find_notebook(src.stem, step)
            auto = [c for c in notebook.grade_cells if c.cell_type == "code"]
            for student in STUDENTS:
                scores[step, student] = {
                    c.name: gb.find_grade(c.name, src.stem, step, student).score for c in auto
                }
            scores[step, "max"] = {c.name: c.max_score for c in auto}
            scores[step, "written"] = [
                c.name for c in notebook.grade_cells if c.cell_type != "code"
            ]
    return scores


@pytest.mark.parametrize("step", list(BUGS))
def test_untouched_release_scores_zero(graded, step):
    assert graded[step, "max"], "no autograded check cells"
    assert graded[step, "untouched"] == dict.fromkeys(graded[step, "max"], 0.0)


@pytest.mark.parametrize("step", list(BUGS))
def test_solution_scores_full_points(graded, step):
    assert graded[step, "solved"] == graded[step, "max"]


@pytest.mark.parametrize("step", list(BUGS))
def test_one_planted_bug_loses_exactly_that_exercise(graded, step):
    expected = dict(graded[step, "max"], **{BUGS[step][3]: 0.0})
    assert graded[step, "onebug"] == expected


@pytest.mark.parametrize("step", list(BUGS))
def test_written_answers_are_manually_graded_cells(graded, step):
    assert graded[step, "written"], "the written exercise is not an nbgrader answer cell"
