"""The store's write lock: one ingest or delete at a time, across processes.

Readers never wait (the index runs in WAL mode). Writers that change files
(ingest, delete, crash recovery) take this lock so that a new case's accession,
written into its files' headers, is decided by one batch only, and so that
recovery never mistakes a running batch for a crashed one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    # TODO: lock with msvcrt.locking on Windows; until then two processes
    # importing into one store at the same moment are not kept apart there.
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriteLock"]


class WriteLock:
    """An exclusive lock on ``<store>/.lock``, re-entrant within one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._handle: int | None = None

    @contextmanager
    def hold(self, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the lock for the block; yield False when not blocking and busy."""
        if not self._threads.acquire(blocking=blocking):
            yield False
            return
        try:
            if self._depth == 0 and not self._lock_file(blocking):
                yield False
                return
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._unlock_file()
        finally:
            self._threads.release()

    def _lock_file(self, blocking: bool) -> bool:
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle, flags)
            except BlockingIOError:
                os.close(handle)
                return False
        self._handle = handle
        return True

    def _unlock_file(self) -> None:
        if self._handle is not None:
            # Closing the descriptor releases the flock.
            os.close(self._handle)
            self._handle = None
