"""The case page's review banner: mark a series reviewed, or mask it by drawing.

Each test uploads the three-frame ultrasound cine of test_page_masking.py
(held for review, as every ultrasound is) to test_page_links.py's Jupyter
server, opens its case page in Chromium and works the banner with the mouse
and the keyboard; the server's answers are checked through the REST API.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pydicom
import pytest
from playwright.sync_api import Page
from pydicom.uid import generate_uid

from claripacs_jupyter.links import case_url
from tests.browser import test_page_links
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_page_links import Server, _settle
from tests.browser.test_page_masking import COLOUR_AT, _api
from tests.server_extension.helpers import multipart
from tests.store.test_masking import FRAMES, ultrasound_cine

server = test_page_links.server

pytestmark = pytest.mark.browser

# Bright burned-in text on every frame of the cine (see test_page_masking.py),
# and a point of the picture far from it.
TEXT = (57, 26)
PICTURE = (320, 240)

# Where image point (x, y) (image pixels from the top left edge) is on the page.
PAGE_POINT = """
([x, y]) => {
  const v = window.claripacs_viewer;
  const p = v.toCanvas(y - 0.5, x - 0.5);
  const r = v.element.querySelector("canvas").getBoundingClientRect();
  return [r.left + p.x, r.top + p.y];
}
"""


def _flagged_case(server: Server, folder: Path) -> tuple[str, str]:
    """Upload the cine as a study of its own; its accession and flagged series."""
    ds = pydicom.dcmread(ultrasound_cine(folder))
    # the same cine again would be a duplicate, or join the case stored before
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    data = io.BytesIO()
    ds.save_as(data)
    body, kind = multipart([("cine.dcm", data.getvalue())])
    (stored,) = _api(server, "POST", "upload", body, kind)["outcomes"]
    accession = stored["accession"]
    detail = _api(server, "GET", f"cases/{accession}", b"", "application/json")
    return accession, detail["series"][0]["uid"]


def _reviews(server: Server, accession: str) -> list[dict[str, Any]]:
    answer = _api(server, "GET", f"cases/{accession}/reviews", b"", "application/json")
    return list(answer["reviews"])


def _refusal(server: Server, method: str, path: str, body: bytes) -> str:
    """The message of the 4xx JSON error the server answers a request with."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        _api(server, method, path, body, "application/json")
    return str(json.loads(refused.value.read())["message"])


def _open(page: Page, server: Server, accession: str) -> None:
    page.goto(f"{case_url(server.base, accession)}?token={server.token}")
    _wait_ready(page)


def _wait_ready(page: Page) -> None:
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.state === 'ready'",
        timeout=TIMEOUT_MS,
    )
    _settle(page)


