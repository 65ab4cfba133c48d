"""Tests for native_frame: the frame bytes read from the file equal raw_frame's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from claripacs_jupyter.dicom import raw_frame, read
from claripacs_jupyter.dicom.native import native_frame

from .conftest import build_dataset, encode


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
@pytest.mark.parametrize("dtype", ["<i2", "<u2", "u1", "i1"])
def test_native_frames_equal_raw_frame_for_each_frame(
    tmp_path: Path, syntax: str, dtype: str
) -> None:
    values = np.arange(3 * 4 * 5).reshape(3, 4, 5).astype(dtype) - (
        7 if dtype[-2] == "i" else 0
    )
    path = _write(tmp_path / "multi.dcm", encode(build_dataset(values), syntax))
    ds = read(path)

    got = [native_frame(path, index) for index in range(3)]

    assert got == [raw_frame(ds, index) for index in range(3)]


def test_bits_above_high_bit_are_sign_extended_as_raw_frame_does(
    tmp_path: Path,
) -> None:
    # 12 stored bits in 16: 0x0FFF is -1, and an overlay bit at 0x4000 is not data
    stored = np.array([[0x0FFF, 0x4001], [0x0800, 0x07FF]], dtype="<u2")
    ds = build_dataset(
        stored.view("<i2"), BitsStored=12, HighBit=11, PixelRepresentation=1
    )
    path = _write(tmp_path / "twelve.dcm", encode(ds))

    got = native_frame(path, 0)

    assert got == raw_frame(read(path), 0)
    assert np.frombuffer(got or b"", "<i2").tolist() == [-1, 1, -2048, 2047]


def test_a_real_ct_slice_reads_the_same_as_decoding_it() -> None:
    path = Path(get_testdata_file("693_UNCR.dcm"))  # 14 of 16 bits, signed

    got = native_frame(path, 0)

    assert got is not None
    assert got == raw_frame(read(path), 0)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("SC_rgb.dcm", "colour"),
        ("MR_small_bigendian.dcm", "big endian"),
        ("MR_small_RLE.dcm", "compressed"),
        ("liver_1frame.dcm", "one bit per pixel"),
    ],
)
def test_files_that_need_decoding_are_left_to_raw_frame(name: str, why: str) -> None:
    path = Path(get_testdata_file(name))

    got = native_frame(path, 0)

    assert got is None, why


def test_a_short_pixel_data_or_a_file_that_is_not_dicom_is_left_to_raw_frame(
    tmp_path: Path,
) -> None:
    values = np.arange(16, dtype="<u2").reshape(4, 4)
    short = build_dataset(values)
    short.PixelData = short.PixelData[:-2]
    path = _write(tmp_path / "short.dcm", encode(short))

    assert native_frame(path, 0) is None
    assert native_frame(tmp_path / "missing.dcm", 0) is None
    assert native_frame(_write(tmp_path / "junk.dcm", b"not dicom"), 0) is None


def test_a_frame_past_the_last_is_left_to_raw_frame(tmp_path: Path) -> None:
    values = np.zeros((2, 3, 3), dtype="<u2")
    path = _write(tmp_path / "two.dcm", encode(build_dataset(values)))

    got = native_frame(path, 2)

    assert got is None
