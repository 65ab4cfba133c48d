"""Flags for images whose pixels may carry burned-in identifiers.

A header whitelist cannot clean pixels. Ultrasound, screen captures, dose
report screens, photographs and 3D renderings often show the patient's name
or number in the picture itself, so cases holding them are held for a person
to look at before they are published. Each reason is a sentence a teacher can
act on; none of them quotes a value from the file.
"""

from __future__ import annotations

import re

from pydicom import Dataset

from .values import text_value, text_values

__all__ = ["SECONDARY_CAPTURE_CLASSES", "document_refusal", "review_reasons"]

#: Secondary Capture SOP classes (PS3.4 B.5): digitized films, screens, scans.
SECONDARY_CAPTURE_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",
        "1.2.840.10008.5.1.4.1.1.7.1",
        "1.2.840.10008.5.1.4.1.1.7.2",
        "1.2.840.10008.5.1.4.1.1.7.3",
        "1.2.840.10008.5.1.4.1.1.7.4",
    }
)

# Ultrasound image SOP classes, current and retired.
_ULTRASOUND_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.6",
        "1.2.840.10008.5.1.4.1.1.6.1",
        "1.2.840.10008.5.1.4.1.1.6.2",
        "1.2.840.10008.5.1.4.1.1.3",
        "1.2.840.10008.5.1.4.1.1.3.1",
    }
)

# Visible light photographs and video, where faces and labels show.
_PHOTO_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.77.1.1",
        "1.2.840.10008.5.1.4.1.1.77.1.1.1",
        "1.2.840.10008.5.1.4.1.1.77.1.2",
        "1.2.840.10008.5.1.4.1.1.77.1.2.1",
        "1.2.840.10008.5.1.4.1.1.77.1.4",
        "1.2.840.10008.5.1.4.1.1.77.1.4.1",
    }
)
_PHOTO_MODALITIES = frozenset({"XC", "ES", "GM", "SM"})

# Grey-scale modalities whose colour images are renderings or captures.
_GREY_MODALITIES = frozenset({"CT", "MR", "PT", "NM", "CR", "DX", "MG", "XA", "RF"})

# SOP classes whose content is free text or a whole document (PS3.4 B.5):
# structured reports, key object selections and CAD results (…88.*), encapsulated
# PDF, CDA and the like (…104.*), and presentation states, whose text and
# graphic annotations name patients as often as findings (…11.*).
_DOCUMENT_CLASSES = (
    ("1.2.840.10008.5.1.4.1.1.88.", "structured report"),
    ("1.2.840.10008.5.1.4.1.1.104.", "encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.11.", "presentation state"),
)


def document_refusal(ds: Dataset) -> str | None:
    """Why `ds` is refused as a document, or None when it is no document.

    A header whitelist keeps what it knows of an image and drops the rest, but
    a report, a PDF or a presentation state *is* its free text: cleaned, it
    would be empty, and kept, it would leak. Such instances are refused.

    Parameters
    ----------
    ds : pydicom.Dataset
        The instance as received.

    Returns
    -------
    str or None
        A sentence that says what the instance is and why it is refused,
        without any value from the file; None for other SOP classes.
    """
    sop_class = text_value(ds, 0x00080016)
    for prefix, kind in _DOCUMENT_CLASSES:
        if sop_class.startswith(prefix):
            return (
                f"refused: this {kind} carries free text or a whole document, "
                "which the anonymizer cannot clean"
            )
    return None


# Series Descriptions and Image Type values that vendors give dose screens
# (GE "Dose Report", Philips "Dose Info", Siemens "Patient Protocol", Canon
# "Dose Summary"). A bare "dose" is not enough: "LOW DOSE CHEST" is a scan.
_DOSE_TEXT = re.compile(
    r"\bdose[\s_]*(report|info|summary|screen|sheet)"
    r"|\bpatient[\s_]*protocol\b|\bexam(ination)?[\s_]*summary\b"
    r"|\bradiation[\s_]*dose\b|\bdlp\b",
    re.IGNORECASE,
)


def review_reasons(ds: Dataset) -> list[str]:
    """Return why the pixels of `ds` may carry identifiers, or ``[]``.

    The checks read only the header; pixel data is never decoded. They work
    on the original dataset and on its anonymized form alike, since the
    elements they read are kept by the teaching profile (Series Description
    aside, which both keep).

    Parameters
    ----------
    ds : pydicom.Dataset
        The instance to check.

    Returns
    -------
    list of str
        One readable sentence per reason, in a stable order, without
        duplicates and without any value copied from the file.
    """
    reasons: list[str] = []
    sop_class = text_value(ds, 0x00080016)
    modality = text_value(ds, 0x00080060).upper()
    image_type = [value.upper() for value in text_values(ds, 0x00080008)]

    if text_value(ds, 0x00280301).upper() == "YES":
        reasons.append(
            "Burned In Annotation is YES: the pixels carry text that may name "
            "the patient"
        )
    if text_value(ds, 0x00280302).upper() == "YES":
        reasons.append(
            "Recognizable Visual Features is YES: a face or other feature may "
            "identify the patient"
        )
    if modality == "US" or sop_class in _ULTRASOUND_CLASSES:
        reasons.append(
            "ultrasound: scanners burn the patient's name, ID and date into the image"
        )
    if sop_class in SECONDARY_CAPTURE_CLASSES:
        reasons.append(
            "secondary capture: a screen or a scanned document may show patient details"
        )
    if text_value(ds, 0x00080064) and sop_class not in SECONDARY_CAPTURE_CLASSES:
        reasons.append(
            "Conversion Type is set: the image was captured or digitized from "
            "another source and may show patient details"
        )
    if any("SCREEN SAVE" in value for value in image_type):
        reasons.append(
            "Image Type says SCREEN SAVE: a saved screen usually shows patient details"
        )
    if "SECONDARY" in image_type:
        reasons.append(
            "Image Type is DERIVED\\SECONDARY: derived images and screen captures "
            "may carry burned-in text"
        )
    if _looks_like_dose_screen(ds, image_type):
        reasons.append(
            "looks like a dose report screen: these list the patient's name, ID "
            "and exam details"
        )
    if sop_class in _PHOTO_CLASSES or modality in _PHOTO_MODALITIES:
        reasons.append(
            "photograph or video: faces, wristbands and labels may be visible"
        )
    photometric = text_value(ds, 0x00280004).upper()
    if modality in _GREY_MODALITIES and photometric.startswith(("RGB", "YBR")):
        reasons.append(
            "colour image from a grey-scale modality: often a 3D rendering or "
            "screen capture with burned-in text"
        )
    return list(dict.fromkeys(reasons))


def _looks_like_dose_screen(ds: Dataset, image_type: list[str]) -> bool:
    """True when the Series Description or Image Type names a dose screen."""
    if any("DOSE" in value or value.endswith(" PROT") for value in image_type):
        return True
    return bool(_DOSE_TEXT.search(text_value(ds, 0x0008103E)))