def _drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag with the left button from image point `start` to image point `end`."""
    mouse = page.mouse
    mouse.move(*page.evaluate(PAGE_POINT, list(start)))
    mouse.down()
    mouse.move(*page.evaluate(PAGE_POINT, list(end)), steps=8)
    mouse.up()


def _image(page: Page) -> int:
    return int(page.evaluate("window.claripacs_viewer.getState().image"))


def test_a_rectangle_drawn_and_applied_masks_every_frame_and_ends_the_review(
    server: Server, page: Page, tmp_path: Path
) -> None:
    accession, series = _flagged_case(server, tmp_path)
    _open(page, server, accession)
    before = [page.evaluate(COLOUR_AT, [k, *TEXT]) for k in range(FRAMES)]
    page.evaluate("window.claripacs_viewer.setState({image: 0})")
    item = page.locator(f'.cp-review li[data-series="{series}"]')

    item.get_by_role("button", name="Mask…").click()
    page.locator(".cp-mask-overlay").wait_for()
    # from the black margin left of the image (clipped to its edge) to the
    # middle of pixel (300, 38)
    _drag(page, (-20, 2.5), (300.5, 38.5))
    listed = item.locator(".cp-mask-size").all_inner_texts()
    outline = page.locator(".cp-mask-overlay rect").count()
    image_while_drawing = _image(page)
    with page.expect_navigation():
        item.get_by_role("button", name="Apply mask").click()
    _wait_ready(page)
    inside = [page.evaluate(COLOUR_AT, [k, *TEXT]) for k in range(FRAMES)]
    corners = [page.evaluate(COLOUR_AT, [k, 0, 2]) for k in range(FRAMES)]
    corners += [page.evaluate(COLOUR_AT, [k, 300, 38]) for k in range(FRAMES)]
    outside = [page.evaluate(COLOUR_AT, [k, *PICTURE]) for k in range(FRAMES)]
    (review,) = _reviews(server, accession)

    assert all(sum(colour) > 200 for colour in before)
    assert listed == ["x 0, y 2: 301 × 37 pixels"]
    assert outline == 1
    assert image_while_drawing == 0  # the drag drew; it did not scroll
    assert inside == [[0, 0, 0]] * FRAMES
    assert corners == [[0, 0, 0]] * (2 * FRAMES)
    assert all(sum(colour) > 0 for colour in outside)
    assert page.locator(".cp-review").count() == 0
    assert review["status"] == "masked"
    assert review["cleared_by"]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_mark_reviewed_clears_the_series_and_the_banner_goes(
    server: Server, page: Page, tmp_path: Path
) -> None:
    accession, series = _flagged_case(server, tmp_path)
    _open(page, server, accession)
    banner_before = page.locator(".cp-review").inner_text()

    page.get_by_role("button", name="Mark reviewed").click()
    page.locator(".cp-review").wait_for(state="detached")
    (review,) = _reviews(server, accession)
    _open(page, server, accession)

    assert "Not yet reviewed" in banner_before
    assert review["series_uid"] == series
    assert review["status"] == "reviewed"
    assert page.locator(".cp-review").count() == 0
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_refusal_of_the_server_is_shown_in_the_banner(
    server: Server, page: Page, tmp_path: Path
) -> None:
    accession, series = _flagged_case(server, tmp_path)
    _open(page, server, accession)
    page.get_by_role("button", name="Mask…").click()
    page.locator(".cp-mask-overlay").wait_for()
    _drag(page, (10.5, 10.5), (100.5, 30.5))
    # a colleague deletes the case meanwhile: the server refuses the mask
    request = urllib.request.Request(
        f"{server.base}claripacs/api/cases/{accession}",
        method="DELETE",
        headers={"Authorization": f"token {server.token}"},
    )
    urllib.request.urlopen(request, timeout=60).close()
    mask = json.dumps({"rects": [[10, 10, 91, 21]]}).encode()
    message = _refusal(server, "POST", f"cases/{accession}/series/{series}/mask", mask)

    page.get_by_role("button", name="Apply mask").click()
    error = page.locator(".cp-review-error")
    error.wait_for()

    assert error.inner_text() == f"Mask not applied: {message}"
    assert page.locator(".cp-mask-overlay rect").count() == 1  # still drawing
    assert page.get_by_role("button", name="Apply mask").is_enabled()


def test_escape_leaves_the_mask_mode_and_masks_nothing(
    server: Server, page: Page, tmp_path: Path
) -> None:
    accession, _ = _flagged_case(server, tmp_path)
    _open(page, server, accession)
    page.get_by_role("button", name="Mask…").click()
    page.locator(".cp-mask-overlay").wait_for()
    _drag(page, (10.5, 10.5), (100.5, 30.5))

    page.keyboard.press("Escape")
    (review,) = _reviews(server, accession)

    assert page.locator(".cp-mask-overlay").count() == 0
    assert page.locator(".cp-mask-panel").count() == 0
    assert page.get_by_role("button", name="Mask…").is_enabled()
    assert page.locator(".cp-review").count() == 1
    assert review["status"] == "pending"
