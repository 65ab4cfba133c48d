"""The ExtensionApp that opens the case store and adds the claripacs handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp, ExtensionAppJinjaMixin
from traitlets import Integer, TraitError, Unicode, default, validate

from .. import paths
from ..store import open_store
from .handlers import (
    HANDLERS,
    MAX_UPLOAD_FILES_SETTING,
    MAX_UPLOAD_SETTING,
    STATIC_DIR,
    STORE_SETTING,
)

HERE = Path(__file__).parent
STATIC = STATIC_DIR
TEMPLATES = HERE / "templates"


class ClaripacsApp(ExtensionAppJinjaMixin, ExtensionApp):
    """Serve the case store: REST under ``claripacs/api/``, the case page, the viewer.

    The store is opened once, when the server loads the extension, and every
    handler uses that one :class:`~claripacs_jupyter.store.Store` through
    ``settings["claripacs_store"]``.
    """

    name = "claripacs_jupyter"
    load_other_extensions = True
    # Launched on its own (``jupyter claripacs_jupyter``) there is no landing page of
    # ours yet, so the server keeps its own default URL.
    extension_url = "/"

    data_dir = Unicode(
        "",
        help=(
            "Folder of the case store. Empty means the CLARIPACS_DATA environment "
            "variable, else <jupyter data dir>/claripacs."
        ),
    ).tag(config=True)

    max_upload_bytes = Integer(
        512 * 1024**2,
        help=(
            "Largest upload body, in bytes, that POST claripacs/api/upload accepts; "
            "a larger one is refused with 413 before it is read. Uploads are held "
            "in memory while they are parsed, so keep this well below the RAM."
        ),
    ).tag(config=True)

    max_upload_files = Integer(
        10000,
        help="Most files (multipart parts named files) one upload may hold.",
    ).tag(config=True)

    @default("static_paths")
    def _default_static_paths(self) -> list[str]:
        # The viewer's ES modules, served at {base_url}static/claripacs_jupyter/.
        return [str(STATIC)]

    @default("template_paths")
    def _default_template_paths(self) -> list[str]:
        return [str(TEMPLATES)]

    @validate("max_upload_bytes", "max_upload_files")
    def _valid_positive(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value <= 0:
            name = proposal["trait"].name
            raise TraitError(f"ClaripacsApp.{name} must be positive, not {value}")
        return value

    def initialize_settings(self) -> None:
        """Open the store; put it and the upload limits in the web app settings."""
        folder = paths.data_dir(self.data_dir or None)
        store = open_store(folder)
        self.settings[STORE_SETTING] = store
        self.settings[MAX_UPLOAD_SETTING] = self.max_upload_bytes
        self.settings[MAX_UPLOAD_FILES_SETTING] = self.max_upload_files
        self.log.info("claripacs: case store opened at %s", store.path)

    def initialize_handlers(self) -> None:
        """Add the REST and page handlers (patterns are joined to the base URL)."""
        self.handlers.extend(HANDLERS)

    async def stop_extension(self) -> None:
        """Release the store's index connections when the server stops."""
        store = self.settings.get(STORE_SETTING)
        if store is not None:
            store.close()
