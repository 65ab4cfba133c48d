"""The order of instances in a series: along the slice normal, else by number."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..dicom.series import along_normal

__all__ = ["position_along_normal", "sort_instances"]

#: (0020,0032) *ImagePositionPatient* projected on the slice normal (mm), or None.
position_along_normal = along_normal


def sort_instances(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the instance rows of one series in display order.

    By position along the normal when every instance has one, ties broken by
    (0020,0013) *InstanceNumber*; else by instance number (instances without
    one last); always then by SOP Instance UID, so the order is stable.
    """
    if rows and all(row["position"] is not None for row in rows):
        return sorted(rows, key=lambda r: (r["position"], _number(r), r["sop_uid"]))
    return sorted(rows, key=lambda r: (_number(r), r["sop_uid"]))


def _number(row: dict[str, Any]) -> float:
    number = row["number"]
    return math.inf if number is None else float(number)
