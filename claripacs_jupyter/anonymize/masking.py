"""Masking burned-in text: rectangles of an image set to black on every frame.

A rectangle is given for one image, or for every image of a device signature
(manufacturer, model and image size), so that a known ultrasound layout, whose
name and ID box is always in the same place, is masked on every file of that
scanner. Masking decodes the pixels (pydicom's pixel handlers), blacks out
the rectangles on every frame and stores the result uncompressed (pydicom's
``Dataset.set_pixel_data``), so that:

- the transfer syntax says what the bytes are (Explicit VR Little Endian, or
  Implicit VR Little Endian for a file that was), big endian files included;
- 32-bit images stay 32-bit;
- YBR colour comes out as RGB, as pydicom decodes it, and says so;
- a palette image keeps its palette, and its masked pixels take the index of
  the palette's darkest colour;
- an image that was lossy-compressed before keeps saying so in (0028,2110)
  *LossyImageCompression*, with the method its transfer syntax names;
- the pixels outside the rectangles are the values pydicom decoded, unchanged.

The masked instance is a new image, so it gets a new SOP Instance UID.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom import Dataset
from pydicom.pixels import pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from ..errors import InvalidInputError

__all__ = ["DeviceMask", "Rect", "as_rects", "mask_pixels", "masks_for"]

# Transfer syntaxes whose compression loses information, and the code
# (0028,2114) LossyImageCompressionMethod gives each (PS3.3 C.7.6.1.1.5).
_LOSSY_METHODS = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",  # JPEG Extended
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.91": "ISO_15444_1",  # JPEG 2000
    "1.2.840.10008.1.2.4.93": "ISO_15444_1",  # JPEG 2000 Part 2
    "1.2.840.10008.1.2.4.201": "ISO_15444_15",  # HTJ2K
    "1.2.840.10008.1.2.4.203": "ISO_15444_15",  # HTJ2K
}


@dataclass(frozen=True)
class Rect:
    """A rectangle of an image, in pixels: columns from `x`, rows from `y`."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.width, self.height)
        # numbers.Integral takes numpy's integers too; True is not a pixel
        if not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)
            for v in values
        ):
            raise InvalidInputError(f"a mask rectangle takes whole pixels: {values}")
        for name, value in zip(("x", "y", "width", "height"), values, strict=True):
            object.__setattr__(self, name, int(value))
        values = (self.x, self.y, self.width, self.height)
        if self.x < 0 or self.y < 0 or self.width < 1 or self.height < 1:
            raise InvalidInputError(
                "a mask rectangle starts at x, y of 0 or more and is at least "
                f"1 x 1 pixels: {values}"
            )


def as_rects(items: Iterable[object]) -> list[Rect]:
    """Rectangles from :class:`Rect`\\ s or ``(x, y, width, height)`` sequences.

    Raises
    ------
    InvalidInputError
        An item that is neither, or whose numbers are not whole pixels.
    """
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise InvalidInputError(
            "give the rectangles as a list of (x, y, width, height) in pixels"
        )
    rects = []
    for item in items:
        if isinstance(item, Rect):
            rects.append(item)
        elif isinstance(item, list | tuple) and len(item) == 4:
            rects.append(Rect(*item))
        else:
            raise InvalidInputError(
                f"a rectangle is (x, y, width, height) in pixels, not {item!r}"
            )
    return rects


@dataclass(frozen=True)
class DeviceMask:
    """Rectangles to mask on every image of one device signature.

    Attributes
    ----------
    manufacturer, model : str
        (0008,0070) *Manufacturer* and (0008,1090) *ManufacturerModelName*,
        compared without case and surrounding spaces.
    rows, columns : int
        The image size the layout belongs to.
    rects : tuple of Rect
        What to mask.
    """

    manufacturer: str
    model: str
    rows: int
    columns: int
    rects: tuple[Rect, ...]

    def matches(self, ds: Dataset) -> bool:
        """True when `ds` comes from this device, at this image size."""

        def same(keyword: str, expected: str) -> bool:
            found = str(ds.get(keyword, "") or "").strip().casefold()
            return found == expected.strip().casefold()

        return (
            same("Manufacturer", self.manufacturer)
            and same("ManufacturerModelName", self.model)
            and int(ds.get("Rows", 0) or 0) == self.rows
            and int(ds.get("Columns", 0) or 0) == self.columns
        )


def masks_for(ds: Dataset, rules: Iterable[DeviceMask]) -> list[Rect]:
    """The rectangles of every rule whose device signature `ds` has."""
    return [rect for rule in rules if rule.matches(ds) for rect in rule.rects]


