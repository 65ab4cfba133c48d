"""Decoded frames: stored values for grey images, 8-bit RGB for colour ones.

Decoding is pydicom's (``pydicom.pixels``, with the pylibjpeg plugins for
compressed transfer syntaxes); this module only shapes the result into frame
stacks, turns every colour model into RGB and applies the modality LUT with the
per-frame values of enhanced multi-frame files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    as_pixel_options,
    convert_color_space,
    get_decoder,
)

from ..errors import InvalidDicomError, NotFoundError
from ._leniency import recorded_warnings
from .values import numeric_value

logger = logging.getLogger(__name__)

__all__ = [
    "frame",
    "frame_count",
    "frames",
    "functional_group",
    "is_color",
    "iter_frames",
    "modality_values",
    "padding_mask",
    "padding_range",
    "palette_lut",
    "require_image",
    "rescale",
    "stored_dtype",
]

_GREY = ("MONOCHROME1", "MONOCHROME2")
# (7FE0,0008) Float Pixel Data, (7FE0,0009) Double Float Pixel Data.
_FLOAT_PIXEL_TAGS = frozenset((0x7FE00008, 0x7FE00009))
# (5200,9229) Shared and (5200,9230) Per-frame Functional Groups Sequence.
_SHARED_GROUPS, _PER_FRAME_GROUPS = 0x52009229, 0x52009230
_PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)
_YBR = ("YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420")


def require_image(ds: Dataset, *, header_only: bool = False) -> None:
    """Raise InvalidDicomError unless `ds` holds an image.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        Any dataset (a structured report, for example, has no image).
    header_only : bool, optional
        Accept a header read without its pixel data, if it describes an image.

    Raises
    ------
    InvalidDicomError
        There is no pixel data, or (0028,0010) *Rows* or (0028,0011)
        *Columns* is missing.
    """
    if not header_only and not any(tag in ds for tag in _PIXEL_TAGS):
        raise InvalidDicomError("the data set holds no image (no pixel data)")
    if not ds.get("Rows") or not ds.get("Columns"):
        raise InvalidDicomError(
            "the image has no (0028,0010) Rows or (0028,0011) Columns"
        )


def frame_count(ds: Dataset) -> int:
    """The number of frames, from (0028,0008) *Number of Frames* (1 if absent).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.

    Returns
    -------
    int
        The number of frames, at least 1.
    """
    value = numeric_value(ds, "NumberOfFrames")
    try:
        count = int(value) if value not in (None, "") else 1
    except (TypeError, ValueError):
        count = 1
    return max(count, 1)


def is_color(ds: Dataset) -> bool:
    """Whether frames of `ds` come out as RGB (RGB, YBR, palette colour).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.

    Returns
    -------
    bool
        False for (0028,0004) *Photometric Interpretation* MONOCHROME1 and
        MONOCHROME2, True otherwise.
    """
    return _photometric(ds) not in _GREY


def stored_dtype(ds: Dataset) -> np.dtype[Any]:
    """The dtype of the values that :func:`frame` returns for `ds`.

    Decided from the header alone: uint8 for colour; for grey images the
    output of the (0028,3000) *Modality LUT Sequence* when there is one, else
    the stored values as (0028,0100) *Bits Allocated* and (0028,0103)
    *Pixel Representation* give them. Float pixel data is float32.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.

    Returns
    -------
    numpy.dtype
        One of uint8, int8, uint16, int16, uint32, int32, float32.
    """
    if is_color(ds):
        return np.dtype(np.uint8)
    if _FLOAT_PIXEL_TAGS & ds.keys():
        return np.dtype(np.float32)
    bits = int(ds.get("BitsAllocated", 16) or 16)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    size = {1: 8, 8: 8, 16: 16, 32: 32}.get(bits, 16)
    return np.dtype(f"{'int' if signed else 'uint'}{size}")


def frames(ds: Dataset) -> np.ndarray:
    """All frames of `ds`, as stored values or RGB.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data, from :func:`~claripacs_jupyter.dicom.read`.

    Returns
    -------
    numpy.ndarray
        (frames, rows, columns) stored values for grey images, in the dtype of
        :func:`stored_dtype`; (frames, rows, columns, 3) uint8 RGB for colour
        images, with YBR converted and palette colour applied.
    """
    array, photometric = _decode(ds, None)
    if is_color(ds):
        array = array.reshape(-1, *array.shape[-3:])
        return _to_rgb(array, photometric, ds)
    return _as_stored(array.reshape(-1, *array.shape[-2:]), ds)


def frame(ds: Dataset, index: int) -> np.ndarray:
    """One frame of `ds`, decoding that frame only.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    index : int
        The frame, counting from 0.

    Returns
    -------
    numpy.ndarray
        (rows, columns) stored values, or (rows, columns, 3) uint8 RGB.

    Raises
    ------
    NotFoundError
        The dataset has no such frame.
    """
    return _one_frame(ds, index)


def _one_frame(ds: Dataset, index: int) -> np.ndarray:
    """:func:`frame`, under a name that parameters called `frame` do not hide."""
    _check_index(ds, index)
    array, photometric = _decode(ds, index)
    if is_color(ds):
        return _to_rgb(array.reshape(array.shape[-3:]), photometric, ds)
    return _as_stored(array.reshape(array.shape[-2:]), ds)


def iter_frames(ds: Dataset) -> Iterator[np.ndarray]:
    """Yield the frames of `ds` one at a time, as :func:`frame` returns them.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.

    Yields
    ------
    numpy.ndarray
        Each frame in turn.
    """
    if frame_count(ds) == 1 or not _is_encapsulated(ds):
        # Native data is one buffer; slicing it is cheaper than decoding
        # frame by frame.
        yield from frames(ds)
        return
    for index in range(frame_count(ds)):
        yield frame(ds, index)


def functional_group(ds: Dataset, frame: int, keyword: str) -> Dataset | None:
    """The first item of a functional group macro for one frame, if any.

    The per-frame item in (5200,9230) *Per-frame Functional Groups Sequence*
    wins over the one in (5200,9229) *Shared Functional Groups Sequence*.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        An enhanced multi-frame dataset (other datasets give None).
    frame : int
        The frame, counting from 0.
    keyword : str
        The sequence keyword, e.g. ``"PixelValueTransformationSequence"``.

    Returns
    -------
    pydicom.dataset.Dataset or None
        The macro's first item, or None when neither group has it.
    """
    if _SHARED_GROUPS not in ds._dict and _PER_FRAME_GROUPS not in ds._dict:
        # Not an enhanced file: two lookups instead of two keyword conversions
        # (called several times per header at ingest).
        return None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and 0 <= frame < len(per_frame):
        items = per_frame[frame].get(keyword)
        if items:
            return items[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        items = shared[0].get(keyword)
        if items:
            return items[0]
    return None


def rescale(ds: Dataset, frame: int = 0) -> tuple[float, float]:
    """The (slope, intercept) of the linear modality transform for one frame.

    From the frame's (0028,9145) *Pixel Value Transformation Sequence* in an
    enhanced multi-frame file, else (0028,1053) *Rescale Slope* and
    (0028,1052) *Rescale Intercept*, else (1, 0).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0.

    Returns
    -------
    tuple of float
        ``(slope, intercept)``.
    """
    source = functional_group(ds, frame, "PixelValueTransformationSequence") or ds
    slope = _float(numeric_value(source, "RescaleSlope"), 1.0)
    intercept = _float(numeric_value(source, "RescaleIntercept"), 0.0)
    if slope == 0.0:
        logger.warning("(0028,1053) Rescale Slope is 0; using 1")
        slope = 1.0
    return slope, intercept


def modality_values(ds: Dataset, frame: int) -> np.ndarray:
    """The values of one grey frame after the modality LUT, as float64.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A grey dataset with pixel data.
    frame : int
        The frame, counting from 0.

    Returns
    -------
    numpy.ndarray
        (rows, columns) float64: Hounsfield units for CT, for example.
    """
    return _modality(ds, _one_frame(ds, frame), frame)


def padding_range(ds: Dataset) -> tuple[float, float] | None:
    """The stored values that mark padding, inclusive, or None.

    From (0028,0120) *Pixel Padding Value* and, when present, (0028,0121)
    *Pixel Padding Range Limit* (in either order).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.

    Returns
    -------
    tuple of float or None
        ``(low, high)`` in stored values; None when the file declares no
        padding or is colour.
    """
    if is_color(ds):
        return None
    value = _number(ds.get("PixelPaddingValue"))
    if value is None:
        return None
    limit = _number(ds.get("PixelPaddingRangeLimit"))
    if limit is None:
        return value, value
    return min(value, limit), max(value, limit)


def padding_mask(ds: Dataset, stored: np.ndarray) -> np.ndarray | None:
    """Which pixels of a frame of stored values are padding.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset the frame comes from.
    stored : numpy.ndarray
        Stored values of one or more frames, as :func:`frame` returns them.

    Returns
    -------
    numpy.ndarray or None
        A bool array shaped like `stored`, True on padding; None when the file
        declares no padding.
    """
    limits = padding_range(ds)
    if limits is None:
        return None
    low, high = limits
    # Compare in a wide type: the padding value may lie outside the stored
    # dtype's range (e.g. -2000 declared for unsigned data).
    wide = stored if stored.dtype.kind == "f" else stored.astype(np.int64)
    if low == high:
        return wide == low
    return (wide >= low) & (wide <= high)


def _modality(ds: Dataset, stored: np.ndarray, frame_index: int) -> np.ndarray:
    """Apply the modality LUT or the frame's rescale to stored values."""
    if ds.get("ModalityLUTSequence"):
        # pydicom handles the LUT's descriptor, first mapped value and clipping.
        return np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)

    # Our own step, not pydicom's apply_modality_lut: that reads only the
    # top-level Rescale Slope and Intercept, while enhanced multi-frame files
    # carry them per frame in functional groups. The viewer does the same sum
    # with the same slope and intercept (image_info's "rescale").
    slope, intercept = rescale(ds, frame_index)
    values = stored.astype(np.float64)
    if slope != 1.0:
        values *= slope
    if intercept != 0.0:
        values += intercept
    return values


