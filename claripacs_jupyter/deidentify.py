"""Anonymizing files, folders and ZIP archives outside a store.

``claripacs anonymize IN... OUT`` and the server's ``anonymize`` endpoint use
this: the same reading and checks as an import, with the teaching profile, the
PS3.15 Basic profile and its options, or a user's profile, written to a
folder or a ZIP instead of the store. Output files are named by their new
UIDs, never by the input's names, which often hold a patient's name. Each
study gets an accession of its own, as the store would give it; UIDs are
remapped with a key, the store's or one made for the run, so a study split
over several runs stays one study when the same key is given.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from pydicom import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

from .anonymize import anonymize_teaching
from .anonymize.annex_e import Op, RuleSet
from .anonymize.confidential import anonymize_with_rules
from .anonymize.profiles import TEACHING
from .anonymize.uids import MIN_KEY_BYTES
from .anonymize.user_profiles import BUILT_IN, resolve_profile
from .anonymize.values import text_value
from .dicom import HeaderRead, lenient_values, read, read_header
from .dicom.reading import ReadLimits
from .errors import ClaripacsError, InvalidDicomError, InvalidInputError
from .store.accession import new_accession
from .store.part10 import encode_header
from .store.report import Outcome
from .store.settings import StoreSettings
from .store.sources import Source, Unit, expand

__all__ = [
    "PROFILES",
    "AnonymizedFile",
    "Run",
    "anonymize_sources",
    "anonymize_to",
    "check_out",
    "encoded",
    "write_run",
    "zip_bytes",
]

logger = logging.getLogger(__name__)

#: The built-in profiles a standalone run can apply, by name; user profiles
#: are found by :func:`~claripacs_jupyter.anonymize.user_profiles.resolve_profile`.
PROFILES = BUILT_IN


@dataclass
class AnonymizedFile:
    """One input written anonymized: where, and what a person must check.

    `data` is the whole file, or empty when :func:`anonymize_to` wrote it
    straight to its output. `before` and `after` are the datasets read and
    made, kept only when the run was asked to keep them (a dry run compares
    them).
    """

    source: str
    name: str
    data: bytes
    review_reasons: list[str] = field(default_factory=list)
    before: Dataset | None = None
    after: Dataset | None = None


@dataclass
class Run:
    """What :func:`anonymize_sources` did with each input, in order."""

    written: list[AnonymizedFile] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)


def anonymize_sources(
    sources: Source | Iterable[Source],
    *,
    profile: str | RuleSet = "teaching",
    options: Iterable[str] = (),
    key: bytes | None = None,
    settings: StoreSettings | None = None,
    keep_datasets: bool = False,
) -> Run:
    """Anonymize every DICOM file among `sources`, in memory.

    Parameters
    ----------
    sources : iterable of path or (name, bytes), or one of them
        Files, folders and ZIP archives, or uploaded files.
    profile : str or RuleSet
        "teaching", "basic", the name of a user profile, the path of a
        profile file, or a rule set already made.
    options : iterable of str, or str
        Options of the Basic profile to add (not for "teaching").
    key : bytes, optional
        The UID key (at least 16 bytes); a new random one when not given.
    settings : StoreSettings, optional
        Limits on image and archive sizes; the store's defaults when not given.
    keep_datasets : bool
        Keep each input and output dataset on its :class:`AnonymizedFile`.

    Returns
    -------
    Run
        The files written (named ``<accession>/<series UID>/<SOP UID>.dcm``)
        and the inputs skipped, each with its reason.

    Raises
    ------
    InvalidInputError
        An unknown profile or option, a mistake in a profile file, or an
        unusable key.
    """
    run = Run()

    def keep(made: AnonymizedFile, pixels: HeaderRead | None) -> None:
        made.data = _whole(made.data, pixels)
        run.written.append(made)

    _anonymize_each(
        sources, profile, options, key, settings, keep_datasets, run.skipped, keep
    )
    return run


def anonymize_to(
    sources: Source | Iterable[Source],
    out: str | os.PathLike[str],
    *,
    profile: str | RuleSet = "teaching",
    options: Iterable[str] = (),
    key: bytes | None = None,
    settings: StoreSettings | None = None,
) -> Run:
    """Anonymize every DICOM file among `sources` into a folder or a ZIP.

    As :func:`anonymize_sources`, but each file is written as soon as it is
    made, its pixel data copied from the input without passing through
    memory where the output is a folder: a run holds one image at a time,
    however large the input. `out` is as for :func:`write_run`; nothing is
    made there when no file can be anonymized, and a ZIP appears only once
    it is complete.

    Returns
    -------
    Run
        What was written (each :class:`AnonymizedFile` without its ``data``)
        and skipped.

    Raises
    ------
    InvalidInputError
        As :func:`anonymize_sources`, and when `out` cannot be written (see
        :func:`write_run`).
    """
    writer = _Writer(out)
    run = Run()

    def write(made: AnonymizedFile, pixels: HeaderRead | None) -> None:
        writer.add(made.name, made.data, pixels)
        made.data = b""
        run.written.append(made)

    try:
        _anonymize_each(
            sources, profile, options, key, settings, False, run.skipped, write
        )
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return run


def _anonymize_each(
    sources: Source | Iterable[Source],
    profile: str | RuleSet,
    options: Iterable[str],
    key: bytes | None,
    settings: StoreSettings | None,
    keep_datasets: bool,
    skipped: list[Outcome],
    emit: Callable[[AnonymizedFile, HeaderRead | None], None],
) -> None:
    """Anonymize the files of `sources` one by one and hand each to `emit`.

    `emit` gets the file (its ``data`` only the new header when the pixel
    data is to follow) and the header read whose pixel data element comes
    after it, or None when ``data`` is whole. The inputs stay open until
    `emit` returns. Skipped inputs go to `skipped`.
    """
    rules = (
        profile if isinstance(profile, RuleSet) else resolve_profile(profile, options)
    )
    key = secrets.token_bytes(32) if key is None else bytes(key)
    if len(key) < MIN_KEY_BYTES:
        raise InvalidInputError(f"the UID key must be at least {MIN_KEY_BYTES} bytes")
    settings = settings or StoreSettings()
    limits = ReadLimits(max_image_bytes=settings.max_image_bytes)
    accessions: dict[str, str] = {}  # original Study Instance UID -> accession
    sources_of: dict[str, str] = {}  # output name -> the input that made it
    written = 0

    with ExitStack() as stack:
        for item in expand(sources, settings, stack):
            if isinstance(item, Outcome):
                skipped.append(item)
                continue
            try:
                made, pixels = _one(item, rules, key, limits, accessions, keep_datasets)
            except ClaripacsError as exc:
                skipped.append(Outcome(item.name, "skipped", str(exc)))
                continue
            first = sources_of.get(made.name)
            if first is not None:
                # the same instance twice (one file named twice, or a copy)
                # would be two entries of one name in a ZIP
                skipped.append(
                    Outcome(made.source, "duplicate", f"the same instance as {first}")
                )
                continue
            try:
                emit(made, pixels)
            except InvalidDicomError as exc:
                # the input changed or shrank after its header was read
                skipped.append(Outcome(made.source, "skipped", str(exc)))
                continue
            sources_of[made.name] = made.source
            written += 1
    logger.info("anonymized %d file(s), skipped %d", written, len(skipped))


def check_out(
    sources: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str]
) -> None:
    """Refuse an output that is, or lies inside, one of the inputs.

    A run would read its own earlier output as new input (and anonymize it
    again under new UIDs), or overwrite the archive it reads.

    Raises
    ------
    InvalidInputError
        Naming the input and the output.
    """
    target = Path(out).expanduser().resolve()
    for source in sources:
        path = Path(source).expanduser().resolve()
        if target == path or (path.is_dir() and target.is_relative_to(path)):
            where = "is" if target == path else "is inside"
            raise InvalidInputError(
                f"the output {out} {where} the input {source}; "
                "write it somewhere outside the inputs"
            )


def _one(
    unit: Unit,
    rules: str | RuleSet,
    key: bytes,
    limits: ReadLimits,
    accessions: dict[str, str],
    keep_datasets: bool,
) -> tuple[AnonymizedFile, HeaderRead | None]:
    """One input anonymized, and the header read whose pixels are to follow."""
    source = unit.load()
    start = 0 if isinstance(source, Path | bytes) else source.tell()
    # As an import does: read the header only and copy the pixel data
    # element after the new header, byte for byte. A dry run compares whole
    # datasets, so it reads them whole.
    header = None if keep_datasets else read_header(source, limits=limits)
    if header is not None and _splices(header, rules):
        ds = header.dataset
    else:
        if not isinstance(source, Path | bytes):
            source.seek(start)
        header = None
        ds = read(source, limits=limits)  # the anonymizers refuse documents

    with lenient_values():
        study = text_value(ds, 0x0020000D)
        if study not in accessions:
            taken = set(accessions.values())
            accessions[study] = new_accession(lambda a: a in taken)
        if isinstance(rules, RuleSet):
            result = anonymize_with_rules(ds, key=key, rules=rules)
        else:
            result = anonymize_teaching(ds, key=key, accession=accessions[study])
    out = result.dataset
    made = AnonymizedFile(
        source=unit.name,
        name=_name(out, accessions[study]),
        data=encoded(out),
        review_reasons=list(result.review_reasons),
        before=ds if keep_datasets else None,
        after=out if keep_datasets else None,
    )
    return made, header


def _whole(header: bytes, pixels: HeaderRead | None) -> bytes:
    """A file's bytes: its new `header` and the pixel data element of `pixels`."""
    if pixels is None:
        return header
    buffer = io.BytesIO(header)
    buffer.seek(0, io.SEEK_END)
    pixels.copy_pixel_element(buffer)
    return buffer.getvalue()


