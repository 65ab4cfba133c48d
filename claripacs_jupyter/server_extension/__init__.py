"""The jupyter_server extension: the case store's REST API and the case page."""

from .app import ClaripacsApp

__all__ = ["ClaripacsApp", "_jupyter_server_extension_points"]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    return [{"module": "claripacs_jupyter.server_extension", "app": ClaripacsApp}]
