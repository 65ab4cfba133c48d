"""encode_header writes the bytes pydicom's dcmwrite writes for the same dataset."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.dicom import lenient_values, read_header
from claripacs_jupyter.store.part10 import encode_header

from .builders import sample

_KEY = b"k" * 32


def _dcmwrite(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _anonymized_header(name: str) -> Dataset:
    header = read_header(sample(name))
    assert header is not None
    with lenient_values():
        return anonymize_teaching(header.dataset, key=_KEY, accession="A1").dataset


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "US1_J2KR.dcm",
        "emri_small.dcm",
        "bad_sequence.dcm",
    ],
)
def test_an_anonymized_header_encodes_as_pydicom_writes_it(name: str) -> None:
    ds = _anonymized_header(name)

    encoded = encode_header(ds)

    assert encoded == _dcmwrite(ds)


def test_elements_converted_before_encoding_are_written_by_pydicom() -> None:
    ds = _anonymized_header("CT_small.dcm")
    # Reading values converts their raw elements, the file meta's too.
    with lenient_values():
        assert ds.Rows == 128
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        ds.WindowCenter = 40

    encoded = encode_header(ds)

    assert encoded == _dcmwrite(ds)


def test_a_dataset_built_in_memory_is_written_by_pydicom() -> None:
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Test^Synthetic"
    ds.Rows = ds.Columns = 2
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

    encoded = encode_header(ds)

    assert encoded == _dcmwrite(ds)


def test_the_header_and_the_copied_element_read_back_as_the_source() -> None:
    header = read_header(sample("MR_small.dcm"))
    assert header is not None
    with lenient_values():
        ds = anonymize_teaching(header.dataset, key=_KEY, accession="A1").dataset
    out = io.BytesIO()

    out.write(encode_header(ds))
    header.copy_pixel_element(out)

    read_back = pydicom.dcmread(io.BytesIO(out.getvalue()))
    source = pydicom.dcmread(sample("MR_small.dcm"))
    assert read_back.AccessionNumber == "A1"
    assert np.array_equal(read_back.pixel_array, source.pixel_array)


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm"]
)
def test_converted_numbers_and_codes_encode_as_pydicom_writes_them(name: str) -> None:
    ds = _anonymized_header(name)
    with lenient_values():
        # Converted as a header read converts them: US numbers and CS codes.
        assert ds.Rows and ds.Columns and ds.BitsAllocated
        assert ds.PhotometricInterpretation.startswith("MONOCHROME")
        ds.Modality = "MRI"  # odd length: padded with a space
        ds.PatientSex = "F"
        ds.SamplesPerPixel = 0xFFFF
        ds.ImageType = ["ORIGINAL", "PRIMARY"]  # several values: pydicom's

    encoded = encode_header(ds)

    assert encoded == _dcmwrite(ds)
    assert b"MRI " in encoded
