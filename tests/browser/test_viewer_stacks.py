"""The viewer shows a series by stack: assemble()'s order, picker and warnings."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pydicom
import pytest
from playwright.sync_api import Page, expect

from claripacs_jupyter.dicom import Window, raw_frame, read, render
from claripacs_jupyter.store import Store, open_store
from tests.browser.harness_page import linear_window
from tests.browser.stacks_page import (
    SAGITTAL,
    instance,
    mount_series,
    series_spec,
    settled_grey,
    value_at,
)
from tests.store.builders import make_series

pytestmark = pytest.mark.browser

# Instance numbers 1..6 whose positions are out of order.
SHUFFLED_MM = [10.0, 0.0, 25.0, 5.0, 20.0, 15.0]


def test_stack_order_follows_positions_not_instance_order(
    page: Page, harness_url: str
) -> None:
    instances = [instance(f"1.2.3.{k}", k + 1, mm) for k, mm in enumerate(SHUFFLED_MM)]
    spec = series_spec(instances)
    mount_series(page, harness_url, [spec])
    page.wait_for_function("window.viewer.element.dataset.loaded === '6'")

    shown = []
    for number in range(1, 7):
        page.locator(".cpv-slider").fill(str(number))
        shown.append(settled_grey(page))
    requests = page.evaluate("window.stacksHarness.requests(0)")
    positions = page.evaluate("window.stacksHarness.slices(0).positions")

    in_order = sorted(SHUFFLED_MM)
    assert shown == [linear_window(value_at(mm), 40, 400) for mm in in_order]
    assert len(set(shown)) == 6
    assert positions == in_order
    frames = spec["stacks"][0]["frames"]
    assert [frames[r["index"]] for r in requests] == [
        [r["ref"]["instance"], r["ref"]["frame"]] for r in requests
    ]
    assert sorted(r["index"] for r in requests) == list(range(6))
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_two_stack_series_has_a_picker_entry_per_stack(
    page: Page, harness_url: str
) -> None:
    axial = [instance(f"1.2.3.{k}", k + 1, 4.0 * k) for k in range(3)]
    sagittal = [
        instance(f"1.2.4.{k}", k + 4, 3.0 * k, SAGITTAL, value=200 + 10 * k)
        for k in range(2)
    ]
    mount_series(page, harness_url, [series_spec(axial + sagittal)])
    picker = page.get_by_label("Series")
    labels = picker.locator("option").all_inner_texts()

    picker.select_option(label="3: T2 AX (stack 2 of 2, 2 images)")
    page.wait_for_function("window.viewer.getState().stack === 1")
    second_grey = settled_grey(page)
    second_overlay = page.locator(".cpv-overlay-image").inner_text()
    second_requests = page.evaluate("window.stacksHarness.requests(0)")
    page.evaluate("window.viewer.setState({stack: 0, image: 2})")
    first_grey = settled_grey(page)

    assert labels == [
        "3: T2 AX (stack 1 of 2, 3 images)",
        "3: T2 AX (stack 2 of 2, 2 images)",
    ]
    assert second_overlay == "Image 1 / 2"
    assert second_grey == linear_window(200, 40, 400)
    assert {r["ref"]["instance"] for r in second_requests} >= {"1.2.4.0", "1.2.4.1"}
    assert first_grey == linear_window(value_at(8.0), 40, 400)
    assert page.evaluate("window.viewer.element.dataset.total") == "3"
    changes = page.evaluate("window.changes[0].map((c) => c.changed)")
    assert ["stack", "image"] in changes


def test_a_stack_chosen_at_creation_is_shown_first(
    page: Page, harness_url: str
) -> None:
    axial = [instance(f"1.2.3.{k}", k + 1, 4.0 * k) for k in range(3)]
    sagittal = [
        instance(f"1.2.4.{k}", k + 4, 3.0 * k, SAGITTAL, value=200 + 10 * k)
        for k in range(2)
    ]

    states = mount_series(
        page, harness_url, [series_spec(axial + sagittal)], [{"stack": 1}]
    )

    assert states[0]["stack"] == 1
    assert settled_grey(page) == linear_window(200, 40, 400)
    assert page.get_by_label("Series").input_value() == "1.2.3 1"


def test_gaps_and_duplicate_positions_are_shown_with_their_messages(
    page: Page, harness_url: str
) -> None:
    mm = [0.0, 2.0, 4.0, 10.0, 12.0, 12.0]
    instances = [instance(f"1.2.3.{k}", k + 1, x) for k, x in enumerate(mm)]
    spec = series_spec(instances)
    messages = [w["message"] for w in spec["stacks"][0]["warnings"]]
    mount_series(page, harness_url, [spec])
    strip = page.get_by_role("status", name="Stack warnings")

    strip.locator("summary").click()

    assert {w["kind"] for w in spec["stacks"][0]["warnings"]} == {"gap", "duplicate"}
    expect(strip).to_be_visible()
    expect(strip.locator("summary")).to_have_text("2 warnings on this stack")
    expect(strip.locator("li")).to_have_text(messages)
    expect(strip.locator("li").first).to_be_visible()
    assert page.evaluate("window.viewer.element.dataset.warnings") == "2"


def test_a_stack_without_warnings_shows_no_warnings_strip(
    page: Page, harness_url: str
) -> None:
    instances = [instance(f"1.2.3.{k}", k + 1, 2.0 * k) for k in range(4)]

    mount_series(page, harness_url, [series_spec(instances)])

    expect(page.locator(".cpv-warnings")).to_be_hidden()
    assert page.evaluate("window.viewer.element.dataset.warnings") == "0"


def test_without_stacks_the_instances_are_shown_as_listed_and_asked_by_ref(
    page: Page, harness_url: str
) -> None:
    instances = [instance(f"1.2.3.{k}", k + 1, mm) for k, mm in enumerate(SHUFFLED_MM)]
    spec = {**series_spec(instances), "stacks": None}
    mount_series(page, harness_url, [spec])
    page.wait_for_function("window.viewer.element.dataset.loaded === '6'")

    page.locator(".cpv-slider").fill("3")
    grey = settled_grey(page)
    requests = page.evaluate("window.stacksHarness.requests(0)")

    assert grey == linear_window(value_at(SHUFFLED_MM[2]), 40, 400)
    assert all(
        r["ref"] == {"instance": f"1.2.3.{r['index']}", "frame": 0} for r in requests
    )
    expect(page.locator(".cpv-warnings")).to_be_hidden()


def _real_series(store: Store, accession: str) -> tuple[dict, list[np.ndarray]]:
    """The harness spec of a stored case's series and each stack image's render."""
    series = store.case(accession).series[0]
    (stack,) = store.stacks(accession)[series.uid]
    instances = []
    for item in series.instances:
        ds = read(store.instance_path(accession, item.uid))
        pixels = base64.b64encode(raw_frame(ds, 0)).decode("ascii")
        image = store.image_info(accession, item.uid)
        instances.append({"uid": item.uid, "image": image, "pixels": pixels})
    window = Window(center=40, width=400)
    renders = [
        render(read(store.instance_path(accession, uid)), frame, window)
        for uid, frame in stack.frames
    ]
    spec = {
        "real": True,
        "seriesUid": series.uid,
        "modality": "CT",
        "instances": instances,
        "stacks": [stack.to_dict()],
    }
    return spec, renders


def test_a_real_stored_series_shows_in_position_order_with_its_gap(
    page: Page, harness_url: str, tmp_path: Path
) -> None:
    # five CT_small slices, numbered 1..5 but out of position, one slice missing
    paths = make_series(tmp_path / "in", 5, positions=[10, 0, 30, 5, 15])
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)  # each slice its own values, to tell them apart
        ds.PixelData = (ds.pixel_array + 60 * k).astype(np.int16).tobytes()
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
    store = open_store(tmp_path / "store")
    try:
        accession = store.ingest([tmp_path / "in"]).accessions[0]
        spec, renders = _real_series(store, accession)
    finally:
        store.close()
    mount_series(page, harness_url, [spec], [{"window": {"center": 40, "width": 400}}])

    shown = []
    for number in range(1, 6):
        page.locator(".cpv-slider").fill(str(number))
        page.evaluate("window.stacksHarness.settled(0)")
        shown.append(page.evaluate("window.stacksHarness.greys(0)"))
    positions = page.evaluate("window.stacksHarness.slices(0).positions")

    for picture, expected in zip(shown, renders, strict=True):
        assert picture == expected.ravel().tolist()
    assert positions == spec["stacks"][0]["positions"]
    assert [round(mm - positions[0], 3) for mm in positions] == [0, 5, 10, 15, 30]
    expect(page.locator(".cpv-warning")).to_have_text(
        [w["message"] for w in spec["stacks"][0]["warnings"]]
    )
    assert [w["kind"] for w in spec["stacks"][0]["warnings"]] == ["gap"]
