"""Store.stacks: series assembly over what the index keeps of real files."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from claripacs_jupyter.errors import NotFoundError
from claripacs_jupyter.store import Store

from .builders import load, make_series, sample

SAGITTAL = [0, 1, 0, 0, 0, -1]


def _rewrite(path: Path, change: str) -> None:
    """Give one slice another orientation ("sagittal") or half its size ("small")."""
    ds = pydicom.dcmread(path)
    if change == "sagittal":
        ds.ImageOrientationPatient = SAGITTAL
    else:
        half = ds.pixel_array[::2, ::2].copy()
        ds.Rows, ds.Columns = half.shape
        ds.PixelData = half.tobytes()
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def _ingest_one_case(store: Store, folder: Path) -> str:
    return store.ingest([folder]).accessions[0]


class TestStacks:
    def test_a_regular_series_is_one_stack_along_the_normal(
        self, store: Store, tmp_path: Path
    ) -> None:
        make_series(tmp_path / "in", 4, numbers=[4, 1, 3, 2], positions=[15, 0, 5, 10])
        accession = _ingest_one_case(store, tmp_path / "in")
        case = store.case(accession)

        stacks = store.stacks(accession)

        (stack,) = stacks[case.series[0].uid]
        assert [uid for uid, _ in stack.frames] == [
            i.uid for i in case.series[0].instances
        ]
        assert stack.positions == [0, 5, 10, 15]
        assert (stack.rows, stack.columns, stack.spacing) == (128, 128, 5)
        assert stack.warnings == []

    def test_a_missing_slice_is_a_gap_warning(
        self, store: Store, tmp_path: Path
    ) -> None:
        make_series(tmp_path / "in", 5, positions=[0, 5, 10, 25, 30])
        accession = _ingest_one_case(store, tmp_path / "in")

        (stacks,) = store.stacks(accession).values()

        (gap,) = stacks[0].warnings
        assert gap["kind"] == "gap"
        assert (gap["after"], gap["before"], gap["distance"]) == (2, 3, 15)
        assert gap["missing"] == 2

    def test_two_slices_at_one_position_are_a_duplicate_warning(
        self, store: Store, tmp_path: Path
    ) -> None:
        make_series(tmp_path / "in", 4, positions=[0, 5, 5, 10])
        accession = _ingest_one_case(store, tmp_path / "in")

        (stacks,) = store.stacks(accession).values()

        assert len(stacks[0].frames) == 4
        (duplicate,) = stacks[0].warnings
        assert duplicate["kind"] == "duplicate"
        assert duplicate["indexes"] == [1, 2]

    def test_two_orientations_in_one_series_are_split(
        self, store: Store, tmp_path: Path
    ) -> None:
        paths = make_series(tmp_path / "in", 5)
        for path in paths[3:]:
            _rewrite(path, "sagittal")
        accession = _ingest_one_case(store, tmp_path / "in")

        (stacks,) = store.stacks(accession).values()

        assert [len(stack.frames) for stack in stacks] == [3, 2]
        assert stacks[1].orientation == tuple(SAGITTAL)
        assert all(s.warnings[0]["reasons"] == ["orientation"] for s in stacks)

    def test_two_image_sizes_in_one_series_are_split(
        self, store: Store, tmp_path: Path
    ) -> None:
        paths = make_series(tmp_path / "in", 4)
        _rewrite(paths[1], "small")
        accession = _ingest_one_case(store, tmp_path / "in")

        (stacks,) = store.stacks(accession).values()

        assert [(s.rows, len(s.frames)) for s in stacks] == [(128, 3), (64, 1)]
        assert stacks[0].warnings[0]["kind"] == "split"
        assert stacks[0].warnings[0]["reasons"] == ["size"]
        assert stacks[0].warnings[1]["kind"] == "gap"

    def test_a_multi_frame_file_is_one_stack_of_its_frames(
        self, store: Store, tmp_path: Path
    ) -> None:
        accession = store.ingest([sample("emri_small.dcm")]).accessions[0]

        (stacks,) = store.stacks(accession).values()

        (stack,) = stacks
        assert [frame for _, frame in stack.frames] == list(range(10))
        assert stack.spacing is None
        assert stack.warnings == []

    def test_enhanced_frames_follow_their_per_frame_positions(
        self, store: Store, tmp_path: Path
    ) -> None:
        ds = load("emri_small.dcm")
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        heights = [9, 0, 1, 2, 3, 4, 5, 6, 7, 8]
        ds.SharedFunctionalGroupsSequence = [_orientation_group()]
        ds.PerFrameFunctionalGroupsSequence = [
            _position_group(z * 2.0) for z in heights
        ]
        path = tmp_path / "enhanced.dcm"
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        accession = store.ingest([path]).accessions[0]
        (sop,) = [i.uid for i in store.case(accession).series[0].instances]
        store.image_info(accession, sop)  # completing the info keeps the positions

        (stacks,) = store.stacks(accession).values()

        (stack,) = stacks
        assert [frame for _, frame in stack.frames] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
        assert stack.spacing == 2
        assert stack.warnings == []

    def test_an_unknown_case_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.stacks("NOSUCH")


def _orientation_group() -> Dataset:
    plane = Dataset()
    plane.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    group = Dataset()
    group.PlaneOrientationSequence = [plane]
    return group


def _position_group(z: float) -> Dataset:
    plane = Dataset()
    plane.ImagePositionPatient = [0, 0, z]
    group = Dataset()
    group.PlanePositionSequence = [plane]
    return group
