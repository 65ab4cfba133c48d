"""Linked viewers in real Chromium: two viewers on one page scroll together."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.harness_page import linear_window
from tests.browser.stacks_page import (
    SAGITTAL,
    instance,
    mount_series,
    series_spec,
    settled_grey,
    state,
    value_at,
)

pytestmark = pytest.mark.browser

FINE_MM = 2.0  # viewer 0: 20 images, 0 to 38 mm
COARSE_MM = 5.0  # viewer 1: 8 images, 0 to 35 mm


def _stack(prefix: str, count: int, spacing: float | None) -> dict:
    """A series of `count` axial images `spacing` mm apart (None: no positions)."""
    instances = [
        instance(
            f"{prefix}.{k}",
            k + 1,
            None if spacing is None else spacing * k,
            value=None if spacing is not None else value_at(3.0 * k),
        )
        for k in range(count)
    ]
    return series_spec(instances, uid=prefix)


def _viewer(page: Page, k: int) -> Locator:
    return page.locator(".claripacs-viewer").nth(k)


def _images(page: Page) -> list[int]:
    return [state(page, 0)["image"], state(page, 1)["image"]]


def _wheel_on(page: Page, k: int, delta: float) -> None:
    box = _viewer(page, k).locator(".cpv-stage").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, delta)


def _linked_pair(page: Page, url: str, second: dict | None = None) -> None:
    fine = _stack("1.2.5", 20, FINE_MM)
    coarse = second or _stack("1.2.6", 8, COARSE_MM)
    mount_series(page, url, [fine, coarse], [{"linked": True}, {"linked": True}])


def test_linked_viewers_stay_on_the_same_position_by_wheel_keys_and_slider(
    page: Page, harness_url: str
) -> None:
    _linked_pair(page, harness_url)
    seen = []

    _wheel_on(page, 0, 500)
    page.wait_for_function("window.viewers[0].getState().image === 5")
    seen.append(_images(page))
    _viewer(page, 0).focus()
    for key in ["ArrowDown", "PageDown", "End"]:
        page.keyboard.press(key)
        seen.append(_images(page))
    _viewer(page, 0).locator(".cpv-slider").fill("4")
    seen.append(_images(page))
    coarse_grey = settled_grey(page, 1)
    _wheel_on(page, 1, 400)
    page.wait_for_function("window.viewers[1].getState().image === 5")
    seen.append(_images(page))

    # 10 mm -> 10; 12 -> 10; 16 -> 15; 38 -> 35; 6 -> 5; then 25 mm <- 25
    assert seen == [[5, 2], [6, 2], [8, 3], [19, 7], [3, 1], [12, 5]]
    for fine, coarse in seen:
        distances = [abs(fine * FINE_MM - j * COARSE_MM) for j in range(8)]
        assert distances[coarse] == min(distances)
    assert coarse_grey == linear_window(value_at(5.0), 40, 400)
    assert settled_grey(page, 0) == linear_window(value_at(24.0), 40, 400)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_unlinked_viewers_do_not_follow(page: Page, harness_url: str) -> None:
    _linked_pair(page, harness_url)
    link = _viewer(page, 0).get_by_role("button", name="Link")

    link.click()
    _wheel_on(page, 0, 500)
    page.wait_for_function("window.viewers[0].getState().image === 5")
    _viewer(page, 1).locator(".cpv-slider").fill("3")

    expect(link).to_have_attribute("aria-pressed", "false")
    assert state(page, 0)["linked"] is False
    assert _images(page) == [5, 2]


def test_the_l_key_links_and_unlinks_and_reports_it(
    page: Page, harness_url: str
) -> None:
    fine = _stack("1.2.5", 20, FINE_MM)
    coarse = _stack("1.2.6", 8, COARSE_MM)
    mount_series(page, harness_url, [fine, coarse], [{}, {"linked": True}])
    _viewer(page, 0).focus()
    page.keyboard.press("End")
    seen = [_images(page)]

    page.keyboard.press("l")
    seen.append(_images(page))
    page.keyboard.press("End")
    seen.append(_images(page))
    page.keyboard.press("L")
    page.keyboard.press("Home")
    seen.append(_images(page))

    # unlinked: alone; linked: joins the other at 0 mm, then leads it; unlinked
    assert seen == [[19, 0], [0, 0], [19, 7], [0, 7]]
    expect(_viewer(page, 0).get_by_role("button", name="Link")).to_have_attribute(
        "aria-pressed", "false"
    )
    changes = page.evaluate("window.changes[0].map((c) => c.changed)")
    assert changes.count(["linked"]) == 2


def test_linking_joins_the_group_at_its_position(page: Page, harness_url: str) -> None:
    fine = _stack("1.2.5", 20, FINE_MM)
    coarse = _stack("1.2.6", 8, COARSE_MM)
    mount_series(page, harness_url, [fine, coarse], [{"linked": True}, {}])
    page.evaluate("window.viewers[0].setState({image: 10})")

    page.evaluate("window.viewers[1].setState({linked: true})")

    assert _images(page) == [10, 4]  # 20 mm in both
    assert state(page, 1)["linked"] is True


def test_a_stack_without_geometry_links_by_index(page: Page, harness_url: str) -> None:
    _linked_pair(page, harness_url, _stack("1.2.7", 8, None))
    seen = []

    _wheel_on(page, 0, 500)
    page.wait_for_function("window.viewers[0].getState().image === 5")
    seen.append(_images(page))
    _viewer(page, 0).focus()
    page.keyboard.press("End")
    seen.append(_images(page))

    assert seen == [[5, 5], [19, 7]]
    assert page.evaluate("window.stacksHarness.slices(1).positions") == [None] * 8


def test_a_group_is_shared_by_every_copy_of_the_module(
    page: Page, harness_url: str
) -> None:
    _linked_pair(page, harness_url)

    count = page.evaluate(
        """async () => {
            // a second copy of the module, as a second bundled widget has
            const copy = await import("./linking.js?copy");
            return copy.linkGroup().viewers.length;
        }"""
    )
    assert count == 2
    page.evaluate("window.viewers[1].setState({image: 6})")
    assert _images(page) == [15, 6]  # 30 mm in both


def test_stacks_of_different_orientations_link_by_index(
    page: Page, harness_url: str
) -> None:
    sagittal = series_spec(
        [instance(f"1.2.8.{k}", k + 1, 5.0 * k, SAGITTAL) for k in range(8)],
        uid="1.2.8",
    )
    _linked_pair(page, harness_url, sagittal)

    _wheel_on(page, 0, 300)
    page.wait_for_function("window.viewers[0].getState().image === 3")
    first = _images(page)
    _viewer(page, 0).focus()
    page.keyboard.press("End")

    # by position, 6 mm would have been image 1 of the 5 mm stack
    assert first == [3, 3]
    assert _images(page) == [19, 7]
    normals = [
        page.evaluate(f"window.stacksHarness.slices({k}).normal") for k in (0, 1)
    ]
    assert normals == [[0, 0, 1], [-1, 0, 0]]
