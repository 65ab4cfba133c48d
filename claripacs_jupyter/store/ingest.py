"""One ingest batch: read, anonymize, file into cases, write, and index atomically.

Every input's header is read and checked
(:func:`~claripacs_jupyter.dicom.read_header`; pixels are never decoded, nor
even read into Python), passed through teaching-file anonymization when the
store is in teaching mode, grouped into a case by its (anonymized) Study
Instance UID, and written to its place by UID: the anonymized header, encoded
with :func:`~claripacs_jupyter.store.part10.encode_header`, followed by the
source's pixel data element copied byte for byte, which gives the same file as
writing the whole anonymized dataset with pydicom. Files that cannot be copied
from (deflated, or of an unusual form) are read whole and written by pydicom.

Each file is written beside its place and renamed
(:func:`~claripacs_jupyter.store.layout.atomic_write_descriptor`). The index
rows of the whole batch are inserted in one transaction at the end, after the
files are durable (:func:`~claripacs_jupyter.store.layout.sync_files`); the
files it wrote are listed in a :class:`~claripacs_jupyter.store.journal.Journal`
until then, so a crash rolls them back (see that module).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from sqlalchemy import Connection, bindparam, insert, select, union_all, update

from ..anonymize import anonymize_teaching, remap_uid, review_reasons
from ..anonymize.profiles import TEACHING
from ..anonymize.review import document_refusal
from ..dicom import (
    HeaderRead,
    ReadLimits,
    image_info,
    lenient_values,
    read,
    read_header,
)
from ..dicom.series import frame_positions
from ..errors import ClaripacsError, InvalidDicomError, InvalidInputError, StoreError
from . import review
from .accession import new_accession
from .journal import Journal, prune_empty_folders
from .layout import (
    atomic_write,
    atomic_write_descriptor,
    instance_path,
    sync_files,
)
from .ordering import position_along_normal
from .part10 import encode_header
from .report import Outcome, Status
from .schema import cases, instances, masked_instances, series
from .sources import Unit

if TYPE_CHECKING:
    from .store import Store

__all__ = ["Batch", "ORIGINAL_ACCESSION"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: How the case notes keep the Accession Number a study arrived with.
ORIGINAL_ACCESSION = "Original accession: {}"

_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"

# Threads that write files, and how many files may wait for them: any file,
# and files whose content (a whole dataset or source) is held in memory. Most
# files wait as an encoded header and the place of their pixel data, a few KB
# each; the first bound is above _CHUNK, so that storing a chunk never waits
# for the disk and the writers drain it while the next chunk is read.
_WRITERS = 2
_IN_FLIGHT = 128
_IN_FLIGHT_HELD = 8

# Inputs read ahead of storing, for one duplicate lookup per chunk: at most
# this many, holding at most this many bytes of sources in memory.
_CHUNK = 64
_CHUNK_BYTES = 64 * 1024**2

# The case of each instance held as it is, or as the masked copy that
# replaced it: one query per chunk either way.
_STORED_CASES_OF = union_all(
    select(instances.c.sop_uid, series.c.accession)
    .join(series, instances.c.series_uid == series.c.uid)
    .where(instances.c.sop_uid.in_(bindparam("sop_uids", expanding=True))),
    select(masked_instances.c.sop_uid, masked_instances.c.accession).where(
        masked_instances.c.sop_uid.in_(bindparam("sop_uids", expanding=True))
    ),
)
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass
class _PendingCase:
    """A case as this batch will leave it: new, or an existing one it adds to."""

    accession: str
    study_uid: str
    new: bool
    folder: str = ""
    description: str = ""
    modalities: list[str] = field(default_factory=list)
    notes: str = ""
    review_reasons: list[str] = field(default_factory=list)
    stored: int = 0
    # When the batch met the study: cases of one import list in input order.
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def absorb(self, item: _Written) -> None:
        """Take what a newly stored instance adds to the case."""
        if self.new and not self.description:
            self.description = item.study_description
        modality = item.series_row["modality"]
        if modality and modality not in self.modalities:
            self.modalities = sorted([*self.modalities, modality])
        if item.original_accession:
            line = ORIGINAL_ACCESSION.format(item.original_accession)
            if line not in self.notes.splitlines():
                self.notes = f"{self.notes}\n{line}" if self.notes else line
        for reason in item.review_reasons:
            if reason not in self.review_reasons:
                self.review_reasons.append(reason)
        self.stored += 1


@dataclass
class _Written:
    """An instance this batch is writing: its outcome, the write, its rows."""

    outcome: Outcome
    case: _PendingCase
    relative: str
    final: Path
    series_row: dict[str, Any]
    instance_row: dict[str, Any]
    study_description: str
    original_accession: str | None
    review_reasons: list[str]
    #: The write in the pool, once submitted.
    write: Future[int] | None = None


@dataclass
class _Input:
    """An input read and checked, queued for its chunk's duplicate lookup."""

    outcome: Outcome
    source: Path | bytes | BinaryIO
    ds: Dataset
    header: HeaderRead | None
    study_uid: str
    sop_uid: str
    memory: int


