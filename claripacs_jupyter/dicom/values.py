"""Short values read straight from the bytes of elements pydicom has not converted.

A header read leaves elements as undecoded
:class:`~pydicom.dataelem.RawDataElement` objects; pydicom converts one the
first time it is asked for (through its hooks, value classes and validation),
which costs more than the few bytes are worth when a value is plain ASCII.
The anonymizer reads short text values here, and :func:`numeric_value` reads
the numbers the viewer's image facts need (positions, spacing, windows,
rescale) with plain :func:`float` and :func:`int`. Anything else (another
character set, a value the plain parse refuses, an element already converted)
goes through pydicom as before, so results never differ from pydicom's.
"""

from __future__ import annotations

from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement

__all__ = ["ascii_text", "numeric_value"]

_PARSERS = {"DS": float, "IS": int}
# keyword -> (tag, parser), for the numeric keywords asked for so far.
_NUMERIC: dict[str, tuple[int, str, Any]] = {}


def ascii_text(elem: DataElement | RawDataElement | None) -> str | None:
    """The value of a raw element as text, when it is plain ASCII.

    Parameters
    ----------
    elem : DataElement or RawDataElement or None
        An element of a dataset (None when absent).

    Returns
    -------
    str or None
        The undecoded bytes as text, padding included; None when `elem` is
        not a raw element, has no value, or is not ASCII (pydicom must
        convert it). Bytes with an ESC are not ASCII text here: they switch
        to another character set (ISO 2022 code extensions, seven bits wide).
    """
    if not isinstance(elem, RawDataElement) or elem.value is None:
        return None
    if b"\x1b" in elem.value:
        return None
    try:
        return elem.value.decode("ascii")
    except UnicodeDecodeError:
        return None


def numeric_value(ds: Dataset, keyword: str) -> Any:
    """``ds.get(keyword)`` for a DS or IS element, numerically the same.

    A raw ASCII value whose every item :func:`float` (DS) or :func:`int` (IS)
    accepts gives a float or int, or a list of them when there are several;
    that is what pydicom gives, as plain numbers (pydicom also calls
    ``float``/``int`` on each item, after the same trimming). Anything else
    is left to pydicom: ``ds.get(keyword)``, with its behaviour on malformed
    values unchanged.

    Parameters
    ----------
    ds : pydicom.Dataset
        A dataset (or a sequence item).
    keyword : str
        The keyword of an element whose VR is DS or IS.

    Returns
    -------
    object
        A number, a list of numbers, or whatever ``ds.get(keyword)`` returns.
    """
    known = _NUMERIC.get(keyword)
    if known is None:
        tag = tag_for_keyword(keyword)
        if tag is None or dictionary_VR(tag) not in _PARSERS:
            raise ValueError(f"{keyword} is not a DS or IS element")
        vr = dictionary_VR(tag)
        known = _NUMERIC[keyword] = (tag, vr, _PARSERS[vr])
    tag, vr, parse = known
    elem = ds._dict.get(tag)
    text = ascii_text(elem)
    if text is not None and elem.VR in (None, vr):  # type: ignore[union-attr]
        # pydicom's trimming: whitespace, then trailing spaces and NULs.
        items = text.strip().rstrip(" \0").split("\\")
        try:
            numbers = [parse(item) for item in items]
        except ValueError:
            pass  # malformed or empty items: pydicom decides, as before
        else:
            return numbers[0] if len(numbers) == 1 else numbers
    return ds.get(keyword)
