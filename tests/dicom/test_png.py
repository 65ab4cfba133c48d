"""Tests for PNG export: colour as RGB, a chosen window, physical aspect."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pydicom.data import get_testdata_file

from claripacs_jupyter.dicom import Window, read, render, to_png

from .conftest import MakeFile


def _png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image)


class TestColourPng:
    """R09: YBR_FULL_422 JPEG exports as RGB, not as raw luma and chroma."""

    def test_colour_bars_come_out_red_green_blue_white(self) -> None:
        ds = read(get_testdata_file("SC_rgb_dcmtk_+eb+cy+np.dcm"))

        picture = _png(to_png(ds))

        assert picture.shape == (100, 100, 3)
        for (row, column), colour in {
            (5, 50): (255, 0, 0),
            (25, 50): (0, 255, 0),
            (45, 50): (0, 0, 255),
            (95, 50): (255, 255, 255),
        }.items():
            difference = np.abs(picture[row, column].astype(int) - colour)
            assert difference.max() <= 6, (row, column)


class TestWindowedPng:
    """A frame exports at a chosen window."""

    def test_the_png_holds_the_rendered_values(self) -> None:
        ds = read(get_testdata_file("CT_small.dcm"))
        window = Window(40, 400)

        picture = _png(to_png(ds, 0, window))

        assert picture.shape == (128, 128)
        assert np.array_equal(picture, render(ds, 0, window))

    def test_another_window_gives_another_picture(self) -> None:
        ds = read(get_testdata_file("CT_small.dcm"))

        narrow = _png(to_png(ds, 0, Window(40, 80)))
        wide = _png(to_png(ds, 0, Window(40, 2000)))

        assert not np.array_equal(narrow, wide)


class TestPhysicalAspect:
    """R16: non-square pixels are exported with their physical proportions."""

    def test_half_millimetre_columns_make_a_picture_half_as_wide(
        self, make_file: MakeFile
    ) -> None:
        ds = read(
            make_file(
                np.arange(128 * 128, dtype=np.uint16).reshape(128, 128),
                PixelSpacing=[1.0, 0.5],
            )
        )

        picture = _png(to_png(ds))

        height, width = picture.shape
        assert height == 2 * width
        assert (height, width) == (256, 128)

    def test_square_pixels_are_left_alone(self) -> None:
        ds = read(get_testdata_file("CT_small.dcm"))

        assert _png(to_png(ds)).shape == (128, 128)
