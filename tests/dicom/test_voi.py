"""Tests for the VOI step: the DICOM linear window, rounding and file windows."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from claripacs_jupyter.dicom import Window, read, windows
from claripacs_jupyter.dicom.voi import apply_window, window_for_range

from .conftest import MakeFile


def linear(x: float, center: float, width: float) -> int:
    """PS3.3 C.11.2.1.2.1 for one value in exact arithmetic, rounded half up."""
    x, c, w = Fraction(x), Fraction(center), Fraction(width)
    if x <= c - Fraction(1, 2) - (w - 1) / 2:
        return 0
    if x > c - Fraction(1, 2) + (w - 1) / 2:
        return 255
    return math.floor(
        ((x - (c - Fraction(1, 2))) / (w - 1) + Fraction(1, 2)) * 255 + Fraction(1, 2)
    )


class TestLinearWindow:
    """The 8-bit map follows the standard's formula exactly."""

    @pytest.mark.parametrize(
        ("center", "width"), [(40, 400), (550, 1024), (0.5, 2), (-600, 1500.5)]
    )
    def test_matches_the_formula_everywhere(self, center: float, width: float) -> None:
        # Quarter steps: exact in binary, so every tie is a true tie.
        values = np.arange(center - width, center + width, 0.25)

        shown = apply_window(values, Window(center, width))

        assert shown.tolist() == [linear(x, center, width) for x in values]

    def test_rounds_half_up(self) -> None:
        # Center 10.5, width 256: x = 0 gives 117.5 and x = 1 gives 118.5
        # exactly; half up makes them 118 and 119 (half to even would give 118
        # twice).
        window = Window(10.5, 256)

        shown = apply_window(np.array([0.0, 1.0]), window)

        assert shown.tolist() == [118, 119]
        assert [linear(x, 10.5, 256) for x in (0, 1)] == [118, 119]

    def test_width_one_is_a_threshold(self) -> None:
        shown = apply_window(np.array([99.0, 99.5, 100.0]), Window(100, 1))

        assert shown.tolist() == [0, 0, 255]

    def test_not_a_number_shows_black(self) -> None:
        shown = apply_window(np.array([np.nan, 1e9]), Window(0, 10))

        assert shown.tolist() == [0, 255]

    def test_a_range_window_maps_its_ends_to_black_and_white(self) -> None:
        window = window_for_range(-896, 1167)

        shown = apply_window(np.array([-897, -896, -886, 1157, 1167, 1168]), window)

        assert shown.tolist() == [0, 0, 1, 254, 255, 255]


class TestFileWindows:
    """Windows come from the file in order, with their explanations as names."""

    def test_unnamed_windows_are_numbered(self, make_file: MakeFile) -> None:
        ds = read(
            make_file(
                np.zeros((2, 2), np.uint16),
                WindowCenter=[40, 400],
                WindowWidth=[80, 2000],
            )
        )

        assert windows(ds) == [Window(40, 80, "file 1"), Window(400, 2000, "file 2")]

    def test_widths_below_one_are_left_out(self, make_file: MakeFile) -> None:
        ds = read(
            make_file(
                np.zeros((2, 2), np.uint16), WindowCenter=[40, 50], WindowWidth=[0, 10]
            )
        )

        assert windows(ds) == [Window(50, 10, "file 2")]

    def test_a_file_without_windows_has_none(self, make_file: MakeFile) -> None:
        assert windows(read(make_file(np.zeros((2, 2), np.uint16)))) == []
