"""Case detail and order, search, folders, update, delete, instance access."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from claripacs_jupyter.errors import InvalidInputError, NotFoundError
from claripacs_jupyter.store import Store

from .builders import assert_consistent, load, make_series, sample, stored_files


class TestCaseDetail:
    def test_instances_are_sorted_along_the_slice_normal(
        self, store: Store, tmp_path: Path
    ) -> None:
        # Instance numbers disagree with the positions: positions win.
        make_series(
            tmp_path / "in", 4, numbers=[4, 1, 3, 2], positions=[10.0, -5.0, 0.0, 20.0]
        )

        case = store.case(store.ingest([tmp_path / "in"]).accessions[0])

        instances = case.series[0].instances
        assert [i.position for i in instances] == [-5.0, 0.0, 10.0, 20.0]
        assert [i.number for i in instances] == [1, 3, 4, 2]
        assert [i.sort_key for i in instances] == [0, 1, 2, 3]

    def test_without_positions_instances_are_sorted_by_number(
        self, store: Store, tmp_path: Path
    ) -> None:
        paths = make_series(tmp_path / "in", 3, numbers=[3, 1, 2])
        for path in paths:
            ds = pydicom.dcmread(path)
            del ds.ImagePositionPatient
            ds.save_as(path)

        case = store.case(store.ingest([tmp_path / "in"]).accessions[0])

        instances = case.series[0].instances
        assert [i.number for i in instances] == [1, 2, 3]
        assert all(i.position is None for i in instances)

    def test_case_to_dict_is_json_safe_with_series_and_instances(
        self, store: Store
    ) -> None:
        case = store.case(store.ingest([sample("CT_small.dcm")]).accessions[0])

        data = json.loads(json.dumps(case.to_dict()))

        assert data["accession"] == case.accession
        assert data["series"][0]["instances"][0]["rows"] == 128
        assert "series" not in case.to_dict(with_series=False)

    def test_an_unknown_accession_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.case("NOPE2345")
        with pytest.raises(NotFoundError):
            store.case("../../etc")


class TestSearch:
    @pytest.fixture
    def cases(self, store: Store) -> dict[str, str]:
        made = {}
        for name, folder in (("CT_small.dcm", "Chest"), ("MR_small.dcm", "Neuro")):
            made[name] = store.ingest([sample(name)], folder=folder).accessions[0]
        store.update_case(made["CT_small.dcm"], description="Fracture of T7, 100%")
        store.update_case(made["MR_small.dcm"], notes="Ödem im Marklager_links")
        return made

    def test_search_matches_description_case_insensitively(
        self, store: Store, cases: dict[str, str]
    ) -> None:
        found = store.search("FRACTURE")

        assert [c.accession for c in found] == [cases["CT_small.dcm"]]

    def test_search_matches_folder_and_accession(
        self, store: Store, cases: dict[str, str]
    ) -> None:
        accession = cases["MR_small.dcm"]

        assert [c.accession for c in store.search("neuro")] == [accession]
        assert [c.accession for c in store.search(accession.lower())] == [accession]

    def test_search_folds_case_beyond_ascii(
        self, store: Store, cases: dict[str, str]
    ) -> None:
        assert [c.accession for c in store.search("ödem")] == [cases["MR_small.dcm"]]

    def test_every_word_must_match_somewhere(
        self, store: Store, cases: dict[str, str]
    ) -> None:
        assert [c.accession for c in store.search("chest t7")] == [
            cases["CT_small.dcm"]
        ]
        assert store.search("chest ödem") == []

    def test_like_wildcards_in_the_text_are_literal(
        self, store: Store, cases: dict[str, str]
    ) -> None:
        assert [c.accession for c in store.search("100%")] == [cases["CT_small.dcm"]]
        assert [c.accession for c in store.search("r_l")] == [cases["MR_small.dcm"]]
        # As wildcards these would match "100%" and "Mark".
        assert store.search("0%0") == []
        assert store.search("a_k") == []

    def test_empty_text_lists_every_case(
        self, store: Store, cases: dict[str, str]
    ) -> None:
        assert len(store.search("  ")) == 2


class TestFolders:
    def test_folders_count_their_cases_and_list_no_folder_as_empty(
        self, store: Store, tmp_path: Path
    ) -> None:
        for index, folder in enumerate(["Neuro", "chest", "Neuro", None]):
            make_series(tmp_path / str(index), 1, prefix=f"s{index}-")
            store.ingest([tmp_path / str(index)], folder=folder)

        assert store.folders() == [("", 1), ("chest", 1), ("Neuro", 2)]
        assert len(store.cases("Neuro")) == 2
        assert len(store.cases("")) == 1
        assert len(store.cases()) == 4

    def test_a_folder_name_with_control_characters_is_refused(
        self, store: Store
    ) -> None:
        with pytest.raises(InvalidInputError, match="control characters"):
            store.ingest([sample("CT_small.dcm")], folder="a\x00b")


class TestUpdate:
    def test_update_changes_the_editable_fields(self, store: Store) -> None:
        accession = store.ingest([sample("CT_small.dcm")]).accessions[0]

        case = store.update_case(
            accession,
            description=" Teaching: vertebra ",
            notes="line 1\nline 2",
            folder="MSK",
            private=False,
        )

        assert (case.description, case.notes, case.folder, case.private) == (
            "Teaching: vertebra",
            "line 1\nline 2",
            "MSK",
            False,
        )
        assert store.case(accession).folder == "MSK"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"accession": "X"}, "cannot change 'accession'"),
            ({"private": "yes"}, "private must be True or False"),
            ({"notes": 3}, "notes must be text"),
        ],
    )
    def test_update_refuses_unknown_fields_and_wrong_kinds(
        self, store: Store, fields: dict[str, object], message: str
    ) -> None:
        accession = store.ingest([sample("CT_small.dcm")]).accessions[0]

        with pytest.raises(InvalidInputError, match=message):
            store.update_case(accession, **fields)

    def test_update_of_an_unknown_case_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.update_case("ABCDEFGH", notes="x")


class TestDelete:
    def test_delete_removes_rows_and_files_of_that_case_only(
        self, store: Store, tmp_path: Path
    ) -> None:
        make_series(tmp_path / "a", 3, prefix="a")
        make_series(tmp_path / "b", 2, prefix="b")
        gone = store.ingest([tmp_path / "a"]).accessions[0]
        kept = store.ingest([tmp_path / "b"]).accessions[0]

        store.delete(gone)

        assert [c.accession for c in store.cases()] == [kept]
        with pytest.raises(NotFoundError):
            store.case(gone)
        assert len(stored_files(store)) == 2
        assert len(list((store.path / "dicom").iterdir())) == 1  # study folder gone
        assert_consistent(store)

    def test_a_deleted_study_can_be_imported_again(self, store: Store) -> None:
        first = store.ingest([sample("CT_small.dcm")]).accessions[0]
        store.delete(first)

        again = store.ingest([sample("CT_small.dcm")])

        assert again.outcomes[0].status == "stored"
        assert_consistent(store)

    def test_delete_of_an_unknown_case_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.delete("ABCDEFGH")


class TestInstances:
    def test_dataset_reads_the_stored_instance(self, store: Store) -> None:
        report = store.ingest([sample("CT_small.dcm")])
        accession, sop = report.accessions[0], report.outcomes[0].sop_uid

        ds = store.dataset(accession, sop)

        assert ds.SOPInstanceUID == sop
        assert ds.AccessionNumber == accession

    def test_an_instance_of_another_case_is_not_found(
        self, store: Store, tmp_path: Path
    ) -> None:
        one = store.ingest([sample("CT_small.dcm")])
        two = store.ingest([sample("MR_small.dcm")])

        with pytest.raises(NotFoundError):
            store.instance_path(two.accessions[0], one.outcomes[0].sop_uid)

    def test_frame_count_comes_from_the_index_for_that_case_only(
        self, store: Store
    ) -> None:
        multi = store.ingest([sample("emri_small.dcm")])
        other = store.ingest([sample("CT_small.dcm")])
        accession, sop = multi.accessions[0], multi.outcomes[0].sop_uid

        frames = store.frame_count(accession, sop)

        assert frames == 10
        with pytest.raises(NotFoundError):
            store.frame_count(other.accessions[0], sop)

    def test_image_info_is_completed_once_from_the_pixels(self, store: Store) -> None:
        report = store.ingest([sample("CT_small.dcm")])
        accession, sop = report.accessions[0], report.outcomes[0].sop_uid
        kept = store.case(accession).series[0].instances[0].image

        info = store.image_info(accession, sop)

        assert kept["value_range"] is None  # ingest decoded nothing
        assert info["value_range"] == [-896.0, 1167.0]  # R14: the real data range
        assert info["rows"] == kept["rows"] == 128
        assert store.case(accession).series[0].instances[0].image == info

    def test_image_infos_of_a_case_equal_image_info_of_each_instance(
        self, store: Store
    ) -> None:
        report = store.ingest([sample("CT_small.dcm"), sample("MR_small.dcm")])
        accession = report.accessions[0]
        sops = [i.uid for s in store.case(accession).series for i in s.instances]

        infos = store.image_infos(accession)

        assert sorted(infos) == sorted(sops)
        assert infos[sops[0]]["value_range"] is not None  # completed on the way
        assert infos == {sop: store.image_info(accession, sop) for sop in sops}
        with pytest.raises(NotFoundError):
            store.image_infos("NO-SUCH-CASE")

    def test_image_info_keeps_the_per_frame_facts_of_enhanced_files(
        self, store: Store, tmp_path: Path
    ) -> None:
        path = tmp_path / "enhanced.dcm"
        pydicom.dcmwrite(path, _enhanced_with_two_windows(), enforce_file_format=True)
        report = store.ingest([path])
        accession, sop = report.accessions[0], report.outcomes[0].sop_uid
        kept = store.case(accession).series[0].instances[0].image

        info = store.image_info(accession, sop)

        assert kept["frames_info"] == info["frames_info"]
        assert [entry["windows"][0]["center"] for entry in info["frames_info"]] == [
            40.0 if index % 2 == 0 else 300.0 for index in range(10)
        ]
        assert [entry["position"] for entry in info["frames_info"]] == [
            [0.0, 0.0, 2.0 * index] for index in range(10)
        ]
        assert set(info["frames_info"][0]) == {"position", "windows"}
        assert info["frame_positions"][3] == [0.0, 0.0, 6.0]
        assert store.case(accession).series[0].instances[0].image == info

    def test_a_series_of_another_study_is_refused(
        self, store: Store, tmp_path: Path
    ) -> None:
        shared = generate_uid()
        make_series(tmp_path / "a", 1, series=shared, prefix="a")
        make_series(tmp_path / "b", 1, series=shared, prefix="b")

        report = store.ingest([tmp_path / "a", tmp_path / "b"])

        assert [o.status for o in report.outcomes] == ["stored", "skipped"]
        assert "already belongs to case" in report.outcomes[1].reason


def _enhanced_with_two_windows() -> Dataset:
    """The real enhanced MR emri_small.dcm with per-frame positions and windows.

    Even frames have window 40/400 and odd ones 300/600; frame i lies at z = 2i.
    """
    ds = load("emri_small.dcm")
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    groups = []
    for index in range(10):
        plane, voi, group = Dataset(), Dataset(), Dataset()
        plane.ImagePositionPatient = [0, 0, 2 * index]
        voi.WindowCenter, voi.WindowWidth = (40, 400) if index % 2 == 0 else (300, 600)
        group.PlanePositionSequence = [plane]
        group.FrameVOILUTSequence = [voi]
        groups.append(group)
    ds.PerFrameFunctionalGroupsSequence = groups
    return ds
