"""Reading DICOM files into datasets, with a precise reason for every refusal.

pydicom does the parsing. This module adds what a store needs on top of it: a
clear :class:`~claripacs_jupyter.errors.InvalidDicomError` for files that are not
DICOM, are truncated or cannot be decoded, and an
:class:`~claripacs_jupyter.errors.ImageTooLargeError` decided from the header
before any pixel data is read from the file or allocated.

Leniency is decided here, once: values that break the rules of their VR (an
over-long SH, a UID with letters) are accepted silently, because the file is
still usable and pydicom's own warnings would repeat the offending values, which
may be patient data, in its log.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pydicom
import pydicom.errors
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
)

from ..errors import ImageTooLargeError, InvalidDicomError
from ._leniency import recorded_warnings, unvalidated_values

logger = logging.getLogger(__name__)

__all__ = ["ReadLimits", "check_image_size", "read"]

#: Values longer than this are left in the file by the first pass of
#: :func:`read` and loaded only once the header has been checked.
_DEFER_BYTES = 64 * 1024

#: (7FE0,0008) *Float Pixel Data*, (7FE0,0009) *Double Float Pixel Data* and
#: (7FE0,0010) *Pixel Data*, in the order they may appear.
_PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)

_UNDEFINED_LENGTH = 0xFFFFFFFF

#: Room for the header beside the image when bounding an inflated data set.
_HEADER_ALLOWANCE = 64 * 1024**2

#: Elements a store needs to file an instance; without them it has no identity.
_IDENTITY = (
    (0x00080016, "(0008,0016) SOP Class UID"),
    (0x00080018, "(0008,0018) SOP Instance UID"),
    (0x0020000D, "(0020,000D) Study Instance UID"),
    (0x0020000E, "(0020,000E) Series Instance UID"),
)


@dataclass(frozen=True)
class ReadLimits:
    """Limits that :func:`read` enforces before it touches pixel data.

    Attributes
    ----------
    max_image_bytes : int
        The largest decoded image accepted, in bytes: (0028,0010) *Rows* x
        (0028,0011) *Columns* x (0028,0008) *Number of Frames* x (0028,0002)
        *Samples per Pixel* x bytes per sample. The default is 2 GiB.
    """

    max_image_bytes: int = 2 * 1024**3


def read(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    stop_before_pixels: bool = False,
    limits: ReadLimits | None = None,
) -> Dataset:
    """Read one DICOM file and check that it can be stored and displayed.

    The header is read and checked first; values larger than 64 KiB (the pixel
    data above all) are only read from the file once the header has passed, so
    a header that declares a gigantic image costs nothing.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        A path, the bytes of a file, or a file object opened for binary reading
        (seekable or not) positioned at the start of the file.
    stop_before_pixels : bool, optional
        Leave out the pixel data, and every element after it, from the dataset
        returned. The file's pixel data is checked against the header but never
        read.
    limits : ReadLimits, optional
        The limits to enforce; :class:`ReadLimits` defaults when not given.

    Returns
    -------
    pydicom.dataset.Dataset
        The dataset, every element already converted from its raw form (so that
        later access cannot warn or fail) and (0002,0010) *Transfer Syntax UID*
        set.

    Raises
    ------
    InvalidDicomError
        The input is not DICOM, is truncated, has no transfer syntax that can
        be used, has pixel data that the installed plugins cannot decode or
        that is shorter than the header needs, or lacks an identifying UID.
    ImageTooLargeError
        The header declares a decoded image larger than
        ``limits.max_image_bytes``.

    Notes
    -----
    A file without (0002,0010) *Transfer Syntax UID* is read the way mature
    readers (DCMTK, GDCM) read it: the encoding is inferred from the data, and
    the matching uncompressed transfer syntax is recorded in the file meta.
    That is safe only for uncompressed pixel data, so a file whose pixel data
    is encapsulated (compressed) and whose transfer syntax is missing is
    refused: the codec cannot be known.
    """
    limits = limits or ReadLimits()
    with _opened(source) as (fp, size):
        _check_deflated_size(fp, limits)
        ds = _parse(fp, size)
        _ensure_transfer_syntax(ds)
        _check_identity(ds)
        check_image_size(ds, limits)
        _check_lengths(ds, size)
        _check_pixel_data(ds)
        if stop_before_pixels:
            _drop_pixel_data(ds)
        _load_all_values(ds)

    # Every value is in memory now; keep no reference to the source.
    if isinstance(ds, pydicom.FileDataset):
        ds.buffer = None
        ds.filename = (
            os.fspath(source) if isinstance(source, str | os.PathLike) else None
        )
    return ds


def check_image_size(ds: Dataset, limits: ReadLimits | None = None) -> None:
    """Refuse a dataset whose header declares a decoded image over the limit.

    Only header elements are used; the pixel data is neither decoded nor read,
    so a dataset read with ``stop_before_pixels`` is checked too. A dataset
    that describes no image passes.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset to check.
    limits : ReadLimits, optional
        The limits to enforce; :class:`ReadLimits` defaults when not given.

    Raises
    ------
    InvalidDicomError
        Pixel data is present but (0028,0010) *Rows*, (0028,0011) *Columns* or
        (0028,0100) *Bits Allocated* is missing or not a positive number.
    ImageTooLargeError
        The decoded image would be larger than ``limits.max_image_bytes``.
    """
    limits = limits or ReadLimits()
    if not any(tag in ds for tag in _PIXEL_TAGS):
        # A header read without its pixel data is still checked when it
        # describes an image.
        if not all(tag in ds for tag in (0x00280010, 0x00280011, 0x00280100)):
            return

    rows = _positive_int(ds, 0x00280010, "(0028,0010) Rows")
    columns = _positive_int(ds, 0x00280011, "(0028,0011) Columns")
    bits = _positive_int(ds, 0x00280100, "(0028,0100) Bits Allocated")
    samples = _optional_int(ds, 0x00280002) or 1
    frames = _optional_int(ds, 0x00280008) or 1
    if frames < 0 or samples < 0:
        raise InvalidDicomError(
            "the header declares a negative (0028,0008) Number of Frames or "
            "(0028,0002) Samples per Pixel"
        )

    # Bit-packed (1-bit) data decodes to one byte per pixel.
    sample_bytes = max(1, (bits + 7) // 8)
    decoded = rows * columns * frames * samples * sample_bytes
    if decoded > limits.max_image_bytes:
        raise ImageTooLargeError(
            f"the header declares an image of {rows} x {columns} pixels, "
            f"{frames} frame(s), {samples} sample(s) of {sample_bytes} byte(s): "
            f"{decoded:,} bytes once decoded, more than the limit of "
            f"{limits.max_image_bytes:,} bytes (ReadLimits.max_image_bytes)"
        )


@contextlib.contextmanager
def _opened(
    source: str | os.PathLike[str] | bytes | BinaryIO,
) -> Iterator[tuple[BinaryIO, int]]:
    """Yield a seekable binary file for `source` and the offset where it ends."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source)), len(source)
        return

    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fp:
            yield fp, os.fstat(fp.fileno()).st_size
        return

    seekable = getattr(source, "seekable", None)
    if seekable is None or not seekable():
        data = source.read()
        yield io.BytesIO(data), len(data)
        return

    start = source.tell()
    end = source.seek(0, io.SEEK_END)
    source.seek(start)
    yield source, end


