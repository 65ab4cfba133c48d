"""Every interaction of the viewer, in both of its hosts, in real Chromium.

One JupyterLab runs for the whole module on a store with the six-slice CT case
(CT_small.dcm, 128 x 128 pixels of 0.661468 mm). The viewer module is the same
in its two hosts, and each test runs in both:

- "page": the standalone case page that the lab's server extension serves;
- "widget": the notebook `Viewer` in a JupyterLab notebook, where the kernel's
  traits must follow the view too.

Each test starts from the same view, set through the viewer's setState, drives
the viewer as a user would (mouse, wheel, keys, touch, the page's embedded API,
the kernel's traits) and checks the viewer's state, what the user sees (the
overlay, the canvas) and, in the notebook, the kernel's traits.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

from tests.browser.jupyter_lab import (
    SLICES,
    STEP_TIMEOUT_MS,
    Lab,
    lab_fixture,
    new_notebook,
    open_notebook,
    run_cell,
)

pytestmark = pytest.mark.browser

SIZE = 128  # rows and columns of CT_small.dcm
SPACING = 0.661468  # mm, its (0028,0030) *PixelSpacing*, rows and columns alike

#: How the viewer is found in each host.
VIEWER_OF = {
    "page": "window.claripacs_viewer",
    "widget": "document.querySelector('.claripacs-viewer').claripacsViewer",
}

#: The view every test starts from.
FRESH = {
    "image": 0,
    "window": None,
    "zoom": 1,
    "pan": {"x": 0, "y": 0},
    "tool": "scroll",
    "mode": "normal",
    "annotations": [],
    "keyImages": [],
    "linked": False,
}

#: The kernel's traits of the view every test starts from.
FRESH_TRAITS = {
    "image_index": 0,
    "zoom": 1.0,
    "tool": "scroll",
    "mode": "normal",
    "annotations": [],
    "key_images": [],
    "linked": False,
}

# Every CT value lies above -5000 HU: this window shows the whole image white on
# the black stage, so where the image lies on the canvas can be read off.
ALL_WHITE = {"center": -5000, "width": 1}

# What the canvas shows: a hash of its pixels, the box of its lit pixels (in
# canvas pixels) and how many pixels have the annotation colour (#ffd400).
PICTURE = """
(root) => {
  const canvas = root.querySelector("canvas");
  const data = canvas.getContext("2d")
    .getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 2166136261;
  let lit = 0;
  let yellow = 0;
  let sum = 0;
  const box = {left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity};
  for (let i = 0, k = 0; i < data.length; i += 4, k++) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    hash = Math.imul(hash ^ r ^ (g << 8) ^ (b << 16), 16777619) >>> 0;
    sum += r;
    if (r >= 180 && g >= 140 && b <= 90) yellow++;
    if (!r) continue;
    lit++;
    const x = k % canvas.width;
    const y = Math.floor(k / canvas.width);
    box.left = Math.min(box.left, x);
    box.right = Math.max(box.right, x + 1);
    box.top = Math.min(box.top, y);
    box.bottom = Math.max(box.bottom, y + 1);
  }
  return {hash, lit, yellow, mean: sum / (data.length / 4), box,
          dpr: window.devicePixelRatio || 1};
}
"""


@dataclass
class Host:
    """A page that shows the CT case's viewer, and how to reach the viewer."""

    kind: str
    page: Page
    viewer: str  # JS expression of the viewer object

    @property
    def root(self) -> Locator:
        return self.page.locator(".claripacs-viewer")

    @property
    def stage(self) -> Locator:
        return self.page.locator(".claripacs-viewer .cpv-stage")

    def js(self, source: str, arg: Any = None) -> Any:
        """Evaluate a JS function of (v, arg), `v` bound to the viewer."""
        return self.page.evaluate(
            f"(arg) => {{ const v = {self.viewer}; return ({source})(v, arg); }}", arg
        )

    def state(self) -> dict[str, Any]:
        return self.page.evaluate(f"{self.viewer}.getState()")

    def wait(self, condition: str, arg: Any = None) -> None:
        """Wait until `condition` holds of `s` (the state), `v` and `arg`."""
        self.page.wait_for_function(
            f"(arg) => {{ const v = {self.viewer}; const s = v.getState();"
            f" return {condition}; }}",
            arg=arg,
        )

    def overlay(self, name: str) -> str:
        return self.page.locator(f".claripacs-viewer .cpv-overlay-{name}").inner_text()


