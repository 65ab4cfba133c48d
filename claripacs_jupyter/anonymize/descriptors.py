"""Descriptions cleaned of the patient's names, identifiers and dates.

Technologists type what they like into (0008,1030) *StudyDescription* and
(0008,103E) *SeriesDescription*: "CT CHEST 10234567", "DOE JOHN 3D
03/14/2021". The teaching profile keeps these descriptions, so before they are
written every token that is the patient's name (any part of it, in any order
or case, without its accents or apostrophes, or family and given name run
together), one of the instance's identifiers (patient ID, other IDs, accession,
study and procedure IDs, with or without the dashes, dots and spaces people
put in them), an identifier anybody's that a label announces ("MRN: ...",
"acc# ...") or a date (one that can be a date: "30/60/90" is not) is cut
out, with the separators next to it. What is left is checked once
more: a long run of digits may be an identifier nobody named, and the case is
then held for review rather than trusted.

The scan runs on decoded text (pydicom decodes with the file's (0008,0005)
*SpecificCharacterSet*), so a Cyrillic or Japanese name is found as well as a
Latin one. Names in scripts written without spaces (Chinese, Japanese,
Korean) are matched anywhere in the text, the others only as whole words.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydicom import Dataset
from pydicom.multival import MultiValue

from .values import text_values

__all__ = [
    "Cleaned",
    "Identifiers",
    "clean_descriptor",
    "identifiers_of",
    "scrub_identifiers",
]

# Person names of the instance: the patient's, and the staff's, whose names
# have no place in a teaching file either.
_NAME_TAGS = (
    0x00100010,  # PatientName
    0x00101001,  # OtherPatientNames
    0x00101005,  # PatientBirthName
    0x00101060,  # PatientMotherBirthName
    0x00080090,  # ReferringPhysicianName
    0x00081050,  # PerformingPhysicianName
    0x00081060,  # NameOfPhysiciansReadingStudy
    0x00081070,  # OperatorsName
    0x00321032,  # RequestingPhysician
)

# Identifiers that technologists copy into descriptions.
# The patient's own identifiers, looked for however short their digits.
_PATIENT_ID_TAGS = (
    0x00100020,  # PatientID
    0x00101000,  # OtherPatientIDs
    0x00080050,  # AccessionNumber
)
# Study, procedure and admission numbers: looked for only when they hold a
# digit (CHEST is a procedure code), and when all digits from MIN_DIGITS_ID.
_MINOR_ID_TAGS = (
    0x00200010,  # StudyID
    0x00401001,  # RequestedProcedureID
    0x00400009,  # ScheduledProcedureStepID
    0x00400253,  # PerformedProcedureStepID
    0x00380010,  # AdmissionID
)
_OTHER_IDS_SEQUENCE = 0x00101002  # OtherPatientIDsSequence, items hold PatientID

#: Shorter name parts and identifiers are not looked for: "J" or "12" would
#: cut letters and numbers out of ordinary words ("T1", "LEVEL 12").
MIN_TOKEN_LENGTH = 3
#: The same for names in scripts written without spaces, whose family and
#: given names are often two characters (山田, 太郎).
MIN_UNSPACED_LENGTH = 2

#: A study or procedure number of digits alone is looked for from this many
#: digits on (the patient's own identifiers from MIN_TOKEN_LENGTH).
MIN_DIGITS_ID = 5

#: A run of this many digits left in a description may be an identifier.
SUSPICIOUS_DIGITS = 6

# English months, and the German ones that differ (März, Mai, Okt, Dez)
_MONTHS = (
    "jan(?:uary|uar)?|feb(?:ruary|ruar)?|mar(?:ch)?|m(?:ä|ae)rz|apr(?:il)?|"
    "ma[yi]|june?|juni|july?|juli|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    "o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?"
)
# Dates as people and scanners write them: 2021-03-14, 03/14/2021, 14.03.21,
# 20210314, 14 Mar 2021, 14MAR2021, 14th March 2021, 14. März 2021,
# March 14, 2021, Mar-14-2021, 2021-Mar-14, 2021年3月14日.
_NUMERIC_DATES = (
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
)
_NAMED_DATES = (
    rf"\d{{1,2}}(?:st|nd|rd|th)?\.?[ -]*(?:{_MONTHS})\.?[ ,-]*\d{{2,4}}"
    rf"|(?:{_MONTHS})\.?[ -]\d{{1,2}}(?:st|nd|rd|th)?,?[ -]\d{{2,4}}"
    rf"|\d{{4}}[-/. ](?:{_MONTHS})\.?[-/. ]\d{{1,2}}"
    r"|\d{4}年\d{1,2}月\d{1,2}日"
)
_DATE = re.compile(
    rf"(?<![^\W_])(?:{_NUMERIC_DATES}|{_NAMED_DATES})(?![^\W_])", re.IGNORECASE
)
# In other kept text (window explanations, code meanings) "1.5.10" is more
# often a version than a date: there only dates with a four-digit year or a
# month's name are cut.
_STRICT_DATE = re.compile(
    r"(?<![^\W_])(?:"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    rf"|{_NAMED_DATES}"
    r")(?![^\W_])",
    re.IGNORECASE,
)
# An identifier that says it is one: "MRN: X4471", "acc# 12", "MR# 55",
# "MRN 5550123". The label and the value both go, whoever the value belongs
# to. Without a colon or hash only MRN counts, and only before a value with
# a digit, so that "PID PELVIS" (the disease) and "Patient ID check" stay.
_VALUE = r"[A-Za-z0-9][\w./-]*"
_DIGIT_VALUE = r"(?=[\w./-]*\d)[A-Za-z0-9][\w./-]*"
_LABELLED_ID = re.compile(
    r"(?<![^\W_])(?:"
    # labels that can only mean a patient's identifier, before any value
    rf"(?:MRN|PID|(?:patient|pat|pt)\.?\s*id)\s*[#:]\s*{_VALUE}"
    # labels that mean one before a value with a digit
    rf"|(?:MR\#|ID\#|hosp(?:ital)?\.?\s*(?:no\.?|number)?\s*\#?)\s*{_DIGIT_VALUE}"
    rf"|acc(?:ession)?\.?\s*(?:no\.?|nr\.?|number)?\s*[#:]?\s*{_DIGIT_VALUE}"
    rf"|MRN\s+{_DIGIT_VALUE}"
    r")",
    re.IGNORECASE,
)
# Characters people put inside an identifier, or leave out of it: "AB-12" for
# the ID AB12, "XK99QZ" for XK-99-QZ.
_ID_SEPARATORS = "-_./ "
_LONG_DIGITS = re.compile(rf"\d{{{SUSPICIOUS_DIGITS},}}")
# Separators left behind once a token is cut: runs of them become one space.
# A cut token leaves this mark until the separators around it are tidied:
# those next to a cut go, the rest of the text keeps its own (W/O stays).
_CUT = "\0"
_AROUND_CUT = re.compile(r"[\s^,;:/_|-]*\0(?:[\s^,;:/_|-]*\0)*[\s^,;:/_|-]*")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SPACES = re.compile(r"\s{2,}")
_EDGES = " -.,;:/_^|"
# Scripts written without spaces between words: a name is found anywhere.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class Identifiers:
    """What must not stay in a description of one instance.

    Attributes
    ----------
    names : tuple of str
        Parts of person names (family, given, middle names), as written.
    ids : tuple of str
        Identifier values (patient and other IDs, accession, study and
        procedure IDs).
    """

    names: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cleaned:
    """A description after :func:`clean_descriptor`.

    Attributes
    ----------
    text : str
        The description without the tokens found.
    removed : tuple of str
        The kinds of token cut out, among "name", "identifier" and "date", in
        that order; never the tokens themselves.
    suspicious : bool
        True when a run of :data:`SUSPICIOUS_DIGITS` or more digits is left:
        the description may still carry an identifier.
    """

    text: str
    removed: tuple[str, ...] = ()
    suspicious: bool = False


def identifiers_of(ds: Dataset) -> Identifiers:
    """The names and identifiers of `ds` that its descriptions must not carry.

    Parameters
    ----------
    ds : pydicom.Dataset
        The instance as received (before anonymization).

    Returns
    -------
    Identifiers
        Name parts and identifier values of at least
        :data:`MIN_TOKEN_LENGTH` characters, each once.
    """
    names: list[str] = []
    for tag in _NAME_TAGS:
        for value in _person_names(ds, tag):
            names.extend(_name_parts(value))
    ids = [value for tag in _PATIENT_ID_TAGS for value in text_values(ds, tag)]
    minor = [
        value
        for tag in _MINOR_ID_TAGS
        for value in text_values(ds, tag)
        if value not in ids and any(c.isdigit() for c in value)
    ]
    ids.extend(minor)
    try:
        items = ds[_OTHER_IDS_SEQUENCE].value if _OTHER_IDS_SEQUENCE in ds else []
    except Exception:  # an undecodable sequence holds nothing we can read
        items = []
    for item in items or []:
        ids.extend(text_values(item, 0x00100020))
    return Identifiers(
        names=_long_enough(names),
        ids=_long_enough(
            (value.strip() for value in ids),
            minor={value.strip() for value in minor},
        ),
    )


def clean_descriptor(text: str, identifiers: Identifiers) -> Cleaned:
    """Cut names, identifiers and dates out of one description.

    Parameters
    ----------
    text : str
        The decoded value of a description element.
    identifiers : Identifiers
        What :func:`identifiers_of` found in the same instance.

    Returns
    -------
    Cleaned
        The description that may be kept, what kinds of token were cut, and
        whether a long number is still in it.
    """
    return _cut(text, identifiers, dates=True)


def scrub_identifiers(text: str, identifiers: Identifiers) -> Cleaned:
    """Cut the names and identifiers of `identifiers` out of any kept text.

    Like :func:`clean_descriptor` without the dates, for the other free text
    the teaching profile keeps (code meanings, window and LUT explanations),
    where a date-like token may be a version or a code.
    """
    return _cut(text, identifiers, dates=False)


def _cut(text: str, identifiers: Identifiers, *, dates: bool) -> Cleaned:
    removed: list[str] = []
    names, ids = _patterns(identifiers)
    # composed, so that an accent typed as a combining mark is one letter
    text = unicodedata.normalize("NFC", text)
    # identifiers first: a name part inside one ("CT1" in the ID "1CT1")
    # would otherwise leave the rest of it
    for pattern in (ids, _LABELLED_ID):
        if pattern is not None:
            text, count = pattern.subn(_CUT, text)
            if count and "identifier" not in removed:
                removed.append("identifier")
    if names is not None:
        # names are looked for in the text without its accents, so that
        # FÜKSEL is found for Fuksel; the cut falls on the same letters
        text, count = _cut_folded(names, text)
        if count:
            removed.insert(0, "name")
    cuts = text.count(_CUT)
    text = (_DATE if dates else _STRICT_DATE).sub(_date_cut, text)
    if text.count(_CUT) > cuts:
        removed.append("date")
    if removed:
        text = _AROUND_CUT.sub(" ", text)
        text = _EMPTY_BRACKETS.sub(" ", text)
        text = _SPACES.sub(" ", text).strip(_EDGES)
    return Cleaned(text, tuple(removed), bool(_LONG_DIGITS.search(text)))


def _cut_folded(pattern: re.Pattern[str], text: str) -> tuple[str, int]:
    """Cut what `pattern` finds in `text` without its accents; the count."""
    folded = "".join(_fold(char) for char in text)  # one letter for one
    spans = [match.span() for match in pattern.finditer(folded)]
    for start, end in reversed(spans):
        text = text[:start] + _CUT + text[end:]
    return text, len(spans)


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """A letter without its accents, when that is one letter; else itself."""
    base = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    return base if len(base) == 1 else char


def _date_cut(match: re.Match[str]) -> str:
    """The cut mark for a date, or the text as it was when it cannot be one.

    "30/60/90" (delays) and "25-45-70" (phases) have the shape of a date
    but no month.
    """
    numbers = [int(n) for n in re.findall(r"\d+", match.group())]
    if len(numbers) == 1:  # 20210314: the pattern checked month and day
        return _CUT
    if len(numbers) == 2:  # a month by name and one number: a day or a year
        return _CUT if numbers[0] <= 31 or numbers[1] <= 31 else match.group()
    first, second, third = numbers[:3]
    if first > 31:  # the year first: 2021-03-14
        plausible = 1 <= second <= 12 and 1 <= third <= 31
        return _CUT if plausible else match.group()
    plausible = (1 <= first <= 12 and 1 <= second <= 31) or (
        1 <= first <= 31 and 1 <= second <= 12
    )
    return _CUT if plausible else match.group()


def _person_names(ds: Dataset, tag: int) -> list[str]:
    """The values of a PN element, decoded, each with all its groups."""
    if tag not in ds:
        return []
    try:
        value = ds[tag].value
    except Exception:  # an undecodable name cannot be looked for
        return []
    if value is None or value == "":
        return []
    values = value if isinstance(value, MultiValue | list) else [value]
    return [str(v) for v in values if v]


def _name_parts(value: str) -> list[str]:
    """What to look for of a PN value, in every spelling people use.

    The words of each component (split at spaces, hyphens, dots and
    apostrophes, and also whole without them: O'Brien, OBrien, Brien), each
    also without its accents and with German umlauts spelt out (Jörg, Jorg,
    Joerg); and each word of the family name with each word of the given
    names, in either order, which :func:`_alternation` matches with any
    separator or none between them, so that two-letter names (Li Wu) are
    found as a pair. "Family, Given" without carets is read as both parts.
    """
    parts: list[str] = []
    for group in value.split("="):
        components = group.split("^")
        if len(components) == 1 and "," in group:
            components = group.split(",", 1)
        words = [component.split() for component in components]
        for word in (w for component in words for w in component):
            parts.extend(_spellings(word))
            parts.extend(_spellings(_WORD_SPLIT.sub("", word)))
            for piece in _WORD_SPLIT.split(word):
                parts.extend(_spellings(piece))
        family, given = (words + [[], []])[:2]
        for first in family:
            for second in given:
                for pair in (f"{first}{_PAIR}{second}", f"{second}{_PAIR}{first}"):
                    parts.extend(_spellings(pair))
    return [part for part in parts if part]


# Where a name's words split besides spaces, and the mark of a family and
# given name pair in a token (the pattern puts any separator there).
_WORD_SPLIT = re.compile(r"[-.'’]")
_PAIR = "\0"
_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "ss"}
)


def _spellings(word: str) -> list[str]:
    """`word`, without its accents, and with umlauts spelt out."""
    plain = "".join(_fold(char) for char in word)
    return list(dict.fromkeys([word, plain, word.translate(_UMLAUTS)]))


def _long_enough(
    values: Iterable[str], minor: set[str] | frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Values long enough to look for, each once.

    A name part or an identifier needs :data:`MIN_TOKEN_LENGTH` characters
    (:data:`MIN_UNSPACED_LENGTH` in scripts without spaces), a `minor`
    identifier of digits alone :data:`MIN_DIGITS_ID` (a study number "512"
    is also a matrix, "0625" a slice thickness), and a family and given name
    pair four letters between them, so that Li Wu is found as a pair.
    """
    found = []
    for value in values:
        letters = value.replace(_PAIR, "")
        if _UNSPACED.search(value):
            least = MIN_UNSPACED_LENGTH
        elif _PAIR in value:
            least = 4
        elif letters.isdigit() and value in minor:
            least = MIN_DIGITS_ID
        else:
            least = MIN_TOKEN_LENGTH
        if len(letters) >= least:
            found.append(value)
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=64)
def _patterns(
    identifiers: Identifiers,
) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """Compiled patterns of the names and of the identifiers (None when none).

    Cached: the instances of one import share their patient.
    """
    return (
        _alternation(identifiers.names, _name_pattern, _LETTER),
        _alternation(identifiers.ids, _id_pattern, _LETTER_OR_DIGIT),
    )


