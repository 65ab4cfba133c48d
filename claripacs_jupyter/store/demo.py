"""The demo teaching set: real files from pydicom-data, filed as named cases."""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from dataclasses import dataclass

import pydicom

from ..dicom import read
from ..errors import StoreError
from .report import IngestReport
from .store import Store

__all__ = ["DEMO_CASES", "DemoCase", "import_demo"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoCase:
    """One case of the demo set: its folder, description and pydicom-data files."""

    folder: str
    description: str
    files: tuple[str, ...]


#: What the demo shows: each kind of image the viewer must handle, from the
#: files that witness the rendering cases (../shared/cases/rendering.md).
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase(
        "Neuro",
        "CT head without contrast (padding outside the scan field)",
        ("693_UNCR.dcm",),
    ),
    DemoCase("Neuro", "MR head, one slice", ("MR_small.dcm",)),
    DemoCase(
        "Neuro", "Enhanced multi-frame MR of the head, 10 frames", ("emri_small.dcm",)
    ),
    DemoCase("Chest", "CT thorax at a thoracic vertebra", ("CT_small.dcm",)),
    DemoCase(
        "MSK", "CR of the tibia: non-ossifying fibroma (MONOCHROME1)", ("RG3_UNCR.dcm",)
    ),
    DemoCase("Ultrasound", "RGB ultrasound (JPEG 2000)", ("US1_J2KR.dcm",)),
    DemoCase("Ultrasound", "Palette color ultrasound", ("OBXXXX1A.dcm",)),
    DemoCase(
        "Ultrasound",
        "Ultrasound cine, 30 frames (JPEG baseline, YBR)",
        ("examples_ybr_color.dcm",),
    ),
    DemoCase("Compressed", "MR shoulder, JPEG 2000 lossless", ("MR2_J2KR.dcm",)),
    DemoCase("Compressed", "CT head, JPEG 2000 lossless", ("693_J2KR.dcm",)),
    DemoCase(
        "Compressed", "Ultrasound, JPEG lossless", ("JPGLosslessP14SV1_1s_1f_8b.dcm",)
    ),
)

# pydicom-data's files share study, series and even SOP Instance UIDs (many come
# from one phantom study); each demo case gets UIDs of its own, derived from its
# description so that importing the demo again finds the same instances.
_ENTROPY = "claripacs-jupyter demo"


def import_demo(store: Store, *, progress: bool = False) -> IngestReport:
    """Import the demo teaching set into `store`, one folder per subject.

    Running it again stores nothing new: every instance comes back as a
    duplicate.

    Parameters
    ----------
    store : Store
    progress : bool
        Show a progress bar per case.

    Returns
    -------
    IngestReport
        The outcomes of every file of the set.

    Raises
    ------
    StoreError
        pydicom-data, which holds the files, is not installed.
    """
    report = IngestReport()
    for case in DEMO_CASES:
        uploads = [(name, _prepared(case, name)) for name in case.files]
        done = store.ingest(uploads, folder=case.folder, progress=progress)
        report.outcomes.extend(done.outcomes)
    logger.info(
        "demo set imported: %d stored, %d duplicate", report.stored, report.duplicates
    )
    return report


def _prepared(case: DemoCase, name: str) -> bytes:
    """The file `name` as this demo case holds it: own UIDs, the description."""
    from pydicom.data import get_testdata_file

    try:
        path = get_testdata_file(name)
    except Exception:
        path = None
    if path is None:
        raise StoreError(
            f"the demo file {name} was not found: install pydicom-data "
            "(pip install pydicom-data)"
        )
    dataset = read(path)
    study = _derived_uid(case.description)
    dataset.StudyInstanceUID = study
    dataset.SeriesInstanceUID = _derived_uid(study, str(dataset.SeriesInstanceUID))
    dataset.SOPInstanceUID = _derived_uid(study, str(dataset.SOPInstanceUID))
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.StudyDescription = case.description
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def _derived_uid(*parts: str) -> str:
    """A ``2.25`` UID that depends only on `parts` (a name-based UUID, version 5)."""
    digest = hashlib.sha256("\0".join([_ENTROPY, *parts]).encode()).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=5).int}"
