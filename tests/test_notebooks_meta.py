"""Conventions every course notebook follows, and the notebook tooling behind them.

Parametrised over the notebooks present in notebooks/, solutions/ and exercises/ (no
notebooks yet means nothing to check). Each notebook must:

- start with a markdown "Open in Colab" badge whose URL points at the notebook itself;
- have the Colab setup cell as its first code cell (``"google.colab" in sys.modules``,
  installs via ``subprocess``, no ``!``/``%`` magics, so it runs as plain Python);
- have its jupytext pair (same folder, ``.py``) in sync;
- stay under the size guard;
- in notebooks/ and solutions/: carry outputs from one clean top-to-bottom run.

The tooling tests check course_utils.notebooks (pair drift detection, size guard,
execution environment) and the nbval sanitize patterns of .ci/nbval_sanitize.cfg.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import notebooks as nbtools

ROOT = nbtools.find_repo_root(Path(__file__).parent)
NOTEBOOKS = nbtools.notebook_paths(ROOT)
EXECUTED = [p for p in NOTEBOOKS if p.parent.name in nbtools.EXECUTED_FOLDERS]
BADGE = re.compile(
    r"\(https://colab\.research\.google\.com/github/"
    r"(?P<repo>[\w.-]+/[\w.-]+)/blob/(?P<branch>[\w.-]+)/(?P<path>[^)\s]+\.ipynb)\)"
)
MAGIC = re.compile(r"^\s*[!%]", re.MULTILINE)


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _first_code_index(nb: nbformat.NotebookNode) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            return index
    raise AssertionError("the notebook has no code cell")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_first_code_cell_is_colab_setup(path):
    nb = _read(path)
    source = nb.cells[_first_code_index(nb)].source
    assert '"google.colab" in sys.modules' in source, "first code cell is not the Colab setup"
    assert "subprocess" in source, "the Colab setup should install via subprocess"
    assert not MAGIC.search(source), "the Colab setup must be plain Python (no ! or % magics)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_colab_badge_points_to_this_notebook(path):
    nb = _read(path)
    first_code = _first_code_index(nb)
    top = "\n".join(c.source for c in nb.cells[:first_code] if c.cell_type == "markdown")
    assert "colab-badge.svg" in top, "expected an 'Open in Colab' badge above the first code cell"
    badges = list(BADGE.finditer(top))
    assert badges, "the Colab badge has no colab.research.google.com/github/... link"
    assert all(b["path"] == _id(path) for b in badges), (
        f"badge links to {[b['path'] for b in badges]}; expected {_id(path)}"
    )
    assert all(b["branch"] == "main" for b in badges)
    setup = nb.cells[first_code].source
    installs_from = re.search(r"github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?[\"'@\s]", setup)
    if installs_from:
        assert all(b["repo"] == installs_from[1] for b in badges), (
            f"badge repo differs from the repo the setup cell installs from ({installs_from[1]})"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_jupytext_pair_in_sync(path):
    assert nbtools.pair_path(path).is_file(), f"missing pair {_id(nbtools.pair_path(path))}"
    assert nbtools.pair_in_sync(path), (
        "the .py pair is stale; run `python -m course_utils.notebooks sync`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_under_size_limit(path):
    size = path.stat().st_size
    assert size < nbtools.MAX_NOTEBOOK_BYTES, f"{size:,} bytes >= {nbtools.MAX_NOTEBOOK_BYTES:,}"


@pytest.mark.parametrize("path", EXECUTED, ids=_id)
def test_executed_notebook_carries_outputs_of_one_clean_run(path):
    code = [c for c in _read(path).cells if c.cell_type == "code" and c.source.strip()]
    assert any(c.outputs for c in code), "no code cell has outputs; execute the notebook"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        "execution counts should read 1, 2, 3, ... (one fresh top-to-bottom run); got "
        f"{counts}; run `python -m course_utils.notebooks run {_id(path)}`"
    )


# --------------------------------------------------------------------------- tooling


def _write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


def test_find_repo_root_from_a_subfolder_and_a_file():
    assert nbtools.find_repo_root(ROOT / "tests") == ROOT
    assert nbtools.find_repo_root(Path(__file__)) == ROOT


def test_find_repo_root_outside_a_repo_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="pyproject.toml"):
        nbtools.find_repo_root(tmp_path)


def test_pair_sits_next_to_notebook():
    assert nbtools.pair_path(ROOT / "solutions" / "03_x.ipynb") == ROOT / "solutions" / "03_x.py"
    with pytest.raises(ValueError, match=r"\.ipynb"):
        nbtools.pair_path("notes.md")


def test_pair_drift_is_detected_and_fixed_by_sync(tmp_path):
    path = _write_notebook(tmp_path / "demo.ipynb", "import math", "x = math.pi")
    assert not nbtools.pair_in_sync(path)  # no pair yet
    assert nbtools.write_pair(path)
    text = nbtools.pair_path(path).read_text()
    assert text == "# %%\nimport math\n\n# %%\nx = math.pi\n"  # jupytext percent, no header
    assert nbtools.pair_in_sync(path)

    nb = _read(path)
    nb.cells[1].source = "x = math.e"  # the notebook changes, the pair does not
    nbformat.write(nb, path)
    assert not nbtools.pair_in_sync(path)
    assert nbtools.write_pair(path) and nbtools.pair_in_sync(path)


def test_pair_text_ignores_outputs_and_run_metadata_but_keeps_tags(tmp_path):
    path = _write_notebook(tmp_path / "demo.ipynb", "print(1)")
    before = nbtools.pair_text(path)
    nb = _read(path)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[0].execution_count = 1
    nb.cells[0].metadata["execution"] = {"iopub.execute_input": "2025-01-01T00:00:00Z"}
    nb.metadata["kernelspec"] = {"name": "other", "display_name": "Other", "language": "python"}
    nbformat.write(nb, path)
    assert nbtools.pair_text(path) == before
    nb.cells[0].metadata["tags"] = ["raises-exception"]
    nbformat.write(nb, path)
    assert 'tags=["raises-exception"]' in nbtools.pair_text(path)


def test_oversized_flags_only_files_over_the_limit(tmp_path):
    small, big = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    small.write_bytes(b"x" * 100)
    big.write_bytes(b"x" * 101)
    assert nbtools.oversized([small, big], limit=100) == [(big, 101)]
    with pytest.raises(ValueError, match="limit must be >= 1"):
        nbtools.oversized([small], limit=0)


def test_execute_notebook_runs_here_in_its_folder_without_mplbackend(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = _write_notebook(
        folder / "env.ipynb",
        "import json, os, sys\n"
        "print(json.dumps([sys.executable, os.getcwd(), os.environ.get('MPLBACKEND', ''), "
        "os.environ.get('COURSE_DATA_DIR')]))",
    )
    nbtools.execute_notebook(path, timeout=120)
    nb = _read(path)
    executable, cwd, backend, data_dir = json.loads(nb.cells[0].outputs[0].text)
    assert Path(executable) == Path(sys.executable)  # this environment, whatever kernelspecs say
    assert Path(cwd).resolve() == folder.resolve()
    assert "Agg" not in backend  # the kernel picks the inline backend, so figures are kept
    assert data_dir == str(tmp_path / "data")
    assert nb.cells[0].execution_count == 1
    assert "execution" not in nb.cells[0].metadata  # no timing metadata to churn diffs
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"


# --------------------------------------------------------------------------- sanitize


@pytest.fixture(scope="module")
def sanitize():
    from nbval.plugin import get_sanitize_patterns

    text = (ROOT / nbtools.SANITIZE_CONFIG).read_text(encoding="utf-8")
    patterns = get_sanitize_patterns(text)
    regex_lines = [line for line in text.splitlines() if line.startswith("regex:")]
    assert len(patterns) == len(regex_lines), "a regex: line lacks its 'replace: ' line"

    def apply(s: str) -> str:
        for regex, replace in patterns:
            s = re.sub(regex, replace, s)
        return s

    return apply


@pytest.mark.parametrize(
    ("varying", "other_run"),
    [
        ("fit took 123.4 ms", "fit took 98.7 ms"),
        ("predict: 1.23 s, 2.5e-05 s", "predict: 0.98 s, 3.1e-05 s"),
        (
            "1.23 ms ± 45.6 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)",
            "987 µs ± 12 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)",
        ),
        (
            "CPU times: user 1.2 s, sys: 45 ms, total: 1.3 s\nWall time: 1.3 s",
            "CPU times: user 2 s, sys: 4 ms, total: 2 s\nWall time: 2.01 s",
        ),
        ("elapsed 0:00:01", "elapsed 0:00:03"),
        ("10/10 [00:01<00:00,  9.52it/s]", "10/10 [00:02<00:00,  4.10it/s]"),
        ("scored 12,345 predictions/s", "scored 9,876 predictions/s"),
        ("<Figure at 0x7f3a2b1c9d50>", "<Figure at 0x7f00aa00bb11>"),
        ("saved /tmp/tmpab12cd/model.skops", "saved /tmp/tmpzz99yy/model.skops"),
        ("saved /var/folders/xy/T/tmpab/m.skops", "saved /private/var/folders/q1/T/tmpcd/m.skops"),
        (
            "/work/main/.venv/lib/python3.11/site-packages/sklearn/base.py:12: UserWarning",
            "/usr/local/lib/python3.13/dist-packages/sklearn/base.py:12: UserWarning",
        ),
        (
            "/work/main/course_utils/models/als.py:10: RuntimeWarning",
            "/home/runner/work/repo/repo/course_utils/models/als.py:10: RuntimeWarning",
        ),
        (  # CI's fresh venv and clone may live under /tmp: still library / repository paths
            "/work/main/.venv/lib/python3.11/site-packages/sklearn/base.py:12: UserWarning",
            "/tmp/course-ci.Ab12/main/lib/python3.11/site-packages/sklearn/base.py:12: UserWarning",
        ),
        (
            "/work/main/course_utils/models/als.py:10: RuntimeWarning",
            "/tmp/clone/course_utils/models/als.py:10: RuntimeWarning",
        ),
        ("now 2025-11-29 09:34:12.123456+00:00", "now 2026-01-02 17:01:59.987654+00:00"),
        ("Sat Nov 29 09:34:12 2025", "Fri Jan  2 17:01:59 2026"),
    ],
)
def test_sanitize_masks_what_varies_between_runs(sanitize, varying, other_run):
    assert varying != other_run
    assert sanitize(varying) == sanitize(other_run)


@pytest.mark.parametrize(
    "stable",
    [
        "RMSE 0.8734, NDCG@10 0.3120",
        "3.5 stars, 100000 QPS, 2000 cores, 610 users",
        "budget 200 ms, p99 40 ms",
        "first rating 1996-03-29 18:36:55+00:00, last 2018-09-24 14:27:30+00:00",
        "scikit-learn 1.6.1",
        "mask 0xFF",
    ],
)
def test_sanitize_keeps_deterministic_results(sanitize, stable):
    assert sanitize(stable) == stable
