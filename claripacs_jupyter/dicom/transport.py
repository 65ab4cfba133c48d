"""What the browser viewer receives: image facts as JSON and frames as raw values.

The viewer windows in the browser, so it gets stored values, not pictures:
:func:`raw_frame` sends one frame's values and :func:`image_info` tells it how
to turn them into display values (rescale per frame, windows with their VOI
LUT Function, VOI LUTs, padding, inversion), with the same formulas as
:func:`~claripacs_jupyter.dicom.render`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from . import pixels
from .display import inverts
from .values import numeric_value
from .voi import default_window, value_range, voi_function, windows

logger = logging.getLogger(__name__)

__all__ = ["image_info", "orientation", "pixel_spacing", "position", "raw_frame"]


def image_info(ds: Dataset, *, decode: bool = True) -> dict[str, Any]:
    """Facts about the image of `ds` that a viewer needs, JSON-safe.

    With `decode` the pixel data of a grey image is decoded once, for
    ``value_range`` and, when the file has no window, ``default_window``;
    callers that show the same instance often should keep the result.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data; with ``decode=False`` a header read with
        ``stop_before_pixels`` will do.
    decode : bool, optional
        When False, nothing is decoded: ``value_range`` is None for grey
        images, and so is ``default_window`` when the file has no window of
        its own. Everything else is the same.

    Returns
    -------
    dict
        ``rows``, ``columns``, ``frames``, ``kind`` ("gray" or "rgb"),
        ``dtype`` (the dtype of :func:`raw_frame`), ``photometric`` (as the
        file declares it), ``invert`` (MONOCHROME1), ``rescale`` ([slope,
        intercept] per frame), ``windows`` and ``default_window`` (dicts with
        center, width, name, function and lut, see :meth:`Window.to_dict`),
        ``voi_function`` (the file's (0028,1056) *VOI LUT Function* for
        frame 0: LINEAR, LINEAR_EXACT or SIGMOID), ``voi_luts`` (the file's
        VOI LUTs as dicts with first, bits and data; a window's lut is a
        position in this list), ``voi_lut`` (the first of them, or None),
        ``padding`` ([low, high] stored values or None),
        ``pixel_spacing`` ([row, column] mm or None), ``position``,
        ``orientation``, ``instance_number``, ``value_range`` ([min, max]
        modality values without padding, None for rgb) and ``frames_info``.

        The per-frame keys (``position``, ``orientation``,
        ``pixel_spacing``, ``windows``, ``voi_function``, ``voi_luts``) are
        frame 0's. ``frames_info`` is None when every frame has the same
        values, which is always so for files without functional groups.
        Otherwise it is a list with one dict per frame that holds only the
        keys whose values differ between frames (the same keys in every
        dict), among those above and ``rescale`` ([slope, intercept]); a
        key left out has the top-level value. A frame's windows refer by
        ``lut`` to its own ``voi_luts`` and its first window is the one to
        open it with; without windows, ``default_window``.

    Raises
    ------
    InvalidDicomError
        The dataset holds no image, or its pixel data cannot be decoded.
    """
    pixels.require_image(ds, header_only=not decode)
    count = pixels.frame_count(ds)
    color = pixels.is_color(ds)
    if color or ds.get("ModalityLUTSequence"):
        # RGB needs no rescale; a modality LUT is applied before sending.
        rescales = [[1.0, 0.0]] * count
    else:
        rescales = [list(pixels.rescale(ds, index)) for index in range(count)]
    padding = pixels.padding_range(ds)
    own = windows(ds)
    found = value_range(ds) if decode else None
    if own:
        default: dict[str, Any] | None = own[0].to_dict()
    elif color or (decode and count == 1):
        # One frame: its range is the image's, already at hand.
        default = default_window(ds, 0, known_range=found).to_dict()
    elif decode:
        default = default_window(ds, 0).to_dict()
    else:
        default = None
    instance_number = numeric_value(ds, "InstanceNumber")
    luts = [window.lut.to_dict() for window in own if window.lut is not None]

    return {
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "frames": count,
        "kind": "rgb" if color else "gray",
        "dtype": _wire_dtype(ds).name,
        "photometric": str(ds.get("PhotometricInterpretation", "")).strip(),
        "invert": inverts(ds) and not color,
        "rescale": rescales,
        "windows": [window.to_dict() for window in own],
        "default_window": default,
        "voi_function": voi_function(ds),
        "voi_lut": luts[0] if luts else None,
        "voi_luts": luts,
        "padding": list(padding) if padding is not None else None,
        "pixel_spacing": _list(pixel_spacing(ds)),
        "position": _list(position(ds)),
        "orientation": _list(orientation(ds)),
        "instance_number": _int(instance_number),
        "value_range": list(found) if found is not None else None,
        "frames_info": _frames_info(ds, rescales),
    }


def _frames_info(
    ds: Dataset, rescales: list[list[float]]
) -> list[dict[str, Any]] | None:
    """The per-frame facts that differ between frames, or None (see image_info)."""
    count = len(rescales)
    groups = ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence")
    if count < 2 or not any(ds.get(keyword) for keyword in groups):
        # Without functional groups every frame shares the top-level elements.
        return None
    facts = [_frame_facts(ds, index, rescales[index]) for index in range(count)]
    varying = [key for key in facts[0] if any(f[key] != facts[0][key] for f in facts)]
    if not varying:
        return None
    return [{key: fact[key] for key in varying} for fact in facts]


def _frame_facts(ds: Dataset, frame: int, rescale: list[float]) -> dict[str, Any]:
    """One frame's geometry, rescale and VOI, as image_info gives them."""
    own = windows(ds, frame)
    return {
        "position": _list(position(ds, frame)),
        "orientation": _list(orientation(ds, frame)),
        "pixel_spacing": _list(pixel_spacing(ds, frame)),
        "rescale": rescale,
        "windows": [window.to_dict() for window in own],
        "voi_function": voi_function(ds, frame),
        "voi_luts": [w.lut.to_dict() for w in own if w.lut is not None],
    }


