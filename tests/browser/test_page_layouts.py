"""Split-screen pages, read_url_line and embedded.js, in a real Chromium.

The Jupyter server with the extension is test_page_links.py's (a real
subprocess on a store with one six-slice CT series of 128 x 128 pixels). Split
pages lay out case panes and nested splits in one document; get_url() hands
each pane's view on; read_url_line(url) moves the views without a reload (a
`window.marker` set before survives); a parent page drives an iframe through
embedded.js.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page

from claripacs_jupyter.links import (
    SplitLink,
    case_url,
    parse_case_url,
    parse_split_url,
    split_url,
)
from tests.browser import test_page_links
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_page_links import SLICES, Server, _fresh_page, _settle

# test_page_links.py's Jupyter server (one six-slice CT case), reused as a
# fixture of this module
server = test_page_links.server

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1200, 900
DIVIDER = 6  # px, layout.js's divider

READY_COUNT = """
(n) => [...document.querySelectorAll('.claripacs-viewer')]
  .filter((v) => v.dataset.state === 'ready').length === n
"""

PANES = """
() => [...document.querySelectorAll('.claripacs-viewer')].map((v) => {
  const r = v.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height,
          image: v.querySelector('.cpv-overlay-image').textContent,
          window: v.querySelector('.cpv-overlay-window').textContent,
          drawn: v.dataset.drawnImage, tool: v.dataset.tool,
          toolbar: !v.querySelector('.cpv-toolbar').checkVisibility()};
})
"""

ARROW = {"type": "arrow", "image": 2, "points": [[10.5, 20], [64, 64.3]]}
TEXT = {"type": "text", "image": 5, "points": [[30, 40]], "text": "Liver, é & <b>"}


def _with_token(server: Server, url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}token={server.token}"


def _open(page: Page, server: Server, url: str, viewers: int) -> None:
    """Open a page URL (with the token) and wait until `viewers` are ready."""
    page.goto(_with_token(server, url))
    page.wait_for_function(READY_COUNT, arg=viewers, timeout=TIMEOUT_MS)
    _settle(page)


def _nested_split(server: Server) -> str:
    """cols 40%: image 2 | (rows 30%: image 4 in a lung window | image 6)."""
    left = case_url(server.base, server.accession, image=2)
    top = case_url(
        server.base,
        server.accession,
        image=4,
        window_level=-600,
        window_width=1500,
    )
    bottom = case_url(server.base, server.accession, image=6, zoom=2)
    right = split_url(server.base, top, bottom, type="rows", size=30)
    return split_url(server.base, left, right, type="cols", size=40)


def _views(split: SplitLink) -> list[dict[str, Any]]:
    """The views of a split's case panes, left to right and top to bottom."""
    views = []
    for pane in (split.first, split.second):
        views.extend(_views(pane) if isinstance(pane, SplitLink) else [pane.view])
    return views


def test_a_nested_split_shows_each_pane_at_its_size_with_its_view(
    server: Server, page: Page
) -> None:
    _open(page, server, _nested_split(server), viewers=3)

    left, top, bottom = page.evaluate(PANES)
    assert left["width"] == pytest.approx(0.4 * WIDTH - DIVIDER / 2, abs=2)
    assert top["x"] == pytest.approx(0.4 * WIDTH + DIVIDER / 2, abs=2)
    assert top["width"] == pytest.approx(0.6 * WIDTH - DIVIDER / 2, abs=2)
    assert bottom["width"] == top["width"]
    assert left["height"] == pytest.approx(HEIGHT, abs=2)
    assert top["height"] == pytest.approx(0.3 * HEIGHT - DIVIDER / 2, abs=2)
    assert bottom["y"] == pytest.approx(0.3 * HEIGHT + DIVIDER / 2, abs=2)
    assert bottom["height"] == pytest.approx(0.7 * HEIGHT - DIVIDER / 2, abs=2)
    assert [p["image"] for p in (left, top, bottom)] == [
        f"Image {n} / {SLICES}" for n in (2, 4, 6)
    ]
    assert [p["drawn"] for p in (left, top, bottom)] == ["1", "3", "5"]
    assert top["window"] == "W 1500  L -600"
    assert page.locator("iframe").count() == 0
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_get_url_of_a_split_after_scrolling_and_resizing_reopens_it(
    server: Server, page: Page, browser: Browser
) -> None:
    _open(page, server, _nested_split(server), viewers=3)
    bottom = page.locator(".claripacs-viewer .cpv-stage").nth(2).bounding_box()
    divider = page.locator(".cp-split-divider").first.bounding_box()
    assert bottom is not None and divider is not None

    page.mouse.move(bottom["x"] + 50, bottom["y"] + 50)
    page.mouse.wheel(0, -300)  # three images back: 6 -> 3
    page.mouse.move(divider["x"] + 3, divider["y"] + 100)
    page.mouse.down()
    page.mouse.move(0.55 * WIDTH, divider["y"] + 100, steps=5)
    page.mouse.up()
    _settle(page)
    url = page.evaluate("get_url()")
    again = _fresh_page(browser, WIDTH, HEIGHT)
    _open(again, server, url, viewers=3)

    split = parse_split_url(url)
    assert split.type == "cols"
    assert split.size == pytest.approx(55, abs=0.2)
    assert isinstance(split.second, SplitLink)
    assert (split.second.type, split.second.size) == ("rows", 30)
    views = _views(split)
    assert [v["image"] for v in views] == [2, 4, 3]
    assert views[1]["window_width"] == 1500
    assert views[2]["zoom"] == 2
    assert parse_split_url(again.evaluate("get_url()")) == split
    before, after = page.evaluate(PANES), again.evaluate(PANES)
    for key in ("image", "window", "width", "height"):
        assert [p[key] for p in after] == [p[key] for p in before], key
    assert "token" not in url
    again.context.close()


