"""A real Jupyter server with the extension on a store in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse
from traitlets.config import Config

from .helpers import Upload, multipart


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """The folder of the server's case store."""
    return tmp_path / "store"


@pytest.fixture
def claripacs_config() -> dict[str, Any]:
    """Extra ``ClaripacsApp`` settings; override in a module to change limits."""
    return {}


@pytest.fixture
def jp_server_config(store_dir: Path, claripacs_config: dict[str, Any]) -> Config:
    """The server under test: our extension, and no unauthenticated access at all."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {
                    "claripacs_jupyter": True,
                    "jupyter_server_terminals": False,
                },
                "allow_unauthenticated_access": False,
            },
            "ClaripacsApp": {"data_dir": str(store_dir), **claripacs_config},
        }
    )


@pytest.fixture
def store(jp_serverapp: Any) -> Any:
    """The store the running extension opened."""
    return jp_serverapp.web_app.settings["claripacs_store"]


@pytest.fixture
def upload(jp_fetch: Any) -> Upload:
    """POST files (a list of ``(name, bytes)``) to the upload endpoint."""

    async def _upload(
        files: list[tuple[str, bytes]], folder: str | None = None, **kwargs: Any
    ) -> HTTPResponse:
        body, content_type = multipart(files, folder)
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return await jp_fetch(
            "claripacs",
            "api",
            "upload",
            method="POST",
            body=body,
            headers=headers,
            raise_error=False,
            **kwargs,
        )

    return _upload
