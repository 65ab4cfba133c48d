"""User profiles in TOML files: what they change, and the mistakes they report."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pydicom import Dataset

from claripacs_jupyter.anonymize.annex_e import Op, RuleSet
from claripacs_jupyter.anonymize.confidential import anonymize_with_rules
from claripacs_jupyter.anonymize.user_profiles import (
    PROFILES_ENV,
    load_profile,
    profile_names,
    resolve_profile,
)
from claripacs_jupyter.errors import InvalidInputError
from tests.anonymize.conftest import KEY, from_bytes, real_file, to_bytes

RESEARCH = """
description = "Keeps sex and age; hashes the patient ID"
options = ["retain-patient-characteristics"]

[rules]
PatientID = "hash"
"(0008,0080)" = { replace = "Teaching Hospital" }
StudyDate = "shift"
Manufacturer = "remove"
PatientName = "empty"
StudyDescription = "clean"
DeviceSerialNumber = "keep"

[[private]]
creator = "GEMS_ACQU_01"
group = "0019"
element = "02"
vr = "SL"
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _apply(rules: RuleSet, ds: Dataset) -> Dataset:
    result = anonymize_with_rules(from_bytes(to_bytes(ds)), key=KEY, rules=rules)
    buffer = BytesIO()
    result.dataset.save_as(buffer, enforce_file_format=True)
    return from_bytes(buffer.getvalue())


def test_a_profile_file_changes_what_it_names(tmp_path: Path) -> None:
    rules = load_profile(_write(tmp_path, "research.toml", RESEARCH))
    ct = real_file("CT_small.dcm")
    ct.StudyDescription = f"CT CHEST {ct.PatientID}"
    ct.DeviceSerialNumber = "SN-1234"

    out = _apply(rules, ct)
    again = _apply(rules, ct)

    assert rules.name == "research"
    assert out.PatientID != ct.PatientID and len(out.PatientID) == 64
    assert out.PatientID == again.PatientID  # keyed, so stable
    assert out.InstitutionName == "Teaching Hospital"
    assert out.StudyDate != ct.StudyDate and len(out.StudyDate) == 8
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    assert "Manufacturer" not in out
    assert out.StudyDescription == "CT CHEST"
    assert out.DeviceSerialNumber == "SN-1234"
    assert out.PatientWeight == ct.PatientWeight  # from the option
    assert out[0x0019, 0x1002].value == ct[0x0019, 0x1002].value
    assert out[0x0019, 0x0010].value == "GEMS_ACQU_01"
    assert (0x0019, 0x1003) not in out
    assert out.DeidentificationMethod[0] == "ClariPACS research profile"
    # the option named, and those whose actions the rules take: dates
    # shifted, a device serial kept, a private element kept, a description
    # cleaned
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == [
        "113100",
        "113107",
        "113108",
        "113109",
        "113111",
        "113105",
    ]


def test_a_profile_that_keeps_an_identifier_does_not_claim_identity_removed(
    tmp_path: Path,
) -> None:
    keeps_name = load_profile(
        _write(tmp_path, "names.toml", '[rules]\nPatientName = "keep"')
    )
    ct = real_file("CT_small.dcm")

    out = _apply(keeps_name, ct)

    assert keeps_name.identity_kept == ("PatientName",)
    assert out.PatientName == ct.PatientName
    assert out.PatientIdentityRemoved == "NO"
    assert list(out.DeidentificationMethod) == [
        "ClariPACS names profile",
        "keeps PatientName",
    ]
    assert "DeidentificationMethodCodeSequence" not in out


