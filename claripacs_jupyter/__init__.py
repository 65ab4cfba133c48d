"""claripacs-jupyter: a teaching-file PACS inside Jupyter."""

import logging

from .errors import (
    ArchiveError,
    ClaripacsError,
    ImageTooLargeError,
    InvalidDicomError,
    InvalidInputError,
    NotFoundError,
    StoreError,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ArchiveError",
    "ClaripacsError",
    "ImageTooLargeError",
    "InvalidDicomError",
    "InvalidInputError",
    "NotFoundError",
    "StoreError",
    "Viewer",
    "open_store",
    "__version__",
]


def open_store(data=None, **kwargs):
    """Open the case store at `data`; see :func:`claripacs_jupyter.store.open_store`."""
    from .store import open_store as _open_store

    return _open_store(data, **kwargs)


def __getattr__(name):
    # The widget pulls in anywidget and ipywidgets; import it only when asked for,
    # so that scripts and batch jobs that never show a viewer stay light.
    if name == "Viewer":
        from .widgets import Viewer

        return Viewer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points():
    return [{"module": "claripacs_jupyter.server_extension", "app": _server_app()}]


def _server_app():
    from .server_extension.app import ClaripacsApp

    return ClaripacsApp
