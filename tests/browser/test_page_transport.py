"""The case page's frames over HTTP, seen from Chromium's network layer.

Frames are immutable and served with a long-lived `Cache-Control` and an ETag,
so a second visit to a case takes every frame from the browser's cache and
asks the server for none of them. Chromium's DevTools protocol tells where
each response came from. The Jupyter server is test_page_links.py's.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from claripacs_jupyter.links import case_url
from tests.browser import test_page_links
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_page_links import SLICES, Server

server = test_page_links.server

pytestmark = pytest.mark.browser

ALL_LOADED = """
() => {
  const v = document.querySelector('.claripacs-viewer');
  return v?.dataset.state === 'ready' && v.dataset.loaded === v.dataset.total;
}
"""


def _visit(context: BrowserContext, url: str) -> tuple[Page, list[dict[str, Any]]]:
    """Open `url` in a new tab of `context` and record its frame responses.

    Each record is {url, status, cached}: `cached` is true when Chromium took
    the response from its memory or disk cache without asking the server.
    """
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    records: dict[str, dict[str, Any]] = {}

    def on_response(event: dict[str, Any]) -> None:
        response = event["response"]
        if "/frames/" in response["url"]:
            records[event["requestId"]] = {
                "url": response["url"],
                "status": response["status"],
                "cached": bool(
                    response.get("fromDiskCache") or response.get("fromMemoryCache")
                ),
            }

    def on_cache(event: dict[str, Any]) -> None:
        if event["requestId"] in records:
            records[event["requestId"]]["cached"] = True

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.requestServedFromCache", on_cache)
    page.goto(url)
    page.wait_for_function(ALL_LOADED, timeout=TIMEOUT_MS)
    return page, list(records.values())


def test_a_second_visit_takes_every_frame_from_the_browser_cache(
    server: Server, browser: Browser
) -> None:
    url = f"{case_url(server.base, server.accession)}?token={server.token}"
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    context.set_default_timeout(TIMEOUT_MS)

    first, first_frames = _visit(context, url)
    first.close()
    again, again_frames = _visit(context, url)
    shown = again.locator(".cpv-overlay-image").text_content()
    context.close()

    assert len(first_frames) == SLICES
    assert [f["cached"] for f in first_frames] == [False] * SLICES
    assert all(f["status"] == 200 for f in first_frames)
    assert len(again_frames) == SLICES
    assert [f["cached"] for f in again_frames] == [True] * SLICES
    assert {f["url"] for f in again_frames} == {f["url"] for f in first_frames}
    assert shown == f"Image 1 / {SLICES}"


def test_the_case_page_holds_the_case_detail_and_asks_only_for_frames(
    server: Server, page: Page
) -> None:
    api = f"{server.base}claripacs/api/"
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    page.goto(f"{case_url(server.base, server.accession)}?token={server.token}")
    page.wait_for_function(ALL_LOADED, timeout=TIMEOUT_MS)

    api_requests = [url.removeprefix(api) for url in asked if url.startswith(api)]
    assert len(api_requests) == SLICES
    assert all(url.endswith("/raw") for url in api_requests)
