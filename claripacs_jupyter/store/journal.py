"""The batch journal: which files a batch touches, so a crash can be rolled back.

The index is the truth: a file the index does not name is not in the store.
Ingest writes each file (atomically) before the batch's index rows commit, and
delete removes files only after its rows are gone, so a crash in between
leaves files that no row names. Each batch lists those files in a journal
(``journal/<batch>.txt``) before touching them and removes the journal once
its transaction has committed and its files are settled. Whoever next takes
the store's write lock (the next ingest or delete, or opening the store when
nobody is writing) finds the journals of batches that never finished and
removes every file they name that the index does not, along with leftover
temporary files. Files that no journal names and no row names (a power cut
before the journal reached the disk) are left alone and stay invisible;
:meth:`Store.check` reports them.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from .layout import DICOM_DIR, part_path

__all__ = ["JOURNAL_DIR", "Journal", "prune_empty_folders", "recover"]

logger = logging.getLogger(__name__)

JOURNAL_DIR = "journal"


class Journal:
    """The list of files one batch creates or removes, relative to the store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.batch = uuid.uuid4().hex[:16]
        self.path = root / JOURNAL_DIR / f"{self.batch}.txt"
        self._handle: TextIO | None = None

    def record(self, relative: str) -> None:
        """Note `relative` before the batch creates or removes it."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")
        self._handle.write(relative + "\n")
        # Flushed to the OS, which keeps it across a crash of this process.
        self._handle.flush()

    def sync(self) -> None:
        """Flush the journal to disk before the files it names are made durable."""
        if self._handle is not None:
            os.fsync(self._handle.fileno())

    def finish(self) -> None:
        """Forget the journal: the batch committed and its files are settled."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.path.unlink(missing_ok=True)


def recover(root: Path, indexed: Callable[[list[str]], set[str]]) -> int:
    """Roll back the file changes of unfinished batches; return files removed.

    Parameters
    ----------
    root : Path
        The store folder.
    indexed : callable
        Given relative paths, returns those the index names. Call only while
        holding the store's write lock, so that no batch is still running.
    """
    folder = root / JOURNAL_DIR
    if not folder.is_dir():
        return 0
    removed = 0
    for journal in sorted(folder.glob("*.txt")):
        batch = journal.stem
        names = [
            line for line in journal.read_text("utf-8").splitlines() if line.strip()
        ]
        keep = indexed(names)
        for relative in names:
            final = root / relative
            part_path(final, batch).unlink(missing_ok=True)
            if relative not in keep and final.is_file():
                final.unlink()
                removed += 1
        prune_empty_folders(root, (root / name for name in names))
        journal.unlink()
    if removed:
        logger.info("rolled back %d file(s) of unfinished batches", removed)
    return removed


def prune_empty_folders(root: Path, files: Iterable[Path]) -> None:
    """Remove the series and study folders of `files` that have become empty."""
    top = (root / DICOM_DIR).resolve()
    for parent in {path.parent for path in files}:
        for folder in (parent, parent.parent):
            if folder.resolve() == top or top not in folder.resolve().parents:
                break
            try:
                folder.rmdir()
            except OSError:
                # Not empty (another instance of the series), or already gone.
                break
