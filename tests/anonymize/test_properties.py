"""Property: a patient's identifiers planted anywhere never reach the bytes written.

Hypothesis plants one identifier (it is also the Patient ID, so the file
itself says it identifies the patient) in standard and private elements of
random VRs, at the top level and inside sequences nested up to three deep,
kept by the teaching profile or not, on a real CT file; the anonymized file
written to bytes must not contain it, in any case. The same holds for the
PS3.15 Basic profile, which keeps what it does not name.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO

import pydicom
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement

from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.anonymize.annex_e import basic_rules
from claripacs_jupyter.anonymize.confidential import anonymize_with_rules
from tests.anonymize.conftest import ACCESSION, KEY

# Standard elements a technologist or a device writes text into: some the
# teaching profile drops, some it keeps (descriptions, code meanings).
STANDARD_TEXT = [
    ("PatientName", "PN"),
    ("OtherPatientNames", "PN"),
    ("InstitutionName", "LO"),
    ("StationName", "SH"),
    ("StudyComments", "LT"),
    ("ImageComments", "LT"),
    ("AdditionalPatientHistory", "LT"),
    ("ProtocolName", "LO"),
    ("PerformedProcedureStepDescription", "LO"),
    ("DeviceSerialNumber", "LO"),
    ("RequestedProcedureDescription", "LO"),
    ("StudyDescription", "LO"),
    ("SeriesDescription", "LO"),
    ("CodeMeaning", "LO"),
    ("WindowCenterWidthExplanation", "LO"),
    ("LUTExplanation", "LO"),
    ("DimensionDescriptionLabel", "LO"),
    ("TextValue", "UT"),
]

# Sequences to nest in: kept by the profile (their items are cleaned by it)
# or dropped whole.
SEQUENCES = [
    "ReferencedImageSequence",
    "PurposeOfReferenceCodeSequence",
    "VOILUTSequence",
    "DimensionIndexSequence",
    "AnatomicRegionSequence",
    "SharedFunctionalGroupsSequence",
    "RequestAttributesSequence",
    "ProcedureCodeSequence",
    "ContentSequence",
]

PRIVATE_VRS = ["LO", "SH", "UT", "LT", "OB", "UN"]

# The identifier: letters and digits, long enough not to occur by chance in
# the rest of the file (the pixel data included).
identifiers = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=10, max_size=14
)


@st.composite
def plantings(draw: st.DrawFn) -> list[tuple[list[str], str, str, str]]:
    """Places to plant: (sequence path, keyword or "private", VR, how written)."""
    count = draw(st.integers(min_value=1, max_value=6))
    out = []
    for _ in range(count):
        path = draw(st.lists(st.sampled_from(SEQUENCES), max_size=3))
        if draw(st.booleans()):
            keyword, vr = draw(st.sampled_from(STANDARD_TEXT))
        else:
            keyword, vr = "private", draw(st.sampled_from(PRIVATE_VRS))
        forms = ["alone", "in words", "lower case", "name"]
        if vr == "SH":  # 16 characters at most
            forms = ["alone", "lower case"]
        form = draw(st.sampled_from(forms))
        out.append((path, keyword, vr, form))
    return out


@cache
def _ct_bytes() -> bytes:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    with open(path, "rb") as f:
        return f.read()


def _written(identifier: str, form: str) -> str:
    if form == "in words":
        return f"CT CHEST {identifier} FOLLOW UP"
    if form == "lower case":
        return identifier.lower()
    if form == "name":
        return f"{identifier}^JOHN"
    return identifier


def _plant(
    ds: Dataset, path: list[str], keyword: str, vr: str, value: str, block: int
) -> None:
    holder = ds
    for name in path:
        item = Dataset()
        setattr(holder, name, [item])
        holder = item
    if keyword != "private":
        holder.add_new(pydicom.datadict.tag_for_keyword(keyword), vr, value)
        return
    group = 0x0009 + 2 * (block % 8)
    holder.add_new((group, 0x0010), "LO", "PLANTED CREATOR")
    data = value.encode() if vr in ("OB", "UN") else value
    holder[(group, 0x1000 + block)] = DataElement((group, 0x1000 + block), vr, data)


# Kept free text, always tried besides what hypothesis draws.
KEPT_TEXT = [
    (["ReferencedImageSequence", "PurposeOfReferenceCodeSequence"], "CodeMeaning"),
    ([], "WindowCenterWidthExplanation"),
    (["VOILUTSequence"], "LUTExplanation"),
    (["DimensionIndexSequence"], "DimensionDescriptionLabel"),
    ([], "SeriesDescription"),
]


@example(
    identifier="KEPTTEXT2345",
    places=[(path, keyword, "LO", "in words") for path, keyword in KEPT_TEXT],
)
@example(
    identifier="PRIVATE23456",
    places=[(["ContentSequence"] * 3, "private", vr, "alone") for vr in PRIVATE_VRS],
)
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(identifier=identifiers, places=plantings())
def test_a_planted_identifier_never_reaches_the_written_file(
    identifier: str, places: list[tuple[list[str], str, str, str]]
) -> None:
    ds = pydicom.dcmread(BytesIO(_ct_bytes()))
    ds.PatientID = identifier
    for block, (path, keyword, vr, form) in enumerate(places):
        _plant(ds, path, keyword, vr, _written(identifier, form), block)
    source = BytesIO()
    ds.save_as(source, enforce_file_format=True)
    assert identifier.encode() in source.getvalue()

    result = anonymize_teaching(
        pydicom.dcmread(BytesIO(source.getvalue())), key=KEY, accession=ACCESSION
    )
    written = BytesIO()
    result.dataset.save_as(written, enforce_file_format=True)

    assert identifier.encode() not in written.getvalue().upper()


# The Basic profile without options, and with the one option that keeps
# descriptions (cleaned); the other options keep attributes as they are, by
# design, so an identifier planted there would be kept.
BASIC_RULES = [basic_rules(), basic_rules(frozenset({"clean-descriptors"}))]


@example(
    identifier="KEPTTEXT2345",
    places=[(path, keyword, "LO", "in words") for path, keyword in KEPT_TEXT],
    clean=True,
)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(identifier=identifiers, places=plantings(), clean=st.booleans())
def test_the_basic_profile_lets_no_planted_identifier_through(
    identifier: str, places: list[tuple[list[str], str, str, str]], clean: bool
) -> None:
    ds = pydicom.dcmread(BytesIO(_ct_bytes()))
    ds.PatientID = identifier
    for block, (path, keyword, vr, form) in enumerate(places):
        _plant(ds, path, keyword, vr, _written(identifier, form), block)
    source = BytesIO()
    ds.save_as(source, enforce_file_format=True)

    result = anonymize_with_rules(
        pydicom.dcmread(BytesIO(source.getvalue())),
        key=KEY,
        rules=BASIC_RULES[clean],
    )
    written = BytesIO()
    result.dataset.save_as(written, enforce_file_format=True)

    assert identifier.encode() not in written.getvalue().upper()
