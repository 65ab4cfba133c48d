"""File layout: atomic writes through descriptors and making files durable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from claripacs_jupyter.store.layout import (
    atomic_write_descriptor,
    part_path,
    start_writeback,
    sync_files,
)


def _write(data: bytes):  # type: ignore[no-untyped-def]
    def write(descriptor: int) -> int:
        os.write(descriptor, data)
        start_writeback(descriptor)
        return len(data)

    return write


def test_a_descriptor_write_creates_its_folders_and_renames_into_place(
    tmp_path: Path,
) -> None:
    final = tmp_path / "dicom" / "1.2" / "1.2.3" / "1.2.3.4.dcm"

    size = atomic_write_descriptor(final, "batch1", _write(b"DICM data"))

    assert size == 9
    assert final.read_bytes() == b"DICM data"
    assert not part_path(final, "batch1").exists()


def test_a_failed_descriptor_write_leaves_neither_file(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b.dcm"

    def fail(descriptor: int) -> int:
        os.write(descriptor, b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write_descriptor(final, "batch1", fail)

    assert not final.exists()
    assert not part_path(final, "batch1").exists()


def test_files_are_synced_one_by_one_without_the_bytes_written(
    tmp_path: Path,
) -> None:
    files = []
    for index in range(3):
        path = tmp_path / "s" / f"{index}.dcm"
        atomic_write_descriptor(path, "b", _write(b"x" * 1000))
        files.append(path)

    assert sync_files(files) == "fsync"


@pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or tuple(int(p) for p in os.uname().release.split(".")[:2]) < (5, 8),
    reason="syncfs reports write errors from Linux 5.8 on",
)
def test_a_batch_holding_the_pending_writes_syncs_its_file_system_once(
    tmp_path: Path,
) -> None:
    files = []
    for index in range(3):
        path = tmp_path / "s" / f"{index}.dcm"
        atomic_write_descriptor(path, "b", _write(b"x" * 1000))
        files.append(path)

    # However much else waits to be written, a batch this large covers it.
    how = sync_files(files, written=1 << 50)

    assert how == "syncfs"


def test_syncfs_is_not_used_when_much_more_than_the_batch_waits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s" / "0.dcm"
    atomic_write_descriptor(path, "b", _write(b"x" * 10))
    other = tmp_path / "other.bin"
    # 64 MiB of unrelated unwritten data, more than the 16 MiB allowance.
    with open(other, "wb") as handle:
        for _ in range(64):
            handle.write(b"\0" * 1024**2)

    how = sync_files([path], written=10)

    assert how == "fsync"
