"""The review queue (case A10): flagged series keep their case private until cleared.

Inputs are real pydicom-data files with the elements of each case set on
them; what is checked is the index and the files the store wrote.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from sqlalchemy import delete, update

from claripacs_jupyter.errors import InvalidInputError, NotFoundError
from claripacs_jupyter.store import Store, open_store
from claripacs_jupyter.store.review import AlreadyClearedError, ReviewPendingError
from claripacs_jupyter.store.schema import (
    SCHEMA_VERSION,
    cases,
    series_reviews,
    settings,
)
from tests.store.builders import assert_consistent, encoded, load

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def _ultrasound_burned_in() -> pydicom.Dataset:
    ds = load("US1_J2KR.dcm")
    ds.BurnedInAnnotation = "YES"
    return ds


def _screen_capture() -> pydicom.Dataset:
    ds = load("CT_small.dcm")
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    return ds


def _dose_screen() -> pydicom.Dataset:
    ds = load("CT_small.dcm")
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    ds.SeriesDescription = "Dose Report"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    return ds


FLAGGED = {
    "burned-in ultrasound": (_ultrasound_burned_in, "Burned In Annotation"),
    "screen capture": (_screen_capture, "DERIVED\\SECONDARY"),
    "dose screen": (_dose_screen, "dose report screen"),
}


def _ingest(store: Store, tmp_path: Path, ds: pydicom.Dataset, name: str) -> str:
    path = tmp_path / f"{name}.dcm"
    path.write_bytes(encoded(ds))
    report = store.ingest([path])
    assert report.stored == 1, report.outcomes
    return report.accessions[0]


@pytest.mark.parametrize("kind", FLAGGED)
def test_a_flagged_series_is_held_private_and_says_why(
    store: Store, tmp_path: Path, kind: str
) -> None:
    build, reason = FLAGGED[kind]
    accession = _ingest(store, tmp_path, build(), "flagged")

    case = store.case(accession)
    queue = store.review_queue()
    written = [pydicom.dcmread(p) for p in store.path.rglob("*.dcm")]

    assert case.private and case.needs_review
    assert [(r.accession, r.series_uid) for r in queue] == [
        (accession, case.series[0].uid)
    ]
    assert any(reason in text for text in queue[0].reasons)
    assert queue[0].cleared_by is None
    assert [ds.get("PatientIdentityRemoved") for ds in written] == [None]
    with pytest.raises(ReviewPendingError, match="stays private"):
        store.update_case(accession, private=False)
    assert store.case(accession).private


def test_a_case_goes_public_once_each_flagged_series_is_cleared(
    store: Store, tmp_path: Path
) -> None:
    first = _screen_capture()
    second = _screen_capture()
    second.StudyInstanceUID = first.StudyInstanceUID
    accession = _ingest(store, tmp_path, first, "a")
    _ingest(store, tmp_path, second, "b")
    flagged = [r.series_uid for r in store.reviews(accession)]

    store.mark_reviewed(accession, flagged[0], by="Dr Ana Teacher")
    with pytest.raises(ReviewPendingError):
        store.update_case(accession, private=False)
    cleared = store.mark_reviewed(accession, flagged[1], by="Dr Ben", masked=True)
    public = store.update_case(accession, private=False)

    assert len(flagged) == 2
    assert [(r.status, r.cleared_by) for r in store.reviews(accession)] == [
        ("reviewed", "Dr Ana Teacher"),
        ("masked", "Dr Ben"),
    ]
    assert cleared.cleared_at is not None
    assert store.review_queue() == []
    assert not public.private and not public.needs_review
    assert public.review_reasons  # the history of why it was flagged stays


def test_a_new_flagged_image_puts_a_cleared_series_back_in_the_queue(
    store: Store, tmp_path: Path
) -> None:
    first = _screen_capture()
    accession = _ingest(store, tmp_path, first, "a")
    uid = store.reviews(accession)[0].series_uid
    store.mark_reviewed(accession, uid, by="Dr Ana")
    store.update_case(accession, private=False)
    later = _screen_capture()
    later.StudyInstanceUID, later.SeriesInstanceUID = (
        first.StudyInstanceUID,
        first.SeriesInstanceUID,
    )

    _ingest(store, tmp_path, later, "b")
    again = store.reviews(accession)

    assert [(r.series_uid, r.status, r.cleared_by) for r in again] == [
        (uid, "pending", None)
    ]
    assert store.case(accession).private


def test_a_clean_case_has_no_flag_and_may_go_public(
    store: Store, tmp_path: Path
) -> None:
    accession = _ingest(store, tmp_path, load("CT_small.dcm"), "ct")

    public = store.update_case(accession, private=False)

    assert store.reviews(accession) == []
    assert not public.private and not public.needs_review


def test_clearing_an_unknown_series_or_without_a_name_changes_nothing(
    store: Store, tmp_path: Path
) -> None:
    accession = _ingest(store, tmp_path, _screen_capture(), "a")
    uid = store.reviews(accession)[0].series_uid

    with pytest.raises(NotFoundError, match=r"has no series \.\.\.1\.2\.3\.4 awaiting"):
        store.mark_reviewed(accession, "1.2.3.4", by="Dr Ana")
    with pytest.raises(InvalidInputError, match="say who reviewed"):
        store.mark_reviewed(accession, uid, by="  ")
    with pytest.raises(InvalidInputError, match="printable"):
        store.mark_reviewed(accession, uid, by="Dr\x00Ana\n")
    with pytest.raises(NotFoundError, match="^no case NOSUCHCASE$"):
        store.mark_reviewed("NOSUCHCASE", uid, by="Dr Ana")

    assert [r.status for r in store.reviews(accession)] == ["pending"]
    assert_consistent(store)


def test_a_version_1_index_is_migrated_with_its_flagged_cases_in_the_queue(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "store")
    accession = _ingest(store, tmp_path, _screen_capture(), "a")
    clean = _ingest(store, tmp_path, load("CT_small.dcm"), "ct")
    # what version 1 left: reasons on the case, no review rows
    with store._engine.begin() as conn:
        conn.execute(delete(series_reviews))
        conn.execute(update(cases).values(private=False))
        conn.execute(
            update(settings).where(settings.c.key == "schema_version").values(value=1)
        )
    store.close()

    reopened = open_store(tmp_path / "store")
    queue = reopened.review_queue()
    with reopened._engine.connect() as conn:
        version = conn.execute(
            settings.select().where(settings.c.key == "schema_version")
        ).one()

    assert [r.accession for r in queue] == [accession]
    assert reopened.case(accession).private and reopened.case(accession).needs_review
    assert not reopened.case(clean).needs_review
    assert version.value == SCHEMA_VERSION == 3
    reopened.close()


def test_a_cleared_review_keeps_who_cleared_it(store: Store, tmp_path: Path) -> None:
    accession = _ingest(store, tmp_path, _screen_capture(), "a")
    uid = store.reviews(accession)[0].series_uid
    first = store.mark_reviewed(accession, uid, by="Dr Ana")

    with pytest.raises(AlreadyClearedError, match="cleared as reviewed by Dr Ana"):
        store.mark_reviewed(accession, uid, by="Dr Ben", masked=True)

    assert store.reviews(accession) == [first]
    assert_consistent(store)
