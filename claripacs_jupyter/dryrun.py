"""The dry run: what anonymization would do to each element, before it is done.

:func:`dry_run` reads files, folders or ZIPs not yet imported, anonymizes them
in memory exactly as an import would, and compares each output with its
input element by element, at every depth. The answer is a pandas DataFrame,
one row per element, with the action taken and the value after; values before
are shown redacted (their length only), so the table can be shown on a screen
in a classroom. The review flags each file would raise come in a second
table. Nothing is written anywhere.

The comparison reads what the anonymizer did, not what a profile says it
would do, so the table cannot disagree with the files an import writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydicom import Dataset
from pydicom.dataelem import DataElement

from .anonymize.annex_e import RuleSet
from .deidentify import anonymize_sources
from .store.sources import Source

__all__ = ["DryRun", "ELEMENT_COLUMNS", "FLAG_COLUMNS", "dry_run"]

#: Columns of :attr:`DryRun.elements`.
ELEMENT_COLUMNS = [
    "source",
    "path",
    "tag",
    "keyword",
    "vr",
    "action",
    "before",
    "after",
]
#: Columns of :attr:`DryRun.flags`.
FLAG_COLUMNS = ["source", "reason"]

#: Values after longer than this are cut in the table (the files keep them).
_SHOWN = 64
_BULK_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})


@dataclass
class DryRun:
    """What anonymizing some files would do.

    Attributes
    ----------
    elements : pandas.DataFrame
        One row per element of each input or output (:data:`ELEMENT_COLUMNS`):
        its path (sequence items as ``Name[i] > ``), tag, keyword and VR; the
        action (``keep``, ``replace``, ``empty``, ``remove`` or ``add``); the
        value before, redacted to its length; the value after.
    flags : pandas.DataFrame
        The review reasons each file would be flagged with
        (:data:`FLAG_COLUMNS`).
    skipped : pandas.DataFrame
        Inputs that would be refused, with the reason (``source``,
        ``reason``).
    """

    elements: pd.DataFrame
    flags: pd.DataFrame
    skipped: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """How many elements each action touches, per source."""
        counts = self.elements.groupby(["source", "action"]).size()
        return counts.unstack(fill_value=0)


def dry_run(
    sources: Source | Iterable[Source],
    *,
    profile: str | RuleSet = "teaching",
    options: Iterable[str] = (),
) -> DryRun:
    """Anonymize `sources` in memory and tabulate every change; write nothing.

    Parameters
    ----------
    sources : iterable of path or (name, bytes), or one of them
        Files, folders and ZIP archives, or uploaded files.
    profile : str or RuleSet
        The profile, as :func:`claripacs_jupyter.deidentify.anonymize_sources`
        takes it: "teaching", "basic", a user profile's name or file.
    options : iterable of str, or str
        Options of the Basic profile.

    Returns
    -------
    DryRun
        The element table, the review flags and the inputs refused.
    """
    run = anonymize_sources(
        sources, profile=profile, options=options, keep_datasets=True
    )
    rows: list[dict[str, Any]] = []
    flags: list[dict[str, str]] = []
    for written in run.written:
        assert written.before is not None and written.after is not None
        rows.extend(
            {"source": written.source, **row}
            for row in _compare(written.before, written.after, "")
        )
        flags.extend(
            {"source": written.source, "reason": reason}
            for reason in written.review_reasons
        )
    skipped = [{"source": o.source, "reason": o.reason or ""} for o in run.skipped]
    return DryRun(
        elements=pd.DataFrame(rows, columns=ELEMENT_COLUMNS),
        flags=pd.DataFrame(flags, columns=FLAG_COLUMNS),
        skipped=pd.DataFrame(skipped, columns=["source", "reason"]),
    )


def _compare(before: Dataset, after: Dataset, prefix: str) -> Iterator[dict[str, Any]]:
    """Rows for the elements of `before` and `after` at one level, and below."""
    tags = sorted(set(before.keys()) | set(after.keys()))
    for tag in tags:
        old = before.get(tag)
        new = after.get(tag)
        elem = old if old is not None else new
        assert elem is not None
        path = f"{prefix}{_name(elem)}"
        if elem.VR == "SQ":
            yield from _compare_sequence(old, new, path)
            continue
        yield {
            "path": path,
            "tag": f"({elem.tag.group:04X},{elem.tag.element:04X})",
            "keyword": elem.keyword or "",
            "vr": elem.VR,
            "action": _action(old, new),
            "before": _redacted(old),
            "after": _shown(new),
        }


def _compare_sequence(
    old: DataElement | None, new: DataElement | None, path: str
) -> Iterator[dict[str, Any]]:
    items_before = list(old.value or []) if old is not None else []
    items_after = list(new.value or []) if new is not None else []
    elem = old if old is not None else new
    assert elem is not None
    yield {
        "path": path,
        "tag": f"({elem.tag.group:04X},{elem.tag.element:04X})",
        "keyword": elem.keyword or "",
        "vr": "SQ",
        "action": _action_sequence(old, new),
        "before": f"{len(items_before)} item(s)" if old is not None else "",
        "after": f"{len(items_after)} item(s)" if new is not None else "",
    }
    for index in range(max(len(items_before), len(items_after))):
        item_before = items_before[index] if index < len(items_before) else Dataset()
        item_after = items_after[index] if index < len(items_after) else Dataset()
        yield from _compare(item_before, item_after, f"{path}[{index}] > ")


def _name(elem: DataElement) -> str:
    if elem.keyword:
        return str(elem.keyword)
    return f"({elem.tag.group:04X},{elem.tag.element:04X})"


def _action(old: DataElement | None, new: DataElement | None) -> str:
    if new is None:
        return "remove"
    if old is None:
        return "add"
    if _empty(new) and not _empty(old):
        return "empty"
    return "keep" if _same(old, new) else "replace"


def _action_sequence(old: DataElement | None, new: DataElement | None) -> str:
    if new is None:
        return "remove"
    if old is None:
        return "add"
    return "keep"


def _empty(elem: DataElement) -> bool:
    return elem.value is None or elem.value == "" or elem.value == b""


def _same(old: DataElement, new: DataElement) -> bool:
    try:
        return bool(old.value == new.value)
    except Exception:  # values pydicom cannot compare are not the same
        return False


def _redacted(elem: DataElement | None) -> str:
    """The value before, as its length only: it may identify the patient."""
    marker = _marker(elem)
    if marker is not None:
        return marker
    assert elem is not None
    return f"(redacted, {len(str(elem.value))} characters)"


def _shown(elem: DataElement | None) -> str:
    marker = _marker(elem)
    if marker is not None:
        return marker
    assert elem is not None
    text = str(elem.value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 1]}…"


def _marker(elem: DataElement | None) -> str | None:
    """What both columns show for an absent, empty or bulk value; else None."""
    if elem is None:
        return ""
    if _empty(elem):
        return "(empty)"
    if elem.VR in _BULK_VRS:
        return f"({_length(elem)} bytes)"
    return None


def _length(elem: DataElement) -> int:
    value = elem.value
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(str(value))