def _kernel(host: Host, code: str) -> str:
    """Run `code` in the notebook's kernel; return its stdout (or its error).

    Through the kernel of the open notebook, not in a new cell, so that the
    notebook keeps one cell and the viewer stays where the mouse finds it.
    """
    return host.page.evaluate(
        """async (code) => {
          const session = window.jupyterapp.shell.currentWidget.sessionContext;
          const future = session.session.kernel.requestExecute(
            {code, store_history: false});
          let out = "";
          future.onIOPub = (msg) => {
            const c = msg.content;
            if (msg.header.msg_type === "stream" && c.name === "stdout") out += c.text;
            if (msg.header.msg_type === "error") out += `${c.ename}: ${c.evalue}`;
          };
          await future.done;
          return out;
        }""",
        code,
    )


def _kernel_traits(host: Host, expected: dict[str, Any]) -> dict[str, Any]:
    """The kernel's traits named in `expected`, read until they are those.

    ipywidgets holds an update back while the one before is on its way, so the
    kernel may see the last move of the view a moment late.
    """
    names = list(expected)
    code = (
        f"import json\nprint(json.dumps({{n: getattr(viewer, n) for n in {names!r}}}))"
    )
    traits: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        traits = json.loads(_kernel(host, code))
        if traits == expected:
            break
    return traits


def _kernel_follows(host: Host, expected: dict[str, Any]) -> None:
    """In the notebook, the kernel's traits come to be `expected`."""
    if host.kind == "widget":
        assert _kernel_traits(host, expected) == expected


def _settle(host: Host) -> None:
    """Wait until the viewer has drawn the state it holds.

    Every image must be loaded and the one in the state drawn; the draw of a
    change is queued for the next animation frame, so two frames later it is
    on the canvas.
    """
    host.wait(
        "v.element.dataset.loaded === v.element.dataset.total"
        " && v.element.dataset.drawnImage === String(s.image)"
    )
    host.page.evaluate(
        "() => new Promise((done) => requestAnimationFrame("
        "() => requestAnimationFrame(done)))"
    )


def _picture(host: Host) -> dict[str, Any]:
    _settle(host)
    return host.root.evaluate(PICTURE)


def _centre(host: Host) -> tuple[float, float]:
    box = host.stage.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _page_point(host: Host, x: float, y: float) -> tuple[float, float]:
    """Where image point (x, y) (image pixels from the top left edge) is drawn."""
    point = host.js(
        """(v, [x, y]) => {
          const p = v.toCanvas(y - 0.5, x - 0.5);
          const r = v.element.querySelector("canvas").getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }""",
        [x, y],
    )
    return point[0], point[1]


def _drag(
    host: Host,
    start: tuple[float, float],
    end: tuple[float, float],
    button: str = "left",
) -> None:
    mouse = host.page.mouse
    mouse.move(*start)
    mouse.down(button=button)  # type: ignore[arg-type]
    mouse.move(*end, steps=6)
    mouse.up(button=button)  # type: ignore[arg-type]


def _drag_by(host: Host, dx: float, dy: float, button: str = "left") -> None:
    x, y = _centre(host)
    _drag(host, (x, y), (x + dx, y + dy), button)


def _press(host: Host, *keys: str) -> None:
    host.root.focus()
    for key in keys:
        host.page.keyboard.press(key)


def _window_label(window: dict[str, Any]) -> str:
    """The overlay's label of a window, as viewer.js writes it."""

    def number(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:.1f}"

    return f"W {number(window['width'])}  L {number(window['center'])}"


def _touch(host: Host, steps: list[list[tuple[float, float]]]) -> None:
    """Touch the screen: fingers down at steps[0], moved through the others, lifted.

    Each step gives every finger's place in page coordinates; Chromium turns
    the touches into pointer events as a touch screen's.
    """
    session = host.page.context.new_cdp_session(host.page)
    kinds = ["touchStart"] + ["touchMove"] * (len(steps) - 1)
    for kind, points in zip(kinds, steps, strict=True):
        fingers = [{"x": x, "y": y, "id": k} for k, (x, y) in enumerate(points)]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": fingers})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


lab = lab_fixture("interactions")


