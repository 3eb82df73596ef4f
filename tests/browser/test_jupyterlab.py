"""A learner opens the course in JupyterLab and runs it, in a real browser.

JupyterLab is started as the README's first command does (headless, a token, a free
loopback port) on a copy of notebooks/ and exercises/ (so running cells and autosave never
touch the repository). Through the browser: open a notebook, check that opening it does
not mark it modified, run all cells from the Run menu, wait for the kernel to go idle and
check that no cell shows an error; the exercise notebook must show "not attempted yet".
The server is stopped by its PID.
"""

from __future__ import annotations

import json

import pytest

from .conftest import ARTIFACTS, ROOT, open_page

# JavaScript reading the open notebook's model (JupyterLab runs with expose_app_in_browser)
OUTPUTS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.sharedModel.cells;
    return cells.filter(c => c.cell_type === 'code').map(c => ({
        count: c.execution_count,
        errors: c.outputs.filter(o => o.output_type === 'error')
                         .map(o => o.ename + ': ' + o.evalue),
    }));
}"""
METADATA = "() => window.jupyterapp.shell.currentWidget.context.model.toJSON().metadata"
DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"
STATUS = "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus"


def _open(browser, lab_url: str, path: str):
    page, log = open_page(browser, lab_url.split("/lab/")[0])
    page.goto(lab_url.format(path=path), wait_until="load")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=120_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'",
        timeout=120_000,
    )
    page.wait_for_timeout(3_000)  # let any load-time metadata update land
    return page, log


def _run_all(page, timeout_s: int) -> list[dict]:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        f"() => ({STATUS})() === 'busy' || ({OUTPUTS})().every(c => c.count !== null)",
        timeout=60_000,
    )
    page.wait_for_function(
        f"() => {{ const cells = ({OUTPUTS})(); return ({STATUS})() === 'idle' && ("
        "cells.every(c => c.count !== null) || cells.some(c => c.errors.length > 0)); }",
        timeout=timeout_s * 1000,
        polling=1000,
    )
    return page.evaluate(OUTPUTS)


@pytest.mark.parametrize(
    "path", ["notebooks/01_requirements.ipynb", "notebooks/04_model_development.ipynb"]
)
def test_opening_a_notebook_does_not_mark_it_modified(browser, lab_url, path):
    page, _ = _open(browser, lab_url, path)
    dirty = page.evaluate(DIRTY)
    metadata = page.evaluate(METADATA)
    tab_dirty = page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count()
    page.close()
    disk = json.loads((ROOT / path).read_text(encoding="utf-8"))["metadata"]
    changed = {k: (disk.get(k), v) for k, v in metadata.items() if disk.get(k) != v}
    assert not dirty and not tab_dirty, (
        f"{path} shows as modified right after opening; metadata (file, JupyterLab): {changed}"
    )


def test_step_notebook_runs_in_jupyterlab(browser, lab_url):
    page, _ = _open(browser, lab_url, "notebooks/01_requirements.ipynb")
    cells = _run_all(page, timeout_s=300)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-01-after-run.png"))
    page.close()
    errors = [c["errors"] for c in cells if c["errors"]]
    assert cells and not errors, f"cells with errors: {errors}"


def test_exercise_notebook_runs_and_says_not_attempted(browser, lab_url):
    page, _ = _open(browser, lab_url, "exercises/01_requirements.ipynb")
    cells = _run_all(page, timeout_s=300)
    text = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.node.innerText")
    page.close()
    errors = [c["errors"] for c in cells if c["errors"]]
    assert cells and not errors, f"cells with errors: {errors}"
    assert "not attempted yet" in text, "the untouched exercise does not say 'not attempted yet'"
