"""The JS viewer (viewer.js) in real Chromium, fed synthetic frames by a harness."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from claripacs_jupyter.dicom import image_info, raw_frame, read, render
from tests.browser.harness_page import linear_window, mount
from tests.dicom.conftest import build_dataset, encode

pytestmark = pytest.mark.browser

# Stored int16 values with the usual CT rescale (slope 1, intercept -1024).
AIR, WATER, BONE, PADDING = 0, 1024, 2024, -2000
CT = {"rescale": [1, -1024], "modality": "CT"}


def _grey(page: Page, row: int, column: int) -> int:
    rgba = page.evaluate("([r, c]) => window.harness.pixelAt(r, c)", [row, column])
    assert rgba[0] == rgba[1] == rgba[2], f"not grey: {rgba}"
    assert rgba[3] == 255
    return int(rgba[0])


def _redraw(page: Page, action: str, arg: Any = None) -> None:
    """Run `action` in the page and wait until the viewer has drawn again."""
    draws = page.evaluate("window.harness.draws()")
    page.evaluate(action, arg)
    image = page.evaluate("window.viewer.getState().image")
    page.evaluate("([i, d]) => window.harness.waitDrawn(i, d)", [image, draws])


def test_gray_frame_displays_modality_values_through_the_window(
    page: Page, harness_url: str
) -> None:
    spec = {**CT, "frames": [[AIR, WATER, BONE, WATER + 40]]}

    state = mount(page, harness_url, spec)

    assert state["window"] == {
        "center": 40,
        "width": 400,
        "function": None,
        "lut": None,
    }
    assert _grey(page, 10, 10) == linear_window(-1024, 40, 400) == 0
    assert _grey(page, 10, 50) == linear_window(0, 40, 400)
    assert _grey(page, 50, 10) == linear_window(1000, 40, 400) == 255
    assert _grey(page, 50, 50) == linear_window(40, 40, 400)
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("dtype", "values", "rescale"),
    [
        ("uint8", [0, 100, 200, 255], [1, 0]),
        ("int8", [-128, -10, 10, 127], [2, 0]),
        ("uint16", [0, 1000, 40000, 65535], [0.05, -100]),
        ("uint32", [0, 70000, 140000, 4000000], [0.01, 0]),
        ("int32", [-100000, 0, 50000, 100000], [0.01, 0]),
        ("float32", [-1.5, 0, 0.25, 1000], [1, 0]),
    ],
)
def test_every_dtype_uses_its_rescale_and_the_window(
    page: Page, harness_url: str, dtype: str, values: list[float], rescale: list
) -> None:
    window = {"center": 300, "width": 700}
    spec = {"dtype": dtype, "rescale": rescale, "frames": [values]}

    mount(page, harness_url, spec, {"window": window})

    shown = [_grey(page, r, c) for r, c in [(10, 10), (10, 50), (50, 10), (50, 50)]]
    expected = [linear_window(v * rescale[0] + rescale[1], 300, 700) for v in values]
    assert shown == expected


def test_monochrome1_inverts_but_padding_stays_black(
    page: Page, harness_url: str
) -> None:
    spec = {
        **CT,
        "invert": True,
        "padding": [PADDING, PADDING],
        "frames": [[PADDING, AIR, WATER, BONE]],
    }

    mount(page, harness_url, spec)

    assert _grey(page, 10, 10) == 0  # padding: black, not inverted to white
    assert _grey(page, 10, 50) == 255  # air: below the window, inverted to white
    assert _grey(page, 50, 10) == 255 - linear_window(0, 40, 400)
    assert _grey(page, 50, 50) == 0


def test_rgb_frames_are_drawn_as_they_are(page: Page, harness_url: str) -> None:
    colours = [[166, 141, 52], [63, 87, 176], [158, 158, 158], [255, 0, 0]]
    spec = {"kind": "rgb", "dtype": "uint8", "frames": [colours]}

    mount(page, harness_url, spec)

    for (row, column), rgb in zip(
        [(10, 10), (10, 50), (50, 10), (50, 50)], colours, strict=True
    ):
        assert (
            page.evaluate("([r, c]) => window.harness.pixelAt(r, c)", [row, column])[:3]
            == rgb
        )


def test_non_square_pixels_keep_the_physical_aspect(
    page: Page, harness_url: str
) -> None:
    # 64 rows of 1 mm and 64 columns of 0.5 mm: half as wide as high
    spec = {**CT, "pixel_spacing": [1.0, 0.5], "frames": [[AIR, AIR, AIR, AIR]]}
    mount(page, harness_url, spec)

    top_left = page.evaluate("window.harness.point(0, 0)")
    bottom_right = page.evaluate("window.harness.point(63, 63)")

    width = bottom_right["x"] - top_left["x"]
    height = bottom_right["y"] - top_left["y"]
    assert height == pytest.approx(2 * width, rel=0.01)


def test_first_image_is_fetched_first_then_its_neighbours(
    page: Page, harness_url: str
) -> None:
    frames = [[k, k, k, k] for k in range(20)]

    mount(page, harness_url, {**CT, "frames": frames}, {"image": 10})
    page.wait_for_function("window.viewer.element.dataset.loaded === '20'")

    order = page.evaluate("window.source.requests")
    assert order[0] == 10
    assert set(order[1:5]) == {9, 11, 8, 12}
    assert sorted(order) == list(range(20))


def test_wheel_keys_and_slider_scroll_the_series(page: Page, harness_url: str) -> None:
    frames = [[WATER + 10 * k] * 4 for k in range(12)]
    mount(page, harness_url, {**CT, "frames": frames})
    page.wait_for_function("window.viewer.element.dataset.loaded === '12'")
    first = _grey(page, 10, 10)
    stage = page.locator(".cpv-stage")
    box = stage.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.mouse.wheel(0, 100)
    page.wait_for_function("window.viewer.element.dataset.drawnImage === '1'")
    after_wheel = _grey(page, 10, 10)
    page.locator(".claripacs-viewer").focus()
    positions = []
    for key in ["ArrowDown", "ArrowRight", "ArrowUp", "End", "Home", "PageDown"]:
        page.keyboard.press(key)
        positions.append(page.evaluate("window.viewer.getState().image"))
    page.locator(".cpv-slider").fill("7")

    assert after_wheel == linear_window(10, 40, 400) != first
    assert positions == [2, 3, 2, 11, 0, 1]
    page.wait_for_function("window.viewer.element.dataset.drawnImage === '6'")
    assert page.locator(".cpv-overlay-image").inner_text() == "Image 7 / 12"
    assert _grey(page, 10, 10) == linear_window(60, 40, 400)


def test_right_drag_changes_the_window_and_the_picture(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[WATER] * 4]})
    before = _grey(page, 10, 10)
    box = page.locator(".cpv-stage").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.move(x, y)
    page.mouse.down(button="right")
    page.mouse.move(x + 40, y + 60, steps=4)
    page.mouse.up(button="right")
    page.wait_for_function("window.viewer.element.dataset.window !== '40/400'")
    state = page.evaluate("window.viewer.getState()")
    page.wait_for_function(
        "window.viewer.element.dataset.window === "
        f"'{state['window']['center']}/{state['window']['width']}'"
    )
    page.evaluate("window.harness.waitDrawn(0, 0)")

    assert state["window"]["width"] > 400
    assert state["window"]["center"] > 40
    expected = linear_window(0, state["window"]["center"], state["window"]["width"])
    assert expected != before
    page.wait_for_function(
        f"window.harness.pixelAt(10, 10)[0] === {expected}", timeout=10_000
    )
    assert "W " in page.locator(".cpv-overlay-window").inner_text()


def test_left_drag_windows_when_the_wl_tool_is_chosen(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[WATER] * 4, [AIR] * 4]})
    page.get_by_role("button", name="W/L").click()
    box = page.locator(".cpv-stage").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 30, y, steps=3)
    page.mouse.up()

    state = page.evaluate("window.viewer.getState()")
    assert state["tool"] == "window"
    assert state["image"] == 0
    assert state["window"]["width"] < 400
    pressed = page.get_by_role("button", name="W/L").get_attribute("aria-pressed")
    assert pressed == "true"


def test_dragging_away_from_a_voi_lut_goes_on_with_the_function(
    page: Page, harness_url: str
) -> None:
    # an inverse ramp over -1024..1023: air white; its window spans that input
    lut = {"first": -1024, "bits": 12, "data": [4095 - 2 * i for i in range(2048)]}
    lut_window = {"center": 0, "width": 2048, "name": "Inverse ramp", "lut": 0}
    spec = {
        **CT,
        "voi_luts": [lut],
        "windows": [{**lut_window, "function": None}],
        "default_window": {**lut_window, "function": None},
        "frames": [[AIR, WATER, BONE, WATER]],
    }
    mount(page, harness_url, spec)
    with_lut = _grey(page, 10, 10)
    lut_label = page.locator(".cpv-overlay-window").inner_text()
    box = page.locator(".cpv-stage").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.move(x, y)
    page.mouse.down(button="right")
    page.mouse.move(x + 40, y + 60, steps=4)
    page.mouse.up(button="right")
    page.wait_for_function("window.viewer.getState().window.lut === null")
    dragged = page.evaluate("window.viewer.getState().window")
    expected = linear_window(-1024, dragged["center"], dragged["width"])
    page.wait_for_function(
        f"window.harness.pixelAt(10, 10)[0] === {expected}", timeout=10_000
    )
    dragged_label = page.locator(".cpv-overlay-window").inner_text()
    page.locator(".claripacs-viewer").focus()
    _redraw(page, "() => window.viewer.setState({window: null})")
    back = page.evaluate("window.viewer.getState().window")

    assert with_lut == 255
    assert lut_label == "Inverse ramp"
    assert dragged["function"] is None
    assert dragged["width"] > 2048
    assert dragged["center"] > 0
    assert dragged_label.startswith("W ")
    assert back["lut"] == 0
    assert _grey(page, 10, 10) == 255
    assert page.locator(".cpv-overlay-window").inner_text() == "Inverse ramp"


def test_a_voi_lut_is_a_preset_and_its_key_brings_it_back(
    page: Page, harness_url: str
) -> None:
    lut = {"first": -1024, "bits": 8, "data": [200] * 2048}
    windows = [
        {"center": 40, "width": 400, "name": "", "function": None, "lut": None},
        {"center": 0, "width": 2048, "name": "Flat", "function": None, "lut": 0},
    ]
    mount(
        page,
        harness_url,
        {**CT, "voi_luts": [lut], "windows": windows, "frames": [[WATER] * 4]},
    )
    through_window = _grey(page, 10, 10)

    page.locator(".claripacs-viewer").focus()
    draws = page.evaluate("window.harness.draws()")
    page.keyboard.press("7")
    page.wait_for_function("window.viewer.element.dataset.window === '0/2048'")
    page.evaluate("(d) => window.harness.waitDrawn(0, d)", draws)
    state = page.evaluate("window.viewer.getState().window")

    assert through_window == linear_window(0, 40, 400)
    assert state == {"center": 0, "width": 2048, "function": None, "lut": 0}
    assert _grey(page, 10, 10) == 200
    assert page.locator(".cpv-preset").last.get_attribute("title") == (
        "The file's VOI LUT (7)"
    )


def test_a_window_can_name_its_own_voi_function(page: Page, harness_url: str) -> None:
    # the file's function is SIGMOID; a CT preset has none and takes the file's
    spec = {**CT, "voi_function": "SIGMOID", "frames": [[WATER + 100] * 4]}
    mount(page, harness_url, spec)
    sigmoid = _grey(page, 10, 10)

    _redraw(
        page,
        "() => window.viewer.setState({window: "
        "{center: 80, width: 100, function: 'LINEAR_EXACT'}})",
    )

    assert sigmoid == math.floor(255 / (1 + math.exp(-4 * (100 - 40) / 400)) + 0.5)
    assert sigmoid != linear_window(100, 40, 400)
    assert _grey(page, 10, 10) == 179  # (100 - 80) / 100 * 255 + 127.5 = 178.5


def test_presets_are_buttons_and_keys_with_the_files_own_windows(
    page: Page, harness_url: str
) -> None:
    windows = [{"center": 450, "width": 790, "name": ""}, {"center": 200, "width": 443}]
    mount(page, harness_url, {**CT, "windows": windows, "frames": [[WATER] * 4]})

    page.get_by_role("button", name="Lung").click()
    lung = page.evaluate("window.viewer.getState().window")
    page.locator(".claripacs-viewer").focus()
    page.keyboard.press("3")
    bone = page.evaluate("window.viewer.getState().window")
    page.keyboard.press("7")
    second_file_window = page.evaluate("window.viewer.getState().window")
    labels = page.locator(".cpv-preset").all_inner_texts()

    assert lung == {"center": -600, "width": 1500, "function": None, "lut": None}
    assert bone == {"center": 300, "width": 2000, "function": None, "lut": None}
    assert second_file_window == {
        "center": 200,
        "width": 443,
        "function": None,
        "lut": None,
    }
    assert labels == ["Soft tissue", "Lung", "Bone", "Brain", "CTA", "File 1", "File 2"]


def test_ct_presets_are_not_offered_for_other_modalities(
    page: Page, harness_url: str
) -> None:
    spec = {"modality": "MR", "dtype": "uint16", "frames": [[0, 100, 200, 300]]}

    mount(page, harness_url, spec)

    assert page.locator(".cpv-preset").count() == 0


def test_state_changes_are_reported_and_set_state_moves_the_viewer(
    page: Page, harness_url: str
) -> None:
    frames = [[WATER + k] * 4 for k in range(5)]
    mount(page, harness_url, {**CT, "frames": frames})

    page.evaluate("window.viewer.setState({image: 3, window: {center: 0, width: 100}})")
    page.wait_for_function("window.viewer.element.dataset.drawnImage === '3'")
    page.evaluate("window.viewer.setState({image: 3})")  # no change, no report

    changes = page.evaluate("window.changes")
    assert changes[-1]["changed"] == ["image", "window"]
    assert changes[-1]["state"]["image"] == 3
    assert changes[-1]["state"]["window"] == {
        "center": 0,
        "width": 100,
        "function": None,
        "lut": None,
    }
    assert _grey(page, 10, 10) == linear_window(3, 0, 100)


def test_a_failed_frame_is_reported_in_the_viewer(page: Page, harness_url: str) -> None:
    frames = [[WATER] * 4, [AIR] * 4]
    mount(page, harness_url, {**CT, "frames": frames, "failAt": 1})

    page.keyboard.press("Tab")  # focus the viewer
    page.locator(".claripacs-viewer").focus()
    page.keyboard.press("ArrowDown")

    status = page.get_by_role("status")
    status.wait_for()
    assert "synthetic failure" in status.inner_text()


def test_series_picker_switches_series(page: Page, harness_url: str) -> None:
    first = {**CT, "frames": [[WATER] * 4] * 3}
    second = {**CT, "frames": [[AIR] * 4] * 5}
    page.goto(harness_url)
    page.wait_for_function("window.harnessReady === true")
    page.evaluate(
        "([a, b]) => window.harness.mount(a, {}, [{uid: 'A', spec: a},"
        " {uid: 'B', spec: b}])",
        [first, second],
    )

    page.get_by_label("Series").select_option("B")
    page.wait_for_function("window.viewer.getState().series === 'B'")
    page.wait_for_function("window.viewer.element.dataset.total === '5'")
    page.evaluate("window.harness.waitDrawn(0, 0)")

    assert page.locator(".cpv-overlay-image").inner_text() == "Image 1 / 5"
    assert _grey(page, 10, 10) == 0


def test_controls_are_labelled_for_assistive_technology(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[WATER] * 4] * 3})

    label = page.locator("canvas").get_attribute("aria-label")

    assert label == "CT image 1 of 3, window 400 level 40"
    assert page.get_by_role("slider", name="Image number").count() == 1
    for name in ["Scroll", "W/L", "Zoom", "Pan", "Reset"]:
        assert page.get_by_role("button", name=name, exact=True).count() == 1


def test_without_a_file_window_the_data_range_sets_the_window(
    page: Page, harness_url: str
) -> None:
    # no window and no value_range in image_info: the viewer takes the range
    # of the pixels on screen, padding left out, like dicom.default_window
    spec = {
        **CT,
        "default_window": None,
        "value_range": None,
        "padding": [PADDING, PADDING],
        "frames": [[PADDING, AIR + 124, WATER, 2091]],
    }

    state = mount(page, harness_url, spec)

    low, high = -900, 1067
    assert state["window"] == {
        "center": (low + high + 1) / 2,
        "width": high - low + 1,
        "function": None,
        "lut": None,
    }
    assert _grey(page, 10, 50) == 0
    assert _grey(page, 50, 50) == 255


def _shows_what_render_makes(
    page: Page, harness_url: str, harness_root: Path, stem: str, ds: Dataset
) -> dict:
    """Show frame 0 of `ds` in the real viewer; compare with dicom.render."""
    (harness_root / f"{stem}.json").write_text(json.dumps(image_info(ds)))
    (harness_root / f"{stem}.bin").write_bytes(raw_frame(ds, 0))
    picture = render(ds, 0)
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    (harness_root / f"{stem}.rgb").write_bytes(picture.tobytes())
    page.goto(harness_url)
    page.wait_for_function("window.harnessReady === true", timeout=30_000)
    result = page.evaluate("(name) => window.compareWithRender(name)", stem)
    result["expected_samples"] = picture.size
    return result


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # no window in the file: the data range
        "693_UNCR.dcm",  # padding value -2000 shows black
        "RG3_UNCR.dcm",  # MONOCHROME1, 10-bit
        "MR_small.dcm",
        "US1_UNCR.dcm",  # RGB
        "OBXXXX1A.dcm",  # palette colour
        "examples_overlay.dcm",  # several windows, the first one used
        "vlut_04.dcm",  # a VOI LUT (16-bit entries) and no window
    ],
)
def test_viewer_shows_exactly_what_dicom_render_makes(
    page: Page, harness_url: str, harness_root: Path, name: str
) -> None:
    ds = read(get_testdata_file(name))

    result = _shows_what_render_makes(
        page, harness_url, harness_root, name.removesuffix(".dcm"), ds
    )

    assert result["samples"] == result["expected_samples"]
    assert result["differing"] == 0, result["first"]


def _ramp(dtype: str, start: int = 0) -> np.ndarray:
    """A 64 x 64 image of consecutive stored values from `start`."""
    return np.arange(start, start + 64 * 64).reshape(64, 64).astype(dtype)


def _voi_lut_item(first: int, count: int, bits: int) -> Dataset:
    """A VOI LUT Sequence item with a curved (square root) table."""
    item = Dataset()
    item.LUTDescriptor = [count, first, bits]
    top = 2**bits - 1
    table = [round(top * math.sqrt(i / (count - 1))) for i in range(count)]
    item.add_new(0x00283006, "US", table)  # LUT Data, US rather than OW
    item.LUTExplanation = "curve"
    return item


# Files built with the dicom tests' builder: each VOI function and the
# Presentation LUT Shape, with fractional modality values so that results fall
# on halves and the rounding is tested too.
VOI_FILES = {
    "sigmoid": lambda: build_dataset(
        _ramp("int16", -2048),
        WindowCenter=40,
        WindowWidth=400,
        VOILUTFunction="SIGMOID",
    ),
    "sigmoid_float": lambda: build_dataset(
        _ramp("int16", -2048).astype(np.float32) / 4,
        WindowCenter=-10.5,
        WindowWidth=90,
        VOILUTFunction="SIGMOID",
    ),
    "linear_exact": lambda: build_dataset(
        _ramp("uint16"),
        RescaleSlope=0.25,
        RescaleIntercept=-100,
        WindowCenter=50,
        WindowWidth=102,
        VOILUTFunction="LINEAR_EXACT",
    ),
    "inverse": lambda: build_dataset(
        _ramp("uint16"),
        WindowCenter=2000,
        WindowWidth=2001,
        PresentationLUTShape="INVERSE",
        PixelPaddingValue=0,
    ),
    "voi_lut_curve": lambda: build_dataset(
        _ramp("int16", -1000),
        VOILUTSequence=[_voi_lut_item(first=-900, count=2000, bits=12)],
    ),
    "monochrome1_identity": lambda: build_dataset(
        _ramp("uint16"),
        PhotometricInterpretation="MONOCHROME1",
        WindowCenter=2000,
        WindowWidth=3000,
        PresentationLUTShape="IDENTITY",
    ),
}


@pytest.mark.parametrize("stem", sorted(VOI_FILES))
def test_viewer_shows_the_voi_functions_and_lut_shapes_as_render_does(
    page: Page, harness_url: str, harness_root: Path, stem: str
) -> None:
    ds = read(encode(VOI_FILES[stem]()))

    result = _shows_what_render_makes(page, harness_url, harness_root, stem, ds)

    assert result["samples"] == result["expected_samples"]
    assert result["differing"] == 0, result["first"]


def test_position_names_the_image_point_at_the_centre_on_each_axis(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "rows": 32, "columns": 64, "frames": [[WATER] * 4]})

    page.evaluate("window.viewer.setState({zoom: 2, position: {x: 16, y: 24}})")
    moved = page.evaluate("window.viewer.getState()")
    page.evaluate("window.viewer.setState({position: {x: 16}})")
    half = page.evaluate("window.viewer.getState()")

    assert moved["pan"] == {"x": 0.25, "y": -0.25}
    assert moved["position"] == {"x": 16, "y": 24}
    assert page.evaluate("window.changes")[-2]["changed"] == ["zoom", "pan"]
    assert half["position"] == {"x": 16, "y": 16}  # no y: the image's middle


def test_to_image_turns_a_canvas_point_back_into_image_pixels_when_zoomed(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "rows": 32, "columns": 64, "frames": [[WATER] * 4]})
    page.evaluate("window.viewer.setState({zoom: 3, position: {x: 10, y: 20}})")

    answer = page.evaluate(
        """() => {
          const v = window.viewer;
          const p = v.toCanvas(7, 50); // the centre of pixel (row 7, column 50)
          const canvas = v.element.querySelector("canvas");
          return {point: v.toImage(p.x, p.y), size: v.imageSize,
                  stage: canvas.parentElement === v.stage};
        }"""
    )

    assert answer["point"] == pytest.approx({"x": 50.5, "y": 7.5})
    assert answer["size"] == {"rows": 32, "columns": 64}
    assert answer["stage"]


def test_simple_mode_hides_the_toolbar_until_set_back(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, {**CT, "frames": [[WATER] * 4]}, {"mode": "simple"})
    toolbar = page.locator(".cpv-toolbar")
    hidden = toolbar.is_hidden()

    page.evaluate("window.viewer.setState({mode: 'normal'})")

    assert hidden
    assert toolbar.is_visible()
    assert page.evaluate("window.viewer.getState().mode") == "normal"
    assert page.evaluate("window.changes")[-1]["changed"] == ["mode"]