def _check_deflated_size(fp: BinaryIO, limits: ReadLimits) -> None:
    """Refuse a deflated data set that inflates far beyond the image limit."""
    # pydicom inflates a Deflated Explicit VR Little Endian body in one go, so
    # a small file could expand to gigabytes before any header is seen. We
    # inflate it once in chunks, keeping nothing, and stop at the limit.
    start = fp.tell()
    head = fp.read(144)
    try:
        group_length_tag = b"\x02\x00\x00\x00"
        if head[128:132] != b"DICM" or head[132:136] != group_length_tag:
            return
        (meta_length,) = struct.unpack("<L", head[140:144])
        meta = fp.read(meta_length)
        if DeflatedExplicitVRLittleEndian.encode() not in meta:
            return

        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        budget = limits.max_image_bytes + _HEADER_ALLOWANCE
        inflated = 0
        while chunk := fp.read(1024**2):
            try:
                inflated += len(inflater.decompress(chunk, budget + 1 - inflated))
            except zlib.error as exc:
                raise InvalidDicomError(
                    f"the deflated data set is corrupt or truncated ({exc})"
                ) from exc
            if inflated > budget:
                raise ImageTooLargeError(
                    "the deflated data set expands to more than "
                    f"{budget:,} bytes (ReadLimits.max_image_bytes plus room for "
                    "the header)"
                )
        if not inflater.eof:
            raise InvalidDicomError(
                "truncated: the deflated data set ends before its compressed "
                "stream does"
            )
    finally:
        fp.seek(start)