def raw_frame(ds: Dataset, frame: int) -> bytes:
    """One frame's values as little-endian bytes, for the browser viewer.

    Only that frame is decoded.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int
        The frame, counting from 0.

    Returns
    -------
    bytes
        Rows x columns values in ``image_info(ds)["dtype"]``, C order; for
        kind "rgb", rows x columns x 3 uint8, RGB interleaved. When the file
        has a (0028,3000) *Modality LUT Sequence* the values are its output
        (and the rescale in :func:`image_info` is [1, 0]).

    Raises
    ------
    NotFoundError
        The image has no such frame.
    """
    values = pixels.frame(ds, frame)
    if not pixels.is_color(ds) and ds.get("ModalityLUTSequence"):
        values = pixels._modality(ds, values, frame)
    dtype = _wire_dtype(ds)
    return np.ascontiguousarray(values, dtype=dtype.newbyteorder("<")).tobytes()


def pixel_spacing(ds: Dataset, frame: int = 0) -> tuple[float, float] | None:
    """The (row, column) spacing of pixels in mm, or None when unknown.

    From the frame's (0028,9110) *Pixel Measures Sequence* (enhanced files,
    where frames may differ), else (0028,0030) *Pixel Spacing*, else
    (0018,1164) *Imager Pixel Spacing* (projection radiographs, measured at
    the detector: right for the aspect ratio).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0.

    Returns
    -------
    tuple of float or None
        ``(row spacing, column spacing)``, both positive.
    """
    measures = pixels.functional_group(ds, frame, "PixelMeasuresSequence")
    for source, keyword in (
        (measures, "PixelSpacing"),
        (ds, "PixelSpacing"),
        (ds, "ImagerPixelSpacing"),
    ):
        values = _floats(
            numeric_value(source, keyword) if source is not None else None, 2
        )
        if values is not None and values[0] > 0 and values[1] > 0:
            return values[0], values[1]
    return None


def position(ds: Dataset, frame: int = 0) -> tuple[float, float, float] | None:
    """(0020,0032) *Image Position (Patient)* of a frame in mm, or None.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset.
    frame : int, optional
        The frame, counting from 0 (enhanced files keep it per frame).

    Returns
    -------
    tuple of float or None
        x, y, z of the centre of the first transmitted pixel.
    """
    item = pixels.functional_group(ds, frame, "PlanePositionSequence")
    values = _floats(numeric_value(item or ds, "ImagePositionPatient"), 3)
    return None if values is None else (values[0], values[1], values[2])


def orientation(ds: Dataset, frame: int = 0) -> tuple[float, ...] | None:
    """(0020,0037) *Image Orientation (Patient)*: row then column cosines.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset.
    frame : int, optional
        The frame, counting from 0.

    Returns
    -------
    tuple of float or None
        Six direction cosines.
    """
    item = pixels.functional_group(ds, frame, "PlaneOrientationSequence")
    values = _floats(numeric_value(item or ds, "ImageOrientationPatient"), 6)
    return None if values is None else tuple(values)


def _wire_dtype(ds: Dataset) -> np.dtype[Any]:
    """The dtype :func:`raw_frame` sends for `ds`."""
    if not pixels.is_color(ds) and ds.get("ModalityLUTSequence"):
        descriptor = ds.ModalityLUTSequence[0].LUTDescriptor
        return np.dtype(np.uint8 if int(descriptor[2]) <= 8 else np.uint16)
    return pixels.stored_dtype(ds)


def _floats(value: Any, count: int) -> list[float] | None:
    """`count` finite floats from a multi-valued element, or None."""
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        numbers = [float(item) for item in value]
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not all(map(math.isfinite, numbers)):
        return None
    return numbers


def _list(value: tuple[float, ...] | None) -> list[float] | None:
    """A tuple as a JSON list, None unchanged."""
    return None if value is None else list(value)


def _int(value: Any) -> int | None:
    """An IS value as int, or None when missing or malformed."""
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None
