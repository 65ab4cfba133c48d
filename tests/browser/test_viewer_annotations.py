"""Annotations, key images and wheel zoom of the JS viewer, in real Chromium."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page

from tests.browser.harness_page import mount

pytestmark = pytest.mark.browser

# Stored int16 values with the usual CT rescale: air shows black in 40/400.
AIR, WATER = 0, 1024
CT = {"rescale": [1, -1024], "modality": "CT"}
YELLOW_RED_MIN, YELLOW_BLUE_MAX = 180, 90


def _point(page: Page, x: float, y: float) -> tuple[float, float]:
    """Where image point (x, y) is in the page."""
    p = page.evaluate("([x, y]) => window.harness.pagePoint(x, y)", [x, y])
    return p["x"], p["y"]


def _drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Left-drag between two image points."""
    page.mouse.move(*_point(page, *start))
    page.mouse.down()
    page.mouse.move(*_point(page, *end), steps=5)
    page.mouse.up()


def _click(page: Page, x: float, y: float) -> None:
    page.mouse.click(*_point(page, x, y))


def _annotated(page: Page, x: float, y: float) -> bool:
    """Whether the canvas shows annotation yellow at image point (x, y)."""
    r, g, b, _ = page.evaluate("([x, y]) => window.harness.colourAt(x, y)", [x, y])
    return r >= YELLOW_RED_MIN and g >= YELLOW_RED_MIN - 40 and b <= YELLOW_BLUE_MAX


def _wait_annotated(page: Page, x: float, y: float, shown: bool = True) -> None:
    check = "c[0] >= 180 && c[2] <= 90" if shown else "!(c[0] >= 180 && c[2] <= 90)"
    page.wait_for_function(
        f"([x, y]) => {{ const c = window.harness.colourAt(x, y); return {check}; }}",
        arg=[x, y],
        timeout=10_000,
    )


def _state(page: Page) -> dict[str, Any]:
    return page.evaluate("window.viewer.getState()")


def _measurements(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.viewer.measurements()")


def _annotations_module(page: Page, expression: str, arg: Any = None) -> Any:
    """Evaluate `expression` with `m` bound to the annotations.js module."""
    return page.evaluate(
        f"async (arg) => {{ const m = await import('./annotations.js'); "
        f"return {expression}; }}",
        arg,
    )


# ---- drawing with the tools ----------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "key"), [("arrow", "a"), ("length", "m"), ("ellipse", "e")]
)
def test_each_drag_tool_stores_its_annotation_at_the_image_points_dragged(
    page: Page, harness_url: str, tool: str, key: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})
    page.locator(".claripacs-viewer").focus()
    page.keyboard.press(key)

    _drag(page, (16.5, 20.5), (48.5, 40.5))

    state = _state(page)
    assert state["tool"] == tool
    [annotation] = state["annotations"]
    assert annotation["type"] == tool
    assert annotation["image"] == 0
    assert np.allclose(annotation["points"], [[16.5, 20.5], [48.5, 40.5]], atol=0.25)
    assert page.evaluate("window.changes.at(-1).changed") == ["annotations"]


def test_the_drawn_shape_is_on_the_canvas_at_its_image_points(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})
    page.get_by_role("button", name="Length", exact=True).click()

    _drag(page, (10.5, 30.5), (50.5, 30.5))

    _wait_annotated(page, 30.5, 30.5)
    assert not _annotated(page, 30.5, 45.5)
    assert page.locator(".claripacs-viewer").get_attribute("data-annotations") == "1"


def test_a_click_with_a_drag_tool_draws_nothing(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "length"})

    _click(page, 20, 20)

    assert _state(page)["annotations"] == []


