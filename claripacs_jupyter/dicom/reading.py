"""Reading DICOM files into datasets, with a precise reason for every refusal.

pydicom does the parsing. This module adds what a store needs on top of it: a
clear :class:`~claripacs_jupyter.errors.InvalidDicomError` for files that are not
DICOM, are truncated or cannot be decoded, and an
:class:`~claripacs_jupyter.errors.ImageTooLargeError` decided from the header
before any pixel data is read from the file or allocated.

:func:`read` gives a whole dataset. :func:`read_header` makes the same checks,
with the same reasons, from the header and the pixel data element's own
framing, and says where that element lies so that a writer keeping the
transfer syntax can copy it byte for byte without reading it into Python.

Leniency is decided here, once: values that break the rules of their VR (an
over-long SH, a UID with letters) are accepted silently, because the file is
still usable and pydicom's own warnings would repeat the offending values, which
may be patient data, in its log.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
from pydicom.valuerep import EXPLICIT_VR_LENGTH_16, EXPLICIT_VR_LENGTH_32

from ..errors import ImageTooLargeError, InvalidDicomError
from ._leniency import recorded_warnings, unvalidated_values

logger = logging.getLogger(__name__)

__all__ = [
    "HeaderRead",
    "ReadLimits",
    "check_image_size",
    "lenient_values",
    "read",
    "read_header",
]

#: Values longer than this are left in the file by the first pass of
#: :func:`read` and loaded only once the header has been checked.
_DEFER_BYTES = 64 * 1024

#: (7FE0,0008) *Float Pixel Data*, (7FE0,0009) *Double Float Pixel Data* and
#: (7FE0,0010) *Pixel Data*, in the order they may appear.
_PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)

_UNDEFINED_LENGTH = 0xFFFFFFFF

#: The VRs a pixel data element may have for :func:`read_header` to copy it.
_PIXEL_VRS = {
    0x7FE00008: (b"OF",),
    0x7FE00009: (b"OD",),
    0x7FE00010: (b"OB", b"OW"),
}

#: Explicit VRs with a 4-byte length (after 2 reserved bytes), and the others.
_LONG_VRS = frozenset(vr.encode() for vr in EXPLICIT_VR_LENGTH_32)
_SHORT_VRS = frozenset(vr.encode() for vr in EXPLICIT_VR_LENGTH_16)

#: An item or delimiter header of encapsulated pixel data (PS3.5 A.4).
_ITEM = struct.Struct("<HHL")

#: Elements after the pixel data that :func:`read_header` looks at, at most.
_MAX_TRAILING = 16

_COPY_CHUNK = 1024**2
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_COPY_FILE_RANGE: Callable[..., int] | None = getattr(os, "copy_file_range", None)

#: errno values of os.copy_file_range that mean "not here": copy another way.
_NO_KERNEL_COPY = frozenset(
    {
        errno.EXDEV,
        errno.ENOSYS,
        errno.EOPNOTSUPP,
        errno.EINVAL,
        errno.EBADF,
        errno.ETXTBSY,
        errno.EPERM,
    }
)

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
    with _opened(source) as (fp, size, _):
        deflated = _check_deflated_size(fp, limits)
        ds = _parse(fp, size)
        if deflated:
            # Offsets are into the inflated data set, which pydicom holds.
            size = _inflated_size(ds, size)
        pixels = _pixels_of(ds)
        _check_header(ds, pixels, limits)
        _check_lengths(ds, size)
        _check_pixel_data(ds, pixels)
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
    has_pixels = any(tag in ds for tag in _PIXEL_TAGS)
    _check_image_size(ds, limits or ReadLimits(), has_pixels)


def _check_image_size(ds: Dataset, limits: ReadLimits, has_pixels: bool) -> None:
    """:func:`check_image_size`, told whether the file has pixel data."""
    if not has_pixels:
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


@dataclass(frozen=True, eq=False)
class HeaderRead:
    """A checked header, and where the file's pixel data element lies.

    :func:`read_header` gives it. The pixel data stays in the source; a
    writer that keeps the transfer syntax appends it to a new header with
    :meth:`copy_pixel_element`, byte for byte, without decoding or even
    reading it into Python.

    Attributes
    ----------
    dataset : pydicom.dataset.Dataset
        The top-level elements before the pixel data, as pydicom read them:
        raw (:class:`~pydicom.dataelem.RawDataElement`), not converted, with
        every value in memory. (0002,0010) *Transfer Syntax UID* is set in its
        file meta (inferred for uncompressed data without one, as
        :func:`read` does). Read values under :func:`lenient_values` to get
        them the way :func:`read` converts them.
    transfer_syntax : pydicom.uid.UID
        The transfer syntax of the data set and of the pixel data element.
    pixel_tag : int or None
        (7FE0,0010) *Pixel Data*, (7FE0,0008) *Float Pixel Data* or
        (7FE0,0009) *Double Float Pixel Data*; None when the file has no pixel
        data, and then `dataset` is the whole data set.
    pixel_offset : int
        Where the pixel data element's tag starts in the source.
    pixel_length : int
        The bytes of the whole element: tag, VR, length and value; for
        encapsulated data the items and the sequence delimiter.
    trailing_tags : tuple of int
        The top-level elements after the pixel data, such as (FFFC,FFFC)
        *Data Set Trailing Padding*; `dataset` leaves them out.
    source : Path, bytes or binary file
        Where the header was read from and the element is copied from.
    """

    dataset: Dataset
    transfer_syntax: UID
    pixel_tag: int | None
    pixel_offset: int
    pixel_length: int
    trailing_tags: tuple[int, ...]
    source: Path | bytes | BinaryIO
    _start: int = 0
    _end: int = 0
    _stamp: tuple[int, int] | None = None

    def copy_pixel_element(self, out: BinaryIO | int) -> int:
        """Append the pixel data element, as the source holds it, to `out`.

        For a source on disk the kernel copies it (``os.copy_file_range``
        where there is one); it never passes through Python objects.

        Parameters
        ----------
        out : binary file object or int
            A file object opened for writing, or an OS file descriptor; the
            element is written at its current position, which moves past it.

        Returns
        -------
        int
            The number of bytes written (:attr:`pixel_length`).

        Raises
        ------
        InvalidDicomError
            The source file changed or shrank since its header was read.
        """
        return _copy_range(self, self.pixel_offset, self.pixel_length, out)

    def copy_file(self, out: BinaryIO | int) -> int:
        """Write the whole source, byte for byte, to `out`; return its size.

        `out` is as for :meth:`copy_pixel_element`.
        """
        return _copy_range(self, self._start, self._end - self._start, out)


def read_header(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    limits: ReadLimits | None = None,
) -> HeaderRead | None:
    """Read and check a file's header, and find its pixel data without reading it.

    Makes every check of :func:`read`, with the same reasons, from the
    header and the pixel data element's own tag, VR and length (for
    encapsulated data, the items' tags and lengths, up to the sequence
    delimiter; the fragments are skipped, never read). Nothing is converted
    and nothing of the pixel data is read or allocated.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        As for :func:`read`. A path is opened again by
        :meth:`HeaderRead.copy_pixel_element`; a file object must stay open
        and unchanged until then.
    limits : ReadLimits, optional
        The limits to enforce; :class:`ReadLimits` defaults when not given.

    Returns
    -------
    HeaderRead or None
        The header and where the pixel data element lies. None for a file
        this reader leaves to :func:`read`: a deflated data set (the pixel
        data cannot be copied out of a compressed body), a data set whose
        encoding differs from its transfer syntax, a private transfer
        syntax, pixel data or trailing elements of an unusual form.

    Raises
    ------
    InvalidDicomError
        As :func:`read` raises it, with the same reason.
    ImageTooLargeError
        As :func:`read` raises it, before anything of the image is read.
    """
    limits = limits or ReadLimits()
    with _opened(source) as (fp, size, status):
        start = fp.tell()
        deflated = _is_deflated(fp)
        fp.seek(start)
        if deflated:
            return None
        ds = _parse(fp, size, stop_before_pixels=True)
        if len(ds) == 0:
            return None
        found = _find_pixel_element(fp, size)
        if found is None:
            return None
        pixels = found.pixels
        _check_header(ds, pixels, limits)
        syntax = UID(ds.file_meta.TransferSyntaxUID)
        if not _encoded_as(syntax, found.encoding):
            return None
        _check_lengths(ds, size)
        found.check_lengths(size)
        _check_pixel_data(ds, pixels)
        if not _load_deferred(ds, fp):
            return None
        kept = _kept_source(source, fp)
        stamp = (status.st_size, status.st_mtime_ns) if status is not None else None

    if isinstance(ds, pydicom.FileDataset):
        ds.buffer = None
        ds.filename = os.fspath(kept) if isinstance(kept, Path) else None
    return HeaderRead(
        dataset=ds,
        transfer_syntax=syntax,
        pixel_tag=pixels.tag if pixels is not None else None,
        pixel_offset=found.offset,
        pixel_length=found.end - found.offset,
        trailing_tags=found.trailing,
        source=kept,
        _start=start,
        _end=size,
        _stamp=stamp,
    )


@contextlib.contextmanager
def lenient_values() -> Iterator[None]:
    """Convert raw element values inside the block as :func:`read` does.

    Values that break the rules of their VR are accepted silently, without
    pydicom's warnings (which would repeat the values, possibly patient data,
    in its log). Use it when reading values of :attr:`HeaderRead.dataset`.
    """
    with unvalidated_values():
        yield


@contextlib.contextmanager
def _opened(
    source: str | os.PathLike[str] | bytes | BinaryIO,
) -> Iterator[tuple[BinaryIO, int, os.stat_result | None]]:
    """Yield a seekable binary file for `source`, the offset where it ends and,
    for a path, the file's status."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source)), len(source), None
        return

    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fp:
            status = os.fstat(fp.fileno())
            yield fp, status.st_size, status
        return

    seekable = getattr(source, "seekable", None)
    if seekable is None or not seekable():
        data = source.read()
        yield io.BytesIO(data), len(data), None
        return

    start = source.tell()
    end = source.seek(0, io.SEEK_END)
    source.seek(start)
    yield source, end, None