@pytest.fixture(scope="module", params=["page", "widget"])
def host(request: pytest.FixtureRequest, lab: Lab, browser: Browser) -> Iterator[Host]:
    """The CT case's viewer on the case page, or in a notebook of the lab."""
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, has_touch=True
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors  # type: ignore[attr-defined]
    if request.param == "page":
        page.goto(f"{lab.base}claripacs/case/{lab.accession}?token={lab.token}")
    else:
        new_notebook(lab, "interactions.ipynb")
        open_notebook(page, lab, "interactions.ipynb")
        run_cell(
            page,
            "from claripacs_jupyter import Viewer\n"
            f"viewer = Viewer({lab.accession!r})\nviewer",
        )
    page.wait_for_function(
        "document.querySelector('.claripacs-viewer')?.dataset.loaded === '6'",
        timeout=STEP_TIMEOUT_MS,
    )
    yield Host(request.param, page, VIEWER_OF[request.param])
    context.close()


@pytest.fixture(autouse=True)
def fresh(host: Host) -> Iterator[Host]:
    """The viewer at the first image, the file's window, fitted, no annotations."""
    host.js("(v, fresh) => { v.pause(); v.setState(fresh); }", FRESH)
    host.wait("s.image === 0 && s.window !== null")
    host.stage.scroll_into_view_if_needed()
    _settle(host)
    if host.kind == "widget":
        assert _kernel_traits(host, FRESH_TRAITS) == FRESH_TRAITS
        # None (the middle) until the view is first moved
        centred = "print(viewer.xpos in (None, 64.0) and viewer.ypos in (None, 64.0))"
        assert _kernel(host, centred) == "True\n"
    cells = _cells(host)

    yield host

    errors = host.page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "claripacs" in e.lower()] == []
    # the viewer's keys went to the viewer only, not to JupyterLab's shortcuts
    # too (1 makes a heading of a cell, A adds one, M makes it Markdown...)
    assert _cells(host) == cells


def _cells(host: Host) -> list[list[str]] | None:
    """Type and source of each cell of the notebook; None on the case page."""
    if host.kind != "widget":
        return None
    return host.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets"
        ".map((cell) => [cell.model.type, cell.model.sharedModel.getSource()])"
    )


# ---- scrolling through the images ----


def test_the_wheel_scrolls_one_image_a_notch(host: Host) -> None:
    first = _picture(host)
    host.page.mouse.move(*_centre(host))

    host.page.mouse.wheel(0, 100)
    host.wait("s.image === 1")
    host.page.mouse.wheel(0, 100)
    host.wait("s.image === 2")
    host.page.mouse.wheel(0, -100)
    host.wait("s.image === 1")
    host.page.mouse.wheel(0, 300)
    host.wait("s.image === 4")
    shown = _picture(host)

    assert host.state()["image"] == 4
    assert host.overlay("image") == f"Image 5 / {SLICES}"
    assert shown["hash"] != first["hash"]
    _kernel_follows(host, {"image_index": 4})


def test_arrow_keys_page_keys_home_and_end_move_through_the_images(
    host: Host,
) -> None:
    keys = [
        "ArrowDown",
        "ArrowRight",
        "ArrowLeft",
        "ArrowUp",
        "End",
        "Home",
        "PageDown",
        "End",
        "PageUp",
    ]
    images = []

    host.root.focus()
    for key in keys:
        host.page.keyboard.press(key)
        images.append(host.state()["image"])
    _settle(host)

    # six images: a page is one image
    assert images == [1, 2, 1, 0, 5, 0, 1, 5, 4]
    assert host.overlay("image") == f"Image 5 / {SLICES}"
    assert host.root.get_attribute("data-drawn-image") == "4"
    _kernel_follows(host, {"image_index": 4})


def test_keys_the_viewer_does_not_use_change_nothing_around_it(host: Host) -> None:
    before = host.state()

    # in JupyterLab's command mode: cut, delete, add below, hide the output,
    # select the next cell, copy, paste; and Escape
    _press(host, "x", "d", "d", "b", "o", "j", "y", "v", "Escape")

    assert host.state() == before
    assert host.root.is_visible()
    # the notebook's cells are checked after each test (the `fresh` fixture)


def test_a_drag_with_the_scroll_tool_moves_an_image_per_20_pixels(host: Host) -> None:
    first = _picture(host)

    _drag_by(host, 0, 70)
    down = host.state()["image"]
    _drag_by(host, 0, -25)
    shown = _picture(host)

    assert down == 3
    assert host.state()["image"] == 2
    assert host.overlay("image") == f"Image 3 / {SLICES}"
    assert shown["hash"] != first["hash"]
    _kernel_follows(host, {"image_index": 2})


