"""Tests for reading: every installed codec, and a precise reason for bad input."""

from __future__ import annotations

import io
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom
import pydicom.config
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
)

from claripacs_jupyter.dicom import ReadLimits, check_image_size, frames, read
from claripacs_jupyter.errors import ImageTooLargeError, InvalidDicomError

from .conftest import MakeFile, build_dataset, encode


def _path(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom-data lacks {name}"
    return str(path)


class TestReadSources:
    """A file can come as a path, bytes, or a file object."""

    def test_reads_a_path_bytes_and_a_file_object_alike(self) -> None:
        path = _path("CT_small.dcm")
        data = Path(path).read_bytes()

        from_path = read(path)
        from_bytes = read(data)
        with open(path, "rb") as fileobj:
            from_file = read(fileobj)

        assert from_path.SOPInstanceUID == from_bytes.SOPInstanceUID
        assert from_file.SOPInstanceUID == from_path.SOPInstanceUID
        assert from_bytes.PixelData == from_path.PixelData == from_file.PixelData

    def test_reads_a_stream_that_cannot_seek(self) -> None:
        data = Path(_path("CT_small.dcm")).read_bytes()

        class Stream(io.RawIOBase):
            def __init__(self) -> None:
                self._inner = io.BytesIO(data)

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
                chunk = self._inner.read(len(buffer))
                buffer[: len(chunk)] = chunk
                return len(chunk)

        ds = read(Stream())

        assert ds.Rows == 128

    def test_keeps_no_reference_to_the_source(self) -> None:
        ds = read(Path(_path("CT_small.dcm")).read_bytes())

        assert ds.buffer is None

    def test_converts_every_value_so_later_access_never_warns(self) -> None:
        # bad_sequence.dcm holds UIDs with letters and an over-long SH; reading
        # must accept it (rendering row R13) without warnings at any later access.
        ds = read(_path("bad_sequence.dcm"))

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            text = str(ds)

        assert "SOP Instance UID" in text


class TestTransferSyntaxes:
    """Every transfer syntax pydicom and the pylibjpeg plugins decode is read."""

    @pytest.mark.parametrize(
        ("name", "syntax"),
        [
            ("MR_small_implicit.dcm", "1.2.840.10008.1.2"),
            ("MR_small.dcm", "1.2.840.10008.1.2.1"),
            ("image_dfl.dcm", "1.2.840.10008.1.2.1.99"),
            ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),
            ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50"),
            ("JPGExtended.dcm", "1.2.840.10008.1.2.4.51"),
            ("JPEG-LL.dcm", "1.2.840.10008.1.2.4.70"),
            ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
            ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"),
            ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),
            ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
        ],
    )
    def test_decodes_the_transfer_syntax(self, name: str, syntax: str) -> None:
        ds = read(_path(name))

        stack = frames(ds)

        assert ds.file_meta.TransferSyntaxUID == syntax
        assert stack.shape[1:3] == (ds.Rows, ds.Columns)
        assert stack.max() > stack.min()

    def test_compressed_and_uncompressed_copies_decode_identically(self) -> None:
        plain = frames(read(_path("MR_small.dcm")))

        for name in ("MR_small_RLE.dcm", "MR_small_jp2klossless.dcm"):
            assert np.array_equal(frames(read(_path(name))), plain), name


