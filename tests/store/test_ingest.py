"""Ingest of real files, folders, ZIPs and uploads into cases."""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from claripacs_jupyter.anonymize import remap_uid
from claripacs_jupyter.store import Store, open_store
from claripacs_jupyter.store.accession import ALPHABET, LENGTH

from .builders import (
    assert_consistent,
    encoded,
    load,
    make_series,
    sample,
    stored_files,
    zip_bytes,
)


class TestRealFiles:
    def test_each_real_file_is_stored_in_a_case_of_its_own_study(
        self, store: Store
    ) -> None:
        names = ["CT_small.dcm", "emri_small.dcm", "US1_J2KR.dcm", "OBXXXX1A.dcm"]

        report = store.ingest([sample(name) for name in names])

        assert [o.status for o in report.outcomes] == ["stored"] * 4
        assert len(report.accessions) == 4
        assert sorted(m for c in store.cases() for m in c.modalities) == [
            "CT",
            "MR",
            "US",
            "US",
        ]
        assert len(stored_files(store)) == 4
        assert_consistent(store)

    def test_files_are_laid_out_by_anonymized_uids(self, store: Store) -> None:
        original = load("CT_small.dcm")

        report = store.ingest([sample("CT_small.dcm")])

        key = store._key
        study = remap_uid(original.StudyInstanceUID, key)
        series = remap_uid(original.SeriesInstanceUID, key)
        sop = remap_uid(original.SOPInstanceUID, key)
        assert report.outcomes[0].sop_uid == sop
        expected = store.path / "dicom" / study / series / f"{sop}.dcm"
        assert store.instance_path(report.accessions[0], sop) == expected
        written = pydicom.dcmread(expected)
        assert written.SOPInstanceUID == sop
        assert written.AccessionNumber == report.accessions[0]
        assert original.StudyInstanceUID not in expected.read_bytes().decode("latin-1")

    def test_a_multiframe_file_counts_its_frames(self, store: Store) -> None:
        report = store.ingest([sample("emri_small.dcm")])

        case = store.case(report.accessions[0])

        instance = case.series[0].instances[0]
        assert (instance.frames, instance.rows, instance.columns) == (10, 64, 64)
        assert instance.image["frames"] == 10

    def test_pixel_data_is_stored_byte_identical(self, store: Store) -> None:
        original = load("US1_J2KR.dcm")

        report = store.ingest([sample("US1_J2KR.dcm")])

        path = store.instance_path(report.accessions[0], report.outcomes[0].sop_uid)
        written = pydicom.dcmread(path)
        assert written.PixelData == original.PixelData
        assert written.file_meta.TransferSyntaxUID == (
            original.file_meta.TransferSyntaxUID
        )


class TestDuplicates:
    def test_the_same_file_twice_in_one_batch_is_stored_once(
        self, store: Store
    ) -> None:
        path = sample("CT_small.dcm")

        report = store.ingest([path, path])

        assert [o.status for o in report.outcomes] == ["stored", "duplicate"]
        assert report.outcomes[1].accession == report.outcomes[0].accession
        assert report.outcomes[1].sop_uid == report.outcomes[0].sop_uid
        assert store.case(report.accessions[0]).instance_count == 1
        assert len(stored_files(store)) == 1

    def test_the_same_file_in_a_later_import_is_a_duplicate(self, store: Store) -> None:
        first = store.ingest([sample("MR_small.dcm")])

        second = store.ingest([sample("MR_small.dcm")])

        assert second.outcomes[0].status == "duplicate"
        assert second.outcomes[0].accession == first.accessions[0]
        assert second.stored == 0 and second.duplicates == 1
        assert len(store.cases()) == 1
        assert_consistent(store)

    def test_the_same_instance_compressed_differently_is_a_duplicate(
        self, store: Store
    ) -> None:
        # 693_J2KR.dcm is 693_UNCR.dcm in JPEG 2000, with the same UIDs.
        report = store.ingest([sample("693_UNCR.dcm"), sample("693_J2KR.dcm")])

        assert [o.status for o in report.outcomes] == ["stored", "duplicate"]