def test_the_slider_shows_the_image_it_is_set_to(host: Host) -> None:
    slider = host.page.locator(".claripacs-viewer .cpv-slider")
    first = _picture(host)
    box = slider.bounding_box()
    assert box is not None

    # a click at the end of the track, then the slider's own keys
    host.page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    at_end = host.state()["image"]
    slider.press("ArrowLeft")
    slider.press("ArrowLeft")
    host.wait("s.image === 3")
    slider.press("2")  # the viewer's keys work on the slider too: lung window
    shown = _picture(host)

    assert at_end == SLICES - 1
    assert slider.input_value() == "4"
    assert host.overlay("image") == f"Image 4 / {SLICES}"
    assert host.overlay("window") == "W 1500  L -600"
    assert shown["hash"] != first["hash"]
    _kernel_follows(host, {"image_index": 3, "window_width": 1500.0})


def test_cine_plays_the_images_in_a_loop_until_paused(host: Host) -> None:
    play = host.page.locator(".claripacs-viewer .cpv-play")
    host.js(
        """(v) => {
          window.cineSeen = [];
          window.cineStop = v.onChange((s, changed) => {
            if (changed.includes("image")) window.cineSeen.push(s.image);
          });
        }"""
    )

    play.click()
    host.page.wait_for_function("window.cineSeen.length >= 8")
    playing = [host.root.get_attribute("data-playing"), play.inner_text()]
    _press(host, "c")  # C pauses, as the button does
    stopped = host.state()["image"]
    # ten animation frames: more than one image's time at 15 images a second
    host.page.evaluate(
        "() => new Promise((done) => { let n = 10; const tick = () => "
        "(--n ? requestAnimationFrame(tick) : done()); requestAnimationFrame(tick); })"
    )
    seen = host.page.evaluate("() => { window.cineStop(); return window.cineSeen; }")
    _settle(host)

    assert playing == ["true", "Pause"]
    # each image follows the one before, and the loop goes round
    assert seen[0] == 1
    assert all(b == (a + 1) % SLICES for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] == stopped == host.state()["image"]
    assert host.root.get_attribute("data-playing") == "false"
    assert play.inner_text() == "Play"
    assert host.overlay("image") == f"Image {stopped + 1} / {SLICES}"
    _kernel_follows(host, {"image_index": stopped})


# ---- window ----


def test_a_right_drag_changes_the_window_and_the_picture(host: Host) -> None:
    before = host.state()["window"]
    first = _picture(host)

    _drag_by(host, 60, -40, button="right")
    window = host.state()["window"]
    shown = _picture(host)

    assert window["width"] > before["width"]
    assert window["center"] < before["center"]
    assert host.state()["image"] == 0
    assert host.overlay("window") == _window_label(window)
    assert shown["mean"] != pytest.approx(first["mean"], abs=0.5)
    _kernel_follows(
        host, {"window_center": window["center"], "window_width": window["width"]}
    )


def test_preset_keys_choose_the_ct_windows(host: Host) -> None:
    windows, labels, pictures = {}, {}, {}

    for key in ["1", "3", "4", "5", "2"]:
        _press(host, key)
        windows[key] = host.state()["window"]
        labels[key] = host.overlay("window")
        pictures[key] = _picture(host)["hash"]

    expected = {
        "1": (40, 400),  # soft tissue
        "2": (-600, 1500),  # lung
        "3": (300, 2000),  # bone
        "4": (40, 80),  # brain
        "5": (170, 600),  # CTA
    }
    for key, (center, width) in expected.items():
        assert windows[key] == {
            "center": center,
            "width": width,
            "function": None,
            "lut": None,
        }
        assert labels[key] == f"W {width}  L {center}"
    assert len(set(pictures.values())) == len(expected)  # five pictures
    _kernel_follows(host, {"window_center": -600.0, "window_width": 1500.0})


def test_preset_buttons_choose_their_windows(host: Host) -> None:
    presets = host.page.locator(".claripacs-viewer .cpv-preset")

    presets.filter(has_text="Bone").click()
    bone = host.state()["window"]
    presets.filter(has_text="Brain").click()
    shown = _picture(host)

    assert presets.all_inner_texts() == ["Soft tissue", "Lung", "Bone", "Brain", "CTA"]
    assert (bone["center"], bone["width"]) == (300, 2000)
    assert host.overlay("window") == "W 80  L 40"
    assert shown["lit"] > 0
    _kernel_follows(host, {"window_center": 40.0, "window_width": 80.0})


