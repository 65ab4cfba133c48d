"""Exporting a case: DICOM files, PNGs of its frames, or a ZIP with an index page."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import jinja2
from pydicom.uid import UID
from sqlalchemy import select

from .. import __version__
from ..dicom import ReadLimits, read, to_png
from ..errors import InvalidInputError
from .accession import normalize
from .case import Case, Instance, Series
from .ingest import ORIGINAL_ACCESSION
from .schema import instances, series

if TYPE_CHECKING:
    from .store import Store

__all__ = ["FORMATS", "export", "write_zip"]

FORMATS = ("dicom", "png", "zip")

# Autoescaping is on: every description, note and folder is the user's text.
_ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

_INDEX = _ENVIRONMENT.from_string("""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Case {{ case.accession }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #222; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
.review { background: #fff3cd; border: 1px solid #e0c36c; padding: .5rem 1rem; }
pre { white-space: pre-wrap; }
footer { color: #777; font-size: .85rem; }
</style>
</head>
<body>
<h1>Case {{ case.accession }}</h1>
<dl>
  <dt>Description</dt><dd>{{ case.description or "(none)" }}</dd>
  <dt>Folder</dt><dd>{{ case.folder or "(none)" }}</dd>
  <dt>Modalities</dt><dd>{{ case.modalities | join(", ") }}</dd>
  <dt>Created</dt><dd>{{ case.created.strftime("%Y-%m-%d %H:%M UTC") }}</dd>
  <dt>Images</dt><dd>{{ entries | length }} file(s) in {{ groups | length }} series</dd>
</dl>
{% if case.review_reasons %}
<div class="review">
  <p><strong>Review the pixels for burned-in identifiers before sharing:</strong></p>
  <ul>{% for reason in case.review_reasons %}<li>{{ reason }}</li>{% endfor %}</ul>
</div>
{% endif %}
{% if notes %}
<h2>Notes</h2>
<pre>{{ notes }}</pre>
{% endif %}
{% for group in groups %}
<h2>Series {{ group.series.number if group.series.number is not none else "" }}
  {{ group.series.description }} ({{ group.series.modality or "?" }})</h2>
<table>
  <thead><tr><th>#</th><th>Instance</th><th>Frames</th><th>Size</th>
    <th>File</th></tr></thead>
  <tbody>
  {% for entry in group.entries %}
    <tr><td>{{ loop.index }}</td>
      <td>{{ entry.instance.number if entry.instance.number is not none else "" }}</td>
      <td>{{ entry.instance.frames }}</td>
      <td>{{ entry.instance.columns }} &times; {{ entry.instance.rows }}</td>
      <td><a href="{{ entry.name }}">{{ entry.name }}</a></td></tr>
  {% endfor %}
  </tbody>
</table>
{% endfor %}
<footer>Exported by claripacs-jupyter {{ version }} on {{ exported }}.</footer>
</body>
</html>
""")


@dataclass
class _Entry:
    """One file of the export: where it is in the store and its name in the export."""

    instance: Instance
    source: Path
    name: str
    transfer_syntax: str


@dataclass
class _Group:
    series: Series
    entries: list[_Entry]


def export(store: Store, accession: str, fmt: str, out: Path) -> Path:
    """Export a case; see :meth:`Store.export`."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown export format {fmt!r}: use dicom, png or zip")
    case = store.case(accession)
    groups = _groups(store, case)
    out = out.expanduser()
    if fmt == "zip":
        target = out / f"{case.accession}.zip" if out.is_dir() else out
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as handle:
            try:
                _write_zip(store, case, groups, handle)
            except BaseException:
                handle.close()
                os.unlink(handle.name)
                raise
        # A temporary file is private (0600); the export is an ordinary file.
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, target)
        return target

    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out} is a file; export {fmt} into a folder")
    # Each case gets a folder of its own, as in the ZIP, so that exporting two
    # cases into one folder never mixes or overwrites their files.
    out = out / case.accession
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "dicom":
        for entry in _entries(groups):
            target = out / entry.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.source, target)
        (out / "index.html").write_text(
            _index_html(store, case, groups), encoding="utf-8"
        )
    else:
        limits = ReadLimits(max_image_bytes=store.settings.max_image_bytes)
        for entry in _entries(groups):
            dataset = read(entry.source, limits=limits)
            stem = out / entry.name.removesuffix(".dcm")
            stem.parent.mkdir(parents=True, exist_ok=True)
            frames = entry.instance.frames
            for frame in range(frames):
                name = (
                    f"{stem.name}-frame-{frame + 1:03d}.png"
                    if frames > 1
                    else (f"{stem.name}.png")
                )
                (stem.parent / name).write_bytes(to_png(dataset, frame))
    return out


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_zip(store: Store, accession: str, fileobj: BinaryIO) -> None:
    """Write a case's ZIP to `fileobj`; see :meth:`Store.write_zip`."""
    case = store.case(accession)
    _write_zip(store, case, _groups(store, case), fileobj)


def _write_zip(
    store: Store, case: Case, groups: list[_Group], fileobj: BinaryIO
) -> None:
    top = case.accession
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{top}/index.html", _index_html(store, case, groups))
        for entry in _entries(groups):
            # Compressed pixel data does not deflate; store it as it is.
            compressed = (
                bool(entry.transfer_syntax) and UID(entry.transfer_syntax).is_compressed
            )
            archive.write(
                entry.source,
                f"{top}/{entry.name}",
                compress_type=zipfile.ZIP_STORED
                if compressed
                else zipfile.ZIP_DEFLATED,
                compresslevel=None if compressed else 1,
            )


def _index_html(store: Store, case: Case, groups: list[_Group]) -> str:
    notes = case.notes
    if store.teaching:
        # The original accession is kept for the author's eyes only: an export
        # of a teaching case must not carry it.
        marker = ORIGINAL_ACCESSION.format("")
        notes = "\n".join(
            line for line in notes.splitlines() if not line.startswith(marker)
        ).strip()
    return _INDEX.render(
        case=case,
        groups=groups,
        entries=_entries(groups),
        notes=notes,
        version=__version__,
        exported=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _groups(store: Store, case: Case) -> list[_Group]:
    query = (
        select(instances.c.sop_uid, instances.c.path, instances.c.transfer_syntax)
        .join(series, series.c.uid == instances.c.series_uid)
        .where(series.c.accession == normalize(case.accession))
    )
    with store._engine.connect() as conn:
        files = {row.sop_uid: row for row in conn.execute(query)}
    groups = []
    for index, item in enumerate(case.series, start=1):
        entries = [
            _Entry(
                instance=instance,
                source=store.path / files[instance.uid].path,
                name=f"series-{index:02d}/image-{place:04d}.dcm",
                transfer_syntax=files[instance.uid].transfer_syntax,
            )
            for place, instance in enumerate(item.instances, start=1)
        ]
        groups.append(_Group(series=item, entries=entries))
    return groups


def _entries(groups: list[_Group]) -> list[_Entry]:
    return [entry for group in groups for entry in group.entries]
