"""Tests for the Patient Age rule: over 80 blanked, malformed removed."""

from __future__ import annotations

from fractions import Fraction

import pytest

from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.anonymize.age import age_in_years, teaching_age

from .conftest import ACCESSION, KEY, anonymized_bytes, from_bytes, real_file, to_bytes


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ("045Y", "045Y"),
        ("080Y", "080Y"),  # exactly 80 is not over 80
        ("081Y", ""),
        ("099Y", ""),
        ("960M", "960M"),  # 80 years exactly
        ("961M", ""),  # 80 years and a month
        ("999M", ""),  # 83.25 years
        ("006M", "006M"),
        ("970W", "970W"),  # about 18.6 years
        ("999W", "999W"),  # about 19.1 years
        ("999D", "999D"),  # about 2.7 years
        ("003D", "003D"),
        ("", ""),
    ],
)
def test_age_rule_compares_every_unit_in_years(age, expected):
    assert teaching_age(age) == expected


@pytest.mark.parametrize(
    "age",
    ["0970W", "45", "45Y", "081", "81 Y", "081y", "Y081", "abcY", "-81Y", "1E2Y"],
)
def test_malformed_age_is_removed(age):
    assert teaching_age(age) is None


def test_weeks_are_converted_exactly():
    assert age_in_years("970W") == Fraction(970 * 7 * 4, 1461)
    assert 18.5 < float(age_in_years("970W")) < 18.7


@pytest.fixture
def aged_file():
    def make(age: str) -> bytes:
        ds = real_file("CT_small.dcm")
        ds.PatientAge = age
        return to_bytes(ds)

    return make


def test_age_over_80_is_written_present_and_empty(aged_file):
    result, data = anonymized_bytes(aged_file("087Y"))

    written = from_bytes(data)

    assert "PatientAge" in written
    assert written.PatientAge == ""
    assert b"087Y" not in data


def test_age_of_80_or_less_is_kept(aged_file):
    result, data = anonymized_bytes(aged_file("052Y"))

    assert from_bytes(data).PatientAge == "052Y"


def test_malformed_age_element_is_removed_from_the_file():
    ds = real_file("CT_small.dcm")
    # "45Y " is not an Age String (three digits and a unit); patch the bytes,
    # as a careless modality would have written them.
    ds.add_new(0x00101010, "AS", "045Y")
    data = to_bytes(ds).replace(b"045Y", b"45Y ")

    result = anonymize_teaching(from_bytes(data), key=KEY, accession=ACCESSION)

    assert "PatientAge" not in result.dataset
