"""viewer.js on multi-frame images: each frame's own values, and cine playback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from claripacs_jupyter.dicom import image_info, raw_frame, render
from tests.browser.harness_page import linear_window, mount
from tests.dicom.test_transport import _varied

pytestmark = pytest.mark.browser

# Stored int16 values with the usual CT rescale (slope 1, intercept -1024).
AIR, WATER, BONE = 0, 1024, 2024
CT = {"rescale": [1, -1024], "modality": "CT"}
SOFT = {"center": 40, "width": 400, "name": "SOFT", "function": None, "lut": None}
HIGH = {"center": 1000, "width": 200, "name": "HIGH", "function": None, "lut": None}


def _show(page: Page, image: int) -> None:
    """Scroll to `image` and wait until the viewer has drawn it."""
    draws = page.evaluate("window.harness.draws()")
    page.evaluate("(i) => window.viewer.setState({ image: i })", image)
    page.evaluate("([i, d]) => window.harness.waitDrawn(i, d)", [image, draws])


def _greys(page: Page) -> list[int]:
    """The grey values shown at the centres of the four quadrants."""
    shown = []
    for row, column in [(10, 10), (10, 50), (50, 10), (50, 50)]:
        rgba = page.evaluate("([r, c]) => window.harness.pixelAt(r, c)", [row, column])
        assert rgba[0] == rgba[1] == rgba[2], f"not grey: {rgba}"
        shown.append(int(rgba[0]))
    return shown


def _two_window_frames() -> dict:
    values = [AIR, WATER + 40, WATER + 950, WATER + 1050]
    return {
        **CT,
        "multiframe": True,
        "frames": [values, values],
        "windows": [SOFT],
        "default_window": SOFT,
        "frames_info": [{"windows": [SOFT]}, {"windows": [HIGH]}],
    }


def test_enhanced_frames_each_display_with_their_own_window(
    page: Page, harness_url: str
) -> None:
    modality = [-1024, 40, 950, 1050]

    first = mount(page, harness_url, _two_window_frames())
    first_shown = _greys(page)
    _show(page, 1)
    second = page.evaluate("window.viewer.getState()")
    second_shown = _greys(page)

    assert first["window"]["center"] == 40 and first["window"]["width"] == 400
    assert first_shown == [linear_window(v, 40, 400) for v in modality]
    assert second["window"]["center"] == 1000 and second["window"]["width"] == 200
    assert second_shown == [linear_window(v, 1000, 200) for v in modality]
    assert first_shown != second_shown
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_window_the_user_chose_stays_on_every_frame(
    page: Page, harness_url: str
) -> None:
    modality = [-1024, 40, 950, 1050]
    mount(page, harness_url, _two_window_frames())
    page.evaluate("window.viewer.setState({ window: { center: 500, width: 2000 } })")

    _show(page, 1)
    kept = page.evaluate("window.viewer.getState().window")
    kept_shown = _greys(page)
    draws = page.evaluate("window.harness.draws()")
    page.evaluate("window.viewer.element.focus()")
    page.keyboard.press("r")
    page.evaluate("(d) => window.harness.waitDrawn(1, d)", draws)
    reset = page.evaluate("window.viewer.getState().window")

    assert (kept["center"], kept["width"]) == (500, 2000)
    assert kept_shown == [linear_window(v, 500, 2000) for v in modality]
    assert (reset["center"], reset["width"]) == (1000, 200)


def test_enhanced_frames_use_their_own_rescale_and_pixel_spacing(
    page: Page, harness_url: str
) -> None:
    values = [0, 100, 200, 300]
    spec = {
        "multiframe": True,
        "frames": [values, values],
        "rescale": [1, 0],
        "frames_info": [
            {"rescale": [1, 0], "pixel_spacing": [1, 1]},
            {"rescale": [2, -100], "pixel_spacing": [2, 1]},
        ],
    }
    window = {"center": 150, "width": 400}

    mount(page, harness_url, spec, {"window": window})
    first_shown = _greys(page)
    first_box = page.evaluate(
        "[window.harness.point(0, 0), window.harness.point(63, 63)]"
    )
    _show(page, 1)
    second_shown = _greys(page)
    second_box = page.evaluate(
        "[window.harness.point(0, 0), window.harness.point(63, 63)]"
    )

    assert first_shown == [linear_window(v, 150, 400) for v in values]
    assert second_shown == [linear_window(2 * v - 100, 150, 400) for v in values]

    def aspect(box: list[dict]) -> float:
        return (box[1]["y"] - box[0]["y"]) / (box[1]["x"] - box[0]["x"])

    assert aspect(first_box) == pytest.approx(1, rel=1e-3)
    assert aspect(second_box) == pytest.approx(2, rel=1e-3)


def test_an_enhanced_frame_opens_with_its_own_voi_lut_and_function(
    page: Page, harness_url: str
) -> None:
    values = [0, 1, 2, 3]
    lut = {"first": 0, "bits": 8, "data": [255, 170, 85, 0]}
    lut_window = {"center": 2, "width": 4, "name": "LUT", "function": None, "lut": 0}
    sigmoid = {"center": 2, "width": 4, "name": "S", "function": None, "lut": None}
    spec = {
        "dtype": "uint8",
        "multiframe": True,
        "frames": [values, values],
        "windows": [sigmoid],
        "default_window": sigmoid,
        "voi_function": "SIGMOID",
        "frames_info": [
            {"windows": [sigmoid], "voi_function": "SIGMOID", "voi_luts": []},
            {"windows": [lut_window], "voi_function": "LINEAR", "voi_luts": [lut]},
        ],
    }

    mount(page, harness_url, spec)
    first_shown = _greys(page)
    _show(page, 1)
    second_shown = _greys(page)

    expected = [
        math.floor(255 / (1 + math.exp(-4 * (v - 2) / 4)) + 0.5) for v in values
    ]
    assert first_shown == expected
    assert second_shown == [255, 170, 85, 0]


# ---- cine ----------------------------------------------------------------------

RECORD_IMAGES = """() => {
  window.shownImages = [];
  window.viewer.onChange((s, changed) => {
    if (changed.includes("image")) window.shownImages.push(s.image);
  });
}"""


def _stack(count: int, **extra: object) -> dict:
    frames = [[k * 100, k * 100, k * 100, k * 100] for k in range(count)]
    return {**CT, "multiframe": True, "frames": frames, **extra}


def test_cine_loops_through_the_stack_and_stops_on_pause(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, _stack(4))
    page.evaluate(RECORD_IMAGES)
    page.evaluate("window.viewer.fps = 60")

    page.click(".cpv-play")
    page.wait_for_function("window.shownImages.length >= 6")
    page.click(".cpv-play")
    stopped_at = page.evaluate("window.viewer.getState().image")
    seen = page.evaluate("window.shownImages.length")
    # thirty animation frames: several cine periods at 60 frames per second
    page.evaluate(
        """() => new Promise((resolve) => {
             let left = 30;
             const tick = () => (--left ? requestAnimationFrame(tick) : resolve());
             requestAnimationFrame(tick);
           })"""
    )

    shown = page.evaluate("window.shownImages")
    assert shown[:6] == [1, 2, 3, 0, 1, 2]
    assert page.evaluate("window.viewer.playing") is False
    assert page.get_attribute(".cpv-play", "aria-pressed") == "false"
    assert page.evaluate("window.viewer.getState().image") == stopped_at
    assert page.evaluate("window.shownImages.length") == seen


def test_cine_waits_for_an_image_not_yet_loaded_instead_of_skipping_it(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, _stack(4, delays={"2": 1500}), {"concurrency": 1})
    page.evaluate(RECORD_IMAGES)
    page.evaluate(
        """() => {
             window.blank = false;
             const status = window.viewer.element.querySelector(".cpv-status");
             new MutationObserver(() => {
               if (status.textContent.startsWith("Loading image")) window.blank = true;
             }).observe(status, { childList: true, subtree: true });
             window.viewer.fps = 60;
           }"""
    )

    page.evaluate("window.viewer.element.focus()")
    page.keyboard.press("c")
    page.wait_for_function("window.shownImages.length >= 5")
    page.keyboard.press("c")

    shown = page.evaluate("window.shownImages")
    assert shown[:5] == [1, 2, 3, 0, 1]
    assert page.evaluate("window.blank") is False
    assert page.evaluate("window.viewer.playing") is False


def test_cine_controls_show_for_stacks_with_a_default_rate_of_15_fps(
    page: Page, harness_url: str
) -> None:
    mount(page, harness_url, _stack(3))

    stack_cine_hidden = page.is_hidden(".cpv-cine")
    fps = page.input_value(".cpv-fps")
    page.fill(".cpv-fps", "24")
    page.dispatch_event(".cpv-fps", "change")
    chosen = page.evaluate("window.viewer.fps")
    mount(page, harness_url, {**CT, "frames": [[0, 0, 0, 0]]})
    single_cine_hidden = page.is_hidden(".cpv-cine")

    assert stack_cine_hidden is False
    assert fps == "15"
    assert chosen == 24
    assert single_cine_hidden is True


@pytest.mark.parametrize("frame", [0, 1])
def test_each_enhanced_frame_shows_exactly_what_dicom_render_makes(
    page: Page, harness_url: str, harness_root: Path, frame: int
) -> None:
    # frame 1 differs from frame 0 in window, VOI function, rescale and spacing
    ds = _varied()
    stem = f"enhanced_frame{frame}"
    (harness_root / f"{stem}.json").write_text(json.dumps(image_info(ds)))
    (harness_root / f"{stem}.bin").write_bytes(raw_frame(ds, frame))
    picture = np.repeat(render(ds, frame)[..., None], 3, axis=2)
    (harness_root / f"{stem}.rgb").write_bytes(picture.tobytes())
    page.goto(harness_url)
    page.wait_for_function("window.harnessReady === true", timeout=30_000)

    result = page.evaluate(
        "([name, frame]) => window.compareWithRender(name, frame)", [stem, frame]
    )

    assert result["samples"] == picture.size
    assert result["differing"] == 0, result["first"]
