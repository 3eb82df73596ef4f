"""The course website in a real browser (built by ``python -m course_utils.notebooks site``).

Every page loads without console errors; every internal link and anchor resolves; each
notebook page shows as many figures as its notebook has PNG outputs; no raw ``$...$`` maths
is left; the launch links (Binder, Colab, download) point at the page's own notebook.
Screenshots of the landing page and of one notebook page go to ``_build/browser-artifacts``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest

from course_utils import site as site_tools

from .conftest import ROOT, SITE, open_page

RAW_MATH = re.compile(r"\$[^$\n]{1,200}\$")
IDS = re.compile(r'\sid="([^"]+)"')


def _pages() -> list[str]:
    """URL paths of the built pages ("/" and e.g. "/notebooks/requirements")."""
    pages = sorted(
        "/" + p.parent.relative_to(SITE).as_posix()
        for p in SITE.glob("**/index.html")
        if not p.relative_to(SITE).parts[0] == "build"
    )
    return [p if p != "/." else "/" for p in pages]


def _notebook_pages() -> dict[str, str]:
    """{page path: notebook path in the repository} from the page data mystmd writes."""
    found = {}
    for data in SITE.glob("*.json"):
        record = json.loads(data.read_text())
        location = record.get("location", "") if isinstance(record, dict) else ""
        if location.endswith(".ipynb"):
            found["/" + record["slug"].replace(".", "/")] = location.lstrip("/")
    return found


def _png_outputs(path: str) -> int:
    nb = json.loads((ROOT / path).read_text())
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


def _page_file(path: str):
    return SITE / path.strip("/") / "index.html" if path != "/" else SITE / "index.html"


def test_site_has_the_course_pages(site_url):
    pages = _pages()
    assert "/" in pages and "/results" in pages and "/instructors" in pages
    notebooks = _notebook_pages()
    for folder, _ in site_tools.SITE_FOLDERS:
        expected = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob("*.ipynb"))
        got = sorted(nb for nb in notebooks.values() if nb.startswith(folder + "/"))
        assert got == expected, f"{folder}: pages for {got}; notebooks {expected}"


@dataclass
class Visit:
    """What one page showed in the browser."""

    status: int
    errors: list[str]
    hrefs: list[str]
    images: int
    text: str
    katex: int


TEXT_WITHOUT_CODE_OR_MATHS = """() => {
    const c = (document.querySelector('article') || document.body).cloneNode(true);
    c.querySelectorAll('pre, code, .katex, [data-name="outputs-container"]')
     .forEach(e => e.remove());
    return c.textContent; }"""

SCREENSHOTS = {"/": "site-landing.png", "/notebooks/model-development": "site-notebook-04.png"}


@pytest.fixture(scope="module")
def visits(browser, site_url, artifacts) -> dict[str, Visit]:
    """Load every page once; record what the tests below check."""
    seen = {}
    for path in _pages():
        page, log = open_page(browser, site_url)
        response = page.goto(site_url + path, wait_until="load")
        page.wait_for_load_state("networkidle", timeout=15_000)
        seen[path] = Visit(
            status=response.status if response else 0,
            errors=log.real_errors(),
            hrefs=page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"),
            images=page.locator("[data-name='outputs-container'] img").count(),
            text=page.evaluate(TEXT_WITHOUT_CODE_OR_MATHS),
            katex=page.locator(".katex").count(),
        )
        if path in SCREENSHOTS:
            page.screenshot(path=str(artifacts / SCREENSHOTS[path]))
        page.close()
    return seen


def test_every_page_loads_without_console_errors(visits):
    failures = {
        p: v.errors or [f"HTTP {v.status}"]
        for p, v in visits.items()
        if v.errors or v.status != 200
    }
    assert not failures, f"pages with console errors: {failures}"


def test_internal_links_and_anchors_resolve(visits, site_url):
    ids: dict[str, set[str]] = {}
    broken: list[str] = []
    for path, visit in visits.items():
        for href in set(visit.hrefs):
            if not href.startswith(site_url):
                continue
            parts = urllib.parse.urlsplit(href)
            target = parts.path.rstrip("/") or "/"
            if target.startswith("/build/"):
                if not (SITE / target.lstrip("/")).is_file():
                    broken.append(f"{path} -> {href} (no file)")
                continue
            file = _page_file(target)
            if not file.is_file():
                broken.append(f"{path} -> {href} (no page)")
                continue
            if parts.fragment:
                if target not in ids:
                    ids[target] = set(IDS.findall(file.read_text(encoding="utf-8")))
                if urllib.parse.unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{path} -> {href} (no anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(broken))


def test_no_raw_maths_left(visits):
    raw = {p: RAW_MATH.findall(v.text)[:3] for p, v in visits.items() if RAW_MATH.search(v.text)}
    assert not raw, f"unrendered $...$ maths: {raw}"
    assert visits["/notebooks/model-development"].katex > 0, "no KaTeX maths on the step 4 page"


@pytest.mark.parametrize("path", sorted(_notebook_pages()) if SITE.is_dir() else [])
def test_notebook_page_figures_and_launch_links(visits, site_url, path):
    notebook = _notebook_pages()[path]
    visit = visits[path]
    assert visit.images == _png_outputs(notebook), (
        f"{path}: {visit.images} output images; {notebook} has {_png_outputs(notebook)} PNGs"
    )
    assert site_tools.binder_url(notebook) in visit.hrefs, f"{path}: no Binder link to {notebook}"
    assert site_tools.colab_url(notebook) in visit.hrefs, f"{path}: no Colab link to {notebook}"
    downloads = [h for h in visit.hrefs if h.startswith(site_url) and h.endswith(".ipynb")]
    assert downloads, f"{path}: no download link for the .ipynb"
    with urllib.request.urlopen(downloads[0]) as answer:  # noqa: S310 - loopback
        assert answer.read() == (ROOT / notebook).read_bytes(), "the download is not the notebook"


def test_screenshots_saved(visits, artifacts):
    for name in SCREENSHOTS.values():
        assert (artifacts / name).stat().st_size > 10_000, f"screenshot {name} looks empty"
