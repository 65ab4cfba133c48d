"""Tests for what the viewer receives: image_info and raw_frame round trips."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from claripacs_jupyter.dicom import (
    Window,
    frames,
    image_info,
    raw_frame,
    read,
    render,
    to_png,
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
    "frames_info",
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
    facts = {**info, **(info["frames_info"] or [{}] * info["frames"])[frame]}
    slope, intercept = info["rescale"][frame]
    window = (facts["windows"] or [info["default_window"]])[0]
    values = stored * slope + intercept
    if window["lut"] is not None:
        lut = facts["voi_luts"][window["lut"]]
        shown = VoiLut(lut["first"], lut["bits"], tuple(lut["data"])).apply(values)
    else:
        function = window["function"] or facts["voi_function"]
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


def _group(**macros: dict[str, Any]) -> Dataset:
    """A functional group item: each macro sequence keyword with one item."""
    group = Dataset()
    for keyword, elements in macros.items():
        item = Dataset()
        for name, value in elements.items():
            setattr(item, name, value)
        setattr(group, keyword, [item])
    return group


def _frame_group(
    z: float,
    spacing: list[float],
    rescale: tuple[float, float],
    window: tuple[float, float],
    function: str = "LINEAR",
) -> Dataset:
    """One per-frame group: position, spacing, rescale and window."""
    return _group(
        PlanePositionSequence={"ImagePositionPatient": [0.0, 0.0, z]},
        PixelMeasuresSequence={"PixelSpacing": spacing, "SliceThickness": 1},
        PixelValueTransformationSequence={
            "RescaleSlope": rescale[0],
            "RescaleIntercept": rescale[1],
            "RescaleType": "US",
        },
        FrameVOILUTSequence={
            "WindowCenter": window[0],
            "WindowWidth": window[1],
            "VOILUTFunction": function,
        },
    )


#: Row 0 of every frame of the enhanced fixture, in stored values.
_ROW = [25, 50, 55, 864, 1064, 1264]


def _enhanced(per_frame: list[Dataset], count: int = 10) -> Dataset:
    """A copy of the real enhanced MR emri_small.dcm with the given groups.

    Every frame's first row holds :data:`_ROW`, the rest 0; the shared group
    gives the orientation.
    """
    ds = _read("emri_small.dcm")
    stored = np.zeros((count, int(ds.Rows), int(ds.Columns)), np.uint16)
    stored[:, 0, : len(_ROW)] = _ROW
    ds.NumberOfFrames = count
    ds.PixelData = stored.astype("<u2").tobytes()
    ds.SharedFunctionalGroupsSequence = [
        _group(PlaneOrientationSequence={"ImageOrientationPatient": [1, 0, 0, 0, 1, 0]})
    ]
    ds.PerFrameFunctionalGroupsSequence = per_frame
    return read(io.BytesIO(_encoded(ds)))


def _encoded(ds: Dataset) -> bytes:
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _varied() -> Dataset:
    """Frame 1 differs from the others in window, function, rescale, spacing."""
    groups = [
        _frame_group(2.0 * index, [0.5, 0.5], (1.0, -1024.0), (40.0, 400.0))
        for index in range(10)
    ]
    groups[1] = _frame_group(2.0, [1.0, 0.5], (2.0, 0.0), (100.0, 50.0), "LINEAR_EXACT")
    return _enhanced(groups)


class TestEnhancedFrames:
    """Enhanced files: every frame's geometry, rescale and window of its own."""

    def test_frames_info_holds_what_differs_per_frame(self) -> None:
        ds = _varied()

        info = image_info(ds)

        frames_info = info["frames_info"]
        assert len(frames_info) == 10
        assert frames_info[0] == {
            "position": [0.0, 0.0, 0.0],
            "pixel_spacing": [0.5, 0.5],
            "rescale": [1.0, -1024.0],
            "windows": [
                {
                    "center": 40.0,
                    "width": 400.0,
                    "name": "file 1",
                    "function": None,
                    "lut": None,
                }
            ],
            "voi_function": "LINEAR",
        }
        assert frames_info[1] == {
            "position": [0.0, 0.0, 2.0],
            "pixel_spacing": [1.0, 0.5],
            "rescale": [2.0, 0.0],
            "windows": [
                {
                    "center": 100.0,
                    "width": 50.0,
                    "name": "file 1",
                    "function": None,
                    "lut": None,
                }
            ],
            "voi_function": "LINEAR_EXACT",
        }
        assert frames_info[9]["position"] == [0.0, 0.0, 18.0]
        assert info["orientation"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        assert info["pixel_spacing"] == [0.5, 0.5]
        assert info["rescale"][1] == [2.0, 0.0]
        assert json.loads(json.dumps(info)) == info

    def test_frames_that_differ_only_in_position_carry_only_positions(self) -> None:
        ds = _enhanced(
            [
                _frame_group(3.0 * index, [0.5, 0.5], (1.0, -1024.0), (40.0, 400.0))
                for index in range(10)
            ]
        )

        info = image_info(ds)

        assert [entry for entry in info["frames_info"]] == [
            {"position": [0.0, 0.0, 3.0 * index]} for index in range(10)
        ]
        assert info["windows"][0]["center"] == 40.0
        assert info["voi_function"] == "LINEAR"

    def test_frames_that_all_agree_give_no_frames_info(self) -> None:
        shared = _frame_group(5.0, [0.5, 0.5], (1.0, -1024.0), (40.0, 400.0))

        info = image_info(_enhanced([shared] * 10))

        assert info["frames_info"] is None
        assert info["position"] == [0.0, 0.0, 5.0]

    def test_files_without_functional_groups_give_no_frames_info(self) -> None:
        info = image_info(_read("emri_small.dcm"))

        assert info["frames_info"] is None

    def test_header_only_info_has_the_same_frames_info(self) -> None:
        ds = _varied()
        header = read(io.BytesIO(_encoded(ds)), stop_before_pixels=True)

        info = image_info(header, decode=False)

        assert info["frames_info"] == image_info(ds)["frames_info"]

    def test_each_frame_renders_with_its_own_rescale_and_window(self) -> None:
        ds = _varied()

        first, second = render(ds, 0)[0, :6], render(ds, 1)[0, :6]

        # Frame 0: HU -999 -974 -969 -160 40 240 through LINEAR 40/400.
        assert first.tolist() == [0, 0, 0, 0, 128, 255]
        # Frame 1: 50 100 110 1728 2128 2528 through LINEAR_EXACT 100/50.
        assert second.tolist() == [0, 128, 179, 255, 255, 255]

    def test_the_viewer_contract_renders_each_frame_as_render_does(self) -> None:
        ds = _varied()
        info = image_info(ds)

        shown = [
            _viewer_render(_decode(raw_frame(ds, frame), info), info, frame)
            for frame in (0, 1)
        ]

        assert np.array_equal(shown[0], render(ds, 0))
        assert np.array_equal(shown[1], render(ds, 1))

    def test_png_takes_each_frame_s_own_pixel_spacing(self) -> None:
        ds = _varied()

        sizes = [Image.open(io.BytesIO(to_png(ds, frame))).size for frame in (0, 1)]

        # Frame 1's rows are 1.0 mm apart and its columns 0.5 mm: twice as tall.
        assert sizes == [(64, 64), (64, 128)]

    def test_three_hundred_frames_that_differ_in_position_stay_small(self) -> None:
        ds = _enhanced(
            [
                _frame_group(float(index), [0.5, 0.5], (1.0, -1024.0), (40.0, 400.0))
                for index in range(300)
            ],
            count=300,
        )

        size = len(json.dumps(image_info(ds, decode=False)))

        # Each frame adds its position only (about 40 bytes), no window copies.
        assert size < 300 * 50 + 2000
