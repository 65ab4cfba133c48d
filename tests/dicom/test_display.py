"""Rendering rows of shared/cases/rendering.md: what a viewer shows for real files."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

from claripacs_jupyter.dicom import (
    Window,
    default_window,
    frame,
    frames,
    modality_values,
    padding_mask,
    read,
    render,
    windows,
)
from claripacs_jupyter.dicom.voi import value_range
from claripacs_jupyter.errors import NotFoundError

from .conftest import MakeFile, build_dataset, encode


def _read(name: str):  # type: ignore[no-untyped-def]
    path = get_testdata_file(name)
    assert path is not None, f"pydicom-data lacks {name}"
    return read(path)


class TestMonochrome1:
    """R01: MONOCHROME1 shows low values white."""

    @pytest.mark.parametrize("name", ["RG3_UNCR.dcm", "RG3_J2KR.dcm"])
    def test_raw_zero_is_white_and_the_brightest_value_nearly_black(
        self, name: str
    ) -> None:
        ds = _read(name)

        shown = render(ds)

        assert default_window(ds) == Window(550, 1024, "file 1")
        assert frames(ds)[0, 0, 0] == 0
        assert shown[0, 0] == 255
        assert frames(ds)[0, 794, 1169] == 1023
        assert 9 <= shown[794, 1169] <= 10


class TestFractionalRescale:
    """R03: a fractional Rescale Slope is applied, not truncated."""

    def test_slope_0_684_gives_the_exact_modality_value(self) -> None:
        ds = _read("dicomdirtests/77654033/CR1/6154")

        values = modality_values(ds, 0)

        assert frames(ds)[0, 0, 0] == 1994
        assert values[0, 0] == pytest.approx(1563.896, abs=1e-9)

    def test_it_displays_about_131_inverted_at_its_window(self) -> None:
        ds = _read("dicomdirtests/77654033/CR1/6154")

        shown = render(ds, window=Window(1600, 2800))

        assert ds.PhotometricInterpretation == "MONOCHROME1"
        assert abs(int(shown[0, 0]) - 131) <= 1


class TestSignedJ2K:
    """R04: signed CT in an unsigned J2K stream keeps its sign."""

    def test_values_are_signed_with_three_windows_and_the_first_default(
        self,
    ) -> None:
        ds = _read("J2K_pixelrep_mismatch.dcm")

        stack = frames(ds)

        assert stack[0, 0, 0] == -2000
        assert (stack.min(), stack.max()) == (-2000, 1896)
        assert [(w.center, w.width) for w in windows(ds)] == [
            (40, 100),
            (40, 100),
            (40, 200),
        ]
        assert default_window(ds) == windows(ds)[0]


class TestJ2KPrecision:
    """R05: a J2K stream whose precision differs from Bits Stored decodes right."""

    def test_compressed_and_uncompressed_are_identical(self) -> None:
        compressed = _read("693_J2KR.dcm")
        plain = _read("693_UNCR.dcm")

        assert np.array_equal(frames(compressed), frames(plain))
        assert modality_values(compressed, 0)[256, 256] == 24
        assert modality_values(plain, 0)[256, 256] == 24


class TestPixelPadding:
    """R06: Pixel Padding Value is not tissue."""

    def test_padding_pixels_are_found(self) -> None:
        ds = _read("693_UNCR.dcm")

        mask = padding_mask(ds, frames(ds)[0])

        assert mask is not None
        assert int(mask.sum()) == 55_772
        assert mask[0, 0]
        assert frames(ds)[0, 0, 0] == -2000

    def test_the_range_leaves_padding_out(self) -> None:
        ds = _read("693_UNCR.dcm")

        assert value_range(ds) == (-1024, 1468)

    def test_the_automatic_window_leaves_padding_out(self) -> None:
        ds = _read("693_UNCR.dcm")
        del ds.WindowCenter, ds.WindowWidth

        window = default_window(ds)

        assert (window.center, window.width) == (222.5, 2493)

    def test_padding_displays_black_even_under_a_window_that_shows_it(
        self,
    ) -> None:
        ds = _read("693_UNCR.dcm")
        wide = Window(-2000, 10)

        shown = render(ds, window=wide)

        assert shown[0, 0] == 0
        assert shown[~padding_mask(ds, frames(ds)[0])].min() == 255


class TestBigEndianRGB:
    """R07: big-endian RGB stored as OW has the same pixels as little endian."""

    def test_big_endian_matches_little_endian(self) -> None:
        big = frames(_read("SC_rgb_small_odd_big_endian.dcm"))
        little = frames(_read("SC_rgb_small_odd.dcm"))

        assert np.array_equal(big, little)
        assert big[0, :3, 0].tolist() == [[166, 141, 52], [63, 87, 176], [158] * 3]


class TestYbrToRgb:
    """R09: YBR colour is converted to RGB (PNG part in test_png.py)."""

    def test_jpeg_baseline_multiframe_is_an_rgb_frame_stack(self) -> None:
        ds = _read("color3d_jpeg_baseline.dcm")

        stack = frames(ds)
        shown = render(ds, 0)

        assert stack.shape == (120, 480, 640, 3)
        assert stack.dtype == np.uint8
        assert np.abs(shown[240, 320].astype(int) - 11).max() <= 6


class TestPaletteColor:
    """R10: palette colour is shown in colour, 16-bit entries as 8-bit values."""

    def test_8_bit_index_with_16_bit_entries(self) -> None:
        ds = _read("OBXXXX1A.dcm")

        shown = render(ds)

        assert ds.pixel_array[96, 789] == 249
        assert shown[96, 789].tolist() == [90, 205, 255]

    def test_16_bit_index_into_a_segmented_palette(self) -> None:
        ds = _read("gdcm-US-ALOKA-16.dcm")

        shown = render(ds)

        assert ds.pixel_array[23, 32] == 43040
        assert shown[23, 32].tolist() == [0, 250, 0]
        assert shown.dtype == np.uint8


class TestSupplementalPalette:
    """R11: values inside a supplemental palette's range are coloured."""

    def test_in_range_values_are_coloured_others_stay_grey(self) -> None:
        ds = _read("eCT_Supplemental.dcm")

        shown = render(ds, 0)

        assert frames(ds)[0, 66, 220] == 1073
        assert shown[66, 220].tolist() == [18, 180, 255]
        assert shown[0, 0].tolist() == [0, 0, 0]
        below = frames(ds)[0] < 1024
        assert (shown[below][:, 0] == shown[below][:, 2]).all()


