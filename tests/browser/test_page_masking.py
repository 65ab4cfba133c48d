"""A masked ultrasound cine shows the mask on every frame of the case page's viewer.

The cine (three RGB frames made from pydicom-data's US1_UNCR.dcm) is uploaded
to test_page_links.py's Jupyter server through the REST API, held for review
as every ultrasound is, masked through the API, and then opened in Chromium;
the canvas is read inside and outside the mask on each frame.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from claripacs_jupyter.links import case_url
from tests.browser import test_page_links
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_page_links import Server, _settle
from tests.server_extension.helpers import multipart
from tests.store.test_masking import FRAMES, ultrasound_cine

server = test_page_links.server

pytestmark = pytest.mark.browser

# The grey at image point (x, y) of frame k, once the viewer has drawn it.
COLOUR_AT = """
async ([k, x, y]) => {
  const v = window.claripacs_viewer;
  v.setState({image: k});
  await new Promise((done) => {
    const check = () => v.element.dataset.drawnImage === String(k)
      ? requestAnimationFrame(() => requestAnimationFrame(done))
      : requestAnimationFrame(check);
    check();
  });
  const canvas = v.element.querySelector('canvas');
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  const p = v.toCanvas(y, x);
  const d = canvas.getContext('2d')
    .getImageData(Math.floor(p.x * scale), Math.floor(p.y * scale), 1, 1).data;
  return [d[0], d[1], d[2]];
}
"""


def _api(server: Server, method: str, path: str, body: bytes, kind: str) -> Any:
    request = urllib.request.Request(
        f"{server.base}claripacs/api/{path}",
        data=body,
        method=method,
        headers={"Authorization": f"token {server.token}", "Content-Type": kind},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def test_a_masked_ultrasound_cine_shows_the_mask_on_every_frame(
    server: Server, page: Page, tmp_path: Path
) -> None:
    cine = ultrasound_cine(tmp_path).read_bytes()
    body, kind = multipart([("cine.dcm", cine)])
    (stored,) = _api(server, "POST", "upload", body, kind)["outcomes"]
    accession = stored["accession"]
    detail = _api(server, "GET", f"cases/{accession}", b"", "application/json")
    series = detail["series"][0]["uid"]
    rects = json.dumps({"rects": [[0, 0, 640, 40]]}).encode()
    masked = _api(
        server, "POST", f"cases/{accession}/series/{series}/mask", rects,
        "application/json",
    )  # fmt: skip

    page.goto(f"{case_url(server.base, accession)}?token={server.token}")
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.state === 'ready'",
        timeout=TIMEOUT_MS,
    )
    _settle(page)
    # (57, 26) is bright text on every frame of the cine before masking
    inside = [page.evaluate(COLOUR_AT, [k, 57, 26]) for k in range(FRAMES)]
    outside = [page.evaluate(COLOUR_AT, [k, 320, 240]) for k in range(FRAMES)]
    overlay = page.locator(".cpv-overlay-image").inner_text()

    assert masked == {"masked": 1}
    assert overlay == f"Image {FRAMES} / {FRAMES}"
    assert inside == [[0, 0, 0]] * FRAMES
    assert all(sum(colour) > 0 for colour in outside)
    assert page.locator(".cp-review").count() == 0
