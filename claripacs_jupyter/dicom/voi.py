"""The VOI step: windows and VOI LUTs (the file's own, or one from the data).

A window maps modality values to 8-bit display values with the file's
(0028,1056) *VOI LUT Function*. LINEAR (the default), PS3.3 C.11.2.1.2.1::

    x <= c - 0.5 - (w - 1) / 2   ->  0
    x >  c - 0.5 + (w - 1) / 2   ->  255
    otherwise                    ->  ((x - (c - 0.5)) / (w - 1) + 0.5) * 255

LINEAR_EXACT, PS3.3 C.11.2.1.3.2::

    x <= c - w / 2   ->  0
    x >  c + w / 2   ->  255
    otherwise        ->  ((x - c) / w + 0.5) * 255

SIGMOID, PS3.3 C.11.2.1.3.1::

    255 / (1 + exp(-4 * (x - c) / w))

A (0028,3010) *VOI LUT Sequence* item maps ``floor(x)`` through its table
(values below the first mapped value take the first entry, values past the end
the last) and scales the entry from its bit depth to 8 bits:
``entry * 255 / (2**bits - 1)``.

Every result is rounded half up (``floor(y + 0.5)``) to an integer, before any
inversion (so an inverted value is exactly 255 minus the upright one). The
browser viewer computes the same formulas with the same rounding, so a PNG and
the canvas agree.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from . import pixels
from .values import numeric_value

logger = logging.getLogger(__name__)

__all__ = [
    "VOI_FUNCTIONS",
    "VoiLut",
    "Window",
    "apply_window",
    "default_window",
    "value_range",
    "voi_function",
    "voi_luts",
    "window_for_range",
    "windows",
]

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True)
class VoiLut:
    """One item of (0028,3010) *VOI LUT Sequence*, ready to apply.

    Attributes
    ----------
    first : int
        The first input value mapped (second value of (0028,3002) *LUT
        Descriptor*), signed when the values it maps can be negative.
    bits : int
        Bits per entry actually used (see :func:`voi_luts` for descriptors
        that misstate it).
    data : tuple of int
        (0028,3006) *LUT Data*: entry i is the output for input ``first + i``.
    """

    first: int
    bits: int
    data: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """The LUT as a JSON-safe dict with keys first, bits and data."""
        return {"first": self.first, "bits": self.bits, "data": list(self.data)}

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Map values through the LUT to uint8 display values.

        Parameters
        ----------
        values : numpy.ndarray
            Modality values of any shape; fractions are dropped (floor), and
            not-a-number shows black.

        Returns
        -------
        numpy.ndarray
            uint8 values of the same shape.
        """
        table = np.asarray(self.data, dtype=np.float64) * 255.0
        table = np.floor(table / float(2**self.bits - 1) + 0.5)
        table = table.clip(0, 255).astype(np.uint8)
        values = np.asarray(values, dtype=np.float64)
        missing = ~np.isfinite(values)
        floored = np.floor(np.where(missing, self.first, values))
        index = (floored - self.first).clip(0, len(table) - 1).astype(np.int64)
        shown = table[index]
        shown[missing] = 0
        return shown


