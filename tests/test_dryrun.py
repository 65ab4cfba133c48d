"""The dry run: every element's action and value after, values before redacted."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset
from pydicom.data import get_testdata_file

from claripacs_jupyter.deidentify import anonymize_sources
from claripacs_jupyter.dryrun import ELEMENT_COLUMNS, dry_run


def _sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path)


@pytest.fixture
def ct_with_reference(tmp_path: Path) -> Path:
    """CT_small.dcm with a Referenced Image Sequence, in a folder of its own."""
    ds = pydicom.dcmread(_sample("CT_small.dcm"))
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = "1.2.3.4.5"
    ds.ReferencedImageSequence = [item]
    folder = tmp_path / "in"
    folder.mkdir()
    ds.save_as(folder / "ct.dcm", enforce_file_format=True)
    return folder


def _row(run: object, path: str) -> dict[str, str]:
    elements = run.elements  # type: ignore[attr-defined]
    (row,) = elements[elements["path"] == path].to_dict("records")
    return row  # type: ignore[no-any-return]


def test_each_element_has_its_action_and_value_after(ct_with_reference: Path) -> None:
    source = pydicom.dcmread(ct_with_reference / "ct.dcm")

    run = dry_run([ct_with_reference])

    assert list(run.elements.columns) == ELEMENT_COLUMNS
    assert _row(run, "PatientName")["action"] == "empty"
    assert _row(run, "PatientName")["after"] == "(empty)"
    assert _row(run, "StudyInstanceUID")["action"] == "replace"
    assert _row(run, "StudyInstanceUID")["after"] != source.StudyInstanceUID
    assert _row(run, "(0009,0010)")["action"] == "remove"
    assert _row(run, "PatientIdentityRemoved") | {"source": ""} == {
        "source": "",
        "path": "PatientIdentityRemoved",
        "tag": "(0012,0062)",
        "keyword": "PatientIdentityRemoved",
        "vr": "CS",
        "action": "add",
        "before": "",
        "after": "YES",
    }
    assert _row(run, "PixelData")["action"] == "keep"
    assert _row(run, "PixelData")["after"] == "(32768 bytes)"
    nested = _row(run, "ReferencedImageSequence[0] > ReferencedSOPInstanceUID")
    assert nested["action"] == "replace" and nested["after"] != "1.2.3.4.5"
    assert run.flags.empty and run.skipped.empty


def test_values_before_are_redacted_everywhere_in_the_table(
    ct_with_reference: Path,
) -> None:
    source = pydicom.dcmread(ct_with_reference / "ct.dcm")
    secrets = [str(source.PatientName), str(source.PatientID), "1.2.3.4.5"]

    run = dry_run([ct_with_reference])
    table = run.elements.to_csv()

    assert _row(run, "PatientName")["before"].startswith("(redacted, ")
    assert all(secret not in table for secret in secrets)


def test_flags_and_refusals_come_in_their_own_tables() -> None:
    run = dry_run([_sample("US1_J2KR.dcm"), _sample("test-SR.dcm")])

    assert run.flags["reason"].str.contains("ultrasound").any()
    assert run.skipped["reason"].str.contains("structured report").all()
    assert set(run.summary().columns) <= {"add", "empty", "keep", "remove", "replace"}


def test_nothing_is_written(ct_with_reference: Path, tmp_path: Path) -> None:
    before = sorted(os.walk(tmp_path))

    dry_run([ct_with_reference])

    assert sorted(os.walk(tmp_path)) == before


def test_the_basic_profile_and_its_options_can_be_tried(
    ct_with_reference: Path,
) -> None:
    source = pydicom.dcmread(ct_with_reference / "ct.dcm")

    plain = dry_run([ct_with_reference], profile="basic")
    kept = dry_run(
        [ct_with_reference], profile="basic", options=["retain-institution-identity"]
    )

    assert _row(plain, "InstitutionName")["action"] == "replace"
    assert _row(plain, "InstitutionName")["after"] == "ANONYMIZED"
    assert _row(kept, "InstitutionName")["action"] == "keep"
    assert _row(kept, "InstitutionName")["after"] == source.InstitutionName
    assert _row(plain, "Manufacturer")["action"] == "keep"
    assert _row(plain, "DeidentificationMethodCodeSequence")["action"] == "add"


def test_one_path_and_one_option_may_be_given_bare(ct_with_reference: Path) -> None:
    listed = dry_run(
        [ct_with_reference], profile="basic", options=["retain-institution-identity"]
    )

    bare = dry_run(
        ct_with_reference, profile="basic", options="retain-institution-identity"
    )

    assert _row(bare, "InstitutionName") == _row(listed, "InstitutionName")
    assert len(bare.elements) == len(listed.elements)


def test_the_dry_run_keeps_the_safe_private_values_a_real_run_keeps(
    tmp_path: Path,
) -> None:
    ct = pydicom.dcmread(_sample("CT_small.dcm"))
    ct[0x0019, 0x1027].value = ["2.5", "3.5"]  # GEMS_ACQU_01 rotation speed
    ct.save_as(tmp_path / "ct.dcm")
    chosen = {"profile": "basic", "options": ["retain-safe-private"]}

    run = dry_run([tmp_path / "ct.dcm"], **chosen)
    (written,) = anonymize_sources([tmp_path / "ct.dcm"], **chosen).written
    kept = pydicom.dcmread(io.BytesIO(written.data))[0x0019, 0x1027].value

    assert _row(run, "(0019,1027)")["action"] == "keep"
    assert [str(v) for v in kept] == ["2.5", "3.5"]
