"""The stacks of each series in the case detail, over uploaded real files."""

from __future__ import annotations

import io
import json
from typing import Any

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from .helpers import Upload, sample_bytes

API = ("claripacs", "api")
SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def _mixed_series() -> list[tuple[str, bytes]]:
    """One series from CT_small.dcm: axial slices with a gap and a duplicate
    position, two sagittal slices, and one axial slice of half the size."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    full = ds.pixel_array.copy()
    slices: list[tuple[float, list[float], bool]] = [
        (z, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], False) for z in (0, 5, 10, 25, 25)
    ]
    slices += [(x, SAGITTAL, False) for x in (-3, 3)]
    slices.append((40, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], True))
    files = []
    for number, (height, orientation, small) in enumerate(slices, start=1):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = number
        ds.ImageOrientationPatient = orientation
        sagittal = orientation == SAGITTAL
        ds.ImagePositionPatient = [height, 0, 0] if sagittal else [0, 0, height]
        pixels = full[::2, ::2].copy() if small else full
        ds.Rows, ds.Columns = pixels.shape
        ds.PixelData = pixels.tobytes()
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
        files.append((f"slice{number}.dcm", buffer.getvalue()))
    return files


async def _stored_case(upload: Upload, files: list[tuple[str, bytes]]) -> str:
    response = await upload(files)
    assert response.code == 200, response.body
    (accession,) = {o["accession"] for o in json.loads(response.body)["outcomes"]}
    return str(accession)


async def _detail(jp_fetch: Any, accession: str) -> Any:
    response = await jp_fetch(*API, "cases", accession)
    return json.loads(response.body)


class TestCaseDetailStacks:
    async def test_a_mixed_series_is_split_and_its_faults_reported(
        self, jp_fetch: Any, upload: Upload
    ) -> None:
        accession = await _stored_case(upload, _mixed_series())

        body = await _detail(jp_fetch, accession)

        (series,) = body["series"]
        assert len(series["instances"]) == 8
        axial, sagittal, small = series["stacks"]
        assert [len(s["frames"]) for s in (axial, sagittal, small)] == [5, 2, 1]
        assert (small["rows"], small["columns"]) == (64, 64)
        assert sagittal["orientation"] == SAGITTAL
        assert axial["spacing"] == 5
        kinds = [warning["kind"] for warning in axial["warnings"]]
        assert kinds == ["split", "gap", "duplicate"]
        assert axial["warnings"][0]["reasons"] == ["orientation", "size"]
        assert axial["warnings"][1]["distance"] == 15
        assert axial["warnings"][2]["indexes"] == [3, 4]
        numbers = {i["uid"]: i["number"] for i in series["instances"]}
        assert [numbers[uid] for uid, _ in axial["frames"]] == [1, 2, 3, 4, 5]
        assert [numbers[uid] for uid, _ in small["frames"]] == [8]

    async def test_a_multi_frame_file_is_one_stack(
        self, jp_fetch: Any, upload: Upload
    ) -> None:
        accession = await _stored_case(
            upload, [("emri_small.dcm", sample_bytes("emri_small.dcm"))]
        )

        body = await _detail(jp_fetch, accession)

        (series,) = body["series"]
        (stack,) = series["stacks"]
        (instance,) = series["instances"]
        assert stack["frames"] == [[instance["uid"], frame] for frame in range(10)]
        assert stack["warnings"] == []
        assert instance["image"]["frames"] == 10
