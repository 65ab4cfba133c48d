"""DICOM PS3.15 Annex E: the Basic profile and its options as a rule set.

The Basic Application Level Confidentiality Profile gives each attribute of
Table E.1-1 one action: keep (K), remove (X), empty (Z), replace with a dummy
(D), clean (C) or replace the UID (U), or a choice between them (X/Z, Z/D...).
The table itself is data we take from the dicom-anonymizer package, which
follows each release of the standard; writing our own copy of its 650 rows
would only add a place for them to go stale. What each option changes is our
own data, ``annex_e_options.toml`` beside this module.

A choice of actions is resolved to the one that keeps any file valid whatever
the attribute's type in its IOD: X/Z to empty, X/D, Z/D and X/Z/D to a dummy,
and X/Z/U* (references) to a new UID for UIDs and the profile applied to the
items of sequences.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from importlib import resources

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

__all__ = [
    "BASIC_CODE",
    "OPTIONS",
    "Op",
    "Option",
    "PrivateKey",
    "RuleSet",
    "basic_rules",
]

#: The dicom-anonymizer table used: the newest edition of the standard it has.
TABLE_EDITION = "dicomfields_2026c"

#: CID 7050 code of the Basic Application Confidentiality Profile.
BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")


class Op(enum.Enum):
    """What happens to one attribute."""

    #: Kept as it is (free text still loses the file's names and IDs).
    KEEP = "keep"
    #: Kept exactly as it is, because a profile says so by name.
    RETAIN = "retain"
    REMOVE = "remove"
    #: Present with an empty value (a sequence with no items).
    EMPTY = "empty"
    #: A dummy value of its VR; a sequence keeps its items, cleaned.
    DUMMY = "dummy"
    #: Text cleaned of names, IDs and dates; dates shifted; sequences cleaned.
    CLEAN = "clean"
    #: A UID replaced by its keyed new UID; a sequence's items cleaned.
    UID = "uid"
    #: Replaced by a keyed hash of the value (text) or a new UID (UI).
    HASH = "hash"
    #: Replaced by a value the profile gives.
    REPLACE = "replace"
    #: A date or date-time moved by the patient's offset; a time is kept.
    SHIFT = "shift"
    #: (0010,1010) *PatientAge* under the teaching file's age rule.
    AGE = "age"


# dicom-anonymizer's categories, and what we do for each.
_CATEGORY_OPS = {
    "D_TAGS": Op.DUMMY,
    "Z_TAGS": Op.EMPTY,
    "X_TAGS": Op.REMOVE,
    "U_TAGS": Op.UID,
    "Z_D_TAGS": Op.DUMMY,
    "X_Z_TAGS": Op.EMPTY,
    "X_D_TAGS": Op.DUMMY,
    "X_Z_D_TAGS": Op.DUMMY,
    "X_Z_U_STAR_TAGS": Op.UID,
}

_DATE_VRS = frozenset({"DA", "DT"})
_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC"})
_DESCRIPTION = re.compile(r"(Description|Comments)$")

#: A private element: (creator, group, element within its block).
PrivateKey = tuple[str, int, int]


@dataclass(frozen=True)
class Option:
    """One option of the Basic profile, as ``annex_e_options.toml`` gives it."""

    name: str
    code: str
    meaning: str
    ops: Mapping[int, Op] = field(default_factory=dict)
    rule: str | None = None
    private: Mapping[PrivateKey, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """What a confidentiality profile does to each attribute.

    Attributes
    ----------
    name : str
        The profile's name, written into (0012,0063) *DeidentificationMethod*.
    ops : Mapping[int, Op]
        The action of each standard attribute by tag; one not named is kept.
    values : Mapping[int, str]
        The new value of each attribute whose action is :attr:`Op.REPLACE`.
    private : Mapping[PrivateKey, str]
        Private elements kept, with the VR each must have; all others go.
    codes : tuple of (str, str)
        (0012,0064) *DeidentificationMethodCodeSequence* entries, CID 7050.
    longitudinal : str
        (0028,0303) *LongitudinalTemporalInformationModified*: "REMOVED",
        "UNMODIFIED" or "MODIFIED".
    identity_kept : tuple of str
        The keywords of attributes a user's rules keep as they are although
        no option of the Basic profile would: the output may identify the
        patient, so it says (0012,0062) *PatientIdentityRemoved* NO and
        claims no profile code.
    """

    name: str
    ops: Mapping[int, Op]
    values: Mapping[int, str] = field(default_factory=dict)
    private: Mapping[PrivateKey, str] = field(default_factory=dict)
    codes: tuple[tuple[str, str], ...] = (BASIC_CODE,)
    longitudinal: str = "REMOVED"
    identity_kept: tuple[str, ...] = ()

    @cached_property
    def shifts_dates(self) -> bool:
        """True when some date is shifted, so a patient offset is needed."""
        return any(op is Op.SHIFT for op in self.ops.values())

    def with_changes(
        self,
        name: str,
        ops: Mapping[int, Op],
        values: Mapping[int, str],
        private: Mapping[PrivateKey, str],
    ) -> RuleSet:
        """A copy under another name with some actions and private keys changed.

        The record follows what the changes do: an action an option of the
        Basic profile would take (a date kept, a device named, a private
        element kept) adds that option's code, and a date kept or shifted
        sets (0028,0303) *LongitudinalTemporalInformationModified*.
        """
        merged = dict(self.ops)
        merged.update(ops)
        changed = {tag: op for tag, op in ops.items() if self.ops.get(tag) is not op}
        longitudinal = self.longitudinal
        if any(op is Op.SHIFT for op in changed.values()):
            longitudinal = "MODIFIED"
        elif longitudinal == "REMOVED" and any(
            op is Op.RETAIN and _vr(tag) in _DATE_VRS for tag, op in changed.items()
        ):
            longitudinal = "UNMODIFIED"
        widest = _widest().ops
        kept = [
            keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
            for tag, op in sorted(ops.items())
            if op is Op.RETAIN and widest.get(tag, Op.KEEP) not in (Op.KEEP, Op.RETAIN)
        ]
        return replace(
            self,
            name=name,
            ops=merged,
            values={**self.values, **values},
            private={**self.private, **private},
            codes=_codes_for(self, changed, set(private) - set(self.private)),
            longitudinal=longitudinal,
            identity_kept=tuple(dict.fromkeys([*self.identity_kept, *kept])),
        )


def _tag(keyword: str, where: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise ValueError(f"{where}: {keyword!r} is not a DICOM keyword")
    return int(tag)


@lru_cache(maxsize=1)
def _options() -> dict[str, Option]:
    """The options of ``annex_e_options.toml``, by name."""
    text = resources.files(__package__).joinpath("annex_e_options.toml").read_text()
    options = {}
    for name, entry in tomllib.loads(text).items():
        ops: dict[int, Op] = {}
        for key, op in (("keep", Op.RETAIN), ("clean", Op.CLEAN), ("age", Op.AGE)):
            for keyword in entry.get(key, []):
                ops[_tag(keyword, name)] = op
        private = {
            (creator, int(group, 16), int(element, 16)): vr
            for creator, group, element, vr in entry.get("private", [])
        }
        options[name] = Option(
            name, entry["code"], entry["meaning"], ops, entry.get("rule"), private
        )
    return options


#: The names of the Basic profile's options.
OPTIONS: tuple[str, ...] = tuple(_options())


@lru_cache(maxsize=1)
def basic_table() -> dict[int, Op]:
    """The Basic profile's action for each attribute of Table E.1-1, by tag.

    Attributes given by a group pattern (curves, overlay data and comments)
    are not here; the engine removes them by their group.
    """
    from dicomanonymizer.dicom_anonymization_databases import (
        dicomfields_2026c as table,
    )

    ops: dict[int, Op] = {}
    for category, op in _CATEGORY_OPS.items():
        for entry in getattr(table, category):
            if len(entry) == 2:
                ops[(entry[0] << 16) | entry[1]] = op
    return ops


@lru_cache(maxsize=64)
def basic_rules(options: frozenset[str] = frozenset()) -> RuleSet:
    """The Basic profile with `options` applied.

    Parameters
    ----------
    options : frozenset of str
        Names from :data:`OPTIONS`.

    Returns
    -------
    RuleSet
        The actions, the private elements kept and the codes to record.

    Raises
    ------
    ValueError
        An unknown option, or both longitudinal options at once.
    """
    known = _options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"unknown option {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    if {"retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"} <= set(
        options
    ):
        raise ValueError(
            "retain-longitudinal-full-dates and retain-longitudinal-modified-dates "
            "exclude each other; choose one"
        )

    ops = dict(basic_table())
    private: dict[PrivateKey, str] = {}
    codes = [BASIC_CODE]
    longitudinal = "REMOVED"
    # in the order of the file, so that the codes are recorded in a fixed order
    for option in (known[name] for name in known if name in options):
        for tag, op in option.ops.items():
            ops[tag] = _stronger(ops.get(tag), op)
        private.update(option.private)
        codes.append((option.code, option.meaning))
        if option.rule is not None:
            longitudinal = _apply_rule(option.rule, ops) or longitudinal
    return RuleSet(
        name="basic",
        ops=ops,
        private=private,
        codes=tuple(codes),
        longitudinal=longitudinal,
    )


def _codes_for(
    base: RuleSet, changed: Mapping[int, Op], private: set[PrivateKey]
) -> tuple[tuple[str, str], ...]:
    """`base`'s codes and those of the options whose actions `changed` takes."""
    plain = basic_table()
    recorded = {code for code, _ in base.codes}
    claimed = [
        name
        for name, option in _options().items()
        if option.code in recorded
        or (private and option.private)
        or any(
            _option_alone(name).ops.get(tag) is op and plain.get(tag) is not op
            for tag, op in changed.items()
        )
    ]
    return (BASIC_CODE, *option_codes(claimed))


