"""The case store: a folder with an SQLite index (or a database URL) and DICOM files."""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from pydicom.dataset import Dataset
from sqlalchemy import (
    Engine,
    and_,
    create_engine,
    delete,
    distinct,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..anonymize.masking import DeviceMask, Rect, as_rects, mask_pixels, masks_for
from ..dicom import ReadLimits, image_info, read
from ..dicom.series import Stack, assemble
from ..errors import InvalidDicomError, InvalidInputError, NotFoundError, StoreError
from ..paths import data_dir
from . import review
from . import settings as store_settings
from .accession import normalize
from .case import Case, Instance, Series
from .ingest import Batch
from .journal import Journal, prune_empty_folders, recover
from .layout import DICOM_DIR, atomic_write
from .layout import instance_path as layout_path
from .locking import WriteLock
from .ordering import sort_instances
from .report import IngestReport
from .schema import (
    SCHEMA_VERSION,
    cases,
    instances,
    masked_instances,
    metadata,
    series,
)
from .settings import StoreSettings
from .sources import Source, Unit, expand

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["INDEX_NAME", "INDEX_URL_ENV", "Store", "StoreCheck", "open_store"]

logger = logging.getLogger(__name__)

#: The SQLite index inside the store folder.
INDEX_NAME = "index.sqlite"

#: Environment variable naming another index (for example a PostgreSQL URL).
INDEX_URL_ENV = "CLARIPACS_INDEX_URL"

_EDITABLE = {"description", "notes", "folder", "private"}
_FOLDER_MAX = 200
_TEXT_MAX = 100_000


def open_store(
    data: str | os.PathLike[str] | None = None,
    *,
    teaching: bool | None = None,
    create: bool = True,
    index_url: str | None = None,
) -> Store:
    """Open (and create, unless told not to) the case store.

    Parameters
    ----------
    data : str or PathLike, optional
        The store folder; else ``CLARIPACS_DATA``, else the user's data dir
        (see :func:`claripacs_jupyter.paths.data_dir`).
    teaching : bool, optional
        For a new store, whether it anonymizes on ingest (default True). For
        an existing store, the mode the caller expects: a store whose setting
        differs is refused rather than silently switched; change the setting
        with :meth:`Store.configure`.
    create : bool
        Create the folder and the index when missing (default True).
    index_url : str, optional
        An SQLAlchemy URL for the index instead of ``<folder>/index.sqlite``
        (also from ``CLARIPACS_INDEX_URL``), for example a PostgreSQL
        database shared by several servers. The files stay in the folder.

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        No store there and `create` is False; the index is unreadable or was
        written by a newer version; the teaching mode differs.
    """
    root = data_dir(data)
    url = index_url or os.environ.get(INDEX_URL_ENV) or f"sqlite:///{root / INDEX_NAME}"
    parsed = make_url(url)
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    fresh = database is not None and not Path(database).exists()
    if fresh and not create:
        raise StoreError(
            f"no store at {root}: check --data or CLARIPACS_DATA, or run "
            "'claripacs import' or 'claripacs demo' to create one"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store folder {root}: {exc.strerror}"
        ) from None

    engine = _create_engine(url)
    lock = WriteLock(root / ".lock")
    try:
        with ExitStack() as stack:
            if fresh:
                # Two processes creating one store at once must not both make a key.
                stack.enter_context(lock.hold())
            key, current = _prepare_index(engine, teaching)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store index at {root}: {exc}") from None
    except BaseException:
        engine.dispose()
        raise

    store = Store(root, engine, key, current, lock, url)
    with lock.hold(blocking=False) as held:
        if held:
            store._recover()
    logger.info("store opened (teaching %s)", "on" if current.teaching else "off")
    return store


@dataclass
class StoreCheck:
    """What :meth:`Store.check` found: index rows without files, files without rows."""

    missing: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """True when every indexed file exists and every file is indexed."""
        return not self.missing and not self.orphans


class Store:
    """A case store: cases of series of instances, files laid out by UID.

    Open it with :func:`open_store`. Safe to share between threads; several
    processes may use one store (writers take a file lock in turn).
    """

    def __init__(
        self,
        path: Path,
        engine: Engine,
        key: bytes,
        settings: StoreSettings,
        lock: WriteLock,
        index_url: str,
    ) -> None:
        self.path = path
        self._engine = engine
        self._key = key
        self._settings = settings
        self._lock = lock
        self._index_url = index_url

    def __repr__(self) -> str:
        mode = "teaching" if self.teaching else "research"
        return f"<Store {str(self.path)!r} ({mode})>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def teaching(self) -> bool:
        """True when files are anonymized on the way in (the default)."""
        return self._settings.teaching

    @property
    def settings(self) -> StoreSettings:
        """The settings kept in this store's index."""
        return self._settings

    def configure(self, **changes: Any) -> StoreSettings:
        """Change store settings (see :class:`StoreSettings`) and keep them.

        ``configure(teaching=False)`` is the explicit setting that turns
        teaching-file anonymization off for later imports; files already
        stored stay as they are.
        """
        with self._engine.begin() as conn:
            self._settings = store_settings.save(conn, self._settings, changes)
        if changes.get("teaching") is False:
            logger.warning("teaching anonymization turned off for this store")
        return self._settings

    def close(self) -> None:
        """Release the index's connections."""
        self._engine.dispose()

    # -- ingest -----------------------------------------------------------------

    def ingest(
        self,
        sources: Source | Iterable[Source],
        *,
        folder: str | None = None,
        owner: str | None = None,
        progress: bool = False,
    ) -> IngestReport:
        """Import DICOM files, folders (recursively), ZIP archives and uploads.

        Parameters
        ----------
        sources : iterable
            Paths of files, folders or ZIP archives (ZIPs inside folders and
            one level of ZIPs inside ZIPs are opened), or ``(name, bytes)``
            uploads (DICOM or ZIP); or just one of them. Hidden files and
            DICOMDIR are passed over.
        folder : str, optional
            The folder of the cases this import creates; cases that already
            exist keep theirs.
        owner : str, optional
            The owner of new cases.
        progress : bool
            Show a progress bar (tqdm) on standard error when it is a terminal.

        Returns
        -------
        IngestReport
            One outcome per input, in order: stored, duplicate (the instance
            is already in the store, or earlier in the batch), or skipped with
            the reason. Bad inputs never stop the batch.

        Notes
        -----
        The index rows of the whole call commit in one transaction after the
        files are written (each atomically); a crash leaves the store as it
        was, and the next writer removes the files of the unfinished batch.
        """
        from tqdm.auto import tqdm

        folder_name = _clean_folder(folder)
        report = IngestReport()
        with self._lock.hold(), ExitStack() as stack:
            self._recover()
            items = expand(sources, self._settings, stack)
            batch = Batch(self, folder=folder_name, owner=owner)
            try:
                bar = tqdm(items, unit="file", disable=None if progress else True)
                for item in bar:
                    outcome = batch.add(item) if isinstance(item, Unit) else item
                    report.outcomes.append(outcome)
                batch.commit()
            except BaseException:
                batch.abandon()
                raise
        logger.info(
            "import finished: %d stored, %d duplicate, %d skipped",
            report.stored,
            report.duplicates,
            report.skipped,
        )
        return report

    # -- queries ----------------------------------------------------------------

    def cases(self, folder: str | None = None) -> list[Case]:
        """Return the cases, newest first; only those of `folder` when given.

        ``folder=""`` lists the cases in no folder.
        """
        conditions = [] if folder is None else [cases.c.folder == _clean_folder(folder)]
        return self._listing(*conditions)

    def case(self, accession: str) -> Case:
        """Return a case with its series and their instances in display order.

        Raises
        ------
        NotFoundError
            No case has this accession.
        """
        key = normalize(accession)
        found = self._listing(cases.c.accession == key)
        if not found:
            raise NotFoundError(f"no case {accession!r} in this store")
        case = found[0]
        with self._engine.connect() as conn:
            series_rows = conn.execute(
                select(series).where(series.c.accession == key)
            ).all()
            instance_rows = conn.execute(
                select(instances)
                .join(series, series.c.uid == instances.c.series_uid)
                .where(series.c.accession == key)
            ).all()
        by_series: dict[str, list[dict[str, Any]]] = {}
        for row in instance_rows:
            by_series.setdefault(row.series_uid, []).append(dict(row._mapping))
        ordered = sorted(
            series_rows,
            key=lambda r: (r.number is None, r.number or 0, r.description, r.uid),
        )
        case.series = [
            Series(
                uid=row.uid,
                number=row.number,
                description=row.description,
                modality=row.modality,
                instances=[
                    _instance(item, place)
                    for place, item in enumerate(
                        sort_instances(by_series.get(row.uid, []))
                    )
                ],
            )
            for row in ordered
        ]
        return case

    def search(self, text: str) -> list[Case]:
        """Return the cases whose accession, description, notes or folder match.

        Every word of `text` must appear (case-insensitively, as a substring)
        in at least one of those fields. Empty text matches every case.
        """
        columns = (
            cases.c.accession,
            cases.c.description,
            cases.c.notes,
            cases.c.folder,
        )
        conditions = []
        for word in str(text).split():
            pattern = "%" + _escape_like(word) + "%"
            conditions.append(
                or_(*(column.ilike(pattern, escape="\\") for column in columns))
            )
        return self._listing(and_(*conditions)) if conditions else self._listing()

    def folders(self) -> list[tuple[str, int]]:
        """Return ``(folder, number of cases)`` pairs, by name; ``""`` is no folder."""
        query = select(cases.c.folder, func.count()).group_by(cases.c.folder)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return sorted(((row[0], row[1]) for row in rows), key=lambda r: r[0].casefold())

    def update_case(self, accession: str, /, **fields: Any) -> Case:
        """Change a case's description, notes, folder or private flag.

        Raises
        ------
        InvalidInputError
            An unknown field or a value of the wrong kind.
        NotFoundError
            No case has this accession.
        """
        unknown = sorted(set(fields) - _EDITABLE)
        if unknown:
            raise InvalidInputError(
                f"cannot change {unknown[0]!r}; a case's editable fields are "
                + ", ".join(sorted(_EDITABLE))
            )
        values = {name: _clean_field(name, value) for name, value in fields.items()}
        key = normalize(accession)
        values["updated"] = datetime.now(UTC)
        with self._engine.begin() as conn:
            if values.get("private") is False and review.pending_accessions(
                conn, [key]
            ):
                waiting = len(review.reviews(conn, key, pending_only=True))
                raise review.ReviewPendingError(
                    f"case {key} stays private: {waiting} series await a "
                    "person's review (burned-in text, or a number left in a "
                    "description); mark each reviewed or masked first"
                )
            done = conn.execute(
                update(cases).where(cases.c.accession == key).values(**values)
            )
        if done.rowcount == 0:
            raise NotFoundError(f"no case {accession!r} in this store")
        return self.case(key)

    def reviews(
        self, accession: str | None = None, *, pending_only: bool = False
    ) -> list[review.SeriesReview]:
        """The review flags of a case's series, or of every case when None.

        Parameters
        ----------
        accession : str, optional
            The case; every case's flags when omitted.
        pending_only : bool
            Only the flags nobody has cleared yet (the review queue).

        Returns
        -------
        list of SeriesReview
            Oldest flag first, each with its reasons, status, and who
            cleared it when.

        Raises
        ------
        NotFoundError
            `accession` names no case.
        """
        key = None if accession is None else normalize(accession)
        with self._engine.connect() as conn:
            found = review.reviews(conn, key, pending_only=pending_only)
        if not found and accession is not None:
            self.case(accession)  # NotFoundError when there is no such case
        return found

    def review_queue(self) -> list[review.SeriesReview]:
        """Every flagged series that awaits a person's review, oldest first."""
        return self.reviews(pending_only=True)

    def mark_reviewed(
        self, accession: str, series_uid: str, *, by: str, masked: bool = False
    ) -> review.SeriesReview:
        """Clear the review flag of one series: a person has checked its pixels.

        The case may be made public (``update_case(acc, private=False)``)
        once no flag of it is pending; the case itself stays as it is.

        Parameters
        ----------
        accession : str
            The case.
        series_uid : str
            The flagged series (see :meth:`reviews`).
        by : str
            Who checked it; kept with the flag.
        masked : bool
            True when the burned-in text was masked rather than found absent.

        Raises
        ------
        NotFoundError
            The case has no flag for this series.
        InvalidInputError
            `by` is empty or too long.
        """
        status = "masked" if masked else "reviewed"
        with self._engine.begin() as conn:
            done = review.clear(
                conn,
                normalize(accession),
                series_uid,
                by=by,
                status=status,
                now=datetime.now(UTC),
            )
        logger.info(
            "review of a series of case %s cleared as %s", done.accession, status
        )
        return done

    def mask_series(
        self,
        accession: str,
        series_uid: str,
        rects: Sequence[Rect | Sequence[int]] = (),
        *,
        device_masks: Iterable[DeviceMask] = (),
        by: str,
    ) -> int:
        """Mask burned-in text on every image of a series, and record who did.

        Each instance that `rects`, or a `device_masks` rule matching it,
        gives rectangles for is rewritten with them black on every frame
        (:func:`~claripacs_jupyter.anonymize.masking.mask_pixels`): a new file
        under a new SOP Instance UID (cached frames of the old one can never
        show again), uncompressed, replacing the old file in one transaction.
        The series' review flag, if any, is then cleared as "masked" by `by`.

        Returns
        -------
        int
            The number of instances masked.

        Raises
        ------
        NotFoundError
            The case has no such series.
        InvalidInputError
            No rectangle applies to any instance of the series, or one lies
            outside an image.
        """
        key = normalize(accession)
        if not isinstance(by, str) or not by.strip():
            raise InvalidInputError("say who masked the series (by=...)")
        rects = as_rects(rects)
        with self._lock.hold():
            self._recover()
            with self._engine.connect() as conn:
                found = conn.execute(
                    select(instances.c.sop_uid, instances.c.path, cases.c.study_uid)
                    .join(series, series.c.uid == instances.c.series_uid)
                    .join(cases, cases.c.accession == series.c.accession)
                    .where(series.c.accession == key, series.c.uid == series_uid)
                ).all()
            if not found:
                self.case(accession)  # NotFoundError when there is no such case
                raise NotFoundError(f"case {key} has no series {series_uid!r}")
            rules = tuple(device_masks)
            masked: list[tuple[str, str, Dataset]] = []  # old UID, old path, new
            for row in found:
                ds = self.dataset(key, row.sop_uid)
                # a series may mix image sizes: a rectangle beyond one image
                # is for the others
                rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
                chosen = [
                    rect
                    for rect in [*rects, *masks_for(ds, rules)]
                    if rect.x < columns and rect.y < rows
                ]
                if chosen:
                    masked.append((row.sop_uid, row.path, mask_pixels(ds, chosen)))
            if not masked:
                raise InvalidInputError(
                    "no rectangle applies to any image of this series: give rects "
                    "inside its images, or device masks for its manufacturer, "
                    "model and image size"
                )
            journal = Journal(self.path)
            batch = journal.batch
            rewritten = []
            for old_uid, old_path, ds in masked:
                relative = layout_path(
                    found[0].study_uid, series_uid, ds.SOPInstanceUID
                )
                journal.record(relative)
                journal.record(old_path)
                rewritten.append((old_uid, old_path, relative, ds))
            journal.sync()
            sizes = {}
            for _, _, relative, ds in rewritten:
                sizes[relative] = atomic_write(
                    self.path / relative,
                    batch,
                    lambda handle, ds=ds: ds.save_as(handle, enforce_file_format=True),
                )
            now = datetime.now(UTC)
            with self._engine.begin() as conn:
                for old_uid, _, relative, ds in rewritten:
                    conn.execute(
                        update(instances)
                        .where(instances.c.sop_uid == old_uid)
                        .values(
                            sop_uid=str(ds.SOPInstanceUID),
                            path=relative,
                            transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
                            size=sizes[relative],
                            image_info=image_info(ds, decode=False),
                            info_complete=False,
                        )
                    )
                conn.execute(
                    insert(masked_instances),
                    [
                        {
                            "sop_uid": old_uid,
                            "accession": key,
                            "replaced_by": str(ds.SOPInstanceUID),
                            "masked_at": now,
                        }
                        for old_uid, _, _, ds in rewritten
                    ],
                )
                # a pending flag is cleared as masked; one cleared before
                # keeps who cleared it
                flagged = review.reviews(conn, key, pending_only=True)
                if any(r.series_uid == series_uid for r in flagged):
                    review.clear(conn, key, series_uid, by=by, status="masked", now=now)
            old_files = [self.path / old for _, old, _, _ in rewritten]
            for path in old_files:
                path.unlink(missing_ok=True)
            prune_empty_folders(self.path, old_files)
            journal.finish()
        logger.info("masked %d instance(s) of a series of case %s", len(rewritten), key)
        return len(rewritten)

    def delete(self, accession: str) -> None:
        """Delete a case: its index rows in one transaction, then its files.

        Raises
        ------
        NotFoundError
            No case has this accession.
        """
        key = normalize(accession)
        with self._lock.hold():
            self._recover()
            with self._engine.connect() as conn:
                paths = (
                    conn.execute(
                        select(instances.c.path)
                        .join(series, series.c.uid == instances.c.series_uid)
                        .where(series.c.accession == key)
                    )
                    .scalars()
                    .all()
                )
            journal = Journal(self.path)
            for relative in paths:
                journal.record(relative)
            journal.sync()
            series_of_case = select(series.c.uid).where(series.c.accession == key)
            with self._engine.begin() as conn:
                conn.execute(
                    delete(instances).where(instances.c.series_uid.in_(series_of_case))
                )
                conn.execute(delete(series).where(series.c.accession == key))
                gone = conn.execute(delete(cases).where(cases.c.accession == key))
            if gone.rowcount == 0:
                journal.finish()
                raise NotFoundError(f"no case {accession!r} in this store")
            files = [self.path / relative for relative in paths]
            for path in files:
                path.unlink(missing_ok=True)
            prune_empty_folders(self.path, files)
            journal.finish()
        logger.info("case deleted with %d file(s)", len(paths))

    def instance_path(self, accession: str, sop_uid: str) -> Path:
        """Return the file of an instance of a case.

        Raises
        ------
        NotFoundError
            The case has no such instance.
        StoreError
            The index names a file that the folder no longer has.
        """
        path = self.path / self._instance_column(accession, sop_uid, instances.c.path)
        if not path.is_file():
            raise StoreError(
                f"the file of instance {sop_uid!r} is missing from the store folder"
            )
        return path

    def frame_count(self, accession: str, sop_uid: str) -> int:
        """Return the number of frames of an instance of a case, from the index.

        One indexed lookup, so that serving a frame of a long series does not
        assemble the whole case (:meth:`case`) for every request.

        Raises
        ------
        NotFoundError
            The case has no such instance.
        """
        return int(self._instance_column(accession, sop_uid, instances.c.frames))

    def _instance_column(self, accession: str, sop_uid: str, column: Any) -> Any:
        """One column of an instance's index row, if the instance is in the case."""
        query = (
            select(column)
            .join(series, series.c.uid == instances.c.series_uid)
            .where(series.c.accession == normalize(accession))
            .where(instances.c.sop_uid == str(sop_uid))
        )
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        if value is None:
            raise NotFoundError(f"case {accession!r} has no instance {sop_uid!r}")
        return value

    def dataset(self, accession: str, sop_uid: str) -> Dataset:
        """Read an instance of a case (pixels are decoded only when used)."""
        limits = ReadLimits(max_image_bytes=self._settings.max_image_bytes)
        return read(self.instance_path(accession, sop_uid), limits=limits)

    def image_info(self, accession: str, sop_uid: str) -> dict[str, Any]:
        """Return :func:`claripacs_jupyter.dicom.image_info` of an instance.

        Ingest keeps the header part; the first call here reads the pixels
        once for what needs them (value range, a window from the data) and
        keeps the complete result in the index.
        """
        path = self.instance_path(accession, sop_uid)
        query = select(instances.c.image_info, instances.c.info_complete).where(
            instances.c.sop_uid == str(sop_uid)
        )
        with self._engine.connect() as conn:
            info, complete = conn.execute(query).one()
        if complete:
            return dict(info)
        limits = ReadLimits(max_image_bytes=self._settings.max_image_bytes)
        try:
            # Keys only ingest adds (frame_positions) stay.
            info = {**info, **image_info(read(path, limits=limits))}
        except InvalidDicomError as exc:
            # Pixels no installed decoder reads (a damaged JPEG stream): the
            # case still opens, and the image says why it cannot be shown.
            # Not kept, so that a decoder installed later is tried.
            return {**info, "error": str(exc)}
        with self._engine.begin() as conn:
            conn.execute(
                update(instances)
                .where(instances.c.sop_uid == str(sop_uid))
                .values(image_info=info, info_complete=True)
            )
        return dict(info)

    def image_infos(self, accession: str) -> dict[str, dict[str, Any]]:
        """Return :meth:`image_info` of every instance of a case, by SOP UID.

        One query for the whole case: the viewer's case detail needs them all,
        and one lookup per instance cost a 300-slice case about 100 ms. The
        instances whose info is not yet complete go through :meth:`image_info`.

        Raises
        ------
        NotFoundError
            No case has this accession (or it has no instances).
        """
        query = (
            select(
                instances.c.sop_uid, instances.c.image_info, instances.c.info_complete
            )
            .join(series, series.c.uid == instances.c.series_uid)
            .where(series.c.accession == normalize(accession))
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            self.case(accession)  # NotFoundError when there is no such case
        return {
            row.sop_uid: dict(row.image_info)
            if row.info_complete
            else self.image_info(accession, row.sop_uid)
            for row in rows
        }

    def stacks(self, accession: str) -> dict[str, list[Stack]]:
        """Return the stacks of each series of a case, from the index alone.

        See :func:`claripacs_jupyter.dicom.series.assemble`: a series that
        mixes orientations or image sizes gives several stacks, a multi-frame
        instance a stack of its own, and each stack carries its spacing and
        warnings (gaps, duplicate positions, the split).

        Returns
        -------
        dict
            Series Instance UID to its stacks, in the order of
            :meth:`case`'s series.

        Raises
        ------
        NotFoundError
            No case has this accession.
        """
        return {
            item.uid: assemble([_facts(instance) for instance in item.instances])
            for item in self.case(accession).series
        }

    def check(self, *, fix: bool = False) -> StoreCheck:
        """Compare the index with the files; with `fix`, remove unindexed files.

        Files that no row names are invisible to every query; they are left by
        a power cut in the middle of an import (a crash of the process is
        rolled back on its own, see :mod:`claripacs_jupyter.store.journal`).
        """
        with self._lock.hold():
            self._recover()
            with self._engine.connect() as conn:
                indexed = set(conn.execute(select(instances.c.path)).scalars())
            top = self.path / DICOM_DIR
            on_disk = {
                path.relative_to(self.path).as_posix()
                for path in top.rglob("*")
                if path.is_file()
            }
            result = StoreCheck(
                missing=sorted(indexed - on_disk), orphans=sorted(on_disk - indexed)
            )
            if fix and result.orphans:
                files = [self.path / relative for relative in result.orphans]
                for path in files:
                    path.unlink(missing_ok=True)
                prune_empty_folders(self.path, files)
                logger.info("removed %d unindexed file(s)", len(files))
        return result

    # -- tables -----------------------------------------------------------------

    def cases_frame(self) -> pd.DataFrame:
        """Return one row per case (see :func:`~.dataframes.cases_frame`)."""
        from .dataframes import cases_frame

        return cases_frame(self)

    def series_frame(self, accession: str | None = None) -> pd.DataFrame:
        """Return one row per series, of one case or of all."""
        from .dataframes import series_frame

        return series_frame(self, accession)

    def instances_frame(self, accession: str | None = None) -> pd.DataFrame:
        """Return one row per instance in display order, of one case or of all."""
        from .dataframes import instances_frame

        return instances_frame(self, accession)

    # -- export -----------------------------------------------------------------

    def export(self, accession: str, fmt: str, out: str | os.PathLike[str]) -> Path:
        """Export a case as DICOM files, PNG frames, or a ZIP with an index page.

        Parameters
        ----------
        accession : str
        fmt : {"dicom", "png", "zip"}
            ``"dicom"``: the case's files and an ``index.html`` listing them;
            ``"png"``: PNGs, one per frame, at each image's default window;
            ``"zip"``: a ZIP of the DICOM files and an ``index.html``.
        out : str or PathLike
            The folder to write into (created if needed; ``"dicom"`` and
            ``"png"`` write into its subfolder ``<accession>``, so cases
            exported side by side never mix), or for ``"zip"`` the archive's
            path (``<out>/<accession>.zip`` when `out` is a folder).

        Returns
        -------
        Path
            The case's folder or the ZIP written.
        """
        from .export import export

        return export(self, accession, fmt, Path(out))

    def write_zip(self, accession: str, fileobj: BinaryIO) -> None:
        """Write a case as a ZIP (DICOM files and ``index.html``) to `fileobj`.

        `fileobj` need not be seekable, so a server can stream it.
        """
        from .export import write_zip

        write_zip(self, accession, fileobj)

    # -- internals --------------------------------------------------------------

    def _listing(self, *conditions: Any) -> list[Case]:
        counts = (
            select(
                series.c.accession,
                func.count(distinct(series.c.uid)).label("series_count"),
                func.count(instances.c.sop_uid).label("instance_count"),
            )
            .select_from(
                series.outerjoin(instances, instances.c.series_uid == series.c.uid)
            )
            .group_by(series.c.accession)
            .subquery()
        )
        query = (
            select(
                cases,
                counts.c.series_count,
                counts.c.instance_count,
                review.pending_column(),
            )
            .select_from(
                cases.outerjoin(counts, counts.c.accession == cases.c.accession)
            )
            .where(*conditions)
            .order_by(cases.c.created.desc(), cases.c.accession)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_case(row) for row in rows]

    def _recover(self) -> None:
        """Roll back unfinished batches; call with the write lock held."""

        def indexed(paths: list[str]) -> set[str]:
            found: set[str] = set()
            with self._engine.connect() as conn:
                for start in range(0, len(paths), 500):
                    chunk = paths[start : start + 500]
                    query = select(instances.c.path).where(instances.c.path.in_(chunk))
                    found.update(conn.execute(query).scalars())
            return found

        recover(self.path, indexed)


def _migrate(engine: Engine, version: int) -> None:
    """Bring an index of an older schema version up to :data:`SCHEMA_VERSION`.

    The new tables exist already (``create_all``); what older versions kept
    in another form is carried over here, in one transaction.
    """
    with engine.begin() as conn:
        if version < 2:
            flagged = review.backfill(conn, datetime.now(UTC))
            logger.info(
                "store index migrated to schema 2: %d series in the review queue",
                flagged,
            )
        # schema 3 only adds the masked_instances table, which starts empty
        store_settings.set_schema_version(conn, SCHEMA_VERSION)


def _prepare_index(
    engine: Engine, teaching: bool | None
) -> tuple[bytes, StoreSettings]:
    with engine.begin() as conn:
        metadata.create_all(conn)
        if not conn.execute(select(store_settings.settings.c.key).limit(1)).first():
            store_settings.initialize(
                conn, teaching=True if teaching is None else teaching
            )
    with engine.connect() as conn:
        version, key, current = store_settings.load(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store index has schema version {version}, newer than this "
            f"claripacs ({SCHEMA_VERSION}): upgrade claripacs-jupyter"
        )
    if version < SCHEMA_VERSION:
        _migrate(engine, version)
    if teaching is not None and teaching != current.teaching:
        state = "on" if current.teaching else "off"
        raise StoreError(
            f"this store has teaching anonymization {state}; change it explicitly "
            f"with store.configure(teaching={teaching}) if that is what you want"
        )
    return key, current


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}
    )
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL: readers never wait for a writer. FULL: a commit is on disk when it
    # returns (the batch's files were synced before it).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; search must match "Ä" with "ä".
    connection.create_function("lower", 1, _casefold, deterministic=True)


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _clean_folder(folder: str | None) -> str:
    if folder is None:
        return ""
    if not isinstance(folder, str):
        raise InvalidInputError("a folder name must be text")
    text = " ".join(folder.split())
    if len(text) > _FOLDER_MAX:
        raise InvalidInputError(f"a folder name has at most {_FOLDER_MAX} characters")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise InvalidInputError("a folder name cannot hold control characters")
    return text


