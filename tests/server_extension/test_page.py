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


async def test_page_offers_the_case_zip_and_hides_its_bar_in_simple_mode(
    jp_fetch: Any, jp_base_url: str, accession: str
) -> None:
    full = (await jp_fetch("claripacs", "case", accession)).body.decode()
    simple = await jp_fetch("claripacs", "case", accession, params={"mode": "simple"})

    assert f'href="{jp_base_url}claripacs/api/cases/{accession}/zip"' in full
    assert 'class="cp-case-bar"' in full
    assert 'class="cp-case-bar"' not in simple.body.decode()


async def test_page_warns_while_a_case_waits_for_pixel_review(
    jp_fetch: Any, upload: Upload
) -> None:
    response = await upload([("US1_J2KR.dcm", sample_bytes("US1_J2KR.dcm"))])
    flagged = json.loads(response.body)["accessions"][0]
    response = await upload([("CT_small.dcm", sample_bytes("CT_small.dcm"))])
    clean = json.loads(response.body)["accessions"][0]

    flagged_page = (await jp_fetch("claripacs", "case", flagged)).body.decode()
    clean_page = (await jp_fetch("claripacs", "case", clean)).body.decode()

    assert 'class="cp-review" role="alert"' in flagged_page
    assert "ultrasound" in flagged_page.lower()
    assert 'class="cp-review"' not in clean_page


async def test_the_warning_lists_each_series_awaiting_review_with_its_reasons(
    jp_fetch: Any, upload: Upload, store: Any
) -> None:
    response = await upload([("US1_J2KR.dcm", sample_bytes("US1_J2KR.dcm"))])
    flagged = json.loads(response.body)["accessions"][0]
    (review,) = store.reviews(flagged)
    (series,) = store.case(flagged).series

    page = (await jp_fetch("claripacs", "case", flagged)).body.decode()

    item = re.search(r"<li data-series=.*?</li>", page, re.DOTALL)
    assert item
    text = html.unescape(item.group(0))
    assert f'data-series="{review.series_uid}"' in text
    assert f">{series.number}: {series.description or series.modality}<" in text
    assert all(reason in text for reason in review.reasons)


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


async def test_the_warning_goes_once_every_flagged_series_is_cleared(
    jp_fetch: Any, upload: Upload, store: Any
) -> None:
    response = await upload([("US1_J2KR.dcm", sample_bytes("US1_J2KR.dcm"))])
    flagged = json.loads(response.body)["accessions"][0]
    for item in store.reviews(flagged):
        store.mark_reviewed(flagged, item.series_uid, by="Dr Ana Teacher")

    page = (await jp_fetch("claripacs", "case", flagged)).body.decode()

    assert 'class="cp-review"' not in page
