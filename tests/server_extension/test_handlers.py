"""The REST endpoints on real pydicom-data files uploaded through the API."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image

from claripacs_jupyter.dicom import raw_frame

from .helpers import Upload, sample_bytes

API = ("claripacs", "api")


async def get_json(jp_fetch: Any, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch(*API, *parts, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def upload_one(upload: Upload, name: str, folder: str) -> dict[str, str]:
    response = await upload([(name, sample_bytes(name))], folder=folder)
    assert response.code == 200, response.body
    (outcome,) = json.loads(response.body)["outcomes"]
    assert outcome["status"] == "stored", outcome
    return {"accession": outcome["accession"], "sop": outcome["sop_uid"]}


@pytest.fixture
def ct_case(upload: Upload, jp_asyncio_loop: Any) -> dict[str, str]:
    """CT_small.dcm (one 128x128 CT slice) in the folder Chest."""
    stored = upload_one(upload, "CT_small.dcm", "Chest")
    return jp_asyncio_loop.run_until_complete(stored)  # type: ignore[no-any-return]


@pytest.fixture
def mr_cine(upload: Upload, jp_asyncio_loop: Any) -> dict[str, str]:
    """emri_small.dcm (one MR instance of 10 frames) in the folder Neuro."""
    stored = upload_one(upload, "emri_small.dcm", "Neuro")
    return jp_asyncio_loop.run_until_complete(stored)  # type: ignore[no-any-return]


def frame_url(case: dict[str, str], frame: str) -> tuple[str, ...]:
    return (*API, "cases", case["accession"], "instances", case["sop"], "frames", frame)


class TestUpload:
    async def test_upload_stores_each_file_and_reports_its_outcome(
        self, upload: Upload, store: Any
    ) -> None:
        files = [
            (name, sample_bytes(name)) for name in ("CT_small.dcm", "MR_small.dcm")
        ]

        response = await upload(files, folder="Teaching")

        assert response.code == 200
        report = json.loads(response.body)
        assert [o["status"] for o in report["outcomes"]] == ["stored", "stored"]
        assert [o["source"] for o in report["outcomes"]] == [
            "CT_small.dcm",
            "MR_small.dcm",
        ]
        assert report["stored"] == 2
        assert {case.folder for case in store.cases()} == {"Teaching"}

    async def test_same_file_twice_is_a_duplicate(
        self, upload: Upload, ct_case: dict[str, str]
    ) -> None:
        response = await upload([("again.dcm", sample_bytes("CT_small.dcm"))])

        assert response.code == 200
        (outcome,) = json.loads(response.body)["outcomes"]
        assert outcome["status"] == "duplicate"

    async def test_zip_of_dicom_files_is_unpacked(
        self, upload: Upload, store: Any
    ) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("study/ct.dcm", sample_bytes("CT_small.dcm"))
            archive.writestr("study/mr.dcm", sample_bytes("MR_small.dcm"))

        response = await upload([("study.zip", buffer.getvalue())])

        assert response.code == 200
        report = json.loads(response.body)
        assert report["stored"] == 2
        assert len(store.cases()) == 2


class TestCaseList:
    async def test_lists_cases_without_series(
        self, jp_fetch: Any, ct_case: dict[str, str], mr_cine: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "cases")

        accessions = {case["accession"] for case in body["cases"]}
        assert accessions == {ct_case["accession"], mr_cine["accession"]}
        assert all("series" not in case for case in body["cases"])

    async def test_folder_filter_lists_only_that_folder(
        self, jp_fetch: Any, ct_case: dict[str, str], mr_cine: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "cases", params={"folder": "Neuro"})

        assert [case["accession"] for case in body["cases"]] == [mr_cine["accession"]]

    async def test_search_matches_the_folder_name(
        self, jp_fetch: Any, ct_case: dict[str, str], mr_cine: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "cases", params={"q": "chest"})

        assert [case["accession"] for case in body["cases"]] == [ct_case["accession"]]

    async def test_search_with_no_match_is_an_empty_list(
        self, jp_fetch: Any, ct_case: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "cases", params={"q": "no such words"})

        assert body == {"cases": []}

    async def test_folders_count_their_cases(
        self, jp_fetch: Any, ct_case: dict[str, str], mr_cine: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "folders")

        folders = {f["name"]: f["count"] for f in body["folders"]}
        assert folders == {"Chest": 1, "Neuro": 1}


class TestCaseDetail:
    async def test_detail_has_series_instances_and_image_info(
        self, jp_fetch: Any, ct_case: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "cases", ct_case["accession"])

        assert body["accession"] == ct_case["accession"]
        (series,) = body["series"]
        (instance,) = series["instances"]
        assert instance["uid"] == ct_case["sop"]
        image = instance["image"]
        assert (image["rows"], image["columns"], image["frames"]) == (128, 128, 1)
        assert image["kind"] == "gray"
        assert image["dtype"] == "int16"

    async def test_multiframe_instance_reports_its_frames(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        body = await get_json(jp_fetch, "cases", mr_cine["accession"])

        (instance,) = body["series"][0]["instances"]
        assert instance["frames"] == 10
        assert instance["image"]["frames"] == 10

    async def test_unknown_accession_is_404_json(self, jp_fetch: Any) -> None:
        response = await jp_fetch(*API, "cases", "NOPE123", raise_error=False)

        assert response.code == 404
        body = json.loads(response.body)
        assert body["reason"] == "NotFoundError"
        assert "NOPE123" in body["message"]


class TestDicomDownload:
    async def test_dicom_is_the_stored_file_as_an_attachment(
        self, jp_fetch: Any, store: Any, ct_case: dict[str, str]
    ) -> None:
        acc, sop = ct_case["accession"], ct_case["sop"]

        response = await jp_fetch(*API, "cases", acc, "instances", sop, "dicom")

        assert response.headers["Content-Type"] == "application/dicom"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.body == store.instance_path(acc, sop).read_bytes()
        ds = pydicom.dcmread(io.BytesIO(response.body))
        assert ds.SOPInstanceUID == sop

    async def test_unknown_instance_is_404_json(
        self, jp_fetch: Any, ct_case: dict[str, str]
    ) -> None:
        url = (*API, "cases", ct_case["accession"], "instances", "1.2.3", "dicom")

        response = await jp_fetch(*url, raise_error=False)

        assert response.code == 404
        assert json.loads(response.body)["reason"] == "NotFoundError"


class TestPngFrame:
    async def test_png_has_the_image_size(
        self, jp_fetch: Any, ct_case: dict[str, str]
    ) -> None:
        response = await jp_fetch(*frame_url(ct_case, "0.png"))

        assert response.headers["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(response.body))
        assert image.size == (128, 128)

    async def test_window_parameters_change_the_picture(
        self, jp_fetch: Any, ct_case: dict[str, str]
    ) -> None:
        url = frame_url(ct_case, "0.png")

        default = await jp_fetch(*url)
        narrow = await jp_fetch(*url, params={"window_center": 40, "window_width": 5})

        default_pixels = np.asarray(Image.open(io.BytesIO(default.body)))
        narrow_pixels = np.asarray(Image.open(io.BytesIO(narrow.body)))
        assert not np.array_equal(default_pixels, narrow_pixels)
        # A 5-wide window puts almost every pixel at black or white.
        extremes = np.isin(narrow_pixels, (0, 255)).mean()
        assert extremes > 0.95

    async def test_png_equals_to_png_at_the_same_window(
        self, jp_fetch: Any, store: Any, ct_case: dict[str, str]
    ) -> None:
        from claripacs_jupyter.dicom import Window, to_png

        ds = store.dataset(ct_case["accession"], ct_case["sop"])
        expected = to_png(ds, 0, Window(center=100.0, width=800.0))

        response = await jp_fetch(
            *frame_url(ct_case, "0.png"),
            params={"window_center": "100", "window_width": "800"},
        )

        got = np.asarray(Image.open(io.BytesIO(response.body)))
        assert np.array_equal(got, np.asarray(Image.open(io.BytesIO(expected))))

    @pytest.mark.parametrize(
        "params",
        [
            {"window_center": "abc", "window_width": "400"},
            {"window_center": "40", "window_width": "wide"},
            {"window_center": "nan", "window_width": "400"},
            {"window_center": "40", "window_width": "inf"},
            {"window_center": "40", "window_width": "0"},
            {"window_center": "40", "window_width": "-10"},
            {"window_center": "40", "window_width": "0.5"},
        ],
    )
    async def test_bad_window_is_400(
        self, jp_fetch: Any, ct_case: dict[str, str], params: dict[str, str]
    ) -> None:
        response = await jp_fetch(
            *frame_url(ct_case, "0.png"), params=params, raise_error=False
        )

        assert response.code == 400
        body = json.loads(response.body)
        assert body["reason"] == "InvalidInputError"
        assert "window_" in body["message"]

    async def test_frame_past_the_last_is_404(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        response = await jp_fetch(*frame_url(mr_cine, "10.png"), raise_error=False)

        assert response.code == 404
        assert "10 frame(s)" in json.loads(response.body)["message"]

    async def test_frame_that_is_not_a_number_is_400(
        self, jp_fetch: Any, ct_case: dict[str, str]
    ) -> None:
        response = await jp_fetch(*frame_url(ct_case, "first.png"), raise_error=False)

        assert response.code == 400
        assert json.loads(response.body)["reason"] == "InvalidInputError"


class TestRawFrame:
    async def test_raw_bytes_are_raw_frame_of_the_stored_file(
        self, jp_fetch: Any, store: Any, mr_cine: dict[str, str]
    ) -> None:
        ds = store.dataset(mr_cine["accession"], mr_cine["sop"])

        response = await jp_fetch(*frame_url(mr_cine, "7"), "raw")

        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.body == raw_frame(ds, 7)
        assert response.body != raw_frame(ds, 0)

    async def test_raw_frame_is_cached_for_good(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        response = await jp_fetch(*frame_url(mr_cine, "3"), "raw")

        cache = response.headers["Cache-Control"]
        assert cache == "private, max-age=31536000, immutable"
        assert response.headers["Etag"].startswith('"')

    async def test_etags_differ_between_frames(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        first = await jp_fetch(*frame_url(mr_cine, "0"), "raw")
        second = await jp_fetch(*frame_url(mr_cine, "1"), "raw")

        assert first.headers["Etag"] != second.headers["Etag"]

    async def test_matching_if_none_match_is_304_without_body(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        first = await jp_fetch(*frame_url(mr_cine, "2"), "raw")
        etag = first.headers["Etag"]

        again = await jp_fetch(
            *frame_url(mr_cine, "2"),
            "raw",
            headers={"If-None-Match": etag},
            raise_error=False,
        )

        assert again.code == 304
        assert again.body == b""
        assert again.headers["Etag"] == etag

    async def test_stale_if_none_match_gets_the_bytes(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        response = await jp_fetch(
            *frame_url(mr_cine, "2"), "raw", headers={"If-None-Match": '"stale"'}
        )

        assert response.code == 200
        assert len(response.body) == 64 * 64 * 2

    async def test_unknown_frame_is_404_even_with_an_etag(
        self, jp_fetch: Any, mr_cine: dict[str, str]
    ) -> None:
        response = await jp_fetch(
            *frame_url(mr_cine, "99"),
            "raw",
            headers={"If-None-Match": "*"},
            raise_error=False,
        )

        assert response.code == 404


class TestCaseZip:
    async def test_zip_holds_the_dicom_files_and_an_index(
        self, jp_fetch: Any, store: Any, ct_case: dict[str, str]
    ) -> None:
        acc = ct_case["accession"]

        response = await jp_fetch(*API, "cases", acc, "zip")

        assert response.headers["Content-Type"] == "application/zip"
        assert acc in response.headers["Content-Disposition"]
        with zipfile.ZipFile(io.BytesIO(response.body)) as archive:
            names = archive.namelist()
            assert f"{acc}/index.html" in names
            dicoms = [n for n in names if n.endswith(".dcm")]
            assert len(dicoms) == 1
            ds = pydicom.dcmread(io.BytesIO(archive.read(dicoms[0])))
        assert ds.SOPInstanceUID == ct_case["sop"]

    async def test_zip_of_unknown_case_is_404(self, jp_fetch: Any) -> None:
        response = await jp_fetch(*API, "cases", "NOPE123", "zip", raise_error=False)

        assert response.code == 404


class TestDelete:
    async def test_delete_is_204_and_the_case_is_gone(
        self, jp_fetch: Any, store: Any, ct_case: dict[str, str]
    ) -> None:
        acc = ct_case["accession"]
        path = store.instance_path(acc, ct_case["sop"])

        response = await jp_fetch(*API, "cases", acc, method="DELETE")

        assert response.code == 204
        after = await jp_fetch(*API, "cases", acc, raise_error=False)
        assert after.code == 404
        assert not path.exists()
        assert store.cases() == []

    async def test_delete_of_unknown_case_is_404(self, jp_fetch: Any) -> None:
        response = await jp_fetch(
            *API, "cases", "NOPE123", method="DELETE", raise_error=False
        )

        assert response.code == 404
