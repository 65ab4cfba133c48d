"""The review queue over REST: flags listed, cleared by the user, publishing refused.

A real ultrasound from pydicom-data (flagged on the way in) and a real CT
slice (not flagged) are uploaded through the API.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .helpers import Upload
from .test_handlers import API, get_json, upload_one


@pytest.fixture
def us_case(upload: Upload, jp_asyncio_loop: Any) -> dict[str, str]:
    """US1_J2KR.dcm (an RGB ultrasound, held for review) in the folder Abdomen."""
    stored = upload_one(upload, "US1_J2KR.dcm", "Abdomen")
    return jp_asyncio_loop.run_until_complete(stored)  # type: ignore[no-any-return]


async def _send(jp_fetch: Any, method: str, *parts: str, body: object) -> Any:
    return await jp_fetch(
        *API, *parts, method=method, body=json.dumps(body), raise_error=False
    )


async def test_a_flagged_case_is_in_the_queue_and_cannot_go_public(
    jp_fetch: Any, us_case: dict[str, str]
) -> None:
    accession = us_case["accession"]

    queue = await get_json(jp_fetch, "reviews")
    refused = await _send(
        jp_fetch, "PATCH", "cases", accession, body={"private": False}
    )
    case = await get_json(jp_fetch, "cases", accession)

    assert [r["accession"] for r in queue["reviews"]] == [accession]
    assert queue["reviews"][0]["status"] == "pending"
    assert any("ultrasound" in r for r in queue["reviews"][0]["reasons"])
    assert refused.code == 409
    assert "stays private" in json.loads(refused.body)["message"]
    assert case["private"] is True and case["review_pending"] is True


async def test_clearing_the_series_records_the_user_and_lets_the_case_go_public(
    jp_fetch: Any, us_case: dict[str, str]
) -> None:
    accession = us_case["accession"]
    (flag,) = (await get_json(jp_fetch, "cases", accession, "reviews"))["reviews"]

    cleared = await _send(
        jp_fetch,
        "POST",
        "cases",
        accession,
        "reviews",
        flag["series_uid"],
        body={"status": "masked"},
    )
    public = await _send(jp_fetch, "PATCH", "cases", accession, body={"private": False})
    queue = await get_json(jp_fetch, "reviews")
    history = await get_json(jp_fetch, "reviews", params={"all": "1"})

    assert cleared.code == 200
    record = json.loads(cleared.body)
    assert record["status"] == "masked"
    assert record["cleared_by"] and record["cleared_at"]
    assert public.code == 200 and json.loads(public.body)["private"] is False
    assert queue["reviews"] == []
    assert [r["status"] for r in history["reviews"]] == ["masked"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "approved"}, 400),
        ({}, 400),
        (["reviewed"], 400),
    ],
)
async def test_a_bad_clearing_request_is_refused_and_changes_nothing(
    jp_fetch: Any, us_case: dict[str, str], body: object, status: int
) -> None:
    accession = us_case["accession"]
    (flag,) = (await get_json(jp_fetch, "cases", accession, "reviews"))["reviews"]

    answer = await _send(
        jp_fetch, "POST", "cases", accession, "reviews", flag["series_uid"], body=body
    )
    unknown = await _send(
        jp_fetch,
        "POST",
        "cases",
        accession,
        "reviews",
        "1.2.3",
        body={"status": "reviewed"},
    )
    after = await get_json(jp_fetch, "cases", accession, "reviews")

    assert answer.code == status
    assert unknown.code == 404
    assert [r["status"] for r in after["reviews"]] == ["pending"]


async def test_patch_changes_a_clean_case_and_refuses_bad_fields(
    jp_fetch: Any, upload: Upload
) -> None:
    accession = (await upload_one(upload, "CT_small.dcm", "Chest"))["accession"]

    changed = await _send(
        jp_fetch, "PATCH", "cases", accession, body={"private": False, "notes": "ok"}
    )
    unknown_field = await _send(jp_fetch, "PATCH", "cases", accession, body={"x": 1})
    not_json = await jp_fetch(
        *API, "cases", accession, method="PATCH", body="{", raise_error=False
    )
    missing = await _send(jp_fetch, "PATCH", "cases", "NOSUCH", body={"notes": "x"})

    assert changed.code == 200
    assert json.loads(changed.body)["private"] is False
    assert (unknown_field.code, not_json.code, missing.code) == (400, 400, 404)


async def test_the_reviews_of_an_unknown_case_are_a_404(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*API, "cases", "NOSUCH", "reviews")

    assert caught.value.code == 404


async def test_masking_a_series_over_rest_clears_it_in_the_users_name(
    jp_fetch: Any, us_case: dict[str, str], store: Any
) -> None:
    accession = us_case["accession"]
    (flag,) = (await get_json(jp_fetch, "cases", accession, "reviews"))["reviews"]
    series = ("cases", accession, "series", flag["series_uid"], "mask")

    bad = await _send(jp_fetch, "POST", *series, body={"rects": [[0, 0, 5]]})
    outside = await _send(jp_fetch, "POST", *series, body={"rects": [[9999, 0, 5, 5]]})
    done = await _send(jp_fetch, "POST", *series, body={"rects": [[0, 0, 640, 40]]})
    after = await get_json(jp_fetch, "cases", accession, "reviews")

    assert (bad.code, outside.code) == (400, 400)
    assert done.code == 200 and json.loads(done.body) == {"masked": 1}
    assert [r["status"] for r in after["reviews"]] == ["masked"]
    assert after["reviews"][0]["cleared_by"]
    assert not store.case(accession).needs_review


async def test_pixels_no_decoder_reads_are_a_400_to_mask_and_the_case_still_opens(
    jp_fetch: Any, upload: Upload
) -> None:
    # JPEG-lossy.dcm's 12-bit JPEG stream is damaged: its header passes the
    # upload, but no installed decoder reads its pixels
    stored = await upload_one(upload, "JPEG-lossy.dcm", "Teaching")
    accession = stored["accession"]
    case = await get_json(jp_fetch, "cases", accession)
    (series,) = case["series"]
    (instance,) = series["instances"]

    masked = await _send(
        jp_fetch, "POST", "cases", accession, "series", series["uid"], "mask",
        body={"rects": [[0, 0, 5, 5]]},
    )  # fmt: skip

    assert "cannot be decoded" in instance["image"]["error"]
    assert masked.code == 400
    assert "cannot be decoded" in json.loads(masked.body)["message"]


async def test_a_big_endian_series_is_masked_over_rest(
    jp_fetch: Any, upload: Upload, store: Any
) -> None:
    stored = await upload_one(upload, "MR_small_bigendian.dcm", "Teaching")
    accession = stored["accession"]
    (series,) = (await get_json(jp_fetch, "cases", accession))["series"]

    done = await _send(
        jp_fetch, "POST", "cases", accession, "series", series["uid"], "mask",
        body={"rects": [[0, 0, 8, 8]]},
    )  # fmt: skip
    (instance,) = (await get_json(jp_fetch, "cases", accession))["series"][0][
        "instances"
    ]
    ds = store.dataset(accession, instance["uid"])

    assert done.code == 200 and json.loads(done.body) == {"masked": 1}
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert int(ds.pixel_array[:8, :8].max()) == int(ds.pixel_array.min())