def test_angle_by_three_clicks_measures_a_right_angle(
    page: Page, harness_url: str
) -> None:
    spec = {**CT, "pixel_spacing": [0.5, 0.8], "frames": [[AIR] * 4]}
    mount(page, harness_url, spec, {"tool": "angle"})

    for x, y in [(10.5, 40.5), (40.5, 40.5), (40.5, 10.5)]:
        _click(page, x, y)

    [annotation] = _state(page)["annotations"]
    assert annotation["type"] == "angle"
    assert np.allclose(
        annotation["points"], [[10.5, 40.5], [40.5, 40.5], [40.5, 10.5]], atol=0.25
    )
    [measured] = _measurements(page)
    assert measured["value"] == pytest.approx(90.0, abs=0.5)


def test_angle_by_a_drag_then_a_click(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "angle"})

    _drag(page, (10.5, 10.5), (30.5, 30.5))
    assert _state(page)["annotations"] == []  # waiting for the second ray
    _click(page, 50.5, 10.5)

    [annotation] = _state(page)["annotations"]
    assert np.allclose(
        annotation["points"], [[10.5, 10.5], [30.5, 30.5], [50.5, 10.5]], atol=0.25
    )
    assert _measurements(page)[0]["lines"] == ["90.0°"]


def test_text_tool_asks_for_its_text_inside_the_viewer(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})
    page.locator(".claripacs-viewer").focus()
    page.keyboard.press("t")
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))

    _click(page, 20.5, 30.5)
    box = page.get_by_label("Annotation text")
    box.wait_for()
    box.fill("Lesion")
    box.press("Enter")

    [annotation] = _state(page)["annotations"]
    assert annotation["type"] == "text"
    assert annotation["text"] == "Lesion"
    assert np.allclose(annotation["points"], [[20.5, 30.5]], atol=0.25)
    assert box.is_hidden()
    assert dialogs == []


def test_escape_in_the_text_box_adds_nothing(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "text"})

    _click(page, 20.5, 30.5)
    box = page.get_by_label("Annotation text")
    box.fill("draft")
    box.press("Escape")

    assert _state(page)["annotations"] == []
    assert box.is_hidden()


@pytest.mark.parametrize("key", ["Enter", "Escape"])
def test_the_viewer_keeps_the_keys_after_the_text_box_closes(
    page: Page, harness_url: str, key: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "text"})
    _click(page, 20.5, 30.5)
    box = page.get_by_label("Annotation text")
    box.fill("Lesion")

    box.press(key)
    focused = page.evaluate("document.activeElement === window.viewer.element")
    page.keyboard.press("w")

    assert focused
    assert _state(page)["tool"] == "window"


# ---- measurements ---------------------------------------------------------------


def test_length_on_non_square_pixels_is_in_mm_from_row_then_column_spacing(
    page: Page, harness_url: str
) -> None:
    # rows 0.5 mm apart, columns 0.8 mm apart
    spec = {**CT, "pixel_spacing": [0.5, 0.8], "frames": [[AIR] * 4]}
    mount(page, harness_url, spec)
    length = {"type": "length", "image": 0, "points": [[10.5, 10.5], [40.5, 50.5]]}

    page.evaluate("(a) => window.viewer.setState({annotations: [a]})", length)

    [measured] = _measurements(page)
    expected = math.hypot(30 * 0.8, 40 * 0.5)
    assert measured["unit"] == "mm"
    assert measured["value"] == pytest.approx(expected, rel=1e-12)
    assert measured["lines"] == [f"{expected:.1f} mm"]


def test_length_without_pixel_spacing_is_in_pixels(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "length"})

    _drag(page, (10.5, 10.5), (40.5, 50.5))

    [measured] = _measurements(page)
    assert measured["unit"] == "px"
    assert measured["value"] == pytest.approx(50.0, abs=0.4)
    assert measured["lines"][0].endswith(" px")


