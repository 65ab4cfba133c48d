"""Driving the synthetic-frame harness page, and the display values it must show."""

from __future__ import annotations

import math

from playwright.sync_api import Page


def linear_window(value: float, center: float, width: float) -> int:
    """The DICOM linear window (PS3.3 C.11.2.1.2.1) onto 0..255, rounded."""
    if value <= center - 0.5 - (width - 1) / 2:
        return 0
    if value > center - 0.5 + (width - 1) / 2:
        return 255
    return math.floor((value - (center - 0.5)) * 255 / (width - 1) + 127.5 + 0.5)


def mount(page: Page, url: str, spec: dict, options: dict | None = None) -> dict:
    """Open the harness and mount a viewer on the frames that `spec` describes."""
    page.goto(url)
    page.wait_for_function("window.harnessReady === true", timeout=30_000)
    return page.evaluate(
        "([spec, options]) => window.harness.mount(spec, options)",
        [spec, options or {}],
    )
