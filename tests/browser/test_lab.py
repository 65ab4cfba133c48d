"""The viewer end to end: a real JupyterLab, the quickstart notebook, the case page.

JupyterLab runs as a subprocess on a temporary store that holds a real
multi-slice CT series; Chromium (through Playwright) runs the notebook's cells
and drives the viewer with the mouse.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.servers import free_port, stop, wait_until_up
from tests.widgets.ct_series import write_ct_series

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"
SLICES = 6
STEP_TIMEOUT_MS = 180_000

# A fingerprint of the viewer's canvas: how many pixels are not black, and a
# hash of all of them, to tell one picture from another.
CANVAS_SIGNATURE = """
() => {
  const canvas = document.querySelector(".claripacs-viewer canvas");
  if (!canvas || !canvas.width || !canvas.height) return null;
  const data = canvas.getContext("2d")
    .getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0;
  let hash = 2166136261;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] || data[i + 1] || data[i + 2]) lit++;
    hash = Math.imul(hash ^ data[i], 16777619) >>> 0;
  }
  return {lit, hash, total: data.length / 4};
}
"""

SETTLED = ", ".join(
    f".claripacs-viewer[data-state='{state}']" for state in ("ready", "error")
)


@dataclass
class Lab:
    """A running JupyterLab."""

    base: str
    token: str
    root: Path
    accession: str
    accessions: list[str]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a store with a six-slice CT case and the demo set.

    The server and its kernels are killed at teardown.
    """
    from claripacs_jupyter import open_store
    from claripacs_jupyter.store.demo import import_demo

    base_dir = tmp_path_factory.mktemp("lab")
    data, root, home = base_dir / "store", base_dir / "root", base_dir / "home"
    root.mkdir()
    home.mkdir()
    store = open_store(data)
    report = store.ingest(write_ct_series(base_dir / "incoming", count=SLICES))
    assert report.stored == SLICES
    accession = report.accessions[0]
    demo = import_demo(store)
    assert demo.skipped == 0
    shutil.copy(QUICKSTART, root / QUICKSTART.name)

    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "CLARIPACS_DATA": str(data),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        # The quickstart exports into a temporary folder; keep it in the test's.
        "TMPDIR": str(home),
    }
    log = base_dir / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--allow-root",  # CI runs as root
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no extension index look-ups
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its kernels share its process group
        )
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_until_up(f"{base}api/status?token={token}", process, log)
        accessions = [case.accession for case in store.cases()]
        yield Lab(base, token, root, accession, accessions)
    finally:
        stop(process)


ACTIVE_CELL = "window.jupyterapp.shell.currentWidget.content.activeCellIndex"


def _run_cell(page: Page, source: str) -> str:
    """Add a code cell at the end of the notebook, run it, return its stdout."""
    count = page.evaluate(
        """(source) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const notebook = panel.content;
          notebook.activeCellIndex = notebook.widgets.length - 1;
          window.jupyterapp.commands.execute("notebook:insert-cell-below");
          notebook.activeCell.model.sharedModel.setSource(source);
          window.jupyterapp.commands.execute("notebook:run-cell");
          return notebook.widgets.length;
        }""",
        source,
    )
    cell = page.locator(".jp-Notebook .jp-Cell").nth(count - 1)
    cell.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(
        timeout=STEP_TIMEOUT_MS
    )
    return "".join(cell.locator(".jp-OutputArea-output").all_inner_texts())


def _poll_cell(page: Page, source: str, expected: str = "2 True") -> str:
    """Run `source` in new cells until it prints `expected` (or tries run out)."""
    printed = ""
    for _ in range(20):
        printed = _run_cell(page, source).strip()
        if printed == expected:
            break
    return printed


def _signature(page: Page) -> dict:
    return page.evaluate(CANVAS_SIGNATURE)


def _wait_for_change(page: Page, before: dict) -> dict:
    page.wait_for_function(
        f"(() => {{ const s = ({CANVAS_SIGNATURE})(); "
        f"return s && s.hash !== {before['hash']}; }})()",
        timeout=STEP_TIMEOUT_MS,
    )
    return _signature(page)


