"""Tests for the VOI step: window functions, VOI LUTs, rounding and file windows."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from claripacs_jupyter.dicom import (
    Window,
    default_window,
    frames,
    read,
    render,
    windows,
)
from claripacs_jupyter.dicom.voi import (
    apply_window,
    voi_function,
    voi_luts,
    window_for_range,
)

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


def exact(x: float, center: float, width: float) -> int:
    """PS3.3 C.11.2.1.3.2 (LINEAR_EXACT) in exact arithmetic, to 8 bits."""
    x, c, w = Fraction(x), Fraction(center), Fraction(width)
    if x <= c - w / 2:
        return 0
    if x > c + w / 2:
        return 255
    return math.floor(((x - c) / w + Fraction(1, 2)) * 255 + Fraction(1, 2))


def sigmoid(x: float, center: float, width: float) -> int:
    """PS3.3 C.11.2.1.3.1 (SIGMOID) for one value, to 8 bits."""
    return math.floor(255 / (1 + math.exp(-4 * (x - center) / width)) + 0.5)


def lut_item(
    descriptor: list[int], data: list[int] | bytes, explanation: str = ""
) -> Dataset:
    """A VOI LUT Sequence item; bytes data is written as OW."""
    item = Dataset()
    item.add_new(0x00283002, "US", descriptor)
    if isinstance(data, bytes):
        item.add_new(0x00283006, "OW", data)
    else:
        item.add_new(0x00283006, "US", data)
    if explanation:
        item.LUTExplanation = explanation
    return item


class TestVoiLutFunction:
    """(0028,1056) LINEAR_EXACT and SIGMOID follow the standard's formulas."""

    def test_linear_exact_matches_the_formula(self) -> None:
        values = np.arange(60, 140, 0.25)

        shown = apply_window(values, Window(100, 50, function="LINEAR_EXACT"))

        assert shown.tolist() == [exact(x, 100, 50) for x in values]
        assert shown[values.tolist().index(100)] == 128

    def test_linear_exact_differs_from_linear_at_the_center(self) -> None:
        value = np.array([100.0])

        linear_shown = apply_window(value, Window(100, 50))
        exact_shown = apply_window(value, Window(100, 50, function="LINEAR_EXACT"))

        # LINEAR: ((100 - 99.5) / 49 + 0.5) * 255 = 130.1; LINEAR_EXACT: 127.5.
        assert (int(linear_shown[0]), int(exact_shown[0])) == (130, 128)

    def test_sigmoid_matches_the_formula(self) -> None:
        values = np.arange(-200, 400, 0.5)

        shown = apply_window(values, Window(100, 50, function="SIGMOID"))

        assert shown.tolist() == [sigmoid(x, 100, 50) for x in values]

    def test_sigmoid_values_by_hand(self) -> None:
        # 255 / (1 + e^0) = 127.5; 255 / (1 + e^-1) = 186.4; far out: 0, 255.
        values = np.array([100.0, 112.5, -1e6, 1e6, np.nan])

        shown = apply_window(values, Window(100, 50, function="SIGMOID"))

        assert shown.tolist() == [128, 186, 0, 255, 0]

    def test_the_files_function_is_used_by_render(self, make_file: MakeFile) -> None:
        stored = np.array([[50, 100], [112, 150]], np.uint16)
        ds = read(
            make_file(
                stored, WindowCenter=100, WindowWidth=50, VOILUTFunction="SIGMOID"
            )
        )

        shown = render(ds)

        assert voi_function(ds) == "SIGMOID"
        assert shown.tolist() == [
            [sigmoid(x, 100, 50) for x in row] for row in stored.tolist()
        ]

    def test_widths_below_one_are_kept_for_linear_exact(
        self, make_file: MakeFile
    ) -> None:
        ds = read(
            make_file(
                np.zeros((2, 2), np.uint16),
                WindowCenter=[10, 20],
                WindowWidth=[0.5, 0],
                VOILUTFunction="LINEAR_EXACT",
            )
        )

        assert windows(ds) == [Window(10, 0.5, "file 1")]

    def test_an_unknown_function_counts_as_linear(self, make_file: MakeFile) -> None:
        ds = read(make_file(np.zeros((2, 2), np.uint16), VOILUTFunction="CUBIC"))

        assert voi_function(ds) == "LINEAR"

    def test_enhanced_files_keep_the_function_per_frame(
        self, make_file: MakeFile
    ) -> None:
        def group(function: str) -> Dataset:
            voi = Dataset()
            voi.WindowCenter, voi.WindowWidth = 100, 50
            voi.VOILUTFunction = function
            item = Dataset()
            item.FrameVOILUTSequence = [voi]
            return item

        stored = np.full((2, 1, 1), 112, np.uint16)
        ds = read(
            make_file(
                stored,
                PerFrameFunctionalGroupsSequence=[group("SIGMOID"), group("LINEAR")],
            )
        )

        assert [voi_function(ds, 0), voi_function(ds, 1)] == ["SIGMOID", "LINEAR"]
        assert int(render(ds, 0)[0, 0]) == sigmoid(112, 100, 50)
        assert int(render(ds, 1)[0, 0]) == linear(112, 100, 50)


def through_lut(x: float, first: int, bits: int, data: list[int]) -> int:
    """A VOI LUT entry for one value, scaled from `bits` to 8 bits half up."""
    index = min(max(math.floor(x) - first, 0), len(data) - 1)
    return math.floor(Fraction(data[index] * 255, 2**bits - 1) + Fraction(1, 2))


