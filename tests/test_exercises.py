"""Tests for the exercise tooling: the notebook builder and the answer checks."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils.evaluation import metrics
from course_utils.exercises.__main__ import main
from course_utils.exercises.build import (
    MarkerError,
    build_exercises,
    check_exercises,
    find_repo_root,
    strip_solutions,
    strip_source,
)
from course_utils.exercises.checking import (
    Case,
    check_answer,
    check_function,
    short_repr,
    values_match,
)
from course_utils.exercises.grading import apply_nbgrader_metadata
from course_utils.exercises.step05 import check_ndcg_at_k, check_precision_at_k

REPO = Path(__file__).resolve().parents[1]
BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/org/repo/blob/main/solutions/01_demo.ipynb)"
)


# --------------------------------------------------------------------------- marker replacement
def test_code_region_in_function_body_keeps_indentation():
    src = (
        "def double(x):\n"
        '    """Twice x."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = 2 * x\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "double(3)"
    )
    out, n = strip_source(src, "code")
    assert n == 1
    assert out == (
        "def double(x):\n"
        '    """Twice x."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "\n"
        "double(3)"
    )


def test_nested_indentation_and_several_regions():
    src = (
        "class A:\n"
        "    def f(self, xs):\n"
        "        for x in xs:\n"
        "            ### BEGIN SOLUTION\n"
        "            print(x)\n"
        "            ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "answer = 42\n"
        "### END SOLUTION\n"
    )
    out, n = strip_source(src, "code")
    assert n == 2
    assert out.splitlines() == [
        "class A:",
        "    def f(self, xs):",
        "        for x in xs:",
        "            # YOUR CODE HERE",
        "            raise NotImplementedError()",
        "",
        "# YOUR CODE HERE",
        "raise NotImplementedError()",
    ]
    assert out.endswith("\n")  # the trailing newline of the source is kept
    compile(out, "<cell>", "exec")  # still valid Python


def test_markdown_region_becomes_answer_placeholder():
    src = "**Question.** Why?\n\n### BEGIN SOLUTION\nBecause *reasons*.\n### END SOLUTION"
    out, n = strip_source(src, "markdown")
    assert (out, n) == ("**Question.** Why?\n\nYOUR ANSWER HERE", 1)


def test_similar_lines_are_not_markers():
    src = "#### BEGIN SOLUTION\nx = 1  ### END SOLUTION\n"
    assert strip_source(src, "code") == (src, 0)


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1\n", "line 1 has no matching '### END SOLUTION'"),
        ("x = 1\n### END SOLUTION\n", "line 2 has no matching '### BEGIN SOLUTION'"),
        (
            "### BEGIN SOLUTION\n  ### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION\n",
            "nested '### BEGIN SOLUTION' on line 2",
        ),
    ],
)
def test_unbalanced_markers_name_notebook_and_cell(src, message):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("intro"), nbformat.v4.new_code_cell(src)]
    )
    with pytest.raises(MarkerError, match="solutions/01_demo.ipynb, cell 1") as info:
        strip_solutions(nb, name="solutions/01_demo.ipynb")
    assert message in str(info.value)


# --------------------------------------------------------------------------- building notebooks
def _solution_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    code = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\nf(1)",
        execution_count=7,
        outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=7)],
        metadata={"tags": ["keep-me"]},
    )
    answer = nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    nb.cells = [nbformat.v4.new_markdown_cell(BADGE), code, answer]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    apply_nbgrader_metadata(nb)  # as `build` leaves it
    return nb


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "course_utils").mkdir()
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution_notebook(), tmp_path / "solutions" / "01_demo.ipynb")
    return tmp_path


