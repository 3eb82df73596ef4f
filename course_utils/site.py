"""Build the course website (Jupyter Book 2 / mystmd) from the committed notebooks.

``python -m course_utils.notebooks site`` calls :func:`build_site`. Nothing is executed:
the notebooks are published with the outputs they are committed with (nbval already checks
that those outputs reproduce). The build works on a generated copy of the sources in
``_build/site-src`` (git-ignored) so that the repository itself stays free of site files:

- ``index.md``: the README without its "Results" and "For instructors" sections, with
  repository links rewritten (notebooks stay page links, folders and files point at GitHub);
- ``results.md`` and ``instructors.md``: those two README sections as pages;
- ``notebooks/``, ``exercises/``, ``solutions/``: copies of every ``*.ipynb`` found by glob
  (a new notebook, e.g. an appendix, appears without touching the table of contents), each
  with a first cell of page frontmatter (title, a "download .ipynb" entry) and a launch bar
  (Binder, Colab, download) whose links point at that notebook's own path;
- ``myst.yml``: the table of contents built from those globs.

The HTML ends up in ``_build/site`` (a static site: serve it with any web server; set
``BASE_URL=/<repository name>`` for GitHub project pages).

The web theme
-------------
mystmd downloads its ``book-theme`` from ``api.mystmd.org``/GitHub the first time. On a
machine without that access set ``COURSE_SITE_TEMPLATE`` (or pass ``template=``) to a local
copy of the built theme (a folder with ``template.yml``, ``build/`` and ``public/``); mystmd
then uses it and downloads nothing. Node.js >= 18 must be on ``PATH`` (the machine's own:
``JB_ALLOW_NODEENV`` is set to ``no`` so the ``jupyter-book`` wrapper never downloads one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPOSITORY: str = "recsys-course/recsys-design-course"
"""GitHub ``owner/name`` the launch links point at."""

BRANCH: str = "main"
"""Branch the launch links point at."""

SITE_FOLDERS: tuple[tuple[str, str], ...] = (
    ("notebooks", "Learning path: the seven steps"),
    ("exercises", "Exercises"),
    ("solutions", "Solutions"),
)
"""Notebook folders published, in table-of-contents order, with their section titles."""

OWN_PAGES: dict[str, str] = {"Results": "results.md", "For instructors": "instructors.md"}
"""README sections that become pages of their own (heading -> file name)."""

SOURCE_DIR: str = "_build/site-src"
OUTPUT_DIR: str = "_build/site"
TEMPLATE_ENV: str = "COURSE_SITE_TEMPLATE"

_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
_BADGE_LINE = re.compile(r"^\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)\s*$", re.MULTILINE)


def binder_url(path: str) -> str:
    """Binder URL opening ``path`` (relative to the repository root) in JupyterLab.

    Examples
    --------
    >>> binder_url("notebooks/01_requirements.ipynb").endswith(
    ...     "main?urlpath=lab/tree/notebooks/01_requirements.ipynb")
    True
    """
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{path}"


def colab_url(path: str) -> str:
    """Colab URL opening ``path`` (relative to the repository root) from GitHub.

    Examples
    --------
    >>> colab_url("exercises/01_requirements.ipynb")
    'https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/exercises/01_requirements.ipynb'
    """
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def split_sections(markdown: str) -> tuple[str, dict[str, str]]:
    """Split markdown at its ``## `` headings (outside code fences).

    Returns the text before the first such heading and ``{heading: section text}`` (each
    section text starts with its heading line), in document order.

    Examples
    --------
    >>> head, parts = split_sections("# T\\nintro\\n## A\\na\\n```\\n## not\\n```\\n## B\\nb\\n")
    >>> head, list(parts)
    ('# T\\nintro\\n', ['A', 'B'])
    """
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = head
    fenced = False
    for line in markdown.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        current.append(line)
    return "".join(head), {title: "".join(lines) for title, lines in sections.items()}


def rewrite_links(markdown: str, root: Path) -> str:
    """Point the README's relative links at what the site has.

    Links to a notebook that the site publishes stay relative (mystmd turns them into page
    links); anchors and absolute URLs are kept; any other repository path (a folder or a
    file such as ``environment.yml``) becomes its GitHub URL.
    """

    def replace(match: re.Match[str]) -> str:
        text, target = match["text"], match["target"]
        if target.startswith(("http://", "https://", "mailto:", "#")):
            return match[0]
        path, _, anchor = target.partition("#")
        published = path.endswith(".ipynb") and path.split("/")[0] in dict(SITE_FOLDERS)
        if published and (root / path).is_file():
            return match[0]
        kind = "tree" if (root / path).is_dir() or path.endswith("/") else "blob"
        url = f"https://github.com/{REPOSITORY}/{kind}/{BRANCH}/{path.rstrip('/')}"
        return f"[{text}]({url}{'#' + anchor if anchor else ''})"

    return _LINK.sub(replace, markdown)


DOWNLOADS: str = "downloads"
"""Folder of the site sources holding the unmodified notebooks offered for download."""


def _download_path(rel: str) -> str:
    """Path, relative to the notebook's page source, of the original offered for download."""
    return f"../{DOWNLOADS}/{rel}"


def _launch_bar(rel: str) -> str:
    return (
        f"[Open in Binder]({binder_url(rel)}) · [Open in Colab]({colab_url(rel)}) · "
        f"{{download}}`Download .ipynb <{_download_path(rel)}>`"
    )