def _check_deflated_size(fp: BinaryIO, limits: ReadLimits) -> bool:
    """Refuse a deflated data set that inflates far beyond the image limit.

    Returns whether the data set is deflated.
    """
    # pydicom inflates a Deflated Explicit VR Little Endian body in one go, so
    # a small file could expand to gigabytes before any header is seen. We
    # inflate it once in chunks, keeping nothing, and stop at the limit.
    start = fp.tell()
    try:
        if not _is_deflated(fp):
            return False

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
        return True
    finally:
        fp.seek(start)


def _inflated_size(ds: Dataset, size: int) -> int:
    """The end of the inflated data set pydicom read a deflated file into."""
    buffer = getattr(ds, "buffer", None)
    if buffer is None or not hasattr(buffer, "seek"):
        return size
    position = buffer.tell()
    end = int(buffer.seek(0, io.SEEK_END))
    buffer.seek(position)
    return end


def _is_deflated(fp: BinaryIO) -> bool:
    """True when the file meta names Deflated Explicit VR Little Endian.

    Reads the file meta group from the current position of `fp` and leaves
    `fp` after it; the caller restores the position.
    """
    head = fp.read(144)
    group_length_tag = b"\x02\x00\x00\x00"
    if head[128:132] != b"DICM" or head[132:136] != group_length_tag:
        return False
    (meta_length,) = struct.unpack("<L", head[140:144])
    meta = fp.read(meta_length)
    return DeflatedExplicitVRLittleEndian.encode() in meta


