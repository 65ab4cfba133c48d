"""The VOI step: windows (the file's own, or one from the data) and the 8-bit map.

The map is the DICOM linear window function, PS3.3 C.11.2.1.2.1::

    x <= c - 0.5 - (w - 1) / 2   ->  0
    x >  c - 0.5 + (w - 1) / 2   ->  255
    otherwise                    ->  ((x - (c - 0.5)) / (w - 1) + 0.5) * 255

rounded half up (``floor(y + 0.5)``) to an integer, before any MONOCHROME1
inversion (so an inverted value is exactly 255 minus the upright one). The
browser viewer computes the same formula with the same rounding, so a PNG and
the canvas agree.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from . import pixels
from .values import numeric_value

logger = logging.getLogger(__name__)

__all__ = [
    "Window",
    "apply_window",
    "default_window",
    "value_range",
    "window_for_range",
    "windows",
]


@dataclass(frozen=True)
class Window:
    """A linear VOI window in modality values (Hounsfield units for CT).

    Attributes
    ----------
    center : float
        (0028,1050) *Window Center*.
    width : float
        (0028,1051) *Window Width*, at least 1.
    name : str
        A label for menus: the file's (0028,1055) *Window Center & Width
        Explanation*, else "file 1", "file 2"...; "data range" for a window
        computed from the pixels.
    """

    center: float
    width: float
    name: str = ""

    def to_dict(self) -> dict[str, float | str]:
        """The window as a JSON-safe dict with keys center, width and name."""
        return {"center": self.center, "width": self.width, "name": self.name}


def windows(ds: Dataset, frame: int = 0) -> list[Window]:
    """The file's own windows, in the order the file lists them.

    For enhanced multi-frame files the frame's (0028,9132) *Frame VOI LUT
    Sequence* is used; otherwise the top-level (0028,1050) *Window Center* and
    (0028,1051) *Window Width*. Pairs with a width below 1 (not allowed by the
    standard) are left out.

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
    # TODO: a (0028,3010) VOI LUT Sequence without a window, and (0028,1056)
    # VOI LUT Function SIGMOID or LINEAR_EXACT, are shown with the linear
    # window (the data range when there is none); mammography and some CR
    # files look flatter than on a workstation until both are supported here
    # and in the browser viewer.
    source = pixels.functional_group(ds, frame, "FrameVOILUTSequence") or ds
    centers = _numbers(numeric_value(source, "WindowCenter"))
    widths = _numbers(numeric_value(source, "WindowWidth"))
    explanation = source.get("WindowCenterWidthExplanation")
    if isinstance(explanation, str):
        names = [explanation]
    else:
        names = [str(name) for name in explanation or []]

    found: list[Window] = []
    for position, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if width < 1:
            logger.warning("skipping a window with width %s (below 1)", width)
            continue
        name = names[position].strip() if position < len(names) else ""
        found.append(Window(center, width, name or f"file {position + 1}"))
    return found


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
        return own[0]
    found = known_range or value_range(ds, frame)
    if found is None:
        return window_for_range(0.0, 255.0, "full range")
    return window_for_range(*found)


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Map values to 8-bit display values with the DICOM linear function.

    Parameters
    ----------
    values : numpy.ndarray
        Modality values (any shape; RGB samples are windowed one by one).
    window : Window
        The window to apply; widths below 1 count as 1.

    Returns
    -------
    numpy.ndarray
        uint8 values of the same shape.
    """
    # Our own code rather than pydicom's apply_windowing: that one takes its
    # window from the dataset and maps to the stored bit depth, while we need
    # 8-bit output at any window, rounded exactly as the browser viewer rounds.
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
