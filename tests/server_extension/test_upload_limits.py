"""The server's own upload limits: body size (413) and number of files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .helpers import Upload, sample_bytes

LIMIT = 64 * 1024


@pytest.fixture
def claripacs_config() -> dict[str, Any]:
    return {"max_upload_bytes": LIMIT, "max_upload_files": 2}


async def test_body_over_the_limit_is_413_and_nothing_is_stored(
    upload: Upload, store: Any
) -> None:
    data = sample_bytes("emri_small.dcm")
    assert len(data) > LIMIT

    response = await upload([("emri_small.dcm", data)])

    assert response.code == 413
    body = json.loads(response.body)
    assert str(LIMIT) in body["message"]
    assert store.cases() == []


async def test_body_under_the_limit_is_stored(upload: Upload, store: Any) -> None:
    data = sample_bytes("CT_small.dcm")
    assert len(data) < LIMIT

    response = await upload([("CT_small.dcm", data)])

    assert response.code == 200
    assert len(store.cases()) == 1


async def test_more_files_than_allowed_is_400(upload: Upload, store: Any) -> None:
    small = sample_bytes("MR_small.dcm")

    response = await upload([(f"mr{i}.dcm", small) for i in range(3)])

    assert response.code == 400
    assert "at most 2" in json.loads(response.body)["message"]
    assert store.cases() == []
