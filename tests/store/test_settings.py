"""Settings kept in the store: the UID key, teaching mode, limits, schema version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from claripacs_jupyter.errors import InvalidInputError, StoreError
from claripacs_jupyter.store import Store, open_store
from claripacs_jupyter.store.schema import SCHEMA_VERSION

from .builders import sample


def test_the_uid_key_is_made_once_and_kept(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as first:
        key = first._key
    with open_store(tmp_path / "s") as again:
        assert again._key == key
    assert len(key) == 32


def test_the_index_runs_in_wal_mode_with_foreign_keys(store: Store) -> None:
    with store._engine.connect() as conn:
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()

    assert (journal, foreign) == ("wal", 1)
    assert (store.path / "index.sqlite").is_file()


def test_teaching_stays_on_unless_the_store_setting_says_otherwise(
    tmp_path: Path,
) -> None:
    root = tmp_path / "s"
    open_store(root).close()

    with pytest.raises(StoreError, match="teaching anonymization on"):
        open_store(root, teaching=False)
    with open_store(root) as store:
        store.configure(teaching=False)
    with open_store(root) as store:
        assert store.teaching is False


def test_turning_teaching_off_keeps_originals_from_then_on(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as store:
        store.configure(teaching=False)

        report = store.ingest([sample("CT_small.dcm")])

        path = store.instance_path(report.accessions[0], report.outcomes[0].sop_uid)
        assert path.read_bytes() == sample("CT_small.dcm").read_bytes()


@pytest.mark.parametrize(
    "change",
    [{"teaching": "no"}, {"max_image_bytes": 0}, {"archive_max_ratio": 0.5}, {"x": 1}],
)
def test_bad_settings_are_refused(store: Store, change: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        store.configure(**change)


def test_the_image_size_limit_setting_is_applied_to_ingest(store: Store) -> None:
    store.configure(max_image_bytes=1000)

    report = store.ingest([sample("CT_small.dcm")])

    assert report.outcomes[0].status == "skipped"
    assert "more than the limit of 1,000 bytes" in report.outcomes[0].reason


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "s"
    open_store(root).close()
    with sqlite3.connect(root / "index.sqlite") as conn:
        conn.execute(
            "UPDATE settings SET value = ? WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )

    with pytest.raises(StoreError, match="newer than this claripacs"):
        open_store(root)


def test_opening_without_create_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        open_store(tmp_path / "missing", create=False)

    assert not (tmp_path / "missing").exists()


def test_the_data_folder_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLARIPACS_DATA", str(tmp_path / "from-env"))

    with open_store() as store:
        assert store.path == (tmp_path / "from-env").resolve()


def test_the_index_can_live_at_another_database_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"

    with open_store(tmp_path / "files", index_url=url) as store:
        accession = store.ingest([sample("CT_small.dcm")]).accessions[0]

    assert (tmp_path / "elsewhere.sqlite").is_file()
    assert not (tmp_path / "files" / "index.sqlite").exists()
    with open_store(tmp_path / "files", index_url=url) as again:
        assert again.case(accession).instance_count == 1
    with open_store(tmp_path / "files", index_url=url, create=False) as existing:
        assert existing.case(accession).accession == accession
