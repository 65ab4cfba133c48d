"""The order of instances in a series: along the slice normal, else by number."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["position_along_normal", "sort_instances"]


def position_along_normal(
    position: Sequence[Any] | None, orientation: Sequence[Any] | None
) -> float | None:
    """Return (0020,0032) *ImagePositionPatient* projected on the slice normal.

    The normal is the cross product of the row and column directions of
    (0020,0037) *ImageOrientationPatient*. None when either is missing or
    malformed, or the directions are degenerate.
    """
    try:
        x, y, z = (float(value) for value in position)  # type: ignore[union-attr]
        rx, ry, rz, cx, cy, cz = (float(v) for v in orientation)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    normal = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
    length = math.sqrt(sum(component * component for component in normal))
    if not math.isfinite(length) or length < 1e-6:
        return None
    result = (x * normal[0] + y * normal[1] + z * normal[2]) / length
    return result if math.isfinite(result) else None


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