def _decode(ds: Dataset, index: int | None) -> tuple[np.ndarray, str]:
    """Decode one frame or all, returning the array and its colour model."""
    require_image(ds)
    tsyntax = ds.file_meta.TransferSyntaxUID
    try:
        # pydicom warns about what it repairs on the way (excess padding after
        # the pixel data, a wrong Bits Stored in a J2K stream); the result is
        # right, so the notes go to the debug log instead of the warnings of
        # every caller.
        with recorded_warnings() as caught:
            decoder = get_decoder(tsyntax)
            array, meta = decoder.as_array(
                ds, index=index, validate=True, **as_pixel_options(ds)
            )
    except (ValueError, RuntimeError, NotImplementedError, TypeError) as exc:
        raise InvalidDicomError(f"the pixel data cannot be decoded: {exc}") from exc
    if caught:
        logger.debug("decoding noted %d repair(s) of the pixel data", len(caught))
    photometric = str(meta.get("photometric_interpretation") or _photometric(ds))
    return array, photometric


def _to_rgb(array: np.ndarray, photometric: str, ds: Dataset) -> np.ndarray:
    """Turn decoded colour pixels of any model into uint8 RGB."""
    if photometric == "PALETTE COLOR":
        return _apply_palette(array, ds)

    if photometric in _YBR:
        # pydicom converts YBR_FULL and YBR_FULL_422 itself (and knows when a
        # JPEG decoder already did); this catches what it leaves.
        try:
            array = convert_color_space(array, photometric, "RGB")
        except NotImplementedError as exc:
            raise InvalidDicomError(
                f"the colour model {photometric} cannot be converted to RGB"
            ) from exc

    if array.ndim < 3 or array.shape[-1] != 3:
        raise InvalidDicomError(
            f"colour pixel data ({photometric}) does not have 3 samples per pixel"
        )
    if array.dtype != np.uint8:
        bits = int(ds.get("BitsStored", 8) or 8)
        array = np.right_shift(array, max(bits - 8, 0)).clip(0, 255).astype(np.uint8)
    return array


