"""A real JupyterLab for browser tests, and driving its notebooks from Playwright.

JupyterLab runs as a subprocess on a temporary store that holds a real
multi-slice CT series (and, when asked, the demo set); a test opens a notebook
in Chromium and runs cells in it as a user would.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Page

from tests.browser.servers import free_port, start, stop, wait_until_up
from tests.widgets.ct_series import write_ct_series

#: Slices of the CT case every lab holds.
SLICES = 6

#: How long one step in JupyterLab (a cell run, a kernel start) may take on
#: this 2-core machine.
STEP_TIMEOUT_MS = 180_000


@dataclass
class Lab:
    """A running JupyterLab."""

    base: str
    token: str
    root: Path
    accession: str
    accessions: list[str]


@contextmanager
def running_lab(
    base_dir: Path, *, demo: bool = False, notebooks: Sequence[Path] = ()
) -> Iterator[Lab]:
    """JupyterLab on a store with a `SLICES`-slice CT case (and the demo set).

    `notebooks` are copied into the lab's root folder. The server and its
    kernels are killed on leaving the block.
    """
    from claripacs_jupyter import open_store
    from claripacs_jupyter.store.demo import import_demo

    data, root, home = base_dir / "store", base_dir / "root", base_dir / "home"
    root.mkdir()
    home.mkdir()
    store = open_store(data)
    report = store.ingest(write_ct_series(base_dir / "incoming", count=SLICES))
    assert report.stored == SLICES
    accession = report.accessions[0]
    if demo:
        assert import_demo(store).skipped == 0
    for notebook in notebooks:
        shutil.copy(notebook, root / notebook.name)

    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "CLARIPACS_DATA": str(data),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        # A notebook that exports into a temporary folder keeps it in the test's.
        "TMPDIR": str(home),
    }
    log = base_dir / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--allow-root",  # CI runs as root
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no extension index look-ups
    ]
    process = start(command, env, root, log)
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_until_up(f"{base}api/status?token={token}", process, log)
        accessions = [case.accession for case in store.cases()]
        yield Lab(base, token, root, accession, accessions)
    finally:
        stop(process)


def lab_fixture(name: str) -> Any:
    """A module fixture: JupyterLab on a store with the `SLICES`-slice CT case,
    in a temporary folder called `name`, killed at teardown."""

    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
        with running_lab(tmp_path_factory.mktemp(name)) as started:
            yield started

    return lab


def new_notebook(lab: Lab, name: str) -> Path:
    """Write an empty notebook on the Python 3 kernel into the lab's root folder."""
    path = lab.root / name
    notebook = nbformat.v4.new_notebook()
    # without a kernelspec JupyterLab asks which kernel to start
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nbformat.write(notebook, path)
    return path


def open_notebook(page: Page, lab: Lab, name: str) -> None:
    """Open a notebook of the lab's root folder and wait for its kernel.

    `reset` starts from an empty workspace: JupyterLab would otherwise open the
    notebooks of earlier tests again beside this one.
    """
    page.goto(f"{lab.base}lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_function(
        "window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
        timeout=STEP_TIMEOUT_MS,
    )


def open_new_notebook(page: Page, lab: Lab, prefix: str) -> str:
    """Make an empty notebook named `prefix` and a random suffix, open it and
    wait for its kernel; return its name."""
    name = f"{prefix}-{secrets.token_hex(4)}.ipynb"
    new_notebook(lab, name)
    open_notebook(page, lab, name)
    return name


def run_cell(page: Page, source: str) -> str:
    """Add a code cell at the end of the notebook, run it, return its output.

    The output is the cell's stdout (and the name and message of an error),
    read from the cell's model: JupyterLab takes the cells that are out of
    view off the page.
    """
    index = page.evaluate(
        """(source) => {
          const notebook = window.jupyterapp.shell.currentWidget.content;
          notebook.activeCellIndex = notebook.widgets.length - 1;
          window.jupyterapp.commands.execute("notebook:insert-cell-below");
          const index = notebook.activeCellIndex;
          notebook.activeCell.model.sharedModel.setSource(source);
          window.jupyterapp.commands.execute("notebook:run-cell");
          return index;
        }""",
        source,
    )
    cell = "window.jupyterapp.shell.currentWidget.content.widgets[index]?.model"
    page.wait_for_function(
        f"(index) => ({cell}?.executionCount ?? null) !== null",
        arg=index,
        timeout=STEP_TIMEOUT_MS,
    )
    return page.evaluate(
        f"""(index) => {cell}.outputs.toJSON().map((output) => {{
          if (output.output_type === "stream" && output.name === "stdout") {{
            return [].concat(output.text).join("");
          }}
          if (output.output_type === "error") {{
            return `${{output.ename}}: ${{output.evalue}}`;
          }}
          return "";
        }}).join("")""",
        index,
    )


def poll_cell(page: Page, source: str, expected: str) -> str:
    """Run `source` in new cells until it prints `expected` (or tries run out).

    ipywidgets holds an update back while the kernel is busy with the one
    before, so the kernel may see a change of the view a moment after it.
    """
    printed = ""
    for _ in range(20):
        printed = run_cell(page, source).strip()
        if printed == expected:
            break
    return printed