def test_read_url_line_moves_every_pane_of_a_split_without_a_reload(
    server: Server, page: Page
) -> None:
    _open(page, server, _nested_split(server), viewers=3)
    page.evaluate("window.marker = 42")
    left = case_url(server.base, server.accession, image=5, zoom=3, xpos=20, ypos=30)
    top = case_url(server.base, server.accession, image=1)
    bottom = case_url(
        server.base, server.accession, image=2, window_level=40, window_width=400
    )
    right = split_url(server.base, top, bottom, type="rows", size=60)
    url = split_url(server.base, left, right, type="cols", size=25)

    outcome = page.evaluate("(url) => read_url_line(url)", url)
    _settle(page)

    panes = page.evaluate(PANES)
    assert outcome == "moved"
    assert page.evaluate("window.marker") == 42
    assert [p["image"] for p in panes] == [f"Image {n} / {SLICES}" for n in (5, 1, 2)]
    assert panes[2]["window"] == "W 400  L 40"
    assert panes[0]["width"] == pytest.approx(0.25 * WIDTH - DIVIDER / 2, abs=2)
    assert panes[1]["height"] == pytest.approx(0.6 * HEIGHT - DIVIDER / 2, abs=2)
    views = _views(parse_split_url(page.evaluate("get_url()")))
    named = {"image": 5, "zoom": 3, "xpos": 20, "ypos": 30}
    assert {key: views[0][key] for key in named} == named
    # window and zoom not named: the file's window and "fit", as a fresh page
    assert views[1]["image"] == 1 and "zoom" not in views[1]
    assert panes[1]["window"] != "W 1500  L -600"


def test_read_url_line_of_another_layout_mounts_it_in_place(
    server: Server, page: Page
) -> None:
    _open(page, server, _nested_split(server), viewers=3)
    page.evaluate("window.marker = 42")
    pane = case_url(server.base, server.accession, image=3)
    url = split_url(server.base, pane, pane, type="rows", size=50)

    outcome = page.evaluate("(url) => read_url_line(url)", url)
    page.wait_for_function(READY_COUNT, arg=2, timeout=TIMEOUT_MS)

    assert outcome == "mounted"
    assert page.evaluate("window.marker") == 42
    assert page.locator(".claripacs-viewer").count() == 2
    split = parse_split_url(page.evaluate("get_url()"))
    assert (split.type, split.size) == ("rows", 50)
    assert [split.first.accession, split.second.accession] == [server.accession] * 2
    assert [v["image"] for v in _views(split)] == [3, 3]


def test_read_url_line_on_a_case_page_moves_its_viewer_without_a_reload(
    server: Server, page: Page
) -> None:
    _open(page, server, case_url(server.base, server.accession, image=2), 1)
    page.evaluate("window.marker = 42")
    url = case_url(
        server.base,
        server.accession,
        series=server.series,
        image=5,
        window_level=-600,
        window_width=1500,
        zoom=2,
        xpos=40,
        ypos=50,
        mode="simple",
        annotations=[ARROW],
        key=[3],
    )

    outcome = page.evaluate("(url) => read_url_line(url)", url)
    _settle(page)

    (viewer,) = page.evaluate(PANES)
    assert outcome == "moved"
    assert page.evaluate("window.marker") == 42
    assert viewer["image"] == f"Image 5 / {SLICES}"
    assert viewer["window"] == "W 1500  L -600"
    assert viewer["toolbar"] is True  # hidden: mode=simple
    assert page.evaluate("claripacs_display_mode") == "simple"
    accession, view = parse_case_url(page.evaluate("get_url()"))
    assert view == {
        "series": server.series,
        "image": 5,
        "window_level": -600,
        "window_width": 1500,
        "zoom": 2,
        "xpos": 40,
        "ypos": 50,
        "annotations": [ARROW],
        "key": [3],
    }


