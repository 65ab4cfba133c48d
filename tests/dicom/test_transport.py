"""Tests for what the viewer receives: image_info and raw_frame round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from claripacs_jupyter.dicom import (
    Window,
    frames,
    image_info,
    raw_frame,
    read,
    render,
)
from claripacs_jupyter.dicom.voi import VoiLut, apply_window
from claripacs_jupyter.errors import InvalidDicomError, NotFoundError

from .conftest import MakeFile

_KEYS = {
    "rows",
    "columns",
    "frames",
    "kind",
    "dtype",
    "photometric",
    "invert",
    "rescale",
    "windows",
    "default_window",
    "voi_function",
    "voi_lut",
    "voi_luts",
    "padding",
    "pixel_spacing",
    "position",
    "orientation",
    "instance_number",
    "value_range",
}


def _read(name: str):  # type: ignore[no-untyped-def]
    return read(get_testdata_file(name))


def _decode(data: bytes, info: dict) -> np.ndarray:
    """What the viewer does with raw_frame bytes."""
    array = np.frombuffer(data, dtype=np.dtype(info["dtype"]).newbyteorder("<"))
    shape = (info["rows"], info["columns"])
    return array.reshape(shape + ((3,) if info["kind"] == "rgb" else ()))


def _viewer_render(stored: np.ndarray, info: dict, frame: int) -> np.ndarray:
    """The viewer's pipeline from the contract, on image_info alone."""
    slope, intercept = info["rescale"][frame]
    window = info["default_window"]
    values = stored * slope + intercept
    if window["lut"] is not None:
        lut = info["voi_luts"][window["lut"]]
        shown = VoiLut(lut["first"], lut["bits"], tuple(lut["data"])).apply(values)
    else:
        function = window["function"] or info["voi_function"]
        shown = apply_window(
            values, Window(window["center"], window["width"], function=function)
        )
    if info["invert"]:
        shown = 255 - shown
    if info["padding"] is not None:
        low, high = info["padding"]
        shown[(stored >= low) & (stored <= high)] = 0
    return shown


