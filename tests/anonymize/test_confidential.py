"""The PS3.15 Basic profile and its options on real files, checked on written bytes."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pydicom
import pytest
from pydicom import Dataset

from claripacs_jupyter.anonymize.annex_e import OPTIONS, basic_rules
from claripacs_jupyter.anonymize.confidential import anonymize_with_rules
from claripacs_jupyter.anonymize.dates import MAX_OFFSET_DAYS, MIN_OFFSET_DAYS
from claripacs_jupyter.anonymize.uids import remap_uid
from claripacs_jupyter.errors import InvalidInputError
from tests.anonymize.conftest import KEY, from_bytes, real_file, to_bytes


def _basic(ds: Dataset, *options: str, key: bytes = KEY) -> Dataset:
    """Anonymize `ds` (as written and read again) with the Basic profile."""
    source = from_bytes(to_bytes(ds))
    result = anonymize_with_rules(
        source, key=key, rules=basic_rules(frozenset(options))
    )
    buffer = BytesIO()
    result.dataset.save_as(buffer, enforce_file_format=True)
    return from_bytes(buffer.getvalue())


def _days(a: str, b: str) -> int:
    day = dt.datetime.strptime
    return (day(a, "%Y%m%d") - day(b, "%Y%m%d")).days


class TestBasicProfile:
    def test_identity_goes_and_the_image_stays(self) -> None:
        ct = real_file("CT_small.dcm")

        out = _basic(ct)

        assert out.PatientName == ""
        assert out.PatientID.startswith("ANON") and out.PatientID != ct.PatientID
        assert out.StudyDate == "" and out.AccessionNumber == ""
        assert out.InstitutionName == "ANONYMIZED"
        assert out.StationName == "ANONYMIZED"
        for gone in ("PatientAge", "PatientWeight", "StudyDescription", "PatientSex"):
            assert not out.get(gone), gone
        assert "OtherPatientIDsSequence" not in out
        assert out.StudyInstanceUID == remap_uid(ct.StudyInstanceUID, KEY)
        assert out.SOPInstanceUID == remap_uid(ct.SOPInstanceUID, KEY)
        assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
        # kept: not in Table E.1-1
        assert out.Manufacturer == ct.Manufacturer
        assert out.KVP == ct.KVP and out.SliceThickness == ct.SliceThickness
        assert out.PixelData == ct.PixelData

    def test_private_elements_go_at_every_depth(self) -> None:
        ct = real_file("CT_small.dcm")
        item = Dataset()
        item.add_new((0x0029, 0x0010), "LO", "SOME CREATOR")
        item.add_new((0x0029, 0x1001), "LO", "NESTED PRIVATE")
        item.CodeMeaning = "Chest"
        ct.AnatomicRegionSequence = [item]

        out = _basic(ct)

        assert not [e for e in out.iterall() if e.tag.is_private]
        assert out.AnatomicRegionSequence[0].CodeMeaning == "Chest"

    def test_nested_identifiers_get_the_same_actions_as_at_the_top(self) -> None:
        ct = real_file("CT_small.dcm")
        item = Dataset()
        item.ReferencedSOPClassUID = ct.SOPClassUID
        item.ReferencedSOPInstanceUID = "1.2.3.4.5"
        item.InstitutionName = "SAINT ELSEWHERE"
        item.PatientName = "DOE^JANE"
        ct.ReferencedImageSequence = [item]

        out = _basic(ct)

        ref = out.ReferencedImageSequence[0]
        assert ref.ReferencedSOPInstanceUID == remap_uid("1.2.3.4.5", KEY)
        assert ref.ReferencedSOPClassUID == ct.SOPClassUID
        assert ref.InstitutionName == "ANONYMIZED"
        assert ref.PatientName == ""

    def test_overlays_and_curves_go_whole(self) -> None:
        mr = real_file("MR_small.dcm")
        mr.add_new((0x6000, 0x0010), "US", 2)
        mr.add_new((0x6000, 0x0022), "LO", "DOE JANE")
        mr.add_new((0x6000, 0x3000), "OW", b"\xff\x00" * 4)
        mr.add_new((0x5000, 0x3000), "OW", b"\x01\x00")

        out = _basic(mr)

        assert not [e for e in out if e.tag.group & 0xFF00 in (0x5000, 0x6000)]

    def test_the_output_records_what_was_done(self) -> None:
        out = _basic(real_file("CT_small.dcm"))

        assert out.PatientIdentityRemoved == "YES"
        assert out.LongitudinalTemporalInformationModified == "REMOVED"
        assert out.DeidentificationMethod[0] == "ClariPACS basic profile"
        assert [
            (c.CodeValue, c.CodingSchemeDesignator)
            for c in out.DeidentificationMethodCodeSequence
        ] == [("113100", "DCM")]

    def test_a_file_that_needs_a_pixel_review_makes_no_identity_claim(self) -> None:
        us = real_file("US1_UNCR.dcm")

        out = _basic(us)

        assert "PatientIdentityRemoved" not in out
        assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"

    def test_documents_are_refused(self) -> None:
        sr = real_file("test-SR.dcm")

        with pytest.raises(InvalidInputError, match="structured report"):
            anonymize_with_rules(sr, key=KEY, rules=basic_rules())

    def test_the_input_dataset_is_not_changed(self) -> None:
        ct = real_file("CT_small.dcm")
        before = to_bytes(ct)

        anonymize_with_rules(from_bytes(before), key=KEY, rules=basic_rules())

        assert to_bytes(ct) == before

    @pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtdose.dcm"])
    def test_implicit_and_explicit_inputs_give_the_same_dataset(
        self, name: str
    ) -> None:
        ds = real_file(name)
        rules = basic_rules(frozenset({"clean-descriptors"}))

        explicit = anonymize_with_rules(from_bytes(to_bytes(ds)), key=KEY, rules=rules)
        implicit = anonymize_with_rules(
            from_bytes(to_bytes(ds, implicit=True)), key=KEY, rules=rules
        )

        assert [(e.tag, e.value) for e in explicit.dataset.iterall()] == [
            (e.tag, e.value) for e in implicit.dataset.iterall()
        ]


class TestOptions:
    def test_full_dates_keep_dates_and_times(self) -> None:
        ct = real_file("CT_small.dcm")

        out = _basic(ct, "retain-longitudinal-full-dates")

        assert (out.StudyDate, out.StudyTime) == (ct.StudyDate, ct.StudyTime)
        assert (out.SeriesDate, out.ContentTime) == (ct.SeriesDate, ct.ContentTime)
        assert out.PatientBirthDate == ""
        assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"

    def test_modified_dates_move_every_date_of_a_patient_by_one_offset(self) -> None:
        ct = real_file("CT_small.dcm")
        later = real_file("CT_small.dcm")
        later.StudyDate = "20050301"
        later.StudyInstanceUID = "1.2.3.99"

        out = _basic(ct, "retain-longitudinal-modified-dates")
        out_later = _basic(later, "retain-longitudinal-modified-dates")

        offset = _days(out.StudyDate, ct.StudyDate)
        assert -MAX_OFFSET_DAYS <= offset <= -MIN_OFFSET_DAYS
        assert _days(out.SeriesDate, ct.SeriesDate) == offset
        assert _days(out.InstanceCreationDate, ct.InstanceCreationDate) == offset
        assert _days(out_later.StudyDate, later.StudyDate) == offset
        assert out.StudyTime == ct.StudyTime  # times of day are kept
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"
        assert out.PatientBirthDate == ""

    def test_another_patient_or_another_key_gets_another_offset(self) -> None:
        ct = real_file("CT_small.dcm")
        other = real_file("CT_small.dcm")
        other.PatientID = "SOMEONE-ELSE"
        option = "retain-longitudinal-modified-dates"

        offsets = {
            _days(_basic(ct, option).StudyDate, ct.StudyDate),
            _days(_basic(other, option).StudyDate, ct.StudyDate),
            _days(_basic(ct, option, key=bytes(32)).StudyDate, ct.StudyDate),
        }

        assert len(offsets) == 3

    def test_patient_characteristics_keep_sex_size_weight_and_a_safe_age(self) -> None:
        mr = real_file("MR_small.dcm")
        mr.PatientAge = "045Y"
        mr.Allergies = "Penicillin; told by DOE to the nurse"
        mr.PatientName = "DOE^JANE"

        out = _basic(mr, "retain-patient-characteristics")
        old = _basic(_aged(mr, "085Y"), "retain-patient-characteristics")

        assert (out.PatientSex, out.PatientSize, out.PatientWeight) == (
            mr.PatientSex,
            mr.PatientSize,
            mr.PatientWeight,
        )
        assert out.PatientAge == "045Y"
        assert old.PatientAge == ""
        assert out.Allergies.startswith("Penicillin") and "DOE" not in out.Allergies
        assert out.PatientName == ""

    def test_device_identity_keeps_the_station_and_the_serial_number(self) -> None:
        mr = real_file("MR_small.dcm")

        out = _basic(mr, "retain-device-identity")
        plain = _basic(mr)

        assert out.StationName == mr.StationName
        assert out.DeviceSerialNumber == mr.DeviceSerialNumber
        assert plain.DeviceSerialNumber == "ANONYMIZED"
        assert out.InstitutionName == "ANONYMIZED"

    def test_institution_identity_keeps_the_institution(self) -> None:
        mr = real_file("MR_small.dcm")
        mr.InstitutionAddress = "1 Hospital Road"

        out = _basic(mr, "retain-institution-identity")

        assert out.InstitutionName == mr.InstitutionName
        assert out.InstitutionAddress == "1 Hospital Road"
        assert out.StationName == "ANONYMIZED"

    def test_uids_keep_every_uid(self) -> None:
        ct = real_file("CT_small.dcm")
        item = Dataset()
        item.ReferencedSOPClassUID = ct.SOPClassUID
        item.ReferencedSOPInstanceUID = "1.2.3.4.5"
        ct.ReferencedImageSequence = [item]

        out = _basic(ct, "retain-uids")

        assert out.StudyInstanceUID == ct.StudyInstanceUID
        assert out.SOPInstanceUID == ct.SOPInstanceUID
        assert out.FrameOfReferenceUID == ct.FrameOfReferenceUID
        assert out.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3.4.5"

    def test_safe_private_keeps_listed_numbers_with_their_creator_only(self) -> None:
        ct = real_file("CT_small.dcm")
        ct.add_new((0x0043, 0x1039), "IS", ["1000", "8", "0", "0"])  # b-value
        ct.add_new((0x0043, 0x1040), "LO", "DOE^JANE")  # same creator, not listed
        ct.add_new((0x0045, 0x0010), "LO", "SOMEONE ELSE")
        ct.add_new((0x0045, 0x1039), "IS", "5")  # the element, another creator

        out = _basic(ct, "retain-safe-private")
        plain = _basic(ct)

        assert out[0x0043, 0x0010].value == "GEMS_PARM_01"
        assert out[0x0043, 0x1039].value == [1000, 8, 0, 0]
        assert (0x0043, 0x1040) not in out
        # GE's table speed, mid scan time and rotation speed: Table E.3.10-1
        assert {int(e.tag) for e in out if e.tag.group == 0x0019} == {
            0x00190010,
            0x00191023,
            0x00191024,
            0x00191027,
        }
        assert out[0x0019, 0x1023].value == ct[0x0019, 0x1023].value
        assert not [e for e in out if e.tag.group in (0x0009, 0x0045)]
        assert not [e for e in plain if e.tag.is_private]

    def test_safe_private_refuses_text_where_a_number_belongs(self) -> None:
        ct = real_file("CT_small.dcm")
        ct.add_new((0x0043, 0x1039), "LO", "DOE JANE")

        out = _basic(ct, "retain-safe-private")

        assert (0x0043, 0x1039) not in out
        assert (0x0043, 0x0010) not in out  # its creator, with nothing left

    def test_clean_descriptors_keep_descriptions_without_identifiers(self) -> None:
        mr = real_file("MR_small.dcm")
        mr.StudyDescription = f"MRI HEAD {mr.PatientID} 03/14/2021"
        mr.SeriesDescription = "T2 AXIAL"
        mr.ImageComments = "ok"

        out = _basic(mr, "clean-descriptors")
        plain = _basic(mr)

        assert out.SeriesDescription == "T2 AXIAL"
        assert out.StudyDescription.startswith("MRI HEAD")
        assert mr.PatientID not in out.StudyDescription
        assert "2021" not in out.StudyDescription
        assert out.ImageComments == "ok"
        assert "SeriesDescription" not in plain and "ImageComments" not in plain

    def test_the_options_are_recorded_by_code(self) -> None:
        options = ("retain-uids", "retain-device-identity", "clean-descriptors")

        out = _basic(real_file("MR_small.dcm"), *options)

        assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == [
            "113100",
            "113109",
            "113110",
            "113105",
        ]
        assert "Retain UIDs Option" in out.DeidentificationMethod

    @pytest.mark.parametrize("option", OPTIONS)
    def test_no_option_keeps_the_patient_name(self, option: str) -> None:
        out = _basic(real_file("MR_small.dcm"), option)

        assert out.PatientName == ""
        assert "PatientBirthDate" not in out or out.PatientBirthDate == ""


def _aged(ds: Dataset, age: str) -> Dataset:
    copy = pydicom.dcmread(BytesIO(to_bytes(ds)))
    copy.PatientAge = age
    return copy
