"""Anonymizing one instance with a PS3.15 rule set: the Basic profile or a user's.

Unlike the teaching whitelist, a rule set names what to change and keeps the
rest, so the output starts from every element of the input. As in the
teaching engine, kept elements are copied undecoded and only changed ones
are built; every kept sequence is walked with the same rules, so an
identifier nested in an item is treated as it would be at the top level.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any

from pydicom import Dataset, Sequence
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from .age import teaching_age
from .annex_e import Op, RuleSet
from .dates import patient_offset, shift_value
from .descriptors import clean_descriptor, identifiers_of, scrub_identifiers
from .teaching import (
    _FREE_TEXT_VRS,
    AnonymizationResult,
    _Cleaner,
    _empty,
    _vr_of,
    anonymize_instance,
)
from .uids import remap_uid
from .values import element_text_values, text_element, text_value

__all__ = ["anonymize_with_rules"]

logger = logging.getLogger(__name__)

_PATIENT_ID = 0x00100020

#: A dummy value of each string VR (PS3.15 action D: non-empty, of the VR).
_DUMMIES = {
    "AE": "ANONYMIZED",
    "AS": "000D",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "TM": "000000",
    "UC": "ANONYMIZED",
    "UT": "ANONYMIZED",
}

#: The longest value of each string VR a hash may fill.
_HASH_LENGTHS = {
    "AE": 16,
    "CS": 16,
    "SH": 16,
    "LO": 64,
    "PN": 64,
    "ST": 64,
    "LT": 64,
    "UT": 64,
    "UC": 64,
}

_NUMBER = re.compile(r"[ 0-9+\-.eE\\]*")
_CODE_STRING = re.compile(r"[ 0-9A-Z_\\]*")


def anonymize_with_rules(
    ds: Dataset, *, key: bytes, rules: RuleSet
) -> AnonymizationResult:
    """Anonymize one instance with a PS3.15 rule set.

    Standard elements follow ``rules.ops`` at every depth; one it does not
    name is kept, with the file's names and identifiers cut out of it when it
    is free text. Private elements are removed unless ``rules.private`` names
    them with their creator. Curves (50xx,eeee) and overlays (60xx,eeee) are
    removed whole: Table E.1-1 removes their data and comments.

    The output records what was done: (0012,0063) *DeidentificationMethod*,
    (0012,0064) *DeidentificationMethodCodeSequence* and (0028,0303)
    *LongitudinalTemporalInformationModified*; (0012,0062)
    *PatientIdentityRemoved* is YES only when no burned-in text review is
    pending (:func:`~claripacs_jupyter.anonymize.review_reasons`), and NO
    when the rules keep an identifying attribute (``rules.identity_kept``),
    which then names them in the method in place of any profile code.

    Parameters
    ----------
    ds : pydicom.Dataset
        The instance as read by pydicom; it is not modified.
    key : bytes
        The secret key for new UIDs, hashes and the patient's date offset.
    rules : RuleSet
        From :func:`~claripacs_jupyter.anonymize.annex_e.basic_rules` or a
        user's profile (:mod:`claripacs_jupyter.anonymize.user_profiles`).

    Returns
    -------
    AnonymizationResult
        The new dataset, the original accession and the review reasons.

    Raises
    ------
    ValueError
        If `key` is too short.
    InvalidInputError
        If the instance is a document (see
        :func:`~claripacs_jupyter.anonymize.review.document_refusal`).
    InvalidDicomError
        If the output would lack a UID a receiving PACS needs.
    """
    offset = patient_offset(ds, key) if rules.shifts_dates else 0

    def clean(encoding: tuple[bool, bool] | None) -> tuple[Dataset, bool]:
        cleaner = _RuleCleaner(bytes(key), encoding, ds, rules, offset)
        return cleaner.apply(ds), cleaner.suspicious_descriptor

    method = [f"ClariPACS {rules.name} profile"]
    codes = rules.codes
    if rules.identity_kept:
        # Kept identifying attributes void the claim of every profile code.
        method.append(f"keeps {', '.join(rules.identity_kept)}")
        codes = ()
    else:
        method.extend(m for _, m in codes)
    return anonymize_instance(
        ds,
        key,
        clean,
        rules.name,
        method,
        codes,
        rules.longitudinal,
        identity_kept=bool(rules.identity_kept),
    )


class _RuleCleaner(_Cleaner):
    """Applies a rule set to a dataset and, recursively, to every sequence."""

    def __init__(
        self,
        key: bytes,
        encoding: tuple[bool, bool] | None,
        src: Dataset,
        rules: RuleSet,
        offset: int,
    ) -> None:
        super().__init__(key, "", encoding, identifiers_of(src))
        self.rules = rules
        self.offset = offset

    def apply(self, src: Dataset) -> Dataset:
        """Return a new dataset: `src` with the rule set applied."""
        out = Dataset()
        implicit, little = self.encoding or (None, None)
        out.set_original_encoding(implicit, little, src.original_character_set)
        out._parent_encoding = src._parent_encoding
        out.is_undefined_length_sequence_item = src.is_undefined_length_sequence_item
        elements = out._dict
        sequences: list[DataElement] = []
        ops = self.rules.ops

        for tag, raw in src._dict.items():
            number = int(tag)
            group = number >> 16
            if group & 1:
                kept = self._private(src, tag, raw)
                if kept is not None:
                    elements[tag] = kept
                continue
            if group == 0x0002 or _by_group_removed(group):
                continue
            op = ops.get(number, Op.KEEP)
            if op is Op.REMOVE:
                continue
            vr = _vr_of(tag, raw)
            if vr == "SQ":
                seq = self._sequence_of(src, tag, op)
                if seq is not None:
                    sequences.append(seq)
                continue
            elem = self._apply(src, tag, raw, op, vr, out)
            if elem is not None:
                elements[tag] = elem

        for seq in sequences:
            out[seq.tag] = seq
        if self.rules.private:
            _drop_empty_creators(elements)
        return out

    def _apply(
        self,
        src: Dataset,
        tag: BaseTag,
        raw: DataElement | RawDataElement,
        op: Op,
        vr: str,
        out: Dataset,
    ) -> DataElement | RawDataElement | None:
        """The output element for one non-sequence element, or None to drop it."""
        if op is Op.KEEP:
            if self._scrubbing and vr in _FREE_TEXT_VRS:
                return self._text(src, tag, raw, out, scrub_identifiers)
            return self._copy(src, tag, raw)
        if op is Op.RETAIN:
            return self._copy(src, tag, raw)
        if op is Op.EMPTY:
            return _empty(tag, out)
        if op is Op.REPLACE:
            return DataElement(tag, dictionary_VR(tag), self.rules.values[int(tag)])

        values = element_text_values(src, tag, raw)
        if op is Op.UID or (vr == "UI" and op in (Op.DUMMY, Op.HASH)):
            uids = [remap_uid(uid, self.key) for uid in values if uid]
            return text_element(tag, "UI", uids, out) if uids else _empty(tag, out)
        if op is Op.DUMMY:
            return self._dummy(tag, vr, values, out)
        if op is Op.HASH:
            size = _HASH_LENGTHS.get(vr, 16)
            return text_element(tag, vr, [self._hash(v, size) for v in values], out)
        if op is Op.AGE:
            age = teaching_age(values[0]) if len(values) == 1 else None
            return None if age is None else text_element(tag, "AS", age, out)
        if op is Op.SHIFT or (op is Op.CLEAN and vr in ("DA", "DT", "TM")):
            return self._shifted(tag, vr, values, out)
        if op is Op.CLEAN:
            if vr in _FREE_TEXT_VRS:
                return self._text(src, tag, raw, out, clean_descriptor, values)
            return _empty(tag, out)
        raise AssertionError(f"unhandled action {op}")  # pragma: no cover

    def _dummy(
        self, tag: BaseTag, vr: str, values: list[str], out: Dataset
    ) -> DataElement | RawDataElement | None:
        if int(tag) == _PATIENT_ID:
            # one pseudonym per patient, so a patient's studies stay together
            pseudonym = "ANON" + self._hash(values[0] if values else "", 12)
            return text_element(tag, vr, pseudonym, out)
        dummy = _DUMMIES.get(vr)
        return None if dummy is None else text_element(tag, vr, dummy, out)

    def _shifted(
        self, tag: BaseTag, vr: str, values: list[str], out: Dataset
    ) -> DataElement | RawDataElement | None:
        """Dates moved by the patient's offset; times kept; None if unmovable."""
        if vr == "TM" or not values:
            return text_element(tag, vr, values, out)
        moved = [shift_value(vr, value, self.offset) for value in values]
        if any(m is None for m in moved):
            logger.debug("removed a date that cannot be shifted from %s", tag)
            return None
        return text_element(tag, vr, [m for m in moved if m is not None], out)

    def _hash(self, value: str, size: int) -> str:
        digest = hmac.new(self.key, value.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest().upper()[:size]

    def _sequence_of(self, src: Dataset, tag: BaseTag, op: Op) -> DataElement | None:
        """A sequence under `op`: emptied, or kept with its items cleaned."""
        if op is Op.EMPTY:
            return DataElement(tag, "SQ", None)
        try:
            elem = src[tag]
        except Exception as exc:  # an undecodable sequence is dropped, not fatal
            logger.warning(
                "dropped (%04X,%04X): it cannot be decoded (%s)",
                tag.group,
                tag.element,
                type(exc).__name__,
            )
            return None
        if op is Op.RETAIN:
            return elem
        items = [self.apply(item) for item in elem.value or ()]
        seq = DataElement(tag, "SQ", Sequence(items))
        seq.is_undefined_length = elem.is_undefined_length
        return seq

    def _private(
        self, src: Dataset, tag: BaseTag, raw: DataElement | RawDataElement
    ) -> DataElement | RawDataElement | None:
        """A private element or creator the rule set keeps, else None."""
        safe = self.rules.private
        if not safe:
            return None
        element = tag.element
        if 0x0010 <= element <= 0x00FF:
            # a creator is kept when one of its elements is
            creator = _creator(src, tag)
            block = element << 8
            if any(
                (creator, tag.group, e) in safe
                for e in range(256)
                if BaseTag((tag.group << 16) | block | e) in src._dict
            ):
                return self._raw_copy(raw)
            return None
        if element < 0x1000:
            return None
        creator_tag = BaseTag((tag.group << 16) | (element >> 8))
        vr = safe.get((_creator(src, creator_tag), tag.group, element & 0xFF))
        if vr is None:
            return None
        kept = self._raw_copy(raw)
        if kept is None or kept.VR not in (vr, "UN", None):
            return None
        if vr in ("DS", "IS") and not _NUMBER.fullmatch(_ascii(kept)):
            return None
        if vr == "CS" and not _CODE_STRING.fullmatch(_ascii(kept)):
            return None
        return kept

    def _raw_copy(
        self, raw: DataElement | RawDataElement
    ) -> DataElement | RawDataElement | None:
        """A private element as read, when the output's encoding allows."""
        if isinstance(raw, RawDataElement):
            if raw.value is None:
                return None  # deferred and private: not worth a read
            if (raw.is_implicit_VR, raw.is_little_endian) == self.encoding:
                return raw
            return None
        return raw


def _drop_empty_creators(elements: dict[BaseTag, Any]) -> None:
    """Remove private creators none of whose elements was kept (one refused
    for its VR or value leaves its creator behind otherwise)."""
    blocks = {
        (tag.group, tag.element >> 8)
        for tag in elements
        if tag.group & 1 and tag.element >= 0x1000
    }
    for tag in [t for t in elements if t.group & 1 and 0x10 <= t.element <= 0xFF]:
        if (tag.group, tag.element) not in blocks:
            del elements[tag]


def _creator(src: Dataset, tag: BaseTag) -> str:
    """The private creator at `tag` as text, "" when absent."""
    return text_value(src, int(tag))


def _ascii(elem: DataElement | RawDataElement) -> str:
    """A string element's value as its text, values joined by backslashes."""
    value = elem.value
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \0")
    if isinstance(value, MultiValue | list | tuple):
        # a decoded multi-valued element, as a whole read gives it
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def _by_group_removed(group: int) -> bool:
    """Curves (50xx,eeee) and overlays (60xx,eeee).

    Table E.1-1 removes curves, overlay data and overlay comments. An overlay
    without its data is not a valid overlay, and its label and description
    are free text, so the whole overlay group goes.
    """
    return group & 0xFF00 in (0x5000, 0x6000)
