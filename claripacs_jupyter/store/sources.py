"""Turning what a caller hands to ingest into inputs: files, folders, ZIPs, uploads.

Every input becomes either a :class:`Unit` (something to read as DICOM) or an
:class:`~claripacs_jupyter.store.report.Outcome` that says at once why it was
skipped. ZIP archives are never extracted by member name: members are read
into memory (or a temporary file when large) by their index entry, so no name
in an archive can write anywhere, and members with names that try to leave
the archive's folder are refused anyway.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from ..errors import ArchiveError
from .report import Outcome
from .settings import RATIO_FLOOR_BYTES, StoreSettings

__all__ = ["Unit", "expand", "looks_like_zip"]

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | tuple[str, bytes]

# Archives within archives are opened this deep (1: a ZIP inside the ZIP).
_MAX_NESTING = 1

# Members larger than this are spooled to a temporary file rather than memory.
_SPOOL_BYTES = 64 * 1024**2

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class Unit:
    """One input to read as DICOM: a file path, bytes, or a ZIP member."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    loader: Callable[[], bytes | BinaryIO] | None = None

    def load(self) -> Path | bytes | BinaryIO:
        """Return what :func:`claripacs_jupyter.dicom.read` should read."""
        if self.loader is not None:
            return self.loader()
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path


