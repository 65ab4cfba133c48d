"""Atomic ingest: a failed write or a crash mid-batch leaves a consistent store."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from claripacs_jupyter.store import Store, open_store

from .builders import assert_consistent, make_series, sample, stored_files

resource = pytest.importorskip("resource", reason="file size limits need POSIX")

# Small slices (CT_small, about 40 KB) fit under the limit; 693_UNCR (about
# 520 KB) does not, so writing it fails for real, in the middle of the batch.
_LIMIT = 200 * 1024


@contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """Limit the size of files this process writes (RLIMIT_FSIZE).

    Python ignores SIGXFSZ, so a write beyond the limit fails with EFBIG.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_write_failing_mid_batch_skips_that_file_and_stores_the_rest(
    store: Store, tmp_path: Path
) -> None:
    before = make_series(tmp_path / "a", 3, prefix="a")
    after = make_series(tmp_path / "b", 3, prefix="b")
    big = sample("693_UNCR.dcm")

    with _file_size_limit(_LIMIT):
        report = store.ingest([*before, big, *after])

    statuses = [o.status for o in report.outcomes]
    assert statuses == ["stored"] * 3 + ["skipped"] + ["stored"] * 3
    assert report.outcomes[3].reason == "could not be written (File too large)"
    assert report.outcomes[3].accession is None
    assert len(store.cases()) == 2
    assert sum(case.instance_count for case in store.cases()) == 6
    assert len(stored_files(store)) == 6
    assert_consistent(store)


def test_a_crash_mid_batch_leaves_the_old_state_and_is_rolled_back(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    with open_store(root) as store:
        kept = store.ingest([sample("MR_small.dcm")]).accessions
    make_series(tmp_path / "in", 5)
    script = textwrap.dedent(
        f"""
        import resource, signal
        from claripacs_jupyter.store import open_store
        store = open_store({str(root)!r})
        # Die like a crash would, at the first write past the limit.
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({_LIMIT}, resource.RLIM_INFINITY))
        store.ingest([{str(tmp_path / "in")!r}, {str(sample("693_UNCR.dcm"))!r}])
        """
    )

    crashed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=120
    )

    assert crashed.returncode == -signal.SIGXFSZ, crashed.stderr.decode()
    left_behind = [p for p in (root / "dicom").rglob("*") if p.is_file()]
    assert len(left_behind) > 1  # the crash really left written files
    assert list((root / "journal").iterdir())
    with open_store(root) as reopened:
        assert [case.accession for case in reopened.cases()] == kept
        assert reopened.case(kept[0]).instance_count == 1
        assert len(stored_files(reopened)) == 1
        assert_consistent(reopened)


def test_concurrent_imports_of_one_study_make_one_case(
    store: Store, tmp_path: Path
) -> None:
    study = generate_uid()
    halves = [
        make_series(tmp_path / "one", 6, study=study, prefix="one"),
        make_series(tmp_path / "two", 6, study=study, prefix="two"),
    ]
    reports = []

    threads = [
        threading.Thread(target=lambda p=paths: reports.append(store.ingest(p)))
        for paths in halves
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(report.stored for report in reports) == [6, 6]
    assert len(store.cases()) == 1
    assert store.cases()[0].instance_count == 12
    assert_consistent(store)


def test_two_processes_importing_into_one_store_are_kept_apart(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    open_store(root).close()
    study = generate_uid()
    folders = []
    for name in ("one", "two"):
        make_series(tmp_path / name, 8, study=study, prefix=name)
        folders.append(tmp_path / name)
    script = "import sys; from claripacs_jupyter.store import open_store; " + (
        "print(open_store(sys.argv[1]).ingest([sys.argv[2]]).stored)"
    )

    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root), str(folder)],
            stdout=subprocess.PIPE,
        )
        for folder in folders
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]

    assert [int(output) for output in outputs] == [8, 8]
    with open_store(root) as store:
        assert len(store.cases()) == 1
        assert store.cases()[0].instance_count == 16
        assert_consistent(store)
