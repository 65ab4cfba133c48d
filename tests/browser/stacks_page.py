"""Series with stacks for the harness page: instances and assemble()'s stacks."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from claripacs_jupyter.dicom.series import assemble

AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def value_at(mm: float) -> int:
    """The stored value of the synthetic image at `mm` along the normal.

    Distinct for positions 1 mm apart within the window 40/400 of the harness.
    """
    return int(round(4 * mm - 140))


def instance(
    uid: str,
    number: int,
    mm: float | None,
    orientation: list[float] | None = AXIAL,
    value: int | None = None,
    size: int = 64,
) -> dict[str, Any]:
    """One single-frame instance at `mm` along its normal (None: no position)."""
    position = None
    if mm is not None:
        position = [0.0, 0.0, mm] if orientation == AXIAL else [-mm, 0.0, 0.0]
    return {
        "uid": uid,
        "instance_number": number,
        "position": position,
        "orientation": orientation,
        "rows": size,
        "columns": size,
        "frames": 1,
        "value": value if value is not None else value_at(mm or 0.0),
    }


def series_spec(
    instances: list[dict[str, Any]], label: str = "3: T2 AX", uid: str = "1.2.3"
) -> dict[str, Any]:
    """The harness spec of a series: its instances and assemble()'s stacks."""
    count = len(instances)
    full_label = f"{label} ({count} image{'' if count == 1 else 's'})"
    return {
        "seriesUid": uid,
        "label": full_label,
        "series": [{"uid": uid, "label": full_label}],
        "instances": instances,
        "stacks": [stack.to_dict() for stack in assemble(instances)],
    }


def mount_series(
    page: Page, url: str, specs: list[dict], options: list[dict] | None = None
) -> list[dict]:
    """Open the harness and mount one viewer per spec; their first states."""
    page.goto(url)
    page.wait_for_function("window.harnessReady === true", timeout=30_000)
    return page.evaluate(
        "([specs, options]) => window.stacksHarness.mount(specs, options)",
        [specs, options or []],
    )


def state(page: Page, k: int = 0) -> dict:
    """The state of viewer k."""
    return page.evaluate("(k) => window.viewers[k].getState()", k)


def settled_grey(page: Page, k: int = 0) -> int:
    """The grey value viewer k shows, once it has drawn the image of its state."""
    page.evaluate("(k) => window.stacksHarness.settled(k)", k)
    return page.evaluate("(k) => window.stacksHarness.grey(k)", k)