class TestCases:
    def test_one_study_in_two_imports_lands_in_one_case(
        self, store: Store, tmp_path: Path
    ) -> None:
        # A04: the second run's series references the first run's localizer
        # and shares its Frame of Reference.
        study, frame_of_reference = generate_uid(), generate_uid()
        localizer = load("CT_small.dcm")
        localizer.StudyInstanceUID = study
        localizer.SeriesInstanceUID = generate_uid()
        localizer.SOPInstanceUID = generate_uid()
        localizer.FrameOfReferenceUID = frame_of_reference
        later = load("CT_small.dcm")
        later.StudyInstanceUID = study
        later.SeriesInstanceUID = generate_uid()
        later.SOPInstanceUID = generate_uid()
        later.FrameOfReferenceUID = frame_of_reference
        reference = Dataset()
        reference.ReferencedSOPClassUID = localizer.SOPClassUID
        reference.ReferencedSOPInstanceUID = localizer.SOPInstanceUID
        later.ReferencedImageSequence = Sequence([reference])

        first = store.ingest([("localizer.dcm", encoded(localizer))])
        second = store.ingest([("axial.dcm", encoded(later))])

        assert first.accessions == second.accessions
        case = store.case(first.accessions[0])
        assert len(case.series) == 2 and len(store.cases()) == 1
        stored_localizer = store.dataset(case.accession, first.outcomes[0].sop_uid)
        stored_later = store.dataset(case.accession, second.outcomes[0].sop_uid)
        assert stored_later.StudyInstanceUID == stored_localizer.StudyInstanceUID
        assert stored_later.FrameOfReferenceUID == stored_localizer.FrameOfReferenceUID
        assert stored_later.FrameOfReferenceUID != frame_of_reference
        referenced = stored_later.ReferencedImageSequence[0].ReferencedSOPInstanceUID
        assert referenced == stored_localizer.SOPInstanceUID

    def test_the_same_study_in_two_stores_gets_different_uids(
        self, tmp_path: Path
    ) -> None:
        with open_store(tmp_path / "a") as one, open_store(tmp_path / "b") as two:
            uid_one = one.ingest([sample("CT_small.dcm")]).outcomes[0].sop_uid
            uid_two = two.ingest([sample("CT_small.dcm")]).outcomes[0].sop_uid

        assert uid_one != uid_two

    def test_original_accession_is_kept_only_in_the_case_notes(
        self, store: Store, tmp_path: Path
    ) -> None:
        make_series(tmp_path / "in", 2, accession="10234567")

        report = store.ingest([tmp_path / "in"])

        case = store.case(report.accessions[0])
        assert case.notes == "Original accession: 10234567"
        path = store.instance_path(case.accession, report.outcomes[0].sop_uid)
        assert b"10234567" not in path.read_bytes()
        assert pydicom.dcmread(path).AccessionNumber == case.accession

    def test_a_later_import_with_another_accession_adds_a_notes_line(
        self, store: Store, tmp_path: Path
    ) -> None:
        study = generate_uid()
        make_series(tmp_path / "a", 1, study=study, accession="111")
        make_series(tmp_path / "b", 1, study=study, accession="222")
        store.ingest([tmp_path / "a"])

        report = store.ingest([tmp_path / "a", tmp_path / "b"])

        notes = store.case(report.accessions[0]).notes
        assert notes.splitlines() == [
            "Original accession: 111",
            "Original accession: 222",
        ]

    def test_review_reasons_from_the_anonymizer_are_kept_on_the_case(
        self, store: Store
    ) -> None:
        report = store.ingest([sample("US1_J2KR.dcm")])

        case = store.case(report.accessions[0])

        assert case.needs_review
        assert any("ultrasound" in reason.lower() for reason in case.review_reasons)

    def test_new_cases_are_private_in_the_folder_given_with_the_owner(
        self, store: Store
    ) -> None:
        report = store.ingest([sample("CT_small.dcm")], folder="  Neuro  ", owner="ana")

        case = store.case(report.accessions[0])

        assert (case.folder, case.private, case.owner) == ("Neuro", True, "ana")
        assert case.created.tzinfo is not None

    def test_an_existing_case_keeps_its_folder_on_a_later_import(
        self, store: Store, tmp_path: Path
    ) -> None:
        study = generate_uid()
        make_series(tmp_path / "a", 1, study=study)
        make_series(tmp_path / "b", 1, study=study)
        store.ingest([tmp_path / "a"], folder="Neuro")

        report = store.ingest([tmp_path / "b"], folder="Chest")

        assert store.case(report.accessions[0]).folder == "Neuro"

    def test_accessions_are_short_url_safe_and_unique(
        self, store: Store, tmp_path: Path
    ) -> None:
        for index in range(30):
            make_series(tmp_path / f"s{index}", 1, prefix=f"s{index}-")

        report = store.ingest([tmp_path])

        accessions = report.accessions
        assert len(accessions) == len(set(accessions)) == 30
        pattern = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
        assert all(pattern.fullmatch(accession) for accession in accessions)

    def test_accession_lookup_ignores_case_and_spaces(self, store: Store) -> None:
        accession = store.ingest([sample("CT_small.dcm")]).accessions[0]

        assert store.case(f" {accession.lower()} ").accession == accession


