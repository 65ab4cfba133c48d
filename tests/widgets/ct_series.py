"""A real multi-slice CT series for viewer tests, made from a pydicom-data file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

SLICE_MM = 5.0


def write_ct_series(
    folder: Path, count: int = 6, source: str = "CT_small.dcm"
) -> list[Path]:
    """Write `count` slices of one series made from `source`.

    Each slice gets its own (0008,0018) *SOPInstanceUID*, (0020,0013)
    *InstanceNumber* and (0020,0032) *ImagePositionPatient* `SLICE_MM` apart, and
    its pixels shifted a few rows down from the last slice's, so that every slice
    looks different. The slices share new study and series UIDs.

    Parameters
    ----------
    folder : Path
        Where the files go (created if missing).
    count : int
        Number of slices.
    source : str
        The pydicom-data file the slices are made from.

    Returns
    -------
    list of Path
        The files written, in slice order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    template = pydicom.dcmread(get_testdata_file(source))
    pixels = template.pixel_array
    study, series = generate_uid(), generate_uid()
    x, y, z = (float(v) for v in template.ImagePositionPatient)
    written = []
    for k in range(count):
        ds = pydicom.dcmread(get_testdata_file(source))
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [x, y, z + k * SLICE_MM]
        shifted = np.roll(pixels, 6 * k, axis=0).astype(pixels.dtype)
        ds.PixelData = shifted.tobytes()
        path = folder / f"slice{k + 1:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written
