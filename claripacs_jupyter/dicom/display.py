"""The display pipeline: one frame to 8-bit grey or RGB, as a viewer shows it.

Grey frames go through the modality LUT, the VOI window (or VOI LUT) and the
inversion that (2050,0020) *Presentation LUT Shape* or MONOCHROME1 asks for;
padding is black. Colour frames come out of :mod:`.pixels` as RGB
and are windowed per sample (the default window leaves them unchanged).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from pydicom.dataset import Dataset

from . import pixels
from .voi import Window, apply_window, default_window, voi_function

logger = logging.getLogger(__name__)

__all__ = ["inverts", "render", "supplemental_palette"]


def inverts(ds: Dataset) -> bool:
    """Whether display values are inverted (low values white).

    (2050,0020) *Presentation LUT Shape* decides when the file has it:
    INVERSE inverts and IDENTITY does not, whatever the photometric
    interpretation (the Presentation LUT is the last step of the grey
    pipeline, PS3.3 C.11.6, and its output is the P-value shown; for
    MONOCHROME1 the standard's image IODs require INVERSE, which is the same
    single inversion). Without it, (0028,0004) *Photometric Interpretation*
    MONOCHROME1 inverts.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.

    Returns
    -------
    bool
        True when the display values are to be inverted.
    """
    # Not pydicom's apply_presentation_lut: INVERSE there is max - value over
    # the array it is given, so a frame without a pixel at the top of the
    # range would come out shifted; we invert the 8-bit output (255 - value)
    # exactly as the viewer does.
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if shape == "INVERSE":
        return True
    if shape == "IDENTITY":
        return False
    if shape:
        logger.warning("unknown (2050,0020) Presentation LUT Shape; ignored")
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    return photometric == "MONOCHROME1"


def render(ds: Dataset, frame: int = 0, window: Window | None = None) -> np.ndarray:
    """Render one frame to display values.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data.
    frame : int, optional
        The frame, counting from 0.
    window : Window, optional
        The VOI window in modality values, or one of the file's VOI LUTs;
        :func:`default_window` when None. A window whose function is None
        uses the file's (0028,1056) *VOI LUT Function*.

    Returns
    -------
    numpy.ndarray
        uint8 (rows, columns) for grey images; uint8 (rows, columns, 3) RGB for
        colour images and for grey images with a supplemental colour palette.

    Raises
    ------
    NotFoundError
        The image has no such frame.
    InvalidDicomError
        The pixel data cannot be decoded.
    """
    stored = pixels.frame(ds, frame)
    if pixels.is_color(ds):
        if window is None:
            return stored
        return apply_window(stored, window)

    window = window or default_window(ds, frame)
    if window.function is None and window.lut is None:
        window = replace(window, function=voi_function(ds, frame))
    shown = apply_window(pixels._modality(ds, stored, frame), window)
    if inverts(ds):
        shown = 255 - shown

    palette = supplemental_palette(ds, frame)
    if palette is not None:
        shown = _colour_from_palette(shown, stored, *palette)

    mask = pixels.padding_mask(ds, stored)
    if mask is not None:
        shown[mask] = 0
    return shown


def supplemental_palette(ds: Dataset, frame: int = 0) -> tuple[int, np.ndarray] | None:
    """The supplemental palette colour LUT of a grey image, if it has one.

    A grey image whose (0008,9205) *Pixel Presentation* is COLOR or MIXED and
    that carries a palette (PS3.3 C.8.16.2.1.1.1) shows the stored values in
    the palette's range in colour and all others through the grey pipeline.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A grey dataset.
    frame : int, optional
        The frame, counting from 0 (Pixel Presentation may be per frame).

    Returns
    -------
    tuple or None
        ``(first mapped stored value, (entries, 3) uint8 LUT)``, or None.
    """
    if "RedPaletteColorLookupTableDescriptor" not in ds:
        return None
    if _pixel_presentation(ds, frame) not in ("COLOR", "MIXED"):
        return None
    first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    return first, pixels.palette_lut(ds)


def _colour_from_palette(
    grey: np.ndarray, stored: np.ndarray, first: int, lut: np.ndarray
) -> np.ndarray:
    """RGB from grey display values, with in-range stored values from the LUT."""
    # Our own step: pydicom's apply_color_lut refuses supplemental palettes
    # because it has no grey pipeline for the values outside the palette.
    rgb = np.repeat(grey[..., np.newaxis], 3, axis=-1)
    index = stored.astype(np.int64) - first
    inside = (index >= 0) & (index < len(lut))
    rgb[inside] = lut[index[inside]]
    return rgb


def _pixel_presentation(ds: Dataset, frame: int) -> str:
    """(0008,9205) *Pixel Presentation*, top level or in a frame type macro."""
    if "PixelPresentation" in ds:
        return str(ds.PixelPresentation).strip().upper()
    for groups in (
        ds.get("PerFrameFunctionalGroupsSequence"),
        ds.get("SharedFunctionalGroupsSequence"),
    ):
        if not groups:
            continue
        item = groups[frame] if len(groups) > frame else groups[0]
        for element in item:
            if element.VR == "SQ" and element.value:
                value = element.value[0].get("PixelPresentation")
                if value:
                    return str(value).strip().upper()
    return ""