def test_r_resets_the_window_and_the_zoom(host: Host) -> None:
    fresh = host.state()
    _press(host, "2")
    host.js("(v) => v.setState({zoom: 3, pan: {x: 0.1, y: 0.1}})")
    _settle(host)

    _press(host, "r")
    shown = _picture(host)

    state = host.state()
    assert state["window"] == fresh["window"]
    assert (state["zoom"], state["pan"]) == (1, {"x": 0, "y": 0})
    assert host.overlay("window") == _window_label(fresh["window"])
    assert shown["lit"] > 0
    _kernel_follows(host, {"zoom": 1.0, "window_width": fresh["window"]["width"]})


# ---- zoom and pan ----


def test_a_drag_up_with_the_zoom_tool_magnifies_the_image(host: Host) -> None:
    # from half the fitted size, so that the magnified image fits the stage
    host.js("(v, w) => v.setState({window: w, zoom: 0.5})", ALL_WHITE)
    small = _picture(host)["box"]
    host.page.locator(".claripacs-viewer .cpv-tool[data-tool='zoom']").click()

    _drag_by(host, 0, -120)
    zoom = host.state()["zoom"]
    zoomed = _picture(host)["box"]

    assert host.state()["tool"] == "zoom"
    assert zoom == pytest.approx(0.5 * math.exp(120 / 200), rel=1e-9)
    for low, high in [("left", "right"), ("top", "bottom")]:
        assert zoomed[high] - zoomed[low] == pytest.approx(
            (small[high] - small[low]) * zoom / 0.5, abs=2
        )
    _kernel_follows(host, {"zoom": zoom, "tool": "zoom"})


def test_ctrl_wheel_zooms_about_the_pointer(host: Host) -> None:
    pointer = _page_point(host, 40, 90)
    host.page.mouse.move(*pointer)

    host.page.keyboard.down("Control")
    host.page.mouse.wheel(0, -200)
    host.page.keyboard.up("Control")
    host.wait("s.zoom > 1")
    _settle(host)

    state = host.state()
    assert state["zoom"] == pytest.approx(math.exp(0.4), rel=1e-6)
    assert state["image"] == 0
    assert math.dist(_page_point(host, 40, 90), pointer) < 1
    percent = round(math.exp(0.4) * _fitted_percent(host))
    assert host.overlay("zoom") == f"Zoom {percent}%"
    _kernel_follows(
        host,
        {
            "zoom": state["zoom"],
            "xpos": state["position"]["x"],
            "ypos": state["position"]["y"],
        },
    )


def _fitted_percent(host: Host) -> float:
    """The zoom in percent at which the image fits the stage."""
    box = host.stage.bounding_box()
    assert box is not None
    return min(box["width"], box["height"]) / SIZE * 100


def test_a_drag_with_the_pan_tool_moves_the_image(host: Host) -> None:
    host.js("(v, w) => v.setState({window: w, zoom: 0.5})", ALL_WHITE)
    before = _picture(host)["box"]
    _press(host, "p")

    _drag_by(host, -70, 50)
    shown = _picture(host)

    state, after, dpr = host.state(), shown["box"], shown["dpr"]
    assert state["tool"] == "pan"
    assert after["left"] - before["left"] == pytest.approx(-70 * dpr, abs=1)
    assert after["top"] - before["top"] == pytest.approx(50 * dpr, abs=1)
    assert after["right"] - after["left"] == before["right"] - before["left"]
    # the image point at the centre of the view moved the other way
    drawn = (before["right"] - before["left"]) / dpr
    assert state["position"]["x"] == pytest.approx(
        SIZE / 2 + 70 * SIZE / drawn, abs=0.3
    )
    assert state["position"]["y"] == pytest.approx(
        SIZE / 2 - 50 * SIZE / drawn, abs=0.3
    )
    _kernel_follows(
        host,
        {"xpos": state["position"]["x"], "ypos": state["position"]["y"]},
    )


def test_a_double_click_toggles_between_100_percent_and_fit(host: Host) -> None:
    host.js("(v, w) => v.setState({window: w})", ALL_WHITE)
    fitted = _picture(host)
    fitted_label = host.overlay("zoom")

    host.stage.dblclick()
    host.wait("s.zoom !== 1")
    actual = _picture(host)
    actual_zoom = host.state()["zoom"]
    actual_label = host.overlay("zoom")
    _kernel_follows(host, {"zoom": actual_zoom})
    host.stage.dblclick()
    host.wait("s.zoom === 1")
    back = _picture(host)

    dpr = actual["dpr"]
    assert actual_label == "Zoom 100%"
    assert (actual["box"]["right"] - actual["box"]["left"]) / dpr == SIZE
    assert fitted_label == f"Zoom {round(_fitted_percent(host))}%"
    assert host.overlay("zoom") == fitted_label
    assert back["box"] == fitted["box"]
    _kernel_follows(host, {"zoom": 1.0})


