"""Links to a view on the standalone case page, in both directions.

A real Jupyter server with the extension runs as a subprocess on a store that
holds a six-slice CT series made from pydicom-data's CT_small.dcm (128 x 128
pixels); Chromium opens case pages whose query names a view, moves the viewer,
and reopens what ``get_url()`` answers.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from claripacs_jupyter.links import case_url, parse_case_url
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.servers import free_port, start, stop, wait_until_up
from tests.widgets.ct_series import write_ct_series

pytestmark = pytest.mark.browser

SLICES = 6
SIZE = 128  # rows and columns of CT_small.dcm

# Every CT value lies above -5000 HU, so this window shows the image all white
# on the black background: where the image lies on the canvas can be read off.
ALL_WHITE = {"window_level": -5000, "window_width": 1}

CANVAS_FACTS = """
() => {
  const canvas = document.querySelector(".claripacs-viewer canvas");
  const data = canvas.getContext("2d")
    .getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i]) lit++;
    sum += data[i];
  }
  return {lit, mean: sum / (data.length / 4), width: canvas.width,
          height: canvas.height};
}
"""

GREY_AT = """
([x, y]) => document.querySelector(".claripacs-viewer canvas")
  .getContext("2d").getImageData(x, y, 1, 1).data[0]
"""


@dataclass
class Server:
    """A running Jupyter server with the claripacs extension."""

    base: str
    token: str
    accession: str
    series: str


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Jupyter server on a store with one six-slice CT case; killed at teardown."""
    from claripacs_jupyter import open_store

    base_dir = tmp_path_factory.mktemp("links")
    data, root, home = base_dir / "store", base_dir / "root", base_dir / "home"
    root.mkdir()
    home.mkdir()
    report = open_store(data).ingest(write_ct_series(base_dir / "incoming", SLICES))
    assert report.stored == SLICES
    accession = report.accessions[0]

    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "CLARIPACS_DATA": str(data),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "server",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--allow-root",  # CI runs as root
        f"--ServerApp.root_dir={root}",
    ]
    log = base_dir / "server.log"
    process = start(command, env, root, log)
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_until_up(f"{base}api/status?token={token}", process, log)
        detail = _get_json(f"{base}claripacs/api/cases/{accession}?token={token}")
        yield Server(base, token, accession, detail["series"][0]["uid"])
    finally:
        stop(process)


def _open(page: Page, server: Server, url: str) -> None:
    """Open a case page URL (with the login token) and wait for its picture."""
    joiner = "&" if "?" in url else "?"
    page.goto(f"{url}{joiner}token={server.token}")
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.state === 'ready'",
        timeout=TIMEOUT_MS,
    )
    _settle(page)


def _settle(page: Page) -> None:
    """Wait until the viewer has drawn the state it holds (two animation frames)."""
    page.evaluate(
        "() => new Promise((done) => requestAnimationFrame("
        "() => requestAnimationFrame(done)))"
    )


def _fresh_page(browser: Browser, width: int = 1200, height: int = 900) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _view(page: Page) -> dict[str, Any]:
    """The view that the page's get_url() names."""
    accession, view = parse_case_url(page.evaluate("get_url()"))
    return {"accession": accession, **view}


def test_a_link_with_every_parameter_opens_that_view(
    server: Server, page: Page
) -> None:
    view = {
        "series": server.series,
        "image": 4,
        "window_level": -600,
        "window_width": 1500,
        "zoom": 2,
        "xpos": 40,
        "ypos": 90.5,
        "mode": "simple",
    }
    url = case_url(server.base, server.accession, **view)

    _open(page, server, url)

    viewer = page.locator(".claripacs-viewer")
    assert page.locator(".cpv-overlay-image").inner_text() == f"Image 4 / {SLICES}"
    assert page.locator(".cpv-overlay-window").inner_text() == "W 1500  L -600"
    assert viewer.get_attribute("data-drawn-image") == "3"
    assert page.locator(".cpv-toolbar").is_hidden()
    assert page.locator(".cp-case-bar").count() == 0
    assert page.evaluate("claripacs_display_mode") == "simple"
    shown = {key: value for key, value in view.items() if key != "mode"}
    assert _view(page) == {"accession": server.accession, **shown}
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("viewport", [(1200, 900), (640, 420)])
@pytest.mark.parametrize(("corner", "lit"), [(0, (1, 1)), (SIZE, (-1, -1))])
def test_xpos_and_ypos_put_that_image_point_at_the_centre_of_any_window(
    server: Server,
    browser: Browser,
    viewport: tuple[int, int],
    corner: int,
    lit: tuple[int, int],
) -> None:
    page = _fresh_page(browser, *viewport)
    url = case_url(
        server.base, server.accession, zoom=3, xpos=corner, ypos=corner, **ALL_WHITE
    )

    _open(page, server, url)

    facts = page.evaluate(CANVAS_FACTS)
    cx, cy = facts["width"] // 2, facts["height"] // 2
    inside = page.evaluate(GREY_AT, [cx + 4 * lit[0], cy + 4 * lit[1]])
    beside = page.evaluate(GREY_AT, [cx - 4 * lit[0], cy + 4 * lit[1]])
    above = page.evaluate(GREY_AT, [cx + 4 * lit[0], cy - 4 * lit[1]])
    assert (inside, beside, above) == (255, 0, 0)
    assert _view(page)["xpos"] == corner
    assert _view(page)["ypos"] == corner
    page.context.close()