@dataclass
class _Repeat:
    """An instance seen a second time in this batch."""

    outcome: Outcome
    first: _Written


class Batch:
    """The inputs of one :meth:`Store.ingest` call, committed together.

    Call :meth:`add` for each input, then :meth:`commit`; if anything escapes
    before the commit, call :meth:`abandon` to remove the files written.
    The caller holds the store's write lock throughout.

    Reading and anonymizing happen in the calling thread, a chunk of inputs
    at a time with one duplicate lookup in the index for the chunk; writing
    and renaming in a small pool of threads, so the disk works while the next
    file is parsed; one sync makes the batch's files durable before its rows
    commit. The outcomes :meth:`add` returns are final once :meth:`commit`
    returns (a write that fails turns its "stored" into "skipped").
    """

    def __init__(self, store: Store, *, folder: str, owner: str | None) -> None:
        self._store = store
        self._root = store.path
        self._key = store._key
        self._teaching = store.teaching
        self._limits = ReadLimits(max_image_bytes=store.settings.max_image_bytes)
        self._folder = folder
        self._owner = owner
        self._journal = Journal(store.path)
        self._conn = store._engine.connect()
        self._pool = ThreadPoolExecutor(_WRITERS, thread_name_prefix="claripacs-write")
        self._slots = threading.BoundedSemaphore(_IN_FLIGHT)
        self._held_slots = threading.BoundedSemaphore(_IN_FLIGHT_HELD)
        self._cases: dict[str, _PendingCase] = {}
        self._series_case: dict[str, str] = {}
        self._written: list[_Written] = []
        self._repeats: list[_Repeat] = []
        self._seen: dict[str, _Written] = {}
        self._queue: list[_Input] = []
        self._queued_bytes = 0
        self._now = datetime.now(UTC)

    def add(self, unit: Unit) -> Outcome:
        """Read and check one input, and queue it to be stored; return its outcome.

        Inputs are stored a chunk at a time, with one duplicate lookup in the
        index for the whole chunk; the outcome returned is filled in then,
        and is final once :meth:`commit` returns.
        """
        outcome = Outcome(unit.name, "stored", None, None, None)
        read_in = _guarded(outcome, self._read, unit, outcome)
        if read_in is not None:
            self._queue.append(read_in)
            self._queued_bytes += read_in.memory
            if len(self._queue) >= _CHUNK or self._queued_bytes >= _CHUNK_BYTES:
                self._flush()
        return outcome

    def commit(self) -> None:
        """Settle the writes, insert the index rows in one transaction, end."""
        self._flush()
        self._conn.close()
        self._pool.shutdown(wait=True)
        settled = [item for item in self._written if _settle(item)]
        for repeat in self._repeats:
            if repeat.first.outcome.status == "skipped":
                repeat.outcome.status = "skipped"
                repeat.outcome.reason = "its first copy in this batch was not stored"
                repeat.outcome.accession = repeat.outcome.sop_uid = None

        series_rows: dict[str, dict[str, Any]] = {}
        for item in settled:
            item.case.absorb(item)
            series_rows.setdefault(item.series_row["uid"], item.series_row)
        touched = [case for case in self._cases.values() if case.stored]
        if touched:
            # Files, their names and the journal are on disk before the rows.
            self._journal.sync()
            written = sum(item.instance_row["size"] for item in settled)
            how = sync_files((item.final for item in settled), written=written)
            logger.debug("made %d file(s) durable with %s", len(settled), how)
            with self._store._engine.begin() as conn:
                self._write_rows(conn, touched, series_rows, settled)
        self._journal.finish()
        logger.info(
            "ingest committed: %d instance(s) in %d case(s)",
            len(settled),
            len(touched),
        )

    def abandon(self) -> None:
        """Remove the files this batch wrote; the index never named them."""
        self._queue.clear()
        self._conn.close()
        self._pool.shutdown(wait=True)
        finals = [item.final for item in self._written]
        for path in finals:
            path.unlink(missing_ok=True)
        prune_empty_folders(self._root, finals)
        self._journal.finish()

    def _copies_pixels(self, header: HeaderRead) -> bool:
        """Whether the file can be written from its header and its pixel bytes."""
        if not self._teaching:
            # Stored as received: only a Part 10 file can be copied whole.
            return header.dataset.preamble is not None
        # The pixel data element is copied as the last element; anything the
        # profile keeps after it would be lost.
        return not any(tag in TEACHING for tag in header.trailing_tags)

    def _read(self, unit: Unit, outcome: Outcome) -> _Input:
        """Read an input's header (or the whole file), check it, predict its UIDs."""
        source = unit.load()
        start = 0 if isinstance(source, Path | bytes) else source.tell()
        header = read_header(source, limits=self._limits)
        if header is None or not self._copies_pixels(header):
            # Deflated or unusual: read whole, from where the header began.
            if not isinstance(source, Path | bytes):
                source.seek(start)
            header = None
            ds = read(source, limits=self._limits)
        else:
            ds = header.dataset

        # A header read leaves values raw: convert the few read here as
        # read() converts them, without pydicom's warnings (they quote values).
        with lenient_values():
            _check_storable(ds, header)
            study_uid = _uid(ds, "StudyInstanceUID")
            sop_uid = _uid(ds, "SOPInstanceUID")
        if self._teaching:
            study_uid = remap_uid(study_uid, self._key)
            sop_uid = remap_uid(sop_uid, self._key)
        memory = _memory(source, header)
        return _Input(outcome, source, ds, header, study_uid, sop_uid, memory)

    def _flush(self) -> None:
        """Store the queued inputs, after one duplicate lookup for all of them."""
        queue, self._queue, self._queued_bytes = self._queue, [], 0
        if not queue:
            return
        stored = self._stored_cases_of([item.sop_uid for item in queue])
        for item in queue:
            _guarded(item.outcome, self._store_one, item, stored)

    def _store_one(self, item: _Input, stored: dict[str, str]) -> None:
        """Find the input's case, anonymize it and start writing it."""
        # Values are converted leniently while the file is prepared, but the
        # wait for a writing thread happens outside: the leniency switch is a
        # process-wide lock that other threads reading files take too.
        with lenient_values():
            prepared = self._prepare(item, stored)
        if prepared is None:
            return
        written, payload = prepared
        self._journal.record(written.relative)
        written.write = self._submit(
            written.final, payload, written.instance_row, held=item.memory > 0
        )
        _settle_as(item.outcome, "stored", written.case.accession, item.sop_uid)
        self._written.append(written)
        self._seen[item.sop_uid] = written

    def _prepare(
        self, item: _Input, stored: dict[str, str]
    ) -> tuple[_Written, _Payload] | None:
        """The input's case, rows and file content; None for a duplicate."""
        outcome, source, ds, header = item.outcome, item.source, item.ds, item.header
        study_uid, sop_uid = item.study_uid, item.sop_uid
        first = self._seen.get(sop_uid)
        if first is not None:
            _settle_as(outcome, "duplicate", first.case.accession, sop_uid)
            self._repeats.append(_Repeat(outcome, first))
            return None
        known = stored.get(sop_uid)
        if known:
            _settle_as(outcome, "duplicate", known, sop_uid)
            return None

        case = self._case_for(study_uid)
        encoded: bytes | None = None
        if self._teaching:
            result = anonymize_teaching(ds, key=self._key, accession=case.accession)
            out = result.dataset
            if header is not None:
                # Encoded here, before any of its raw elements is converted
                # below (the writing threads then only wait for the disk).
                encoded = encode_header(out)
            original = result.original_accession
            reasons = list(result.review_reasons)
            if (_uid(out, "SOPInstanceUID"), _uid(out, "StudyInstanceUID")) != (
                sop_uid,
                study_uid,
            ):
                raise StoreError(
                    "the anonymizer mapped UIDs differently from remap_uid; "
                    "the file was not stored"
                )
        else:
            out = ds
            original = _text(ds, "AccessionNumber") or None
            reasons = review_reasons(ds)

        series_uid = _uid(out, "SeriesInstanceUID")
        owner_of_series = self._case_of_series(series_uid)
        if owner_of_series not in (None, case.accession):
            raise InvalidInputError(
                "its (0020,000E) SeriesInstanceUID already belongs to case "
                f"{owner_of_series}, which is another study"
            )
        self._series_case[series_uid] = case.accession
        info, complete = _header_info(out)
        relative = instance_path(study_uid, series_uid, sop_uid)
        row = _instance_row(out, info, sop_uid, series_uid, relative, self._now)
        row["info_complete"] = complete

        # The file is written by the pool. The journal names it first, so a
        # crash of the process rolls it back.
        payload: _Payload
        if header is not None and encoded is not None:
            payload = _Spliced(encoded, header)
        elif header is not None:
            payload = header
        elif self._teaching or getattr(ds, "preamble", None) is None:
            payload = out
        else:
            payload = source
        written = _Written(
            outcome=outcome,
            case=case,
            relative=relative,
            final=self._root / relative,
            series_row={
                "uid": series_uid,
                "accession": case.accession,
                "number": _int(out, "SeriesNumber"),
                "description": _text(out, "SeriesDescription"),
                "modality": _text(out, "Modality"),
            },
            instance_row=row,
            study_description=_text(out, "StudyDescription"),
            original_accession=original,
            review_reasons=reasons,
        )
        return written, payload

    def _submit(
        self,
        final: Path,
        payload: _Payload,
        row: dict[str, Any],
        *,
        held: bool,
    ) -> Future[int]:
        # At most _IN_FLIGHT files wait for the disk, _IN_FLIGHT_HELD of them
        # with their content in memory (`held`).
        self._slots.acquire()
        if held:
            self._held_slots.acquire()

        def write() -> int:
            try:
                batch = self._journal.batch
                if isinstance(payload, _Spliced):
                    size = atomic_write_descriptor(final, batch, payload.write_to)
                elif isinstance(payload, HeaderRead):
                    size = atomic_write_descriptor(final, batch, payload.copy_file)
                else:
                    size = atomic_write(final, batch, _copier(payload), sync=False)
                row["size"] = size
                return size
            finally:
                if held:
                    self._held_slots.release()
                self._slots.release()

        return self._pool.submit(write)

    def _stored_cases_of(self, sop_uids: list[str]) -> dict[str, str]:
        """The case of each of these instances that the store already holds,
        as it is or as the masked copy that replaced it."""
        found = self._conn.execute(_STORED_CASES_OF, {"sop_uids": sop_uids})
        return {sop_uid: accession for sop_uid, accession in found}

    def _case_of_series(self, series_uid: str) -> str | None:
        if series_uid not in self._series_case:
            query = select(series.c.accession).where(series.c.uid == series_uid)
            found = self._conn.execute(query).scalar_one_or_none()
            if found is None:
                return None
            self._series_case[series_uid] = found
        return self._series_case[series_uid]

    def _case_for(self, study_uid: str) -> _PendingCase:
        case = self._cases.get(study_uid)
        if case is not None:
            return case
        row = self._conn.execute(
            select(cases).where(cases.c.study_uid == study_uid)
        ).one_or_none()
        if row is not None:
            case = _PendingCase(
                accession=row.accession,
                study_uid=study_uid,
                new=False,
                folder=row.folder,
                description=row.description,
                modalities=list(row.modalities),
                notes=row.notes,
                review_reasons=list(row.review_reasons),
            )
        else:
            pending = {c.accession for c in self._cases.values()}
            case = _PendingCase(
                accession=new_accession(lambda a: a in pending or self._taken(a)),
                study_uid=study_uid,
                new=True,
                folder=self._folder,
            )
        self._cases[study_uid] = case
        return case

    def _taken(self, accession: str) -> bool:
        query = select(cases.c.accession).where(cases.c.accession == accession)
        return self._conn.execute(query).first() is not None

    def _write_rows(
        self,
        conn: Connection,
        touched: list[_PendingCase],
        series_rows: dict[str, dict[str, Any]],
        settled: list[_Written],
    ) -> None:
        for case in touched:
            values = {
                "modalities": case.modalities,
                "notes": case.notes,
                "review_reasons": case.review_reasons,
                "updated": self._now,
            }
            if case.new:
                conn.execute(
                    insert(cases).values(
                        accession=case.accession,
                        study_uid=case.study_uid,
                        folder=case.folder,
                        description=case.description,
                        private=True,
                        owner=self._owner,
                        created=case.created,
                        **values,
                    )
                )
            else:
                conn.execute(
                    update(cases)
                    .where(cases.c.accession == case.accession)
                    .values(**values)
                )
        known = set(
            conn.execute(
                select(series.c.uid).where(series.c.uid.in_(list(series_rows)))
            ).scalars()
        )
        new_series = [row for uid, row in series_rows.items() if uid not in known]
        if new_series:
            conn.execute(insert(series), new_series)
        conn.execute(insert(instances), [item.instance_row for item in settled])

        flagged: dict[str, tuple[str, list[str]]] = {}
        for item in settled:
            if item.review_reasons:
                uid = item.series_row["uid"]
                _, reasons = flagged.setdefault(uid, (item.case.accession, []))
                reasons.extend(r for r in item.review_reasons if r not in reasons)
        review.flag(conn, flagged, self._now)


