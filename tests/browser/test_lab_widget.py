"""The notebook Viewer in a real JupyterLab: its traits and the view follow each
other both ways, and get_url() reopens the view on the case page.

Chromium (through Playwright) runs the cells of a new notebook in JupyterLab
and drives the widget with the mouse; the kernel's traits are read back by
printing them from further cells.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from claripacs_jupyter.links import parse_case_url
from tests.browser.jupyter_lab import (
    SLICES,
    STEP_TIMEOUT_MS,
    Lab,
    lab_fixture,
    open_new_notebook,
    run_cell,
)

pytestmark = pytest.mark.browser

# The state of the notebook's viewer, as the JS viewer holds it.
VIEWER_STATE = "document.querySelector('.claripacs-viewer').claripacsViewer.getState()"

PRINT_TRAITS = (
    "import json\n"
    "print(json.dumps({name: getattr(viewer, name) for name in ("
    "'image_index', 'window_center', 'window_width', 'zoom', 'xpos', 'ypos', "
    "'tool', 'mode')}))"
)


lab = lab_fixture("lab_widget")


@pytest.fixture
def widget(lab: Lab, page: Page) -> Page:
    """A new notebook whose `viewer` shows the CT case, its first image drawn."""
    open_new_notebook(page, lab, "widget")
    run_cell(
        page,
        f"from claripacs_jupyter import Viewer\nviewer = Viewer({lab.accession!r})\n"
        "viewer",
    )
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.drawnImage === '0'",
        timeout=STEP_TIMEOUT_MS,
    )
    # the file's window, which the view took on its first draw, is on its way
    # to the kernel; a trait set before it lands would be overwritten by it
    _kernel_traits(page, _traits_of(page.evaluate(VIEWER_STATE)))
    return page


def _settle(page: Page) -> None:
    """Wait until the viewer has drawn the state it holds (two animation frames)."""
    page.evaluate(
        "() => new Promise((done) => requestAnimationFrame("
        "() => requestAnimationFrame(done)))"
    )


def _traits_of(state: dict[str, Any]) -> dict[str, Any]:
    """The traits that a JS viewer state should have set."""
    return {
        "image_index": state["image"],
        "window_center": state["window"]["center"],
        "window_width": state["window"]["width"],
        "zoom": state["zoom"],
        "xpos": state["position"]["x"],
        "ypos": state["position"]["y"],
        "tool": state["tool"],
        "mode": state["mode"],
    }


def _kernel_traits(page: Page, expected: dict[str, Any]) -> dict[str, Any]:
    """The kernel's traits, read until they are `expected` (or tries run out).

    ipywidgets holds an update back while the kernel is busy with the one
    before, so the kernel may see the last move of the view a moment late.
    """
    traits: dict[str, Any] = {}
    for _ in range(20):
        traits = json.loads(run_cell(page, PRINT_TRAITS))
        if traits == expected:
            break
    return traits


def _drag(
    page: Page, start: tuple[float, float], by: tuple[float, float], **kw: Any
) -> None:
    page.mouse.move(*start)
    page.mouse.down(**kw)
    page.mouse.move(start[0] + by[0], start[1] + by[1], steps=5)
    page.mouse.up(**kw)


def test_moving_the_widget_sets_the_traits_and_get_url_reopens_the_view(
    widget: Page, browser: Browser, lab: Lab
) -> None:
    page = widget
    stage = page.locator(".claripacs-viewer .cpv-stage")
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.mouse.move(*centre)
    page.mouse.wheel(0, 200)  # two images on
    page.wait_for_function(f"{VIEWER_STATE}.image === 2")
    _drag(page, centre, (60, -40), button="right")
    page.locator(".claripacs-viewer .cpv-tool[data-tool='zoom']").click()
    _drag(page, centre, (0, -120))
    page.locator(".claripacs-viewer .cpv-tool[data-tool='pan']").click()
    _drag(page, centre, (-70, 50))
    _settle(page)
    state = page.evaluate(VIEWER_STATE)
    traits = _kernel_traits(page, _traits_of(state))
    url = run_cell(page, "print(viewer.get_url())").strip()
    again = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
    again.set_default_timeout(STEP_TIMEOUT_MS)
    again.goto(f"{url}&token={lab.token}")
    again.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.state === 'ready'"
    )
    _settle(again)
    reopened = parse_case_url(again.evaluate("get_url()"))[1]

    # the view moved in every way, and the kernel saw each move
    assert state["image"] == 2
    assert state["zoom"] > 1.5
    assert abs(state["position"]["x"] - 64) > 5 and abs(state["position"]["y"] - 64) > 5
    assert traits == _traits_of(state)
    # the case page of get_url() shows that view
    assert url.startswith(f"{lab.base}claripacs/case/{lab.accession}?")
    assert reopened["image"] == 3
    assert reopened["window_level"] == round(state["window"]["center"], 2)
    assert reopened["window_width"] == round(state["window"]["width"], 2)
    assert reopened["zoom"] == round(state["zoom"], 4)
    assert reopened["xpos"] == pytest.approx(state["position"]["x"], abs=1)
    assert reopened["ypos"] == pytest.approx(state["position"]["y"], abs=1)
    for overlay in (".cpv-overlay-image", ".cpv-overlay-window"):
        # text_content: the notebook may have scrolled the widget out of view,
        # where JupyterLab's content-visibility leaves inner_text empty
        shown = page.locator(overlay).text_content()
        assert again.locator(overlay).text_content() == shown
    again.context.close()
    console: list[str] = page.console_errors  # type: ignore[attr-defined]
    errors = [e for e in console if "claripacs" in e.lower()]
    assert errors == []


def test_setting_traits_in_the_kernel_moves_the_widget(widget: Page) -> None:
    page = widget
    wanted = {
        "image_index": 4,
        "window_center": -600.0,
        "window_width": 1500.0,
        "zoom": 2.0,
        "xpos": 30.0,
        "ypos": 40.0,
        "tool": "pan",
        "mode": "simple",
    }

    run_cell(
        page,
        "viewer.image_index = 4\n"
        "viewer.window_center, viewer.window_width = -600, 1500\n"
        "viewer.zoom = 2\n"
        "viewer.xpos, viewer.ypos = 30, 40\n"
        "viewer.tool = 'pan'\n"
        "viewer.mode = 'simple'",
    )
    page.wait_for_function(
        f"(() => {{ const s = {VIEWER_STATE}; return s.image === 4"
        " && s.window.center === -600 && s.window.width === 1500 && s.zoom === 2"
        " && Math.abs(s.position.x - 30) < 1e-6 && Math.abs(s.position.y - 40) < 1e-6"
        " && s.tool === 'pan' && s.mode === 'simple'; })()"
    )
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer').dataset.drawnImage === '4'"
    )
    _settle(page)
    traits = _kernel_traits(page, wanted)

    assert page.locator(".cpv-overlay-image").inner_text() == f"Image 5 / {SLICES}"
    assert page.locator(".cpv-overlay-window").inner_text() == "W 1500  L -600"
    assert page.locator(".claripacs-viewer").get_attribute("data-tool") == "pan"
    assert page.locator(".claripacs-viewer .cpv-toolbar").is_hidden()
    # the viewer's own changes, sent back, leave the traits as they were set
    assert traits == wanted


def test_linked_widgets_follow_each_other_and_their_traits_say_so(
    lab: Lab, page: Page
) -> None:
    open_new_notebook(page, lab, "linked")
    run_cell(
        page,
        "from claripacs_jupyter import Viewer\n"
        "import ipywidgets\n"
        f"a = Viewer({lab.accession!r}, linked=True, height='300px')\n"
        f"b = Viewer({lab.accession!r}, linked=True, height='300px')\n"
        "ipywidgets.HBox([a, b])",
    )
    viewers = "[...document.querySelectorAll('.claripacs-viewer')]"
    page.wait_for_function(
        f"{viewers}.filter((v) => v.dataset.drawnImage === '0').length === 2",
        timeout=STEP_TIMEOUT_MS,
    )
    stage = page.locator(".claripacs-viewer .cpv-stage").first
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    assert box is not None

    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 300)  # three images on
    page.wait_for_function(
        f"{viewers}.every((v) => v.claripacsViewer.getState().image === 3)"
    )
    _settle(page)
    drawn = page.evaluate(f"{viewers}.map((v) => v.dataset.drawnImage)")
    followed = ""
    for _ in range(20):
        followed = run_cell(page, "print(a.image_index, b.image_index, b.linked)")
        if followed.split() == ["3", "3", "True"]:
            break
    run_cell(page, "b.linked = False")
    page.wait_for_function(f"{viewers}[1].claripacsViewer.getState().linked === false")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 100)
    page.wait_for_function(f"{viewers}[0].claripacsViewer.getState().image === 4")
    _settle(page)
    apart = page.evaluate(f"{viewers}.map((v) => v.claripacsViewer.getState().image)")

    assert drawn == ["3", "3"]
    assert followed.split() == ["3", "3", "True"]
    assert apart == [4, 3]
