"""A fast path for :func:`raw_frame`: one frame's bytes read straight from the file.

Most stored images are uncompressed grey little-endian data, whose frame is
a slice of the file that needs no decoding. Reading just the header (up to
the pixel data) and then that slice costs a fraction of reading and decoding
the dataset, which matters when a viewer asks for hundreds of frames at once.
Anything else (compressed, colour, big endian, a Modality LUT, float or
bit-packed data, a short pixel data element) is left to :func:`raw_frame`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError as PydicomInvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from . import pixels
from ._leniency import recorded_warnings

__all__ = ["native_frame"]

#: (7FE0,0010) *Pixel Data* as it starts an element in little-endian order.
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
_UNDEFINED_LENGTH = 0xFFFFFFFF
_GREY = ("MONOCHROME1", "MONOCHROME2")


def native_frame(path: Path, frame: int) -> bytes | None:
    """The bytes :func:`raw_frame` gives for a frame, read without decoding.

    Parameters
    ----------
    path : pathlib.Path
        A DICOM file (Part 10).
    frame : int
        The frame, counting from 0.

    Returns
    -------
    bytes or None
        The frame's stored values as little-endian bytes, bits above
        (0028,0102) *High Bit* cleared or sign-extended exactly as
        :func:`raw_frame` does; None when the file is not uncompressed grey
        little-endian data of 8 or 16 bits with the frame wholly inside its
        pixel data (the caller then decodes it the usual way).
    """
    try:
        with path.open("rb") as fileobj:
            # A header that needs repairs (pydicom warns) goes the usual way,
            # whose reader knows them.
            with recorded_warnings() as caught:
                header = dcmread(fileobj, stop_before_pixels=True)
                element = fileobj.read(12)
                syntax = header.file_meta.get("TransferSyntaxUID")
                layout = _layout(header, syntax, element, frame)
            if layout is None or caught:
                return None
            start, size, dtype = layout
            fileobj.seek(start, 1)
            data = fileobj.read(size)
    except (OSError, PydicomInvalidDicomError, ValueError, TypeError, AttributeError):
        return None
    if len(data) != size:
        return None
    values = pixels._mask_high_bits(np.frombuffer(data, dtype=dtype), header)
    return np.ascontiguousarray(values, dtype=dtype).tobytes()


def _layout(
    ds: Dataset, syntax: object, element: bytes, frame: int
) -> tuple[int, int, np.dtype[Any]] | None:
    """Where the frame starts after `element`'s first 12 bytes, its size, its dtype.

    None unless the fast path gives exactly what :func:`raw_frame` would.
    """
    if syntax not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        return None
    if len(element) < 12 or element[:4] != _PIXEL_DATA_TAG:
        return None  # float pixel data, or none
    if syntax == ExplicitVRLittleEndian:
        if element[4:6] not in (b"OB", b"OW"):
            return None
        (length,) = struct.unpack("<I", element[8:12])
        after_header = 0
    else:
        (length,) = struct.unpack("<I", element[4:8])
        after_header = -4  # the implicit element header is 8 bytes, 4 were read over
    if length == _UNDEFINED_LENGTH:
        return None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric.strip().upper() not in _GREY:
        return None
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        return None
    if ds.get("ModalityLUTSequence"):
        return None
    bits = int(ds.get("BitsAllocated", 0) or 0)
    representation = int(ds.get("PixelRepresentation", 0) or 0)
    if bits not in (8, 16) or representation not in (0, 1):
        return None
    rows = int(ds.get("Rows", 0) or 0)
    columns = int(ds.get("Columns", 0) or 0)
    count = pixels.frame_count(ds)
    if rows <= 0 or columns <= 0 or not 0 <= frame < count:
        return None
    size = rows * columns * bits // 8
    if length < count * size:
        return None
    dtype = np.dtype(f"<{'i' if representation else 'u'}{bits // 8}")
    return after_header + frame * size, size, dtype