def site_notebook(source: Path, rel: str) -> nbformat.NotebookNode:
    """Return the copy of a notebook the site publishes (the file itself is not changed).

    The first markdown cell loses its Colab badge and its ``# `` title; a new first cell
    holds the page frontmatter (that title, a download entry for the ``.ipynb``) and the
    launch bar for ``rel`` (the notebook's path in the repository).
    """
    nb = nbformat.read(source, as_version=4)
    nb.metadata.pop("jupytext", None)  # author tooling, not page metadata
    title = Path(rel).stem
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = _BADGE_LINE.sub("", cell.source)
        heading = re.search(r"^# (.+)$", text, re.MULTILINE)
        if heading:
            title = heading[1].strip()
            text = text[: heading.start()] + text[heading.end() :]
        cell.source = text.strip("\n")
        break
    front = {
        "title": title,
        "downloads": [{"file": _download_path(rel), "title": "Download .ipynb"}],
        "edit_url": f"https://github.com/{REPOSITORY}/blob/{BRANCH}/{rel}",
    }
    header = f"---\n{json.dumps(front, ensure_ascii=False)}\n---\n\n{_launch_bar(rel)}"
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(header))
    prefix = rel.split("/")[0]
    for index, cell in enumerate(nb.cells):  # exercises and solutions share cell ids
        cell.id = f"{prefix}-{index}"
    return nb


def _toc(root: Path) -> list[dict]:
    toc: list[dict] = [{"file": "index.md"}]
    for folder, title in SITE_FOLDERS:
        if sorted((root / folder).glob("*.ipynb")):
            toc.append({"title": title, "children": [{"pattern": f"{folder}/*.ipynb"}]})
    toc += [{"file": name} for name in OWN_PAGES.values()]
    return toc


def myst_config(root: Path) -> dict:
    """The ``myst.yml`` of the site (a JSON-compatible dict; YAML is a superset of JSON)."""
    return {
        "version": 1,
        "project": {
            "title": "Recommender System Design, step by step",
            "github": f"https://github.com/{REPOSITORY}",
            "license": {"code": "MIT"},
            "toc": _toc(root),
        },
        "site": {
            "template": "book-theme",
            "options": {"folders": True, "logo_text": "Recommender System Design"},
            "nav": [],
            "actions": [{"title": "GitHub", "url": f"https://github.com/{REPOSITORY}"}],
        },
    }


def prepare_source(root: Path, dest: Path) -> list[Path]:
    """Write the site sources into ``dest`` (emptied first); return the notebooks copied."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    head, sections = split_sections((root / "README.md").read_text(encoding="utf-8"))
    head = _BADGE_LINE.sub("", head)
    start = "notebooks/01_requirements.ipynb"
    head += (
        f"\nRun it: [Binder]({binder_url(start)}) · [Colab]({colab_url(start)}) · "
        "or locally (see [Quick start](#quick-start)). "
        + " · ".join(f"[{title}](./{name})" for title, name in OWN_PAGES.items())
        + "\n\n"
    )
    index = head + "".join(body for title, body in sections.items() if title not in OWN_PAGES)
    readme = f"https://github.com/{REPOSITORY}/blob/{BRANCH}/README.md"
    front = f"---\nedit_url: {readme}\n---\n"
    (dest / "index.md").write_text(front + rewrite_links(index, root), encoding="utf-8")
    for title, name in OWN_PAGES.items():
        body = sections.get(title, f"## {title}\n")
        page = "# " + body[3:]  # the section becomes the page title
        (dest / name).write_text(front + rewrite_links(page, root), encoding="utf-8")
    copied: list[Path] = []
    for folder, _ in SITE_FOLDERS:
        for source in sorted((root / folder).glob("*.ipynb")):
            rel = f"{folder}/{source.name}"
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(site_notebook(source, rel), target)
            original = dest / DOWNLOADS / rel
            original.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, original)
            copied.append(target)
    (dest / "myst.yml").write_text(json.dumps(myst_config(root), indent=2), encoding="utf-8")
    return copied


def jupyter_book_command() -> list[str]:
    """The ``jupyter-book`` command of this environment."""
    script = Path(sys.executable).with_name("jupyter-book")
    if script.is_file():
        return [str(script)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise FileNotFoundError(
            "expected the jupyter-book command (pip install -r requirements-site.txt); found none"
        )
    return [found]


def build_site(root: Path, *, template: str | None = None, strict: bool = False) -> Path:
    """Build the site of the repository at ``root`` into ``root / OUTPUT_DIR``.

    Parameters
    ----------
    root : Path
        Repository root.
    template : str, optional
        Local folder of the built mystmd book theme; default ``$COURSE_SITE_TEMPLATE``,
        else mystmd's ``book-theme`` (downloaded once by mystmd).
    strict : bool
        Pass ``--strict`` (warnings fail the build).

    Returns
    -------
    Path
        The output folder (``index.html`` at its top).
    """
    source = root / SOURCE_DIR
    prepare_source(root, source)
    template = template or os.environ.get(TEMPLATE_ENV) or None
    if template:
        folder = Path(template).resolve()
        if not (folder / "template.yml").is_file():
            raise FileNotFoundError(
                f"expected a built mystmd site theme (template.yml) in {folder}; found none"
            )
        config = json.loads((source / "myst.yml").read_text())
        config["site"]["template"] = str(folder)
        (source / "myst.yml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    env = dict(os.environ, JB_ALLOW_NODEENV="no")
    command = [*jupyter_book_command(), "build", "--html", *(["--strict"] if strict else [])]
    subprocess.run(command, cwd=source, env=env, check=True)
    output = root / OUTPUT_DIR
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(source / "_build" / "html", output)
    return output