def _parse(fp: BinaryIO, size: int, *, stop_before_pixels: bool = False) -> Dataset:
    """Run pydicom's parser, turning its failures and EOF warnings into errors.

    With `stop_before_pixels`, `fp` is left at the tag of the top-level pixel
    data element (or at the end of the data set when there is none), and an
    empty data set is returned as it is for the caller to judge.
    """
    start = fp.tell()
    if size - start <= 0:
        raise InvalidDicomError("not a DICOM file: it is empty")

    with recorded_warnings() as caught:
        try:
            ds = pydicom.dcmread(
                fp, defer_size=_DEFER_BYTES, stop_before_pixels=stop_before_pixels
            )
        except pydicom.errors.InvalidDicomError:
            fp.seek(start)
            ds = _parse_without_preamble(fp, stop_before_pixels)
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
            raise _cut_inside()
    if caught:
        logger.debug("pydicom warned %d time(s) while reading a file", len(caught))

    if len(ds) == 0 and not stop_before_pixels:
        raise InvalidDicomError(
            "not a DICOM instance: the file holds file meta information but no "
            "data set (it may be truncated)"
        )
    return ds


def _cut_inside() -> InvalidDicomError:
    """The refusal of a file that ends inside an element or sequence."""
    return InvalidDicomError(
        "truncated: the file ends inside a data element or sequence"
    )


