"""Reading and writing short text values without pydicom's element conversion.

pydicom keeps the elements it has not been asked about as undecoded
:class:`~pydicom.dataelem.RawDataElement` objects. The anonymizer reads a
handful of short ASCII values (UIDs, codes, ages) and writes a handful of new
ones on every instance of an import; decoding those bytes here, and writing
new values as raw elements in the dataset's own encoding, keeps the cost of
anonymization below the cost of the elements it saves the writer (see
``benchmarks/ingest.py``). Anything that is not plain ASCII goes through
pydicom as usual.
"""

from __future__ import annotations

from pydicom import Dataset
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

from ..dicom.values import ascii_text

__all__ = ["element_text_values", "text_element", "text_value", "text_values"]


def text_values(ds: Dataset, tag: int) -> list[str]:
    """Return the values of a string element of `ds` as text.

    Parameters
    ----------
    ds : pydicom.Dataset
        The dataset, as read or as built.
    tag : int
        The tag of a string element (CS, UI, AS, SH, LO and the like).

    Returns
    -------
    list of str
        Each value without its padding; ``[]`` when the element is absent,
        empty or cannot be decoded.
    """
    elem = ds._dict.get(BaseTag(tag))
    return [] if elem is None else element_text_values(ds, tag, elem)


def element_text_values(
    ds: Dataset, tag: int, elem: DataElement | RawDataElement
) -> list[str]:
    """Like :func:`text_values`, for the element `elem` of `ds` already found."""
    text = ascii_text(elem)  # None for another character set: pydicom decodes it
    if text is not None:
        values = text.strip(" \0").split("\\")
        return [v.strip(" \0") for v in values] if values != [""] else []
    try:
        value = ds[tag].value
    except Exception:  # an undecodable value is treated as absent
        return []
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | PersonName):
        # one value; a PersonName iterates over its letters
        value = [value]
    try:
        items = list(value)
    except TypeError:
        items = [value]
    return [
        (v.decode("latin-1") if isinstance(v, bytes) else str(v)).strip(" \0")
        for v in items
    ]


def text_value(ds: Dataset, tag: int) -> str:
    """Return the first value of a string element as text, "" when absent."""
    values = text_values(ds, tag)
    return values[0] if values else ""


def text_element(
    tag: int, vr: str, values: str | list[str], like: Dataset
) -> DataElement | RawDataElement:
    """Return a new element holding ASCII `values`, encoded like `like`.

    When `like` was decoded from a file, the element is a raw element in the
    same encoding, which the writer copies without converting; otherwise it
    is an ordinary :class:`~pydicom.dataelem.DataElement`.

    Parameters
    ----------
    tag : int
        The element's tag.
    vr : str
        Its VR, a string VR of the default character repertoire.
    values : str or list of str
        One value, or several; ``""`` for an empty element.
    like : pydicom.Dataset
        The dataset the element goes into (its original encoding is used).

    Returns
    -------
    pydicom.dataelem.DataElement or pydicom.dataelem.RawDataElement
        The element.
    """
    implicit, little = like.original_encoding
    if implicit is None or little is None:
        if isinstance(values, list):
            return DataElement(tag, vr, values if len(values) != 1 else values[0])
        return DataElement(tag, vr, values)
    text = values if isinstance(values, str) else "\\".join(values)
    data = text.encode("ascii")
    if len(data) % 2:
        data += b"\0" if vr == "UI" else b" "
    return RawDataElement(BaseTag(tag), vr, len(data), data, 0, implicit, little)