def test_build_clears_outputs_keeps_metadata_and_rewrites_badge(repo):
    results = build_exercises(repo / "solutions", repo / "exercises")
    assert [r.n_regions for r in results] == [2]
    nb = nbformat.read(repo / "exercises" / "01_demo.ipynb", as_version=4)
    badge, code, answer = nb.cells
    assert "/blob/main/exercises/01_demo.ipynb" in badge.source
    assert "/solutions/" not in badge.source
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata["tags"] == ["keep-me"]
    assert code.metadata["nbgrader"]["solution"] is True
    assert "return x + 1" not in code.source and "raise NotImplementedError()" in code.source
    assert answer.source == "Why?\nYOUR ANSWER HERE"
    assert [c.id for c in nb.cells] == ["cell-0", "cell-1", "cell-2"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # the solution notebook keeps its code and outputs, and gains the same nbgrader metadata
    sol = nbformat.read(repo / "solutions" / "01_demo.ipynb", as_version=4)
    assert sol.cells[1].outputs and "return x + 1" in sol.cells[1].source
    assert [c.metadata["nbgrader"] for c in sol.cells] == [c.metadata["nbgrader"] for c in nb.cells]


def test_build_is_idempotent_and_stable_json(repo):
    target = repo / "exercises" / "01_demo.ipynb"
    build_exercises(repo / "solutions", repo / "exercises")
    first = target.read_bytes()
    build_exercises(repo / "solutions", repo / "exercises")
    assert target.read_bytes() == first
    text = first.decode("utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_check_reports_stale_missing_and_orphan_files(repo):
    sol, ex = repo / "solutions", repo / "exercises"
    ex.mkdir()
    assert check_exercises(sol, ex) == [
        f"{ex / '01_demo.ipynb'}: missing (built from {sol / '01_demo.ipynb'})"
    ]
    build_exercises(sol, ex)
    assert check_exercises(sol, ex) == []
    target = ex / "01_demo.ipynb"
    target.write_text(target.read_text().replace("YOUR ANSWER HERE", "my answer"))
    (ex / "99_orphan.ipynb").write_text("{}")
    problems = check_exercises(sol, ex)
    assert len(problems) == 2
    assert "01_demo.ipynb: differs from a fresh build" in problems[0]
    assert "99_orphan.ipynb: has no solution notebook" in problems[1]


def test_cli_build_and_check_from_any_directory(repo, monkeypatch, capsys):
    nested = repo / "solutions" / "deep"
    nested.mkdir()
    monkeypatch.chdir(nested)
    assert find_repo_root() == repo.resolve()
    assert main(["check"]) == 1
    assert "exercises/01_demo.ipynb: missing" in capsys.readouterr().out
    assert main(["build"]) == 0
    assert "built" in capsys.readouterr().out
    assert main(["check"]) == 0
    monkeypatch.chdir(repo.parent)
    args = ["check", "--solutions", str(repo / "solutions"), "--exercises", str(repo / "exercises")]
    assert main(args) == 0


def test_build_and_check_selected_notebooks(repo):
    sol, ex = repo / "solutions", repo / "exercises"
    nbformat.write(_solution_notebook(), sol / "02_other.ipynb")
    assert [r.target.name for r in build_exercises(sol, ex, ["01_demo"])] == ["01_demo.ipynb"]
    assert check_exercises(sol, ex, ["01_demo.ipynb"]) == []
    assert "02_other.ipynb: missing" in check_exercises(sol, ex)[0]
    with pytest.raises(FileNotFoundError, match="no solution notebook 07_nope"):
        build_exercises(sol, ex, ["07_nope"])


def test_cli_reports_marker_errors(repo, capsys):
    nb = nbformat.read(repo / "solutions" / "01_demo.ipynb", as_version=4)
    nb.cells[1].source += "\n### END SOLUTION"
    nbformat.write(nb, repo / "solutions" / "01_demo.ipynb")
    args = ["build", "--solutions", str(repo / "solutions"), "--exercises", str(repo / "ex")]
    assert main(args) == 2
    assert "01_demo.ipynb, cell 1" in capsys.readouterr().err


def test_committed_exercises_match_a_fresh_build():
    if not any((REPO / "solutions").glob("*.ipynb")):
        pytest.skip("no solution notebooks yet")
    assert check_exercises(REPO / "solutions", REPO / "exercises") == []


# --------------------------------------------------------------------------- check_function
def _sum_sq(xs, scale=1.0):
    return scale * float(np.sum(np.square(xs)))


CASES = [Case([1.0, 2.0], label="two values"), Case(np.array([0.5]), scale=2.0, label="scaled")]


def test_check_function_passes_and_lists_cases(capsys):
    assert check_function(_sum_sq, reference=_sum_sq, cases=CASES, name="sum_sq", hint="h")
    assert capsys.readouterr().out == ("✅ sum_sq: passed 2 checks\n   - two values\n   - scaled\n")


def test_check_function_wrong_answer_prints_details_and_raises(capsys):
    def wrong(xs, scale=1.0):
        return float(np.sum(np.square(xs)))  # ignores scale

    with pytest.raises(AssertionError, match=r"^sum_sq: wrong result"):
        check_function(wrong, reference=_sum_sq, cases=CASES, name="sum_sq", hint="square, sum")
    out = capsys.readouterr().out
    assert out.startswith("❌ sum_sq: wrong result (case: scaled)\n")
    assert "case:     scaled" in out
    assert "input:    sum_sq(array([0.5]), scale=2.0)" in out
    assert "expected: 0.5" in out and "received: 0.25" in out
    assert "hint:     square, sum" in out
    assert "0x" not in out


def test_check_function_not_attempted_returns_false_without_raising(capsys):
    def todo(xs, scale=1.0):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert not check_function(todo, reference=_sum_sq, cases=CASES, name="sum_sq", hint="h")
    assert capsys.readouterr().out == (
        "⏳ sum_sq: not attempted yet — fill in the cell above and re-run\n"
    )


def test_learner_exception_is_reported(capsys):
    def crashes(xs, scale=1.0):
        return {}["missing"]

    with pytest.raises(AssertionError, match="raised KeyError"):
        check_function(crashes, reference=_sum_sq, cases=CASES, name="sum_sq")
    assert "error:    KeyError: 'missing'" in capsys.readouterr().out


def test_expected_exceptions_must_be_raised(capsys):
    def strict(k):
        if k < 1:
            raise ValueError(f"k must be >= 1; got {k}")
        return k

    cases = [Case(1), Case(0, label="k=0 raises")]
    assert check_function(strict, reference=strict, cases=cases, name="strict")
    with pytest.raises(AssertionError, match="should raise ValueError"):
        check_function(lambda k: k, reference=strict, cases=cases, name="strict")
    with pytest.raises(AssertionError, match="raised TypeError"):
        check_function(lambda k: k + "", reference=strict, cases=cases, name="strict")
    assert "expected: raise ValueError" in capsys.readouterr().out


def test_arguments_are_deep_copied():
    arg = [3, 1, 2]

    def mutating(xs):
        xs.sort()
        return xs[0]

    check_function(mutating, reference=lambda xs: min(xs), cases=[Case(arg)], name="m")
    assert arg == [3, 1, 2]


def test_custom_compare_overrides_default(capsys):
    same_set = lambda e, g: set(e) == set(g)  # noqa: E731
    assert check_function(
        lambda: [2, 1], reference=lambda: [1, 2], cases=[Case()], name="s", compare=same_set
    )
    with pytest.raises(AssertionError):
        check_function(lambda: [2, 1], reference=lambda: [1, 2], cases=[Case()], name="s")


def test_check_answer_behaviours(capsys):
    assert check_answer(lambda: 0.1 + 0.2, expected=0.3, name="sum")
    assert capsys.readouterr().out == "✅ sum: correct (0.30000000000000004)\n"
    assert not check_answer(None, expected=0.3, name="sum")

    def todo():
        raise NotImplementedError()

    assert not check_answer(todo, expected=0.3, name="sum")
    assert capsys.readouterr().out.count("⏳ sum: not attempted yet") == 2
    with pytest.raises(AssertionError, match="sum: wrong result"):
        check_answer(0.4, expected=0.3, name="sum", hint="add them")
    assert "hint:     add them" in capsys.readouterr().out


def test_reprs_are_deterministic():
    class Thing:
        pass

    assert "0x" not in short_repr(Thing())
    assert short_repr(np.float64(0.25)) == "0.25"
    assert short_repr(np.array([True, False])) == "array([ True, False])"
    assert short_repr(_sum_sq) == "<function _sum_sq>"
    assert len(short_repr(list(range(1000)))) <= 160
    assert short_repr({"b", "a", "c"}) == "{'a', 'b', 'c'}"


# --------------------------------------------------------------------------- comparison
@pytest.mark.parametrize(
    ("expected", "got", "match"),
    [
        (0.3, 0.1 + 0.2, True),
        (1.0, 1.0 + 1e-3, False),
        (np.float64(0.5), 0.5, True),
        (0.5, np.array(0.5), True),
        (0.5, np.array([0.5]), False),  # a shape-(1,) array is not a scalar
        (np.array([1.0, np.nan]), np.array([1.0 + 1e-12, np.nan]), True),
        (np.array([1.0, np.nan]), np.array([1.0, 0.0]), False),
        (np.array([1.0, 2.0]), [1.0, 2.0], True),
        (np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), False),
        (np.array([1, 2]), np.array([1, 3]), False),
        (np.array([True, False]), np.array([True, False]), True),
        (3, 3, True),
        (3, 3.0, True),
        (3, 4, False),
        (True, 1, False),
        ("abc", "abc", True),
        ("abc", "abd", False),
        ({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-12]}, True),
        ({"a": 1}, {"b": 1}, False),
        ((1, 2.0), [1, 2.0], True),
        ([1, 2], [1, 2, 3], False),
        (None, None, True),
        (None, 0, False),
    ],
)
def test_values_match(expected, got, match):
    assert values_match(expected, got) is match