#: The groups a data set written without preamble and file meta starts with.
_BARE_GROUPS = frozenset({0x0002, 0x0008})


def _parse_without_preamble(fp: BinaryIO, stop_before_pixels: bool) -> Dataset:
    """Read a data set without preamble and file meta, if that is what `fp` is."""
    # Old modalities and some exporters write the bare data set. DCMTK and GDCM
    # read those; so do we, but only when the result looks like a real data set,
    # because pydicom's forced read turns any bytes into some elements.
    not_dicom = InvalidDicomError(
        "not a DICOM file: there is no 'DICM' marker at byte 128 and the "
        "content does not parse as a DICOM data set"
    )
    # A bare data set starts with a file meta (0002) or identifying (0008)
    # element. Refuse anything else before the forced parse, which would turn
    # a large file of zeros into millions of empty elements, one by one.
    start = fp.tell()
    head = fp.read(4)
    fp.seek(start)
    if len(head) < 4 or not _BARE_GROUPS & {
        struct.unpack("<H", head[:2])[0],
        struct.unpack(">H", head[:2])[0],
    }:
        raise not_dicom
    try:
        ds = pydicom.dcmread(
            fp,
            defer_size=_DEFER_BYTES,
            force=True,
            stop_before_pixels=stop_before_pixels,
        )
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


def _check_header(ds: Dataset, pixels: _Pixels | None, limits: ReadLimits) -> None:
    """The checks of a parsed header, in the order both readers make them."""
    _ensure_transfer_syntax(ds, pixels)
    _check_identity(ds)
    _check_image_size(ds, limits, pixels is not None)


def _ensure_transfer_syntax(ds: Dataset, pixels: _Pixels | None) -> None:
    """Check (0002,0010) and infer it for uncompressed data when it is missing."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta = meta
    tsyntax = str(meta.get("TransferSyntaxUID", "") or "").strip("\0 ")

    if not tsyntax:
        if pixels is not None and pixels.encapsulated:
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

    if pixels is None:
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

    missing = [name for tag, name in _IDENTITY if not _text_of(ds, tag)]
    if missing:
        raise InvalidDicomError(
            "not a storable DICOM instance: no " + ", no ".join(missing)
        )


def _text_of(ds: Dataset, tag: int) -> str:
    """An element's value as trimmed text, "" when absent, empty or unreadable.

    A raw ASCII value is decoded as it is, leaving the element raw (a writer
    then copies it without encoding it again); anything else is converted.
    """
    elem = ds.get_item(tag, keep_deferred=True)
    if elem is None:
        return ""
    if isinstance(elem, RawDataElement) and elem.value is not None:
        try:
            return elem.value.decode("ascii").strip("\0 ")
        except UnicodeDecodeError:
            pass
    with unvalidated_values():
        try:
            value = ds[tag].value
        except Exception:
            value = None
    return str(value or "").strip("\0 ")


def _check_lengths(ds: Dataset, size: int) -> None:
    """Refuse a data set whose last element runs past the end of the file."""
    # pydicom stops quietly when fewer than the 8 bytes of an element header are
    # left, so a file cut inside a tag would pass for a shorter one.
    # The elements as parsed: get_item() would read (and convert) the values
    # pydicom deferred, the pixel data among them, before the checks pass.
    elements = list(ds.values())
    last = elements[-1] if elements else None
    if isinstance(last, RawDataElement) and last.length != _UNDEFINED_LENGTH:
        left = size - (last.value_tell + last.length)
        if 0 < left < 8:
            raise InvalidDicomError(
                "truncated: the file ends inside the header of a data element"
            )

    for raw in elements:
        if not isinstance(raw, RawDataElement) or raw.length == _UNDEFINED_LENGTH:
            continue
        if raw.value is None:
            available = max(0, size - raw.value_tell)
        else:
            available = len(raw.value)
        if available < raw.length:
            raise _truncated(raw.tag, raw.length, available)


def _truncated(tag: int, declared: int, available: int) -> InvalidDicomError:
    """The refusal of an element whose value runs past the end of the file."""
    return InvalidDicomError(
        f"truncated: {_describe(tag)} declares {declared:,} bytes but "
        f"the file holds only {available:,} of them"
    )


def _check_pixel_data(ds: Dataset, pixels: _Pixels | None) -> None:
    """Refuse uncompressed pixel data shorter than the image the header declares."""
    if pixels is None or pixels.encapsulated:
        return

    tag, length = pixels.tag, pixels.length
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


@dataclass(frozen=True)
class _Pixels:
    """What the checks need to know of a file's pixel data element."""

    tag: int
    #: (7FE0,0010) *Pixel Data* of undefined length: encapsulated fragments.
    encapsulated: bool
    #: The value length the element declares (native data only).
    length: int


