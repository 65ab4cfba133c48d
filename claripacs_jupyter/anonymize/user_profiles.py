"""Profiles by name: the built-in ones, and a user's own written in a TOML file.

A user profile starts from the Basic profile and its options and changes the
action of any attribute, by keyword or by tag::

    # research.toml
    description = "Keeps sex and age; hashes the patient ID"
    options = ["retain-patient-characteristics", "clean-descriptors"]

    [rules]
    PatientID = "hash"              # keep, remove, empty, hash, shift, clean
    "(0008,0080)" = { replace = "Teaching Hospital" }
    StudyDate = "shift"

    [[private]]                     # private elements to keep, with their VR
    creator = "SIEMENS MR HEADER"
    group = "0019"
    element = "0C"
    vr = "IS"

Named profiles live in a folder, one ``<name>.toml`` each: the folder given
by ``$CLARIPACS_PROFILES``, else ``claripacs/profiles`` in the Jupyter config
folder. A path to a ``.toml`` file works too.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydicom import config
from pydicom.datadict import (
    dictionary_VR,
    keyword_dict,
    keyword_for_tag,
    repeater_has_keyword,
    tag_for_keyword,
)
from pydicom.valuerep import validate_value

from ..errors import InvalidInputError
from .annex_e import Op, PrivateKey, RuleSet, basic_rules

__all__ = [
    "BUILT_IN",
    "PROFILES_ENV",
    "load_profile",
    "profile_names",
    "profiles_dir",
    "resolve_profile",
]

#: The profiles every installation has.
BUILT_IN = ("teaching", "basic")

#: The environment variable naming the folder of named user profiles.
PROFILES_ENV = "CLARIPACS_PROFILES"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TAG = re.compile(r"\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?")

# The actions a user may name, and the VRs each applies to.
_ACTIONS = {
    "keep": Op.RETAIN,
    "remove": Op.REMOVE,
    "empty": Op.EMPTY,
    "hash": Op.HASH,
    "shift": Op.SHIFT,
    "clean": Op.CLEAN,
    "uid": Op.UID,
}
# Attributes a rule may not change, and why. The UIDs every file needs take
# only keep or uid; the pixel data and what describes it, only keep (masking
# is the way to change pixels); what the anonymizer records, nothing.
_NEEDED_UIDS = frozenset(
    {"SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"}
)
_PIXEL_MODULE = frozenset(
    {
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PlanarConfiguration",
        "NumberOfFrames",
        "PixelData",
        "FloatPixelData",
        "DoubleFloatPixelData",
        "ExtendedOffsetTable",
        "ExtendedOffsetTableLengths",
        "RedPaletteColorLookupTableDescriptor",
        "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "SegmentedRedPaletteColorLookupTableData",
        "SegmentedGreenPaletteColorLookupTableData",
        "SegmentedBluePaletteColorLookupTableData",
        # what the stored values mean, and whether they were compressed lossily
        "RescaleSlope",
        "RescaleIntercept",
        "RescaleType",
        "ModalityLUTSequence",
        "LossyImageCompression",
        "LossyImageCompressionRatio",
        "LossyImageCompressionMethod",
    }
)
_RECORDED = frozenset(
    {
        "PatientIdentityRemoved",
        "DeidentificationMethod",
        "DeidentificationMethodCodeSequence",
        "LongitudinalTemporalInformationModified",
    }
)
_BY_GROUP = "curves (50xx) and overlays (60xx) are removed whole; no rule applies"
# What clean can work on: free text, names, dates and times, and sequences.
_CLEANABLE = frozenset(
    {"LO", "SH", "ST", "LT", "UT", "UC", "PN", "DA", "DT", "TM", "SQ"}
)
_HASHABLE = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UI"})
_REPLACEABLE = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM"}
    | {"UC", "UR", "UT"}
)


def profiles_dir() -> Path:
    """The folder of named user profiles."""
    env = os.environ.get(PROFILES_ENV)
    if env:
        return Path(env).expanduser()
    from jupyter_core.paths import jupyter_config_dir

    return Path(jupyter_config_dir()) / "claripacs" / "profiles"


def profile_names() -> list[str]:
    """The built-in profiles and the named user profiles found, in that order."""
    folder = profiles_dir()
    found = (
        sorted(p.stem for p in folder.glob("*.toml") if p.is_file())
        if folder.is_dir()
        else []
    )
    return [*BUILT_IN, *(n for n in found if n not in BUILT_IN and _NAME.fullmatch(n))]


def resolve_profile(
    name: str, options: Iterable[str] = (), *, allow_paths: bool = True
) -> str | RuleSet:
    """Find a profile by name, or by path to a ``.toml`` file.

    Parameters
    ----------
    name : str
        "teaching", "basic", a named user profile or (with `allow_paths`) the
        path of a profile file.
    options : iterable of str, or str
        Basic profile options to add (see
        :data:`~claripacs_jupyter.anonymize.annex_e.OPTIONS`); the teaching
        profile takes none.
    allow_paths : bool
        Whether `name` may be a path; the server passes False, so a request
        can name only the profiles of the folder.

    Returns
    -------
    str or RuleSet
        ``"teaching"`` for the teaching whitelist, else the rule set.

    Raises
    ------
    InvalidInputError
        An unknown profile or option, or a profile file with a mistake (the
        message names the file and the entry).
    """
    if not isinstance(name, str):
        raise TypeError(f"a profile is named by a string, not a {type(name).__name__}")
    # one option given as a string is that option, not its letters
    options = [options] if isinstance(options, str) else list(options)
    if not all(isinstance(o, str) and o.strip() for o in options):
        raise InvalidInputError("an option is empty; name one of the Basic options")
    _no_repeats(options, "option")
    if name == "teaching":
        if options:
            raise InvalidInputError(
                "the teaching profile takes no options; options go with the "
                "basic profile or a profile file"
            )
        return "teaching"
    if name == "basic":
        try:
            return basic_rules(frozenset(options))
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None

    path = Path(name).expanduser()
    if allow_paths and (path.suffix == ".toml" or os.sep in name or "/" in name):
        if path.is_file():
            return load_profile(path, options)
        if path.suffix == ".toml" or not _NAME.fullmatch(name):
            what = "a folder" if path.is_dir() else "not found"
            raise InvalidInputError(f"profile file {name}: {what}")
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{name!r} is not a profile name; choose one of "
            f"{', '.join(profile_names())}"
        )
    path = profiles_dir() / f"{name}.toml"
    if not path.is_file():
        # a server's folders are no business of its clients
        where = f" (read from {profiles_dir()})" if allow_paths else ""
        raise InvalidInputError(
            f"unknown profile {name!r}; choose one of "
            f"{', '.join(profile_names())}{where}"
        )
    return load_profile(path, options)


def load_profile(path: str | os.PathLike[str], options: Iterable[str] = ()) -> RuleSet:
    """Read a user profile file.

    Parameters
    ----------
    path : path-like
        The TOML file (see the module's documentation for its form).
    options : iterable of str
        Options added to those the file names.

    Returns
    -------
    RuleSet
        The Basic profile with the file's options and rules applied, named
        after the file's ``name`` entry or its stem.

    Raises
    ------
    InvalidInputError
        The file cannot be read, or an entry is wrong; the message says
        which and how to mend it.
    """
    path = Path(path)
    where = path.name
    try:
        # utf-8-sig: an editor's byte order mark is not a TOML mistake
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{where}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{where}: not valid TOML ({exc})") from None

    unknown = sorted(set(data) - {"name", "description", "options", "rules", "private"})
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown entr{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(unknown)}; a profile has name, description, options, "
            "rules and private"
        )
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(f"{where}: name must be letters, digits, _ . or -")
    chosen = data.get("options", [])
    if not isinstance(chosen, list) or not all(isinstance(o, str) for o in chosen):
        raise InvalidInputError(f"{where}: options must be a list of option names")
    if not all(option.strip() for option in chosen):
        raise InvalidInputError(f"{where}: an option is empty")
    _no_repeats(chosen, f"{where}: option")
    try:
        base = basic_rules(frozenset([*chosen, *options]))
    except ValueError as exc:
        raise InvalidInputError(f"{where}: {exc}") from None

    ops: dict[int, Op] = {}
    values: dict[int, str] = {}
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise InvalidInputError(f"{where}: [rules] must be a table")
    for key, action in rules.items():
        here = f"{where}: rules.{key}"
        tag = _tag_of(key, here)
        if tag in ops:
            raise InvalidInputError(f"{here}: that attribute has a rule already")
        ops[tag], value = _action_of(tag, action, here)
        _check_allowed(tag, ops[tag], here)
        if value is not None:
            values[tag] = value
    private = _private_of(data.get("private", []), where)
    return base.with_changes(name, ops, values, private)


def _no_repeats(names: list[str], what: str) -> None:
    """Refuse a list that names something twice."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInputError(f"{what} {', '.join(repeated)} is given twice")


def _check_allowed(tag: int, op: Op, where: str) -> None:
    """Refuse a rule on an attribute the output cannot do without."""
    keyword = keyword_for_tag(tag)
    if keyword in _RECORDED:
        raise InvalidInputError(
            f"{where}: the anonymizer writes this attribute to record what it "
            "did; no rule can change it"
        )
    if keyword == "SOPClassUID" and op is not Op.RETAIN:
        raise InvalidInputError(
            f"{where}: the SOP Class UID says what kind of object the file is; "
            "it can only be kept"
        )
    if keyword in _NEEDED_UIDS and op not in (Op.RETAIN, Op.UID):
        raise InvalidInputError(
            f"{where}: every file needs this UID; give it keep or uid"
        )
    if keyword == "SpecificCharacterSet":
        raise InvalidInputError(
            f"{where}: the character set is written to match the values kept; "
            "no rule can change it"
        )
    if keyword in _PIXEL_MODULE and op is not Op.RETAIN:
        raise InvalidInputError(
            f"{where}: the pixel data and the attributes that describe it are "
            "written as they are; mask burned-in text instead"
        )


def _tag_of(key: str, where: str) -> int:
    """The tag a rule's key names: a keyword or "(gggg,eeee)"."""
    if not key.strip():
        raise InvalidInputError(f"{where}: a rule needs a keyword or a tag")
    if repeater_has_keyword(key):
        raise InvalidInputError(f"{where}: {_BY_GROUP}")
    match = _TAG.fullmatch(key)
    if match:
        tag = int(match.group(1) + match.group(2), 16)
    else:
        found = tag_for_keyword(key)
        if found is None:
            same = [k for k in keyword_dict if k.lower() == key.lower()]
            close = same or difflib.get_close_matches(key, keyword_dict, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InvalidInputError(f"{where}: {key!r} is not a DICOM keyword{hint}")
        tag = int(found)
    if (tag >> 16) & 1:
        raise InvalidInputError(
            f"{where}: {key} is a private tag; keep private elements with "
            "[[private]] and their creator"
        )
    if (tag >> 16) == 0x0002:
        raise InvalidInputError(f"{where}: {key} is file meta, which is rebuilt")
    if (tag >> 16) & 0xFF00 in (0x5000, 0x6000):
        raise InvalidInputError(f"{where}: {_BY_GROUP}")
    if (tag >> 16) == 0xFFFE:
        raise InvalidInputError(
            f"{where}: {key} marks sequence items; it is no attribute"
        )
    try:
        dictionary_VR(tag)
    except KeyError:
        raise InvalidInputError(f"{where}: {key} is not in the dictionary") from None
    return tag


def _action_of(tag: int, action: Any, where: str) -> tuple[Op, str | None]:
    """The action and, for replace, the new value of one rule."""
    vr = str(dictionary_VR(tag))
    if isinstance(action, dict):
        if set(action) != {"replace"} or not isinstance(action["replace"], str):
            raise InvalidInputError(f'{where}: write {{ replace = "new value" }}')
        value = action["replace"]
        if vr not in _REPLACEABLE:
            raise InvalidInputError(f"{where}: a {vr} value cannot be replaced by text")
        if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value):
            raise InvalidInputError(f"{where}: the new value holds a control character")
        if "\\" in value:
            raise InvalidInputError(
                f"{where}: a backslash would split the value in two; give one value"
            )
        try:
            validate_value(vr, value, config.RAISE)
        except ValueError as exc:
            raise InvalidInputError(f"{where}: {exc}") from None
        return Op.REPLACE, value
    op = _ACTIONS.get(action) if isinstance(action, str) else None
    if op is None:
        raise InvalidInputError(
            f"{where}: the action must be one of {', '.join(_ACTIONS)} "
            'or { replace = "..." }'
        )
    if op is Op.HASH and vr not in _HASHABLE:
        raise InvalidInputError(f"{where}: a {vr} value cannot be hashed")
    if op is Op.SHIFT and vr not in ("DA", "DT", "TM"):
        raise InvalidInputError(f"{where}: only dates and times can be shifted")
    if op is Op.UID and vr not in ("UI", "SQ"):
        raise InvalidInputError(f"{where}: only UIDs get a new UID")
    if op is Op.CLEAN and vr not in _CLEANABLE:
        raise InvalidInputError(
            f"{where}: clean works on text, names, dates and sequences; this is {vr}"
        )
    return op, None


def _private_of(entries: Any, where: str) -> dict[PrivateKey, str]:
    """The [[private]] entries as (creator, group, element) -> VR."""
    if not isinstance(entries, list):
        raise InvalidInputError(f"{where}: write private elements as [[private]]")
    private: dict[PrivateKey, str] = {}
    for n, entry in enumerate(entries, 1):
        here = f"{where}: private element {n}"
        if not isinstance(entry, dict) or set(entry) != {
            "creator",
            "group",
            "element",
            "vr",
        }:
            raise InvalidInputError(f"{here}: give creator, group, element and vr")
        if not isinstance(entry["group"], str) or not isinstance(entry["element"], str):
            # group = 19 would be read as hex 0x19 by one and decimal by another
            raise InvalidInputError(
                f'{here}: write group and element as hex strings ("0019", "0C")'
            )
        try:
            group = int(entry["group"], 16)
            element = int(entry["element"], 16)
        except ValueError:
            raise InvalidInputError(f"{here}: group and element are hex") from None
        if group < 0x0009 or group == 0xFFFF:
            raise InvalidInputError(
                f"{here}: groups 0001 to 0007 and FFFF cannot hold private elements"
            )
        if not group & 1 or not 0 <= element <= 0xFF or group > 0xFFFF:
            raise InvalidInputError(
                f"{here}: group must be odd (private) and element one byte, "
                "the element's place in its creator's block (00 to FF)"
            )
        creator, vr = entry["creator"], entry["vr"]
        if not isinstance(creator, str) or not creator.strip():
            raise InvalidInputError(f"{here}: creator must be the private creator")
        if vr not in _HASHABLE | {"DS", "IS", "FD", "FL", "SL", "SS", "UL", "US"}:
            raise InvalidInputError(f"{here}: {vr!r} is not a VR that can be kept")
        private[(creator.strip(), group, element)] = vr
    return private