def test_read_url_line_on_a_case_page_goes_to_a_split_url(
    server: Server, page: Page
) -> None:
    _open(page, server, case_url(server.base, server.accession), 1)
    page.evaluate("window.marker = 42")
    pane = case_url(server.base, server.accession, image=4)
    url = split_url(server.base, pane, pane)

    with page.expect_navigation():
        page.evaluate("(url) => { read_url_line(url); }", url)
    page.wait_for_function(READY_COUNT, arg=2, timeout=TIMEOUT_MS)

    assert page.evaluate("window.marker") is None
    assert page.url == url
    assert [p["image"] for p in page.evaluate(PANES)] == [f"Image 4 / {SLICES}"] * 2


def test_read_url_line_refuses_a_url_of_no_claripacs_page(
    server: Server, page: Page
) -> None:
    _open(page, server, case_url(server.base, server.accession, image=2), 1)

    refused = page.evaluate(
        "() => read_url_line('/claripacs/api/cases').then(() => '',"
        " (error) => error.name + ': ' + error.message)"
    )

    assert refused.startswith("TypeError: read_url_line: not a case or split")
    assert page.evaluate(PANES)[0]["image"] == f"Image 2 / {SLICES}"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("null", "give a full URL or a path from /"),
        ("42", "give a full URL or a path from /"),
        ("'not a url'", "give a full URL or a path from /"),
        ("'http://other.example:1/claripacs/case/A'", "on another server"),
    ],
)
def test_read_url_line_refuses_what_is_no_link_and_stays(
    server: Server, page: Page, argument: str, message: str
) -> None:
    _open(page, server, case_url(server.base, server.accession, image=2), 1)
    page.evaluate("window.marker = 'still here'")

    refused = page.evaluate(
        f"() => read_url_line({argument}).then(() => '',"
        " (error) => error.name + ': ' + error.message)"
    )

    assert refused.startswith("TypeError: ") and message in refused
    assert page.evaluate("window.marker") == "still here"
    assert page.evaluate(PANES)[0]["image"] == f"Image 2 / {SLICES}"


def test_a_case_page_says_which_link_parameters_it_left_out(
    server: Server, page: Page
) -> None:
    url = f"{case_url(server.base, server.accession, image=3)}&zoom=0&key=foo"

    _open(page, server, url, 1)
    notice = page.get_by_role("status").filter(has_text="Left out of this link")
    text = notice.inner_text()
    notice.get_by_role("button", name="Close").click()

    assert "zoom=0 (a number above 0)" in text
    assert "key=foo (image numbers from 1" in text
    assert "image=" not in text
    assert page.evaluate(PANES)[0]["image"] == f"Image 3 / {SLICES}"
    assert notice.count() == 0


def test_a_pane_on_another_server_is_refused_in_its_pane(
    server: Server, page: Page
) -> None:
    pane = case_url(server.base, server.accession)
    foreign = f"http://other.example:1/claripacs/case/{server.accession}"

    _open(page, server, split_url(server.base, pane, foreign), 1)
    moved = page.evaluate(
        "(u) => read_url_line(u)", split_url(server.base, foreign, pane)
    )

    assert "another server" in page.locator(".cp-pane-error").inner_text()
    assert moved == "mounted"
    assert page.locator(".cp-pane-error").count() == 1


def test_change_left_mouse_and_simple_mode_act_on_every_pane(
    server: Server, page: Page
) -> None:
    _open(page, server, _nested_split(server), viewers=3)

    page.evaluate("change_left_mouse(4)")
    zoom = [p["tool"] for p in page.evaluate(PANES)]
    mode = page.evaluate("toggle_simple_mode()")
    hidden = [p["toolbar"] for p in page.evaluate(PANES)]
    refused = page.evaluate(
        "() => { try { change_left_mouse(10); return ''; }"
        " catch (error) { return error.name; } }"
    )

    assert zoom == ["zoom"] * 3
    assert mode == "simple"
    assert page.evaluate("claripacs_display_mode") == "simple"
    assert hidden == [True] * 3
    assert refused == "RangeError"