def test_ellipse_mean_and_sd_are_those_of_numpy_over_the_modality_values(
    page: Page, harness_url: str
) -> None:
    rows, columns = 64, 48
    rng = np.random.default_rng(7)
    stored = rng.integers(0, 3000, size=(rows, columns), dtype=np.int16)
    stored[30:34, 20:24] = -2000  # padding inside the ellipse, left out
    slope, intercept = 0.5, -1024.0
    spacing = [0.7, 0.4]
    spec = {
        **CT,
        "rows": rows,
        "columns": columns,
        "rescale": [slope, intercept],
        "padding": [-2000, -2000],
        "pixel_spacing": spacing,
    }
    corner, opposite = [6.3, 12.7], [41.1, 50.9]
    ellipse = {"type": "ellipse", "image": 0, "points": [corner, opposite]}
    page.goto(harness_url)
    page.wait_for_function("window.harnessReady === true")
    page.evaluate(
        "([spec, values]) => window.harness.mountValues(spec, [values])",
        [spec, stored.ravel().tolist()],
    )

    page.evaluate("(a) => window.viewer.setState({annotations: [a]})", ellipse)
    [measured] = _measurements(page)

    cx, cy = (corner[0] + opposite[0]) / 2, (corner[1] + opposite[1]) / 2
    rx, ry = abs(opposite[0] - corner[0]) / 2, abs(opposite[1] - corner[1]) / 2
    yy, xx = np.mgrid[0:rows, 0:columns] + 0.5
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    inside &= stored != -2000
    values = stored[inside].astype(np.float64) * slope + intercept
    assert measured["count"] == values.size
    assert measured["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert measured["sd"] == pytest.approx(values.std(), rel=1e-9)
    assert measured["unit"] == "HU"
    assert measured["area"] == pytest.approx(
        math.pi * rx * spacing[1] * ry * spacing[0]
    )
    assert measured["areaUnit"] == "mm²"
    assert measured["lines"] == [
        f"Mean {values.mean():.1f} HU",
        f"SD {values.std():.1f} HU",
        f"Area {math.pi * rx * spacing[1] * ry * spacing[0]:.1f} mm²",
    ]


def test_the_pure_measurements_of_annotations_js(page: Page, harness_url: str) -> None:
    page.goto(harness_url)
    page.wait_for_function("window.harnessReady === true")

    results = _annotations_module(
        page,
        "{"
        "length: m.lengthMm([0, 0], [3, 4], [2, 1]),"
        "noSpacing: m.lengthMm([0, 0], [3, 4], null),"
        "px: m.lengthPx([1, 1], [4, 5]),"
        "right: m.angleDegrees([10, 0], [0, 0], [0, 7]),"
        "straight: m.angleDegrees([-1, 0], [0, 0], [1, 0]),"
        "squeezed: m.angleDegrees([1, 0], [0, 0], [1, 1], [2, 1]),"
        "degenerate: m.angleDegrees([0, 0], [0, 0], [1, 0]),"
        "area: m.ellipseArea([0, 0], [4, 2], [0.5, 2]),"
        "stats: m.ellipseStats([0, 0], [4, 4], {rows: 4, columns: 4,"
        " pixels: Int16Array.from({length: 16}, (_, i) => i), slope: 2, intercept: -1,"
        " padding: [5, 6]}),"
        "empty: m.ellipseStats([1, 1], [1, 1], {rows: 2, columns: 2,"
        " pixels: new Int16Array(4)}),"
        "unit: [m.modalityUnit('CT'), m.modalityUnit('MR')],"
        "}",
    )

    assert results["length"] == pytest.approx(math.hypot(3 * 1, 4 * 2))
    assert results["noSpacing"] is None
    assert results["px"] == 5
    assert results["right"] == 90
    assert results["straight"] == 180
    # one row step of 2 mm against one column step of 1 mm
    assert results["squeezed"] == pytest.approx(math.degrees(math.atan2(2, 1)))
    assert results["degenerate"] is None
    assert results["area"] == {
        "value": pytest.approx(math.pi * 2 * 2 * 1 * 0.5),
        "unit": "mm²",
    }
    # pixel centres inside the circle of radius 2 about (2, 2): all but corners
    expected = np.array([i for i in range(16) if i not in (0, 3, 12, 15, 5, 6)])
    values = expected * 2 - 1
    assert results["stats"]["count"] == values.size
    assert results["stats"]["mean"] == pytest.approx(values.mean())
    assert results["stats"]["sd"] == pytest.approx(values.std())
    assert results["empty"]["count"] == 0
    assert results["unit"] == ["HU", ""]


def test_set_state_replaces_the_list_and_leaves_out_invalid_annotations(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "arrow"})
    _drag(page, (10, 10), (20, 20))
    warnings: list[str] = []
    page.on(
        "console", lambda m: warnings.append(m.text) if m.type == "warning" else None
    )
    good = {"type": "text", "image": 0, "points": [[5, 5]], "text": "note"}
    bad = [
        {"type": "circle", "image": 0, "points": [[1, 1], [2, 2]]},
        {"type": "length", "image": 0, "points": [[1, 1]]},
        {"type": "text", "image": 0, "points": [[1, 1]]},
        {"type": "arrow", "image": -1, "points": [[1, 1], [2, 2]]},
    ]

    page.evaluate("(list) => window.viewer.setState({annotations: list})", [good, *bad])

    assert _state(page)["annotations"] == [good]
    assert page.evaluate("window.changes.at(-1).changed") == ["annotations"]
    assert len(warnings) == 1
    assert "unknown type" in warnings[0] and "needs its text" in warnings[0]


