"""``claripacs anonymize``: files, folders and ZIPs anonymized outside a store."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.anonymize.annex_e import Op, basic_rules
from claripacs_jupyter.anonymize.confidential import anonymize_with_rules
from claripacs_jupyter.cli import main
from claripacs_jupyter.deidentify import anonymize_sources, anonymize_to, encoded
from claripacs_jupyter.errors import InvalidInputError
from claripacs_jupyter.store import open_store


def _sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path)


def _patient_bytes(name: str) -> list[bytes]:
    """The patient's name and ID as the sample file holds them."""
    ds = pydicom.dcmread(_sample(name))
    return [str(ds.PatientName).encode(), str(ds.PatientID).encode()]


def _named_like_the_patient(tmp_path: Path) -> Path:
    """A folder with CT_small.dcm under a file name that is the patient's name."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "DOE_JOHN_CHEST.dcm").write_bytes(_sample("CT_small.dcm").read_bytes())
    return folder


def test_a_folder_is_written_anonymized_under_new_names(tmp_path: Path) -> None:
    out = tmp_path / "out"

    status = main(["anonymize", str(_named_like_the_patient(tmp_path)), str(out)])
    (written,) = list(out.rglob("*.dcm"))
    data = written.read_bytes()
    ds = pydicom.dcmread(written)

    assert status == 0
    assert "DOE" not in str(written.relative_to(out))
    assert all(value not in data for value in _patient_bytes("CT_small.dcm"))
    assert ds.PatientIdentityRemoved == "YES"
    assert written.name == f"{ds.SOPInstanceUID}.dcm"


def test_a_zip_goes_in_and_a_zip_comes_out_with_skips_and_flags_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/ct.dcm", _sample("CT_small.dcm").read_bytes())
        zf.writestr("b/us.dcm", _sample("US1_J2KR.dcm").read_bytes())
        zf.writestr("c/sr.dcm", _sample("test-SR.dcm").read_bytes())
        zf.writestr("notes.txt", b"not DICOM")
    out = tmp_path / "out.zip"

    status = main(["anonymize", str(archive), str(out), "--json"])
    report = json.loads(capsys.readouterr().out)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        contents = b"".join(zf.read(name) for name in names)

    assert status == 0
    assert len(names) == 2 and all(name.endswith(".dcm") for name in names)
    assert [bool(w["review_reasons"]) for w in report["written"]] == [False, True]
    skipped = {s["source"]: s["reason"] for s in report["skipped"]}
    (sr,) = [reason for source, reason in skipped.items() if source.endswith("sr.dcm")]
    assert "structured report" in sr
    assert any(source.endswith("notes.txt") for source in skipped)
    for name in ("CT_small.dcm", "US1_J2KR.dcm"):
        assert all(value not in contents for value in _patient_bytes(name))


def test_one_key_file_gives_a_study_the_same_uids_in_two_runs(tmp_path: Path) -> None:
    key = tmp_path / "run.key"
    source = _sample("CT_small.dcm")

    main(["anonymize", str(source), str(tmp_path / "one"), "--key-file", str(key)])
    main(["anonymize", str(source), str(tmp_path / "two"), "--key-file", str(key)])
    main(["anonymize", str(source), str(tmp_path / "three")])
    uids = [
        pydicom.dcmread(next((tmp_path / run).rglob("*.dcm"))).StudyInstanceUID
        for run in ("one", "two", "three")
    ]

    assert uids[0] == uids[1] != uids[2]
    assert key.stat().st_mode & 0o777 == 0o600


def test_the_store_key_gives_the_uids_an_import_gives(tmp_path: Path) -> None:
    data = str(tmp_path / "store")
    store = open_store(data)
    store.ingest([_sample("CT_small.dcm")])
    stored_study = pydicom.dcmread(next(store.path.rglob("*.dcm"))).StudyInstanceUID
    store.close()

    main(["anonymize", str(_sample("CT_small.dcm")), str(tmp_path / "out"),
          "--store-key", "--data", data])  # fmt: skip
    written = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))

    assert written.StudyInstanceUID == stored_study


def test_nothing_usable_is_a_failure_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "note.dcm"
    text.write_text("not DICOM at all")

    status = main(["anonymize", str(text), str(tmp_path / "out")])
    printed = capsys.readouterr()

    assert status == 1
    assert printed.out.startswith("Nothing was anonymized; nothing was written.\n")
    assert "skipped" in printed.out and printed.err == ""
    assert not (tmp_path / "out").exists()


def test_an_unknown_profile_or_a_short_key_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown profile"):
        anonymize_sources([], profile="basic-ish")
    with pytest.raises(InvalidInputError, match="at least 16 bytes"):
        anonymize_sources([], key=b"short")


def test_uploaded_bytes_are_anonymized_in_memory() -> None:
    source = ("upload.dcm", _sample("MR_small.dcm").read_bytes())

    run = anonymize_sources([source])
    ds = pydicom.dcmread(io.BytesIO(run.written[0].data))

    assert run.skipped == []
    assert str(ds.PatientName) == ""
    assert all(v not in run.written[0].data for v in _patient_bytes("MR_small.dcm"))


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "US1_J2KR.dcm", "emri_small.dcm", "image_dfl.dcm"]
)
def test_the_files_written_are_what_pydicom_would_write(name: str) -> None:
    source = pydicom.dcmread(_sample(name))
    if name == "CT_small.dcm":
        source.SpecificCharacterSet = "ISO_IR 192"
        source.PatientName = "Иванов^Иван"
        source.SeriesDescription = "Иванов грудь"
    result = anonymize_teaching(
        pydicom.dcmread(io.BytesIO(_written(source))), key=bytes(32), accession="A1"
    )
    expected = io.BytesIO()
    result.dataset.save_as(expected, enforce_file_format=True)

    assert encoded(result.dataset) == expected.getvalue()


def _written(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_the_basic_profile_with_options_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = pydicom.dcmread(_sample("CT_small.dcm"))

    status = main(
        [
            "anonymize",
            str(_sample("CT_small.dcm")),
            str(out),
            "--profile",
            "basic",
            "--option",
            "retain-longitudinal-modified-dates",
            "--option",
            "retain-device-identity",
        ]
    )
    (written,) = list(out.rglob("*.dcm"))
    ds = pydicom.dcmread(written)

    assert status == 0
    assert ds.StationName == source.StationName
    assert ds.StudyDate not in ("", source.StudyDate)
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert all(
        value not in written.read_bytes() for value in _patient_bytes("CT_small.dcm")
    )


def _with_profile(tmp_path: Path, name: str, text: str) -> int:
    """`claripacs anonymize` of CT_small.dcm into tmp_path/out with the
    profile file `name` holding `text`."""
    profile = tmp_path / name
    profile.write_text(text)
    ct, out = str(_sample("CT_small.dcm")), str(tmp_path / "out")
    return main(["anonymize", ct, out, "--profile", str(profile)])


def test_a_profile_file_is_named_by_its_path(tmp_path: Path) -> None:
    status = _with_profile(
        tmp_path, "mine.toml", '[rules]\nInstitutionName = { replace = "Teaching" }\n'
    )
    (written,) = list((tmp_path / "out").rglob("*.dcm"))

    assert status == 0
    assert pydicom.dcmread(written).InstitutionName == "Teaching"


def test_a_mistake_in_a_profile_file_is_reported_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _with_profile(tmp_path, "mine.toml", '[rules]\nPatientNme = "keep"\n')

    assert status != 0
    assert (
        "mine.toml: rules.PatientNme: 'PatientNme' is not a DICOM keyword "
        "(did you mean PatientName?)" in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


def test_an_unknown_option_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "anonymize",
            str(_sample("CT_small.dcm")),
            str(tmp_path / "out"),
            "--profile",
            "basic",
            "--option",
            "retain-everything",
        ]
    )

    assert status == 2
    assert "invalid choice: 'retain-everything'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "US1_J2KR.dcm",
        "emri_small.dcm",
        "image_dfl.dcm",
    ],
)
@pytest.mark.parametrize("profile", ["teaching", "basic"])
def test_a_spliced_file_is_what_pydicom_writes_for_the_whole_dataset(
    name: str, profile: str
) -> None:
    """The header written anew and the pixel data element copied after it."""
    path = _sample(name)
    key = bytes(32)

    run = anonymize_sources([path], profile=profile, key=key)
    whole = pydicom.dcmread(path)
    if profile == "basic":
        result = anonymize_with_rules(whole, key=key, rules=basic_rules())
    else:
        accession = run.written[0].name.split("/")[0]
        result = anonymize_teaching(whole, key=key, accession=accession)
    expected = io.BytesIO()
    result.dataset.save_as(expected, enforce_file_format=True)

    assert run.written[0].data == expected.getvalue()


@pytest.mark.parametrize("out", ["in", "in/out.zip", "in/sub/out"])
def test_an_output_inside_an_input_is_refused(
    tmp_path: Path, out: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _named_like_the_patient(tmp_path)
    before = sorted(folder.rglob("*"))

    status = main(["anonymize", str(folder), str(tmp_path / out)])

    assert status == 1
    assert "the input" in capsys.readouterr().err
    assert sorted(folder.rglob("*")) == before


def test_an_archive_is_not_written_over_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ct.dcm", _sample("CT_small.dcm").read_bytes())
    before = archive.read_bytes()

    status = main(["anonymize", str(archive), str(archive)])

    assert status == 1
    assert f"the output {archive} is the input" in capsys.readouterr().err
    assert archive.read_bytes() == before


def test_one_instance_given_twice_is_written_once_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ct = _sample("CT_small.dcm")
    copy = tmp_path / "copy.dcm"
    copy.write_bytes(ct.read_bytes())
    out = tmp_path / "out.zip"

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zipfile warns of a duplicate name
        status = main(["anonymize", str(ct), str(ct), str(copy), str(out), "--json"])
    report = json.loads(capsys.readouterr().out)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()

    assert status == 0
    assert len(names) == len(report["written"]) == 1
    assert [s["reason"] for s in report["skipped"]] == [
        f"the same instance as {ct}",
        f"the same instance as {ct}",
    ]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/deeper/out.zip", "no folder"),
        ("a-file.txt", "it is a file"),
        ("a-folder.zip", "it is a folder"),
    ],
)
def test_an_output_that_cannot_be_made_is_one_error_line(
    tmp_path: Path, out: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file.txt").write_text("x")
    (tmp_path / "a-folder.zip").mkdir()

    status = main(["anonymize", str(_sample("CT_small.dcm")), str(tmp_path / out)])
    err = capsys.readouterr().err

    assert status == 1
    assert err.startswith("claripacs: error: cannot write ") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "missing").exists()


def test_a_profile_keeping_an_identifier_is_announced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _with_profile(tmp_path, "names.toml", '[rules]\nPatientName = "keep"\n')
    (written,) = list((tmp_path / "out").rglob("*.dcm"))

    assert status == 0
    assert "keeps PatientName" in capsys.readouterr().err
    assert pydicom.dcmread(written).PatientIdentityRemoved == "NO"


def _mixed_folder(tmp_path: Path) -> Path:
    """Three pydicom-data images and a text file, in a folder."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm", "US1_J2KR.dcm"):
        (folder / name).write_bytes(_sample(name).read_bytes())
    (folder / "notes.txt").write_text("not DICOM")
    return folder


