"""Notebook widgets: the anywidget viewer and its JS/CSS in ``static/``."""

from .viewer import Viewer

__all__ = ["Viewer"]
