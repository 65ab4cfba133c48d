"""What the store hands out: a case, its series and their instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Case", "Instance", "Series"]


@dataclass
class Instance:
    """One stored DICOM instance (a file), possibly of several frames.

    Attributes
    ----------
    uid : str
        (0008,0018) *SOPInstanceUID* as stored (anonymized in teaching mode).
    number : int or None
        (0020,0013) *InstanceNumber*.
    frames, rows, columns : int
        (0028,0008) *NumberOfFrames* (1 when absent), (0028,0010) *Rows*,
        (0028,0011) *Columns*.
    position : float or None
        (0020,0032) *ImagePositionPatient* projected on the slice normal
        (the cross product of the two directions of (0020,0037)
        *ImageOrientationPatient*), in mm.
    sort_key : int
        The instance's place in its series, from 0: by `position` when every
        instance of the series has one, else by `number`.
    image : dict
        :func:`claripacs_jupyter.dicom.image_info` as kept at ingest. Keys that
        need decoded pixels may be None; :meth:`Store.image_info` fills them.
    """

    uid: str
    number: int | None
    frames: int
    rows: int
    columns: int
    position: float | None
    sort_key: int = 0
    image: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of the instance (without its image info)."""
        return {
            "uid": self.uid,
            "number": self.number,
            "frames": self.frames,
            "rows": self.rows,
            "columns": self.columns,
            "position": self.position,
            "sort_key": self.sort_key,
        }


@dataclass
class Series:
    """A series of a case, its instances in display order."""

    uid: str
    number: int | None
    description: str
    modality: str
    instances: list[Instance] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of the series with its instances."""
        return {
            "uid": self.uid,
            "number": self.number,
            "description": self.description,
            "modality": self.modality,
            "instances": [instance.to_dict() for instance in self.instances],
        }


@dataclass
class Case:
    """A study in the store, under the store's own accession.

    `series` is filled by :meth:`Store.case`; lists of cases
    (:meth:`Store.cases`, :meth:`Store.search`) leave it empty and give the
    counts in `series_count` and `instance_count`.
    """

    accession: str
    folder: str
    description: str
    modalities: list[str]
    notes: str
    private: bool
    owner: str | None
    created: datetime
    review_reasons: list[str]
    series: list[Series] = field(default_factory=list)
    series_count: int = 0
    instance_count: int = 0
    #: A series of the case awaits a person's review (see Store.reviews).
    review_pending: bool = False

    @property
    def needs_review(self) -> bool:
        """True while a series may show burned-in identifiers nobody has checked.

        `review_reasons` keeps every reason the case was ever flagged for; this
        turns False once each flagged series is marked reviewed or masked.
        """
        return self.review_pending

    def to_dict(self, *, with_series: bool = True) -> dict[str, Any]:
        """Return a JSON-safe dict of the case, with its series unless told not."""
        data: dict[str, Any] = {
            "accession": self.accession,
            "folder": self.folder,
            "description": self.description,
            "modalities": list(self.modalities),
            "notes": self.notes,
            "private": self.private,
            "owner": self.owner,
            "created": self.created.isoformat(),
            "review_reasons": list(self.review_reasons),
            "review_pending": self.review_pending,
            "series_count": self.series_count,
            "instance_count": self.instance_count,
        }
        if with_series:
            data["series"] = [item.to_dict() for item in self.series]
        return data