def test_a_view_without_xpos_and_ypos_centres_the_image(
    server: Server, browser: Browser
) -> None:
    centred = case_url(server.base, server.accession, zoom=3, xpos=64, ypos=64)
    plain = case_url(server.base, server.accession, zoom=3)
    pages = [_fresh_page(browser), _fresh_page(browser)]

    for page, url in zip(pages, [centred, plain], strict=True):
        _open(page, server, url)

    facts = [page.evaluate(CANVAS_FACTS) for page in pages]
    assert facts[0] == facts[1]
    assert facts[0]["lit"] > 0
    for page in pages:
        page.context.close()


def test_get_url_after_scrolling_windowing_zooming_and_panning_reopens_that_view(
    server: Server, page: Page, browser: Browser
) -> None:
    _open(page, server, f"{server.base}claripacs/case/{server.accession}")
    stage = page.locator(".cpv-stage")
    box = stage.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.move(cx, cy)
    page.mouse.wheel(0, 200)  # two images on
    page.mouse.down(button="right")
    page.mouse.move(cx + 60, cy - 40, steps=4)
    page.mouse.up(button="right")
    page.evaluate("change_left_mouse(4)")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx, cy - 120, steps=4)
    page.mouse.up()
    page.evaluate("change_left_mouse(2)")
    page.mouse.down()
    page.mouse.move(cx - 70, cy + 50, steps=4)
    page.mouse.up()
    _settle(page)
    moved = _view(page)
    url = page.evaluate("get_url()")
    again = _fresh_page(browser)
    _open(again, server, url)

    assert moved["image"] == 3
    assert moved["window_width"] != 1 and "window_level" in moved
    assert moved["zoom"] > 1.5
    assert moved["xpos"] != SIZE / 2 and moved["ypos"] != SIZE / 2
    assert "token" not in url
    assert _view(again) == moved
    for locator in (".cpv-overlay-image", ".cpv-overlay-window"):
        assert again.locator(locator).inner_text() == page.locator(locator).inner_text()
    before, after = page.evaluate(CANVAS_FACTS), again.evaluate(CANVAS_FACTS)
    # the link rounds the window to 1/100 and the zoom to 1/10000: the same
    # picture up to pixels on the edges
    assert after["lit"] == pytest.approx(before["lit"], rel=0.01)
    assert after["mean"] == pytest.approx(before["mean"], abs=1)
    again.context.close()


def test_the_embedded_api_sets_the_tool_and_toggles_simple_mode(
    server: Server, page: Page
) -> None:
    _open(page, server, f"{server.base}claripacs/case/{server.accession}?image=2")
    viewer = page.locator(".claripacs-viewer")

    tools = []
    for number in (1, 2, 3, 4):
        page.evaluate(f"change_left_mouse({number})")
        tools.append(viewer.get_attribute("data-tool"))
    refused = page.evaluate(
        "() => { try { change_left_mouse(10); return ''; }"
        " catch (error) { return error.name; } }"
    )
    toggled = page.evaluate("toggle_simple_mode()")
    hidden = [
        page.locator(".cpv-toolbar").is_hidden(),
        page.locator(".cp-case-bar").is_hidden(),
        page.evaluate("claripacs_display_mode"),
        page.evaluate("get_url()"),
    ]
    restored = page.evaluate("toggle_simple_mode()")

    assert tools == ["window", "pan", "scroll", "zoom"]
    assert refused == "RangeError"
    assert toggled == "simple"
    assert hidden[:3] == [True, True, "simple"]
    assert "mode=" not in hidden[3]  # as the guide's: the caller adds mode=simple
    assert restored == "normal"
    assert page.locator(".cpv-toolbar").is_visible()
    assert page.locator(".cp-case-bar").is_visible()