class TestVoiLutSequence:
    """(0028,3010) VOI LUT Sequence: a table from modality values to display."""

    def test_a_real_file_without_a_window_shows_its_lut(self) -> None:
        ds = read(get_testdata_file("vlut_04.dcm"))

        (only,) = windows(ds)
        stored = frames(ds)[0]
        shown = render(ds)
        ds.VOILUTSequence[0].LUTData = list(range(65535, -1, -257))
        reversed_shown = render(ds)

        assert only.lut is not None and only.lut_index == 0
        assert (only.lut.first, only.lut.bits, len(only.lut.data)) == (0, 16, 256)
        assert default_window(ds) == only
        # Entry i is i * 257: the 16-bit table shows each stored value as is.
        assert np.array_equal(shown, stored)
        assert np.array_equal(reversed_shown, 255 - stored)

    def test_first_mapped_value_and_clamping_with_signed_input(
        self, make_file: MakeFile
    ) -> None:
        data = [0, 1000, 40000, 65535]
        stored = np.array([[-30, -2, -1], [0, 1, 200]], np.int16)
        # -2 written unsigned (65534), as many writers do for signed data.
        ds = read(make_file(stored, VOILUTSequence=[lut_item([4, 65534, 16], data)]))

        shown = render(ds)

        assert voi_luts(ds)[0].first == -2
        assert shown.tolist() == [
            [through_lut(x, -2, 16, data) for x in row] for row in stored.tolist()
        ]
        assert shown.tolist() == [[0, 0, 4], [156, 255, 255]]

    def test_fractional_modality_values_are_floored(self, make_file: MakeFile) -> None:
        data = [0, 85, 170, 255]
        stored = np.array([[0, 1, 2, 7]], np.uint16)
        ds = read(
            make_file(
                stored,
                RescaleSlope=0.5,
                RescaleIntercept=0,
                VOILUTSequence=[lut_item([4, 0, 8], data)],
            )
        )

        shown = render(ds)

        # 0, 0.5, 1, 3.5 -> entries 0, 0, 1, 3.
        assert shown.tolist() == [[0, 0, 85, 255]]

    def test_a_16_bit_descriptor_over_8_bit_entries_reads_as_8_bits(
        self, make_file: MakeFile
    ) -> None:
        stored = np.array([[0, 1, 2]], np.uint16)
        ds = read(
            make_file(stored, VOILUTSequence=[lut_item([3, 0, 16], [0, 128, 255])])
        )

        shown = render(ds)

        assert voi_luts(ds)[0].bits == 8
        assert shown.tolist() == [[0, 128, 255]]

    def test_an_8_bit_descriptor_over_16_bit_entries_reads_as_16_bits(
        self, make_file: MakeFile
    ) -> None:
        stored = np.array([[0, 1]], np.uint16)
        ds = read(make_file(stored, VOILUTSequence=[lut_item([2, 0, 8], [0, 65535])]))

        assert render(ds).tolist() == [[0, 255]]

    def test_ow_data_is_read_in_the_files_byte_order(self, make_file: MakeFile) -> None:
        data = [4095, 2048, 0]
        raw = np.array(data, "<u2").tobytes()
        stored = np.array([[0, 1, 2]], np.uint16)
        ds = read(make_file(stored, VOILUTSequence=[lut_item([3, 0, 12], raw)]))

        shown = render(ds)

        assert shown.tolist() == [[through_lut(x, 0, 12, data) for x in (0, 1, 2)]]
        assert shown.tolist() == [[255, 128, 0]]

    def test_8_bit_ow_entries_are_packed_two_to_a_word(
        self, make_file: MakeFile
    ) -> None:
        stored = np.array([[0, 1, 2, 3]], np.uint16)
        packed = bytes([0, 64, 128, 255])
        ds = read(make_file(stored, VOILUTSequence=[lut_item([4, 0, 8], packed)]))

        assert render(ds).tolist() == [[0, 64, 128, 255]]

    def test_enhanced_frames_take_the_lut_from_their_functional_group(
        self, make_file: MakeFile
    ) -> None:
        def group(data: list[int]) -> Dataset:
            voi = Dataset()
            voi.VOILUTSequence = [lut_item([2, 0, 8], data)]
            item = Dataset()
            item.FrameVOILUTSequence = [voi]
            return item

        stored = np.array([[[0, 1]], [[0, 1]]], np.uint16)
        groups = [group([10, 20]), group([200, 100])]
        ds = read(make_file(stored, PerFrameFunctionalGroupsSequence=groups))

        assert render(ds, 0).tolist() == [[10, 20]]
        assert render(ds, 1).tolist() == [[200, 100]]

    def test_a_window_pair_comes_first_and_the_lut_can_be_chosen(
        self, make_file: MakeFile
    ) -> None:
        stored = np.array([[0, 1]], np.uint16)
        ds = read(
            make_file(
                stored,
                WindowCenter=1,
                WindowWidth=2,
                VOILUTSequence=[lut_item([2, 0, 8], [255, 0], "inverse table")],
            )
        )

        pair, table = windows(ds)

        assert (pair.lut, table.name, table.lut_index) == (None, "inverse table", 0)
        assert default_window(ds) == pair
        assert render(ds).tolist() == [[0, 255]]
        assert render(ds, window=table).tolist() == [[255, 0]]