def mask_pixels(ds: Dataset, rects: Sequence[Rect]) -> Dataset:
    """Black out `rects` on every frame of `ds`; return the masked copy.

    Parameters
    ----------
    ds : pydicom.Dataset
        An image (native or compressed; grey, RGB, YBR or palette colour).
        It is not changed.
    rects : sequence of Rect or of (x, y, width, height)
        What to mask; parts outside the image are ignored.

    Returns
    -------
    pydicom.Dataset
        A copy with the masked pixels stored uncompressed and a new SOP
        Instance UID.

    Raises
    ------
    InvalidInputError
        No rectangle, one that lies wholly outside the image, or an instance
        without pixel data.
    """
    rects = as_rects(rects)
    if not rects:
        raise InvalidInputError("give at least one rectangle to mask")
    if "PixelData" not in ds or "Rows" not in ds or "Columns" not in ds:
        raise InvalidInputError("the instance has no image pixels to mask")
    rows, columns = int(ds.Rows), int(ds.Columns)
    for rect in rects:
        if rect.x >= columns or rect.y >= rows:
            raise InvalidInputError(
                f"a mask rectangle at x={rect.x}, y={rect.y} lies outside the "
                f"{columns} x {rows} image"
            )

    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        raise InvalidInputError("the instance has no transfer syntax to decode it by")
    syntax = UID(str(meta.TransferSyntaxUID))
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    try:
        pixels = pixel_array(ds, as_rgb=True)
    except (ValueError, RuntimeError, NotImplementedError, AttributeError) as exc:
        # pydicom's reasons: a missing or wrong pixel attribute, data too
        # short, a stream no installed decoder reads
        raise InvalidInputError(f"the pixel data cannot be decoded: {exc}") from None
    if photometric.startswith("YBR"):
        photometric = "RGB"  # pydicom converted it
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    stack = pixels.reshape((frames, rows, columns, -1)).copy()

    black = _black(ds, stack, photometric)
    for rect in rects:
        stack[:, rect.y : rect.y + rect.height, rect.x : rect.x + rect.width] = black

    out = copy.deepcopy(ds)  # Dataset.copy() would share its elements with ds
    shaped = stack if stack.shape[-1] > 1 else stack[..., 0]
    shaped = shaped[0] if frames == 1 else shaped
    # a big endian file decodes to big endian values: written as their bytes
    shaped = shaped.astype(shaped.dtype.newbyteorder("<"), copy=False)
    bits = int(ds.get("BitsStored") or shaped.dtype.itemsize * 8)
    # written little endian and uncompressed, whatever the file was; implicit
    # VR stays implicit, so that no other element needs converting
    out.file_meta.TransferSyntaxUID = (
        ImplicitVRLittleEndian
        if syntax == ImplicitVRLittleEndian
        else ExplicitVRLittleEndian
    )
    if out.original_encoding[1] is False:
        # a big endian file: decode every element (reading each does), so
        # that none is copied to the little endian output as its raw bytes
        for _ in out.iterall():
            pass
        out.set_original_encoding(False, True, out.original_character_set)
    if shaped.dtype.itemsize <= 2:
        out.set_pixel_data(shaped, photometric, bits)
    else:
        _set_wide_pixels(out, shaped, frames, photometric, bits)
    out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    _record_lossy_history(out, syntax)
    return out


def _set_wide_pixels(
    out: Dataset, pixels: np.ndarray, frames: int, photometric: str, bits: int
) -> None:
    """Store 32-bit pixels uncompressed (pydicom's set_pixel_data takes 8 and 16).

    Our own code, as little as the module attributes need: the values
    little endian, and the attributes that describe them.
    """
    samples = 3 if pixels.shape[-1] == 3 and photometric == "RGB" else 1
    for keyword in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if keyword in out:
            delattr(out, keyword)
    out.PhotometricInterpretation = photometric
    out.SamplesPerPixel = samples
    if samples > 1:
        out.PlanarConfiguration = 0
    elif "PlanarConfiguration" in out:
        del out.PlanarConfiguration
    if frames > 1 or "NumberOfFrames" in out:
        out.NumberOfFrames = frames
    out.BitsAllocated = pixels.dtype.itemsize * 8
    out.BitsStored = bits
    out.HighBit = bits - 1
    out.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    out.PixelData = pixels.tobytes()
    out["PixelData"].VR = "OW"
    out.SOPInstanceUID = generate_uid()  # as set_pixel_data gives one


def _black(ds: Dataset, stack: np.ndarray, photometric: str) -> np.ndarray | int:
    """The stored value that shows as black for this image."""
    if photometric == "PALETTE COLOR":
        return _darkest_index(ds)
    if photometric == "RGB":
        return 0
    # grey: the darkest value the image holds, so that any window that shows
    # the image shows the mask as black
    return stack.max() if photometric == "MONOCHROME1" else stack.min()


def _darkest_index(ds: Dataset) -> int:
    from pydicom.pixels import apply_color_lut

    first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    count = int(ds.RedPaletteColorLookupTableDescriptor[0]) or 65536
    indices = np.arange(
        first, first + count, dtype=np.uint16 if count > 256 else np.uint8
    )
    colours = apply_color_lut(indices, ds).astype(np.int64)
    return int(indices[int(np.argmin(colours.sum(axis=-1)))])


def _record_lossy_history(out: Dataset, syntax: UID) -> None:
    """Keep saying so when the pixels went through lossy compression before."""
    method = _LOSSY_METHODS.get(str(syntax))
    if method is None:
        return
    out.LossyImageCompression = "01"
    given = out.get("LossyImageCompressionMethod") or []
    methods = [given] if isinstance(given, str) else [str(m) for m in given]
    if method not in methods:
        out.LossyImageCompressionMethod = [*methods, method]