@dataclass(frozen=True)
class Window:
    """A VOI window in modality values (Hounsfield units for CT), or a VOI LUT.

    Attributes
    ----------
    center : float
        (0028,1050) *Window Center*.
    width : float
        (0028,1051) *Window Width*: at least 1 for LINEAR, above 0 otherwise.
    name : str
        A label for menus: the file's (0028,1055) *Window Center & Width
        Explanation* or (0028,3003) *LUT Explanation*, else "file 1",
        "file 2"... or "file LUT 1"...; "data range" for a window computed
        from the pixels.
    function : str or None
        LINEAR, LINEAR_EXACT or SIGMOID; None means the file's own
        (0028,1056) *VOI LUT Function* (see :func:`voi_function`).
    lut : VoiLut or None
        For a window that is one of the file's VOI LUTs: the LUT, which is
        applied instead of the function. Its center and width then span the
        LUT's input range, a start for interactive windowing.
    lut_index : int or None
        The LUT's position in (0028,3010) *VOI LUT Sequence*.
    """

    center: float
    width: float
    name: str = ""
    function: str | None = None
    lut: VoiLut | None = field(default=None, compare=False, repr=False)
    lut_index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The window as a JSON-safe dict.

        Keys center, width, name, function (None: the file's) and lut (the
        LUT's position in the file's VOI LUT Sequence, or None).
        """
        return {
            "center": self.center,
            "width": self.width,
            "name": self.name,
            "function": self.function,
            "lut": self.lut_index,
        }


def windows(ds: Dataset, frame: int = 0) -> list[Window]:
    """The file's own windows, in the order the file lists them, then its LUTs.

    For enhanced multi-frame files the frame's (0028,9132) *Frame VOI LUT
    Sequence* is used; otherwise the top-level (0028,1050) *Window Center* and
    (0028,1051) *Window Width*. Pairs with a width the standard does not
    allow for the file's VOI LUT Function (below 1 for LINEAR, 0 or less
    otherwise) are left out. Each item of (0028,3010) *VOI LUT Sequence*
    follows as a window with its :class:`VoiLut`.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame whose windows are wanted, counting from 0.

    Returns
    -------
    list of Window
        Possibly empty.
    """
    source = pixels.functional_group(ds, frame, "FrameVOILUTSequence") or ds
    centers = _numbers(numeric_value(source, "WindowCenter"))
    widths = _numbers(numeric_value(source, "WindowWidth"))
    explanation = source.get("WindowCenterWidthExplanation")
    if isinstance(explanation, str):
        names = [explanation]
    else:
        names = [str(name) for name in explanation or []]

    function = voi_function(ds, frame)
    least = 1.0 if function == "LINEAR" else 0.0
    found: list[Window] = []
    for position, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if width < least or width <= 0:
            logger.warning("skipping a window with width %s (%s)", width, function)
            continue
        name = names[position].strip() if position < len(names) else ""
        found.append(Window(center, width, name or f"file {position + 1}"))

    for position, (lut, explanation) in enumerate(_luts(ds, frame)):
        span = window_for_range(lut.first, lut.first + len(lut.data) - 1)
        name = explanation or f"file LUT {position + 1}"
        found.append(Window(span.center, span.width, name, lut=lut, lut_index=position))
    return found


def voi_function(ds: Dataset, frame: int = 0) -> str:
    """(0028,1056) *VOI LUT Function* of a frame: LINEAR unless the file says.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0 (enhanced files keep it per frame).

    Returns
    -------
    str
        LINEAR, LINEAR_EXACT or SIGMOID; an unknown value counts as LINEAR.
    """
    source = pixels.functional_group(ds, frame, "FrameVOILUTSequence") or ds
    value = str(source.get("VOILUTFunction", "") or "").strip().upper()
    if value in VOI_FUNCTIONS:
        return value
    if value:
        logger.warning("unknown (0028,1056) VOI LUT Function; using LINEAR")
    return "LINEAR"


def voi_luts(ds: Dataset, frame: int = 0) -> list[VoiLut]:
    """The items of (0028,3010) *VOI LUT Sequence*, in the file's order.

    The (0028,3002) *LUT Descriptor* gives the number of entries (0 meaning
    65536), the first mapped value and the bits per entry. Two misstatements
    that real writers make are allowed for: a descriptor that says 16 (or
    10 to 15) bits for a table whose entries all fit in 8, read as 8 bits
    (otherwise the image would be near black); and one that says 8 bits for
    entries above 255, read as 16. A first mapped value written unsigned for
    data that can be negative is read as signed.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0 (enhanced files may keep the sequence in
        their (0028,9132) *Frame VOI LUT Sequence*).

    Returns
    -------
    list of VoiLut
        Possibly empty; items without a descriptor or data are left out.
    """
    return [lut for lut, _ in _luts(ds, frame)]


def value_range(ds: Dataset, frame: int | None = None) -> tuple[float, float] | None:
    """The lowest and highest modality value, padding left out.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        One frame, counting from 0; all frames when None.

    Returns
    -------
    tuple of float or None
        ``(low, high)``; None for colour images and when every pixel is padding.
    """
    if pixels.is_color(ds):
        return None
    if frame is not None:
        stacks = [(frame, pixels.frame(ds, frame))]
    else:
        stacks = list(enumerate(pixels.iter_frames(ds)))

    low, high = np.inf, -np.inf
    for index, stored in stacks:
        values = pixels._modality(ds, stored, index)
        mask = pixels.padding_mask(ds, stored)
        if mask is not None:
            values = values[~mask]
        values = values[np.isfinite(values)]
        if values.size:
            low = min(low, float(values.min()))
            high = max(high, float(values.max()))
    if low > high:
        return None
    return low, high


def window_for_range(low: float, high: float, name: str = "data range") -> Window:
    """The window that maps `low` to 0 and `high` to 255 exactly.

    Parameters
    ----------
    low, high : float
        The value range to show.
    name : str, optional
        The window's label.

    Returns
    -------
    Window
        Center ``(low + high + 1) / 2``, width ``high - low + 1``: with the
        linear function, ``low`` is the last value shown black and ``high``
        the first shown white.
    """
    width = max(high - low + 1.0, 1.0)
    return Window((low + high + 1.0) / 2.0, width, name)


def default_window(
    ds: Dataset,
    frame: int = 0,
    *,
    known_range: tuple[float, float] | None = None,
) -> Window:
    """The window a viewer opens with: the file's first, else the data range.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0 (its range is used when the file has no
        window).
    known_range : tuple of float, optional
        The frame's :func:`value_range` when the caller has it already, to
        save decoding it again.

    Returns
    -------
    Window
        The file's first window; else :func:`window_for_range` over the frame's
        modality values without padding; for colour images, and images that
        are all padding, the identity window over 0..255.
    """
    own = windows(ds, frame)
    if own:
        # Window pairs come first: a file with both shows its first window,
        # one with only a VOI LUT shows the LUT.
        return own[0]
    found = known_range or value_range(ds, frame)
    if found is None:
        return window_for_range(0.0, 255.0, "full range")
    return window_for_range(*found)


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Map values to 8-bit display values with the window's function or LUT.

    Parameters
    ----------
    values : numpy.ndarray
        Modality values (any shape; RGB samples are windowed one by one).
    window : Window
        The window to apply: its LUT when it has one, else its function (None
        counts as LINEAR; pass the file's with :func:`voi_function`). For
        LINEAR, widths below 1 count as 1.

    Returns
    -------
    numpy.ndarray
        uint8 values of the same shape.
    """
    # Our own code rather than pydicom's apply_windowing and apply_voi. Its
    # LINEAR_EXACT and SIGMOID formulas are the standard's, but it takes the
    # window from the dataset and maps to the stored bit depth (or its
    # rescaled range), while we need 8-bit output at any window, rounded
    # exactly as the browser viewer rounds. Its apply_voi casts the table to
    # uint8 whenever the descriptor says 8 bits (wrapping 16-bit entries) and
    # does not floor fractional modality values.
    if window.lut is not None:
        return window.lut.apply(values)
    if window.function == "LINEAR_EXACT":
        return _linear_exact(values, window.center, window.width)
    if window.function == "SIGMOID":
        return _sigmoid(values, window.center, window.width)
    center = float(window.center)
    width = max(float(window.width), 1.0)
    low = center - 0.5 - (width - 1.0) / 2.0
    high = center - 0.5 + (width - 1.0) / 2.0

    values = np.asarray(values, dtype=np.float64)
    if width > 1.0:
        # The standard's ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, reordered so
        # that a result exactly halfway between two integers is computed
        # exactly (for integer values and windows) and rounds up as intended.
        scaled = (values - (center - 0.5)) * 255.0 / (width - 1.0) + 127.5
    else:
        scaled = np.zeros_like(values)
    scaled = np.where(values <= low, 0.0, np.where(values > high, 255.0, scaled))
    # Not-a-number (possible in float pixel data) shows black.
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.floor(scaled + 0.5).clip(0, 255).astype(np.uint8)


