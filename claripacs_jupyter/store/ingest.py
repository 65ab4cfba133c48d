"""One ingest batch: read, anonymize, file into cases, write, and index atomically.

Every input is read (header checks first, pixels never decoded), passed
through teaching-file anonymization when the store is in teaching mode,
grouped into a case by its (anonymized) Study Instance UID, and written to its
place by UID with :func:`~claripacs_jupyter.store.layout.atomic_write`. The
index rows of the whole batch are inserted in one transaction at the end; the
files it wrote are listed in a :class:`~claripacs_jupyter.store.journal.Journal`
until then, so a crash rolls them back (see that module).
"""

from __future__ import annotations

import logging
import shutil
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import pydicom
from pydicom.dataset import Dataset
from sqlalchemy import insert, select, update

from ..anonymize import anonymize_teaching, remap_uid, review_reasons
from ..dicom import ReadLimits, image_info, read
from ..errors import ClaripacsError, InvalidDicomError, InvalidInputError, StoreError
from .accession import new_accession
from .journal import Journal, prune_empty_folders
from .layout import atomic_write, instance_path
from .ordering import position_along_normal
from .report import Outcome
from .schema import cases, instances, series
from .sources import Unit

if TYPE_CHECKING:
    from .store import Store

__all__ = ["Batch", "ORIGINAL_ACCESSION"]

logger = logging.getLogger(__name__)

#: How the case notes keep the Accession Number a study arrived with.
ORIGINAL_ACCESSION = "Original accession: {}"

_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
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

    def absorb(self, ds: Dataset, original: str | None, reasons: list[str]) -> None:
        """Take what a newly stored instance adds to the case."""
        if self.new and not self.description:
            self.description = _text(ds, "StudyDescription")
        modality = _text(ds, "Modality")
        if modality and modality not in self.modalities:
            self.modalities = sorted([*self.modalities, modality])
        if original:
            line = ORIGINAL_ACCESSION.format(original)
            if line not in self.notes.splitlines():
                self.notes = f"{self.notes}\n{line}" if self.notes else line
        for reason in reasons:
            if reason not in self.review_reasons:
                self.review_reasons.append(reason)
        self.stored += 1


class Batch:
    """The inputs of one :meth:`Store.ingest` call, committed together.

    Call :meth:`add` for each input, then :meth:`commit`; if anything escapes
    before the commit, call :meth:`abandon` to remove the files written.
    The caller holds the store's write lock throughout.
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
        self._cases: dict[str, _PendingCase] = {}
        self._series_case: dict[str, str] = {}
        self._series_rows: dict[str, dict[str, Any]] = {}
        self._instance_rows: list[dict[str, Any]] = []
        self._seen: dict[str, str] = {}
        self._written: list[Path] = []
        self._now = datetime.now(UTC)

    def add(self, unit: Unit) -> Outcome:
        """Read, anonymize and write one input; return its outcome."""
        try:
            source = unit.load()
            dataset = read(source, limits=self._limits)
            return self._add(unit.name, source, dataset)
        except ClaripacsError as exc:
            return Outcome(unit.name, "skipped", str(exc))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return Outcome(unit.name, "skipped", f"could not be written ({reason})")
        except Exception as exc:
            # Not a known kind of bad input: log it for a bug report (no values
            # from the file are logged) and carry on with the rest of the batch.
            logger.error(
                "ingest failed on one input: %s",
                type(exc).__name__,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
            return Outcome(
                unit.name,
                "skipped",
                f"could not be stored (unexpected {type(exc).__name__}; the log "
                "has details with debug logging on)",
            )

    def commit(self) -> None:
        """Insert the batch's index rows in one transaction, then drop the journal."""
        self._conn.close()
        touched = [case for case in self._cases.values() if case.stored]
        if touched:
            self._journal.sync()
            with self._store._engine.begin() as conn:
                self._write_rows(conn, touched)
        self._journal.finish()
        logger.info(
            "ingest committed: %d instance(s) in %d case(s)",
            len(self._instance_rows),
            len(touched),
        )

    def abandon(self) -> None:
        """Remove the files this batch wrote; the index never named them."""
        self._conn.close()
        for path in self._written:
            path.unlink(missing_ok=True)
        prune_empty_folders(self._root, self._written)
        self._journal.finish()

    def _add(self, name: str, source: Path | bytes | BinaryIO, ds: Dataset) -> Outcome:
        _check_storable(ds)
        study_uid = _uid(ds, "StudyInstanceUID")
        sop_uid = _uid(ds, "SOPInstanceUID")
        if self._teaching:
            study_uid = remap_uid(study_uid, self._key)
            sop_uid = remap_uid(sop_uid, self._key)

        known = self._seen.get(sop_uid) or self._stored_case_of(sop_uid)
        if known:
            return Outcome(name, "duplicate", None, known, sop_uid)

        case = self._case_for(study_uid)
        if self._teaching:
            result = anonymize_teaching(ds, key=self._key, accession=case.accession)
            out = result.dataset
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
        info, complete = _header_info(out)
        relative = instance_path(study_uid, series_uid, sop_uid)
        final = self._root / relative

        # The journal names the file before it exists, so a crash rolls it back.
        self._journal.record(relative)
        verbatim = not self._teaching and getattr(ds, "preamble", None) is not None
        size = atomic_write(final, self._journal.batch, _writer(out, source, verbatim))
        self._written.append(final)

        case.absorb(out, original, reasons)
        self._seen[sop_uid] = case.accession
        if series_uid not in self._series_case:
            self._series_case[series_uid] = case.accession
            self._series_rows[series_uid] = {
                "uid": series_uid,
                "accession": case.accession,
                "number": _int(out, "SeriesNumber"),
                "description": _text(out, "SeriesDescription"),
                "modality": _text(out, "Modality"),
            }
        self._instance_rows.append(
            _instance_row(out, info, sop_uid, series_uid, relative, size, self._now)
            | {"info_complete": complete}
        )
        return Outcome(name, "stored", None, case.accession, sop_uid)

    def _stored_case_of(self, sop_uid: str) -> str | None:
        query = (
            select(series.c.accession)
            .join(instances, instances.c.series_uid == series.c.uid)
            .where(instances.c.sop_uid == sop_uid)
        )
        return self._conn.execute(query).scalar_one_or_none()

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

    def _write_rows(self, conn: Any, touched: list[_PendingCase]) -> None:
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
                        created=self._now,
                        **values,
                    )
                )
            else:
                conn.execute(
                    update(cases)
                    .where(cases.c.accession == case.accession)
                    .values(**values)
                )
        if self._series_rows:
            conn.execute(insert(series), list(self._series_rows.values()))
        conn.execute(insert(instances), self._instance_rows)