class _Budget:
    """The expansion still allowed for one top-level archive and its nested ones."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit


def expand(
    sources: Source | Iterable[Source], settings: StoreSettings, stack: ExitStack
) -> list[Unit | Outcome]:
    """Return the inputs of `sources` in order, each a Unit or a skip Outcome.

    `sources` may also be one path or one (name, bytes) upload. Open archives
    are registered on `stack`, which must stay open until every Unit has been
    loaded.
    """
    single = isinstance(sources, str | os.PathLike) or (
        isinstance(sources, tuple)
        and len(sources) == 2
        and isinstance(sources[0], str)
        and isinstance(sources[1], bytes | bytearray | memoryview)
    )
    if single:
        sources = [sources]
    elif isinstance(sources, bytes | bytearray | memoryview):
        raise TypeError("give an upload as (name, bytes), not its bytes alone")
    elif not isinstance(sources, Iterable):
        raise TypeError(
            f"cannot read a {type(sources).__name__} as sources: give a path, "
            "a list of paths, or (name, bytes) for an upload"
        )
    items: list[Unit | Outcome] = []
    for source in sources:
        items.extend(_expand_one(source, settings, stack))
    return items


def _expand_one(
    source: Source, settings: StoreSettings, stack: ExitStack
) -> Iterator[Unit | Outcome]:
    if isinstance(source, tuple):
        name, data = _upload(source)
        if looks_like_zip(name, data[:132]):
            budget = _Budget(settings.archive_max_bytes)
            yield from _archive(
                name, io.BytesIO(data), len(data), settings, stack, budget, 0
            )
        else:
            yield Unit(name, data=data)
        return
    if not isinstance(source, str | os.PathLike):
        raise TypeError(
            f"cannot read a {type(source).__name__} as a source: give paths, "
            "or (name, bytes) for an upload"
        )
    display = os.fspath(source)
    path = Path(source).expanduser()
    if path.is_dir():
        yield from _folder(path, settings, stack)
    elif path.is_file():
        yield from _file(path, display, settings, stack)
    elif path.exists():
        yield Outcome(display, "skipped", "not a regular file or folder")
    else:
        yield Outcome(display, "skipped", "no such file or folder")


def _upload(source: tuple[str, bytes]) -> tuple[str, bytes]:
    if len(source) != 2:
        raise TypeError("an upload is a (name, bytes) pair")
    name, data = source
    if not isinstance(name, str) or not isinstance(
        data, bytes | bytearray | memoryview
    ):
        raise TypeError("an upload is a (name, bytes) pair")
    return name or "upload", bytes(data)


def _folder(
    top: Path, settings: StoreSettings, stack: ExitStack
) -> Iterator[Unit | Outcome]:
    found = False
    for folder, dirs, files in os.walk(top, onerror=None, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(files):
            if _ignored(name):
                continue
            found = True
            path = Path(folder) / name
            yield from _file(path, str(path), settings, stack)
    if not found:
        yield Outcome(str(top), "skipped", "the folder holds no files to import")


def _file(
    path: Path, display: str, settings: StoreSettings, stack: ExitStack
) -> Iterator[Unit | Outcome]:
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
        if not looks_like_zip(path.name, head):
            yield Unit(display, path=path)
            return
        handle = stack.enter_context(open(path, "rb"))
        size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        yield Outcome(display, "skipped", f"cannot read the file ({exc.strerror})")
        return
    budget = _Budget(settings.archive_max_bytes)
    yield from _archive(display, handle, size, settings, stack, budget, 0)


def _archive(
    name: str,
    handle: BinaryIO,
    size: int,
    settings: StoreSettings,
    stack: ExitStack,
    budget: _Budget,
    depth: int,
) -> Iterator[Unit | Outcome]:
    try:
        archive = stack.enter_context(zipfile.ZipFile(handle))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        yield Outcome(
            name, "skipped", "not a readable ZIP archive (damaged or cut off)"
        )
        return
    if not members:
        yield Outcome(name, "skipped", "the ZIP archive is empty")
        return
    refusal = _bomb_reason(members, size, settings, budget)
    if refusal:
        # the outcome carries the reason to the caller; a warning here would
        # print it twice on the command line
        logger.info("refused a ZIP archive: %s", refusal)
        yield Outcome(name, "skipped", refusal)
        return
    budget.left -= sum(info.file_size for info in members)

    produced = 0
    for item in _members(name, archive, members, settings, stack, budget, depth):
        produced += 1
        yield item
    if not produced:
        yield Outcome(
            name, "skipped", "the ZIP archive holds only hidden or system files"
        )


def _members(
    name: str,
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    settings: StoreSettings,
    stack: ExitStack,
    budget: _Budget,
    depth: int,
) -> Iterator[Unit | Outcome]:
    for info in members:
        member = f"{name}!{info.filename}"
        parts = re.split(r"[\\/]", info.filename)
        if _unsafe(info.filename, parts):
            yield Outcome(
                member,
                "skipped",
                "unsafe path in the ZIP archive (it leads outside the archive's "
                "folder); not imported",
            )
        elif any(_ignored(part) for part in parts if part):
            continue
        elif info.flag_bits & 0x1:
            yield Outcome(
                member, "skipped", "the ZIP member is encrypted; decrypt it first"
            )
        elif bomb := _member_bomb(info, settings):
            yield Outcome(member, "skipped", bomb)
        elif info.filename.lower().endswith(".zip"):
            yield from _nested(member, archive, info, settings, stack, budget, depth)
        else:
            yield Unit(member, loader=_member_loader(archive, info, stack))


def _nested(
    member: str,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    settings: StoreSettings,
    stack: ExitStack,
    budget: _Budget,
    depth: int,
) -> Iterator[Unit | Outcome]:
    if depth >= _MAX_NESTING:
        yield Outcome(member, "skipped", "ZIP archives nested this deep are not opened")
        return
    try:
        inner = _member_loader(archive, info, stack)()
    except ArchiveError as exc:
        yield Outcome(member, "skipped", str(exc))
        return
    yield from _archive(
        member, inner, info.file_size, settings, stack, budget, depth + 1
    )


def _bomb_reason(
    members: list[zipfile.ZipInfo],
    size: int,
    settings: StoreSettings,
    budget: _Budget,
) -> str | None:
    # The sizes come from the archive's directory; zipfile never produces more
    # than a member's declared size (and checks its CRC), so they bound the reads.
    expanded = sum(info.file_size for info in members)
    if expanded > budget.left:
        return (
            f"the ZIP archive would expand to {_size(expanded)}, beyond the limit of "
            f"{_size(budget.limit)} (store setting archive_max_bytes)"
        )
    ratio = expanded / max(size, 1)
    if expanded > RATIO_FLOOR_BYTES and ratio > settings.archive_max_ratio:
        return (
            f"the ZIP archive would expand {ratio:,.0f} times its size "
            f"(limit {settings.archive_max_ratio:,.0f}, store setting "
            "archive_max_ratio): a ZIP bomb"
        )
    return None


def _member_bomb(info: zipfile.ZipInfo, settings: StoreSettings) -> str | None:
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR_BYTES and ratio > settings.archive_max_ratio:
        return (
            f"the ZIP member would expand {ratio:,.0f} times its size "
            f"(limit {settings.archive_max_ratio:,.0f}, store setting "
            "archive_max_ratio): a ZIP bomb"
        )
    return None


def _member_loader(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, stack: ExitStack
) -> Callable[[], BinaryIO]:
    def load() -> BinaryIO:
        if info.file_size <= _SPOOL_BYTES:
            target: IO[bytes] = io.BytesIO()
        else:
            target = stack.enter_context(tempfile.TemporaryFile())
        try:
            with archive.open(info) as member:
                while chunk := member.read(1024**2):
                    target.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(f"damaged ZIP member ({exc})") from None
        except NotImplementedError:
            raise ArchiveError(
                "the ZIP member uses a compression method that cannot be read"
            ) from None
        except RuntimeError:
            raise ArchiveError(
                "the ZIP member is encrypted; decrypt it first"
            ) from None
        target.seek(0)
        return target  # type: ignore[return-value]

    return load


def looks_like_zip(name: str, head: bytes) -> bool:
    """Whether a file is read as a ZIP archive, by its name and first 132 bytes."""
    # A DICOM file may carry anything in its 128-byte preamble, even "PK": a
    # file with "DICM" after the preamble is read as DICOM.
    if head[128:132] == b"DICM":
        return False
    return head[:4] in _ZIP_MAGIC or name.lower().endswith(".zip")


def _unsafe(filename: str, parts: list[str]) -> bool:
    return (
        filename.startswith(("/", "\\"))
        or bool(_DRIVE.match(filename))
        or ".." in parts
        or "\0" in filename
    )


def _ignored(name: str) -> bool:
    # Hidden files and folders (.DS_Store, .git), macOS resource forks, and the
    # DICOMDIR index (the images it lists are imported from the folder itself).
    return name.startswith(".") or name == "__MACOSX" or name.upper() == "DICOMDIR"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{count:,} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"