class TestSources:
    def test_a_folder_is_walked_recursively_without_hidden_files_or_dicomdir(
        self, store: Store, tmp_path: Path
    ) -> None:
        make_series(tmp_path / "in" / "a" / "b", 2)
        (tmp_path / "in" / ".hidden").mkdir()
        make_series(tmp_path / "in" / ".hidden", 1)
        (tmp_path / "in" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        (tmp_path / "in" / "DICOMDIR").write_bytes(sample("CT_small.dcm").read_bytes())

        report = store.ingest([tmp_path / "in"])

        assert [o.status for o in report.outcomes] == ["stored", "stored"]
        assert all("/a/b/slice" in o.source for o in report.outcomes)

    def test_a_zip_gives_each_member_its_own_outcome(
        self, store: Store, tmp_path: Path
    ) -> None:
        archive = tmp_path / "exam.zip"
        archive.write_bytes(
            zip_bytes(
                {
                    "exam/ct.dcm": sample("CT_small.dcm").read_bytes(),
                    "exam/mr.dcm": sample("MR_small.dcm").read_bytes(),
                    "exam/readme.txt": b"not an image",
                    "__MACOSX/exam/._ct.dcm": b"resource fork",
                }
            )
        )

        report = store.ingest([archive])

        sources = [o.source for o in report.outcomes]
        assert sources == [
            f"{archive}!exam/ct.dcm",
            f"{archive}!exam/mr.dcm",
            f"{archive}!exam/readme.txt",
        ]
        assert [o.status for o in report.outcomes] == ["stored", "stored", "skipped"]
        assert "not a DICOM file" in report.outcomes[2].reason

    def test_a_zip_inside_a_folder_and_a_zip_inside_a_zip_are_opened(
        self, store: Store, tmp_path: Path
    ) -> None:
        inner = zip_bytes({"inner/mr.dcm": sample("MR_small.dcm").read_bytes()})
        folder = tmp_path / "in"
        folder.mkdir()
        (folder / "outer.zip").write_bytes(
            zip_bytes({"ct.dcm": sample("CT_small.dcm").read_bytes(), "in.zip": inner})
        )

        report = store.ingest([folder])

        assert [o.status for o in report.outcomes] == ["stored", "stored"]
        assert report.outcomes[1].source.endswith("outer.zip!in.zip!inner/mr.dcm")

    def test_an_upload_of_bytes_and_an_uploaded_zip_are_stored(
        self, store: Store
    ) -> None:
        upload = ("ct.dcm", sample("CT_small.dcm").read_bytes())
        archive = (
            "study.zip",
            zip_bytes({"mr.dcm": sample("MR_small.dcm").read_bytes()}),
        )

        report = store.ingest([upload, archive])

        assert [(o.source, o.status) for o in report.outcomes] == [
            ("ct.dcm", "stored"),
            ("study.zip!mr.dcm", "stored"),
        ]

    def test_a_single_path_or_upload_is_taken_as_a_list_of_one(
        self, store: Store
    ) -> None:
        path = sample("CT_small.dcm")

        one = store.ingest(str(path))
        upload = store.ingest(("mr.dcm", sample("MR_small.dcm").read_bytes()))

        assert [o.status for o in one.outcomes] == ["stored"]
        assert [(o.source, o.status) for o in upload.outcomes] == [("mr.dcm", "stored")]
        assert len(store.cases()) == 2


class TestTeachingSetting:
    def test_a_new_store_is_in_teaching_mode(self, store: Store) -> None:
        assert store.teaching is True
        assert store.settings.teaching is True

    def test_a_store_without_teaching_keeps_files_byte_for_byte(
        self, tmp_path: Path
    ) -> None:
        source = sample("CT_small.dcm")
        original = load("CT_small.dcm")

        with open_store(tmp_path / "s", teaching=False) as research:
            report = research.ingest([source])
            path = research.instance_path(
                report.accessions[0], report.outcomes[0].sop_uid
            )
            case = research.case(report.accessions[0])

        assert path.read_bytes() == source.read_bytes()
        assert report.outcomes[0].sop_uid == original.SOPInstanceUID
        assert case.series[0].uid == original.SeriesInstanceUID
