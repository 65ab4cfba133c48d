"""Icons and documents (case A18): an icon is dropped, a document is refused.

A structured report, an encapsulated PDF and a presentation state with text
are refused by the anonymizer and by the store with a reason that says what
they are; the good image beside them in the same import is stored.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from claripacs_jupyter import open_store
from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.errors import InvalidInputError
from tests.anonymize.conftest import (
    ACCESSION,
    KEY,
    anonymized_bytes,
    from_bytes,
    real_file,
    to_bytes,
)

#: Bytes planted in the icon's pixels and in the documents.
LEAK = b"DOE^JOHN 10234567"

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
GRAYSCALE_SOFTCOPY_PS = "1.2.840.10008.5.1.4.1.1.11.1"


def _document(sop_class: str) -> Dataset:
    """A minimal instance of `sop_class` with the UIDs a store needs."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "DOE^JOHN"
    ds.PatientID = "10234567"
    return ds


def _pdf() -> Dataset:
    ds = _document(ENCAPSULATED_PDF)
    ds.Modality = "DOC"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\n" + LEAK + b"\n%%EOF\n"
    return ds


def _presentation_state() -> Dataset:
    ds = _document(GRAYSCALE_SOFTCOPY_PS)
    ds.Modality = "PR"
    text = Dataset()
    text.UnformattedTextValue = LEAK.decode()
    text.AnchorPoint = [10.0, 10.0]
    text.AnchorPointAnnotationUnits = "PIXEL"
    text.AnchorPointVisibility = "Y"
    layer = Dataset()
    layer.GraphicLayer = "TEXT"
    layer.TextObjectSequence = [text]
    ds.GraphicAnnotationSequence = [layer]
    return ds


def _structured_report() -> Dataset:
    path = get_testdata_file("test-SR.dcm")
    assert path is not None
    return pydicom.dcmread(path)


DOCUMENTS = {
    "structured report": _structured_report,
    "encapsulated document": _pdf,
    "presentation state": _presentation_state,
}


def test_an_icon_thumbnail_is_dropped_with_its_pixels() -> None:
    ds = real_file("CT_small.dcm")
    icon = Dataset()
    icon.Rows, icon.Columns = 4, 17
    icon.SamplesPerPixel = 1
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit = 8, 8, 7
    icon.PixelRepresentation = 0
    icon.PixelData = LEAK * 4
    ds.IconImageSequence = [icon]
    data_in = to_bytes(ds)

    _, data = anonymized_bytes(data_in)

    assert LEAK in data_in
    assert LEAK not in data
    assert "IconImageSequence" not in from_bytes(data)


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_the_anonymizer_refuses_a_document_and_says_what_it_is(kind: str) -> None:
    ds = from_bytes(to_bytes(DOCUMENTS[kind]()))

    with pytest.raises(InvalidInputError, match=f"this {kind} carries free text"):
        anonymize_teaching(ds, key=KEY, accession=ACCESSION)


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_the_store_refuses_a_document_and_keeps_the_image_beside_it(
    kind: str, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "document.dcm").write_bytes(to_bytes(DOCUMENTS[kind]()))
    (incoming / "image.dcm").write_bytes(to_bytes(real_file("CT_small.dcm")))
    store = open_store(tmp_path / "store")

    report = store.ingest([incoming])
    refused = [o for o in report.outcomes if o.source.endswith("document.dcm")]
    stored_files = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*.dcm"))

    assert report.stored == 1
    assert [o.status for o in refused] == ["skipped"]
    assert f"this {kind} carries free text" in (refused[0].reason or "")
    assert LEAK not in stored_files
    assert len(store.cases()) == 1
