"""Where a stored instance lives on disk, and how a file gets there atomically."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "DICOM_DIR",
    "atomic_write",
    "instance_path",
    "part_path",
    "sync_directory",
    "sync_files",
]

#: The folder of the DICOM files inside the store.
DICOM_DIR = "dicom"

# A UID as PS3.5 9.1 allows: digits and dots, no empty component, 64 at most.
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def instance_path(study_uid: str, series_uid: str, sop_uid: str) -> str:
    """Return ``dicom/<study>/<series>/<sop>.dcm``, relative to the store.

    A UID that is not a valid UID (stores without teaching mode keep the UIDs
    they receive) is replaced by a hash of it, so that no value from a file
    can name a path outside the store.
    """
    parts = [_component(uid) for uid in (study_uid, series_uid, sop_uid)]
    return f"{DICOM_DIR}/{parts[0]}/{parts[1]}/{parts[2]}.dcm"


def part_path(final: Path, batch: str) -> Path:
    """Return the temporary name beside `final` that a batch writes first."""
    return final.with_name(f"{final.name}.{batch}.part")


def atomic_write(
    final: Path, batch: str, write: Callable[[BinaryIO], object], *, sync: bool = True
) -> int:
    """Have `write` fill `final` so that the file appears whole or not at all.

    `write` gets a temporary file beside `final`, which is then renamed over
    `final` (os.replace, atomic on one file system). With `sync` the file is
    flushed to disk (fsync) before the rename; without it the caller must
    call :func:`sync_files` before it relies on the file surviving a power
    cut. Returns the size of the file.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = part_path(final, batch)
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            size = handle.tell()
            if sync:
                os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return size


def sync_files(paths: Iterable[Path], *, threads: int = 8) -> None:
    """fsync many files at once, then the folders that hold their names.

    Issued together, from several threads, the flushes share the file
    system's journal commits: much faster than one fsync after each write.
    """
    files = list(paths)
    with ThreadPoolExecutor(threads, thread_name_prefix="claripacs-sync") as pool:
        list(pool.map(_fsync, files))
    folders: set[Path] = set()
    for path in files:
        folders.update((path.parent, path.parent.parent, path.parent.parent.parent))
    for folder in folders:
        sync_directory(folder)


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def sync_directory(folder: Path) -> None:
    """Flush a folder's entries (new names from renames) to disk, where supported."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        # Some platforms and file systems cannot fsync a directory.
        pass
    finally:
        os.close(handle)


def _component(uid: str) -> str:
    text = str(uid).strip().rstrip("\0")
    if len(text) <= 64 and _UID.fullmatch(text):
        return text
    return "x" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:40]