def _check_storable(ds: Dataset) -> None:
    sop_class = _text(ds, "SOPClassUID")
    if sop_class == _DICOMDIR_CLASS:
        raise InvalidInputError(
            "a DICOMDIR is an index of files, not an image: import its folder"
        )
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        _uid(ds, keyword)
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        kind = pydicom.uid.UID(sop_class).name if sop_class else "file"
        raise InvalidInputError(
            f"no image: this {kind} holds no pixel data (only images are stored)"
        )


def _header_info(ds: Dataset) -> tuple[dict[str, Any], bool]:
    """image_info of `ds`, and whether it is complete."""
    # TODO: header only (image_info(ds, decode=False), requested from dicom/),
    # leaving the pixel statistics to Store.image_info: decoding here costs
    # ingest 4 ms per uncompressed CT slice and 30 ms per JPEG 2000 one.
    return image_info(ds), True


def _instance_row(
    ds: Dataset,
    info: dict[str, Any],
    sop_uid: str,
    series_uid: str,
    relative: str,
    size: int,
    now: datetime,
) -> dict[str, Any]:
    number = info.get("instance_number")
    return {
        "sop_uid": sop_uid,
        "series_uid": series_uid,
        "path": relative,
        "sop_class_uid": _text(ds, "SOPClassUID"),
        "transfer_syntax": str(ds.file_meta.get("TransferSyntaxUID", "")),
        "number": int(number) if number is not None else _int(ds, "InstanceNumber"),
        "frames": int(info.get("frames") or 1),
        "rows": int(info.get("rows") or 0),
        "columns": int(info.get("columns") or 0),
        "position": position_along_normal(
            info.get("position"), info.get("orientation")
        ),
        "size": size,
        "image_info": info,
        "added": now,
    }


def _writer(ds: Dataset, source: Path | bytes | BinaryIO, verbatim: bool) -> Any:
    def write(handle: BinaryIO) -> None:
        if not verbatim:
            pydicom.dcmwrite(handle, ds, enforce_file_format=True)
        elif isinstance(source, bytes):
            handle.write(source)
        elif isinstance(source, Path):
            with open(source, "rb") as original:
                shutil.copyfileobj(original, handle, 1024**2)
        else:
            source.seek(0)
            shutil.copyfileobj(source, handle, 1024**2)

    return write


def _uid(ds: Dataset, keyword: str) -> str:
    text = _text(ds, keyword)
    if not text:
        tag = pydicom.datadict.tag_for_keyword(keyword)
        label = f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {keyword}" if tag else keyword
        raise InvalidDicomError(f"no {label}: the file cannot be filed into a case")
    return text


def _text(ds: Dataset, keyword: str) -> str:
    """A header value as trimmed text; empty when absent or unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ds.get(keyword)
    except Exception:
        return ""
    if value is None:
        return ""
    return str(value).strip().rstrip("\0").strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    text = _text(ds, keyword)
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None
