"""The teaching-file profile: which elements survive anonymization, and why.

The profile is a whitelist. Every element that is not named here is dropped,
at every depth, which removes private elements, dates, names, free text and
references we have no use for without having to list them. Each entry says
what happens to the element (:class:`Action`) and why it is kept.

The base of the list is the reference guide's "ClariPACS anonymizer" section
(:data:`GUIDE`). The other entries are what a file needs to stay decodable
(the Image Pixel module, rescale, VOI, palettes, multi-frame attributes,
functional groups) and storable in another PACS (UIDs, file meta, Type 2
elements kept present and empty).

A sequence entry names the profile its items are cleaned with, so the same
whitelist runs recursively inside kept sequences.

Dates and times go everywhere, even where an IOD makes one Type 1 (the
Enhanced CT and MR images' (0008,0023) *ContentDate*): a date is an
identifier, and receiving archives store such files regardless. The Type 2
dates of the General Study module stay present and empty.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "GUIDE",
    "Action",
    "Profile",
    "Rule",
    "TEACHING",
    "iter_rules",
]

#: The reason given for the elements the reference guide lists.
GUIDE = "listed by the reference guide (ClariPACS anonymizer)"


class Action(enum.Enum):
    """What the anonymizer does with a whitelisted element."""

    #: Copied as received, without decoding its value.
    KEEP = "keep"
    #: Written present and empty (Type 2 elements whose value identifies).
    EMPTY = "empty"
    #: Each value replaced by :func:`~claripacs_jupyter.anonymize.remap_uid`.
    REMAP_UID = "remap_uid"
    #: Replaced by the store's own accession.
    ACCESSION = "accession"
    #: The age rule of :mod:`claripacs_jupyter.anonymize.age`.
    AGE = "age"
    #: Kept only when M, F or O (a CS with defined terms), else emptied.
    SEX = "sex"
    #: Kept, with each item cleaned by the rule's item profile.
    SEQUENCE = "sequence"
    #: Free text kept without the patient's names, identifiers and dates
    #: (:mod:`claripacs_jupyter.anonymize.descriptors`).
    DESCRIPTOR = "descriptor"


@dataclass(frozen=True)
class Rule:
    """One whitelisted element.

    Attributes
    ----------
    tag : int
        The element's tag, e.g. ``0x00080016``.
    keyword : str
        Its DICOM keyword, e.g. ``"SOPClassUID"`` (checked against pydicom's
        dictionary by the tests).
    action : Action
        What is done with it.
    reason : str
        Why it is kept: :data:`GUIDE` or the need it serves.
    items : Mapping[int, Rule] or None
        For :attr:`Action.SEQUENCE`, the profile that cleans each item.
    required : bool
        Type 2 in a module every image IOD has: written empty when absent.
    required_with : int or None
        Written empty when absent if the output holds this other tag (Type 2
        in a module that only some files have).
    keep_empty_items : bool
        Keep items that end up empty, because the item count carries meaning
        (one Per-frame Functional Groups item per frame).
    """

    tag: int
    keyword: str
    action: Action
    reason: str
    items: Mapping[int, Rule] | None = None
    required: bool = False
    required_with: int | None = None
    keep_empty_items: bool = False


#: A profile maps a tag to its rule.
Profile = Mapping[int, Rule]


def _profile(*rules: Rule) -> Profile:
    """Build a read-only profile, refusing a tag listed twice."""
    table: dict[int, Rule] = {}
    for rule in rules:
        if rule.tag in table:
            raise ValueError(f"tag {rule.tag:08X} is listed twice in one profile")
        table[rule.tag] = rule
    return MappingProxyType(table)


def _keep(tag: int, keyword: str, reason: str = GUIDE, **kw: bool) -> Rule:
    return Rule(tag, keyword, Action.KEEP, reason, **kw)


def _uid(tag: int, keyword: str, reason: str) -> Rule:
    return Rule(tag, keyword, Action.REMAP_UID, reason)


def _descriptor(tag: int, keyword: str, reason: str = GUIDE) -> Rule:
    return Rule(tag, keyword, Action.DESCRIPTOR, reason)


def _empty(tag: int, keyword: str, reason: str) -> Rule:
    return Rule(tag, keyword, Action.EMPTY, reason, required=True)


def _seq(tag: int, keyword: str, reason: str, items: Profile, **kw: bool) -> Rule:
    return Rule(tag, keyword, Action.SEQUENCE, reason, items=items, **kw)


_PIXEL = "Image Pixel module: needed to decode the pixel data"
_PALETTE = "palette colour LUT: needed to display PALETTE COLOR images"
_RESCALE = "Modality LUT: needed to turn stored values into HU and other units"
_VOI = "VOI LUT: the file's own windows"
_MULTIFRAME = "multi-frame attributes: needed to play and order the frames"
_ENHANCED = "Type 1 in the Enhanced CT/MR image modules; coded terms only"
_NM = "NM multi-frame vectors: the Frame Increment Pointer names them"
_STUDY_T2 = "General Study module, Type 2: present and empty for a receiving PACS"
_PATIENT_T2 = "Patient module, Type 2: present and empty for a receiving PACS"
_UID = "new UID from the store's key, so that references still resolve"
_REF = "reference to another image (localizer lines, source images)"
_CODE = "coded term of a kept sequence; vocabulary, no identifiers"

#: Items of a code sequence (Code Sequence Macro, PS3.3 Table 8.8-1).
CODE_ITEM = _profile(
    _keep(0x00080100, "CodeValue", _CODE),
    _keep(0x00080102, "CodingSchemeDesignator", _CODE),
    _keep(0x00080103, "CodingSchemeVersion", _CODE),
    _keep(0x00080104, "CodeMeaning", _CODE),
    _keep(0x00080119, "LongCodeValue", _CODE),
    _keep(0x00080120, "URNCodeValue", _CODE),
)

#: Items of Referenced Image, Source Image and Referenced Instance sequences.
IMAGE_REFERENCE_ITEM = _profile(
    _keep(0x00081150, "ReferencedSOPClassUID", _REF),
    _uid(0x00081155, "ReferencedSOPInstanceUID", _UID),
    _keep(0x00081160, "ReferencedFrameNumber", _REF),
    _keep(0x0028135A, "SpatialLocationsPreserved", _REF),
    _seq(0x0040A170, "PurposeOfReferenceCodeSequence", _REF, CODE_ITEM),
)

_VOI_ITEMS = (
    _keep(0x00281050, "WindowCenter"),
    _keep(0x00281051, "WindowWidth"),
    _keep(0x00281055, "WindowCenterWidthExplanation", _VOI),
    _keep(0x00281056, "VOILUTFunction", _VOI),
)

#: Items of (0028,3000) *ModalityLUTSequence* and (0028,3010) *VOILUTSequence*.
LUT_ITEM = _profile(
    _keep(0x00283002, "LUTDescriptor", "LUT: needed to apply it"),
    _keep(0x00283003, "LUTExplanation", "LUT: the vendor's name for it"),
    _keep(0x00283004, "ModalityLUTType", "LUT: the units it produces"),
    _keep(0x00283006, "LUTData", "LUT: needed to apply it"),
)

#: Items of (0018,6011) *SequenceOfUltrasoundRegions*: the calibration that
#: ultrasound measurements use (ultrasound has no Pixel Spacing); numbers only.
ULTRASOUND_REGION_ITEM = _profile(
    *(
        _keep(tag, keyword, "ultrasound calibration: needed to measure")
        for tag, keyword in (
            (0x00186012, "RegionSpatialFormat"),
            (0x00186014, "RegionDataType"),
            (0x00186016, "RegionFlags"),
            (0x00186018, "RegionLocationMinX0"),
            (0x0018601A, "RegionLocationMinY0"),
            (0x0018601C, "RegionLocationMaxX1"),
            (0x0018601E, "RegionLocationMaxY1"),
            (0x00186020, "ReferencePixelX0"),
            (0x00186022, "ReferencePixelY0"),
            (0x00186024, "PhysicalUnitsXDirection"),
            (0x00186026, "PhysicalUnitsYDirection"),
            (0x00186028, "ReferencePixelPhysicalValueX"),
            (0x0018602A, "ReferencePixelPhysicalValueY"),
            (0x0018602C, "PhysicalDeltaX"),
            (0x0018602E, "PhysicalDeltaY"),
            (0x00186030, "TransducerFrequency"),
        )
    )
)

_FG = "functional group: the per-frame form of a kept attribute"

#: Items of the functional group sequences, each keeping the per-frame form of
#: the attributes the top level keeps. Frame Content loses its dates.
_FUNCTIONAL_GROUP_MACROS = (
    _seq(
        0x00081140,
        "ReferencedImageSequence",
        _REF,
        IMAGE_REFERENCE_ITEM,
    ),
    _seq(
        0x00189112,
        "MRTimingAndRelatedParametersSequence",
        _FG,
        _profile(
            _keep(0x00180080, "RepetitionTime"),
            _keep(0x00180091, "EchoTrainLength"),
            _keep(0x00181314, "FlipAngle"),
        ),
    ),
    _seq(
        0x00189114,
        "MREchoSequence",
        _FG,
        _profile(_keep(0x00189082, "EffectiveEchoTime", "the guide's TE, per frame")),
    ),
    _seq(
        0x00189226,
        "MRImageFrameTypeSequence",
        _FG,
        _profile(
            _keep(0x00089007, "FrameType", _ENHANCED),
            _keep(0x00089205, "PixelPresentation", _ENHANCED),
            _keep(0x00089206, "VolumetricProperties", _ENHANCED),
            _keep(0x00089207, "VolumeBasedCalculationTechnique", _ENHANCED),
            _keep(0x00089208, "ComplexImageComponent", _ENHANCED),
            _keep(0x00089209, "AcquisitionContrast", _ENHANCED),
        ),
    ),
    _seq(
        0x00189329,
        "CTImageFrameTypeSequence",
        _FG,
        _profile(
            _keep(0x00089007, "FrameType", _ENHANCED),
            _keep(0x00089205, "PixelPresentation", _ENHANCED),
            _keep(0x00089206, "VolumetricProperties", _ENHANCED),
            _keep(0x00089207, "VolumeBasedCalculationTechnique", _ENHANCED),
        ),
    ),
    _seq(
        0x00209111,
        "FrameContentSequence",
        _FG,
        _profile(
            _keep(0x00189220, "FrameAcquisitionDuration", _FG),
            _keep(0x00209056, "StackID", _FG),
            _keep(0x00209057, "InStackPositionNumber", _FG),
            _keep(0x00209128, "TemporalPositionIndex", _FG),
            _keep(0x00209156, "FrameAcquisitionNumber", _FG),
            _keep(0x00209157, "DimensionIndexValues", _FG),
        ),
    ),
    _seq(
        0x00209113,
        "PlanePositionSequence",
        _FG,
        _profile(_keep(0x00200032, "ImagePositionPatient")),
    ),
    _seq(
        0x00209116,
        "PlaneOrientationSequence",
        _FG,
        _profile(_keep(0x00200037, "ImageOrientationPatient")),
    ),
    _seq(
        0x00289110,
        "PixelMeasuresSequence",
        _FG,
        _profile(
            _keep(0x00180050, "SliceThickness"),
            _keep(0x00180088, "SpacingBetweenSlices", _FG),
            _keep(0x00280030, "PixelSpacing"),
        ),
    ),
    _seq(0x00289132, "FrameVOILUTSequence", _FG, _profile(*_VOI_ITEMS)),
    _seq(
        0x00289145,
        "PixelValueTransformationSequence",
        _FG,
        _profile(
            _keep(0x00281052, "RescaleIntercept", _RESCALE),
            _keep(0x00281053, "RescaleSlope", _RESCALE),
            _keep(0x00281054, "RescaleType", _RESCALE),
        ),
    ),
)

#: Items of the Shared and Per-frame Functional Groups sequences.
FUNCTIONAL_GROUP_ITEM = _profile(*_FUNCTIONAL_GROUP_MACROS)

#: Items of (0020,9222) *DimensionIndexSequence*.
DIMENSION_INDEX_ITEM = _profile(
    _keep(0x00209165, "DimensionIndexPointer", _MULTIFRAME),
    _keep(0x00209167, "FunctionalGroupPointer", _MULTIFRAME),
    _uid(0x00209164, "DimensionOrganizationUID", _UID),
    _keep(0x00209421, "DimensionDescriptionLabel", _MULTIFRAME),
)

#: The teaching-file profile for a whole instance.
TEACHING: Profile = _profile(
    # SOP Common and file identity.
    _keep(0x00080005, "SpecificCharacterSet", "needed to decode the kept text"),
    _keep(0x00080008, "ImageType", "ORIGINAL/DERIVED, LOCALIZER: read by teachers"),
    _keep(0x00080016, "SOPClassUID", required=True),
    _uid(0x00080018, "SOPInstanceUID", _UID),
    _empty(0x00080020, "StudyDate", _STUDY_T2),
    _empty(0x00080030, "StudyTime", _STUDY_T2),
    Rule(0x00080050, "AccessionNumber", Action.ACCESSION, GUIDE, required=True),
    _keep(0x00080060, "Modality"),
    _keep(0x00080064, "ConversionType", "SC Equipment module, Type 1"),
    _keep(0x00080068, "PresentationIntentType", "DX Series module, Type 1"),
    _keep(0x00080070, "Manufacturer", required=True),
    _empty(0x00080090, "ReferringPhysicianName", _STUDY_T2),
    _descriptor(0x00081030, "StudyDescription"),
    _descriptor(0x0008103E, "SeriesDescription"),
    _keep(0x00081090, "ManufacturerModelName"),
    _seq(0x00081140, "ReferencedImageSequence", _REF, IMAGE_REFERENCE_ITEM),
    _seq(0x00082112, "SourceImageSequence", _REF, IMAGE_REFERENCE_ITEM),
    _keep(0x00082142, "StartTrim", _MULTIFRAME),
    _keep(0x00082143, "StopTrim", _MULTIFRAME),
    _keep(0x00082144, "RecommendedDisplayFrameRate", _MULTIFRAME),
    _keep(0x00089205, "PixelPresentation", _ENHANCED),
    _keep(0x00089206, "VolumetricProperties", _ENHANCED),
    _keep(0x00089207, "VolumeBasedCalculationTechnique", _ENHANCED),
    _keep(0x00089208, "ComplexImageComponent", _ENHANCED),
    _keep(0x00089209, "AcquisitionContrast", _ENHANCED),
    # Patient: identity emptied, sex and (capped) age kept.
    _empty(0x00100010, "PatientName", _PATIENT_T2),
    _empty(0x00100020, "PatientID", _PATIENT_T2),
    _empty(0x00100030, "PatientBirthDate", _PATIENT_T2),
    Rule(0x00100040, "PatientSex", Action.SEX, GUIDE, required=True),
    Rule(0x00101010, "PatientAge", Action.AGE, GUIDE),
    # Acquisition.
    _keep(0x00180040, "CineRate", _MULTIFRAME),
    _keep(0x00180050, "SliceThickness"),
    _keep(0x00180060, "KVP"),
    _keep(0x00180080, "RepetitionTime"),
    _keep(0x00180081, "EchoTime"),
    _keep(0x00180083, "NumberOfAverages"),
    _keep(0x00180087, "MagneticFieldStrength"),
    _keep(0x00180091, "EchoTrainLength"),
    _keep(0x00180095, "PixelBandwidth"),
    _keep(0x00181063, "FrameTime", _MULTIFRAME),
    _keep(0x00181065, "FrameTimeVector", _MULTIFRAME),
    _keep(0x00181066, "FrameDelay", _MULTIFRAME),
    _keep(0x00181150, "ExposureTime"),
    _keep(0x00181151, "XRayTubeCurrent"),
    _keep(0x00181164, "ImagerPixelSpacing", "projection images: needed to measure"),
    _keep(0x00181242, "ActualFrameDuration", _MULTIFRAME),
    _keep(0x00181244, "PreferredPlaybackSequencing", _MULTIFRAME),
    _keep(0x00181310, "AcquisitionMatrix"),
    _keep(0x00181314, "FlipAngle"),
    _keep(0x00185100, "PatientPosition", "General Series, Type 2C for CT and MR"),
    _seq(
        0x00186011,
        "SequenceOfUltrasoundRegions",
        "ultrasound calibration: needed to measure",
        ULTRASOUND_REGION_ITEM,
    ),
    # Study, series, instance and frame of reference.
    _uid(0x0020000D, "StudyInstanceUID", _UID),
    _uid(0x0020000E, "SeriesInstanceUID", _UID),
    _empty(0x00200010, "StudyID", _STUDY_T2),
    _keep(0x00200011, "SeriesNumber", required=True),
    _keep(0x00200013, "InstanceNumber", required=True),
    _keep(0x00200020, "PatientOrientation", "General Image, Type 2C"),
    _keep(0x00200032, "ImagePositionPatient"),
    _keep(0x00200037, "ImageOrientationPatient"),
    _uid(0x00200052, "FrameOfReferenceUID", _UID),
    Rule(
        0x00201040,
        "PositionReferenceIndicator",
        Action.EMPTY,
        "Frame of Reference module, Type 2: present and empty (free text)",
        required_with=0x00200052,
    ),
    _keep(0x00200060, "Laterality", "General Series, Type 2C; no identifiers"),
    _keep(0x00201041, "SliceLocation"),
    _uid(0x00209161, "ConcatenationUID", _UID),
    _keep(0x00209162, "InConcatenationNumber", _MULTIFRAME),
    _keep(0x00209163, "InConcatenationTotalNumber", _MULTIFRAME),
    _uid(0x00200242, "SOPInstanceUIDOfConcatenationSource", _UID),
    _keep(0x00209228, "ConcatenationFrameOffsetNumber", _MULTIFRAME),
    _seq(
        0x00209221,
        "DimensionOrganizationSequence",
        _MULTIFRAME,
        _profile(_uid(0x00209164, "DimensionOrganizationUID", _UID)),
    ),
    _seq(
        0x00209222,
        "DimensionIndexSequence",
        _MULTIFRAME,
        DIMENSION_INDEX_ITEM,
    ),
    # Image Pixel module.
    _keep(0x00280002, "SamplesPerPixel", _PIXEL),
    _keep(0x00280004, "PhotometricInterpretation"),
    _keep(0x00280006, "PlanarConfiguration", _PIXEL),
    _keep(0x00280008, "NumberOfFrames", _MULTIFRAME),
    _keep(0x00280009, "FrameIncrementPointer", _MULTIFRAME),
    _keep(0x00280010, "Rows", _PIXEL),
    _keep(0x00280011, "Columns", _PIXEL),
    _keep(0x00280030, "PixelSpacing"),
    _keep(0x00280034, "PixelAspectRatio", _PIXEL),
    _keep(0x00280100, "BitsAllocated", _PIXEL),
    _keep(0x00280101, "BitsStored", _PIXEL),
    _keep(0x00280102, "HighBit", _PIXEL),
    _keep(0x00280103, "PixelRepresentation", _PIXEL),
    _keep(0x00280106, "SmallestImagePixelValue", _PIXEL),
    _keep(0x00280107, "LargestImagePixelValue", _PIXEL),
    _keep(0x00280108, "SmallestPixelValueInSeries", _PIXEL),
    _keep(0x00280109, "LargestPixelValueInSeries", _PIXEL),
    _keep(0x00280120, "PixelPaddingValue", "padding: shown black, left out of ranges"),
    _keep(0x00280121, "PixelPaddingRangeLimit", "padding: shown black"),
    _keep(0x00281040, "PixelIntensityRelationship", "DX Image module, Type 1"),
    _keep(0x00281041, "PixelIntensityRelationshipSign", "DX Image module, Type 1"),
    _keep(0x00281050, "WindowCenter"),
    _keep(0x00281051, "WindowWidth"),
    _keep(0x00281052, "RescaleIntercept", _RESCALE),
    _keep(0x00281053, "RescaleSlope", _RESCALE),
    _keep(0x00281054, "RescaleType", _RESCALE),
    _keep(0x00281055, "WindowCenterWidthExplanation", _VOI),
    _keep(0x00281056, "VOILUTFunction", _VOI),
    _keep(0x00281101, "RedPaletteColorLookupTableDescriptor", _PALETTE),
    _keep(0x00281102, "GreenPaletteColorLookupTableDescriptor", _PALETTE),
    _keep(0x00281103, "BluePaletteColorLookupTableDescriptor", _PALETTE),
    _keep(0x00281104, "AlphaPaletteColorLookupTableDescriptor", _PALETTE),
    _uid(0x00281199, "PaletteColorLookupTableUID", _UID),
    _keep(0x00281201, "RedPaletteColorLookupTableData", _PALETTE),
    _keep(0x00281202, "GreenPaletteColorLookupTableData", _PALETTE),
    _keep(0x00281203, "BluePaletteColorLookupTableData", _PALETTE),
    _keep(0x00281204, "AlphaPaletteColorLookupTableData", _PALETTE),
    _keep(0x00281221, "SegmentedRedPaletteColorLookupTableData", _PALETTE),
    _keep(0x00281222, "SegmentedGreenPaletteColorLookupTableData", _PALETTE),
    _keep(0x00281223, "SegmentedBluePaletteColorLookupTableData", _PALETTE),
    _keep(0x00281224, "SegmentedAlphaPaletteColorLookupTableData", _PALETTE),
    _keep(0x00282000, "ICCProfile", "colour management of colour images"),
    _keep(0x00282002, "ColorSpace", "colour management of colour images"),
    _keep(0x00282110, "LossyImageCompression", "says the pixels were lossy coded"),
    _keep(0x00282112, "LossyImageCompressionRatio", "lossy compression history"),
    _keep(0x00282114, "LossyImageCompressionMethod", "lossy compression history"),
    _keep(0x00280301, "BurnedInAnnotation", "tells reviewers the pixels hold text"),
    _keep(0x00280302, "RecognizableVisualFeatures", "tells reviewers of faces"),
    _seq(0x00283000, "ModalityLUTSequence", _RESCALE, LUT_ITEM),
    _seq(0x00283010, "VOILUTSequence", _VOI, LUT_ITEM),
    _keep(0x20500020, "PresentationLUTShape", "Presentation LUT: IDENTITY/INVERSE"),
    # NM multi-frame vectors.
    _keep(0x00540010, "EnergyWindowVector", _NM),
    _keep(0x00540011, "NumberOfEnergyWindows", _NM),
    _keep(0x00540020, "DetectorVector", _NM),
    _keep(0x00540021, "NumberOfDetectors", _NM),
    _keep(0x00540050, "RotationVector", _NM),
    _keep(0x00540051, "NumberOfRotations", _NM),
    _keep(0x00540060, "RRIntervalVector", _NM),
    _keep(0x00540061, "NumberOfRRIntervals", _NM),
    _keep(0x00540070, "TimeSlotVector", _NM),
    _keep(0x00540071, "NumberOfTimeSlots", _NM),
    _keep(0x00540080, "SliceVector", _NM),
    _keep(0x00540081, "NumberOfSlices", _NM),
    _keep(0x00540090, "AngularViewVector", _NM),
    _keep(0x00540100, "TimeSliceVector", _NM),
    _keep(0x00540101, "NumberOfTimeSlices", _NM),
    # Functional groups, cleaned item by item.
    _seq(
        0x52009229,
        "SharedFunctionalGroupsSequence",
        _MULTIFRAME,
        FUNCTIONAL_GROUP_ITEM,
    ),
    _seq(
        0x52009230,
        "PerFrameFunctionalGroupsSequence",
        _MULTIFRAME,
        FUNCTIONAL_GROUP_ITEM,
        keep_empty_items=True,
    ),
    # Pixel data and its offset tables: copied byte for byte.
    _keep(0x7FE00001, "ExtendedOffsetTable", "needed to find encapsulated frames"),
    _keep(0x7FE00002, "ExtendedOffsetTableLengths", "needed to find frames"),
    _keep(0x7FE00008, "FloatPixelData", _PIXEL),
    _keep(0x7FE00009, "DoubleFloatPixelData", _PIXEL),
    _keep(0x7FE00010, "PixelData"),
)


def iter_rules(
    profile: Profile = TEACHING, depth: int = 0
) -> Iterator[tuple[int, Rule]]:
    """Yield ``(depth, rule)`` for every rule of `profile` and its item profiles.

    Parameters
    ----------
    profile : Mapping[int, Rule]
        The profile to walk; the teaching profile by default.
    depth : int
        The depth of `profile` itself (0 for an instance).

    Yields
    ------
    tuple[int, Rule]
        Each rule with the sequence depth it applies at.
    """
    for rule in profile.values():
        yield depth, rule
        if rule.items is not None:
            yield from iter_rules(rule.items, depth + 1)