def test_keeping_what_an_option_keeps_still_removes_identity(tmp_path: Path) -> None:
    text = '[rules]\nStudyDate = "keep"\nDeviceSerialNumber = "keep"'
    like_options = load_profile(_write(tmp_path, "dates.toml", text))

    out = _apply(like_options, real_file("CT_small.dcm"))

    assert like_options.identity_kept == ()
    assert out.PatientIdentityRemoved == "YES"
    # full dates and device identity, as the options that keep them record
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == [
        "113100",
        "113106",
        "113109",
    ]
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_a_named_profile_is_found_in_the_profiles_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    _write(tmp_path, "research.toml", RESEARCH)
    _write(tmp_path, "bad name!.toml", RESEARCH)

    found = resolve_profile("research", ["retain-uids"])

    assert isinstance(found, RuleSet) and found.name == "research"
    assert found.ops[0x0020000D] is Op.RETAIN  # the option given with the name
    (tmp_path / "folder.toml").mkdir()  # not a profile, though named like one
    assert profile_names() == ["teaching", "basic", "research"]


def test_a_server_cannot_name_a_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "research.toml", RESEARCH)

    assert isinstance(resolve_profile(str(path)), RuleSet)
    with pytest.raises(InvalidInputError, match="not a profile name"):
        resolve_profile(str(path), allow_paths=False)


def test_built_in_profiles_and_their_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))

    assert resolve_profile("teaching") == "teaching"
    assert isinstance(resolve_profile("basic", ["clean-descriptors"]), RuleSet)
    with pytest.raises(InvalidInputError, match="takes no options"):
        resolve_profile("teaching", ["retain-uids"])
    with pytest.raises(InvalidInputError, match="unknown option"):
        resolve_profile("basic", ["retain-all"])
    with pytest.raises(InvalidInputError, match="unknown profile 'nope'.*teaching"):
        resolve_profile("nope")
    with pytest.raises(InvalidInputError, match="retain-uids is given twice"):
        resolve_profile("basic", ["retain-uids", "retain-uids"])
    with pytest.raises(InvalidInputError, match="an option is empty"):
        resolve_profile("basic", [""])
    with pytest.raises(TypeError, match="named by a string"):
        resolve_profile(None)  # type: ignore[arg-type]


def test_a_missing_profile_file_is_not_called_a_bad_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    (tmp_path / "folder.toml").mkdir()

    with pytest.raises(InvalidInputError, match="nosuch.toml: not found"):
        resolve_profile(str(tmp_path / "nosuch.toml"))
    with pytest.raises(InvalidInputError, match="folder.toml: a folder"):
        resolve_profile(str(tmp_path / "folder.toml"))
    with pytest.raises(InvalidInputError, match="unknown profile 'folder'"):
        resolve_profile("folder")