def test_pinch_zooms_about_the_fingers_and_moving_them_pans(host: Host) -> None:
    mid = _page_point(host, 50, 70)
    steps = [[(mid[0] - 40, mid[1]), (mid[0] + 40, mid[1])]]
    for k in range(1, 6):
        spread, (dx, dy) = 40 + 8 * k, (6 * k, 4 * k)
        steps.append(
            [(mid[0] - spread + dx, mid[1] + dy), (mid[0] + spread + dx, mid[1] + dy)]
        )

    _touch(host, steps)
    _settle(host)

    state = host.state()
    assert state["zoom"] == pytest.approx(2, rel=1e-6)
    assert state["image"] == 0
    moved_to = _page_point(host, 50, 70)
    assert math.dist(moved_to, (mid[0] + 30, mid[1] + 20)) < 1
    _kernel_follows(
        host,
        {
            "zoom": state["zoom"],
            "xpos": state["position"]["x"],
            "ypos": state["position"]["y"],
        },
    )


def test_one_finger_drags_as_the_left_mouse_button(host: Host) -> None:
    x, y = _centre(host)

    _touch(host, [[(x, y + 10 * k)] for k in range(8)])
    _settle(host)

    assert host.state()["image"] == 3  # 70 px at 20 px an image
    assert host.overlay("image") == f"Image 4 / {SLICES}"
    _kernel_follows(host, {"image_index": 3})


def test_the_overlay_zoom_is_the_size_drawn(host: Host) -> None:
    host.js("(v, w) => v.setState({window: w})", ALL_WHITE)
    _press(host, "z")

    _drag_by(host, 0, -60)
    shown = _picture(host)

    width = (shown["box"]["right"] - shown["box"]["left"]) / shown["dpr"]
    label = host.overlay("zoom")
    assert label.startswith("Zoom ") and label.endswith("%")
    # the lit box may take in a pixel of the image's smoothed edges
    assert int(label[5:-1]) == pytest.approx(width / SIZE * 100, abs=1)
    assert host.overlay("image") == f"Image 1 / {SLICES}"
    assert host.overlay("window") == "W 1  L -5000"


# ---- modes and tools set from outside ----


def _set_from_outside(host: Host, number: int, tool: str) -> None:
    """The left-mouse tool set as each host's embedder sets it."""
    if host.kind == "page":
        host.page.evaluate(f"change_left_mouse({number})")
    else:
        assert _kernel(host, f"viewer.tool = {tool!r}") == ""
        host.wait("s.tool === arg", tool)


def test_the_left_mouse_tool_set_from_outside_is_the_one_used(host: Host) -> None:
    numbered = ["window", "pan", "scroll", "zoom", "arrow", "text", "length"]
    numbered += ["ellipse", "angle"]
    chosen = []

    for number, tool in enumerate(numbered, start=1):
        _set_from_outside(host, number, tool)
        pressed = host.page.locator(".cpv-tool[aria-pressed='true']")
        chosen.append((host.root.get_attribute("data-tool"), pressed.inner_text()))
    _set_from_outside(host, 1, "window")
    before = host.state()["window"]
    _drag_by(host, -40, 0)

    labels = ["W/L", "Pan", "Scroll", "Zoom", "Arrow", "Text", "Length", "Ellipse"]
    assert chosen == list(zip(numbered, [*labels, "Angle"], strict=True))
    state = host.state()
    assert state["image"] == 0
    assert state["window"]["width"] < before["width"]
    assert host.overlay("window") == _window_label(state["window"])
    _kernel_follows(host, {"tool": "window", "window_width": state["window"]["width"]})


def _toggle_simple_mode(host: Host) -> None:
    """Simple mode switched as each host's embedder switches it."""
    if host.kind == "page":
        host.page.evaluate("toggle_simple_mode()")
    else:
        code = "viewer.mode = 'simple' if viewer.mode == 'normal' else 'normal'"
        assert _kernel(host, code) == ""