def _guarded(outcome: Outcome, step: Callable[..., _T], *args: Any) -> _T | None:
    """Run one input's `step`; when it fails, the outcome says why, and None."""
    try:
        return step(*args)
    except ClaripacsError as exc:
        reason = str(exc)
    except OSError as exc:
        # Writes fail in the pool (see _settle); here the input was unreadable.
        reason = f"could not be read ({_system_reason(exc)})"
    except Exception as exc:
        reason = _unexpected(exc)
    _settle_as(outcome, "skipped", None, None, reason)
    return None


def _settle_as(
    outcome: Outcome,
    status: Status,
    accession: str | None,
    sop_uid: str | None,
    reason: str | None = None,
) -> None:
    outcome.status, outcome.reason = status, reason
    outcome.accession, outcome.sop_uid = accession, sop_uid


def _memory(source: Path | bytes | BinaryIO, header: HeaderRead | None) -> int:
    """Roughly the memory an input holds while it waits in the queue."""
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, io.BytesIO):
        return source.getbuffer().nbytes
    if header is None:
        # Read whole: its pixel data is in memory.
        if isinstance(source, Path):
            return source.stat().st_size
        return source.seek(0, io.SEEK_END)
    return 0


def _settle(item: _Written) -> bool:
    """Wait for an instance's write; on failure turn its outcome into a skip."""
    try:
        if item.write is None:
            raise StoreError("the file was never handed to a writer")
        item.write.result()
        return True
    except ClaripacsError as exc:
        # The source changed between its header read and the copy of its pixels.
        reason = str(exc)
    except OSError as exc:
        reason = _write_failure(exc)
    except Exception as exc:
        reason = _unexpected(exc)
    item.outcome.status = "skipped"
    item.outcome.reason = reason
    item.outcome.accession = item.outcome.sop_uid = None
    return False