def _scroll_and_window(page: Page) -> None:
    """The shared part of both tests: pixels, then scroll, then window/level."""
    viewer = page.locator(".claripacs-viewer[data-state='ready']")
    viewer.wait_for(timeout=STEP_TIMEOUT_MS)
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer').dataset.drawnImage === '0'"
    )
    first = _signature(page)
    assert first["lit"] > first["total"] // 10, "the canvas is (nearly) blank"
    assert page.locator(".cpv-overlay-image").inner_text() == f"Image 1 / {SLICES}"

    stage = page.locator(".claripacs-viewer .cpv-stage")
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.wheel(0, 100)
    scrolled = _wait_for_change(page, first)

    assert page.locator(".cpv-overlay-image").inner_text() == f"Image 2 / {SLICES}"
    assert scrolled["lit"] > scrolled["total"] // 10
    window_before = page.locator(".cpv-overlay-window").inner_text()

    page.mouse.move(x, y)
    page.mouse.down(button="right")
    page.mouse.move(x + 60, y + 40, steps=5)
    page.mouse.up(button="right")
    windowed = _wait_for_change(page, scrolled)

    # right-drag belongs to the viewer: no context menu of the host opened
    assert page.locator(".lm-Menu:visible").count() == 0

    assert page.locator(".cpv-overlay-window").inner_text() != window_before
    assert page.locator(".cpv-overlay-image").inner_text() == f"Image 2 / {SLICES}"
    assert windowed["lit"] > 0


def test_quickstart_viewer_in_jupyterlab_scrolls_and_windows(
    lab: Lab, page: Page
) -> None:
    page.goto(f"{lab.base}lab/tree/{QUICKSTART.name}?token={lab.token}")
    page.wait_for_function(
        "window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
        timeout=STEP_TIMEOUT_MS,
    )

    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    _scroll_and_window(page)

    # the notebook ran to its end without an error output
    page.wait_for_function(
        "(() => { const prompts = [...document.querySelectorAll("
        "'.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);"
        " return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t)); })()",
        timeout=STEP_TIMEOUT_MS,
    )
    assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
    # keys go to the viewer, not to the notebook's shortcuts
    active_before = page.evaluate(ACTIVE_CELL)
    page.locator(".claripacs-viewer .cpv-stage").click()
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "document.querySelector('.cpv-overlay-image').textContent"
        f" === 'Image 3 / {SLICES}'"
    )
    assert page.evaluate(ACTIVE_CELL) == active_before

    # the traits follow the viewer, and setting them moves it
    # (ipywidgets holds an update back while the kernel is busy with the one
    # before, so the kernel may see it a moment after the key press)
    printed = _poll_cell(page, "print(viewer.image_index, viewer.window_width > 0)")
    assert printed == "2 True"
    _run_cell(page, "viewer.image_index = 4; viewer.window_center = -600")
    page.wait_for_function(
        "document.querySelector('.cpv-overlay-image').textContent"
        f" === 'Image 5 / {SLICES}'"
    )
    page.wait_for_function(
        "document.querySelector('.cpv-overlay-window').textContent.endsWith('L -600')"
    )

    exported = list((lab.root.parent / "home").rglob("*.png"))
    assert exported, "the quickstart's export cell wrote no PNG"
    errors = [e for e in page.console_errors if "claripacs" in e.lower()]  # type: ignore[attr-defined]
    assert errors == []


def test_case_page_scrolls_and_windows(lab: Lab, page: Page) -> None:
    page.goto(f"{lab.base}claripacs/case/{lab.accession}?token={lab.token}")

    _scroll_and_window(page)

    assert "token=" not in page.url
    assert page.locator(".claripacs-viewer").get_attribute("data-total") == str(SLICES)


def test_every_demo_case_shows_a_picture_on_its_page(lab: Lab, page: Page) -> None:
    # MONOCHROME1, RGB, palette colour, cine and enhanced multi-frame, JPEG and
    # JPEG 2000: each kind reaches the canvas through the same viewer
    page.goto(f"{lab.base}lab?token={lab.token}")  # log in once
    shown = {}

    for accession in lab.accessions:
        page.goto(f"{lab.base}claripacs/case/{accession}")
        page.locator(SETTLED).wait_for(timeout=STEP_TIMEOUT_MS)
        state = page.locator(".claripacs-viewer").get_attribute("data-state")
        signature = _signature(page)
        shown[accession] = (state, signature["lit"] > 0)

    assert shown == {accession: ("ready", True) for accession in lab.accessions}


def test_case_page_opens_at_the_image_and_window_of_its_link(
    lab: Lab, page: Page
) -> None:
    query = "image=4&window_level=-600&window_width=1500"

    page.goto(f"{lab.base}claripacs/case/{lab.accession}?{query}&token={lab.token}")
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.drawnImage === '3'",
        timeout=STEP_TIMEOUT_MS,
    )

    assert page.locator(".cpv-overlay-image").inner_text() == f"Image 4 / {SLICES}"
    assert page.locator(".cpv-overlay-window").inner_text() == "W 1500  L -600"
    assert page.url.endswith(f"?{query}")
