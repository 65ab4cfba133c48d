"""Encoding a stored instance's header as the start of a DICOM Part 10 file.

Ingest writes an anonymized instance as its header followed by the source's
pixel data element, copied byte for byte (see
:meth:`~claripacs_jupyter.dicom.HeaderRead.copy_pixel_element`). The header is
what :func:`pydicom.dcmwrite` writes for the same dataset, byte for byte:
pydicom writes the file meta, every element it must encode, and each
sequence; the raw elements already in the output's encoding, which are most
of a header, are framed here with their tag, VR and length, which is all
pydicom does with them, at a fraction of its cost per element.
"""

from __future__ import annotations

import struct

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import (
    write_data_element,
    write_dataset,
    write_file_meta_info,
)
from pydicom.uid import UID
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from ..anonymize.values import text_value

__all__ = ["encode_header"]

_UNDEFINED_LENGTH = 0xFFFFFFFF
_LONG_VRS = frozenset(EXPLICIT_VR_LENGTH_32)
_PREAMBLE = b"\0" * 128

# Element headers by encoding: (implicit VR, little endian) -> struct.
_IMPLICIT = struct.Struct("<HHL")
_EXPLICIT_SHORT = {True: struct.Struct("<HH2sH"), False: struct.Struct(">HH2sH")}
_EXPLICIT_LONG = {True: struct.Struct("<HH2sHL"), False: struct.Struct(">HH2sHL")}
_GROUP_LENGTH = struct.Struct("<HH2sHL")
_US = {True: struct.Struct("<H"), False: struct.Struct(">H")}

#: File meta elements that PS3.10 7.1 requires with a value: (0002,0001),
#: (0002,0002), (0002,0003), (0002,0010), (0002,0012); and the (0002,0013)
#: that pydicom's writer would otherwise add.
_REQUIRED_META = (
    0x00020001,
    0x00020002,
    0x00020003,
    0x00020010,
    0x00020012,
    0x00020013,
)
_META_ENCODING = (False, True)


def encode_header(ds: Dataset) -> bytes:
    """Return the Part 10 bytes of `ds`: preamble, file meta and data set.

    The result is what ``pydicom.dcmwrite(buffer, ds, enforce_file_format=True)``
    writes, for a dataset whose file meta is already complete and consistent
    with it (as :func:`~claripacs_jupyter.anonymize.anonymize_teaching` builds
    it): (0002,0002) and (0002,0003) equal (0008,0016) and (0008,0018).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset, typically without its pixel data; (0002,0010) *Transfer
        Syntax UID* in its file meta says how it is encoded.

    Returns
    -------
    bytes
        The encoded file, up to the end of the last element of `ds`.
    """
    # Read without converting the element, which would stop it being raw.
    syntax = UID(text_value(ds.file_meta, 0x00020010))
    encoding = (syntax.is_implicit_VR, syntax.is_little_endian)
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = False, True
    buffer.write(getattr(ds, "preamble", None) or _PREAMBLE)
    buffer.write(b"DICM")
    meta = _encoded_meta(ds.file_meta)
    if meta is None:
        write_file_meta_info(buffer, ds.file_meta, enforce_standard=True)
    else:
        buffer.write(meta)
    buffer.is_implicit_VR, buffer.is_little_endian = encoding

    if (
        encoding != ds.original_encoding
        or ds.original_character_set != ds._character_set
    ):
        # pydicom converts and re-encodes every element in this case.
        write_dataset(buffer, ds)
        return buffer.getvalue()

    charset = ds.get("SpecificCharacterSet", default_encoding)
    # Sorted as ints: BaseTag compares in Python, which shows at this rate.
    for number, elem in sorted((int(tag), elem) for tag, elem in ds.items()):
        if number & 0xFFFF == 0 and number >> 16 > 6:
            continue  # retired group lengths, which pydicom leaves out too
        if _copies_as_is(elem, encoding):
            buffer.write(_framed(elem, encoding))  # type: ignore[arg-type]
        elif (value := _simple_value(elem, encoding[1])) is not None:
            raw = RawDataElement(elem.tag, elem.VR, len(value), value, 0, *encoding)
            buffer.write(_framed(raw, encoding))
        else:
            write_data_element(buffer, ds.get_item(number), charset)
    return buffer.getvalue()


def _encoded_meta(meta: Dataset) -> bytes | None:
    """The file meta group as pydicom writes it, or None to let pydicom write it."""
    # Like write_file_meta_info(enforce_standard=True) for a complete group of
    # raw elements: sorted, explicit VR little endian, behind its group length.
    parts = []
    for number, elem in sorted((int(tag), elem) for tag, elem in meta.items()):
        if number == 0x00020000:
            continue
        if number >> 16 != 0x0002 or not _copies_as_is(elem, _META_ENCODING):
            return None
        parts.append(_framed(elem, _META_ENCODING))  # type: ignore[arg-type]
    for tag in _REQUIRED_META:
        elem = meta.get_item(tag, keep_deferred=True)
        if not isinstance(elem, RawDataElement) or not elem.value:
            return None
    body = b"".join(parts)
    return _GROUP_LENGTH.pack(0x0002, 0x0000, b"UL", 4, len(body)) + body


def _framed(elem: RawDataElement, encoding: tuple[bool, bool]) -> bytes:
    """A raw element's tag, VR and length in `encoding`, then its value."""
    implicit, little = encoding
    value = elem.value or b""
    number = int(elem.tag)
    group, element = number >> 16, number & 0xFFFF
    if implicit:
        head = _IMPLICIT.pack(group, element, len(value))
    elif elem.VR in _LONG_VRS:
        frame = _EXPLICIT_LONG[little]
        head = frame.pack(group, element, elem.VR.encode(), 0, len(value))
    else:
        frame = _EXPLICIT_SHORT[little]
        head = frame.pack(group, element, elem.VR.encode(), len(value))
    return head + value


def _simple_value(elem: object, little: bool) -> bytes | None:
    """The encoded value of a converted element of one plain value, or None.

    Reading a header converts a few elements (Rows, Columns, Photometric
    Interpretation...); one US number or one ASCII CS text is encoded here
    as pydicom's ``write_numbers`` and ``write_string`` encode it (even
    length, padded with a space). Anything else is left to pydicom.
    """
    if isinstance(elem, RawDataElement) or not isinstance(elem, DataElement):
        return None
    value = elem.value
    if elem.VR == "US" and type(value) is int and 0 <= value <= 0xFFFF:
        return _US[little].pack(value)
    if elem.VR == "CS" and type(value) is str and value and value.isascii():
        data = value.encode("ascii")
        return data + b" " if len(data) % 2 else data
    return None


def _copies_as_is(elem: object, encoding: tuple[bool, bool]) -> bool:
    """True for a raw element that pydicom would write as its value stands."""
    if not isinstance(elem, RawDataElement) or elem.value is None:
        return False
    if (elem.is_implicit_VR, elem.is_little_endian) != encoding:
        return False
    if elem.length == _UNDEFINED_LENGTH:
        return False  # pydicom appends the delimiter
    if encoding[0]:
        return True
    vr = elem.VR
    if vr is None or len(vr) != 2:
        return False
    # A short-VR value over 64 KiB is written as UN by pydicom.
    return vr in _LONG_VRS or len(elem.value) <= 0xFFFF