def test_simple_mode_hides_the_tools_and_comes_back(host: Host) -> None:
    toolbar = host.page.locator(".claripacs-viewer .cpv-toolbar")

    bars = host.page.locator(".cpv-toolbar, .cp-case-bar")  # the page's bar too

    _toggle_simple_mode(host)
    host.wait("s.mode === 'simple'")
    hidden = [bar.is_hidden() for bar in bars.all()]
    _kernel_follows(host, {"mode": "simple"})
    _toggle_simple_mode(host)
    host.wait("s.mode === 'normal'")

    assert hidden == [True] * (2 if host.kind == "page" else 1)
    assert toolbar.is_visible()
    # the picture stays in simple mode: only the tools go
    assert host.overlay("image") == f"Image 1 / {SLICES}"
    _kernel_follows(host, {"mode": "normal"})


def test_l_links_the_viewer_and_again_unlinks_it(host: Host) -> None:
    button = host.page.locator(".claripacs-viewer .cpv-link")

    _press(host, "l")
    linked = [host.state()["linked"], button.get_attribute("aria-pressed")]
    _kernel_follows(host, {"linked": True})
    _press(host, "l")

    assert linked == [True, "true"]
    assert host.state()["linked"] is False
    assert button.get_attribute("aria-pressed") == "false"
    _kernel_follows(host, {"linked": False})


# ---- annotations and key images ----


def _annotation_traits(host: Host) -> dict[str, Any]:
    return {"annotations": host.state()["annotations"]}


@pytest.mark.parametrize(("tool", "key"), [("arrow", "a"), ("length", "m")])
def test_a_drag_with_a_line_tool_draws_it_where_dragged(
    host: Host, tool: str, key: str
) -> None:
    _press(host, key)

    _drag(host, _page_point(host, 30.5, 40.5), _page_point(host, 90.5, 80.5))
    shown = _picture(host)

    [annotation] = host.state()["annotations"]
    assert host.state()["tool"] == tool
    assert annotation["type"] == tool
    assert annotation["image"] == 0
    assert np.allclose(annotation["points"], [[30.5, 40.5], [90.5, 80.5]], atol=0.25)
    assert shown["yellow"] > 0
    assert host.root.get_attribute("data-annotations") == "1"
    _kernel_follows(host, {**_annotation_traits(host), "tool": tool})


def test_length_reports_millimetres_from_the_pixel_spacing(host: Host) -> None:
    _press(host, "m")

    _drag(host, _page_point(host, 20.5, 100.5), _page_point(host, 100.5, 40.5))

    [measured] = host.js("(v) => v.measurements()")
    (x0, y0), (x1, y1) = measured["annotation"]["points"]
    expected = math.hypot((x1 - x0) * SPACING, (y1 - y0) * SPACING)
    assert measured["unit"] == "mm"
    assert measured["value"] == pytest.approx(expected, rel=1e-9)
    assert measured["value"] == pytest.approx(100 * SPACING, abs=0.3)
    assert measured["lines"] == [f"{expected:.1f} mm"]
    _kernel_follows(host, _annotation_traits(host))


def _ct_small_hu() -> np.ndarray:
    """Slice 1 of the case in Hounsfield units, NaN where (0028,0120) pads it."""
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    values[ds.pixel_array == ds.PixelPaddingValue] = np.nan
    return values


