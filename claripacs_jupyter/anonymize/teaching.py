"""Teaching-file anonymization of one instance with the :data:`TEACHING` whitelist.

The output dataset is built from the whitelist, not by deleting from the
input: each kept element is copied as pydicom read it, still undecoded
(:class:`~pydicom.dataelem.RawDataElement`), so the pixel data and most of the
header are never parsed or copied byte by byte. Only the elements whose value
changes (UIDs, accession, age, sex) and the kept sequences are decoded.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import cast

from pydicom import Dataset, Sequence
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import correct_ambiguous_vr_element, write_data_element
from pydicom.tag import BaseTag
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from ..errors import InvalidDicomError, InvalidInputError
from .age import teaching_age
from .annex_e import BASIC_CODE, option_codes
from .descriptors import (
    Cleaned,
    Identifiers,
    clean_descriptor,
    identifiers_of,
    scrub_identifiers,
)
from .profiles import TEACHING, Action, Profile, Rule
from .review import document_refusal, review_reasons
from .uids import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    MIN_KEY_BYTES,
    remap_uid,
)
from .values import element_text_values, text_element, text_value, text_values

__all__ = [
    "DEIDENTIFICATION_METHOD",
    "TEACHING_CODES",
    "AnonymizationResult",
    "anonymize_teaching",
    "record_deidentification",
]

logger = logging.getLogger(__name__)

#: (0012,0063) *DeidentificationMethod* written when no review is needed.
DEIDENTIFICATION_METHOD = "ClariPACS teaching whitelist; UIDs remapped; dates removed"

#: (0012,0064) *DeidentificationMethodCodeSequence* of the teaching profile. The
#: whitelist does everything the Basic profile does to the attributes it
#: keeps, except that it cleans descriptions and keeps sex and age, so it
#: claims those two options (a test checks this against the Basic table). Its
#: own accession replaces (0008,0050) *AccessionNumber*; it holds nothing of
#: the original.
TEACHING_CODES = (
    BASIC_CODE,
    *option_codes(["clean-descriptors", "retain-patient-characteristics"]),
)

#: The review reason of a description that still holds a long number.
SUSPICIOUS_DESCRIPTOR = (
    "a description or comment holds a long number that may be an identifier "
    "(names, identifiers and dates known to the file were cut out)"
)

_SOP_CLASS = 0x00080016
_SOP_INSTANCE = 0x00080018
_STUDY_UID = 0x0020000D
_SERIES_UID = 0x0020000E
_PIXEL_DATA = 0x7FE00010
_PATIENT_IDENTITY_REMOVED = 0x00120062
_DEIDENTIFICATION_METHOD = 0x00120063
_DEIDENTIFICATION_CODES = 0x00120064
_LONGITUDINAL_MODIFIED = 0x00280303
_SEXES = frozenset({"M", "F", "O"})
_PREAMBLE = b"\x00" * 128


@dataclass
class AnonymizationResult:
    """What :func:`anonymize_teaching` gives back for one instance.

    Attributes
    ----------
    dataset : pydicom.Dataset
        The anonymized instance, with its file meta rebuilt and a zeroed
        preamble; write it with ``dcmwrite(buffer, dataset,
        enforce_file_format=True)``.
    original_accession : str or None
        (0008,0050) *AccessionNumber* as received, for the case notes only;
        None when the file had none.
    review_reasons : list of str
        Why the pixels may carry identifiers (see
        :func:`~claripacs_jupyter.anonymize.review_reasons`); ``[]`` when
        none.
    """

    dataset: Dataset
    original_accession: str | None
    review_reasons: list[str] = field(default_factory=list)


def anonymize_teaching(
    ds: Dataset, *, key: bytes, accession: str
) -> AnonymizationResult:
    """Anonymize one instance for a teaching file.

    The header keeps only the elements of the teaching profile
    (:data:`claripacs_jupyter.anonymize.profiles.TEACHING`), at every depth:
    private elements, dates, names and references outside the profile are
    gone. (0008,0018) *SOPInstanceUID*, (0020,000D) *StudyInstanceUID*,
    (0020,000E) *SeriesInstanceUID*, (0020,0052) *FrameOfReferenceUID* and
    the UIDs referenced in kept sequences are replaced by
    :func:`remap_uid` with `key`. (0008,0050) *AccessionNumber* becomes
    `accession`. (0010,1010) *PatientAge* follows
    :func:`~claripacs_jupyter.anonymize.age.teaching_age`: over 80 years it
    is emptied, malformed it is removed. Patient Name, Patient ID, Study Date
    and the other Type 2 elements a receiving PACS expects are present and
    empty.

    Pixel data is never decoded: its bytes, native or encapsulated, are
    passed through unchanged under the same transfer syntax.

    (0012,0062) *PatientIdentityRemoved* is set to YES only when
    :func:`review_reasons` finds nothing; otherwise the pixels still need a
    person's review and the file makes no such claim.

    Parameters
    ----------
    ds : pydicom.Dataset
        The instance as read by pydicom (``defer_size`` is fine). It is not
        modified, apart from pydicom decoding the few elements read here.
    key : bytes
        The store's secret UID key (at least 16 bytes).
    accession : str
        The store's own accession for the case: at most 16 characters of
        printable ASCII without a backslash (an SH value).

    Returns
    -------
    AnonymizationResult
        The new dataset, the original accession and the review reasons.

    Raises
    ------
    ValueError
        If `key` or `accession` cannot be used.
    InvalidInputError
        If the instance is a document (structured report, encapsulated
        document, presentation state): see :func:`document_refusal`.
    InvalidDicomError
        If the instance lacks a UID a receiving PACS needs (SOP Class, SOP
        Instance, Study or Series Instance UID) or has encapsulated pixel
        data without a transfer syntax.
    """
    _check_key(key)
    _check_accession(accession)

    def clean(encoding: tuple[bool, bool] | None) -> tuple[Dataset, bool]:
        cleaner = _Cleaner(bytes(key), accession, encoding, identifiers_of(ds))
        return cleaner.clean(ds, TEACHING), cleaner.suspicious_descriptor

    # Dates are gone, so longitudinal information is removed.
    return anonymize_instance(
        ds, key, clean, "teaching", [DEIDENTIFICATION_METHOD], TEACHING_CODES, "REMOVED"
    )


def anonymize_instance(
    ds: Dataset,
    key: bytes,
    clean: Callable[[tuple[bool, bool] | None], tuple[Dataset, bool]],
    profile: str,
    method: list[str],
    codes: Iterable[tuple[str, str]],
    longitudinal: str,
    *,
    identity_kept: bool = False,
) -> AnonymizationResult:
    """The steps every profile shares around its own cleaning of the header.

    Documents are refused, review reasons found, `clean` called with the
    output's encoding (it returns the new dataset and whether a description
    still looks like it holds an identifier), the UIDs a PACS needs checked,
    what was done recorded, and the file meta rebuilt. `identity_kept` says
    that the profile keeps an identifying attribute.
    """
    _check_key(key)
    refusal = document_refusal(ds)
    if refusal is not None:
        raise InvalidInputError(refusal)

    reasons = review_reasons(ds)
    syntax = _transfer_syntax(ds)
    out, suspicious = clean(_encoding(ds, syntax))
    _fill_identity(out, ds, bytes(key))
    if suspicious:
        reasons.append(SUSPICIOUS_DESCRIPTOR)

    record_deidentification(
        out, method, codes, longitudinal, reasons, identity_kept=identity_kept
    )
    out.file_meta = _file_meta(out, syntax)
    out.preamble = _PREAMBLE
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s profile: instance ...%s, %d of %d elements kept, %d review reasons",
            profile,
            text_value(out, _SOP_INSTANCE)[-8:],
            len(out._dict),
            len(ds._dict),
            len(reasons),
        )
    return AnonymizationResult(out, _original_accession(ds), reasons)


def record_deidentification(
    out: Dataset,
    method: list[str],
    codes: Iterable[tuple[str, str]],
    longitudinal: str,
    reasons: list[str],
    *,
    identity_kept: bool = False,
) -> None:
    """Write what was done into `out` (PS3.15 E.1.1 and CID 7050).

    (0012,0063) *DeidentificationMethod* and (0028,0303)
    *LongitudinalTemporalInformationModified* describe the header and are
    always written, (0012,0064) *DeidentificationMethodCodeSequence* when
    there are `codes`. (0012,0062) *PatientIdentityRemoved* is NO when the
    profile keeps an identifying attribute (`identity_kept`), else YES when
    no burned-in text review is pending, and absent while one is.
    """
    out[_DEIDENTIFICATION_METHOD] = text_element(
        _DEIDENTIFICATION_METHOD, "LO", [m[:64] for m in method], out
    )
    implicit, little = out.original_encoding
    codes = tuple(codes)
    if not codes:
        out._dict.pop(BaseTag(_DEIDENTIFICATION_CODES), None)
    elif implicit is None or little is None:
        out[_DEIDENTIFICATION_CODES] = _code_sequence(codes)
    else:
        # The same bytes pydicom writes, made once per profile and encoding:
        # building the items anew for every file costs a quarter of the run.
        value = _encoded_code_sequence(codes, implicit, little)
        out[_DEIDENTIFICATION_CODES] = RawDataElement(
            BaseTag(_DEIDENTIFICATION_CODES),
            "SQ",
            len(value),
            value,
            0,
            implicit,
            little,
        )
    out[_LONGITUDINAL_MODIFIED] = text_element(
        _LONGITUDINAL_MODIFIED, "CS", longitudinal, out
    )
    if identity_kept:
        out[_PATIENT_IDENTITY_REMOVED] = text_element(
            _PATIENT_IDENTITY_REMOVED, "CS", "NO", out
        )
    elif reasons:
        out._dict.pop(BaseTag(_PATIENT_IDENTITY_REMOVED), None)
    else:
        out[_PATIENT_IDENTITY_REMOVED] = text_element(
            _PATIENT_IDENTITY_REMOVED, "CS", "YES", out
        )


def _code_sequence(codes: tuple[tuple[str, str], ...]) -> DataElement:
    """(0012,0064) *DeidentificationMethodCodeSequence* with one item a code."""
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    return DataElement(_DEIDENTIFICATION_CODES, "SQ", Sequence(items))


@lru_cache(maxsize=64)
def _encoded_code_sequence(
    codes: tuple[tuple[str, str], ...], implicit: bool, little: bool
) -> bytes:
    """The value of :func:`_code_sequence` as pydicom encodes it."""
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = implicit, little
    write_data_element(buffer, _code_sequence(codes))
    # after the tag and length (and the VR with two reserved bytes)
    return buffer.getvalue()[8 if implicit else 12 :]


class _Cleaner:
    """Applies a profile to a dataset and, recursively, to kept sequences."""

    def __init__(
        self,
        key: bytes,
        accession: str,
        encoding: tuple[bool, bool] | None,
        identifiers: Identifiers,
    ) -> None:
        self.key = key
        self.accession = accession
        self.identifiers = identifiers
        # free text is scanned only when the file names someone or something
        self._scrubbing = bool(identifiers.names or identifiers.ids)
        #: Set when a cleaned description still holds a long number.
        self.suspicious_descriptor = False
        # (implicit VR, little endian) of the output, or None for a dataset
        # built in memory, which pydicom encodes as a whole when writing.
        self.encoding = encoding
        self._required: dict[int, tuple[Rule, ...]] = {}

    def clean(self, src: Dataset, profile: Profile) -> Dataset:
        """Return a new dataset holding what `profile` keeps of `src`."""
        out = Dataset()
        # Every raw element copied below is in the output's encoding, so the
        # writer can copy them as they are.
        implicit, little = self.encoding or (None, None)
        out.set_original_encoding(implicit, little, src.original_character_set)
        out._parent_encoding = src._parent_encoding
        out.is_undefined_length_sequence_item = src.is_undefined_length_sequence_item
        elements = out._dict
        sequences: list[DataElement] = []

        kept: set[int] = set()
        for tag, raw in src._dict.items():
            # int(tag): looking a BaseTag up among int keys would call the
            # Python-level BaseTag.__eq__ for every hit.
            rule = profile.get(int(tag))
            if rule is None:
                continue
            if rule.action is Action.SEQUENCE:
                seq = self._sequence(src, rule)
                if seq is not None:
                    sequences.append(seq)
                continue
            elem = self._element(src, tag, raw, rule, out)
            if elem is not None:
                elements[tag] = elem
                kept.add(rule.tag)

        for rule in self._required_rules(profile):
            if rule.tag not in kept and (rule.required or rule.required_with in kept):
                empty = _empty(rule.tag, out)
                elements[empty.tag] = empty

        # Sequences go in through __setitem__, after Pixel Representation,
        # so that pydicom can resolve US/SS ambiguities inside their items.
        for seq in sequences:
            out[seq.tag] = seq
        return out

    def _required_rules(self, profile: Profile) -> tuple[Rule, ...]:
        rules = self._required.get(id(profile))
        if rules is None:
            rules = tuple(r for r in profile.values() if r.required or r.required_with)
            self._required[id(profile)] = rules
        return rules

    def _element(
        self,
        src: Dataset,
        tag: BaseTag,
        elem: DataElement | RawDataElement,
        rule: Rule,
        out: Dataset,
    ) -> DataElement | RawDataElement | None:
        """The output element for a non-sequence rule, or None to drop it."""
        action = rule.action
        if action is Action.KEEP:
            if self._scrubbing and _vr_of(tag, elem) in _FREE_TEXT_VRS:
                return self._text(src, tag, elem, out, scrub_identifiers)
            return self._copy(src, tag, elem)
        if action is Action.EMPTY:
            return _empty(tag, out)
        if action is Action.ACCESSION:
            return text_element(tag, "SH", self.accession, out)

        values = element_text_values(src, tag, elem)
        if action is Action.REMAP_UID:
            uids = [remap_uid(uid, self.key) for uid in values if uid]
            return text_element(tag, "UI", uids, out)
        if action is Action.AGE:
            age = teaching_age(values[0]) if len(values) == 1 else ""
            if age is None or len(values) > 1:
                logger.debug("removed a malformed (0010,1010) PatientAge")
                return None
            return text_element(tag, "AS", age, out)
        if action is Action.SEX:
            sex = values[0].upper() if len(values) == 1 else ""
            return text_element(tag, "CS", sex if sex in _SEXES else "", out)
        if action is Action.DESCRIPTOR:
            return self._text(src, tag, elem, out, clean_descriptor, values)
        raise AssertionError(f"unhandled action {action}")  # pragma: no cover

    def _text(
        self,
        src: Dataset,
        tag: BaseTag,
        elem: DataElement | RawDataElement,
        out: Dataset,
        clean: Callable[[str, Identifiers], Cleaned],
        values: list[str] | None = None,
    ) -> DataElement | RawDataElement | None:
        """Kept free text without what `clean` cuts out of it."""
        if values is None:
            values = element_text_values(src, tag, elem)
        cleaned = [clean(value, self.identifiers) for value in values]
        # a long number in a description may be an identifier; in a code
        # value or an explanation it is usually a code
        if clean is clean_descriptor and any(c.suspicious for c in cleaned):
            self.suspicious_descriptor = True
        if not any(c.removed for c in cleaned):
            return self._copy(src, tag, elem)

        if logger.isEnabledFor(logging.DEBUG):
            kinds = sorted({kind for c in cleaned for kind in c.removed})
            logger.debug(
                "cut %s out of (%04X,%04X)", ", ".join(kinds), tag >> 16, tag & 0xFFFF
            )
        texts = [c.text for c in cleaned]
        vr = dictionary_VR(tag)
        if all(text.isascii() for text in texts):
            return text_element(tag, vr, texts, out)
        # pydicom encodes it on writing, in the kept Specific Character Set
        return DataElement(tag, vr, texts if len(texts) != 1 else texts[0])

    def _copy(
        self, src: Dataset, tag: BaseTag, elem: DataElement | RawDataElement
    ) -> DataElement | RawDataElement | None:
        """The element as read, undecoded when its encoding allows."""
        if isinstance(elem, RawDataElement):
            if elem.value is None:
                elem = src[tag]  # deferred: read it now; an I/O error propagates
            elif elem.VR != "UN" and (
                (elem.is_implicit_VR, elem.is_little_endian) == self.encoding
            ):
                return elem
            else:
                # Another encoding than the output's (pydicom reads some files
                # in an encoding their transfer syntax does not name), or an
                # explicit UN for a standard tag: decode it, so that the writer
                # encodes it afresh with its real VR.
                try:
                    elem = src[tag]
                except Exception:
                    return None
        if elem.VR == "UN" and tag != _PIXEL_DATA:
            return None  # a standard element whose value could not be decoded
        elem = copy.copy(elem)
        if " or " in elem.VR and self.encoding is not None:
            elem = correct_ambiguous_vr_element(elem, src, self.encoding[1])
        return elem

    def _sequence(self, src: Dataset, rule: Rule) -> DataElement | None:
        """The cleaned sequence for a SEQUENCE rule, or None to drop it."""
        assert rule.items is not None
        try:
            elem = src[rule.tag]
        except Exception as exc:  # an undecodable sequence is dropped, not fatal
            logger.warning(
                "dropped (%04X,%04X) %s: it cannot be decoded (%s)",
                rule.tag >> 16,
                rule.tag & 0xFFFF,
                rule.keyword,
                type(exc).__name__,
            )
            return None
        if elem.VR != "SQ" or not isinstance(elem.value, Iterable):
            return None

        items: list[Dataset] = []
        for item in elem.value:
            cleaned = self.clean(item, rule.items)
            if len(cleaned._dict) or rule.keep_empty_items:
                items.append(cleaned)
        if not items:
            return None
        seq = DataElement(rule.tag, "SQ", Sequence(items))
        seq.is_undefined_length = elem.is_undefined_length
        return seq


#: VRs of the free text the profile keeps; their values are scanned for the
#: file's names and identifiers.
_FREE_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC"})


def _vr_of(tag: BaseTag, elem: DataElement | RawDataElement) -> str:
    """The VR of an element, from the dictionary when the file left it implicit."""
    vr = elem.VR
    if vr is None or vr == "UN":
        try:
            return str(dictionary_VR(tag))
        except KeyError:
            return "UN"
    return str(vr)


def _empty(tag: int, like: Dataset) -> DataElement | RawDataElement:
    """A present, empty element with the dictionary VR of `tag`."""
    vr = dictionary_VR(tag)
    if vr == "SQ":
        return DataElement(tag, vr, None)
    return text_element(tag, vr, "", like)


def _fill_identity(out: Dataset, src: Dataset, key: bytes) -> None:
    """Make sure the UIDs a receiving PACS needs are present in `out`."""
    meta = getattr(src, "file_meta", None)
    if not text_value(out, _SOP_CLASS):
        sop_class = text_value(meta, 0x00020002) if meta is not None else ""
        if not sop_class:
            raise InvalidDicomError(
                "the file has no (0008,0016) SOP Class UID, so no viewer or "
                "PACS can tell what it holds"
            )
        out[_SOP_CLASS] = text_element(_SOP_CLASS, "UI", sop_class, out)
    if not text_value(out, _SOP_INSTANCE):
        sop_instance = text_value(meta, 0x00020003) if meta is not None else ""
        if not sop_instance:
            raise InvalidDicomError(
                "the file has no (0008,0018) SOP Instance UID, so it cannot be "
                "stored as an instance"
            )
        new_uid = remap_uid(sop_instance, key)
        out[_SOP_INSTANCE] = text_element(_SOP_INSTANCE, "UI", new_uid, out)
    for tag, name in ((_STUDY_UID, "Study"), (_SERIES_UID, "Series")):
        if not text_value(out, tag):
            raise InvalidDicomError(
                f"the file has no ({tag >> 16:04X},{tag & 0xFFFF:04X}) {name} "
                "Instance UID, so it cannot be placed in a case"
            )


def _file_meta(out: Dataset, syntax: str) -> FileMetaDataset:
    """The rebuilt (0002,eeee) group: only what PS3.10 7.1 asks for."""
    meta = FileMetaDataset()
    for tag, vr, value in (
        (0x00020002, "UI", text_value(out, _SOP_CLASS)),
        (0x00020003, "UI", text_value(out, _SOP_INSTANCE)),
        (0x00020010, "UI", syntax),
        (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
        (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),
    ):
        data = value.encode("ascii")
        if len(data) % 2:
            data += b"\0" if vr == "UI" else b" "
        meta[tag] = RawDataElement(BaseTag(tag), vr, len(data), data, 0, False, True)
    meta[0x00020001] = _META_VERSION
    return meta


# (0002,0001) *FileMetaInformationVersion*: 00H 01H (PS3.10 7.1).
_META_VERSION = RawDataElement(BaseTag(0x00020001), "OB", 2, b"\0\1", 0, False, True)


def _transfer_syntax(src: Dataset) -> str:
    """The input's transfer syntax, else the one its encoding implies."""
    meta = getattr(src, "file_meta", None)
    syntax = text_value(meta, 0x00020010) if meta is not None else ""
    if syntax:
        return syntax

    pixels = src._dict.get(BaseTag(_PIXEL_DATA))
    if isinstance(pixels, RawDataElement):
        encapsulated = pixels.length == 0xFFFFFFFF
    else:
        encapsulated = bool(getattr(pixels, "is_undefined_length", False))
    if encapsulated:
        raise InvalidDicomError(
            "the pixel data is compressed but the file names no transfer syntax; "
            "it cannot be decoded"
        )
    implicit, little = src.original_encoding
    if implicit:
        return str(ImplicitVRLittleEndian)
    if little is False:
        return str(ExplicitVRBigEndian)
    return str(ExplicitVRLittleEndian)


def _encoding(src: Dataset, syntax: str) -> tuple[bool, bool] | None:
    """(implicit VR, little endian) to write `src` in, None if built in memory."""
    if None in src.original_encoding:
        return None
    uid = UID(syntax)
    if uid.is_transfer_syntax and not uid.is_private:
        return uid.is_implicit_VR, uid.is_little_endian
    # A private transfer syntax: pydicom writes it in the encoding it was read in.
    return cast(tuple[bool, bool], src.original_encoding)


def _original_accession(ds: Dataset) -> str | None:
    return "\\".join(text_values(ds, 0x00080050)) or None


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the UID key must be at least {MIN_KEY_BYTES} bytes; "
            "use the key the store created"
        )


def _check_accession(accession: str) -> None:
    if (
        not isinstance(accession, str)
        or not 0 < len(accession) <= 16
        or not accession.isascii()
        or not accession.isprintable()
        or "\\" in accession
    ):
        raise ValueError(
            "the store's accession must be 1 to 16 printable ASCII characters "
            "without a backslash (a DICOM SH value)"
        )
