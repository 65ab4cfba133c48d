"""Fixtures for the browser tests: Chromium through Playwright, a harness server."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATIC = (
    Path(__file__).resolve().parents[2] / "claripacs_jupyter" / "widgets" / "static"
)
HARNESS = Path(__file__).resolve().parent / "harness"

# Generous: the machine has two cores shared by several developers.
TIMEOUT_MS = 120_000


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    """Leave the event loop alone.

    pytest-jupyter's fixture of this name closes the current loop after each test,
    which here is the loop Playwright's sync API runs in; these tests use no
    asyncio of their own.
    """
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """No in-process Jupyter server here to clean up (JupyterLab runs apart)."""
    yield None


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_sync.Browser]:
    """A headless Chromium for the tests of one module.

    Not for the whole session: Playwright's sync API keeps its event loop
    running while it is started, and the tests that follow in other folders
    need pytest-jupyter's loop.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: playwright_sync.Browser) -> Iterator[playwright_sync.Page]:
    """A fresh page; console errors are collected on ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on(
        "console", lambda msg: errors.append(msg.text) if msg.type == "error" else None
    )
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    new_page.console_errors = errors  # type: ignore[attr-defined]
    yield new_page
    context.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output free of access logs."""


@pytest.fixture(scope="session")
def harness_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the harness is served from; tests may add files to it."""
    return tmp_path_factory.mktemp("harness")


@pytest.fixture(scope="session")
def harness_url(harness_root: Path) -> Iterator[str]:
    """URL of the viewer harness: the static files and the harness page, served."""
    root = harness_root
    for folder in (STATIC, HARNESS):
        for item in folder.iterdir():
            if item.is_file():
                shutil.copy(item, root / item.name)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()
    thread.join()