def test_a_server_is_not_told_where_profiles_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))

    with pytest.raises(InvalidInputError) as refused:
        resolve_profile("nope", allow_paths=False)

    assert str(tmp_path) not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules\n", "not valid TOML"),
        ('colour = "red"', "unknown entry colour"),
        ('name = "a b"', "name must be"),
        ('options = "retain-uids"', "options must be a list"),
        ('options = ["retain-all"]', "unknown option retain-all"),
        ('[rules]\nPatintName = "keep"', "not a DICOM keyword.*PatientName"),
        ('[rules]\npatientid = "keep"', "did you mean PatientID\\?"),
        ('options = ["retain-uids", "retain-uids"]', "option retain-uids is given"),
        ('options = [""]', "an option is empty"),
        (
            '[rules]\nPatientName = "keep"\n"(0010,0010)" = "empty"',
            "rules.\\(0010,0010\\): that attribute has a rule already",
        ),
        ('[rules]\nStudyInstanceUID = "empty"', "every file needs this UID"),
        ('[rules]\nSOPClassUID = "remove"', "it can only be kept"),
        ('[rules]\nSOPClassUID = "uid"', "it can only be kept"),
        ('[rules]\nSpecificCharacterSet = "keep"', "the character set is written"),
        ('[rules]\n"(FFFE,E000)" = "keep"', "marks sequence items"),
        ('[rules]\nInstitutionName = { replace = "A\\u0000B" }', "control character"),
        ('[rules]\nPatientName = { replace = "a\\\\b" }', "backslash would split"),
        ('[rules]\nOverlayData = "keep"', "overlays \\(60xx\\) are removed whole"),
        ('[rules]\n"(6000,3000)" = "keep"', "overlays \\(60xx\\) are removed whole"),
        (
            "[[private]]\ncreator = 'X'\ngroup = 'FFFF'\nelement = '01'\nvr = 'LO'",
            "and FFFF cannot hold",
        ),
        ('[rules]\nPixelData = "remove"', "the pixel data and the attributes"),
        ('[rules]\nRows = "remove"', "the pixel data and the attributes"),
        ('[rules]\nDeidentificationMethod = "remove"', "to record what it did"),
        ('[rules]\nPatientIdentityRemoved = "keep"', "to record what it did"),
        ('[rules]\nRescaleSlope = { replace = "100" }', "the pixel data and"),
        ('[rules]\nLossyImageCompression = "remove"', "the pixel data and"),
        ('[rules]\nSeriesNumber = "clean"', "clean works on text.*this is IS"),
        ('[rules]\n"" = "keep"', "a rule needs a keyword or a tag"),
        (
            "[[private]]\ncreator = 'X'\ngroup = '0001'\nelement = '01'\nvr = 'LO'",
            "groups 0001 to 0007",
        ),
        (
            "[[private]]\ncreator = 'X'\ngroup = 19\nelement = '01'\nvr = 'LO'",
            "as hex strings",
        ),
        ('[rules]\n"(0009,1001)" = "keep"', "private tag.*\\[\\[private\\]\\]"),
        ('[rules]\n"(0002,0010)" = "keep"', "file meta"),
        ('[rules]\nPatientName = "scramble"', "must be one of keep, remove"),
        ('[rules]\nRows = "hash"', "US value cannot be hashed"),
        ('[rules]\nPatientName = "shift"', "only dates and times"),
        ('[rules]\nPatientName = "uid"', "only UIDs"),
        ('[rules]\nStudyDate = { replace = "yesterday" }', "StudyDate"),
        ('[rules]\nRows = { replace = "12" }', "US value cannot be replaced"),
        ('[rules]\nPatientName = { swap = "x" }', "replace ="),
        ("[[private]]\ncreator = 'X'", "give creator, group, element and vr"),
        (
            "[[private]]\ncreator = 'X'\ngroup = '0010'\nelement = '01'\nvr = 'LO'",
            "group must be odd",
        ),
        (
            "[[private]]\ncreator = 'X'\ngroup = '0009'\nelement = 'zz'\nvr = 'LO'",
            "hex",
        ),
        (
            "[[private]]\ncreator = 'X'\ngroup = '0009'\nelement = '01'\nvr = 'SQ'",
            "not a VR that can be kept",
        ),
    ],
)
def test_a_mistake_in_a_profile_file_is_named(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, "mine.toml", text)

    with pytest.raises(InvalidInputError, match=f"mine.toml: .*{message}"):
        load_profile(path)


def test_an_unreadable_profile_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_bytes(b"\xff\xfe not text")

    with pytest.raises(InvalidInputError, match="mine.toml: cannot be read"):
        load_profile(path)


@pytest.mark.parametrize("charset", ["ISO_IR 100", "ISO_IR 192"])
def test_a_hashed_name_is_one_keyed_value_not_one_per_letter(
    tmp_path: Path, charset: str
) -> None:
    hashes = load_profile(_write(tmp_path, "h.toml", '[rules]\nPatientName = "hash"'))
    ct = real_file("CT_small.dcm")
    ct.SpecificCharacterSet = charset  # a name pydicom decodes, not our ASCII path
    other = real_file("CT_small.dcm")
    other.SpecificCharacterSet = charset
    other.PatientName = "Other^Person"

    out, again, different = (_apply(hashes, ds) for ds in (ct, ct, other))

    assert len(str(out.PatientName)) == 64
    assert out[0x0010, 0x0010].VM == 1
    assert str(ct.PatientName) not in str(out.PatientName)
    assert out.PatientName == again.PatientName != different.PatientName


def test_a_byte_order_mark_is_not_a_mistake(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[rules]\nPatientID = "hash"\n')

    assert load_profile(path).ops[0x00100020] is Op.HASH
