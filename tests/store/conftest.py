"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from claripacs_jupyter.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new store in teaching mode (the default)."""
    opened = open_store(tmp_path / "store")
    yield opened
    opened.close()
