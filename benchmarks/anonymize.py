"""Anonymization speed: our profiles against dicognito, deid and plain pydicom.

On the 300-slice 512 x 512 CT that ``benchmarks/ingest.py`` makes, each job
reads every file with pydicom, anonymizes it and saves it to a folder, in the
same run, taking turns (best of ``--repeat``):

- ``claripacs teaching``: ``dcmread``, :func:`anonymize_teaching`, and the
  bytes written by the store's writer
  (:func:`claripacs_jupyter.deidentify.encoded`, the same bytes ``save_as``
  gives);
- ``claripacs basic``: the same with the PS3.15 Basic Application Level
  Confidentiality Profile (:func:`anonymize_with_rules`, no options);
- ``claripacs anonymize``: :func:`claripacs_jupyter.deidentify.anonymize_to`,
  as ``claripacs anonymize`` runs (with the reader's checks and new file
  names, each file written as it is made);
- ``dicognito``: ``dcmread``, ``Anonymizer().anonymize(ds)``, ``save_as``;
- ``deid (default recipe)``: ``deid.dicom.get_identifiers`` and
  ``replace_identifiers`` with deid's default recipe, saving to a folder;
- ``pydicom read+save``: ``dcmread`` and ``save_as``, nothing else.

A second table gives the peak memory Python allocates in one run of
``claripacs anonymize`` (into a folder and into a ZIP), against a run that
holds every file in memory before writing them.

Run by hand::

    python benchmarks/anonymize.py [--count 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pydicom
from ingest import best_times, dicognito_anonymize, make_series, pydicom_read_save

from claripacs_jupyter.anonymize import anonymize_teaching
from claripacs_jupyter.anonymize.annex_e import basic_rules
from claripacs_jupyter.anonymize.confidential import anonymize_with_rules
from claripacs_jupyter.deidentify import (
    anonymize_sources,
    anonymize_to,
    encoded,
    write_run,
)

KEY = bytes(range(32))


def claripacs_teaching(paths: list[Path], work: Path) -> None:
    """Read, anonymize with the teaching profile, and save each file."""
    out = work / "teaching"
    out.mkdir()
    for index, path in enumerate(paths):
        result = anonymize_teaching(pydicom.dcmread(path), key=KEY, accession="BENCH1")
        (out / f"{index}.dcm").write_bytes(encoded(result.dataset))


def claripacs_basic(paths: list[Path], work: Path) -> None:
    """Read, anonymize with the PS3.15 Basic profile, and save each file."""
    out = work / "basic"
    out.mkdir()
    rules = basic_rules()
    for index, path in enumerate(paths):
        result = anonymize_with_rules(pydicom.dcmread(path), key=KEY, rules=rules)
        (out / f"{index}.dcm").write_bytes(encoded(result.dataset))


def claripacs_anonymize(paths: list[Path], work: Path) -> None:
    """What ``claripacs anonymize`` does: checked reads, new names, one folder."""
    anonymize_to(paths, work / "standalone", key=KEY)


def deid_default(paths: list[Path], work: Path) -> None:
    """deid's default recipe: find the identifiers, replace them, save."""
    from deid.dicom import get_identifiers, replace_identifiers

    out = work / "deid"
    out.mkdir()
    files = [str(path) for path in paths]
    identifiers = get_identifiers(files)
    replace_identifiers(files, ids=identifiers, save=True, output_folder=str(out))


def main() -> None:
    """Make the series, time the jobs, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="slices (300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (3)")
    args = parser.parse_args()
    # deid logs a line per file at its default level
    logging.getLogger("deid").setLevel(logging.ERROR)

    source = Path(tempfile.mkdtemp(prefix="claripacs-bench-anon-"))
    try:
        paths = make_series(source, args.count)
        jobs = {
            "claripacs teaching": claripacs_teaching,
            "claripacs basic (PS3.15)": claripacs_basic,
            "claripacs anonymize (CLI path)": claripacs_anonymize,
            "dicognito": dicognito_anonymize,
            "deid (default recipe)": deid_default,
            "pydicom read+save": pydicom_read_save,
        }
        results = best_times(jobs, paths, args.repeat)
        peaks = {
            "anonymize_to (the CLI)": _peak(
                lambda out: anonymize_to(paths, out / "folder", key=KEY)
            ),
            "anonymize_to, into a ZIP": _peak(
                lambda out: anonymize_to(paths, out / "run.zip", key=KEY)
            ),
            "anonymize_sources + write_run": _peak(
                lambda out: write_run(anonymize_sources(paths, key=KEY), out / "f")
            ),
        }
    finally:
        shutil.rmtree(source, ignore_errors=True)

    count = len(paths)
    plain = count / results["pydicom read+save"]
    dicognito = count / results["dicognito"]
    print(
        f"{count} slices of 512 x 512 CT, best of {args.repeat} runs; "
        "each job reads, anonymizes and saves every file\n"
    )
    print(
        f"{'job':<32} {'seconds':>8} {'files/s':>8} {'vs read+save':>13} "
        f"{'vs dicognito':>13}"
    )
    for name, seconds in results.items():
        rate = count / seconds
        print(
            f"{name:<32} {seconds:>8.2f} {rate:>8.0f} {rate / plain:>12.2f}x "
            f"{rate / dicognito:>12.2f}x"
        )

    held = peaks["anonymize_sources + write_run"]
    print("\npeak Python memory of one run (tracemalloc), against a run held in memory")
    print(f"{'job':<32} {'MiB':>8} {'vs in memory':>13}")
    for name, peak in peaks.items():
        print(f"{name:<32} {peak / 2**20:>8.1f} {peak / held:>12.3f}x")


def _peak(job: Callable[[Path], object]) -> int:
    """The peak bytes Python allocates while `job` writes into a new folder."""
    out = Path(tempfile.mkdtemp(prefix="claripacs-bench-peak-"))
    try:
        tracemalloc.start()
        job(out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
