"""The ``claripacs`` command: the store's subcommands, ``anonymize`` and ``lab``."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .anonymize.annex_e import OPTIONS, RuleSet
from .anonymize.uids import MIN_KEY_BYTES
from .anonymize.user_profiles import PROFILES_ENV, resolve_profile
from .deidentify import anonymize_to, check_out
from .errors import ClaripacsError, InvalidInputError
from .store import Case, IngestReport, Store, open_store

__all__ = ["main"]

logger = logging.getLogger(__name__)

#: Exit statuses: 0 done, 1 nothing usable or an error the user can fix,
#: 2 the command line itself was wrong (argparse's own convention).
OK, FAILED, USAGE = 0, 1, 2

_Handler = Callable[[argparse.Namespace, list[str]], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``claripacs`` command with `argv` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 1 when nothing usable was imported or
        an error occurred (one line on standard error), 2 on a usage error.
    """
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command == "anonymize" and not _any_option(extra):
            # "IN IN --profile basic OUT": argparse ended IN... at the option
            # and left OUT over; the last word is OUT, the rest are inputs
            args.paths, args.out = [*args.paths, args.out, *extra[:-1]], extra[-1]
            extra = []
        if extra and not args.passes_options:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        # argparse exits with 2 on usage errors and 0 after --help.
        return exc.code if isinstance(exc.code, int) else USAGE

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="claripacs: %(levelname)s: %(message)s",
    )
    handler: _Handler = args.handler
    try:
        return handler(args, extra)
    except ClaripacsError as exc:
        print(f"claripacs: error: {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print("claripacs: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (claripacs list | head): stop quietly, as Unix
        # tools do, without a second error when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED
    except OSError as exc:
        # A path the user named cannot be read or written (a full disk, no
        # permission): say which and why, without a traceback.
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"claripacs: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return FAILED


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--data",
        metavar="DIR",
        help="the store folder (default: $CLARIPACS_DATA, else the Jupyter data dir)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", help="log what the store does"
    )

    parser = argparse.ArgumentParser(
        prog="claripacs",
        description="A teaching-file PACS inside Jupyter: the case store's command.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: _Handler, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, parents=[common], help=text, description=text, allow_abbrev=False
        )
        sub.set_defaults(handler=handler, passes_options=False)
        return sub

    sub = command("import", _import, "import DICOM files, folders and ZIP archives")
    sub.add_argument("paths", nargs="+", metavar="PATH")
    sub.add_argument("--folder", metavar="F", help="the folder of the new cases")
    sub.add_argument("--json", action="store_true", help="print the report as JSON")

    sub = command("list", _list, "list the cases, newest first")
    sub.add_argument("--folder", metavar="F", help="only the cases of this folder")
    sub.add_argument("--json", action="store_true", help="print JSON")

    sub = command("search", _search, "find cases by accession, text or folder")
    sub.add_argument("text", metavar="TEXT")
    sub.add_argument("--json", action="store_true", help="print JSON")

    sub = command("export", _export, "export a case as DICOM, PNG or a ZIP")
    sub.add_argument("accession", metavar="ACCESSION")
    sub.add_argument("--format", required=True, choices=("dicom", "png", "zip"))
    sub.add_argument("--out", required=True, metavar="PATH")

    sub = command("delete", _delete, "delete a case: its index rows and files")
    sub.add_argument("accession", metavar="ACCESSION")

    sub = command(
        "anonymize",
        _anonymize,
        "anonymize DICOM files, folders and ZIP archives into a folder or a ZIP, "
        "without importing them",
    )
    sub.add_argument("paths", nargs="+", metavar="IN")
    sub.add_argument("out", metavar="OUT", help="a folder, or a file ending in .zip")
    sub.add_argument(
        "--profile",
        default="teaching",
        metavar="NAME",
        help="teaching (the default), basic (DICOM PS3.15 Basic Application Level "
        "Confidentiality Profile), the name of a profile in "
        f"${PROFILES_ENV} or a profile file ending .toml",
    )
    sub.add_argument(
        "--option",
        action="append",
        default=[],
        choices=OPTIONS,
        metavar="OPTION",
        help="a Basic profile option, once per option: " + ", ".join(OPTIONS),
    )
    keys = sub.add_mutually_exclusive_group()
    keys.add_argument(
        "--key-file",
        metavar="FILE",
        help="the UID key, made there on the first run: runs with one key give "
        "one study the same new UIDs",
    )
    keys.add_argument(
        "--store-key",
        action="store_true",
        help="remap UIDs with the store's key, as its imports do",
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")

    command("demo", _demo, "import the demo teaching set from pydicom-data")

    sub = command(
        "lab",
        _lab,
        "start JupyterLab with the claripacs server extension on this store; "
        "other options (--port, --no-browser, --ServerApp.*) go to JupyterLab",
    )
    sub.add_argument(
        "--demo", action="store_true", help="import the demo set first if empty"
    )
    sub.set_defaults(passes_options=True)
    return parser


def _open(args: argparse.Namespace, *, create: bool = True) -> Store:
    # Commands that only read or remove never create a store: a mistyped
    # --data should say so, not leave an empty store behind.
    return open_store(args.data, create=create)


def _import(args: argparse.Namespace, _extra: list[str]) -> int:
    with _open(args) as store:
        report = store.ingest(
            args.paths, folder=args.folder, owner=_user(), progress=not args.json
        )
        if args.json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            _summary(report, store, sys.stdout)
    return OK if report.usable else FAILED


def _list(args: argparse.Namespace, _extra: list[str]) -> int:
    with _open(args, create=False) as store:
        found = store.cases(args.folder)
    _print_cases(found, args.json, "The store has no cases yet.")
    return OK


def _search(args: argparse.Namespace, _extra: list[str]) -> int:
    with _open(args, create=False) as store:
        found = store.search(args.text)
    _print_cases(found, args.json, "No case matches.")
    return OK


def _export(args: argparse.Namespace, _extra: list[str]) -> int:
    with _open(args, create=False) as store:
        written = store.export(args.accession, args.format, args.out)
    print(written)
    return OK


def _delete(args: argparse.Namespace, _extra: list[str]) -> int:
    with _open(args, create=False) as store:
        case = store.case(args.accession)
        store.delete(case.accession)
    print(f"Deleted case {case.accession} ({case.instance_count} file(s)).")
    return OK


def _anonymize(args: argparse.Namespace, _extra: list[str]) -> int:
    if args.store_key:
        with _open(args, create=False) as store:
            key, settings = store._key, store.settings
    else:
        key, settings = _key_file(args.key_file), None
    check_out(args.paths, args.out)
    rules = resolve_profile(args.profile, args.option)
    if isinstance(rules, RuleSet) and rules.identity_kept:
        print(
            f"claripacs: profile {rules.name} keeps {', '.join(rules.identity_kept)}: "
            "the files say PatientIdentityRemoved NO",
            file=sys.stderr,
        )
    run = anonymize_to(args.paths, args.out, profile=rules, key=key, settings=settings)
    written = Path(args.out).expanduser() if run.written else None

    if args.json:
        report = {
            "out": str(written) if written else None,
            "written": [
                {"source": f.source, "name": f.name, "review_reasons": f.review_reasons}
                for f in run.written
            ],
            "skipped": [{"source": o.source, "reason": o.reason} for o in run.skipped],
        }
        print(json.dumps(report, indent=2))
    else:
        flagged = sum(1 for f in run.written if f.review_reasons)
        if written:
            print(f"Anonymized {len(run.written)} file(s) into {written}.")
        else:
            print("Nothing was anonymized; nothing was written.")
        if flagged:
            print(
                f"{flagged} of them need a person's check before sharing: "
                "burned-in text in the pixels, or a number left in a "
                "description (--json lists why)."
            )
        for outcome in run.skipped:
            print(f"skipped {outcome.source}: {outcome.reason}")
    return OK if run.written else FAILED


def _any_option(words: list[str]) -> bool:
    return any(word.startswith("-") and word != "-" for word in words)


def _key_file(path: str | None) -> bytes | None:
    """The key kept in `path`, made there when the file is missing or empty."""
    if path is None:
        return None
    file = Path(path).expanduser()
    if file.is_dir():
        raise InvalidInputError(f"--key-file {path}: is a folder, not a key file")
    if not file.parent.is_dir():
        raise InvalidInputError(f"--key-file {path}: no folder {file.parent}")
    if not file.exists() or file.stat().st_size == 0:
        file.write_bytes(secrets.token_bytes(32))
        file.chmod(0o600)
    key = file.read_bytes()
    if len(key) < MIN_KEY_BYTES:
        raise InvalidInputError(
            f"--key-file {path}: holds {len(key)} bytes, and a key needs at least "
            f"{MIN_KEY_BYTES}; remove the file to have a new key made"
        )
    return key


def _demo(args: argparse.Namespace, _extra: list[str]) -> int:
    from .store.demo import import_demo

    with _open(args) as store:
        report = import_demo(store, progress=True)
        _summary(report, store, sys.stdout)
    return OK if report.usable else FAILED


def _lab(args: argparse.Namespace, extra: list[str]) -> int:
    with _open(args) as store:
        if args.demo and not store.cases():
            from .store.demo import import_demo

            _summary(import_demo(store, progress=True), store, sys.stdout)
        path = store.path
    env = dict(os.environ, CLARIPACS_DATA=str(path))
    options = list(extra)
    if _is_root() and "--allow-root" not in options:
        # Containers (and CI) run as root; JupyterLab refuses that unless told.
        print("claripacs: running as root: passing --allow-root", file=sys.stderr)
        options.append("--allow-root")
    command = [sys.executable, "-m", "jupyterlab", *options]
    logger.info("starting JupyterLab on the store at %s", path)
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    # Ctrl-C reaches JupyterLab from the terminal (it asks before shutting
    # down), so it is ignored here; a termination sent to this process alone
    # (a service manager, kill PID) is passed on, so that no server is left
    # behind serving the store.
    handlers = {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: forward}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = forward
    previous = {number: signal.signal(number, h) for number, h in handlers.items()}
    try:
        return child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _summary(report: IngestReport, store: Store, out: TextIO) -> None:
    total = len(report.outcomes)
    print(
        f"{total} input(s): {report.stored} stored, {report.duplicates} duplicate, "
        f"{report.skipped} skipped.",
        file=out,
    )
    if report.accessions:
        print("Cases:", file=out)
        for accession in report.accessions:
            case = store.case(accession)
            folder = f" [{case.folder}]" if case.folder else ""
            review = "  (needs review before sharing)" if case.needs_review else ""
            print(
                f"  {case.accession}{folder} {case.description or '(no description)'}"
                f", {case.instance_count} file(s){review}",
                file=out,
            )
    skipped = [outcome for outcome in report.outcomes if outcome.status == "skipped"]
    if skipped:
        print("Skipped:", file=out)
        for outcome in skipped:
            print(f"  {outcome.source}: {outcome.reason}", file=out)


def _print_cases(found: list[Case], as_json: bool, empty: str) -> None:
    if as_json:
        print(json.dumps([case.to_dict(with_series=False) for case in found], indent=2))
        return
    if not found:
        print(empty)
        return
    header = ("ACCESSION", "FOLDER", "MODALITY", "FILES", "CREATED", "DESCRIPTION")
    rows = [
        (
            case.accession,
            case.folder,
            ",".join(case.modalities),
            str(case.instance_count),
            case.created.strftime("%Y-%m-%d"),
            (case.description or "") + ("  [review]" if case.needs_review else ""),
        )
        for case in found
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        cells = [value.ljust(width) for value, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[5]]).rstrip())


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
