"""The split-screen page: two panes of case or split URLs, or a 400 page."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from claripacs_jupyter.links import case_url, split_url

from .helpers import Upload, sample_bytes


@pytest.fixture
def accession(upload: Upload, jp_asyncio_loop: Any) -> str:
    response = jp_asyncio_loop.run_until_complete(
        upload([("CT_small.dcm", sample_bytes("CT_small.dcm"))])
    )
    return json.loads(response.body)["accessions"][0]  # type: ignore[no-any-return]


def _query(url: str) -> dict[str, str]:
    """The split URL's parameters, for jp_fetch's params."""
    return dict(parse_qsl(urlsplit(url).query))


async def test_split_page_mounts_the_split_of_its_panes(
    jp_fetch: Any, jp_base_url: str, accession: str
) -> None:
    pane = case_url(jp_base_url, accession, image=2)
    nested = split_url(jp_base_url, pane, pane, type="rows", size=30)
    url = split_url(jp_base_url, pane, nested, size=40)

    response = await jp_fetch("claripacs", "split", params=_query(url))

    page = response.body.decode()
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'id="claripacs-split"' in page
    assert f'data-api="{jp_base_url}claripacs/api/"' in page
    assert "import { mountSplit } from" in page
    assert f"{jp_base_url}static/claripacs_jupyter/page.js" in page
    assert "3 panes" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"type": "grid"}, "cols or rows"),
        ({"size": "0"}, "above 0 and below 100"),
        ({"size": "wide"}, "size must be a number"),
        ({"size": "nan"}, "finite"),
        ({"url2": ""}, "needs url2"),
        ({"url1": "/claripacs/api/cases/A"}, "not a case page URL"),
        ({"url1": "claripacs/case/A"}, "a path from /"),
        ({"url1": "/claripacs/split?url1=%2Fnowhere&url2=x"}, "not a case page URL"),
        ({"mode": "full"}, "only be 'simple'"),
        ({"link": "yes"}, "link can only be 1"),
    ],
)
async def test_a_bad_split_is_a_400_page_that_says_why(
    jp_fetch: Any, accession: str, params: dict[str, str], message: str
) -> None:
    pane = f"/claripacs/case/{accession}"
    query = {"type": "cols", "size": "50", "url1": pane, "url2": pane, **params}

    response = await jp_fetch("claripacs", "split", params=query, raise_error=False)

    page = html.unescape(response.body.decode())
    assert response.code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Bad split-screen link" in page
    assert message in page


async def test_a_pane_opens_without_the_view_parameters_it_cannot_use(
    jp_fetch: Any, accession: str
) -> None:
    # as the case page does: a link that opens alone opens in a split too
    bad = f"/claripacs/case/{accession}?image=0&zoom=abc&annotations=%7Bbad"
    query = {"url1": bad, "url2": f"/claripacs/case/{accession}"}

    response = await jp_fetch("claripacs", "split", params=query)

    assert response.code == 200
    assert 'id="claripacs-split"' in response.body.decode()


async def test_a_split_nested_too_deep_is_a_400_page(
    jp_fetch: Any, jp_base_url: str, accession: str
) -> None:
    pane = case_url(jp_base_url, accession)
    url = pane
    for _ in range(6):
        url = split_url(jp_base_url, url, pane)

    response = await jp_fetch(
        "claripacs", "split", params={"url1": url, "url2": pane}, raise_error=False
    )

    assert response.code == 400
    assert "6 deep at most" in response.body.decode()


async def test_a_split_of_a_missing_case_is_a_404_page(
    jp_fetch: Any, accession: str
) -> None:
    query = {"url1": f"/claripacs/case/{accession}", "url2": "/claripacs/case/NO<pe"}

    response = await jp_fetch("claripacs", "split", params=query, raise_error=False)

    page = response.body.decode()
    assert response.code == 404
    assert "No case" in page
    assert "NO&lt;pe" in page
    assert "NO<pe" not in page


async def test_the_400_page_escapes_what_the_link_said(jp_fetch: Any) -> None:
    query = {"url1": "/claripacs/case/A", "url2": "<script>x</script>"}

    response = await jp_fetch("claripacs", "split", params=query, raise_error=False)

    assert response.code == 400
    assert "<script>x</script>" not in response.body.decode()
    assert re.search(r"&lt;script&gt;|&#39;&lt;script", response.body.decode())


async def test_layout_js_that_page_js_imports_is_served(jp_fetch: Any) -> None:
    response = await jp_fetch("static", "claripacs_jupyter", "layout.js")

    assert "export function buildSplit" in response.body.decode()


async def test_embedded_js_is_served_for_parent_pages(jp_fetch: Any) -> None:
    response = await jp_fetch("static", "claripacs_jupyter", "embedded.js")

    script = response.body.decode()
    assert "globalThis.change_left_mouse" in script
    assert "HTMLIFrameElement.prototype.read_url_line" in script
    assert "javascript" in response.headers["Content-Type"]
