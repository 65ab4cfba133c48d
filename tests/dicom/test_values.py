"""numeric_value: the plain parse of raw DS/IS values agrees with pydicom's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from claripacs_jupyter.dicom import image_info, lenient_values
from claripacs_jupyter.dicom.values import ascii_text, numeric_value
from claripacs_jupyter.errors import ClaripacsError

_KEYWORDS = [
    "RescaleSlope",
    "RescaleIntercept",
    "WindowCenter",
    "WindowWidth",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "InstanceNumber",
    "NumberOfFrames",
]


def _image_files() -> list[str]:
    """Every image file of pydicom's test files and of pydicom-data, as stored
    here (get_testdata_files would try to download the rest)."""
    folders = {
        Path(str(get_testdata_file(name))).parent
        for name in ("CT_small.dcm", "693_UNCR.dcm")
    }
    found = []
    for path in sorted(p for folder in folders for p in folder.rglob("*")):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:
            continue
        if "Rows" in ds and "Columns" in ds:
            found.append(str(path))
    return found


_IMAGES = _image_files()


def _converted(ds: Dataset) -> Dataset:
    """`ds` with every element converted by pydicom, sequences included."""
    ds = ds.copy()
    with lenient_values():
        for elem in ds.iterall():
            assert not isinstance(elem, RawDataElement)
    return ds


def _outcome(function: Any, *args: Any) -> Any:
    """What `function` returns, or the kind of error it raises."""
    try:
        with lenient_values():
            return function(*args)
    except (ClaripacsError, ArithmeticError, TypeError, ValueError) as exc:
        return type(exc)


def _numbers(value: Any) -> Any:
    """A value as plain numbers (pydicom's DSfloat, IS and MultiValue too)."""
    if isinstance(value, list | pydicom.multival.MultiValue):
        return [_numbers(item) for item in value]
    if isinstance(value, float | int):
        return float(value)
    return value


def test_many_pydicom_data_images_are_compared() -> None:
    assert len(_IMAGES) > 50


@pytest.mark.parametrize("path", _IMAGES, ids=lambda path: Path(path).name)
def test_header_image_info_is_the_same_as_from_converted_values(path: str) -> None:
    raw = pydicom.dcmread(path, stop_before_pixels=True)
    converted = _converted(pydicom.dcmread(path, stop_before_pixels=True))

    fast = _outcome(lambda: image_info(raw, decode=False))
    slow = _outcome(lambda: image_info(converted, decode=False))

    assert fast == slow
    for keyword in _KEYWORDS:
        assert _numbers(_outcome(numeric_value, raw, keyword)) == _numbers(
            _outcome(converted.get, keyword)
        ), keyword


_MALFORMED = [
    b"1.5\\abc ",
    b"",
    b"  ",
    b"1.5\0",
    b"1.5\\\\2",
    b"nan",
    b"1e999",
    b"-0 ",
    b"1_000",
    b"5.0 ",
    b"1\\2",
    b"+7",
    b"0x10",
    b"\xe9\xe9",
    b"12\\ 3.25 \\4",
]


@pytest.mark.parametrize("keyword", _KEYWORDS)
@pytest.mark.parametrize("value", _MALFORMED)
@pytest.mark.parametrize("vr", [None, "DS", "IS", "LO"])
def test_raw_values_of_every_kind_give_what_pydicom_gives(
    keyword: str, value: bytes, vr: str | None
) -> None:
    tag = BaseTag(pydicom.datadict.tag_for_keyword(keyword))
    padded = value + b" " * (len(value) % 2)
    fast, slow = Dataset(), Dataset()
    for ds in (fast, slow):
        ds.set_original_encoding(vr is None, True)
        ds[tag] = RawDataElement(tag, vr, len(padded), padded, 0, vr is None, True)

    expected = _numbers(_outcome(slow.get, keyword))
    actual = _numbers(_outcome(numeric_value, fast, keyword))

    assert repr(actual) == repr(expected)


def test_a_converted_element_is_left_to_pydicom() -> None:
    ds = Dataset()
    ds.PixelSpacing = [0.5, 0.25]

    value = numeric_value(ds, "PixelSpacing")

    assert value is ds.PixelSpacing


def test_only_numeric_keywords_are_accepted() -> None:
    with pytest.raises(ValueError, match="not a DS or IS"):
        numeric_value(Dataset(), "PatientName")


def test_ascii_text_is_none_for_other_characters() -> None:
    tag = BaseTag(0x00100010)
    latin = RawDataElement(tag, "PN", 2, b"\xe9 ", 0, False, True)
    plain = RawDataElement(tag, "PN", 4, b"Doe ", 0, False, True)

    assert ascii_text(latin) is None
    assert ascii_text(plain) == "Doe "
    assert ascii_text(None) is None