def _pixels_of(ds: Dataset) -> _Pixels | None:
    """The pixel data element of a data set read whole, None when it has none."""
    tag = next((tag for tag in _PIXEL_TAGS if tag in ds), None)
    if tag is None:
        return None
    elem = ds.get_item(tag, keep_deferred=True)
    if isinstance(elem, RawDataElement):
        encapsulated = elem.length == _UNDEFINED_LENGTH
        length = elem.length
    else:
        encapsulated = bool(elem.is_undefined_length)
        length = len(elem.value or b"")
    return _Pixels(tag, tag == 0x7FE00010 and encapsulated, length)


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


@dataclass(frozen=True)
class _Element:
    """An element's tag, declared value length and value offset in the file."""

    tag: int
    length: int
    value_offset: int


@dataclass(frozen=True)
class _Found:
    """Where :func:`_find_pixel_element` found the pixel data element."""

    pixels: _Pixels | None
    encoding: tuple[bool, bool] | None
    offset: int
    end: int
    #: The pixel data element, and the top-level elements after it.
    elements: tuple[_Element, ...]

    @property
    def trailing(self) -> tuple[int, ...]:
        return tuple(element.tag for element in self.elements[1:])

    def check_lengths(self, size: int) -> None:
        """Refuse as :func:`_check_lengths` refuses the same elements."""
        if self.elements:
            last = self.elements[-1]
            left = size - (last.value_offset + last.length)
            if 0 < left < 8:
                raise InvalidDicomError(
                    "truncated: the file ends inside the header of a data element"
                )
        for element in self.elements:
            if element.length == _UNDEFINED_LENGTH:
                continue
            available = max(0, size - element.value_offset)
            if available < element.length:
                raise _truncated(element.tag, element.length, available)


def _find_pixel_element(fp: BinaryIO, size: int) -> _Found | None:
    """Read the pixel data element's tag, VR and length at the position of `fp`.

    `fp` is where pydicom stopped before the pixel data. Returns None when the
    element, or what follows it, has a form that only :func:`read` handles.
    The element's encoding is read from its own bytes: pydicom may read a
    data set in another encoding than its transfer syntax names.
    """
    offset = fp.tell()
    head = fp.read(12)  # in the reader's buffer already, most often
    if len(head) < 8:
        # No pixel data: pydicom read the data set to its end.
        return _Found(None, None, size, size, ())
    encoding = _pixel_encoding(head)
    if encoding is None:
        return None

    implicit, little = encoding
    endian = "<" if little else ">"
    group, element = struct.unpack(endian + "HH", head[:4])
    tag = group << 16 | element
    if implicit:
        (length,) = struct.unpack(endian + "L", head[4:8])
        value_offset = offset + 8
    elif len(head) == 12:
        (length,) = struct.unpack(endian + "L", head[8:])
        value_offset = offset + 12
    else:
        return None

    if length == _UNDEFINED_LENGTH:
        # Encapsulated data is little endian explicit VR (PS3.5 A.4).
        if tag != 0x7FE00010 or implicit or not little:
            return None
        end = _fragments_end(fp, value_offset, size)
        if end is None:
            return None
        pixels = _Pixels(tag, True, length)
    elif length % 2:
        # pydicom pads an odd value when it writes it; leave that to read().
        return None
    else:
        end = value_offset + length
        pixels = _Pixels(tag, False, length)

    trailing = _trailing_elements(fp, end, size, encoding, tag)
    if trailing is None:
        return None
    pixel_element = _Element(tag, length, value_offset)
    return _Found(pixels, encoding, offset, end, (pixel_element, *trailing))


def _fragments_end(fp: BinaryIO, position: int, size: int) -> int | None:
    """The end of encapsulated pixel data: the items are skipped, never read."""
    # pydicom walks the items the same way before it falls back to searching
    # the bytes for the delimiter; a file cut inside the items is truncated
    # for both. A file cut inside the delimiter's own length is not: pydicom
    # finds the delimiter's tag and reads it, so that is left to read().
    while True:
        head = _read_at(fp, position, 8)
        if len(head) < 8:
            if len(head) >= 4 and head[:4] == _ITEM.pack(0xFFFE, 0xE0DD, 0)[:4]:
                return None
            raise _cut_inside()
        group, element, length = _ITEM.unpack(head)
        if group != 0xFFFE:
            return None
        if element == 0xE0DD:
            return position + 8 if length == 0 else None
        if element != 0xE000 or length == _UNDEFINED_LENGTH or length % 2:
            return None
        position += 8 + length
        if position > size:
            raise _cut_inside()


