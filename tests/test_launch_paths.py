"""The README's launch promises that can be checked without a browser.

- one Python floor everywhere: README, pyproject ``requires-python``, environment.yml;
- jupytext.toml pairs the ``.py`` twins exactly as ``course_utils.notebooks`` writes them;
- every notebook's Colab setup cell is the same, installs from the repository the launch
  links point at, and its comment says what it does (the Colab CI leg runs it:
  ``python -m course_utils.notebooks colab-setup``);
- the site sources (``course_utils.site``): launch links per notebook, README sections,
  link rewriting and a table of contents that picks up new notebooks by glob.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.specifiers import SpecifierSet

from course_utils import notebooks as nbtools
from course_utils import site

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = nbtools.find_repo_root(Path(__file__).parent)
NOTEBOOKS = nbtools.notebook_paths(ROOT)


def _floor_from_pyproject() -> str:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    match = re.fullmatch(r">=\s*(\d+\.\d+)", spec.strip())
    assert match, f"expected requires-python '>=X.Y'; got {spec!r}"
    return match[1]


def test_python_floor_agrees_across_readme_pyproject_and_environment():
    floor = _floor_from_pyproject()
    readme = re.findall(r"Python (\d+\.\d+) or newer", (ROOT / "README.md").read_text())
    assert readme, "README should state 'Python X.Y or newer'"
    assert set(readme) == {floor}, f"README says {set(readme)}; pyproject says >={floor}"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert python, "environment.yml must pin python"
    version = python[0].split("=", 1)[1]
    assert SpecifierSet(f">={floor}").contains(f"{version}.0"), f"{version} is below {floor}"


def test_python_floor_is_what_the_pins_need():
    # numpy 2.4 / pandas 3 / scipy 1.17 (requirements.txt) have no Python 3.10 wheels
    assert _floor_from_pyproject() == "3.11"


def test_jupytext_toml_pairs_like_the_notebook_tool():
    config = tomllib.loads((ROOT / "jupytext.toml").read_text())
    assert config["formats"] == nbtools.JUPYTEXT_METADATA["formats"]
    assert config["notebook_metadata_filter"] == nbtools.PAIR_FORMAT["notebook_metadata_filter"]
    assert config["cell_metadata_filter"] == nbtools.PAIR_FORMAT["cell_metadata_filter"]


def test_notebooks_carry_ipykernels_kernelspec():
    """JupyterLab writes the running kernel's spec into the notebook: any other display name
    marks a freshly opened notebook as modified (tests/browser checks it in JupyterLab)."""
    import ipykernel.kernelspec

    expected = ipykernel.kernelspec.get_kernel_dict()["display_name"]
    assert nbtools.KERNELSPEC["display_name"] == expected
    wrong = [
        p.relative_to(ROOT).as_posix()
        for p in NOTEBOOKS
        if nbformat.read(p, as_version=4).metadata.get("kernelspec", {}).get("display_name")
        != expected
    ]
    assert not wrong, f"kernelspec display_name is not {expected!r} in {wrong}"


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
def test_colab_setup_cell_is_shared_installs_from_the_repo_and_says_so():
    # the optional appendices (A1, ...) install an extra, so they have a cell of their own
    sources = {nbtools.colab_setup_source(p) for p in NOTEBOOKS if not p.name.startswith("A")}
    assert len(sources) == 1, "every step notebook should have the same Colab setup cell"
    source = sources.pop()
    match = nbtools.COLAB_PACKAGE.search(source)
    assert match, "the setup cell should install `course_utils @ git+https://github.com/...`"
    assert match[0].endswith(site.REPOSITORY), f"installs {match[0]}; links use {site.REPOSITORY}"
    comment = source.splitlines()[0]
    assert comment.startswith("# Colab setup:") and "install" in comment
    assert "fetches MovieLens" not in comment, "the cell only installs; MovieLens comes later"


def test_launch_urls_point_at_the_given_path():
    rel = "exercises/03_data_preparation.ipynb"
    assert site.colab_url(rel).endswith(f"/blob/{site.BRANCH}/{rel}")
    assert site.binder_url(rel).endswith(f"?urlpath=lab/tree/{rel}")


def test_split_sections_ignores_headings_in_code_fences():
    head, parts = site.split_sections("# T\nx\n## A\n```\n## B\n```\n## C\nc\n")
    assert head == "# T\nx\n"
    assert list(parts) == ["A", "C"]
    assert "## B" in parts["A"]


def test_rewrite_links_keeps_notebook_pages_and_points_the_rest_at_github():
    text = (
        "[n](notebooks/01_requirements.ipynb) [s](solutions/) [e](environment.yml) "
        "[t](#troubleshooting) [w](https://example.org) ![img](notebooks/x.png)"
    )
    out = site.rewrite_links(text, ROOT)
    assert "[n](notebooks/01_requirements.ipynb)" in out
    assert f"[s](https://github.com/{site.REPOSITORY}/tree/{site.BRANCH}/solutions)" in out
    assert f"[e](https://github.com/{site.REPOSITORY}/blob/{site.BRANCH}/environment.yml)" in out
    assert "[t](#troubleshooting)" in out and "[w](https://example.org)" in out
    assert "![img](notebooks/x.png)" in out


def test_site_notebook_gets_frontmatter_and_its_own_launch_links(tmp_path):
    path = tmp_path / "A1_scaling_out.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                "(https://colab.research.google.com/x)\n\n# Appendix 1: scaling out\n\nText."
            ),
            nbformat.v4.new_code_cell("1 + 1"),
        ]
    )
    nbformat.write(nb, path)
    before = path.read_bytes()
    page = site.site_notebook(path, "notebooks/A1_scaling_out.ipynb")
    assert path.read_bytes() == before, "the source notebook must not change"
    header = page.cells[0].source
    assert '"title": "Appendix 1: scaling out"' in header
    assert site.binder_url("notebooks/A1_scaling_out.ipynb") in header
    assert site.colab_url("notebooks/A1_scaling_out.ipynb") in header
    assert "{download}`Download .ipynb" in header
    assert page.cells[1].source == "Text."  # badge and title moved to the frontmatter
    assert len({c.id for c in page.cells}) == len(page.cells)


def test_toc_picks_up_notebooks_by_glob(tmp_path):
    for folder in ("notebooks", "exercises"):
        (tmp_path / folder).mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "notebooks" / "A1_scaling_out.ipynb")
    toc = site.myst_config(tmp_path)["project"]["toc"]
    assert {"pattern": "notebooks/*.ipynb"} in toc[1]["children"]
    assert all("solutions" not in str(entry) for entry in toc), "no solutions, no section"
    assert toc[-2:] == [{"file": "results.md"}, {"file": "instructors.md"}]


def test_start_page_links_every_step_notebook_and_its_exercises():
    start = ROOT / "notebooks" / "00_start_here.ipynb"
    text = nbformat.read(start, as_version=4).cells[0].source
    for path in nbtools.notebook_paths(ROOT, ["notebooks"]):
        if path != start:
            assert f"]({path.name})" in text, f"the start page does not link {path.name}"
            exercise = ROOT / "exercises" / path.name
            if exercise.is_file():
                assert f"](../exercises/{path.name})" in text, f"no link to exercises/{path.name}"
    readme = (ROOT / "README.md").read_text()
    assert "jupyter lab notebooks/00_start_here.ipynb" in readme
    assert "urlpath=lab/tree/notebooks/00_start_here.ipynb" in readme