def _parse(fp: BinaryIO, size: int) -> Dataset:
    """Run pydicom's parser, turning its failures and EOF warnings into errors."""
    start = fp.tell()
    if size - start <= 0:
        raise InvalidDicomError("not a DICOM file: it is empty")

    with recorded_warnings() as caught:
        try:
            ds = pydicom.dcmread(fp, defer_size=_DEFER_BYTES)
        except pydicom.errors.InvalidDicomError:
            fp.seek(start)
            ds = _parse_without_preamble(fp)
        except EOFError as exc:
            raise InvalidDicomError(f"truncated: the file ended early ({exc})") from exc
        except Exception as exc:
            raise InvalidDicomError(
                "not a readable DICOM file: the parser stopped with "
                f"{type(exc).__name__} ({exc}); the file is corrupt or truncated"
            ) from exc

    for warning in caught:
        text = str(warning.message)
        if "End of file" in text or "EOF" in text:
            raise InvalidDicomError(
                "truncated: the file ends inside a data element or sequence"
            )
    if caught:
        logger.debug("pydicom warned %d time(s) while reading a file", len(caught))

    if len(ds) == 0:
        raise InvalidDicomError(
            "not a DICOM instance: the file holds file meta information but no "
            "data set (it may be truncated)"
        )
    return ds


def _parse_without_preamble(fp: BinaryIO) -> Dataset:
    """Read a data set without preamble and file meta, if that is what `fp` is."""
    # Old modalities and some exporters write the bare data set. DCMTK and GDCM
    # read those; so do we, but only when the result looks like a real data set,
    # because pydicom's forced read turns any bytes into some elements.
    not_dicom = InvalidDicomError(
        "not a DICOM file: there is no 'DICM' marker at byte 128 and the "
        "content does not parse as a DICOM data set"
    )
    try:
        ds = pydicom.dcmread(fp, defer_size=_DEFER_BYTES, force=True)
    except Exception as exc:
        raise not_dicom from exc

    tags = list(ds.keys())
    if not tags or (tags[0] >> 16) not in (0x0002, 0x0008):
        raise not_dicom
    try:
        with unvalidated_values():
            uid = str(ds.get("SOPInstanceUID", "") or "")
    except Exception as exc:
        raise not_dicom from exc
    if not uid or not UID(uid.strip("\0 ")).is_valid:
        raise not_dicom

    logger.warning("read a data set without file meta; its encoding was inferred")
    return ds


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Check (0002,0010) and infer it for uncompressed data when it is missing."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta = meta
    tsyntax = str(meta.get("TransferSyntaxUID", "") or "").strip("\0 ")

    if not tsyntax:
        if _pixel_data_is_encapsulated(ds):
            raise InvalidDicomError(
                "no (0002,0010) Transfer Syntax UID, and the pixel data is "
                "compressed: the codec it needs cannot be known"
            )
        implicit, little = ds.original_encoding
        if little is False:
            inferred = ExplicitVRBigEndian
        elif implicit is False:
            inferred = ExplicitVRLittleEndian
        else:
            inferred = ImplicitVRLittleEndian
        meta.TransferSyntaxUID = inferred
        logger.warning(
            "no (0002,0010) Transfer Syntax UID; inferred %s from the data", inferred
        )
        return

    uid = UID(tsyntax)
    if not uid.is_transfer_syntax and uid != DeflatedExplicitVRLittleEndian:
        raise InvalidDicomError(
            f"(0002,0010) Transfer Syntax UID '{tsyntax}' is not a transfer "
            "syntax this reader knows; the data set cannot be interpreted"
        )
    meta.TransferSyntaxUID = uid

    if not any(tag in ds for tag in _PIXEL_TAGS):
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        decoder = None
    if decoder is None or not decoder.is_available:
        raise InvalidDicomError(
            f"the pixel data is encoded as {uid.name} ({uid}), which the "
            "installed decoders (pydicom, pylibjpeg with libjpeg, openjpeg and "
            "rle) cannot decode"
        )


def _check_identity(ds: Dataset) -> None:
    """Refuse a data set without the UIDs that identify and file it."""
    media_class = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "")
    if media_class == MediaStorageDirectoryStorage:
        raise InvalidDicomError(
            "a DICOMDIR: an index of the files beside it, not an image; import "
            "the folder or the files it lists instead"
        )

    missing = []
    with unvalidated_values():
        for tag, name in _IDENTITY:
            try:
                value = ds[tag].value if tag in ds else None
            except Exception:
                value = None
            if not str(value or "").strip("\0 "):
                missing.append(name)
    if missing:
        raise InvalidDicomError(
            "not a storable DICOM instance: no " + ", no ".join(missing)
        )


