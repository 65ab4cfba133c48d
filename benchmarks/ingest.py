"""Ingest speed: claripacs teaching import against plain pydicom and dicognito.

Makes a series of 512 x 512 CT slices from pydicom-data's ``693_UNCR.dcm``
(new UIDs, positions and instance numbers) in a temporary folder, then times,
on the same files and in the same run:

- ``claripacs ingest``: :meth:`Store.ingest` of the folder into a fresh store
  with teaching-file anonymization (read, anonymize, write atomically with
  fsync, index in one transaction);
- ``pydicom read+save``: ``dcmread`` and ``save_as`` of each file to another
  folder, nothing else;
- ``dicognito``: ``dcmread``, ``Anonymizer().anonymize(ds)``, ``save_as``.

Each is run ``--repeat`` times; the table shows the best run (the least
disturbed by other work on the machine) as files per second and as a ratio
to plain read+save. Run by hand::

    python benchmarks/ingest.py [--count 300] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from claripacs_jupyter.store import open_store


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


def best_time(
    job: Callable[[list[Path], Path], None], paths: list[Path], repeat: int
) -> float:
    """The shortest of `repeat` timed runs of `job`, each in a fresh folder."""
    times = []
    for _ in range(repeat):
        work = Path(tempfile.mkdtemp(prefix="claripacs-bench-"))
        try:
            start = time.perf_counter()
            job(paths, work)
            times.append(time.perf_counter() - start)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return min(times)


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
            "pydicom read+save": pydicom_read_save,
            "dicognito anonymize+save": dicognito_anonymize,
        }
        results = {
            name: best_time(job, paths, args.repeat) for name, job in jobs.items()
        }

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