def _alternation(
    tokens: tuple[str, ...], pattern_of: Callable[[str], str], word: str
) -> re.Pattern[str] | None:
    """One pattern matching any of `tokens`, longest first, case-insensitively.

    A token in a script written without spaces is matched anywhere, any
    other only where no character of the class `word` touches it.
    """
    if not tokens:
        return None
    alternatives = []
    for token in sorted(tokens, key=len, reverse=True):
        body = pattern_of(token)
        if _UNSPACED.search(token):
            alternatives.append(body)
        else:
            alternatives.append(rf"(?<!{word}){body}(?!{word})")
    return re.compile("|".join(alternatives), re.IGNORECASE)


# A name ends where a letter does (FAKEPERSON2 is the name and a number);
# an identifier where a letter, digit or underscore does.
_LETTER = r"[^\W\d_]"
_LETTER_OR_DIGIT = r"[^\W_]"


def _name_pattern(token: str) -> str:
    """A name part as it is, its apostrophe optional and of either kind; a
    pair with any separator, or none, between."""
    pieces = (
        re.escape(piece).replace("'", "['’]?").replace("’", "['’]?")
        for piece in token.split(_PAIR)
    )
    return r"[\s,^_./+-]*".join(pieces)


def _id_pattern(token: str) -> str:
    """An identifier, its separators optional, and one optional between a
    letter and a digit: AB-12 for AB12, XK99QZ for XK-99-QZ. Never between
    two digits where the identifier has none: 1.25 is not the ID 125."""
    pieces: list[tuple[str, bool]] = []  # each character, and a gap before it
    gap = False
    for char in token:
        if char in _ID_SEPARATORS:
            gap = bool(pieces)
            continue
        pieces.append((char, gap))
        gap = False
    if not pieces:
        return re.escape(token)
    # a long number is also written in groups: 555-0123 for 5550123
    grouped = token.isdigit() and len(token) >= MIN_DIGITS_ID
    body = [re.escape(pieces[0][0])]
    for (before, _), (after, gap) in zip(pieces, pieces[1:], strict=False):
        if gap or before.isdigit() != after.isdigit():
            body.append("[-_./ ]?")
        elif grouped:
            body.append("[-. ]?")
        body.append(re.escape(after))
    return "".join(body)