def test_link_1_on_a_split_starts_every_pane_linked(server: Server, page: Page) -> None:
    pane = case_url(server.base, server.accession, image=2)
    url = split_url(server.base, pane, pane, link=True)

    _open(page, server, url, viewers=2)

    split = parse_split_url(page.evaluate("get_url()"))
    held = page.evaluate("claripacs_viewers.map((v) => v.getState().linked)")
    assert [v.get("link") for v in _views(split)] == [True, True]
    assert held == [True, True]


def test_linked_panes_of_a_split_scroll_together_and_unlink_with_l(
    server: Server, page: Page
) -> None:
    pane = case_url(server.base, server.accession)
    _open(page, server, split_url(server.base, pane, pane, link=True), viewers=2)
    left = page.locator(".claripacs-viewer").first
    box = left.locator(".cpv-stage").bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.mouse.move(*centre)
    page.mouse.wheel(0, 300)  # three images on
    page.wait_for_function("claripacs_viewers[1].getState().image === 3")
    _settle(page)
    shown_linked = page.evaluate(PANES)
    left.focus()
    page.keyboard.press("l")  # the left pane leaves the group
    page.mouse.move(*centre)
    page.mouse.wheel(0, 100)
    page.wait_for_function("claripacs_viewers[0].getState().image === 4")
    _settle(page)
    shown_apart = page.evaluate(PANES)

    assert [p["image"] for p in shown_linked] == [f"Image 4 / {SLICES}"] * 2
    assert [p["drawn"] for p in shown_linked] == ["3", "3"]
    assert [p["image"] for p in shown_apart] == [
        f"Image 5 / {SLICES}",
        f"Image 4 / {SLICES}",
    ]
    assert page.evaluate("claripacs_viewers.map((v) => v.getState().linked)") == [
        False,
        True,
    ]


def test_mode_simple_on_a_split_hides_the_menus_of_every_pane(
    server: Server, page: Page
) -> None:
    pane = case_url(server.base, server.accession)
    nested = split_url(server.base, pane, pane)
    url = split_url(server.base, pane, nested, mode="simple")

    _open(page, server, url, viewers=3)

    assert [p["toolbar"] for p in page.evaluate(PANES)] == [True] * 3
    assert page.evaluate("claripacs_display_mode") == "simple"
    assert "mode=" not in page.evaluate("get_url()")


def test_unusable_view_values_of_a_link_are_dropped_one_by_one(
    server: Server, page: Page
) -> None:
    annotations = [
        ARROW,
        {"type": "star", "image": 1, "points": [[1, 2]]},
        {"type": "arrow", "image": 0, "points": [[1, 2], [3, 4]]},
        {"type": "length", "image": 1, "points": [[1, 2]]},
        {"type": "text", "image": 1, "points": [[1, 2]]},
    ]
    query = urlencode(
        {
            "image": "3",
            "stack": "0",
            "zoom": "-2",
            "annotations": json.dumps(annotations),
            "key": "4,x,0,2,4",
            "link": "yes",
        }
    )
    url = f"{server.base}claripacs/case/{server.accession}?{query}"

    _open(page, server, url, viewers=1)

    accession, view = parse_case_url(page.evaluate("get_url()"))
    assert view["image"] == 3
    assert view["annotations"] == [ARROW]
    assert view["key"] == [2, 4]
    assert "stack" not in view and "link" not in view and "zoom" not in view


def test_annotations_that_are_not_json_leave_the_view_without_any(
    server: Server, page: Page
) -> None:
    url = f"{server.base}claripacs/case/{server.accession}?image=2&annotations=%5Bx"

    _open(page, server, url, viewers=1)

    accession, view = parse_case_url(page.evaluate("get_url()"))
    assert view["image"] == 2
    assert "annotations" not in view
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_divider_resizes_the_panes_by_keyboard(server: Server, page: Page) -> None:
    pane = case_url(server.base, server.accession)
    _open(page, server, split_url(server.base, pane, pane, type="rows"), viewers=2)

    page.locator(".cp-split-divider").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    _settle(page)

    top, bottom = page.evaluate(PANES)
    assert parse_split_url(page.evaluate("get_url()")).size == 52
    assert top["height"] == pytest.approx(0.52 * HEIGHT - DIVIDER / 2, abs=2)
    assert bottom["y"] == pytest.approx(0.52 * HEIGHT + DIVIDER / 2, abs=2)