# ---- annotations belong to their image and follow the view -----------------------


def test_annotations_show_only_on_their_image(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4, [AIR] * 4]})
    length = {"type": "length", "image": 0, "points": [[10.5, 30.5], [50.5, 30.5]]}
    page.evaluate("(a) => window.viewer.setState({annotations: [a]})", length)
    _wait_annotated(page, 30.5, 30.5)
    page.locator(".claripacs-viewer").focus()

    page.keyboard.press("ArrowDown")
    page.wait_for_function("window.viewer.element.dataset.drawnImage === '1'")
    _wait_annotated(page, 30.5, 30.5, shown=False)
    on_second = _measurements(page)
    page.keyboard.press("ArrowUp")

    assert on_second == []
    _wait_annotated(page, 30.5, 30.5)
    assert [m["annotation"]["image"] for m in _measurements(page)] == [0]


def test_annotations_follow_zoom_and_pan(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})
    length = {"type": "length", "image": 0, "points": [[10.5, 30.5], [30.5, 30.5]]}
    page.evaluate("(a) => window.viewer.setState({annotations: [a]})", length)
    _wait_annotated(page, 20.5, 30.5)
    before = _point(page, 20.5, 30.5)

    page.evaluate("window.viewer.setState({zoom: 2.5, pan: {x: 0.2, y: -0.1}})")
    page.wait_for_function("window.viewer.element.dataset.draws > 1")

    after = _point(page, 20.5, 30.5)
    assert math.dist(before, after) > 50
    _wait_annotated(page, 20.5, 30.5)
    _wait_annotated(page, 28.5, 30.5)  # still along the whole segment


def test_clicking_an_annotation_selects_it_and_delete_removes_it(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})
    first = {"type": "length", "image": 0, "points": [[10.5, 10.5], [50.5, 10.5]]}
    second = {"type": "arrow", "image": 0, "points": [[10.5, 40.5], [50.5, 40.5]]}
    page.evaluate("(l) => window.viewer.setState({annotations: l})", [first, second])
    page.locator(".claripacs-viewer").focus()
    page.keyboard.press("m")

    _click(page, 30.5, 40.5)
    chosen = page.evaluate("window.viewer.selectedAnnotation")
    page.keyboard.press("Delete")

    assert chosen == 1
    assert _state(page)["annotations"] == [first]
    assert page.evaluate("window.changes.at(-1).changed") == ["annotations"]
    assert page.evaluate("window.viewer.selectedAnnotation") == -1


def test_dragging_a_selected_annotation_moves_it(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]}, {"tool": "ellipse"})
    ellipse = {"type": "ellipse", "image": 0, "points": [[10.5, 10.5], [30.5, 30.5]]}
    page.evaluate("(a) => window.viewer.setState({annotations: [a]})", ellipse)

    _drag(page, (20.5, 20.5), (30.5, 25.5))

    [moved] = _state(page)["annotations"]
    assert np.allclose(moved["points"], [[20.5, 15.5], [40.5, 35.5]], atol=0.25)


