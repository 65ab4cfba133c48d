"""The teaching profile's rule for (0010,1010) *PatientAge*.

Ages over 80 years must not survive as a value. We blank them: the element
stays in the file with an empty value. We chose an empty value over one
shared value (such as ``"081Y"``) because a shared value reads as a real,
exact age and would mislead a reader about every patient it stands for; an
empty value says plainly that the age was withheld. Ages of 80 years and
younger are kept as received.

An Age String (AS) is exactly three digits and a unit: ``D`` days, ``W``
weeks, ``M`` months or ``Y`` years (PS3.5 6.2). Ages in days, weeks and
months are compared by their length in years, so ``"960M"`` (exactly 80
years) is kept and ``"961M"`` is blanked; ``"970W"`` is about 18.6 years and
is kept. Anything else (``"45"``, ``"0970W"``, ``"81 Y"``, several values) is
malformed and the element is removed: we cannot tell its age, so we cannot
tell that it is safe.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["AGE_LIMIT_YEARS", "age_in_years", "teaching_age"]

#: Ages strictly greater than this many years are blanked.
AGE_LIMIT_YEARS = 80

_AGE = re.compile(r"(\d{3})([DWMY])")

# Length of one unit in years; a year is 365.25 days on average.
_UNIT_YEARS = {
    "D": Fraction(4, 1461),
    "W": Fraction(28, 1461),
    "M": Fraction(1, 12),
    "Y": Fraction(1),
}


def age_in_years(value: str) -> Fraction | None:
    """Return an Age String as an exact number of years, or None if malformed.

    Parameters
    ----------
    value : str
        The value of an AS element, e.g. ``"045Y"`` or ``"970W"``. Trailing
        space padding is ignored.

    Returns
    -------
    fractions.Fraction or None
        The age in years, or None when `value` is not a valid Age String.
    """
    match = _AGE.fullmatch(value.rstrip(" \0"))
    if match is None:
        return None
    return int(match[1]) * _UNIT_YEARS[match[2]]


def teaching_age(value: str) -> str | None:
    """Apply the teaching profile's age rule to one (0010,1010) *PatientAge*.

    Parameters
    ----------
    value : str
        The age as received (an empty string for an empty element).

    Returns
    -------
    str or None
        The value to write: the age unchanged when 80 years or younger, an
        empty string when empty or over 80 years, or None when the value is
        malformed and the element must be removed.
    """
    text = value.rstrip(" \0")
    if not text:
        return ""
    years = age_in_years(text)
    if years is None:
        return None
    if years > AGE_LIMIT_YEARS:
        return ""
    return text
