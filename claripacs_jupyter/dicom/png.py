"""PNG export of one rendered frame, drawn with its physical aspect ratio."""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from .display import render
from .voi import Window

logger = logging.getLogger(__name__)

__all__ = ["aspect_size", "to_png"]

#: Beyond this ratio of row to column spacing the spacing is taken to be wrong
#: and the picture is drawn square (stretching by more would mostly blow up a
#: typing error in the header into a huge image).
_MAX_ASPECT = 8.0


def to_png(
    ds: Dataset,
    frame: int = 0,
    window: Window | None = None,
    *,
    physical_aspect: bool = True,
) -> bytes:
    """Render one frame to PNG bytes.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0.
    window : Window, optional
        The VOI window; the frame's default window when None.
    physical_aspect : bool, optional
        Stretch the coarser axis so that pixels that are not square in the
        patient (different row and column spacing) are drawn with their real
        proportions; the picture is never shrunk.

    Returns
    -------
    bytes
        An 8-bit greyscale or RGB PNG.
    """
    shown = render(ds, frame, window)
    image = Image.fromarray(
        np.ascontiguousarray(shown), "RGB" if shown.ndim == 3 else "L"
    )
    if physical_aspect:
        size = aspect_size(ds, frame)
        if size != image.size:
            image = image.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def aspect_size(ds: Dataset, frame: int = 0) -> tuple[int, int]:
    """The (width, height) in which a frame of `ds` looks as it does in life.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with (0028,0010) *Rows* and (0028,0011) *Columns*.
    frame : int, optional
        The frame, counting from 0: enhanced files keep the pixel spacing
        per frame.

    Returns
    -------
    tuple of int
        ``(columns, rows)`` with the axis of larger spacing stretched by the
        ratio of the spacings; unchanged for square pixels, unknown spacing,
        or a ratio beyond 8.
    """
    from .transport import pixel_spacing

    rows, columns = int(ds.Rows), int(ds.Columns)
    spacing = pixel_spacing(ds, frame)
    if spacing is None:
        return columns, rows
    row_spacing, column_spacing = spacing
    ratio = row_spacing / column_spacing
    if not 1 / _MAX_ASPECT <= ratio <= _MAX_ASPECT:
        logger.warning("pixel spacing ratio %.3g is implausible; drawn square", ratio)
        return columns, rows
    if ratio > 1:
        return columns, round(rows * ratio)
    return round(columns / ratio), rows