class TestRefusals:
    """Bad input gets InvalidDicomError with a reason a user can act on."""

    def test_a_text_file_named_dcm_is_not_dicom(self, tmp_path: Path) -> None:
        fake = tmp_path / "report.dcm"
        fake.write_text("Findings: no acute abnormality.\n" * 20)

        with pytest.raises(InvalidDicomError, match="not a DICOM file"):
            read(fake)

    def test_a_file_of_zeros_is_refused_without_a_forced_parse(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A forced parse walks a large file of zeros as millions of empty
        # elements (a minute for 200 MB); the first bytes already refuse it.
        zeros = tmp_path / "zeros.dcm"
        with zeros.open("wb") as out:
            out.truncate(1024**2)
        forced = []
        real_dcmread = pydicom.dcmread

        def spy(*args: object, **kwargs: object) -> object:
            forced.append(kwargs.get("force", False))
            return real_dcmread(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pydicom, "dcmread", spy)

        with pytest.raises(InvalidDicomError, match="not a DICOM file"):
            read(zeros)

        assert True not in forced

    def test_a_data_set_without_preamble_or_file_meta_is_read(self) -> None:
        ds = pydicom.dcmread(_path("CT_small.dcm"))
        del ds.file_meta
        ds.preamble = None
        bare = io.BytesIO()
        pydicom.dcmwrite(bare, ds, implicit_vr=True, little_endian=True)

        read_back = read(bare.getvalue())

        assert bare.getvalue()[:2] == b"\x08\x00"
        assert read_back.SOPInstanceUID == ds.SOPInstanceUID

    def test_an_empty_file_is_not_dicom(self) -> None:
        with pytest.raises(InvalidDicomError, match="empty"):
            read(b"")

    def test_pixel_data_shorter_than_declared_is_truncated(self) -> None:
        with pytest.raises(InvalidDicomError, match=r"truncated: \(7FE0,0010\)"):
            read(_path("MR_truncated.dcm"))

    def test_truncation_is_found_without_reading_the_pixels(self) -> None:
        with pytest.raises(InvalidDicomError, match="truncated"):
            read(_path("MR_truncated.dcm"), stop_before_pixels=True)

    @pytest.mark.parametrize("cut", [-10, -1000, 3000])
    def test_a_file_cut_anywhere_in_a_value_is_refused(self, cut: int) -> None:
        data = Path(_path("CT_small.dcm")).read_bytes()

        with pytest.raises(InvalidDicomError, match="truncated"):
            read(data[:cut])

    def test_a_compressed_file_cut_inside_its_fragments_is_truncated(self) -> None:
        data = Path(_path("JPEG2000.dcm")).read_bytes()

        with pytest.raises(InvalidDicomError, match="truncated"):
            read(data[:-10])

    def test_uncompressed_pixel_data_too_short_for_the_image_is_refused(
        self, make_file: MakeFile
    ) -> None:
        data = make_file(rows=8, columns=8, pixel_bytes=bytes(64))

        with pytest.raises(InvalidDicomError, match="holds 64 bytes.*128 bytes"):
            read(data)

    def test_missing_transfer_syntax_with_no_identity_gives_both_reasons(
        self,
    ) -> None:
        with pytest.raises(InvalidDicomError, match="no \\(0008,0018\\) SOP Instance"):
            read(_path("meta_missing_tsyntax.dcm"))

    def test_missing_transfer_syntax_is_inferred_for_uncompressed_data(
        self,
    ) -> None:
        ds = pydicom.dcmread(_path("CT_small.dcm"))
        expected = ds.pixel_array
        del ds.file_meta.TransferSyntaxUID
        out = io.BytesIO()
        ds.save_as(out)

        read_back = read(out.getvalue())

        assert read_back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert np.array_equal(frames(read_back)[0], expected)

    def test_missing_transfer_syntax_with_compressed_pixels_is_refused(self) -> None:
        ds = pydicom.dcmread(_path("MR_small_jp2klossless.dcm"))
        assert ds.file_meta.TransferSyntaxUID == JPEG2000Lossless
        del ds.file_meta.TransferSyntaxUID
        out = io.BytesIO()
        ds.save_as(out, implicit_vr=False, little_endian=True)

        with pytest.raises(InvalidDicomError, match="compressed: the codec"):
            read(out.getvalue())

    def test_an_unknown_transfer_syntax_is_refused(self, make_file: MakeFile) -> None:
        ds = build_dataset(np.zeros((2, 2), np.uint16))
        data = encode(ds).replace(
            ExplicitVRLittleEndian.encode() + b"\0", b"1.2.3.4.5.6.7.8.9\0\0\0"
        )

        with pytest.raises(InvalidDicomError, match="not a transfer syntax"):
            read(data)

    def test_missing_sop_instance_uid_is_refused(self, make_file: MakeFile) -> None:
        data = make_file(np.zeros((2, 2), np.uint16), SOPInstanceUID=None)

        with pytest.raises(
            InvalidDicomError, match=r"no \(0008,0018\) SOP Instance UID$"
        ):
            read(data)

    def test_a_dicomdir_is_an_index_not_an_image(self) -> None:
        with pytest.raises(InvalidDicomError, match="a DICOMDIR"):
            read(_path("DICOMDIR"))

    def test_pixel_data_without_rows_is_refused(self, make_file: MakeFile) -> None:
        data = make_file(np.zeros((2, 2), np.uint16), Rows=None)

        with pytest.raises(InvalidDicomError, match=r"\(0028,0010\) Rows"):
            read(data)


class TestImageTooLarge:
    """A header claiming a giant image is refused from the header alone."""

    def test_a_65535_square_header_is_refused(self, make_file: MakeFile) -> None:
        data = make_file(rows=65535, columns=65535, pixel_bytes=bytes(4))

        with pytest.raises(ImageTooLargeError, match="65535 x 65535"):
            read(data)

    def test_the_refusal_allocates_nothing_like_the_claimed_size(
        self, make_file: MakeFile
    ) -> None:
        # The pixel data element also claims gigabytes (its length is patched),
        # so reading it, not just decoding it, would show in the peak.
        data = bytearray(make_file(rows=65535, columns=65535, pixel_bytes=bytes(4)))
        header = data.rindex(b"\xe0\x7f\x10\x00OW\x00\x00")
        data[header + 8 : header + 12] = (0xFFFFFFF0).to_bytes(4, "little")

        tracemalloc.start()
        try:
            with pytest.raises(ImageTooLargeError):
                read(bytes(data))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert peak < 4 * 1024**2

    def test_the_limit_is_a_setting(self, make_file: MakeFile) -> None:
        data = make_file(np.zeros((64, 64), np.uint16))

        with pytest.raises(ImageTooLargeError, match="limit of 4,096 bytes"):
            read(data, limits=ReadLimits(max_image_bytes=4096))
        assert read(data, limits=ReadLimits(max_image_bytes=8192)).Rows == 64

    def test_frames_and_samples_count_toward_the_size(self) -> None:
        ds = read(_path("color3d_jpeg_baseline.dcm"), stop_before_pixels=True)
        # 120 frames of 480 x 640 x 3 bytes: 110,592,000 bytes decoded.

        check_image_size(ds, ReadLimits(max_image_bytes=110_592_000))
        with pytest.raises(ImageTooLargeError, match="120 frame"):
            check_image_size(ds, ReadLimits(max_image_bytes=110_591_999))


class TestStopBeforePixels:
    """Header-only reads leave the pixel data in the file."""

    def test_leaves_out_the_pixel_data(self) -> None:
        ds = read(_path("693_UNCR.dcm"), stop_before_pixels=True)

        assert "PixelData" not in ds
        assert ds.Rows == 512

    def test_does_not_read_the_pixel_data_from_the_file(self) -> None:
        path = _path("693_UNCR.dcm")
        size = Path(path).stat().st_size

        class Counting(io.FileIO):
            read_bytes = 0

            def readinto(self, buffer):  # type: ignore[no-untyped-def,override]
                count = super().readinto(buffer)
                Counting.read_bytes += count or 0
                return count

        with Counting(path) as fileobj:
            ds = read(
                io.BufferedReader(fileobj, buffer_size=4096), stop_before_pixels=True
            )

        assert ds.SOPInstanceUID
        assert Counting.read_bytes < size // 10


class TestDeflated:
    """Deflated data sets are read, and bounded before pydicom inflates them."""

    @staticmethod
    def _deflated(pixels: np.ndarray) -> bytes:
        ds = build_dataset(pixels)
        return encode(ds, DeflatedExplicitVRLittleEndian)

    def test_a_deflated_file_reads_like_any_other(self) -> None:
        pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)

        ds = read(self._deflated(pixels))

        assert np.array_equal(frames(ds)[0], pixels)

    def test_a_deflate_bomb_is_refused_before_it_is_inflated(self) -> None:
        # 80 MiB of zeros in a private element deflate to about 80 KiB; the
        # header's own image is tiny, so only the inflation bound can stop it.
        ds = build_dataset(np.zeros((2, 2), np.uint16))
        ds.add_new(0x00091010, "OB", bytes(80 * 1024**2))
        data = encode(ds, DeflatedExplicitVRLittleEndian)
        del ds
        assert len(data) < 1024**2

        with pytest.raises(ImageTooLargeError, match="deflated data set expands"):
            read(data, limits=ReadLimits(max_image_bytes=1024))

    def test_a_cut_deflated_file_is_truncated(self) -> None:
        data = self._deflated(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))

        with pytest.raises(InvalidDicomError, match="truncated"):
            read(data[:-20])


class TestThreads:
    """Reading from several threads leaves process-wide settings as they were."""

    def test_validation_mode_and_warning_filters_are_restored(self) -> None:
        before_mode = pydicom.config.settings.reading_validation_mode
        before_filters = list(warnings.filters)
        paths = [_path("bad_sequence.dcm"), _path("MR_small_padded.dcm")] * 8

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda p: frames(read(p)).shape, paths))

        assert len(results) == len(paths)
        assert pydicom.config.settings.reading_validation_mode == before_mode
        assert warnings.filters == before_filters