def _check_lengths(ds: Dataset, size: int) -> None:
    """Refuse a data set whose last element runs past the end of the file."""
    # pydicom stops quietly when fewer than the 8 bytes of an element header are
    # left, so a file cut inside a tag would pass for a shorter one.
    last = ds.get_item(list(ds.keys())[-1])
    if isinstance(last, RawDataElement) and last.length != _UNDEFINED_LENGTH:
        left = size - (last.value_tell + last.length)
        if 0 < left < 8:
            raise InvalidDicomError(
                "truncated: the file ends inside the header of a data element"
            )

    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if not isinstance(raw, RawDataElement) or raw.length == _UNDEFINED_LENGTH:
            continue
        if raw.value is None:
            available = max(0, size - raw.value_tell)
        else:
            available = len(raw.value)
        if available < raw.length:
            raise InvalidDicomError(
                f"truncated: {_describe(tag)} declares {raw.length:,} bytes but "
                f"the file holds only {available:,} of them"
            )


def _check_pixel_data(ds: Dataset) -> None:
    """Refuse uncompressed pixel data shorter than the image the header declares."""
    tag = next((tag for tag in _PIXEL_TAGS if tag in ds), None)
    if tag is None or _pixel_data_is_encapsulated(ds):
        return

    raw = ds.get_item(tag)
    length = raw.length if isinstance(raw, RawDataElement) else len(raw.value or b"")
    try:
        expected = int(get_expected_length(ds, unit="bytes"))
    except Exception as exc:
        raise InvalidDicomError(
            "the Image Pixel module is incomplete or invalid: (0028,0010) Rows, "
            "(0028,0011) Columns, (0028,0100) Bits Allocated and (0028,0002) "
            f"Samples per Pixel must be numbers ({type(exc).__name__})"
        ) from exc
    if length < expected:
        raise InvalidDicomError(
            f"truncated: {_describe(tag)} holds {length:,} bytes but the header "
            f"declares an image of {expected:,} bytes"
        )


def _drop_pixel_data(ds: Dataset) -> None:
    """Remove the pixel data and all top-level elements after it, unread."""
    first = next((tag for tag in _PIXEL_TAGS if tag in ds), None)
    if first is None:
        return
    for tag in [tag for tag in ds.keys() if tag >= first]:
        del ds[tag]


def _load_all_values(ds: Dataset) -> None:
    """Read deferred values and convert every raw element, at every depth."""
    with unvalidated_values():
        _convert(ds)


def _convert(ds: Dataset) -> None:
    """Convert the raw elements of `ds` and its sequence items in place."""
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
        except Exception:
            # A value that cannot be converted is kept as bytes (VR UN), so the
            # rest of the file stays usable and the element can still be written.
            raw = ds.get_item(tag)
            value = raw.value if isinstance(raw, RawDataElement) else None
            logger.warning("%s has a malformed value; kept as UN", _describe(tag))
            ds[tag] = DataElement(tag, "UN", value or b"")
            continue
        if elem.VR == "SQ":
            for item in elem.value:
                _convert(item)


def _pixel_data_is_encapsulated(ds: Dataset) -> bool:
    """True when (7FE0,0010) *Pixel Data* has an undefined length."""
    if 0x7FE00010 not in ds:
        return False
    elem = ds.get_item(0x7FE00010)
    if isinstance(elem, RawDataElement):
        return elem.length == _UNDEFINED_LENGTH
    return bool(elem.is_undefined_length)


def _positive_int(ds: Dataset, tag: int, name: str) -> int:
    """The value of a required positive integer element of the image header."""
    value = _optional_int(ds, tag)
    if value is None or value <= 0:
        raise InvalidDicomError(
            f"the data set has pixel data but no usable {name} (the image header "
            "is incomplete)"
        )
    return value


def _optional_int(ds: Dataset, tag: int) -> int | None:
    """The integer value of an element, or None when missing, empty or malformed."""
    if tag not in ds:
        return None
    try:
        with unvalidated_values():
            value = ds[tag].value
        if isinstance(value, bytes):
            # (0028,xxxx) elements read as UN (implicit VR without dictionary).
            return int(struct.unpack("<H", value[:2])[0]) if len(value) >= 2 else None
        if isinstance(value, list | pydicom.multival.MultiValue):
            value = value[0] if value else None
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _describe(tag: int) -> str:
    """A tag as '(GGGG,EEEE) Keyword' for messages; never the value."""
    keyword = pydicom.datadict.keyword_for_tag(tag)
    group, element = tag >> 16, tag & 0xFFFF
    return f"({group:04X},{element:04X}) {keyword}".rstrip()
