"""Tests for read_header: read()'s checks from the header, pixel data left unread."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
)

from claripacs_jupyter.dicom import HeaderRead, ReadLimits, read, read_header
from claripacs_jupyter.errors import ClaripacsError, InvalidDicomError

from .conftest import MakeFile, build_dataset, encode

_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


def _path(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom-data lacks {name}"
    return Path(path)


def _header(source: str | os.PathLike[str] | bytes) -> HeaderRead:
    header = read_header(source)
    assert header is not None, "read_header left the file to read()"
    return header


class _Counting(io.FileIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def readinto(self, buffer):  # type: ignore[no-untyped-def,override]
        count = super().readinto(buffer)
        _Counting.read_bytes += count or 0
        return count


class TestPixelElement:
    """read_header finds where the pixel data element lies, byte for byte."""

    @pytest.mark.parametrize(
        ("name", "syntax"),
        [
            ("693_UNCR.dcm", ExplicitVRLittleEndian),
            ("MR_small_implicit.dcm", ImplicitVRLittleEndian),
            ("MR_small_bigendian.dcm", ExplicitVRBigEndian),
        ],
    )
    def test_native_pixel_data_is_located_by_its_declared_length(
        self, name: str, syntax: str
    ) -> None:
        data = _path(name).read_bytes()
        full = pydicom.dcmread(_path(name))
        value = full.PixelData

        header = _header(_path(name))

        element = data[header.pixel_offset : header.pixel_offset + header.pixel_length]
        assert header.transfer_syntax == syntax
        assert header.pixel_tag == 0x7FE00010
        assert element.endswith(value)
        assert len(element) - len(value) in (8, 12)  # tag, (VR,) length

    @pytest.mark.parametrize(
        "name", ["JPEG2000.dcm", "US1_J2KR.dcm", "MR_small_RLE.dcm", "JPEG-lossy.dcm"]
    )
    def test_encapsulated_pixel_data_ends_with_its_sequence_delimiter(
        self, name: str
    ) -> None:
        data = _path(name).read_bytes()

        header = _header(_path(name))

        element = data[header.pixel_offset : header.pixel_offset + header.pixel_length]
        assert element[:4] == b"\xe0\x7f\x10\x00"
        assert element[8:12] == b"\xff\xff\xff\xff"
        assert element.endswith(_DELIMITER)

    def test_elements_after_the_pixel_data_are_named_and_left_out(self) -> None:
        header = _header(_path("MR_small.dcm"))

        assert header.trailing_tags == (0xFFFCFFFC,)
        assert 0xFFFCFFFC not in header.dataset

    def test_the_header_holds_raw_elements_and_no_pixel_data(self) -> None:
        header = _header(_path("CT_small.dcm"))

        assert "PixelData" not in header.dataset
        assert isinstance(header.dataset.get_item(0x00100010), RawDataElement)
        assert header.dataset.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian

    @pytest.mark.parametrize("name", ["693_UNCR.dcm", "color3d_jpeg_baseline.dcm"])
    def test_the_pixel_data_is_not_read(self, name: str) -> None:
        path = _path(name)
        _Counting.read_bytes = 0

        with _Counting(path) as fileobj:
            header = read_header(io.BufferedReader(fileobj, buffer_size=4096))

        assert header is not None
        assert _Counting.read_bytes < path.stat().st_size // 20

    def test_a_path_bytes_and_a_file_object_give_the_same_location(self) -> None:
        path = _path("emri_small.dcm")
        data = path.read_bytes()

        from_path = _header(path)
        from_bytes = _header(data)
        with open(path, "rb") as fileobj:
            from_file = read_header(fileobj)

        assert from_file is not None
        locations = {
            (h.pixel_offset, h.pixel_length) for h in (from_path, from_bytes, from_file)
        }
        assert len(locations) == 1

    def test_a_file_without_pixel_data_is_read_whole(self) -> None:
        full = pydicom.dcmread(_path("rtplan.dcm"))

        header = _header(_path("rtplan.dcm"))

        assert header.pixel_tag is None
        assert header.pixel_length == 0
        assert sorted(header.dataset.keys()) == sorted(full.keys())


class TestCopy:
    """The pixel data element is copied as the source holds it."""

    @pytest.mark.parametrize("kind", ["path", "bytes", "bytesio", "file"])
    @pytest.mark.parametrize("name", ["693_UNCR.dcm", "US1_J2KR.dcm"])
    def test_the_copy_is_the_element_byte_for_byte(
        self, name: str, kind: str, tmp_path: Path
    ) -> None:
        path = _path(name)
        data = path.read_bytes()
        sources: dict[str, Callable[[], object]] = {
            "path": lambda: path,
            "bytes": lambda: data,
            "bytesio": lambda: io.BytesIO(data),
            "file": lambda: open(path, "rb"),  # noqa: SIM115
        }
        source = sources[kind]()
        try:
            header = read_header(source)  # type: ignore[arg-type]
            assert header is not None
            out = tmp_path / "element"
            with open(out, "wb") as handle:
                handle.write(b"head")
                written = header.copy_pixel_element(handle)
        finally:
            if isinstance(source, io.IOBase):
                source.close()

        expected = data[header.pixel_offset : header.pixel_offset + header.pixel_length]
        assert written == len(expected)
        assert out.read_bytes() == b"head" + expected

    def test_the_copy_goes_to_a_descriptor_at_its_position(
        self, tmp_path: Path
    ) -> None:
        path = _path("CT_small.dcm")
        data = path.read_bytes()
        header = _header(path)
        out = tmp_path / "element"

        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT)
        try:
            os.write(descriptor, b"head")
            header.copy_pixel_element(descriptor)
            header.copy_pixel_element(descriptor)
        finally:
            os.close(descriptor)

        element = data[header.pixel_offset : header.pixel_offset + header.pixel_length]
        assert out.read_bytes() == b"head" + element + element

    def test_copy_file_copies_the_whole_source(self, tmp_path: Path) -> None:
        path = _path("MR_small.dcm")
        out = tmp_path / "copy.dcm"

        with open(out, "wb") as handle:
            _header(path).copy_file(handle)

        assert out.read_bytes() == path.read_bytes()

    def test_a_file_changed_after_its_header_was_read_is_not_copied(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "slice.dcm"
        path.write_bytes(_path("CT_small.dcm").read_bytes())
        header = _header(path)
        path.write_bytes(path.read_bytes()[:-100])

        with pytest.raises(InvalidDicomError, match="changed"):
            header.copy_pixel_element(io.BytesIO())


class TestLeftToRead:
    """Files read_header cannot copy from are left to read(), which reads them."""

    def test_a_deflated_file_is_left_to_read(self) -> None:
        ds = build_dataset(np.arange(64, dtype=np.uint16).reshape(8, 8))
        data = encode(ds, DeflatedExplicitVRLittleEndian)

        assert read_header(data) is None
        assert read(data).Rows == 8

    def test_compressed_pixels_encoded_implicitly_are_left_to_read(self) -> None:
        # pydicom-data's SC_rgb_jpeg.dcm names JPEG Baseline (explicit VR) but
        # encodes its pixel data element with an implicit VR.
        path = _path("SC_rgb_jpeg.dcm")

        assert read_header(path) is None
        assert "PixelData" in read(path)

    def test_an_odd_item_length_is_left_to_read(self) -> None:
        data = bytearray(_path("JPEG2000.dcm").read_bytes())
        header = _header(bytes(data))
        # The offset table item follows the element's 12-byte header.
        item = header.pixel_offset + 12
        (length,) = struct.unpack("<L", data[item + 4 : item + 8])
        assert length % 2 == 0
        data[item + 4 : item + 8] = struct.pack("<L", length + 1)

        assert read_header(bytes(data)) is None


def _same_refusal(source: str | os.PathLike[str] | bytes) -> str:
    """Assert that read() and read_header() refuse `source` alike; the reason."""
    with pytest.raises(ClaripacsError) as slow:
        read(source)
    with pytest.raises(ClaripacsError) as fast:
        read_header(source)
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)
    return str(fast.value)


class TestRefusals:
    """Each bad input gets the reason read() gives it, from the header alone."""

    def test_a_text_file_named_dcm(self, tmp_path: Path) -> None:
        fake = tmp_path / "report.dcm"
        fake.write_text("Findings: no acute abnormality.\n" * 20)

        assert "not a DICOM file" in _same_refusal(fake)

    def test_an_empty_file(self) -> None:
        assert "empty" in _same_refusal(b"")

    def test_mr_truncated(self) -> None:
        reason = _same_refusal(_path("MR_truncated.dcm"))

        assert reason.startswith("truncated: (7FE0,0010)")

    @pytest.mark.parametrize("cut", [1000, 100_000])
    def test_large_native_pixel_data_cut_short(self, cut: int) -> None:
        data = _path("693_UNCR.dcm").read_bytes()[:-cut]

        reason = _same_refusal(data)

        assert "declares 524,288 bytes" in reason

    @pytest.mark.parametrize("cut", [-10, -1000, 3000])
    def test_a_file_cut_anywhere(self, cut: int) -> None:
        data = _path("CT_small.dcm").read_bytes()[:cut]

        assert _same_refusal(data).startswith("truncated")

    @pytest.mark.parametrize("cut", [10, 100, 250])
    def test_a_compressed_file_cut_inside_its_items(self, cut: int) -> None:
        data = _path("JPEG2000.dcm").read_bytes()[:-cut]

        assert _same_refusal(data).startswith("truncated")

    def test_a_file_cut_inside_the_delimiter_length_is_left_to_read(self) -> None:
        # pydicom finds the delimiter's tag and reads the file; so does read().
        data = _path("JPEG2000.dcm").read_bytes()[:-4]

        assert read_header(data) is None
        assert read(data).Rows == 1024

    @pytest.mark.parametrize("cut", [2, 6, 20])
    def test_a_file_cut_inside_an_element_after_the_pixel_data(self, cut: int) -> None:
        # CT_small.dcm ends with (FFFC,FFFC) Data Set Trailing Padding.
        data = _path("CT_small.dcm").read_bytes()
        header = _header(data)
        assert header.trailing_tags == (0xFFFCFFFC,)

        assert _same_refusal(data[:-cut]).startswith("truncated")

    def test_a_file_ending_inside_an_element_header_after_the_pixel_data(
        self,
    ) -> None:
        data = _path("CT_small.dcm").read_bytes() + b"\x10\x00\x10"

        assert "inside the header" in _same_refusal(data)

    def test_meta_missing_tsyntax(self) -> None:
        reason = _same_refusal(_path("meta_missing_tsyntax.dcm"))

        assert "no (0008,0018) SOP Instance UID" in reason

    def test_a_65535_square_header(self, make_file: MakeFile) -> None:
        data = make_file(rows=65535, columns=65535, pixel_bytes=bytes(4))

        assert "65535 x 65535" in _same_refusal(data)

    def test_the_giant_header_allocates_nothing_like_its_size(
        self, make_file: MakeFile
    ) -> None:
        data = bytearray(make_file(rows=65535, columns=65535, pixel_bytes=bytes(4)))
        header = data.rindex(b"\xe0\x7f\x10\x00OW\x00\x00")
        data[header + 8 : header + 12] = (0xFFFFFFF0).to_bytes(4, "little")

        tracemalloc.start()
        try:
            with pytest.raises(ClaripacsError, match="65535 x 65535"):
                read_header(bytes(data))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert peak < 4 * 1024**2

    def test_the_limit_is_a_setting(self, make_file: MakeFile) -> None:
        data = make_file(np.zeros((64, 64), np.uint16))

        with pytest.raises(ClaripacsError, match="limit of 4,096 bytes"):
            read_header(data, limits=ReadLimits(max_image_bytes=4096))
        assert read_header(data, limits=ReadLimits(max_image_bytes=8192)) is not None

    def test_pixel_data_too_short_for_the_image(self, make_file: MakeFile) -> None:
        data = make_file(rows=8, columns=8, pixel_bytes=bytes(64))

        assert "holds 64 bytes" in _same_refusal(data)

    def test_missing_transfer_syntax_with_compressed_pixels(self) -> None:
        ds = pydicom.dcmread(_path("MR_small_jp2klossless.dcm"))
        assert ds.file_meta.TransferSyntaxUID == JPEG2000Lossless
        del ds.file_meta.TransferSyntaxUID
        out = io.BytesIO()
        ds.save_as(out, implicit_vr=False, little_endian=True)

        assert "compressed: the codec" in _same_refusal(out.getvalue())

    def test_an_unknown_transfer_syntax(self) -> None:
        ds = build_dataset(np.zeros((2, 2), np.uint16))
        data = encode(ds).replace(
            ExplicitVRLittleEndian.encode() + b"\0", b"1.2.3.4.5.6.7.8.9\0\0\0"
        )

        assert "not a transfer syntax" in _same_refusal(data)

    def test_a_missing_sop_instance_uid(self, make_file: MakeFile) -> None:
        data = make_file(np.zeros((2, 2), np.uint16), SOPInstanceUID=None)

        assert _same_refusal(data).endswith("no (0008,0018) SOP Instance UID")

    def test_a_dicomdir(self) -> None:
        assert "a DICOMDIR" in _same_refusal(_path("DICOMDIR"))

    def test_pixel_data_without_rows(self, make_file: MakeFile) -> None:
        data = make_file(np.zeros((2, 2), np.uint16), Rows=None)

        assert "(0028,0010) Rows" in _same_refusal(data)