class TestSeveralWindows:
    """R13: several window pairs are all offered; the first is the default."""

    def test_the_first_pair_is_the_default_and_the_second_can_be_chosen(
        self,
    ) -> None:
        ds = _read("examples_overlay.dcm")

        first, second = windows(ds)

        assert (first.center, first.width) == (450, 790)
        assert (second.center, second.width) == (200, 443)
        assert default_window(ds) == first
        assert frames(ds)[0, 150, 242] == 136
        assert abs(int(render(ds)[150, 242]) - 26) <= 1
        assert abs(int(render(ds, window=second)[150, 242]) - 91) <= 1

    def test_a_file_with_a_bad_sequence_renders_without_error(self) -> None:
        ds = _read("bad_sequence.dcm")

        shown = render(ds, window=windows(ds)[1])

        assert [(w.center, w.width) for w in windows(ds)] == [(40, 350), (450, 1500)]
        assert 0 < shown.mean() < 255


class TestDataRangeWindow:
    """R14: without a window in the file, the window comes from the data."""

    def test_the_window_spans_the_real_range(self) -> None:
        ds = _read("CT_small.dcm")

        window = default_window(ds)

        assert value_range(ds) == (-896, 1167)
        assert (window.center, window.width) == (136, 2064)

    def test_the_image_is_neither_black_nor_white(self) -> None:
        ds = _read("CT_small.dcm")

        shown = render(ds)

        assert modality_values(ds, 0)[0, 0] == -849
        assert abs(int(shown[0, 0]) - 6) <= 1
        assert shown.min() == 0 and shown.max() == 255
        assert 10 < shown.mean() < 245


class TestPerFrameRescale:
    """R17: each slice or frame uses its own slope and intercept."""

    def test_slices_with_their_own_slope_stay_continuous(
        self, make_file: MakeFile
    ) -> None:
        hu = np.array([-100.0, 0.0, 100.0, 200.0, 300.0])
        slopes = [1.0, 0.4, 1.0, 0.4, 1.0]
        slices = []
        for value, slope in zip(hu, slopes, strict=True):
            stored = np.full((2, 2), round((value + 1024) / slope), np.uint16)
            slices.append(
                read(make_file(stored, RescaleSlope=slope, RescaleIntercept=-1024))
            )

        centres = [modality_values(ds, 0)[0, 0] for ds in slices]

        assert centres == pytest.approx(hu.tolist())

    def test_enhanced_frames_use_their_functional_groups(
        self, make_file: MakeFile
    ) -> None:
        from pydicom.dataset import Dataset

        def transform(slope: float, intercept: float) -> Dataset:
            item = Dataset()
            item.RescaleSlope, item.RescaleIntercept = slope, intercept
            group = Dataset()
            group.PixelValueTransformationSequence = [item]
            return group

        stored = np.full((2, 2, 2), 1000, np.uint16)
        ds = read(
            make_file(
                stored,
                PerFrameFunctionalGroupsSequence=[
                    transform(1.0, -1024),
                    transform(0.5, 0),
                ],
            )
        )

        assert modality_values(ds, 0)[0, 0] == -24
        assert modality_values(ds, 1)[0, 0] == 500