def test_annotations_and_key_images_of_a_link_come_back_from_get_url(
    server: Server, page: Page
) -> None:
    url = case_url(
        server.base, server.accession, image=2, annotations=[ARROW, TEXT], key=[5, 2]
    )

    _open(page, server, url, viewers=1)

    url = page.evaluate("get_url()")
    accession, view = parse_case_url(url)
    assert view["annotations"] == [ARROW, TEXT]
    assert view["key"] == [2, 5]
    # links.js and links.py write the same URL for the same view
    assert case_url(server.base, accession, **view) == url


def test_annotations_set_on_the_viewer_come_back_from_get_url(
    server: Server, page: Page
) -> None:
    _open(page, server, case_url(server.base, server.accession), viewers=1)
    state = {
        "annotations": [
            {"type": "length", "image": 0, "points": [[1.04, 2], [100.26, 3]]},
            {"type": "angle", "image": 3, "points": [[0, 0], [10, 10], [20, 0]]},
        ],
        "keyImages": [3, 0],
    }
    held = page.evaluate(
        "(state) => { const v = window.claripacs_viewer; v.setState(state);"
        " return v.getState(); }",
        state,
    )
    assert held["keyImages"] == [0, 3]

    accession, view = parse_case_url(page.evaluate("get_url()"))

    assert view["annotations"] == [
        {"type": "length", "image": 1, "points": [[1, 2], [100.3, 3]]},
        {"type": "angle", "image": 4, "points": [[0, 0], [10, 10], [20, 0]]},
    ]
    assert view["key"] == [1, 4]


PARENT = """<!doctype html>
<html><head><script src="{script}"></script></head>
<body>
<iframe id="fig1" style="height:512px; width:512px; border:none;"
        src="{src}"></iframe>
</body></html>
"""


def test_embedded_js_drives_an_iframe_from_its_parent_page(
    server: Server, page: Page
) -> None:
    # The parent page is the only part not served by Jupyter: Playwright answers
    # its URL on the server's origin, as a page of the same site would be.
    parent = f"{server.base}claripacs-test-parent.html"
    src = _with_token(server, case_url(server.base, server.accession, image=2))
    html = PARENT.format(
        script=f"{server.base}static/claripacs_jupyter/embedded.js",
        src=src.replace("&", "&amp;"),
    )
    page.route(parent, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(parent)
    frame = page.frame_locator("#fig1")
    inner = page.frames[1]
    inner.wait_for_function(READY_COUNT, arg=1, timeout=TIMEOUT_MS)
    inner.evaluate("window.marker = 42")
    fig = "document.getElementById('fig1')"

    page.evaluate(f"change_left_mouse({fig}.contentWindow, 2)")
    tool = frame.locator(".claripacs-viewer").get_attribute("data-tool")
    mode = page.evaluate(f"toggle_simple_mode({fig}.contentWindow)")
    hidden = frame.locator(".cpv-toolbar").is_hidden()
    found = page.evaluate(f"find_viewer({fig}.contentWindow).getState().image")
    target = case_url(server.base, server.accession, image=6, mode="simple")
    outcome = page.evaluate(f"(url) => {fig}.read_url_line(url)", target)
    inner.evaluate("() => new Promise((done) => requestAnimationFrame(done))")
    full = page.evaluate(
        f"{fig}.contentWindow.get_url() + ({fig}.contentWindow"
        ".claripacs_display_mode === 'simple' ? '&mode=simple' : '')"
    )

    assert tool == "pan"
    assert mode == "simple"
    assert hidden
    assert found == 1
    assert outcome == "moved"
    assert inner.evaluate("window.marker") == 42
    assert frame.locator(".cpv-overlay-image").inner_text() == f"Image 6 / {SLICES}"
    accession, view = parse_case_url(full)
    assert (accession, view["image"], view["mode"]) == (server.accession, 6, "simple")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_embedded_js_points_an_empty_iframe_at_the_url(
    server: Server, page: Page
) -> None:
    parent = f"{server.base}claripacs-test-parent.html"
    html = PARENT.format(
        script=f"{server.base}static/claripacs_jupyter/embedded.js", src="about:blank"
    )
    page.route(parent, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(parent)
    url = _with_token(server, case_url(server.base, server.accession, image=3))

    outcome = page.evaluate(
        "(url) => document.getElementById('fig1').read_url_line(url)", url
    )
    page.frames[1].wait_for_function(READY_COUNT, arg=1, timeout=TIMEOUT_MS)

    assert outcome == "loaded"
    assert page.frame_locator("#fig1").locator(".cpv-overlay-image").inner_text() == (
        f"Image 3 / {SLICES}"
    )
    assert page.evaluate("find_viewer(document.getElementById('fig1').contentWindow)")