def test_clear_removes_the_annotations_of_the_image_shown(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4, [AIR] * 4]})
    here = {"type": "arrow", "image": 0, "points": [[10, 10], [20, 20]]}
    there = {"type": "arrow", "image": 1, "points": [[10, 10], [20, 20]]}
    page.evaluate("(l) => window.viewer.setState({annotations: l})", [here, there])

    page.get_by_role("button", name="Clear").click()

    assert _state(page)["annotations"] == [there]


def test_key_image_toggles_by_key_and_button_and_shows_in_the_overlay(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4] * 3})
    button = page.get_by_role("button", name="Key image")
    overlay = page.locator(".cpv-overlay-key")
    page.locator(".claripacs-viewer").focus()

    page.keyboard.press("k")
    first = _state(page)["keyImages"]
    shown = overlay.is_visible()
    page.keyboard.press("End")
    button.click()
    both = _state(page)["keyImages"]
    page.locator(".claripacs-viewer").focus()
    page.keyboard.press("k")

    assert first == [0]
    assert shown
    assert both == [0, 2]
    assert _state(page)["keyImages"] == [0]
    assert overlay.is_hidden()
    assert button.get_attribute("aria-pressed") == "false"
    assert page.evaluate("window.changes.at(-1).changed") == ["keyImages"]
    page.keyboard.press("Home")
    assert button.get_attribute("aria-pressed") == "true"
    assert overlay.inner_text() == "Key image"


def test_annotation_tools_are_labelled_buttons_with_keys(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})

    titles = {
        name: page.get_by_role("button", name=name, exact=True).get_attribute("title")
        for name in ["Arrow", "Text", "Length", "Ellipse", "Angle"]
    }

    assert titles == {
        "Arrow": "Arrow with the left mouse button (A)",
        "Text": "Text with the left mouse button (T)",
        "Length": "Length with the left mouse button (M)",
        "Ellipse": "Ellipse with the left mouse button (E)",
        "Angle": "Angle with the left mouse button (G)",
    }


# ---- wheel and overlay --------------------------------------------------------------


def test_ctrl_wheel_zooms_about_the_pointer_and_plain_wheel_scrolls(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4, [WATER] * 4]})
    pointer = _point(page, 16.5, 20.5)
    page.mouse.move(*pointer)

    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)
    page.keyboard.up("Control")
    page.wait_for_function("window.viewer.getState().zoom > 1")
    zoomed = _state(page)
    still_under_pointer = _point(page, 16.5, 20.5)
    page.mouse.wheel(0, 100)
    page.wait_for_function("window.viewer.getState().image === 1")

    assert zoomed["zoom"] == pytest.approx(math.exp(0.4), rel=1e-6)
    assert zoomed["image"] == 0
    assert math.dist(still_under_pointer, pointer) < 1
    assert _state(page)["zoom"] == zoomed["zoom"]


def test_meta_wheel_zooms_out_too(page: Page, harness_url: str) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4, [WATER] * 4]})
    page.mouse.move(*_point(page, 32, 32))

    page.keyboard.down("Meta")
    page.mouse.wheel(0, 100)
    page.keyboard.up("Meta")

    page.wait_for_function("window.viewer.getState().zoom < 1")
    assert _state(page)["image"] == 0


def test_overlay_shows_zoom_with_100_percent_at_one_image_pixel_per_screen_pixel(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[AIR] * 4]})
    zoom = page.locator(".cpv-overlay-zoom")
    fitted = zoom.inner_text()
    width = _point(page, 64, 0)[0] - _point(page, 0, 0)[0]

    page.locator(".cpv-stage").dblclick()
    page.wait_for_function(
        "document.querySelector('.cpv-overlay-zoom').textContent === 'Zoom 100%'"
    )

    assert fitted == f"Zoom {round(width / 64 * 100)}%"
    assert _point(page, 64, 0)[0] - _point(page, 0, 0)[0] == pytest.approx(64)