def _linear_exact(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.3.2 to 8 bits, rounded half up."""
    width = float(width) if width > 0 else 1.0
    center = float(center)
    values = np.asarray(values, dtype=np.float64)
    scaled = (values - center) * 255.0 / width + 127.5
    scaled = np.where(
        values <= center - width / 2.0,
        0.0,
        np.where(values > center + width / 2.0, 255.0, scaled),
    )
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.floor(scaled + 0.5).clip(0, 255).astype(np.uint8)


def _sigmoid(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.3.1 to 8 bits, rounded half up."""
    width = float(width) if width > 0 else 1.0
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        # exp overflows to inf far below the center: 255 / inf is 0, right.
        scaled = 255.0 / (1.0 + np.exp(-4.0 * (values - float(center)) / width))
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.floor(scaled + 0.5).clip(0, 255).astype(np.uint8)


def _luts(ds: Dataset, frame: int) -> list[tuple[VoiLut, str]]:
    """The usable VOI LUT items of a frame with their LUT Explanations."""
    group = pixels.functional_group(ds, frame, "FrameVOILUTSequence")
    items = (group.get("VOILUTSequence") if group is not None else None) or ds.get(
        "VOILUTSequence"
    )
    found = []
    for item in items or []:
        lut = _voi_lut(ds, item)
        if lut is not None:
            found.append((lut, str(item.get("LUTExplanation", "") or "").strip()))
    return found


def _voi_lut(ds: Dataset, item: Dataset) -> VoiLut | None:
    """One VOI LUT item as a VoiLut, or None when it cannot be used."""
    descriptor = item.get("LUTDescriptor")
    element = item.get((0x0028, 0x3006))
    if not descriptor or len(descriptor) != 3 or element is None:
        logger.warning("skipping a VOI LUT without a 3-value descriptor or data")
        return None
    entries = int(descriptor[0]) or 2**16
    first = int(descriptor[1])
    bits = int(descriptor[2])

    data = _lut_entries(ds, element.value, entries, bits)
    if data.size == 0:
        logger.warning("skipping a VOI LUT with no entries")
        return None
    if data.size != entries:
        logger.warning(
            "VOI LUT has %d entries, its descriptor says %d", data.size, entries
        )

    if first > 32767 and _input_can_be_negative(ds):
        # Written as US for input that is signed: the same 16 bits as SS.
        first -= 2**16
    largest = int(data.max())
    if bits > 8 and largest <= 255:
        bits = 8
    elif bits <= 8 and largest > 255:
        bits = 16
    bits = min(max(bits, 1), 16)
    return VoiLut(first, bits, tuple(int(entry) for entry in data))


def _lut_entries(ds: Dataset, value: object, entries: int, bits: int) -> np.ndarray:
    """LUT Data as an int64 array, whether read as US/SS numbers or OW bytes."""
    if isinstance(value, bytes | bytearray):
        little = ds.original_encoding[1]
        if little is None:
            little = True
        if bits <= 8 and len(value) in (entries, entries + 1):
            # 8-bit entries packed two to a word (padded to an even length).
            packed = np.frombuffer(value[:entries], dtype=np.uint8)
            return packed.astype(np.int64)
        usable = len(value) // 2 * 2
        dtype = np.dtype("<u2" if little is not False else ">u2")
        return np.frombuffer(value[:usable], dtype=dtype).astype(np.int64)
    if isinstance(value, int):
        return np.array([value], dtype=np.int64)
    if not isinstance(value, Sequence):
        return np.array([], dtype=np.int64)
    try:
        return np.asarray(list(value), dtype=np.int64)
    except (TypeError, ValueError):
        return np.array([], dtype=np.int64)


def _input_can_be_negative(ds: Dataset) -> bool:
    """Whether the values a VOI LUT maps (modality values) can be negative."""
    if ds.get("ModalityLUTSequence"):
        return False
    if int(ds.get("PixelRepresentation", 0) or 0) == 1:
        return True
    return pixels.rescale(ds, 0)[1] < 0


def _numbers(value: object) -> list[float]:
    """The numbers of a DS element value, single or multiple, as floats."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, MultiValue | list | tuple) else [value]
    numbers = []
    for item in items:
        try:
            number = float(item)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            numbers.append(number)
    return numbers
