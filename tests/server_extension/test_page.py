"""The standalone case page and the viewer's static files."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from .helpers import Upload, sample_bytes


@pytest.fixture
def accession(upload: Upload, jp_asyncio_loop: Any) -> str:
    response = jp_asyncio_loop.run_until_complete(
        upload([("CT_small.dcm", sample_bytes("CT_small.dcm"))])
    )
    return json.loads(response.body)["accessions"][0]  # type: ignore[no-any-return]


def _attribute(page: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match.group(1))


async def test_page_mounts_the_viewer_on_the_case(
    jp_fetch: Any, jp_base_url: str, accession: str
) -> None:
    response = await jp_fetch("claripacs", "case", accession)

    page = response.body.decode()
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'id="claripacs-viewer"' in page
    assert _attribute(page, "data-accession") == accession
    assert _attribute(page, "data-api") == f"{jp_base_url}claripacs/api/"
    assert _attribute(page, "data-xsrf")
    assert "import { mountPage } from" in page
    assert f"{jp_base_url}static/claripacs_jupyter/page.js" in page
    assert f"<title>{accession}" in page


async def test_page_escapes_the_description(
    jp_fetch: Any, store: Any, accession: str
) -> None:
    store.update_case(accession, description='<script>alert("x")</script> & more')

    response = await jp_fetch("claripacs", "case", accession)

    page = response.body.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(" in page
    assert "&amp; more" in page


async def test_unknown_case_is_a_404_page(jp_fetch: Any) -> None:
    response = await jp_fetch("claripacs", "case", "NOPE<script>", raise_error=False)

    page = response.body.decode()
    assert response.code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "No case" in page
    assert "NOPE&lt;script&gt;" in page
    assert "NOPE<script>" not in page


async def test_page_js_is_served_from_the_extension_static_path(
    jp_fetch: Any,
) -> None:
    response = await jp_fetch("static", "claripacs_jupyter", "page.js")

    assert "export function mountPage" in response.body.decode()
    assert "javascript" in response.headers["Content-Type"]


async def test_viewer_module_that_page_js_imports_is_served(jp_fetch: Any) -> None:
    page_js = await jp_fetch("static", "claripacs_jupyter", "page.js")
    imports = re.findall(r'from "\./([\w.-]+)"', page_js.body.decode())

    responses = [
        await jp_fetch("static", "claripacs_jupyter", name) for name in imports
    ]

    assert imports
    assert all(r.code == 200 for r in responses)