def _trailing_elements(
    fp: BinaryIO,
    position: int,
    size: int,
    encoding: tuple[bool, bool],
    after: int,
) -> list[_Element] | None:
    """The top-level elements after the pixel data; None if any is unusual.

    An element whose value runs past the end of the file is returned as it
    is, for :meth:`_Found.check_lengths` to refuse as read() would.
    """
    implicit, little = encoding
    endian = "<" if little else ">"
    elements: list[_Element] = []
    while position < size:
        if size - position < 8:
            break  # the file ends inside an element's header: refused
        if len(elements) >= _MAX_TRAILING:
            return None
        head = _read_at(fp, position, 12)
        group, element = struct.unpack(endian + "HH", head[:4])
        tag = group << 16 | element
        if tag <= after:
            return None
        if implicit:
            (length,) = struct.unpack(endian + "L", head[4:8])
            header = 8
        elif head[4:6] in _LONG_VRS and len(head) == 12:
            (length,) = struct.unpack(endian + "L", head[8:])
            header = 12
        elif head[4:6] in _SHORT_VRS:
            (length,) = struct.unpack(endian + "H", head[6:8])
            header = 8
        else:
            return None
        if length == _UNDEFINED_LENGTH:
            return None
        elements.append(_Element(tag, length, position + header))
        position += header + length
        after = tag
    return elements


def _read_at(fp: BinaryIO, position: int, count: int) -> bytes:
    """`count` bytes of `fp` from `position` (fewer at its end), unbuffered."""
    # A buffered reader would fill its whole buffer for each item header.
    descriptor = _fileno(fp)
    if descriptor is not None and hasattr(os, "pread"):
        return os.pread(descriptor, count, position)
    fp.seek(position)
    return fp.read(count)


def _pixel_encoding(head: bytes) -> tuple[bool, bool] | None:
    """(implicit VR, little endian) of a pixel data element, from its first bytes."""
    # A pixel data tag reads as one in one byte order only, and an explicit VR
    # (OB, OW, OF, OD) read as an implicit length would be odd, which pixel
    # data never is.
    for little, endian in ((True, "<"), (False, ">")):
        group, element = struct.unpack(endian + "HH", head[:4])
        tag = group << 16 | element
        if tag in _PIXEL_TAGS:
            explicit = head[4:6] in _PIXEL_VRS[tag] and head[6:8] == b"\0\0"
            return not explicit, little
    return None


def _encoded_as(syntax: UID, encoding: tuple[bool, bool] | None) -> bool:
    """True when the data set is encoded as its transfer syntax says."""
    if encoding is None:
        return True  # no pixel data to copy
    if syntax.is_private or not syntax.is_transfer_syntax:
        return False
    return (syntax.is_implicit_VR, syntax.is_little_endian) == encoding


def _load_deferred(ds: Dataset, fp: BinaryIO) -> bool:
    """Read the values pydicom deferred, keeping them raw; False if it cannot."""
    deferred = [
        elem
        for elem in ds.values()
        if isinstance(elem, RawDataElement) and elem.value is None
    ]
    for elem in deferred:
        if elem.length == _UNDEFINED_LENGTH:
            return False
        fp.seek(elem.value_tell)
        ds[elem.tag] = elem._replace(value=fp.read(elem.length))
    return True


