"""Helpers for the anonymizer tests: build inputs on real files, write, re-read."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pydicom
import pytest
from pydicom import Dataset
from pydicom.data import get_testdata_file

from claripacs_jupyter.anonymize import AnonymizationResult, anonymize_teaching

#: The store's key in these tests (the store makes 32 random bytes).
KEY = bytes(range(32))
#: The store's own accession in these tests.
ACCESSION = "TF0001"


def real_file(name: str) -> Dataset:
    """A pydicom-data file, read as the store reads it."""
    path = get_testdata_file(name)
    assert path is not None, f"pydicom-data lacks {name}"
    return pydicom.dcmread(path)


def to_bytes(ds: Dataset, *, implicit: bool = False) -> bytes:
    """Write `ds` as a DICOM file; `implicit` writes Implicit VR Little Endian."""
    buffer = BytesIO()
    if implicit:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def from_bytes(data: bytes, **kwargs: object) -> Dataset:
    return pydicom.dcmread(BytesIO(data), **kwargs)


def anonymized_bytes(
    data: bytes,
    *,
    key: bytes = KEY,
    accession: str = ACCESSION,
    decoded: bool = False,
) -> tuple[AnonymizationResult, bytes]:
    """Read a written input, anonymize it and write the result.

    With `decoded`, every element is decoded before anonymizing, as a reader
    that validates the whole header leaves the dataset.
    """
    source = from_bytes(data)
    if decoded:
        for _ in source.iterall():
            pass
    result = anonymize_teaching(source, key=key, accession=accession)
    buffer = BytesIO()
    result.dataset.save_as(buffer, enforce_file_format=True)
    return result, buffer.getvalue()


@pytest.fixture(params=["raw", "decoded"])
def decoded(request: pytest.FixtureRequest) -> bool:
    """Run a test on a dataset as read, and on one with every element decoded."""
    return bool(request.param == "decoded")


def walk(ds: Dataset) -> Iterator[tuple[int, pydicom.DataElement]]:
    """Every element of `ds` at every depth, with its depth."""
    stack = [(0, ds)]
    while stack:
        depth, current = stack.pop()
        for elem in current:
            yield depth, elem
            if elem.VR == "SQ":
                stack.extend((depth + 1, item) for item in elem.value)