def _write_failure(exc: OSError) -> str:
    return f"could not be written ({_system_reason(exc)})"


def _system_reason(exc: OSError) -> str:
    # pydicom re-raises I/O errors with the tag in the message; the system's own
    # words (e.g. "No space left on device") are on the original error.
    cause: BaseException | None = exc
    while cause is not None and not getattr(cause, "strerror", None):
        cause = cause.__cause__
    return getattr(cause, "strerror", None) or type(exc).__name__


def _unexpected(exc: Exception) -> str:
    # Not a known kind of bad input: log it for a bug report (no values from the
    # file are logged) and carry on with the rest of the batch.
    logger.error(
        "ingest failed on one input: %s",
        type(exc).__name__,
        exc_info=logger.isEnabledFor(logging.DEBUG),
    )
    return (
        f"could not be stored (unexpected {type(exc).__name__}; the log has "
        "details with debug logging on)"
    )


def _check_storable(ds: Dataset, header: HeaderRead | None) -> None:
    sop_class = _text(ds, "SOPClassUID")
    if sop_class == _DICOMDIR_CLASS:
        raise InvalidInputError(
            "a DICOMDIR is an index of files, not an image: import its folder"
        )
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        _uid(ds, keyword)
    if header is not None:
        has_pixels = header.pixel_tag is not None
    else:
        has_pixels = any(keyword in ds for keyword in _PIXEL_KEYWORDS)
    refusal = document_refusal(ds)
    if refusal is not None:
        raise InvalidInputError(refusal)
    if not has_pixels:
        kind = pydicom.uid.UID(sop_class).name if sop_class else "file"
        raise InvalidInputError(
            f"no image: this {kind} holds no pixel data (only images are stored)"
        )


