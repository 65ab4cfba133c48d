"""Modified dates: one keyed offset per patient, and dates moved by it.

PS3.15's Retain Longitudinal Temporal Information with Modified Dates option
keeps the intervals between a patient's studies while hiding when they took
place. Every date of one patient moves by the same whole number of days, so
intervals and times of day stay true. The offset
comes from a keyed hash of the patient's identity: the same key gives the
same offset in every run, so studies anonymized apart still line up, and
without the key the offset cannot be recomputed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from pydicom import Dataset

from .values import text_value

__all__ = ["MAX_OFFSET_DAYS", "MIN_OFFSET_DAYS", "patient_offset", "shift_value"]

#: Dates move back by at least this many days ...
MIN_OFFSET_DAYS = 365
#: ... and at most this many (about ten years).
MAX_OFFSET_DAYS = 3652

_DATE = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")
_DATETIME = re.compile(r"(\d{8})(\d*(?:\.\d*)?)([+-]\d{4})?")


def patient_offset(ds: Dataset, key: bytes) -> int:
    """The number of days (negative) by which the patient's dates move.

    The patient is named by (0010,0020) *PatientID* and (0010,0021)
    *IssuerOfPatientID*; without an ID, by (0010,0010) *PatientName* and
    (0010,0030) *PatientBirthDate*; without those, by the study's (0020,000D)
    *StudyInstanceUID*, so that a study at least stays consistent.

    Parameters
    ----------
    ds : pydicom.Dataset
        The instance as read.
    key : bytes
        The secret key of the run or the store.

    Returns
    -------
    int
        Between ``-MAX_OFFSET_DAYS`` and ``-MIN_OFFSET_DAYS``.
    """
    identity = [text_value(ds, 0x00100020), text_value(ds, 0x00100021)]
    if not identity[0]:
        identity = ["name", str(ds.get("PatientName", "") or "")]
        identity.append(text_value(ds, 0x00100030))
        if not identity[1]:
            identity = ["study", text_value(ds, 0x0020000D)]
    message = "\0".join(["claripacs date offset", *identity]).encode("utf-8")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    span = MAX_OFFSET_DAYS - MIN_OFFSET_DAYS + 1
    return -(MIN_OFFSET_DAYS + int.from_bytes(digest[:8], "big") % span)


def shift_value(vr: str, value: str, days: int) -> str | None:
    """`value` of VR DA or DT moved by `days`; None when it is not a full date.

    A DT keeps its time and UTC offset; a DA in the old ``YYYY.MM.DD`` form
    comes back as ``YYYYMMDD``. A partial or malformed date cannot be moved
    truthfully, so the caller removes it.
    """
    value = value.strip()
    if vr == "DA":
        match = _DATE.fullmatch(value)
        rest = ""
    else:
        match = _DATETIME.fullmatch(value)
        rest = (match.group(2) + (match.group(3) or "")) if match else ""
        match = _DATE.fullmatch(match.group(1)) if match else None
    if match is None:
        return None
    try:
        day = dt.date(*(int(part) for part in match.groups()))
        moved = day + dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{moved.year:04d}{moved.month:02d}{moved.day:02d}{rest}"
