"""Export of a case as DICOM files, PNG frames, or a ZIP with its index page."""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from claripacs_jupyter.dicom import to_png
from claripacs_jupyter.errors import InvalidInputError
from claripacs_jupyter.store import Store

from .builders import make_series, sample


@pytest.fixture
def series_case(store: Store, tmp_path: Path) -> str:
    make_series(tmp_path / "in", 3, accession="10234567")
    return store.ingest([tmp_path / "in"]).accessions[0]


def test_dicom_export_copies_the_files_in_display_order(
    store: Store, series_case: str, tmp_path: Path
) -> None:
    out = store.export(series_case, "dicom", tmp_path / "out")

    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dcm"))
    assert names == [f"series-01/image-000{n}.dcm" for n in (1, 2, 3)]
    instances = store.case(series_case).series[0].instances
    for place, instance in enumerate(instances, start=1):
        stored = store.instance_path(series_case, instance.uid)
        exported = out / "series-01" / f"image-{place:04d}.dcm"
        assert exported.read_bytes() == stored.read_bytes()


def test_png_export_writes_one_png_per_frame(store: Store, tmp_path: Path) -> None:
    accession = store.ingest([sample("emri_small.dcm")]).accessions[0]
    sop = store.case(accession).series[0].instances[0].uid

    out = store.export(accession, "png", tmp_path / "png")

    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == 10
    assert pngs[0].name == "image-0001-frame-001.png"
    assert Image.open(pngs[0]).size == (64, 64)
    assert pngs[3].read_bytes() == to_png(store.dataset(accession, sop), 3)


def test_zip_export_holds_the_files_and_an_index_page(
    store: Store, series_case: str, tmp_path: Path
) -> None:
    written = store.export(series_case, "zip", tmp_path)

    assert written == tmp_path / f"{series_case}.zip"
    with zipfile.ZipFile(written) as archive:
        names = archive.namelist()
        page = archive.read(f"{series_case}/index.html").decode("utf-8")
    assert f"{series_case}/series-01/image-0003.dcm" in names
    assert f"Case {series_case}" in page
    assert 'href="series-01/image-0001.dcm"' in page


def test_the_index_page_escapes_every_user_text(
    store: Store, series_case: str, tmp_path: Path
) -> None:
    store.update_case(
        series_case,
        description="<script>alert(1)</script>",
        folder='"><img src=x onerror=alert(2)>',
        notes="Teaching point: <b>look</b> & compare",
    )

    page = _index_page(store, series_case)

    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "Teaching point: &lt;b&gt;look&lt;/b&gt; &amp; compare" in page


def test_the_index_page_of_a_teaching_case_leaves_the_original_accession_out(
    store: Store, series_case: str
) -> None:
    store.update_case(
        series_case, notes=store.case(series_case).notes + "\nDiagnosis: fracture"
    )

    page = _index_page(store, series_case)

    assert "10234567" not in page
    assert "Diagnosis: fracture" in page


def test_write_zip_streams_to_a_pipe(store: Store, series_case: str) -> None:
    reader, writer = os.pipe()
    received = io.BytesIO()

    def drain() -> None:
        with os.fdopen(reader, "rb") as pipe:
            while chunk := pipe.read(65536):
                received.write(chunk)

    thread = threading.Thread(target=drain)
    thread.start()
    with os.fdopen(writer, "wb") as pipe:
        store.write_zip(series_case, pipe)
    thread.join()

    with zipfile.ZipFile(received) as archive:
        assert archive.testzip() is None
        assert len([n for n in archive.namelist() if n.endswith(".dcm")]) == 3


def test_an_unknown_format_is_refused(
    store: Store, series_case: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="dicom, png or zip"):
        store.export(series_case, "jpeg", tmp_path)


def _index_page(store: Store, accession: str) -> str:
    buffer = io.BytesIO()
    store.write_zip(accession, buffer)
    with zipfile.ZipFile(buffer) as archive:
        return archive.read(f"{accession}/index.html").decode("utf-8")


def test_two_cases_exported_into_one_folder_keep_their_own_files(
    store: Store, tmp_path: Path
) -> None:
    first = store.ingest([sample("CT_small.dcm")]).accessions[0]
    second = store.ingest([sample("MR_small.dcm")]).accessions[0]

    out_first = store.export(first, "png", tmp_path / "png")
    out_second = store.export(second, "png", tmp_path / "png")

    assert out_first == tmp_path / "png" / first
    assert out_second == tmp_path / "png" / second
    first_png = out_first / "series-01" / "image-0001.png"
    first_sop = store.case(first).series[0].instances[0].uid
    assert first_png.read_bytes() == to_png(store.dataset(first, first_sop), 0)


def test_dicom_export_has_an_index_page_beside_the_files(
    store: Store, series_case: str, tmp_path: Path
) -> None:
    out = store.export(series_case, "dicom", tmp_path / "out")

    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="series-01/image-0001.dcm"' in page


def test_zip_export_is_an_ordinary_file_not_a_private_temporary(
    store: Store, series_case: str, tmp_path: Path
) -> None:
    mask = os.umask(0o022)
    try:
        written = store.export(series_case, "zip", tmp_path)
    finally:
        os.umask(mask)

    assert stat.S_IMODE(written.stat().st_mode) == 0o644
