"""Ingest speed: claripacs teaching import against plain pydicom and dicognito.

Makes a series of 512 x 512 CT slices from pydicom-data's ``693_UNCR.dcm``
(new UIDs, positions and instance numbers) in a temporary folder, then times,
on the same files and in the same run:

- ``claripacs ingest``: :meth:`Store.ingest` of the folder into a fresh store
  with teaching-file anonymization (read, anonymize, write atomically, make
  the files durable on disk, index in one transaction);
- the same ingest without making the files durable (no fsync, syncfs or
  early writeback), on a second line: plain read+save never syncs, so this
  line shows what durability costs, and the first line is the product's;
- ``pydicom read+save``: ``dcmread`` and ``save_as`` of each file to another
  folder, nothing else;
- ``dicognito``: ``dcmread``, ``Anonymizer().anonymize(ds)``, ``save_as``.

Each is run ``--repeat`` times, in turns, so that a slow spell of the machine
touches every job alike; before each run the disk is synced (untimed), so no
run pays for writing out what the one before left behind. The table shows
the best run (the least disturbed by other work on the machine) as files per
second and as a ratio to plain read+save. Run by hand::

    python benchmarks/ingest.py [--count 300] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from claripacs_jupyter.store import ingest, layout, open_store
from claripacs_jupyter.store.journal import Journal


def make_series(folder: Path, count: int) -> list[Path]:
    """Write `count` slices of one new CT series to `folder`; return their paths."""
    template = pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    study, series = generate_uid(), generate_uid()
    x, y, z = (float(value) for value in template.ImagePositionPatient)
    paths = []
    for index in range(count):
        template.StudyInstanceUID = study
        template.SeriesInstanceUID = series
        template.SOPInstanceUID = generate_uid()
        template.file_meta.MediaStorageSOPInstanceUID = template.SOPInstanceUID
        template.InstanceNumber = index + 1
        template.ImagePositionPatient = [x, y, z + 5.0 * index]
        template.SliceLocation = z + 5.0 * index
        path = folder / f"slice{index:04d}.dcm"
        template.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def claripacs_ingest(paths: list[Path], work: Path) -> None:
    """Import the folder of `paths` into a fresh teaching store."""
    with open_store(work / "store") as store:
        report = store.ingest([paths[0].parent])
    if report.stored != len(paths):
        raise SystemExit(f"ingest stored {report.stored} of {len(paths)} files")


def claripacs_ingest_without_sync(paths: list[Path], work: Path) -> None:
    """The same import, with the store's durability steps switched off.

    For measurement only: the store has no such setting.
    """
    patches = [
        (ingest, "sync_files", lambda files, written=None: "none"),
        (layout, "start_writeback", lambda descriptor: None),
        (Journal, "sync", lambda self: None),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        claripacs_ingest(paths, work)
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def pydicom_read_save(paths: list[Path], work: Path) -> None:
    """Read and save each file with pydicom, changing nothing."""
    out = work / "plain"
    out.mkdir()
    for path in paths:
        pydicom.dcmread(path).save_as(out / path.name)


def dicognito_anonymize(paths: list[Path], work: Path) -> None:
    """Read, anonymize with dicognito's default anonymizer, and save each file."""
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer()
    out = work / "dicognito"
    out.mkdir()
    for path in paths:
        dataset = pydicom.dcmread(path)
        anonymizer.anonymize(dataset)
        dataset.save_as(out / path.name)


Job = Callable[[list[Path], Path], None]


def timed_run(job: Job, paths: list[Path]) -> float:
    """Seconds of one run of `job` in a fresh folder, starting with a synced disk."""
    work = Path(tempfile.mkdtemp(prefix="claripacs-bench-"))
    try:
        os.sync()
        start = time.perf_counter()
        job(paths, work)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)


def best_times(
    jobs: dict[str, Job], paths: list[Path], repeat: int
) -> dict[str, float]:
    """The shortest of `repeat` runs of each job, the jobs taking turns."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, job in jobs.items():
            times[name].append(timed_run(job, paths))
    return {name: min(runs) for name, runs in times.items()}


def main() -> None:
    """Make the series, time the three jobs, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="slices (300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (3)")
    parser.add_argument(
        "--profile", action="store_true", help="profile one claripacs ingest"
    )
    args = parser.parse_args()

    source = Path(tempfile.mkdtemp(prefix="claripacs-bench-src-"))
    try:
        paths = make_series(source, args.count)
        size = sum(path.stat().st_size for path in paths) / 1024**2
        print(
            f"{len(paths)} slices of 512 x 512 CT, {size:.0f} MiB, best of "
            f"{args.repeat} runs\n"
        )
        jobs = {
            "claripacs ingest (teaching)": claripacs_ingest,
            "  same, without durability": claripacs_ingest_without_sync,
            "pydicom read+save": pydicom_read_save,
            "dicognito anonymize+save": dicognito_anonymize,
        }
        results = best_times(jobs, paths, args.repeat)

        plain = len(paths) / results["pydicom read+save"]
        print(f"{'job':<30} {'seconds':>8} {'files/s':>9} {'vs read+save':>13}")
        for name, seconds in results.items():
            rate = len(paths) / seconds
            print(f"{name:<30} {seconds:>8.2f} {rate:>9.0f} {rate / plain:>12.2f}x")

        if args.profile:
            work = Path(tempfile.mkdtemp(prefix="claripacs-bench-"))
            profiler = cProfile.Profile()
            profiler.runcall(claripacs_ingest, paths, work)
            shutil.rmtree(work, ignore_errors=True)
            print()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    finally:
        shutil.rmtree(source, ignore_errors=True)


if __name__ == "__main__":
    main()
