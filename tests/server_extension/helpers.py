"""Helpers of the server tests: sample files and multipart bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file
from tornado.httpclient import HTTPResponse
from urllib3.filepost import encode_multipart_formdata

Upload = Callable[..., Awaitable[HTTPResponse]]


def sample_bytes(name: str) -> bytes:
    """The bytes of one pydicom-data file."""
    path = get_testdata_file(name)
    assert path is not None, f"pydicom-data has no {name}"
    return Path(path).read_bytes()


def multipart(
    files: list[tuple[str, bytes]], folder: str | None = None
) -> tuple[bytes, str]:
    """Encode files (as fields named ``files``) and a folder as multipart/form-data."""
    fields: list[tuple[str, Any]] = [
        ("files", (name, data, "application/octet-stream")) for name, data in files
    ]
    if folder is not None:
        fields.append(("folder", folder))
    return encode_multipart_formdata(fields)
