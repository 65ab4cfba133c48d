"""``POST anonymize``: a file anonymized and sent back, nothing stored."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pydicom
import pytest

from .helpers import sample_bytes
from .test_handlers import API


async def _post(jp_fetch: Any, body: bytes, **params: str) -> Any:
    return await jp_fetch(
        *API, "anonymize", method="POST", body=body, params=params, raise_error=False
    )


def _zip(members: dict[str, bytes]) -> bytes:
    """A ZIP archive of `members`, by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def test_a_file_comes_back_anonymized_and_nothing_is_stored(
    jp_fetch: Any, store: Any
) -> None:
    original = sample_bytes("CT_small.dcm")
    source = pydicom.dcmread(io.BytesIO(original))

    response = await _post(jp_fetch, original)
    ds = pydicom.dcmread(io.BytesIO(response.body))

    assert response.code == 200
    assert response.headers["Content-Type"] == "application/dicom"
    assert json.loads(response.headers["X-Claripacs-Review"]) == []
    assert str(source.PatientID).encode() not in response.body
    assert ds.StudyInstanceUID != source.StudyInstanceUID
    assert ds.PatientIdentityRemoved == "YES"
    assert store.cases() == []


async def test_a_zip_comes_back_as_a_zip_with_the_review_reasons(
    jp_fetch: Any, store: Any
) -> None:
    response = await _post(
        jp_fetch,
        _zip(
            {
                "ct.dcm": sample_bytes("CT_small.dcm"),
                "us.dcm": sample_bytes("US1_J2KR.dcm"),
            }
        ),
    )
    with zipfile.ZipFile(io.BytesIO(response.body)) as zf:
        names = zf.namelist()

    assert response.code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert len(names) == 2
    assert any(
        "ultrasound" in r for r in json.loads(response.headers["X-Claripacs-Review"])
    )
    assert store.cases() == []


@pytest.mark.parametrize(
    ("body", "params", "message"),
    [
        (b"", {}, "request body"),
        (b"not DICOM at all", {}, "not a DICOM file"),
        (None, {"profile": "nonsense"}, "unknown profile"),
    ],
)
async def test_bad_input_is_a_400_that_says_why(
    jp_fetch: Any, body: bytes | None, params: dict[str, str], message: str
) -> None:
    response = await _post(
        jp_fetch, sample_bytes("CT_small.dcm") if body is None else body, **params
    )

    assert response.code == 400
    assert message in json.loads(response.body)["message"]


async def test_the_basic_profile_and_its_options_are_named_in_the_query(
    jp_fetch: Any, store: Any
) -> None:
    original = sample_bytes("CT_small.dcm")
    source = pydicom.dcmread(io.BytesIO(original))

    response = await jp_fetch(
        *API,
        "anonymize",
        method="POST",
        body=original,
        params=[
            ("profile", "basic"),
            ("option", "retain-uids"),
            ("option", "retain-longitudinal-full-dates"),
        ],
    )
    ds = pydicom.dcmread(io.BytesIO(response.body))

    assert ds.StudyInstanceUID == source.StudyInstanceUID
    assert ds.StudyDate == source.StudyDate
    assert ds.PatientName == ""
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == [
        "113100",
        "113106",
        "113110",
    ]
    assert store.cases() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("profile", "basic"), ("option", "retain-all")], "unknown option"),
        ([("profile", "teaching"), ("option", "retain-uids")], "takes no options"),
        ([("profile", "/etc/passwd.toml")], "not a profile name"),
        ([("profile", "../profiles/x")], "not a profile name"),
        ([("profile", "basic"), ("profile", "teaching")], "one profile"),
        ([("profile", "basic")] + [("option", "retain-uids")] * 2, "given twice"),
    ],
)
async def test_a_bad_profile_or_option_is_a_400(
    jp_fetch: Any, params: list[tuple[str, str]], message: str
) -> None:
    response = await jp_fetch(
        *API,
        "anonymize",
        method="POST",
        body=sample_bytes("CT_small.dcm"),
        params=params,
        raise_error=False,
    )

    assert response.code == 400
    assert message in json.loads(response.body)["message"]


async def test_a_zip_with_one_good_member_is_a_zip_that_counts_the_skipped(
    jp_fetch: Any, store: Any
) -> None:
    response = await _post(
        jp_fetch,
        _zip(
            {
                "ct.dcm": sample_bytes("CT_small.dcm"),
                "sr.dcm": sample_bytes("test-SR.dcm"),
                "notes.txt": b"not DICOM",
            }
        ),
    )
    with zipfile.ZipFile(io.BytesIO(response.body)) as zf:
        names = zf.namelist()
    skipped = json.loads(response.headers["X-Claripacs-Skipped"])
    reasons = {s["source"].rsplit("!", 1)[-1]: s["reason"] for s in skipped["files"]}

    assert response.code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert len(names) == 1
    assert skipped["count"] == 2 and set(reasons) == {"sr.dcm", "notes.txt"}
    assert "structured report" in reasons["sr.dcm"]
    assert store.cases() == []


async def test_a_single_file_says_nothing_was_skipped(jp_fetch: Any) -> None:
    response = await _post(jp_fetch, sample_bytes("MR_small.dcm"))

    assert json.loads(response.headers["X-Claripacs-Skipped"]) == {
        "count": 0,
        "files": [],
    }


async def test_long_member_names_keep_the_skipped_header_small(jp_fetch: Any) -> None:
    members = {f"{n:02d}{'x' * 5000}.txt": b"not DICOM" for n in range(30)}

    response = await _post(
        jp_fetch, _zip({"ct.dcm": sample_bytes("CT_small.dcm"), **members})
    )
    header = response.headers["X-Claripacs-Skipped"]

    assert response.code == 200
    assert len(header) < 10_000
    assert json.loads(header)["count"] == 30


async def test_a_profile_that_keeps_identity_says_so_in_a_header(
    jp_fetch: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLARIPACS_PROFILES", str(tmp_path))
    (tmp_path / "leaky.toml").write_text('[rules]\nPatientName = "keep"\n')

    kept = await _post(jp_fetch, sample_bytes("CT_small.dcm"), profile="leaky")
    plain = await _post(jp_fetch, sample_bytes("CT_small.dcm"), profile="basic")

    assert kept.code == plain.code == 200
    assert kept.headers["X-Claripacs-Identity-Kept"] == "PatientName"
    assert "X-Claripacs-Identity-Kept" not in plain.headers


async def test_nothing_to_anonymize_gives_every_reason(jp_fetch: Any) -> None:
    response = await _post(
        jp_fetch,
        _zip(
            {
                "sr.dcm": sample_bytes("test-SR.dcm"),
                "notes.txt": b"not DICOM",
            }
        ),
    )
    message = json.loads(response.body)["message"]

    assert response.code == 400
    assert "structured report" in message and "not a DICOM file" in message
