"""Every endpoint needs a login; cookie-authenticated writes need the XSRF token."""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPResponse

from claripacs_jupyter.server_extension.handlers import (
    HANDLERS,
    CasePageHandler,
    SplitPageHandler,
)

from .helpers import Upload, multipart, sample_bytes


@pytest.fixture
def case(upload: Upload, jp_asyncio_loop: Any) -> dict[str, str]:
    """CT_small.dcm uploaded with the token."""
    response = jp_asyncio_loop.run_until_complete(
        upload([("CT_small.dcm", sample_bytes("CT_small.dcm"))])
    )
    (outcome,) = json.loads(response.body)["outcomes"]
    return {"accession": outcome["accession"], "sop": outcome["sop_uid"]}


@pytest.fixture
def anonymous(http_server_client: Any, jp_base_url: str) -> Any:
    """Fetch a path under the base URL with no token (only the headers given)."""

    def _fetch(path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("raise_error", False)
        kwargs.setdefault("follow_redirects", False)
        return http_server_client.fetch(url_path_join(jp_base_url, path), **kwargs)

    return _fetch


def _cookies(response: HTTPResponse) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def _endpoints(case: dict[str, str]) -> list[tuple[str, str]]:
    acc, sop = case["accession"], case["sop"]
    instance = f"claripacs/api/cases/{acc}/instances/{sop}"
    return [
        ("GET", "claripacs/api/cases"),
        ("GET", "claripacs/api/folders"),
        ("GET", f"claripacs/api/cases/{acc}"),
        ("PATCH", f"claripacs/api/cases/{acc}"),
        ("DELETE", f"claripacs/api/cases/{acc}"),
        ("GET", f"claripacs/api/cases/{acc}/reviews"),
        ("POST", f"claripacs/api/cases/{acc}/reviews/1.2.3"),
        ("POST", f"claripacs/api/cases/{acc}/series/1.2.3/mask"),
        ("GET", "claripacs/api/reviews"),
        ("POST", "claripacs/api/anonymize"),
        ("GET", f"claripacs/api/cases/{acc}/zip"),
        ("GET", f"{instance}/dicom"),
        ("GET", f"{instance}/frames/0.png"),
        ("GET", f"{instance}/frames/0/raw"),
        ("POST", "claripacs/api/upload"),
    ]


def test_every_api_route_is_in_the_endpoint_list() -> None:
    paths = [path for _, path in _endpoints({"accession": "A1", "sop": "1.2"})]

    api_routes = [
        pattern
        for pattern, handler in HANDLERS
        if handler not in (CasePageHandler, SplitPageHandler)
    ]

    for pattern in api_routes:
        assert any(re.fullmatch(pattern, path) for path in paths), pattern


class TestWithoutLogin:
    async def test_api_refuses_every_endpoint_and_sends_no_data(
        self, anonymous: Any, store: Any, case: dict[str, str]
    ) -> None:
        body, content_type = multipart([("ct.dcm", sample_bytes("CT_small.dcm"))])

        for method, path in _endpoints(case):
            extra = {"body": body} if method in ("POST", "PATCH") else {}
            headers = {"Content-Type": content_type} if method == "POST" else {}
            response = await anonymous(path, method=method, headers=headers, **extra)

            assert response.code == 403, (method, path, response.code)
            assert json.loads(response.body)["message"], (method, path)
            assert not response.body.startswith((b"\x89PNG", b"PK"))

        assert [c.accession for c in store.cases()] == [case["accession"]]

    async def test_wrong_token_is_refused(
        self, anonymous: Any, case: dict[str, str]
    ) -> None:
        response = await anonymous(
            f"claripacs/api/cases/{case['accession']}",
            headers={"Authorization": "token not-the-token"},
        )

        assert response.code == 403

    async def test_case_page_redirects_to_the_login_page(
        self, anonymous: Any, case: dict[str, str]
    ) -> None:
        response = await anonymous(f"claripacs/case/{case['accession']}")

        assert response.code == 302
        assert "/login" in response.headers["Location"]
        assert case["accession"] not in response.body.decode()

    async def test_split_page_redirects_to_the_login_page(
        self, anonymous: Any, case: dict[str, str]
    ) -> None:
        pane = f"/claripacs/case/{case['accession']}"
        query = urlencode({"url1": pane, "url2": pane})

        response = await anonymous(f"claripacs/split?{query}")

        assert response.code == 302
        assert "/login" in response.headers["Location"]


class TestXsrf:
    @pytest.fixture
    def browser_session(
        self,
        anonymous: Any,
        jp_auth_header: dict[str, str],
        case: dict[str, str],
        jp_asyncio_loop: Any,
    ) -> dict[str, str]:
        """Cookies a browser holds after opening the case page once with the token."""
        response = jp_asyncio_loop.run_until_complete(
            anonymous(f"claripacs/case/{case['accession']}", headers=jp_auth_header)
        )
        assert response.code == 200
        cookies = _cookies(response)
        assert "_xsrf" in cookies
        return cookies

    @staticmethod
    def cookie_header(cookies: dict[str, str]) -> str:
        return "; ".join(f"{name}={value}" for name, value in cookies.items())

    async def test_cookie_alone_reads(
        self, anonymous: Any, browser_session: dict[str, str]
    ) -> None:
        response = await anonymous(
            "claripacs/api/cases",
            headers={"Cookie": self.cookie_header(browser_session)},
        )

        assert response.code == 200
        assert len(json.loads(response.body)["cases"]) == 1

    async def test_cookie_upload_without_xsrf_is_refused(
        self, anonymous: Any, store: Any, browser_session: dict[str, str]
    ) -> None:
        body, content_type = multipart([("mr.dcm", sample_bytes("MR_small.dcm"))])
        headers = {
            "Cookie": self.cookie_header(browser_session),
            "Content-Type": content_type,
        }

        response = await anonymous(
            "claripacs/api/upload", method="POST", body=body, headers=headers
        )

        assert response.code == 403
        assert "xsrf" in json.loads(response.body)["message"].lower()
        assert len(store.cases()) == 1

    async def test_cookie_upload_with_xsrf_header_is_stored(
        self, anonymous: Any, store: Any, browser_session: dict[str, str]
    ) -> None:
        body, content_type = multipart([("mr.dcm", sample_bytes("MR_small.dcm"))])
        headers = {
            "Cookie": self.cookie_header(browser_session),
            "Content-Type": content_type,
            "X-XSRFToken": browser_session["_xsrf"],
        }

        response = await anonymous(
            "claripacs/api/upload", method="POST", body=body, headers=headers
        )

        assert response.code == 200
        assert len(store.cases()) == 2

    async def test_cookie_delete_without_xsrf_is_refused(
        self,
        anonymous: Any,
        store: Any,
        case: dict[str, str],
        browser_session: dict[str, str],
    ) -> None:
        path = f"claripacs/api/cases/{case['accession']}"
        cookie = {"Cookie": self.cookie_header(browser_session)}

        refused = await anonymous(path, method="DELETE", headers=cookie)
        accepted = await anonymous(
            path,
            method="DELETE",
            headers={**cookie, "X-XSRFToken": browser_session["_xsrf"]},
        )

        assert refused.code == 403
        assert accepted.code == 204
        assert store.cases() == []
