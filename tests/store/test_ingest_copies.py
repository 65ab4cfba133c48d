"""Ingest writes the anonymized header and copies the source's pixel data element.

The stored file must be the one writing the whole anonymized dataset with
pydicom gives (the way ingest wrote files before it copied pixel data): the
tests compare the two byte for byte on real files of every encoding.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.dicom import frames, read, read_header
from claripacs_jupyter.store import Store, open_store
from claripacs_jupyter.store import ingest as ingest_module
from claripacs_jupyter.store.ingest import Batch
from claripacs_jupyter.store.sources import Unit

from .builders import (
    assert_consistent,
    encoded,
    make_series,
    sample,
    zip_bytes,
)

#: Real files of each kind: native explicit little endian (a 512 x 512 CT, an
#: MR with trailing padding, a large radiograph), JPEG baseline and extended,
#: JPEG 2000, RLE, implicit VR, explicit big endian, a multi-frame JPEG.
_FILES = [
    "693_UNCR.dcm",
    "MR_small.dcm",
    "RG3_UNCR.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "JPEG-lossy.dcm",
    "US1_J2KR.dcm",
    "MR_small_RLE.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "color3d_jpeg_baseline.dcm",
]


def _whole_dataset_written(store: Store, source: Path | bytes, accession: str) -> bytes:
    """The file of the other path: read whole, anonymize, write with pydicom."""
    result = anonymize_teaching(read(source), key=store._key, accession=accession)
    return encoded(result.dataset)


def _no_whole_read(*args: object, **kwargs: object) -> Dataset:
    raise AssertionError("ingest read a whole file instead of copying its pixels")


def _stored_bytes(store: Store, accession: str | None, sop_uid: str | None) -> bytes:
    assert accession is not None and sop_uid is not None
    return store.instance_path(accession, sop_uid).read_bytes()


class TestByteIdentity:
    @pytest.mark.parametrize("name", _FILES)
    def test_the_stored_file_is_the_whole_dataset_written_by_pydicom(
        self, store: Store, name: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(ingest_module, "read", _no_whole_read)

        outcome = store.ingest([sample(name)]).outcomes[0]
        monkeypatch.undo()

        assert outcome.status == "stored", outcome.reason
        assert outcome.accession is not None
        expected = _whole_dataset_written(store, sample(name), outcome.accession)
        assert _stored_bytes(store, outcome.accession, outcome.sop_uid) == expected

    def test_uploads_and_zip_members_are_copied_from_memory_alike(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        upload = sample("US1_J2KR.dcm").read_bytes()
        member = sample("MR_small.dcm").read_bytes()
        monkeypatch.setattr(ingest_module, "read", _no_whole_read)

        report = store.ingest(
            [("us.dcm", upload), ("mr.zip", zip_bytes({"mr.dcm": member}))]
        )
        monkeypatch.undo()

        assert [o.status for o in report.outcomes] == ["stored", "stored"]
        for outcome, data in zip(report.outcomes, (upload, member), strict=True):
            assert outcome.accession is not None
            expected = _whole_dataset_written(store, data, outcome.accession)
            assert _stored_bytes(store, outcome.accession, outcome.sop_uid) == expected

    def test_a_value_padded_beyond_one_byte_keeps_the_sources_bytes(
        self, store: Store
    ) -> None:
        # SC_rgb_gdcm_KY.dcm pads (0008,0008) Image Type with more spaces than
        # one. The copy keeps the value as received; pydicom, writing a value
        # it converted, pads it to even length only. Same values, same pixels.
        source = sample("SC_rgb_gdcm_KY.dcm")

        outcome = store.ingest([source]).outcomes[0]

        assert outcome.accession is not None
        stored = _stored_bytes(store, outcome.accession, outcome.sop_uid)
        other = _whole_dataset_written(store, source, outcome.accession)
        assert stored != other
        ours, theirs = read(stored), read(other)
        assert [e.tag for e in ours] == [e.tag for e in theirs]
        for elem in theirs:
            if elem.tag != 0x7FE00010:
                assert ours[elem.tag].value == elem.value, elem.tag
        assert ours.file_meta == theirs.file_meta
        assert np.array_equal(frames(ours), frames(theirs))
        image_type = b"\x08\x00\x08\x00CS\x1a\x00DERIVED \\SECONDARY\\OTHER  "
        assert image_type in source.read_bytes()
        assert image_type in stored


class TestOtherPaths:
    def test_a_deflated_file_is_read_whole_and_stored(self, store: Store) -> None:
        source = sample("image_dfl.dcm")
        assert read_header(source) is None

        outcome = store.ingest([source]).outcomes[0]

        assert outcome.status == "stored", outcome.reason
        assert outcome.accession is not None
        expected = _whole_dataset_written(store, source, outcome.accession)
        assert _stored_bytes(store, outcome.accession, outcome.sop_uid) == expected

    def test_a_store_without_teaching_copies_the_whole_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        source = sample("693_UNCR.dcm")
        monkeypatch.setattr(ingest_module, "read", _no_whole_read)

        with open_store(tmp_path / "s", teaching=False) as research:
            outcome = research.ingest([source]).outcomes[0]
            stored = _stored_bytes(research, outcome.accession, outcome.sop_uid)

        assert stored == source.read_bytes()

    def test_a_file_changed_before_its_pixels_are_copied_is_skipped(
        self, store: Store, tmp_path: Path
    ) -> None:
        [changing, steady] = make_series(tmp_path / "in", 2)
        # Inputs wait in the batch's queue until their chunk is stored, so the
        # change lands between the header read and the copy of the pixels.
        with store._lock.hold():
            batch = Batch(store, folder="", owner=None)
            first = batch.add(Unit(str(changing), path=changing))
            second = batch.add(Unit(str(steady), path=steady))
            changing.write_bytes(changing.read_bytes()[:-64])
            batch.commit()

        assert first.status == "skipped"
        assert first.reason is not None and "changed" in first.reason
        assert second.status == "stored"
        assert_consistent(store)


class TestChunks:
    def test_duplicates_are_found_within_and_across_chunks(
        self, store: Store, tmp_path: Path
    ) -> None:
        # More inputs than one chunk of the batch (64), the first again last.
        paths = make_series(tmp_path / "series", 70)

        first = store.ingest([*paths, paths[0]])
        again = store.ingest([paths[3], paths[69]])

        statuses = [o.status for o in first.outcomes]
        assert statuses == ["stored"] * 70 + ["duplicate"]
        assert first.outcomes[70].sop_uid == first.outcomes[0].sop_uid
        assert [o.status for o in again.outcomes] == ["duplicate", "duplicate"]
        assert len(store.case(first.accessions[0]).series[0].instances) == 70
        assert_consistent(store)

    def test_a_bad_input_in_a_chunk_costs_only_itself(
        self, store: Store, tmp_path: Path
    ) -> None:
        paths = make_series(tmp_path / "series", 3)
        bad = tmp_path / "notes.dcm"
        bad.write_text("not an image\n" * 20)

        report = store.ingest([paths[0], bad, paths[1], paths[2]])

        assert [o.status for o in report.outcomes] == [
            "stored",
            "skipped",
            "stored",
            "stored",
        ]
        assert report.outcomes[1].reason is not None
        assert "not a DICOM file" in report.outcomes[1].reason
        assert_consistent(store)


def test_the_stored_file_decodes_to_the_source_pixels(store: Store) -> None:
    source = sample("693_UNCR.dcm")

    outcome = store.ingest([source]).outcomes[0]

    assert outcome.accession is not None and outcome.sop_uid is not None
    stored = pydicom.dcmread(io.BytesIO(_stored_bytes(store, *_ids(outcome))))
    assert np.array_equal(stored.pixel_array, pydicom.dcmread(source).pixel_array)


def _ids(outcome: object) -> tuple[str | None, str | None]:
    return outcome.accession, outcome.sop_uid  # type: ignore[attr-defined]


class TestWritesInFlight:
    """How many files wait for the writing threads."""

    def test_a_chunk_of_header_reads_is_handed_over_without_waiting(self) -> None:
        # Storing a chunk must not wait for the disk: the writers drain it
        # while the next chunk is read.
        assert ingest_module._IN_FLIGHT > ingest_module._CHUNK

    def test_sources_held_in_memory_wait_in_small_numbers(
        self, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        paths = make_series(tmp_path / "series", 3 * ingest_module._IN_FLIGHT_HELD)
        sources = [(path.name, path.read_bytes()) for path in paths]
        pending: list[object] = []
        most_pending = 0
        submit = Batch._submit

        def counting_submit(self: Batch, *args: object, held: bool) -> object:
            nonlocal most_pending
            future = submit(self, *args, held=held)  # type: ignore[arg-type]
            if held:
                pending.append(future)
                waiting = sum(not f.done() for f in pending)  # type: ignore[attr-defined]
                most_pending = max(most_pending, waiting)
            return future

        monkeypatch.setattr(Batch, "_submit", counting_submit)

        report = store.ingest(sources)

        assert report.stored == len(sources)
        assert len(pending) == len(sources)
        assert 1 <= most_pending <= ingest_module._IN_FLIGHT_HELD
        assert_consistent(store)
