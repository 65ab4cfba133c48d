"""Builders of store test inputs from real pydicom-data files, and checks."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from claripacs_jupyter.store import Store


def sample(name: str) -> Path:
    """The path of a pydicom-data file."""
    return Path(get_testdata_file(name))


def load(name: str) -> Dataset:
    """A pydicom-data file as a dataset, to change in a test."""
    return pydicom.dcmread(sample(name))


def encoded(ds: Dataset) -> bytes:
    """The Part 10 bytes of `ds`."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def make_series(
    folder: Path,
    count: int,
    *,
    template: str = "CT_small.dcm",
    study: str | None = None,
    series: str | None = None,
    numbers: Sequence[int] | None = None,
    positions: Sequence[float] | None = None,
    accession: str | None = None,
    prefix: str = "slice",
) -> list[Path]:
    """Write `count` slices of one series made from a real file; return them.

    Each slice has new SOP Instance UID; `numbers` and `positions` (z of
    (0020,0032)) default to 1..count and 5 mm steps.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ds = load(template)
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = series or generate_uid()
    if accession is not None:
        ds.AccessionNumber = accession
    x, y, _ = (float(value) for value in ds.get("ImagePositionPatient", [0, 0, 0]))
    paths = []
    for index in range(count):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = numbers[index] if numbers else index + 1
        z = positions[index] if positions else 5.0 * index
        ds.ImagePositionPatient = [x, y, z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        path = folder / f"{prefix}{index:03d}.dcm"
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        paths.append(path)
    return paths


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A ZIP archive holding `members` (name -> content), deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def stored_files(store: Store) -> set[str]:
    """Every file under the store's dicom folder, relative to the store."""
    top = store.path / "dicom"
    if not top.exists():
        return set()
    return {p.relative_to(store.path).as_posix() for p in top.rglob("*") if p.is_file()}


def assert_consistent(store: Store) -> None:
    """Every indexed file exists, every file is indexed, no journal is left."""
    check = store.check()
    assert check.missing == []
    assert check.orphans == []
    journal = store.path / "journal"
    assert not journal.exists() or list(journal.iterdir()) == []
    assert not list(store.path.rglob("*.part"))
