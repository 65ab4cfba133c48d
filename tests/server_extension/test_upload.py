"""Bad uploads: each bad file gets its own reason, good files beside it are stored."""

from __future__ import annotations

import functools
import getpass
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest

from .helpers import Upload, sample_bytes

API = ("claripacs", "api", "upload")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.cache
def _zip_bomb(expanded_bytes: int) -> bytes:
    """A small ZIP of one member of zeros that expands to `expanded_bytes`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.dcm", "w", force_zip64=True) as member:
            block = bytes(1024**2)
            for _ in range(expanded_bytes // len(block)):
                member.write(block)
    return buffer.getvalue()


def _huge_header() -> bytes:
    """CT_small.dcm with a header that claims 65535 x 65535 pixels."""
    ds = pydicom.dcmread(io.BytesIO(sample_bytes("CT_small.dcm")))
    ds.Rows = 65535
    ds.Columns = 65535
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


#: Each bad file and a word its reason must hold.
REASON_WORDS = {
    "notes.dcm": "not a DICOM file",
    "MR_truncated.dcm": "truncated",
    "meta_missing_tsyntax.dcm": "DICOM",
    "escape.zip": "unsafe path",
    "empty.zip": "empty",
    "bomb.zip": "ZIP bomb",
    "huge.dcm": "65535 x 65535",
}


def _bad_files(tmp_path: Path) -> dict[str, bytes]:
    escape_name = f"../../{tmp_path.name}-escaped.dcm"
    return {
        "notes.dcm": b"These are my notes, not a DICOM file.\n" * 20,
        "MR_truncated.dcm": sample_bytes("MR_truncated.dcm"),
        "meta_missing_tsyntax.dcm": sample_bytes("meta_missing_tsyntax.dcm"),
        "escape.zip": _zip({escape_name: sample_bytes("MR_small.dcm")}),
        "empty.zip": _zip({}),
        "bomb.zip": _zip_bomb(64 * 1024**2),
        "huge.dcm": _huge_header(),
    }


def _outcomes_by_source(body: bytes) -> dict[str, list[dict[str, Any]]]:
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for outcome in json.loads(body)["outcomes"]:
        source = outcome["source"]
        top = next(
            (
                name
                for name in ("escape.zip", "empty.zip", "bomb.zip")
                if name in source
            ),
            source,
        )
        outcomes.setdefault(top, []).append(outcome)
    return outcomes


async def test_bad_files_are_skipped_with_reasons_and_the_good_one_stored(
    upload: Upload, store: Any, tmp_path: Path
) -> None:
    bad = _bad_files(tmp_path)
    files = [("CT_small.dcm", sample_bytes("CT_small.dcm")), *bad.items()]

    response = await upload(files, folder="Mixed")

    assert response.code == 200
    outcomes = _outcomes_by_source(response.body)
    assert [o["status"] for o in outcomes["CT_small.dcm"]] == ["stored"]
    for name in bad:
        assert outcomes[name], f"no outcome for {name}"
        for outcome in outcomes[name]:
            assert outcome["status"] == "skipped", outcome
            assert REASON_WORDS[name] in outcome["reason"], outcome
    (case,) = store.cases()
    assert case.folder == "Mixed"
    assert not list(tmp_path.parent.glob(f"{tmp_path.name}-escaped*"))


@pytest.mark.parametrize("name", sorted(REASON_WORDS))
async def test_upload_of_only_a_bad_file_is_400_with_its_outcome(
    upload: Upload, store: Any, tmp_path: Path, name: str
) -> None:
    data = _bad_files(tmp_path)[name]

    response = await upload([(name, data)])

    assert response.code == 400
    body = json.loads(response.body)
    assert body["message"]
    assert body["stored"] == 0
    assert body["outcomes"]
    for outcome in body["outcomes"]:
        assert outcome["status"] == "skipped"
        assert REASON_WORDS[name] in outcome["reason"]
    assert store.cases() == []


async def test_body_that_is_not_multipart_is_415(jp_fetch: Any, store: Any) -> None:
    response = await jp_fetch(
        *API,
        method="POST",
        body=sample_bytes("CT_small.dcm"),
        headers={"Content-Type": "application/dicom"},
        raise_error=False,
    )

    assert response.code == 415
    assert "multipart/form-data" in json.loads(response.body)["message"]
    assert store.cases() == []


async def test_multipart_without_files_is_400(upload: Upload) -> None:
    response = await upload([], folder="Empty")

    assert response.code == 400
    assert "files" in json.loads(response.body)["message"]


async def test_malformed_multipart_is_400(jp_fetch: Any) -> None:
    response = await jp_fetch(
        *API,
        method="POST",
        body=b"--xyz\r\nContent-Disposition: form-data; name=files\r\n\r\nno end",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        raise_error=False,
    )

    assert response.code == 400
    assert json.loads(response.body)["reason"] == "InvalidInputError"


async def test_folder_that_is_not_utf8_is_400(jp_fetch: Any, store: Any) -> None:
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="folder"\r\n\r\n'
        ).encode()
        + b"\xff\xfe\r\n"
        + (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="files"; filename="ct.dcm"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + sample_bytes("CT_small.dcm")
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = await jp_fetch(
        *API,
        method="POST",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        raise_error=False,
    )

    assert response.code == 400
    assert "UTF-8" in json.loads(response.body)["message"]
    assert store.cases() == []


async def test_cases_of_an_upload_belong_to_the_server_account(
    upload: Upload, store: Any
) -> None:
    response = await upload([("CT_small.dcm", sample_bytes("CT_small.dcm"))])

    assert response.code == 200
    (case,) = store.cases()
    assert case.owner == getpass.getuser()