def _kept_source(
    source: str | os.PathLike[str] | bytes | BinaryIO, fp: BinaryIO
) -> Path | bytes | BinaryIO:
    """What :class:`HeaderRead` copies from: the path, the bytes or the file."""
    if isinstance(source, str | os.PathLike):
        return Path(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if fp is source:
        return source
    # A stream that cannot seek was read into memory by _opened.
    assert isinstance(fp, io.BytesIO)
    return fp.getvalue()


def _stamp(fp: BinaryIO) -> tuple[int, int]:
    """Size and modification time of an open file, to notice it changing."""
    status = os.fstat(fp.fileno())
    return status.st_size, status.st_mtime_ns


def _changed() -> InvalidDicomError:
    return InvalidDicomError(
        "the file changed or shrank while it was being imported; import it again"
    )


def _copy_range(
    header: HeaderRead, offset: int, length: int, out: BinaryIO | int
) -> int:
    """Write `length` bytes of the header's source from `offset` to `out`."""
    if length <= 0:
        return 0
    if isinstance(out, int):
        _copy_to_descriptor(header, offset, length, out)
        return length
    descriptor = _fileno(out)
    if descriptor is None:
        # An in-memory output (a BytesIO): no descriptor to copy into.
        out.write(_read_range(header, offset, length))
        return length
    out.flush()
    position = out.tell()
    os.lseek(descriptor, position, os.SEEK_SET)
    _copy_to_descriptor(header, offset, length, descriptor)
    out.seek(position + length)
    return length


def _copy_to_descriptor(header: HeaderRead, offset: int, length: int, out: int) -> None:
    """Copy a range of the source to the current position of descriptor `out`."""
    source = header.source
    if isinstance(source, bytes | io.BytesIO):
        with _memory_range(source, offset, length) as part:
            _write_all(out, part)
        return
    if isinstance(source, Path):
        descriptor = os.open(source, os.O_RDONLY | _O_CLOEXEC | _O_BINARY)
        try:
            status = os.fstat(descriptor)
            if (status.st_size, status.st_mtime_ns) != header._stamp:
                raise _changed()
            _copy_between(descriptor, offset, length, out)
        finally:
            os.close(descriptor)
        return
    descriptor = _fileno(source)
    if descriptor is not None:
        _copy_between(descriptor, offset, length, out)
        return
    source.seek(offset)
    left = length
    while left:
        chunk = source.read(min(left, _COPY_CHUNK))
        if not chunk:
            raise _changed()
        _write_all(out, chunk)
        left -= len(chunk)


def _read_range(header: HeaderRead, offset: int, length: int) -> bytes:
    """A range of the source, read into memory."""
    source = header.source
    if isinstance(source, bytes | io.BytesIO):
        with _memory_range(source, offset, length) as part:
            return bytes(part)
    if isinstance(source, Path):
        with open(source, "rb") as original:
            if _stamp(original) != header._stamp:
                raise _changed()
            original.seek(offset)
            data = original.read(length)
    else:
        source.seek(offset)
        data = source.read(length)
    if len(data) < length:
        raise _changed()
    return data


@contextlib.contextmanager
def _memory_range(
    source: bytes | io.BytesIO, offset: int, length: int
) -> Iterator[memoryview]:
    """A view of a range of an in-memory source, released afterwards."""
    buffer = source if isinstance(source, bytes) else source.getbuffer()
    try:
        with memoryview(buffer) as view:
            if offset + length > len(view):
                raise _changed()
            with view[offset : offset + length] as part:
                yield part
    finally:
        if isinstance(buffer, memoryview):
            buffer.release()


def _fileno(stream: BinaryIO) -> int | None:
    """The descriptor of a file object, None for in-memory ones."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _copy_between(source: int, offset: int, length: int, out: int) -> None:
    """Copy a range of one file to another's position, in the kernel if it can."""
    copied = 0
    if _COPY_FILE_RANGE is not None:
        copied = _kernel_copy(_COPY_FILE_RANGE, source, offset, length, out)
    # The rest (all of it on other platforms and some file systems) through
    # plain reads and writes.
    while copied < length:
        chunk = _pread(source, min(length - copied, _COPY_CHUNK), offset + copied)
        if not chunk:
            raise _changed()
        _write_all(out, chunk)
        copied += len(chunk)


def _pread(descriptor: int, count: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(descriptor, count, offset)
    os.lseek(descriptor, offset, os.SEEK_SET)
    return os.read(descriptor, count)


def _write_all(descriptor: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while len(view):
        view = view[os.write(descriptor, view) :]


def _kernel_copy(
    copy_file_range: Callable[..., int],
    source: int,
    offset: int,
    length: int,
    out: int,
) -> int:
    """os.copy_file_range until done; the bytes copied (fewer if unsupported)."""
    copied = 0
    while copied < length:
        try:
            count = copy_file_range(source, out, length - copied, offset + copied)
        except OSError as exc:
            if exc.errno in _NO_KERNEL_COPY:
                return copied
            raise
        if count == 0:
            return copied
        copied += count
    return copied