@lru_cache(maxsize=16)
def _option_alone(name: str) -> RuleSet:
    return basic_rules(frozenset({name}))


@lru_cache(maxsize=1)
def _widest() -> RuleSet:
    """The Basic profile with every option that keeps something more.

    Full dates keep more than modified ones, and the two exclude each other.
    What this rule set does not keep, no conformant profile keeps.
    """
    return basic_rules(frozenset(OPTIONS) - {"retain-longitudinal-modified-dates"})


def _stronger(current: Op | None, new: Op) -> Op:
    """Of two options' actions on one attribute, the one that keeps more."""
    order = (Op.REMOVE, Op.EMPTY, Op.DUMMY, Op.UID, Op.CLEAN, Op.AGE, Op.RETAIN)
    if current in order and order.index(current) > order.index(new):
        return current
    return new


def _apply_rule(rule: str, ops: dict[int, Op]) -> str | None:
    """Apply a whole-table rule to `ops`; the longitudinal state it implies."""
    for tag, op in ops.items():
        if op in (Op.RETAIN, Op.KEEP):
            continue
        vr = _vr(tag)
        if rule == "uids" and op is Op.UID and vr == "UI":
            ops[tag] = Op.RETAIN
        elif rule in ("full-dates", "modified-dates") and vr in {"DA", "DT", "TM"}:
            if tag in _BIRTH:
                continue
            if rule == "full-dates" or vr == "TM":
                ops[tag] = Op.RETAIN
            else:
                ops[tag] = Op.SHIFT
        elif rule == "descriptions" and vr in _TEXT_VRS:
            if _DESCRIPTION.search(keyword_for_tag(tag) or "") and op is not Op.CLEAN:
                ops[tag] = Op.CLEAN
        elif rule not in ("uids", "full-dates", "modified-dates", "descriptions"):
            raise ValueError(f"annex_e_options.toml names an unknown rule {rule!r}")
    return {"full-dates": "UNMODIFIED", "modified-dates": "MODIFIED"}.get(rule)


# (0010,0030) PatientBirthDate and (0010,0032) PatientBirthTime identify the
# patient; no longitudinal option keeps or shifts them.
_BIRTH = frozenset({0x00100030, 0x00100032})


def _vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def option_codes(names: Iterable[str]) -> list[tuple[str, str]]:
    """The CID 7050 codes of the options `names`, in the file's order."""
    known, chosen = _options(), set(names)
    return [(known[n].code, known[n].meaning) for n in known if n in chosen]
