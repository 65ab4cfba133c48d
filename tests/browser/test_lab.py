"""The viewer end to end: a real JupyterLab, the quickstart notebook, the case page.

JupyterLab runs as a subprocess on a temporary store that holds a real
multi-slice CT series; Chromium (through Playwright) runs the notebook's cells
and drives the viewer with the mouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.jupyter_lab import (
    SLICES,
    STEP_TIMEOUT_MS,
    Lab,
    open_notebook,
    poll_cell,
    run_cell,
    running_lab,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"

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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab with the CT case, the demo set and the quickstart notebook."""
    base_dir = tmp_path_factory.mktemp("lab")
    with running_lab(base_dir, demo=True, notebooks=[QUICKSTART]) as started:
        yield started


ACTIVE_CELL = "window.jupyterapp.shell.currentWidget.content.activeCellIndex"


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
    open_notebook(page, lab, QUICKSTART.name)

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
    printed = poll_cell(
        page, "print(viewer.image_index, viewer.window_width > 0)", "2 True"
    )
    assert printed == "2 True"
    run_cell(page, "viewer.image_index = 4; viewer.window_center = -600")
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
