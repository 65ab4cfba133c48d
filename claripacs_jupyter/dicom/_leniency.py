"""How leniently pydicom reads for us, switched safely between threads.

pydicom's value validation mode and Python's warning filters are process-wide.
Changing them from two threads at once can leave them changed for good (each
thread restores what it saw on entry), so every switch of ours holds one lock.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

import pydicom.config

# TODO: Python 3.14 makes warning filters context-local; the lock can then
# cover the validation mode alone, and decoding in threads stops serializing.
_LOCK = threading.RLock()


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings raised in the block instead of emitting them."""
    with _LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


@contextlib.contextmanager
def unvalidated_values() -> Iterator[None]:
    """Convert raw element values without validating them against their VR."""
    settings = pydicom.config.settings
    with _LOCK:
        before = settings.reading_validation_mode
        settings.reading_validation_mode = pydicom.config.IGNORE
        try:
            yield
        finally:
            settings.reading_validation_mode = before