def _splices(header: HeaderRead, rules: str | RuleSet) -> bool:
    """Whether a file can be written as its new header and its pixel bytes.

    The pixel data element is copied as the last element, so nothing the
    profile keeps may follow it (trailing padding, which every profile
    removes, usually does).
    """
    if isinstance(rules, RuleSet):
        return all(rules.ops.get(tag) is Op.REMOVE for tag in header.trailing_tags)
    return not any(tag in TEACHING for tag in header.trailing_tags)


def encoded(ds: Dataset) -> bytes:
    """The Part 10 file of an anonymized dataset.

    The store's writer (:func:`~claripacs_jupyter.store.part10.encode_header`)
    copies the raw elements the anonymizer kept instead of converting them,
    and gives the bytes pydicom would write; a deflated dataset, which it
    does not compress, is written by pydicom.
    """
    # text_value reads the syntax without converting the raw element, which
    # would make the writer encode the whole file meta through pydicom
    if text_value(ds.file_meta, 0x00020010) == DeflatedExplicitVRLittleEndian:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    return encode_header(ds)


def _name(ds: Dataset, accession: str) -> str:
    return f"{accession}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"


def write_run(run: Run, out: str | os.PathLike[str]) -> Path:
    """Write the files of `run` into the folder `out`, or a ZIP when it ends .zip.

    Returns the path written. An existing ZIP is replaced; files in an
    existing folder are added beside what is there. The folder that is to
    hold the ZIP, or the parent of the output folder, must exist.

    Raises
    ------
    InvalidInputError
        The output cannot be made there (no such folder, a file in the way,
        no permission, a full disk), with the reason.
    """
    writer = _Writer(out)
    try:
        for item in run.written:
            writer.add(item.name, item.data, None)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