def test_values_match_pandas():
    df = pd.DataFrame({"user_id": [1, 2], "score": [0.5, 0.25]})
    assert values_match(df, df.astype({"user_id": "float64"}))  # dtype is not checked
    assert values_match(df, df.assign(score=df["score"] + 1e-12))
    assert not values_match(df, df.assign(score=[0.5, 0.3]))
    assert not values_match(df, df[["user_id"]])
    assert not values_match(df, df.to_numpy())
    assert values_match(df["score"], df["score"].copy())
    assert not values_match(df["score"], df["score"].iloc[::-1])


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(arrays(np.float64, st.integers(1, 20), elements=finite))
def test_values_match_tolerates_rounding_but_not_errors(x):
    assert values_match(x, x * (1 + 1e-9))
    assert not values_match(x, x + 1e-3 + 1e-5 * np.abs(x))


# --------------------------------------------------------------------------- step 05 checks
def test_step05_checks_accept_the_reference(capsys):
    assert check_precision_at_k(metrics.precision_at_k)
    assert check_ndcg_at_k(metrics.ndcg_at_k)
    out = capsys.readouterr().out
    assert "✅ precision_at_k: passed" in out and "✅ ndcg_at_k: passed" in out


def test_step05_checks_catch_common_mistakes(capsys):
    def precision_over_length(hits, k):  # divides by L instead of k
        hits = np.asarray(hits)
        return hits[..., :k].sum(axis=-1) / hits.shape[-1]

    def ndcg_ignoring_n_relevant(hits, n_relevant, k):  # ideal DCG always over k ranks
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        return (np.asarray(hits)[..., :k] @ discounts) / discounts.sum()

    with pytest.raises(AssertionError, match="precision_at_k"):
        check_precision_at_k(precision_over_length)
    with pytest.raises(AssertionError, match="ndcg_at_k"):
        check_ndcg_at_k(ndcg_ignoring_n_relevant)


