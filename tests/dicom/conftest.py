"""Fixtures for the dicom tests: tiny files built with pydicom, as bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

MakeFile = Callable[..., bytes]


def build_dataset(
    pixels: np.ndarray | None = None,
    *,
    rows: int | None = None,
    columns: int | None = None,
    pixel_bytes: bytes | None = None,
    **elements: Any,
) -> Dataset:
    """A CT image data set with new UIDs and the given pixels and elements."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.PatientName = "Test^Synthetic"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"

    if pixels is not None:
        pixels = np.asarray(pixels)
        ds.Rows, ds.Columns = pixels.shape[-2:]
        if pixels.ndim == 3:
            ds.NumberOfFrames = pixels.shape[0]
        if pixels.dtype == np.float32:
            ds.BitsAllocated = 32
            ds.FloatPixelData = pixels.astype("<f4").tobytes()
        else:
            ds.BitsAllocated = ds.BitsStored = pixels.dtype.itemsize * 8
            ds.HighBit = ds.BitsStored - 1
            ds.PixelRepresentation = int(pixels.dtype.kind == "i")
            ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    else:
        ds.Rows, ds.Columns = rows, columns
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelData = pixel_bytes or b""

    for keyword, value in elements.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def encode(ds: Dataset, transfer_syntax: str = ExplicitVRLittleEndian) -> bytes:
    """The bytes of a DICOM file (preamble, file meta) holding `ds`."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", CTImageStorage)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", generate_uid())
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.fixture
def make_file() -> MakeFile:
    """Build a small DICOM file: ``make_file(pixels, **elements) -> bytes``."""

    def make(pixels: np.ndarray | None = None, **elements: Any) -> bytes:
        return encode(build_dataset(pixels, **elements))

    return make