def _uids(name: str) -> str:
    """A written file's name without the accession each run draws anew."""
    return name.split("/", 1)[1]


def test_writing_as_it_goes_gives_the_bytes_a_run_in_memory_gives(
    tmp_path: Path,
) -> None:
    # the basic profile, whose files do not hold the accession each run draws
    folder = _mixed_folder(tmp_path)
    same: dict[str, Any] = {"key": bytes(range(32)), "profile": "basic"}

    in_memory = anonymize_sources([folder], **same)
    to_folder = anonymize_to([folder], tmp_path / "out", **same)
    to_zip = anonymize_to([folder], tmp_path / "out.zip", **same)
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        zipped = {_uids(name): zf.read(name) for name in zf.namelist()}
    on_disk = {
        _uids(str(path.relative_to(tmp_path / "out"))): path.read_bytes()
        for path in (tmp_path / "out").rglob("*.dcm")
    }

    expected = {_uids(f.name): f.data for f in in_memory.written}
    assert len(expected) == 3
    assert on_disk == zipped == expected
    assert [f.data for f in to_folder.written + to_zip.written] == [b""] * 6
    assert [s.source for s in to_folder.skipped] == [str(folder / "notes.txt")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed", "out", "out.zip"]


def test_nothing_to_write_makes_no_folder_and_no_zip(tmp_path: Path) -> None:
    text = tmp_path / "note.dcm"
    text.write_text("not DICOM at all")

    folder_run = anonymize_to([text], tmp_path / "out")
    zip_run = anonymize_to([text], tmp_path / "out.zip")

    assert folder_run.written == zip_run.written == []
    assert [p.name for p in tmp_path.iterdir()] == ["note.dcm"]


def test_a_run_that_fails_halfway_leaves_the_old_zip_as_it_was(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    ct = pydicom.dcmread(_sample("CT_small.dcm"))
    ct.save_as(folder / "a.dcm")
    ct.SOPInstanceUID = pydicom.uid.generate_uid()
    ct.ImageComments = "second"
    ct.save_as(folder / "b.dcm")
    # a rule set broken on purpose: a replace without its value fails on
    # b.dcm, the first file with that element, after a.dcm went into the ZIP
    broken = basic_rules().with_changes(
        "broken", {0x00204000: Op.REPLACE}, values={}, private={}
    )
    (tmp_path / "old.zip").write_bytes(b"the archive of an earlier run")

    with pytest.raises(KeyError):
        anonymize_to([folder], tmp_path / "old.zip", profile=broken)

    assert (tmp_path / "old.zip").read_bytes() == b"the archive of an earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "old.zip"]


def test_options_may_come_before_out(tmp_path: Path) -> None:
    ct, mr = _sample("CT_small.dcm"), _sample("MR_small.dcm")

    status = main(
        ["anonymize", str(ct), str(mr), "--profile", "basic", str(tmp_path / "out")]
    )

    assert status == 0
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 2


def test_a_key_file_that_cannot_be_a_key_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ct, out = str(_sample("CT_small.dcm")), str(tmp_path / "out")
    short, empty = tmp_path / "short.key", tmp_path / "empty.key"
    short.write_bytes(b"12345")
    empty.touch()

    statuses = [
        main(["anonymize", ct, out, "--key-file", str(short)]),
        main(["anonymize", ct, out, "--key-file", str(tmp_path)]),
        main(["anonymize", ct, out, "--key-file", str(tmp_path / "no" / "k.key")]),
    ]
    errors = capsys.readouterr().err
    filled = main(["anonymize", ct, out, "--key-file", str(empty)])

    assert statuses == [1, 1, 1]
    assert f"--key-file {tmp_path / 'no' / 'k.key'}: no folder" in errors
    assert f"--key-file {short}: holds 5 bytes" in errors
    assert f"--key-file {tmp_path}: is a folder" in errors
    assert filled == 0 and len(empty.read_bytes()) == 32


def test_bytes_alone_are_not_taken_for_an_upload() -> None:
    with pytest.raises(TypeError, match=r"as \(name, bytes\)"):
        anonymize_sources(b"DICM")


def test_a_number_is_not_taken_for_sources() -> None:
    with pytest.raises(TypeError, match="cannot read a int as sources"):
        anonymize_sources(5)  # type: ignore[arg-type]