def test_step05_checks_untouched_exercise_is_not_attempted(capsys):
    def ndcg_at_k(hits, n_relevant, k):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert not check_ndcg_at_k(ndcg_at_k)
    assert capsys.readouterr().out.startswith("⏳ ndcg_at_k: not attempted yet")


def test_failing_check_shows_a_series(capsys):
    import pandas as pd

    with pytest.raises(AssertionError):
        check_function(
            lambda n: pd.Series(range(n)) + 1,
            reference=lambda n: pd.Series(range(n)),
            cases=[Case(3)],
            name="series",
        )
    assert "Series of shape (3,)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "got",
    [
        (0.1, 0.9),
        [0.1, 0.9],
        np.array([0.1, 0.9]),
        pd.Series([0.1, 0.9]),
        np.array([0.1, 0.9], dtype=np.float32),
    ],
    ids=["tuple", "list", "ndarray", "Series", "float32"],
)
def test_any_container_of_the_right_values_is_judged(got):
    assert values_match((0.1, 0.9), got)
    assert not values_match((0.1, 0.8), got)


def test_a_false_custom_comparison_still_says_what_differed(capsys):
    with pytest.raises(AssertionError):
        check_function(
            lambda x: [x, x + 1.0],
            reference=lambda x: [x, x],
            cases=[Case(1.0, label="one")],
            name="pair",
            compare=lambda expected, got: expected == got,
        )
    out = capsys.readouterr().out
    assert "case:     one" in out and "why:      item 1: the number differs" in out


def test_large_arrays_are_summarised_with_the_first_difference(capsys):
    big = np.arange(1000.0)
    with pytest.raises(AssertionError):
        check_function(
            lambda x: x + (x == 500), reference=lambda x: x, cases=[Case(big)], name="same"
        )
    out = capsys.readouterr().out
    assert "array of shape (1000,), dtype float64" in out
    assert "1 of 1000 values differ; first at index 500: expected 500.0, received 501.0" in out
