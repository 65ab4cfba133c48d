"""The dry run's notebook widget in a real JupyterLab.

A notebook runs a dry run on a CT and an ultrasound from pydicom-data and shows
its DryRunView; Chromium reads what the page shows and works the filters as a
user would. The patient names of both files must never reach the page.
"""

from __future__ import annotations

import json
import re

import pydicom
import pytest
from playwright.sync_api import Locator, Page, expect
from pydicom.data import get_testdata_file

from tests.browser.jupyter_lab import (
    STEP_TIMEOUT_MS,
    Lab,
    lab_fixture,
    open_new_notebook,
    run_cell,
)

pytestmark = pytest.mark.browser

SAMPLES = ("CT_small.dcm", "US1_J2KR.dcm")

RUN = (
    "import json\n"
    "from pydicom.data import get_testdata_file\n"
    "from claripacs_jupyter.dryrun import dry_run\n"
    "from claripacs_jupyter.widgets.dryrun import DryRunView\n"
    f"run = dry_run([get_testdata_file(n) for n in {SAMPLES!r}])\n"
    "view = DryRunView(run)\n"
    "display(view)\n"
    "counts = run.elements['action'].value_counts().to_dict()\n"
    "names = int(run.elements['keyword'].str.contains('PatientName').sum())\n"
    "print(json.dumps({'all': len(run.elements), 'names': names, **counts}))"
)


lab = lab_fixture("lab_dryrun")


@pytest.fixture
def shown(lab: Lab, page: Page) -> tuple[Page, dict[str, int]]:
    """A notebook showing the DryRunView, and the row counts the kernel holds."""
    open_new_notebook(page, lab, "dryrun")
    counts = json.loads(run_cell(page, RUN))
    expect(_count(_output(page))).to_be_visible(timeout=STEP_TIMEOUT_MS)
    return page, counts


def _count(scope: Page | Locator) -> Locator:
    """The table's count of rows, "N element(s)", in `scope`."""
    return scope.locator("p").filter(has_text=re.compile(r"^\d+ element\(s\)$"))


def _output(page: Page) -> Locator:
    """The cell output that holds the widget."""
    return page.locator(".jp-OutputArea-output").filter(has=_count(page))


def _rows_shown(page: Page) -> int:
    text = _count(_output(page)).inner_text(timeout=STEP_TIMEOUT_MS)
    return int(text.split()[0])


def _wait_for_rows(page: Page, expected: int) -> int:
    """The count the table shows, once it is `expected` (or time runs out)."""
    try:
        expect(_count(_output(page))).to_have_text(
            f"{expected} element(s)", timeout=STEP_TIMEOUT_MS // 6
        )
    except AssertionError:
        pass
    return _rows_shown(page)


def test_the_widget_lists_every_element_and_the_ultrasound_flag(
    shown: tuple[Page, dict[str, int]],
) -> None:
    page, counts = shown
    output = _output(page)

    assert _rows_shown(page) == counts["all"]
    assert "Review flags" in output.inner_text()
    assert "ultrasound" in output.inner_text()
    assert output.locator("table td", has_text="(redacted, ").count() > 0
    assert output.locator("table td", has_text="PatientName").count() > 0


def test_no_patient_name_reaches_the_page(shown: tuple[Page, dict[str, int]]) -> None:
    page, _ = shown
    names = []
    for sample in SAMPLES:
        path = get_testdata_file(sample)
        assert path is not None
        names.append(str(pydicom.dcmread(path, stop_before_pixels=True).PatientName))

    content = page.content()

    assert all(name and name not in content for name in names)


def test_the_action_and_find_filters_change_the_rows(
    shown: tuple[Page, dict[str, int]],
) -> None:
    page, counts = shown
    output = _output(page)

    output.get_by_role("button", name="remove", exact=True).click()
    removed = _wait_for_rows(page, counts["remove"])
    output.get_by_role("button", name="all", exact=True).click()
    everything = _wait_for_rows(page, counts["all"])
    search = output.locator(".widget-text input")
    search.fill("PatientName")
    search.press("Enter")
    found = _wait_for_rows(page, counts["names"])

    assert (removed, everything, found) == (
        counts["remove"],
        counts["all"],
        counts["names"],
    )
    assert 0 < counts["names"] < counts["remove"] < counts["all"]
