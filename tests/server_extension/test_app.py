"""The ExtensionApp: where the store is, its limits, and that the server enables it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError

from claripacs_jupyter import __version__
from claripacs_jupyter.server_extension import ClaripacsApp


def test_store_opens_in_the_configured_folder(store: Any, store_dir: Path) -> None:
    assert Path(store.path) == store_dir.resolve()
    assert store_dir.is_dir()


def test_extension_app_is_registered_under_its_name(jp_serverapp: Any) -> None:
    points = jp_serverapp.extension_manager.extension_points

    app = points["claripacs_jupyter"].app

    assert isinstance(app, ClaripacsApp)
    assert (
        app.settings["claripacs_store"]
        is jp_serverapp.web_app.settings["claripacs_store"]
    )


class TestDataDirFromEnvironment:
    @pytest.fixture
    def env_dir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        folder = tmp_path / "from-env"
        monkeypatch.setenv("CLARIPACS_DATA", str(folder))
        return folder

    @pytest.fixture
    def claripacs_config(self, env_dir: Path) -> dict[str, Any]:
        return {"data_dir": ""}

    def test_empty_data_dir_uses_claripacs_data(
        self, store: Any, env_dir: Path, store_dir: Path
    ) -> None:
        assert Path(store.path) == env_dir.resolve()
        assert not store_dir.exists()


@pytest.mark.parametrize("trait", ["max_upload_bytes", "max_upload_files"])
def test_limits_must_be_positive(trait: str) -> None:
    with pytest.raises(TraitError, match=trait):
        ClaripacsApp(**{trait: 0})


def test_installed_server_config_enables_the_extension(tmp_path: Path) -> None:
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "jupyter", "server", "extension", "list"]

    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=True
    )

    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert re.search(r"claripacs_jupyter\s+enabled", output), output
    version = re.escape(__version__)
    assert re.search(rf"claripacs_jupyter {version}\s+OK", output), output