def _apply_palette(array: np.ndarray, ds: Dataset) -> np.ndarray:
    """Palette colour to uint8 RGB through pydicom's LUT expansion."""
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    if not descriptor:
        raise InvalidDicomError(
            "PALETTE COLOR image without (0028,1101) Red Palette Color Lookup "
            "Table Descriptor"
        )
    lut = palette_lut(ds)
    first = int(descriptor[1])
    index = np.clip(array.astype(np.int64) - first, 0, len(lut) - 1)
    return lut[index]


def palette_lut(ds: Dataset) -> np.ndarray:
    """The palette colour LUT of `ds` as an (entries, 3) uint8 array.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with the Palette Color Lookup Table module (normal or
        segmented; used for PALETTE COLOR and supplemental palettes).

    Returns
    -------
    numpy.ndarray
        Entry i is the RGB colour of stored value ``first mapped + i``.
    """
    descriptor = ds.RedPaletteColorLookupTableDescriptor
    entries = int(descriptor[0]) or 2**16
    first = int(descriptor[1])

    # pydicom expands plain and segmented LUTs; we feed it every input value
    # once and keep the result as a table. Its Supplemental Palette guard does
    # not apply: we only ask for the table, not a whole picture.
    probe = Dataset()
    for keyword in _PALETTE_KEYWORDS:
        if keyword in ds:
            probe[keyword] = ds[keyword]
    probe.file_meta = ds.file_meta
    probe.set_original_encoding(*ds.original_encoding)
    table = apply_color_lut(np.arange(first, first + entries), probe)[..., :3]

    if table.dtype == np.uint8:
        return table
    if int(table.max(initial=0)) <= 255:
        # Some writers store 8-bit entries in a table described as 16-bit;
        # shifting those would make everything black (DCMTK makes the same
        # allowance).
        return table.astype(np.uint8)
    # 16-bit entries: the high byte is the 8-bit colour.
    return np.right_shift(table, 8).astype(np.uint8)


