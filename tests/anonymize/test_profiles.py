"""Tests for the teaching profile as data: tags, keywords, reasons, depth."""

from __future__ import annotations

from pydicom.datadict import dictionary_VR, keyword_for_tag

from claripacs_jupyter.anonymize.profiles import GUIDE, TEACHING, Action, iter_rules

# The list under "ClariPACS anonymizer" in the reference guide.
GUIDE_TAGS = {
    0x00080016, 0x00080050, 0x00080060, 0x00080070, 0x00081030, 0x0008103E,
    0x00081090, 0x00100040, 0x00101010, 0x00180050, 0x00180060, 0x00180080,
    0x00180081, 0x00180083, 0x00180087, 0x00180091, 0x00180095, 0x00181150,
    0x00181151, 0x00181310, 0x00181314, 0x00200011, 0x00200013, 0x00200032,
    0x00200037, 0x00201041, 0x00280004, 0x00280030, 0x00281050, 0x00281051,
    0x7FE00010,
}  # fmt: skip


def test_every_tag_of_the_guide_is_in_the_teaching_profile():
    assert GUIDE_TAGS <= set(TEACHING)


def test_only_the_guide_tags_give_the_guide_as_their_reason():
    top_level_guide = {tag for tag, rule in TEACHING.items() if rule.reason == GUIDE}

    assert top_level_guide == GUIDE_TAGS


def test_every_keyword_matches_its_tag_in_the_dicom_dictionary():
    mismatched = [
        (f"{rule.tag:08X}", rule.keyword)
        for _, rule in iter_rules()
        if keyword_for_tag(rule.tag) != rule.keyword
    ]

    assert mismatched == []


def test_every_rule_says_why_it_is_kept():
    assert all(len(rule.reason) > 10 for _, rule in iter_rules())


def test_no_private_tag_is_whitelisted_at_any_depth():
    assert [rule.keyword for _, rule in iter_rules() if rule.tag >> 16 & 1] == []


def test_no_date_time_or_person_name_is_kept_with_its_value():
    valued = [
        rule.keyword
        for _, rule in iter_rules()
        if dictionary_VR(rule.tag) in {"DA", "DT", "TM", "PN"}
        and rule.action is not Action.EMPTY
    ]

    assert valued == []


def test_frame_content_keeps_no_dates():
    fg = TEACHING[0x52009230].items
    assert fg is not None
    frame_content = fg[0x00209111].items
    assert frame_content is not None

    assert 0x00189074 not in frame_content  # Frame Acquisition DateTime
    assert 0x00189151 not in frame_content  # Frame Reference DateTime
    assert 0x00209157 in frame_content  # Dimension Index Values


def test_identifying_type_2_elements_are_emptied_not_kept():
    emptied = {
        rule.keyword for rule in TEACHING.values() if rule.action is Action.EMPTY
    }

    assert {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
    } <= emptied


def test_uid_rules_remap_instance_study_series_and_frame_of_reference():
    remapped = {
        rule.keyword for _, rule in iter_rules() if rule.action is Action.REMAP_UID
    }

    assert {
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "FrameOfReferenceUID",
        "ReferencedSOPInstanceUID",
    } <= remapped


def test_only_ui_elements_are_remapped():
    vrs = {
        dictionary_VR(rule.tag)
        for _, rule in iter_rules()
        if rule.action is Action.REMAP_UID
    }

    assert vrs == {"UI"}
