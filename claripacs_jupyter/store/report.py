"""The outcome of every input of an ingest, and the report that gathers them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["IngestReport", "Outcome", "Status"]

Status = Literal["stored", "duplicate", "skipped"]


@dataclass
class Outcome:
    """What happened to one input: a file, a ZIP member, an upload.

    Attributes
    ----------
    source : str
        The input as the caller named it; a ZIP member is
        ``"archive.zip!member/path.dcm"``.
    status : {"stored", "duplicate", "skipped"}
        ``"duplicate"`` means the instance was already in the store (or earlier
        in the same batch) and was not written again.
    reason : str or None
        Why the input was skipped (None otherwise).
    accession : str or None
        The case the instance belongs to (stored or duplicate).
    sop_uid : str or None
        The instance's (0008,0018) *SOPInstanceUID* as stored.
    """

    source: str
    status: Status
    reason: str | None = None
    accession: str | None = None
    sop_uid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of the outcome."""
        return {
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "accession": self.accession,
            "sop_uid": self.sop_uid,
        }


@dataclass
class IngestReport:
    """The outcomes of one ingest, in the order of the inputs."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Number of instances written."""
        return self._count("stored")

    @property
    def duplicates(self) -> int:
        """Number of inputs already in the store."""
        return self._count("duplicate")

    @property
    def skipped(self) -> int:
        """Number of inputs that could not be used."""
        return self._count("skipped")

    @property
    def usable(self) -> bool:
        """True when anything was stored or was already there."""
        return self.stored + self.duplicates > 0

    @property
    def accessions(self) -> list[str]:
        """The cases the stored and duplicate instances belong to, first seen first."""
        seen = dict.fromkeys(o.accession for o in self.outcomes if o.accession)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: counts, accessions and every outcome."""
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "accessions": self.accessions,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }

    def _count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)
