"""Modified dates: the patient's offset and the dates moved by it."""

from __future__ import annotations

import pytest
from pydicom import Dataset

from claripacs_jupyter.anonymize.dates import (
    MAX_OFFSET_DAYS,
    MIN_OFFSET_DAYS,
    patient_offset,
    shift_value,
)
from tests.anonymize.conftest import KEY


@pytest.mark.parametrize(
    ("vr", "value", "days", "moved"),
    [
        ("DA", "20210314", -365, "20200314"),
        ("DA", "20200301", -1, "20200229"),
        ("DA", "2021.03.14", -14, "20210228"),
        ("DT", "20210314101500.123456+0100", -1, "20210313101500.123456+0100"),
        ("DT", "20210314", -1, "20210313"),
        ("DA", "00010105", -10, None),
        ("DA", "202103", -1, None),
        ("DA", "20211341", -1, None),
        ("DT", "2021", -1, None),
        ("DA", "yesterday", -1, None),
    ],
)
def test_a_date_moves_by_whole_days_or_is_refused(
    vr: str, value: str, days: int, moved: str | None
) -> None:
    assert shift_value(vr, value, days) == moved


def _patient(pid: str = "", name: str = "", study: str = "1.2.3") -> Dataset:
    ds = Dataset()
    ds.PatientID = pid
    ds.PatientName = name
    ds.StudyInstanceUID = study
    return ds


def test_the_offset_belongs_to_the_patient_and_the_key() -> None:
    one = patient_offset(_patient("P1", study="1.2.3"), KEY)

    assert -MAX_OFFSET_DAYS <= one <= -MIN_OFFSET_DAYS
    assert patient_offset(_patient("P1", study="9.9.9"), KEY) == one
    assert patient_offset(_patient("P2"), KEY) != one
    assert patient_offset(_patient("P1"), bytes(32)) != one


def test_without_an_id_the_name_then_the_study_names_the_patient() -> None:
    by_name = patient_offset(_patient(name="DOE^JANE", study="1.1"), KEY)

    assert patient_offset(_patient(name="DOE^JANE", study="2.2"), KEY) == by_name
    assert patient_offset(_patient(study="1.1"), KEY) != patient_offset(
        _patient(study="2.2"), KEY
    )