def _header_info(ds: Dataset) -> tuple[dict[str, Any], bool]:
    """image_info of `ds` from its header alone, and whether it is complete."""
    # Decoding here would cost ingest 4 ms per uncompressed CT slice and 30 ms
    # per JPEG 2000 one; grey images get their pixel statistics on first view
    # (Store.image_info). Colour images need none.
    info = image_info(ds, decode=False)
    positions = frame_positions(ds)
    if positions is not None:
        # Kept for series assembly (Store.stacks), which reads no files.
        info["frame_positions"] = positions
    return info, info.get("kind") == "rgb"


def _instance_row(
    ds: Dataset,
    info: dict[str, Any],
    sop_uid: str,
    series_uid: str,
    relative: str,
    now: datetime,
) -> dict[str, Any]:
    number = info.get("instance_number")
    return {
        "sop_uid": sop_uid,
        "series_uid": series_uid,
        "path": relative,
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "transfer_syntax": _text(ds.file_meta, "TransferSyntaxUID"),
        "number": int(number) if number is not None else _int(ds, "InstanceNumber"),
        "frames": int(info.get("frames") or 1),
        "rows": int(info.get("rows") or 0),
        "columns": int(info.get("columns") or 0),
        "position": position_along_normal(
            info.get("position"), info.get("orientation")
        ),
        "size": 0,  # set once the file is written
        "image_info": info,
        "added": now,
    }


