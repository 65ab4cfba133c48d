"""The dry run's notebook view: its filters choose the rows the table shows."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from claripacs_jupyter.dryrun import dry_run
from claripacs_jupyter.widgets.dryrun import DryRunView


def _sample(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None
    return path


def test_the_filters_choose_the_rows_and_values_before_stay_hidden() -> None:
    ct, us = _sample("CT_small.dcm"), _sample("US1_J2KR.dcm")
    view = DryRunView(dry_run([ct, us, _sample("test-SR.dcm")]))
    everything = len(view.shown())

    view.action.value = "remove"
    removed = view.shown()
    view.source.value = ct
    view.search.value = "patient"
    found = view.shown()

    assert everything == len(view.run.elements)
    assert set(removed["action"]) == {"remove"}
    assert set(found["source"]) == {ct}
    named = found["path"] + " " + found["keyword"]
    assert named.str.lower().str.contains("patient").all()
    assert f"{len(found)} element(s)" in view.table.value
    assert "ultrasound" in view.notes.value and "structured report" in view.notes.value
    name = str(pydicom.dcmread(ct).PatientName)
    assert name not in view.table.value and name not in view.notes.value
    assert Path(ct).name in view.source.options[1] + view.source.options[2]