class TestImageInfo:
    """image_info is JSON-safe and says what the contract says."""

    @pytest.mark.parametrize(
        "name",
        [
            "CT_small.dcm",
            "RG3_UNCR.dcm",
            "color3d_jpeg_baseline.dcm",
            "OBXXXX1A.dcm",
            "eCT_Supplemental.dcm",
            "693_J2KR.dcm",
        ],
    )
    def test_has_every_key_and_survives_json(self, name: str) -> None:
        info = image_info(_read(name))

        assert set(info) == _KEYS
        assert json.loads(json.dumps(info)) == info

    def test_ct_facts(self) -> None:
        info = image_info(_read("693_UNCR.dcm"))

        assert info["kind"] == "gray" and info["dtype"] == "int16"
        assert info["rescale"] == [[1.0, -1024.0]]
        assert info["padding"] == [-2000, -2000]
        assert info["value_range"] == [-1024, 1468]
        assert info["default_window"] == {
            "center": 40,
            "width": 100,
            "name": "file 1",
            "function": None,
            "lut": None,
        }
        assert info["voi_function"] == "LINEAR"
        assert info["voi_lut"] is None and info["voi_luts"] == []
        assert info["invert"] is False

    def test_monochrome1_inverts(self) -> None:
        info = image_info(_read("RG3_UNCR.dcm"))

        assert info["invert"] is True
        assert info["photometric"] == "MONOCHROME1"

    def test_colour_is_rgb_uint8_without_a_range(self) -> None:
        info = image_info(_read("color3d_jpeg_baseline.dcm"))

        assert (info["kind"], info["dtype"], info["frames"]) == ("rgb", "uint8", 120)
        assert info["value_range"] is None

    def test_enhanced_geometry_comes_from_functional_groups(self) -> None:
        info = image_info(_read("eCT_Supplemental.dcm"))

        assert info["pixel_spacing"] == [0.388672, 0.388672]
        assert info["position"] == [99.5, -301.5, -159.0]
        assert info["orientation"] == [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        assert info["rescale"] == [[1.0, -1024.0], [1.0, -1024.0]]


class TestImageInfoWithoutDecoding:
    """decode=False gives everything the header holds, from the header alone."""

    @staticmethod
    def _both(name: str) -> tuple[dict, dict]:
        header = read(get_testdata_file(name), stop_before_pixels=True)
        return image_info(header, decode=False), image_info(_read(name))

    def test_pixel_statistics_are_left_out(self) -> None:
        info, full = self._both("CT_small.dcm")

        assert (info.pop("value_range"), info.pop("default_window")) == (None, None)
        del full["value_range"], full["default_window"]
        assert info == full

    def test_the_files_own_default_window_is_kept(self) -> None:
        info, full = self._both("693_UNCR.dcm")

        assert info.pop("value_range") is None
        del full["value_range"]
        assert info == full

    def test_a_colour_header_is_complete(self) -> None:
        info, full = self._both("OBXXXX1A.dcm")

        assert info == full


class TestRawFrame:
    """raw_frame bytes decode to exactly the frames() values."""

    @pytest.mark.parametrize(
        "name",
        [
            "CT_small.dcm",
            "693_J2KR.dcm",
            "RG3_J2KR.dcm",
            "MR_small_bigendian.dcm",
            "OBXXXX1A.dcm",
            "SC_rgb_small_odd_big_endian.dcm",
            "eCT_Supplemental.dcm",
        ],
    )
    def test_round_trips_to_the_frames(self, name: str) -> None:
        ds = _read(name)
        info = image_info(ds)

        decoded = [_decode(raw_frame(ds, n), info) for n in range(info["frames"])]

        assert np.array_equal(np.stack(decoded), frames(ds))

    def test_multiframe_frames_come_one_at_a_time(self) -> None:
        ds = _read("color3d_jpeg_baseline.dcm")
        info = image_info(ds)

        last = _decode(raw_frame(ds, 119), info)

        assert len(raw_frame(ds, 0)) == 480 * 640 * 3
        assert np.array_equal(last, frames(ds)[119])

    @pytest.mark.parametrize(
        "name",
        [
            "693_UNCR.dcm",
            "RG3_UNCR.dcm",
            "CT_small.dcm",
            "dicomdirtests/77654033/CR1/6154",
            "vlut_04.dcm",
        ],
    )
    def test_the_viewer_pipeline_matches_render(self, name: str) -> None:
        ds = _read(name)
        info = image_info(ds)

        shown = _viewer_render(_decode(raw_frame(ds, 0), info), info, 0)

        assert np.array_equal(shown, render(ds, 0))

    def test_a_missing_frame_is_not_found(self) -> None:
        with pytest.raises(NotFoundError):
            raw_frame(_read("CT_small.dcm"), 5)


class TestNotAnImage:
    """Datasets without an image get a clear error, not a crash."""

    def test_image_info_refuses_a_dataset_without_pixels(
        self, make_file: MakeFile
    ) -> None:
        ds = read(make_file(np.zeros((2, 2), np.uint16), PixelData=None))

        with pytest.raises(InvalidDicomError, match="no pixel data"):
            image_info(ds)


class TestImageInfoVoi:
    """image_info carries the VOI function, VOI LUTs and presentation inversion."""

    def test_a_real_voi_lut_is_sent_with_its_descriptor(self) -> None:
        info = image_info(_read("vlut_04.dcm"))

        assert info["voi_lut"] == {
            "first": 0,
            "bits": 16,
            "data": [entry * 257 for entry in range(256)],
        }
        assert info["voi_luts"] == [info["voi_lut"]]
        assert info["default_window"]["lut"] == 0
        assert info["windows"] == [info["default_window"]]

    def test_the_files_function_is_named(self, make_file: MakeFile) -> None:
        ds = read(
            make_file(
                np.zeros((2, 2), np.uint16),
                WindowCenter=100,
                WindowWidth=50,
                VOILUTFunction="LINEAR_EXACT",
            )
        )

        info = image_info(ds, decode=False)

        assert info["voi_function"] == "LINEAR_EXACT"
        assert info["default_window"]["function"] is None

    def test_presentation_lut_shape_inverse_sets_invert(
        self, make_file: MakeFile
    ) -> None:
        ds = read(
            make_file(np.zeros((2, 2), np.uint16), PresentationLUTShape="INVERSE")
        )

        assert image_info(ds)["invert"] is True

    @pytest.mark.parametrize(
        "elements",
        [
            {"WindowCenter": 300, "WindowWidth": 400, "VOILUTFunction": "SIGMOID"},
            {"WindowCenter": 300, "WindowWidth": 0.5, "VOILUTFunction": "LINEAR_EXACT"},
            {"PresentationLUTShape": "INVERSE", "WindowCenter": 9, "WindowWidth": 90},
            {"RescaleSlope": 0.5, "RescaleIntercept": -7},
        ],
    )
    def test_the_viewer_pipeline_matches_render(
        self, make_file: MakeFile, elements: dict
    ) -> None:
        stored = np.arange(0, 600, 10, dtype=np.uint16).reshape(6, 10)
        ds = read(make_file(stored, **elements))
        info = image_info(ds)

        shown = _viewer_render(_decode(raw_frame(ds, 0), info), info, 0)

        assert np.array_equal(shown, render(ds, 0))