class TestFloatPixels:
    """R18: float pixel data decodes exactly and windows from its range."""

    def test_float_values_decode_and_display(self, make_file: MakeFile) -> None:
        values = np.array([[-1.5, 0.0], [0.25, 1000.0]], np.float32)

        ds = read(make_file(values))
        shown = render(ds)

        assert frames(ds)[0].tolist() == values.tolist()
        assert value_range(ds) == (-1.5, 1000.0)
        assert shown[0, 0] == 0 and shown[1, 1] == 255


class TestFrames:
    """Frame stacks and frame indexes."""

    def test_single_frame_files_are_stacks_of_one(self) -> None:
        assert frames(_read("CT_small.dcm")).shape == (1, 128, 128)

    def test_a_missing_frame_is_not_found(self) -> None:
        ds = _read("CT_small.dcm")

        with pytest.raises(NotFoundError, match="frame 1 does not exist"):
            render(ds, 1)


class TestPresentationLutShape:
    """(2050,0020) Presentation LUT Shape decides inversion when present."""

    def test_inverse_inverts_a_monochrome2_image(self, make_file: MakeFile) -> None:
        stored = np.array([[0, 100, 255]], np.uint16)
        window = Window(128, 256)
        upright = render(read(make_file(stored)), window=window)

        shown = render(
            read(make_file(stored, PresentationLUTShape="INVERSE")), window=window
        )

        assert upright.tolist() == [[0, 100, 255]]
        assert shown.tolist() == [[255, 155, 0]]

    def test_identity_shows_a_monochrome1_image_upright(
        self, make_file: MakeFile
    ) -> None:
        stored = np.array([[0, 100, 255]], np.uint16)
        ds = read(
            make_file(
                stored,
                PhotometricInterpretation="MONOCHROME1",
                PresentationLUTShape="IDENTITY",
            )
        )

        shown = render(ds, window=Window(128, 256))

        assert shown.tolist() == [[0, 100, 255]]

    def test_inverse_on_monochrome1_inverts_once(self, make_file: MakeFile) -> None:
        stored = np.array([[0, 100, 255]], np.uint16)
        ds = read(
            make_file(
                stored,
                PhotometricInterpretation="MONOCHROME1",
                PresentationLUTShape="INVERSE",
            )
        )

        shown = render(ds, window=Window(128, 256))

        assert shown.tolist() == [[255, 155, 0]]

    def test_a_real_identity_file_is_upright(self) -> None:
        ds = _read("emri_small.dcm")

        shown = render(ds)

        assert ds.PresentationLUTShape == "IDENTITY"
        assert int(shown.min()) == 0 and int(shown.max()) == 255
        low = np.unravel_index(np.argmin(modality_values(ds, 0)), shown.shape)
        assert int(shown[low]) == 0


class TestBitsAboveHighBit:
    """Bits above (0028,0102) High Bit (overlays, garbage) are not the value."""

    def test_unsigned_12_bit_values_ignore_overlay_bits(
        self, make_file: MakeFile
    ) -> None:
        words = np.array([[0x1FFF, 0xF800], [0x2001, 5]], np.uint16)
        ds = read(make_file(words, BitsStored=12, HighBit=11))

        stored = frames(ds)[0]

        assert stored.tolist() == [[4095, 2048], [1, 5]]
        assert render(ds, window=Window(2048, 4096))[0, 0] == 255

    def test_signed_12_bit_values_are_sign_extended(self, make_file: MakeFile) -> None:
        words = np.array([[0x1FFF, 0xF800], [0x2001, 5]], np.uint16).view(np.int16)
        ds = read(make_file(words, BitsStored=12, HighBit=11))

        stored = frames(ds)[0]

        assert stored.tolist() == [[-1, -2048], [1, 5]]

    def test_rle_compressed_values_are_masked_too(self, make_file: MakeFile) -> None:
        words = np.array([[0x1FFF, 0xF800], [0x2001, 5]], np.uint16)
        ds = build_dataset(words)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.compress(RLELossless, encoding_plugin="pydicom")
        # Compressed as 16-bit words, then declared 12-bit: the spare bits
        # travel inside the RLE segments.
        ds.BitsStored, ds.HighBit = 12, 11
        ds = read(encode(ds, RLELossless))

        assert frame(ds, 0).tolist() == [[4095, 2048], [1, 5]]

    def test_a_high_bit_below_bits_stored_still_masks(
        self, make_file: MakeFile
    ) -> None:
        words = np.array([[0x1FFF, 0xF800]], np.uint16)
        ds = read(make_file(words, BitsStored=16, HighBit=11))

        assert frame(ds, 0).tolist() == [[4095, 2048]]