def _clean_field(name: str, value: Any) -> Any:
    if name == "folder":
        return _clean_folder(value)
    if name == "private":
        if not isinstance(value, bool):
            raise InvalidInputError("private must be True or False")
        return value
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be text")
    if len(value) > _TEXT_MAX:
        raise InvalidInputError(f"{name} has at most {_TEXT_MAX:,} characters")
    return value.strip() if name == "description" else value


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; the store writes UTC only.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _case(row: Any) -> Case:
    return Case(
        accession=row.accession,
        folder=row.folder,
        description=row.description,
        modalities=list(row.modalities),
        notes=row.notes,
        private=bool(row.private),
        owner=row.owner,
        created=_utc(row.created),
        review_reasons=list(row.review_reasons),
        series_count=row.series_count or 0,
        instance_count=row.instance_count or 0,
        review_pending=bool(row.review_pending),
    )


def _instance(row: dict[str, Any], place: int) -> Instance:
    return Instance(
        uid=row["sop_uid"],
        number=row["number"],
        frames=row["frames"],
        rows=row["rows"],
        columns=row["columns"],
        position=row["position"],
        sort_key=place,
        image=dict(row["image_info"]),
    )


def _facts(instance: Instance) -> dict[str, Any]:
    """The facts series assembly needs, from what ingest kept of an instance."""
    facts = dict(instance.image)
    facts["uid"] = instance.uid
    facts.setdefault("rows", instance.rows)
    facts.setdefault("columns", instance.columns)
    facts.setdefault("frames", instance.frames)
    if facts.get("instance_number") is None:
        facts["instance_number"] = instance.number
    return facts