def test_ellipse_reports_the_mean_and_sd_of_the_pixels_inside(host: Host) -> None:
    _press(host, "e")

    _drag(host, _page_point(host, 40.5, 50.5), _page_point(host, 90.5, 80.5))
    shown = _picture(host)

    [measured] = host.js("(v) => v.measurements()")
    (x0, y0), (x1, y1) = measured["annotation"]["points"]
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    inside = _ct_small_hu()[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1]
    values = inside[~np.isnan(inside)]  # padding is left out
    area = math.pi * rx * ry * SPACING**2
    assert measured["annotation"]["type"] == "ellipse"
    assert measured["count"] == values.size
    assert measured["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert measured["sd"] == pytest.approx(values.std(), rel=1e-9)
    assert measured["lines"] == [
        f"Mean {values.mean():.1f} HU",
        f"SD {values.std():.1f} HU",
        f"Area {area:.1f} mm²",
    ]
    assert shown["yellow"] > 0
    _kernel_follows(host, _annotation_traits(host))


def test_angle_by_three_clicks_measures_the_angle(host: Host) -> None:
    _press(host, "g")

    for x, y in [(30.5, 90.5), (70.5, 90.5), (70.5, 50.5)]:
        host.page.mouse.click(*_page_point(host, x, y))
    shown = _picture(host)

    [measured] = host.js("(v) => v.measurements()")
    assert measured["annotation"]["type"] == "angle"
    assert np.allclose(
        measured["annotation"]["points"],
        [[30.5, 90.5], [70.5, 90.5], [70.5, 50.5]],
        atol=0.25,
    )
    assert measured["value"] == pytest.approx(90, abs=0.5)
    assert shown["yellow"] > 0
    _kernel_follows(host, _annotation_traits(host))


def test_text_tool_writes_the_text_typed_at_the_click(host: Host) -> None:
    _press(host, "t")

    host.page.mouse.click(*_page_point(host, 50.5, 60.5))
    box = host.page.get_by_label("Annotation text")
    box.press_sequentially("Liver 1")  # keys the viewer and JupyterLab use too
    box.press("Enter")
    shown = _picture(host)

    [annotation] = host.state()["annotations"]
    assert annotation["type"] == "text"
    assert annotation["text"] == "Liver 1"
    assert np.allclose(annotation["points"], [[50.5, 60.5]], atol=0.25)
    assert box.is_hidden()
    assert shown["yellow"] > 0
    _kernel_follows(host, _annotation_traits(host))


def test_k_marks_key_images_and_the_overlay_shows_them(host: Host) -> None:
    key_overlay = host.page.locator(".claripacs-viewer .cpv-overlay-key")

    _press(host, "k")
    first = [host.state()["keyImages"], key_overlay.is_visible()]
    _press(host, "ArrowDown")
    between = key_overlay.is_visible()
    _press(host, "End", "k")

    assert first == [[0], True]
    assert not between
    assert host.state()["keyImages"] == [0, SLICES - 1]
    assert key_overlay.inner_text() == "Key image"
    button = host.page.locator(".claripacs-viewer .cpv-key")
    assert button.get_attribute("aria-pressed") == "true"
    _kernel_follows(host, {"key_images": [0, SLICES - 1]})


def test_key_image_button_marks_the_image_shown(host: Host) -> None:
    button = host.page.locator(".claripacs-viewer .cpv-key")
    _press(host, "ArrowDown", "ArrowDown")

    button.click()

    assert host.state()["keyImages"] == [2]
    assert button.get_attribute("aria-pressed") == "true"
    assert host.overlay("key") == "Key image"
    _kernel_follows(host, {"key_images": [2]})


LINE = {"type": "length", "image": 0, "points": [[20.5, 30.5], [100.5, 30.5]]}
ARROW = {"type": "arrow", "image": 0, "points": [[20.5, 90.5], [100.5, 90.5]]}


def test_a_click_selects_an_annotation_and_delete_removes_it(host: Host) -> None:
    host.js("(v, list) => v.setState({annotations: list})", [LINE, ARROW])
    _press(host, "m")

    host.page.mouse.click(*_page_point(host, 60.5, 90.5))
    chosen = host.js("(v) => v.selectedAnnotation")
    host.page.keyboard.press("Delete")
    shown = _picture(host)

    assert chosen == 1
    assert host.state()["annotations"] == [LINE]
    assert host.root.get_attribute("data-annotations") == "1"
    assert shown["yellow"] > 0  # the length is still drawn
    _kernel_follows(host, {"annotations": [LINE]})


def test_a_drag_on_an_annotation_moves_it(host: Host) -> None:
    host.js("(v, list) => v.setState({annotations: list})", [LINE])
    _press(host, "a")

    _drag(host, _page_point(host, 60.5, 30.5), _page_point(host, 70.5, 50.5))

    [moved] = host.state()["annotations"]
    assert np.allclose(moved["points"], [[30.5, 50.5], [110.5, 50.5]], atol=0.25)
    assert moved["type"] == "length"
    assert host.js("(v) => v.measurements()")[0]["lines"] == [f"{80 * SPACING:.1f} mm"]
    _kernel_follows(host, _annotation_traits(host))


def test_clear_removes_the_annotations_of_the_image_shown(host: Host) -> None:
    elsewhere = {**ARROW, "image": 3}
    host.js("(v, list) => v.setState({annotations: list})", [LINE, elsewhere])
    before = _picture(host)

    host.page.locator(".claripacs-viewer .cpv-clear").click()
    after = _picture(host)

    assert host.state()["annotations"] == [elsewhere]
    assert before["yellow"] > 0
    assert after["yellow"] == 0
    _kernel_follows(host, {"annotations": [elsewhere]})
