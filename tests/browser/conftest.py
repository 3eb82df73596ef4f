"""Real-browser fixtures: Debian's Chromium driven by Playwright for Python (no browser
download; ``executable_path``). Every test here is skipped, with the reason, when Chromium
or Playwright is missing, so the main and Colab CI legs skip them. The ``browser`` leg of
``.ci/run`` sets ``COURSE_BROWSER_TESTS=1``: a missing piece is then a failure, not a skip.

Offline by design: requests that leave the loopback interface (CDN stylesheets, badges) are
answered with an empty response and recorded; console messages about those URLs are not
counted as page errors.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "site"
ARTIFACTS = ROOT / "_build" / "browser-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRED = os.environ.get("COURSE_BROWSER_TESTS") == "1"


def missing(reason: str) -> None:
    """Skip (or fail, in the browser CI leg) because ``reason``."""
    if REQUIRED:
        pytest.fail(f"browser leg: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float) -> None:
    """Poll ``url`` until it answers (any HTTP status) or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"expected {url} to answer within {timeout} s; it did not")


def stop(process: subprocess.Popen) -> None:
    """Stop a server we started, by its PID."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def browser(tmp_path_factory) -> Iterator:
    if not Path(CHROMIUM).is_file():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed (pip install playwright)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class PageLog:
    """Console errors, page errors and blocked external requests of one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.external: list[str] = []

    def real_errors(self) -> list[str]:
        return [e for e in self.errors if not any(url in e for url in self.external)]


def open_page(context, local_prefix: str):
    """A new page that answers non-local requests with an empty response; and its log."""
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
    page.on("pageerror", lambda e: log.errors.append(f"pageerror: {e}"))

    def route(r) -> None:
        if r.request.url.startswith(local_prefix):
            r.continue_()
        else:
            log.external.append(r.request.url)
            r.fulfill(status=204, body="")

    page.route("**/*", route)
    return page, log


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    if not (SITE / "index.html").is_file():
        unavailable = os.environ.get("COURSE_SITE_UNAVAILABLE")
        if unavailable:  # the leg could not build the site here; say why, do not fail
            pytest.skip(f"site not built on this machine: {unavailable}")
        missing(f"no built site in {SITE}; run `python -m course_utils.notebooks site` first")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(SITE)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", 30)
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab_copy(tmp_path_factory) -> Path:
    """A copy of the learner-facing folders, so running cells (and JupyterLab's autosave)
    never writes to the repository."""
    dest = tmp_path_factory.mktemp("lab") / "course"
    for folder in ("notebooks", "exercises"):
        shutil.copytree(ROOT / folder, dest / folder)
    for name in ("jupytext.toml",):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="session")
def lab_url(lab_copy) -> Iterator[str]:
    """JupyterLab started as the README's first command does (headless, a token, a free
    loopback port), on the copy; stopped by PID at the end."""
    if importlib_missing("jupyterlab"):
        missing("JupyterLab is not installed")
    port, token = free_port(), "browser-test-token"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={lab_copy}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={lab_copy.parent / 'workspaces'}",  # not ~/.jupyter
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "jupyterlab.log"
    with open(log, "w") as stream:
        server = subprocess.Popen(command, cwd=lab_copy, stdout=stream, stderr=stream)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", 120)
            # ?reset: a clean workspace (no tabs restored from an earlier test)
            yield f"http://127.0.0.1:{port}/lab/tree/{{path}}?reset&token={token}"
        finally:
            stop(server)


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None