@dataclass(frozen=True)
class _Spliced:
    """An encoded header, and the source whose pixel data element follows it."""

    encoded: bytes
    header: HeaderRead

    def write_to(self, descriptor: int) -> int:
        """Write the file to an OS file descriptor; return its size."""
        # The same bytes as writing the whole anonymized dataset: the pixel
        # data element is its last, in the same transfer syntax, and pydicom
        # would copy its value unchanged.
        view = memoryview(self.encoded)
        while len(view):
            view = view[os.write(descriptor, view) :]
        return len(self.encoded) + self.header.copy_pixel_element(descriptor)


_Payload = _Spliced | HeaderRead | Dataset | Path | bytes | BinaryIO


def _copier(
    payload: Dataset | Path | bytes | BinaryIO,
) -> Callable[[BinaryIO], object]:
    """A function that writes `payload` to a file: a dataset as a Part 10 file
    (preamble, file meta, data set), or the bytes of a file as they are."""

    def copy(handle: BinaryIO) -> None:
        if isinstance(payload, Dataset):
            pydicom.dcmwrite(handle, payload, enforce_file_format=True)
        elif isinstance(payload, bytes):
            handle.write(payload)
        elif isinstance(payload, Path):
            with open(payload, "rb") as original:
                shutil.copyfileobj(original, handle, 1024**2)
        else:
            payload.seek(0)
            shutil.copyfileobj(payload, handle, 1024**2)

    return copy


def _uid(ds: Dataset, keyword: str) -> str:
    text = _text(ds, keyword)
    if not text:
        tag = pydicom.datadict.tag_for_keyword(keyword)
        label = f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {keyword}" if tag else keyword
        raise InvalidDicomError(f"no {label}: the file cannot be filed into a case")
    return text


def _text(ds: Dataset, keyword: str) -> str:
    """A header value as trimmed text (values joined by backslashes); empty when
    absent or unreadable."""
    elem = ds.get_item(pydicom.datadict.tag_for_keyword(keyword) or 0)
    if elem is None:
        return ""
    if isinstance(elem, RawDataElement) and elem.value is not None:
        # Most values are plain ASCII: no conversion needed to read them.
        try:
            return _trimmed(elem.value.decode("ascii"))
        except UnicodeDecodeError:
            pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ds.get(keyword)
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(_trimmed(str(item)) for item in value)
    return _trimmed(str(value))


def _trimmed(text: str) -> str:
    return text.strip().rstrip("\0").strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    text = _text(ds, keyword)
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None
