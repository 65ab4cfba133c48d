"""Pixel masking on real pydicom-data images of every colour model and syntax."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom import Dataset
from pydicom.pixels import apply_color_lut, pixel_array

from claripacs_jupyter.anonymize.masking import DeviceMask, Rect, mask_pixels, masks_for
from claripacs_jupyter.errors import InvalidInputError
from tests.anonymize.conftest import real_file

BOX = Rect(x=5, y=3, width=20, height=7)


def _written(ds: Dataset) -> Dataset:
    """`ds` written to bytes and read back, as a receiving archive reads it."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return pydicom.dcmread(BytesIO(buffer.getvalue()))


def _frames(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """`arr` as (frames, rows, columns, samples), whatever pydicom gave."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return arr.reshape((frames, int(ds.Rows), int(ds.Columns), -1))


def _inside(ds: Dataset) -> np.ndarray:
    """True on the pixels of BOX, as a rows x columns mask."""
    inside = np.zeros((int(ds.Rows), int(ds.Columns)), dtype=bool)
    inside[BOX.y : BOX.y + BOX.height, BOX.x : BOX.x + BOX.width] = True
    return inside


@pytest.mark.parametrize(
    ("name", "photometric"),
    [
        ("CT_small.dcm", "MONOCHROME2"),  # signed 16-bit CT
        ("emri_small.dcm", "MONOCHROME2"),  # 10 frames
        ("SC_rgb_2frame.dcm", "RGB"),  # 2 RGB frames
        ("US1_J2KR.dcm", "RGB"),  # JPEG 2000 lossless, YBR_RCT
        ("SC_ybr_full_uncompressed.dcm", "RGB"),
        ("SC_rgb_jpeg_dcmtk.dcm", "RGB"),  # JPEG baseline, YBR_FULL
        ("MR_small_bigendian.dcm", "MONOCHROME2"),  # Explicit VR Big Endian
        ("emri_small_big_endian.dcm", "MONOCHROME2"),  # big endian, 10 frames
        ("rtdose.dcm", "MONOCHROME2"),  # 32-bit, 15 frames
        ("SC_rgb_32bit_2frame.dcm", "RGB"),  # 32-bit RGB
        ("SC_rgb_rle_32bit.dcm", "RGB"),  # 32-bit RGB, RLE
    ],
)
def test_the_box_is_black_on_every_frame_and_the_rest_unchanged(
    name: str, photometric: str
) -> None:
    ds = real_file(name)
    before = _frames(pixel_array(ds, as_rgb=True), ds)

    out = _written(mask_pixels(ds, [BOX]))
    after = _frames(pixel_array(out), out)

    inside = _inside(ds)
    black = 0 if photometric == "RGB" else before.min()
    assert out.PhotometricInterpretation == photometric
    assert out.file_meta.TransferSyntaxUID == (
        pydicom.uid.ImplicitVRLittleEndian
        if name == "rtdose.dcm"
        else pydicom.uid.ExplicitVRLittleEndian
    )
    assert after.shape == before.shape
    assert out.BitsAllocated == ds.BitsAllocated
    assert np.array_equal(after[:, ~inside], before[:, ~inside])
    assert (after[:, inside] == black).all()
    assert out.SOPInstanceUID != ds.SOPInstanceUID


def test_a_palette_image_keeps_its_palette_and_shows_the_box_black() -> None:
    ds = real_file("OBXXXX1A.dcm")
    before = pixel_array(ds)

    out = _written(mask_pixels(ds, [BOX]))
    after = pixel_array(out)
    colours = apply_color_lut(after, out).astype(int)

    inside = _inside(ds)
    assert out.PhotometricInterpretation == "PALETTE COLOR"
    assert np.array_equal(after[~inside], before[~inside])
    darkest = apply_color_lut(before, ds).astype(int).sum(axis=-1).min()
    assert (colours[inside].sum(axis=-1) == darkest).all()


def test_lossy_history_is_kept_and_lossless_stays_lossless() -> None:
    lossy = _written(mask_pixels(real_file("SC_rgb_jpeg_dcmtk.dcm"), [BOX]))
    lossless = _written(mask_pixels(real_file("US1_J2KR.dcm"), [BOX]))

    assert lossy.LossyImageCompression == "01"
    assert "ISO_10918_1" in lossy.LossyImageCompressionMethod
    assert lossless.LossyImageCompression == "00"
    assert "LossyImageCompressionMethod" not in lossless


def test_a_device_signature_masks_every_image_of_that_scanner() -> None:
    us = real_file("US1_J2KR.dcm")
    layout = DeviceMask(
        manufacturer=f"  {str(us.Manufacturer).lower()} ",
        model=str(us.get("ManufacturerModelName", "")),
        rows=int(us.Rows),
        columns=int(us.Columns),
        rects=(BOX, Rect(0, 0, 640, 30)),
    )
    other_size = DeviceMask(
        manufacturer=str(us.Manufacturer),
        model=str(us.get("ManufacturerModelName", "")),
        rows=600,
        columns=800,
        rects=(Rect(1, 1, 2, 2),),
    )

    found = masks_for(us, [layout, other_size])
    top = pixel_array(mask_pixels(us, found))[:30]

    assert found == [BOX, Rect(0, 0, 640, 30)]
    assert masks_for(real_file("CT_small.dcm"), [layout]) == []
    assert (top == 0).all()


@pytest.mark.parametrize(
    ("rects", "message"),
    [
        ([], "at least one rectangle"),
        ([Rect(500, 0, 5, 5)], "outside the 128 x 128 image"),
        ([(500, 0, 5, 5)], "outside the 128 x 128 image"),
        ([(0, 0, 5)], "a rectangle is \\(x, y, width, height\\)"),
        ("0,0,5,5", "a list of \\(x, y, width, height\\)"),
        ([(0, 0, 5.5, 5)], "whole pixels"),
    ],
)
def test_bad_rectangles_are_refused(rects: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        mask_pixels(real_file("CT_small.dcm"), rects)


@pytest.mark.parametrize(
    "values", [(-1, 0, 5, 5), (0, 0, 0, 5), (0, 0, 5.5, 5), (True, 0, 5, 5)]
)
def test_a_rectangle_takes_whole_pixels_inside_the_image(
    values: tuple[int, int, int, int],
) -> None:
    with pytest.raises(InvalidInputError):
        Rect(*values)


def test_a_rectangle_takes_numpy_integers() -> None:
    rect = Rect(np.int64(5), np.int32(3), np.uint16(20), 7)

    assert rect == BOX and type(rect.x) is int


def test_rectangles_may_be_plain_tuples() -> None:
    ct = real_file("CT_small.dcm")

    as_tuples = mask_pixels(ct, [(BOX.x, BOX.y, BOX.width, BOX.height)])
    as_rects = mask_pixels(ct, [BOX])

    assert np.array_equal(pixel_array(as_tuples), pixel_array(as_rects))


def test_an_instance_without_pixels_is_refused_clearly() -> None:
    with pytest.raises(InvalidInputError, match="no image pixels to mask"):
        mask_pixels(real_file("test-SR.dcm"), [BOX])


def _without(keyword: str) -> Dataset:
    ds = real_file("CT_small.dcm")
    delattr(ds, keyword)
    return ds


def _short_pixels() -> Dataset:
    ds = real_file("CT_small.dcm")
    ds.PixelData = ds.PixelData[:100]
    return ds


def _no_meta() -> Dataset:
    ds = real_file("CT_small.dcm")
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    return ds


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: real_file("JPEG-lossy.dcm"), "cannot be decoded"),  # damaged stream
        (_short_pixels, "cannot be decoded"),
        (lambda: _without("BitsAllocated"), "cannot be decoded"),
        (_no_meta, "no transfer syntax"),
    ],
)
def test_pixels_that_cannot_be_decoded_are_a_clear_refusal(
    make: Callable[[], Dataset], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        mask_pixels(make(), [BOX])
