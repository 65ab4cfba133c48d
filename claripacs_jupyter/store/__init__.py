"""The case store: index, file layout, atomic ingest, search, export."""

from .case import Case, Instance, Series
from .report import IngestReport, Outcome
from .settings import StoreSettings
from .store import Store, StoreCheck, open_store

__all__ = [
    "Case",
    "IngestReport",
    "Instance",
    "Outcome",
    "Series",
    "Store",
    "StoreCheck",
    "StoreSettings",
    "open_store",
]