class _Writer:
    """Files written one by one into a folder, or into a ZIP made beside it.

    The target is checked when the writer is made and created with its
    first file. A ZIP is written under a temporary name in its folder and
    renamed into place by :meth:`close`, so an interrupted run never leaves
    half an archive under the name asked for.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = out
        self.target = Path(out).expanduser()
        self.zipped = self.target.suffix.lower() == ".zip"
        if not self.target.parent.is_dir():
            self._refuse(f"no folder {self.target.parent}")
        if self.zipped and self.target.is_dir():
            self._refuse("it is a folder")
        if not self.zipped and self.target.exists() and not self.target.is_dir():
            self._refuse("it is a file; give a folder, or a name ending .zip")
        self._partial: Path | None = None
        self._archive: zipfile.ZipFile | None = None

    def _refuse(self, why: str) -> NoReturn:
        raise InvalidInputError(f"cannot write {self.out}: {why}")

    def add(self, name: str, data: bytes, pixels: HeaderRead | None) -> None:
        """Write one file: `data`, then the pixel data element of `pixels`."""
        try:
            if self.zipped:
                # whole before the entry is begun: an entry cannot be taken
                # back out of an archive if reading the pixels fails
                data = _whole(data, pixels)
                archive = self._archive or self._open_archive()
                archive.writestr(name, data)
                return
            path = self.target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(path, "wb") as file:
                    file.write(data)
                    if pixels is not None:
                        pixels.copy_pixel_element(file)
            except BaseException:
                path.unlink(missing_ok=True)  # no half-written file
                raise
        except OSError as exc:
            self._refuse(exc.strerror or str(exc))

    def _open_archive(self) -> zipfile.ZipFile:
        handle, name = tempfile.mkstemp(
            prefix=f".{self.target.name}.", suffix=".partial", dir=self.target.parent
        )
        os.close(handle)
        self._partial = Path(name)
        self._archive = zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED)
        return self._archive

    def close(self) -> Path:
        """Finish the output; return its path."""
        if self._archive is not None and self._partial is not None:
            try:
                self._archive.close()
                os.replace(self._partial, self.target)
            except OSError as exc:
                self.abort()
                self._refuse(exc.strerror or str(exc))
            self._archive = self._partial = None
        return self.target

    def abort(self) -> None:
        """Leave no partial ZIP behind (files already in a folder stay)."""
        if self._archive is not None:
            with contextlib.suppress(OSError, ValueError):
                self._archive.close()
        if self._partial is not None:
            self._partial.unlink(missing_ok=True)
        self._archive = self._partial = None


def zip_bytes(run: Run) -> bytes:
    """The files of `run` as the bytes of one ZIP archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in run.written:
            archive.writestr(item.name, item.data)
    return buffer.getvalue()
