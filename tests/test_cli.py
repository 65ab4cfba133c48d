"""The ``claripacs`` command, through main() and through real processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from claripacs_jupyter.cli import main
from claripacs_jupyter.store import open_store
from claripacs_jupyter.store.demo import DEMO_CASES

COMMAND = Path(sys.executable).parent / "claripacs"


def _sample(name: str) -> str:
    return str(get_testdata_file(name))


@pytest.fixture
def data(tmp_path: Path) -> str:
    return str(tmp_path / "store")


class TestImport:
    def test_import_stores_files_in_the_folder_and_summarizes(
        self, data: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        status = main(
            ["import", _sample("CT_small.dcm"), _sample("MR_small.dcm"),
             "--folder", "Neuro", "--data", data]
        )  # fmt: skip

        out = capsys.readouterr().out
        assert status == 0
        assert "2 input(s): 2 stored, 0 duplicate, 0 skipped." in out
        with open_store(data) as store:
            cases = store.cases()
            assert {case.folder for case in cases} == {"Neuro"}
            assert all(case.accession in out for case in cases)

    def test_import_lists_each_skipped_input_with_its_reason(
        self, data: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = tmp_path / "notes.dcm"
        text.write_text("not an image\n" * 20)

        status = main(["import", str(text), _sample("CT_small.dcm"), "--data", data])

        out = capsys.readouterr().out
        assert status == 0
        assert "1 stored, 0 duplicate, 1 skipped" in out
        assert f"  {text}: not a DICOM file" in out

    def test_import_of_nothing_usable_exits_1(
        self, data: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        status = main(["import", str(tmp_path / "missing.dcm"), "--data", data])

        assert status == 1
        assert "no such file or folder" in capsys.readouterr().out

    def test_import_of_duplicates_only_exits_0(
        self, data: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        main(["import", _sample("CT_small.dcm"), "--data", data])

        status = main(["import", _sample("CT_small.dcm"), "--data", data])

        assert status == 0
        assert "0 stored, 1 duplicate, 0 skipped" in capsys.readouterr().out

    def test_import_json_prints_the_report(
        self, data: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        main(["import", _sample("CT_small.dcm"), "--json", "--data", data])

        report = json.loads(capsys.readouterr().out)

        assert report["stored"] == 1
        assert report["outcomes"][0]["status"] == "stored"


class TestUsage:
    @pytest.mark.parametrize(
        "argv",
        [[], ["import"], ["list", "--bogus"], ["export", "X", "--format", "gif",
                                                "--out", "o"], ["frobnicate"]],
    )  # fmt: skip
    def test_usage_errors_exit_2(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(argv) == 2
        assert "usage: claripacs" in capsys.readouterr().err

    def test_help_exits_0(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--help"]) == 0
        assert "import" in capsys.readouterr().out


class TestCases:
    @pytest.fixture
    def accession(self, data: str) -> str:
        with open_store(data) as store:
            report = store.ingest([_sample("CT_small.dcm")], folder="Chest")
            store.update_case(report.accessions[0], description="Vertebra")
        return report.accessions[0]

    def test_list_prints_a_table_and_json(
        self, data: str, accession: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["list", "--data", data]) == 0
        table = capsys.readouterr().out
        assert main(["list", "--json", "--data", data]) == 0
        listed = json.loads(capsys.readouterr().out)

        assert table.splitlines()[0].split()[:3] == ["ACCESSION", "FOLDER", "MODALITY"]
        assert accession in table and "Vertebra" in table
        assert [case["accession"] for case in listed] == [accession]
        assert listed[0]["folder"] == "Chest"

    def test_search_finds_by_description(
        self, data: str, accession: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["search", "vertebra", "--json", "--data", data]) == 0
        found = json.loads(capsys.readouterr().out)
        assert main(["search", "nothing-like-this", "--data", data]) == 0

        assert [case["accession"] for case in found] == [accession]
        assert "No case matches." in capsys.readouterr().out

    def test_export_zip_writes_the_archive(
        self, data: str, accession: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        out = tmp_path / "case.zip"

        status = main(
            ["export", accession, "--format", "zip", "--out", str(out), "--data", data]
        )

        assert status == 0
        assert capsys.readouterr().out.strip() == str(out)
        with zipfile.ZipFile(out) as archive:
            assert f"{accession}/index.html" in archive.namelist()

    def test_delete_removes_the_case_and_a_second_delete_is_one_error_line(
        self, data: str, accession: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["delete", accession, "--data", data]) == 0
        assert f"Deleted case {accession}" in capsys.readouterr().out

        status = main(["delete", accession, "--data", data])

        err = capsys.readouterr().err
        assert status == 1
        assert err == f"claripacs: error: no case {accession!r} in this store\n"
        with open_store(data) as store:
            assert store.cases() == []


def test_reading_commands_do_not_create_a_store_at_a_mistyped_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo"

    statuses = [
        main(["list", "--data", str(missing)]),
        main(["search", "chest", "--data", str(missing)]),
        main(["delete", "ABCDEFGH", "--data", str(missing)]),
    ]

    assert statuses == [1, 1, 1]
    assert capsys.readouterr().err.count(f"no store at {missing}") == 3
    assert not missing.exists()


def test_an_unwritable_export_target_is_one_error_line(
    data: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["import", _sample("CT_small.dcm"), "--data", data])
    accession = json.loads(_list_json(data, capsys))[0]["accession"]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    status = main(
        ["export", accession, "--format", "zip", "--out", str(blocker / "x.zip"),
         "--data", data]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("claripacs: error: ") and "Traceback" not in err
    assert err.count("\n") == 1


def _list_json(data: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    main(["list", "--json", "--data", data])
    return capsys.readouterr().out


def test_demo_imports_the_teaching_set_into_named_folders_once(
    data: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--data", data]) == 0
    assert main(["demo", "--data", data]) == 0

    out = capsys.readouterr().out
    assert f"{len(DEMO_CASES)} stored" in out
    assert f"0 stored, {len(DEMO_CASES)} duplicate" in out
    with open_store(data) as store:
        folders = dict(store.folders())
        assert folders == {"Neuro": 3, "Chest": 1, "MSK": 1, "Ultrasound": 3,
                           "Compressed": 3}  # fmt: skip
        frames = store.cases_frame()
    assert set(frames["description"]) == {case.description for case in DEMO_CASES}
    kinds = {m for modalities in frames["modalities"] for m in modalities}
    assert kinds == {"CT", "MR", "CR", "US"}
    assert frames["frame_count"].max() == 30  # the ultrasound cine


def test_the_installed_command_runs_in_a_real_process(tmp_path: Path) -> None:
    data = str(tmp_path / "store")

    done = subprocess.run(
        [str(COMMAND), "import", _sample("CT_small.dcm"), "--data", data],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    failed = subprocess.run(
        [str(COMMAND), "export", "ABCDEFGH", "--format", "dicom", "--out",
         str(tmp_path / "o"), "--data", data],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "1 stored" in done.stdout
    assert failed.returncode == 1
    assert failed.stderr == "claripacs: error: no case 'ABCDEFGH' in this store\n"


def test_lab_starts_jupyterlab_on_the_store_with_options_passed_through(
    tmp_path: Path,
) -> None:
    data = tmp_path / "store"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "claripacs-test-token"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    env.pop("CLARIPACS_DATA", None)
    log = tmp_path / "lab.log"

    with open(log, "wb") as stderr:
        lab = subprocess.Popen(
            [str(COMMAND), "lab", "--demo", "--data", str(data), "--no-browser",
             f"--port={port}", "--ip=127.0.0.1",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr,
            start_new_session=True,
        )  # fmt: skip
    try:
        cases = _wait_for_json(
            f"http://127.0.0.1:{port}/claripacs/api/cases", token, lab, log, 180
        )
        # a termination sent to claripacs alone ends JupyterLab too
        os.kill(lab.pid, signal.SIGTERM)
        lab.wait(timeout=60)
        with socket.socket() as probe:
            left_serving = probe.connect_ex(("127.0.0.1", port)) == 0
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(timeout=60)
        else:
            # anything left in the session, should the test fail
            with contextlib.suppress(ProcessLookupError):
                os.killpg(lab.pid, signal.SIGKILL)

    assert not left_serving

    # The demo was imported first, and the server extension serves this store.
    assert len(cases["cases"]) == len(DEMO_CASES)
    with open_store(data) as store:
        assert {c["accession"] for c in cases["cases"]} == {
            c.accession for c in store.cases()
        }


def _wait_for_json(
    url: str, token: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log.read_text(errors="replace"))
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {url} in {timeout} s")
