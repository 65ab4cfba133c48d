"""notebooks/quickstart.ipynb, executed top to bottom in a real kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from claripacs_jupyter import open_store

from .conftest import SLICES, CtStore

QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _run(folder: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(QUICKSTART, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
    ]


def _export_folder(notebook: nbformat.NotebookNode) -> Path:
    printed = [o.text for o in _outputs(notebook) if o.get("name") == "stdout"]
    line = next(t for t in printed if t.startswith("Exported "))
    return Path(line.strip().split(" to ", 1)[1])


def test_quickstart_is_saved_without_outputs() -> None:
    notebook = nbformat.read(QUICKSTART, as_version=4)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]

    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_quickstart_shows_the_ct_with_most_slices_and_exports_png(
    ct_store: CtStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLARIPACS_DATA", str(ct_store.store.path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))

    notebook = _run(tmp_path)

    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 1
    # the exported case is the series of SLICES slices, not the one-slice CT
    assert len(list(_export_folder(notebook).rglob("*.png"))) == SLICES
    assert [o for o in outputs if "image/png" in o.get("data", {})]


def test_quickstart_imports_the_demo_set_into_an_empty_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "empty-store"
    monkeypatch.setenv("CLARIPACS_DATA", str(data))
    monkeypatch.setenv("TMPDIR", str(tmp_path))

    notebook = _run(tmp_path)

    modalities = {m for case in open_store(data).cases() for m in case.modalities}
    assert {"CT", "MR", "CR", "US"} <= modalities
    assert any(WIDGET_VIEW in o.get("data", {}) for o in _outputs(notebook))
    # With only the demo set, the stack to scroll is the ten-frame enhanced MR.
    assert len(list(_export_folder(notebook).rglob("*.png"))) == 10
