"""The rows of shared/cases/anonymization.md that apply outside the store, run
through the PS3.15 Basic profile, on written bytes.

The inputs are test_teaching.py's fixtures. The store-only rows (A04 one study
over two imports, A06 the store's accession, A10 the review queue) are about
the store and are tested there; A07 and A17 (descriptors) need the Clean
Descriptors option, which is what keeps descriptions at all.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import Dataset

from claripacs_jupyter.anonymize.annex_e import basic_rules
from claripacs_jupyter.anonymize.confidential import anonymize_with_rules
from claripacs_jupyter.errors import InvalidInputError

from . import test_teaching
from .conftest import KEY, from_bytes, real_file, to_bytes, walk
from .test_teaching import A09_DATES, assert_absent

# test_teaching.py's inputs
a01_file = test_teaching.a01_file
a02_file = test_teaching.a02_file
a09_source = test_teaching.a09_source
a14_file = test_teaching.a14_file


def _basic_bytes(data: bytes, *options: str, decoded: bool = False) -> bytes:
    source = from_bytes(data)
    if decoded:
        for _ in source.iterall():
            pass
    rules = basic_rules(frozenset(options))
    result = anonymize_with_rules(source, key=KEY, rules=rules)
    buffer = BytesIO()
    result.dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_a01_identifiers_in_request_patient_and_other_id_sequences_are_gone(
    a01_file: bytes,
) -> None:
    data = _basic_bytes(a01_file)

    assert_absent(
        data, "RQACC553190", "RQPID778112", "Refpatient", "Hiddenname", "OTHERPID99123"
    )


def test_a02_private_elements_and_creators_are_gone_at_every_depth(
    a02_file: bytes, decoded: bool
) -> None:
    data = _basic_bytes(a02_file, decoded=decoded)

    odd = [str(elem.tag) for _, elem in walk(from_bytes(data)) if elem.tag.group % 2]
    assert odd == []
    assert_absent(
        data, "CLARIPACS TOPLEVEL", "PRIVTOPLEVEL01", "PRIVOBBYTES02", "PRIVUNBYTES03",
        "Privseq", "PRIVNOCREATOR04", "PRIVINSEQ05", "PRIVOBINSEQ6", "GEMS",
    )  # fmt: skip


def test_a09_no_planted_date_remains(a09_source: Dataset, decoded: bool) -> None:
    data = _basic_bytes(to_bytes(a09_source), decoded=decoded)

    assert_absent(data, *A09_DATES)


def test_a09_modified_dates_move_every_planted_date(a09_source: Dataset) -> None:
    data = _basic_bytes(to_bytes(a09_source), "retain-longitudinal-modified-dates")

    assert_absent(data, *A09_DATES)
    assert from_bytes(data).StudyDate not in ("", "19710203")


@pytest.mark.parametrize(
    "name",
    [
        "JPGExtended.dcm",
        "JPEG-LL.dcm",
        "US1_J2KR.dcm",
        "MR_small_RLE.dcm",
        "image_dfl.dcm",
    ],
)
def test_a12_pixel_data_is_byte_identical_under_the_same_transfer_syntax(
    name: str,
) -> None:
    data_in = Path(pydicom.data.get_testdata_file(name)).read_bytes()
    source = from_bytes(data_in)

    written = from_bytes(_basic_bytes(data_in))

    assert written.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    assert written.PixelData == source.PixelData
    assert np.array_equal(written.pixel_array, source.pixel_array)


def test_a14_stored_values_and_padding_are_identical(a14_file: bytes) -> None:
    source = from_bytes(a14_file)

    written = from_bytes(_basic_bytes(a14_file))

    assert written.PixelPaddingValue == -2000 and written.RescaleIntercept == -1024
    assert np.array_equal(written.pixel_array, source.pixel_array)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_implicit.dcm", "liver.dcm"])
def test_a16_output_keeps_what_a_receiving_pacs_needs(name: str) -> None:
    data_in = Path(pydicom.data.get_testdata_file(name)).read_bytes()

    written = from_bytes(_basic_bytes(data_in))

    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID",
                    "SeriesInstanceUID", "Modality"):  # fmt: skip
        assert written.get(keyword), keyword
    for keyword in ("PatientName", "PatientID", "StudyDate", "StudyID"):
        assert keyword in written, keyword


def test_a07_clean_descriptors_cut_the_accession_name_and_date() -> None:
    ds = real_file("CT_small.dcm")
    ds.PatientName = "DOE^JOHN"
    ds.AccessionNumber = "10234567"
    ds.StudyDescription = "CT CHEST 10234567"
    ds.SeriesDescription = "DOE JOHN 3D 03/14/2021"

    data = _basic_bytes(to_bytes(ds), "clean-descriptors")

    written = from_bytes(data)
    assert written.StudyDescription == "CT CHEST"
    assert written.SeriesDescription == "3D"
    assert_absent(data, "10234567", "DOE", "03/14/2021")


def test_a17_cyrillic_descriptions_round_trip_cleaned() -> None:
    ds = real_file("CT_small.dcm")
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Иванов^Иван"
    ds.StudyDescription = "КТ груди Иванов"

    written = from_bytes(_basic_bytes(to_bytes(ds), "clean-descriptors"))

    assert written.SpecificCharacterSet == "ISO_IR 192"
    assert written.StudyDescription == "КТ груди"


def test_a18_the_icon_goes_and_documents_are_refused() -> None:
    ds = real_file("CT_small.dcm")
    icon = Dataset()
    icon.Rows = icon.Columns = 2
    icon.SamplesPerPixel, icon.PhotometricInterpretation = 1, "MONOCHROME2"
    icon.BitsAllocated = icon.BitsStored = 8
    icon.HighBit, icon.PixelRepresentation = 7, 0
    icon.PixelData = b"ICON"
    ds.IconImageSequence = [icon]

    data = _basic_bytes(to_bytes(ds))

    assert b"ICON" in to_bytes(ds)
    assert "IconImageSequence" not in from_bytes(data)
    with pytest.raises(InvalidInputError, match="structured report"):
        _basic_bytes(to_bytes(real_file("test-SR.dcm")))
