"""Bad input: each gets its own clear reason, costs nothing else, leaves no trace."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from claripacs_jupyter.store import Store

from .builders import assert_consistent, encoded, load, sample, stored_files, zip_bytes


def _text_file(folder: Path) -> Path:
    path = folder / "notes.dcm"
    path.write_text("Patient notes, not an image.\n" * 20)
    return path


def _traversal_zip(folder: Path) -> Path:
    path = folder / "evil.zip"
    data = sample("CT_small.dcm").read_bytes()
    path.write_bytes(
        zip_bytes(
            {
                "../../escaped.dcm": data,
                "/absolute.dcm": data,
                "ok/mr.dcm": sample("MR_small.dcm").read_bytes(),
            }
        )
    )
    return path


def _empty_zip(folder: Path) -> Path:
    path = folder / "empty.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    return path


def _zip_bomb(folder: Path, size: int = 64 * 1024**2) -> Path:
    path = folder / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.dcm", "w") as member:
            chunk = bytes(1024**2)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return path


def _huge_header(folder: Path) -> Path:
    ds = load("CT_small.dcm")
    ds.Rows = ds.Columns = 65535
    path = folder / "huge.dcm"
    path.write_bytes(encoded(ds))
    return path


def _encrypted_zip(folder: Path) -> Path:
    data = bytearray(zip_bytes({"secret.dcm": sample("CT_small.dcm").read_bytes()}))
    # Set bit 0 (encrypted) of the general purpose flags in the local and the
    # central directory headers; Python's zipfile cannot write encrypted ZIPs.
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    path = folder / "encrypted.zip"
    path.write_bytes(bytes(data))
    return path


def _corrupt_zip(folder: Path) -> Path:
    data = zip_bytes({"ct.dcm": sample("CT_small.dcm").read_bytes()})
    path = folder / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    return path


class TestEachBadInput:
    def test_a_text_file_named_dcm_is_not_dicom(
        self, store: Store, tmp_path: Path
    ) -> None:
        report = store.ingest([_text_file(tmp_path)])

        assert report.outcomes[0].status == "skipped"
        assert "not a DICOM file" in report.outcomes[0].reason

    def test_a_truncated_file_says_so(self, store: Store) -> None:
        report = store.ingest([sample("MR_truncated.dcm")])

        assert report.outcomes[0].status == "skipped"
        assert report.outcomes[0].reason.startswith("truncated")

    def test_a_file_without_transfer_syntax_or_uids_says_what_is_missing(
        self, store: Store
    ) -> None:
        report = store.ingest([sample("meta_missing_tsyntax.dcm")])

        assert report.outcomes[0].status == "skipped"
        assert "SOP Instance UID" in report.outcomes[0].reason

    def test_a_zip_member_leaving_the_folder_is_refused_and_nothing_escapes(
        self, store: Store, tmp_path: Path
    ) -> None:
        archive = _traversal_zip(tmp_path)
        before = {p for p in tmp_path.rglob("*") if store.path not in p.parents}

        report = store.ingest([archive])

        after = {p for p in tmp_path.rglob("*") if store.path not in p.parents}
        assert after == before
        assert [o.status for o in report.outcomes] == ["skipped", "skipped", "stored"]
        assert all("unsafe path" in o.reason for o in report.outcomes[:2])
        assert not (tmp_path / "escaped.dcm").exists()
        assert all(name.startswith("dicom/") for name in stored_files(store))

    def test_an_empty_zip_has_its_own_reason(
        self, store: Store, tmp_path: Path
    ) -> None:
        report = store.ingest([_empty_zip(tmp_path)])

        assert report.outcomes[0].reason == "the ZIP archive is empty"

    def test_a_zip_of_hidden_files_only_still_gets_an_outcome(
        self, store: Store, tmp_path: Path
    ) -> None:
        archive = tmp_path / "mac.zip"
        archive.write_bytes(zip_bytes({"__MACOSX/._a.dcm": b"x", ".DS_Store": b"y"}))

        report = store.ingest([archive])

        assert [(o.source, o.reason) for o in report.outcomes] == [
            (str(archive), "the ZIP archive holds only hidden or system files")
        ]

    def test_a_zip_bomb_is_refused_by_its_expansion_ratio(
        self, store: Store, tmp_path: Path
    ) -> None:
        bomb = _zip_bomb(tmp_path)

        report = store.ingest([bomb])

        assert len(report.outcomes) == 1
        assert report.outcomes[0].source == str(bomb)
        assert "ZIP bomb" in report.outcomes[0].reason
        assert "archive_max_ratio" in report.outcomes[0].reason

    def test_a_zip_beyond_the_expansion_setting_is_refused(
        self, store: Store, tmp_path: Path
    ) -> None:
        store.configure(archive_max_bytes=1024**2)

        report = store.ingest([_zip_bomb(tmp_path, size=2 * 1024**2)])

        assert "beyond the limit of 1.0 MiB" in report.outcomes[0].reason
        assert "archive_max_bytes" in report.outcomes[0].reason

    def test_a_header_claiming_65535_squared_pixels_is_refused_unallocated(
        self, store: Store, tmp_path: Path
    ) -> None:
        huge = _huge_header(tmp_path)

        tracemalloc.start()
        try:
            report = store.ingest([huge])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert report.outcomes[0].status == "skipped"
        assert "65535 x 65535" in report.outcomes[0].reason
        assert peak < 64 * 1024**2

    def test_an_encrypted_zip_member_says_so(
        self, store: Store, tmp_path: Path
    ) -> None:
        report = store.ingest([_encrypted_zip(tmp_path)])

        assert report.outcomes[0].source.endswith("encrypted.zip!secret.dcm")
        assert "encrypted" in report.outcomes[0].reason

    def test_a_cut_zip_is_not_readable(self, store: Store, tmp_path: Path) -> None:
        report = store.ingest([_corrupt_zip(tmp_path)])

        assert "not a readable ZIP archive" in report.outcomes[0].reason

    def test_a_missing_path_and_an_empty_folder_say_so(
        self, store: Store, tmp_path: Path
    ) -> None:
        (tmp_path / "empty").mkdir()

        report = store.ingest([tmp_path / "nothing-here", tmp_path / "empty"])

        assert [o.reason for o in report.outcomes] == [
            "no such file or folder",
            "the folder holds no files to import",
        ]

    def test_a_dicom_file_without_pixels_is_not_stored(self, store: Store) -> None:
        report = store.ingest([sample("rtplan.dcm")])

        assert report.outcomes[0].status == "skipped"
        assert "no pixel data" in report.outcomes[0].reason

    def test_an_upload_that_is_not_a_pair_is_a_programming_error(
        self, store: Store
    ) -> None:
        with pytest.raises(TypeError, match="name, bytes"):
            store.ingest([("a.dcm", "text, not bytes")])  # type: ignore[list-item]


def test_a_batch_of_every_bad_input_stores_the_good_files_beside_them(
    store: Store, tmp_path: Path
) -> None:
    bad = [
        _text_file(tmp_path),
        sample("MR_truncated.dcm"),
        sample("meta_missing_tsyntax.dcm"),
        _traversal_zip(tmp_path),
        _empty_zip(tmp_path),
        _zip_bomb(tmp_path),
        _huge_header(tmp_path),
        _encrypted_zip(tmp_path),
        _corrupt_zip(tmp_path),
    ]
    good = [sample("CT_small.dcm"), sample("emri_small.dcm")]

    report = store.ingest([good[0], *bad, good[1]])

    by_source = {o.source: o for o in report.outcomes}
    assert by_source[str(good[0])].status == "stored"
    assert by_source[str(good[1])].status == "stored"
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    # The traversal ZIP's two unsafe members plus one per other bad input.
    assert len(skipped) == len(bad) + 1
    reasons = [o.reason for o in skipped]
    assert all(reasons)
    assert len(set(reasons)) >= len(bad) - 1  # the two unsafe members share one
    assert report.stored == 3  # the two good files and the traversal ZIP's MR
    assert len(store.cases()) == 3
    assert_consistent(store)


def test_a_bad_input_report_serializes_to_json_safe_values(
    store: Store, tmp_path: Path
) -> None:
    report = store.ingest([_text_file(tmp_path), sample("CT_small.dcm")])

    data = report.to_dict()

    assert (data["stored"], data["duplicates"], data["skipped"]) == (1, 0, 1)
    assert data["outcomes"][0]["status"] == "skipped"
    assert json.loads(json.dumps(data)) == data