_PALETTE_KEYWORDS = [
    f"{prefix}{colour}PaletteColorLookupTable{part}"
    for colour in ("Red", "Green", "Blue")
    for prefix, part in (("", "Descriptor"), ("", "Data"), ("Segmented", "Data"))
]


def _as_stored(array: np.ndarray, ds: Dataset) -> np.ndarray:
    """Cast decoded grey values to :func:`stored_dtype`, bits above High Bit off."""
    dtype = stored_dtype(ds)
    if array.dtype != dtype:
        array = array.astype(dtype)
    return _mask_high_bits(array, ds)


def _mask_high_bits(array: np.ndarray, ds: Dataset) -> np.ndarray:
    """Clear (or sign-extend over) the bits above (0028,0102) *High Bit*.

    Stored values occupy Bits Stored bits; what lies above, such as overlay
    planes in the spare bits of 12-bit data, is not part of the value.
    pydicom clears it for native data; decoders of compressed data need not.
    """
    if array.dtype.kind not in "iu":
        return array
    word = array.dtype.itemsize * 8
    stored = int(ds.get("BitsStored") or word)
    high = ds.get("HighBit")
    if high is not None and int(high) + 1 < stored:
        stored = int(high) + 1
    if not 0 < stored < word:
        return array
    if array.dtype.kind == "u":
        mask = (1 << stored) - 1
        if int(array.max(initial=0)) <= mask:
            return array
        return np.bitwise_and(array, array.dtype.type(mask))
    # Signed: shift the sign bit up to the word's and back, extending it.
    shift = word - stored
    low, high_value = -(1 << (stored - 1)), (1 << (stored - 1)) - 1
    if array.size == 0 or (array.min() >= low and array.max() <= high_value):
        return array
    return np.right_shift(np.left_shift(array, shift), shift)


def _check_index(ds: Dataset, index: int) -> None:
    """Raise NotFoundError for a frame index the dataset does not have."""
    count = frame_count(ds)
    if not 0 <= index < count:
        raise NotFoundError(f"frame {index} does not exist; the image has {count}")


def _is_encapsulated(ds: Dataset) -> bool:
    """Whether the pixel data is compressed (encapsulated)."""
    return bool(ds.file_meta.TransferSyntaxUID.is_encapsulated)


def _photometric(ds: Dataset) -> str:
    """(0028,0004) *Photometric Interpretation*, stripped and upper case."""
    return str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()


def _float(value: Any, default: float) -> float:
    """A DS/FD value as float, or `default` when missing or malformed."""
    number = _number(value)
    return default if number is None else number


def _number(value: Any) -> float | None:
    """A numeric element value as float (first of several), or None."""
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
