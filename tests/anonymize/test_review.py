"""Tests for the review flags: images whose pixels may carry identifiers."""

from __future__ import annotations

import pytest

from claripacs_jupyter.anonymize import anonymize_teaching, review_reasons

from .conftest import ACCESSION, KEY, real_file

VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"


def test_plain_ct_needs_no_review():
    assert review_reasons(real_file("CT_small.dcm")) == []


def test_burned_in_annotation_yes_is_flagged():
    ds = real_file("CT_small.dcm")
    ds.BurnedInAnnotation = "YES"

    reasons = review_reasons(ds)

    assert len(reasons) == 1
    assert "Burned In Annotation is YES" in reasons[0]


def test_burned_in_annotation_no_is_not_flagged():
    ds = real_file("CT_small.dcm")
    ds.BurnedInAnnotation = "NO"

    assert review_reasons(ds) == []


def test_ultrasound_is_flagged():
    reasons = review_reasons(real_file("US1_J2KR.dcm"))

    assert any(reason.startswith("ultrasound") for reason in reasons)


def test_ultrasound_with_burned_in_annotation_gives_both_reasons():
    ds = real_file("US1_J2KR.dcm")
    ds.BurnedInAnnotation = "YES"

    reasons = review_reasons(ds)

    assert any("Burned In Annotation" in reason for reason in reasons)
    assert any(reason.startswith("ultrasound") for reason in reasons)


def test_secondary_capture_class_is_flagged_once():
    ds = real_file("SC_rgb_jpeg_dcmtk.dcm")
    ds.ConversionType = "WSD"

    reasons = review_reasons(ds)

    assert [r for r in reasons if "secondary capture" in r or "Conversion" in r] == [
        "secondary capture: a screen or a scanned document may show patient details"
    ]


def test_conversion_type_outside_secondary_capture_is_flagged():
    ds = real_file("CT_small.dcm")
    ds.ConversionType = "DF"

    reasons = review_reasons(ds)

    assert len(reasons) == 1
    assert "Conversion Type" in reasons[0]


@pytest.mark.parametrize(
    ("image_type", "expected"),
    [
        (["ORIGINAL", "PRIMARY", "SCREEN SAVE"], "SCREEN SAVE"),
        (["DERIVED", "SECONDARY"], "DERIVED\\SECONDARY"),
        (["DERIVED", "SECONDARY", "SCREEN SAVE"], "SCREEN SAVE"),
    ],
)
def test_screen_saves_and_secondary_images_are_flagged(image_type, expected):
    ds = real_file("CT_small.dcm")
    ds.ImageType = image_type

    reasons = review_reasons(ds)

    assert any(expected in reason for reason in reasons)


def test_original_primary_axial_is_not_flagged():
    ds = real_file("CT_small.dcm")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]

    assert review_reasons(ds) == []


@pytest.mark.parametrize(
    "description", ["Dose Report", "DOSE INFO", "Patient Protocol", "Exam Summary"]
)
def test_dose_report_screens_are_flagged(description):
    ds = real_file("CT_small.dcm")
    ds.SeriesDescription = description

    reasons = review_reasons(ds)

    assert len(reasons) == 1
    assert "dose report screen" in reasons[0]


def test_low_dose_scan_is_not_a_dose_screen():
    ds = real_file("CT_small.dcm")
    ds.SeriesDescription = "LOW DOSE CHEST 1.25mm"

    assert review_reasons(ds) == []


def test_photograph_is_flagged():
    ds = real_file("CT_small.dcm")
    ds.SOPClassUID = VL_PHOTOGRAPHIC
    ds.Modality = "XC"

    reasons = review_reasons(ds)

    assert any(reason.startswith("photograph") for reason in reasons)


def test_colour_image_from_grey_scale_modality_is_flagged():
    ds = real_file("CT_small.dcm")
    ds.PhotometricInterpretation = "RGB"

    reasons = review_reasons(ds)

    assert any("3D rendering" in reason for reason in reasons)


def test_reasons_quote_nothing_from_the_file():
    ds = real_file("CT_small.dcm")
    ds.SeriesDescription = "Dose Report Quimbyson"
    ds.BurnedInAnnotation = "YES"

    reasons = review_reasons(ds)

    assert len(reasons) == 2
    assert not any("Quimbyson" in reason for reason in reasons)


def test_anonymized_file_gives_the_same_reasons_as_the_original():
    ds = real_file("US1_J2KR.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.ImageType = ["DERIVED", "SECONDARY"]

    result = anonymize_teaching(ds, key=KEY, accession=ACCESSION)

    assert len(result.review_reasons) == 3
    assert review_reasons(result.dataset) == result.review_reasons
