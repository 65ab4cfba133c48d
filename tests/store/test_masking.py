"""Masking a stored series: new files, the index follows, the review is cleared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import pixel_array

from claripacs_jupyter.anonymize.masking import DeviceMask, Rect
from claripacs_jupyter.errors import InvalidInputError, NotFoundError
from claripacs_jupyter.store import Store
from tests.store.builders import assert_consistent, encoded, load

BANNER = Rect(x=0, y=0, width=640, height=40)
FRAMES = 3


def ultrasound_cine(folder: Path) -> Path:
    """A three-frame RGB ultrasound cine made from pydicom-data's US1_UNCR.dcm."""
    ds = load("US1_UNCR.dcm")
    frame = pixel_array(ds)
    frames = np.stack([np.roll(frame, 7 * k, axis=1) for k in range(FRAMES)])
    ds.NumberOfFrames = FRAMES
    ds.PixelData = frames.tobytes()
    path = folder / "cine.dcm"
    path.write_bytes(encoded(ds))
    return path


def test_a_masked_cine_is_black_in_the_box_on_every_frame_and_cleared(
    store: Store, tmp_path: Path
) -> None:
    accession = store.ingest([ultrasound_cine(tmp_path)]).accessions[0]
    before_case = store.case(accession)
    (instance,) = before_case.series[0].instances
    old_path = store.instance_path(accession, instance.uid)
    before = pixel_array(pydicom.dcmread(old_path))

    masked = store.mask_series(
        accession, before_case.series[0].uid, [BANNER], by="Dr Ana Teacher"
    )
    case = store.case(accession)
    (new,) = case.series[0].instances
    after = pixel_array(store.dataset(accession, new.uid))

    assert masked == 1
    assert new.uid != instance.uid and not old_path.exists()
    assert after.shape == before.shape == (FRAMES, 480, 640, 3)
    assert (after[:, :40] == 0).all()
    assert np.array_equal(after[:, 40:], before[:, 40:])
    assert [(r.status, r.cleared_by) for r in store.reviews(accession)] == [
        ("masked", "Dr Ana Teacher")
    ]
    assert not case.needs_review
    assert store.image_info(accession, new.uid)["frames"] == FRAMES
    assert_consistent(store)


def test_a_device_layout_masks_the_series_of_that_scanner(
    store: Store, tmp_path: Path
) -> None:
    accession = store.ingest([ultrasound_cine(tmp_path)]).accessions[0]
    series_uid = store.case(accession).series[0].uid
    ds = store.dataset(accession, store.case(accession).series[0].instances[0].uid)
    layout = DeviceMask(
        str(ds.get("Manufacturer", "")),
        str(ds.get("ManufacturerModelName", "")),
        480,
        640,
        (BANNER,),
    )

    store.mask_series(accession, series_uid, device_masks=[layout], by="Dr Ben")
    (new,) = store.case(accession).series[0].instances

    assert (pixel_array(store.dataset(accession, new.uid))[:, :40] == 0).all()


def test_masking_nothing_or_an_unknown_series_changes_nothing(
    store: Store, tmp_path: Path
) -> None:
    accession = store.ingest([ultrasound_cine(tmp_path)]).accessions[0]
    series_uid = store.case(accession).series[0].uid
    other_scanner = DeviceMask("Nobody", "X", 480, 640, (BANNER,))

    with pytest.raises(InvalidInputError, match="no rectangle applies"):
        store.mask_series(accession, series_uid, device_masks=[other_scanner], by="A")
    with pytest.raises(NotFoundError, match="has no series '1.2.3'"):
        store.mask_series(accession, "1.2.3", [BANNER], by="A")
    with pytest.raises(NotFoundError, match="no case"):
        store.mask_series("NOPE1234", series_uid, [BANNER], by="A")
    with pytest.raises(NotFoundError, match="no case"):
        store.reviews("NOPE1234")
    with pytest.raises(InvalidInputError, match="say who masked"):
        store.mask_series(accession, series_uid, [BANNER], by=" ")

    assert [r.status for r in store.reviews(accession)] == ["pending"]
    assert_consistent(store)


def test_a_rectangle_beyond_the_smaller_images_of_a_series_masks_the_larger(
    store: Store, tmp_path: Path
) -> None:
    large = load("CT_small.dcm")  # 128 x 128
    small = load("CT_small.dcm")
    small.SOPInstanceUID = pydicom.uid.generate_uid()
    small.Rows = small.Columns = 64
    small.PixelData = pixel_array(large)[:64, :64].tobytes()
    for name, ds in (("large.dcm", large), ("small.dcm", small)):
        (tmp_path / name).write_bytes(encoded(ds))
    accession = store.ingest([tmp_path]).accessions[0]
    series_uid = store.case(accession).series[0].uid

    masked = store.mask_series(accession, series_uid, [(100, 100, 10, 10)], by="A")
    by_rows = {
        int(ds.Rows): pixel_array(ds)
        for ds in (
            store.dataset(accession, instance.uid)
            for instance in store.case(accession).series[0].instances
        )
    }

    assert masked == 1
    assert (by_rows[128][100:110, 100:110] == pixel_array(large).min()).all()
    assert np.array_equal(by_rows[64], pixel_array(large)[:64, :64])
    assert_consistent(store)


def test_the_unmasked_file_imported_again_stays_out(
    store: Store, tmp_path: Path
) -> None:
    cine = ultrasound_cine(tmp_path)
    accession = store.ingest([cine]).accessions[0]
    series_uid = store.case(accession).series[0].uid
    store.mask_series(accession, series_uid, [BANNER], by="Dr Ana")

    again = store.ingest([cine])
    (instance,) = store.case(accession).series[0].instances
    top = pixel_array(store.dataset(accession, instance.uid))[:, :40]

    assert [o.status for o in again.outcomes] == ["duplicate"]
    assert again.outcomes[0].accession == accession
    assert (top == 0).all()
    assert [r.status for r in store.reviews(accession)] == ["masked"]
    assert_consistent(store)
