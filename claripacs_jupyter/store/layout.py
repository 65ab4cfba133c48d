"""Where a stored instance lives on disk, and how a file gets there atomically."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "DICOM_DIR",
    "atomic_write",
    "instance_path",
    "part_path",
    "sync_directory",
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


def atomic_write(final: Path, batch: str, write: Callable[[BinaryIO], object]) -> int:
    """Have `write` fill `final` so that the file appears whole or not at all.

    `write` gets a temporary file beside `final`; the file is flushed to disk
    (fsync) and renamed over `final` (os.replace, atomic on one file system).
    Returns the size of the file.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = part_path(final, batch)
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            size = handle.tell()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return size


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
