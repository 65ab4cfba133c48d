"""Series assembly: the stacks of a series, their order, spacing, gaps and doubles."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset

from . import pixels
from .transport import position

__all__ = ["Stack", "along_normal", "assemble", "frame_positions"]

#: Two direction cosines closer than this are the same orientation (about 0.06
#: degrees), so rounding in the files does not split a stack.
ORIENTATION_TOLERANCE = 1e-3

#: Two positions along the normal closer than this (mm) are the same position.
POSITION_TOLERANCE = 1e-2

#: A step between neighbours this many times the usual spacing is a gap.
GAP_FACTOR = 1.5


@dataclass(frozen=True)
class Stack:
    """Frames that a viewer scrolls through as one volume.

    Attributes
    ----------
    frames : list of (str, int)
        (SOP Instance UID, frame index from 0) in display order.
    orientation : tuple of float or None
        (0020,0037) *ImageOrientationPatient* shared by the frames.
    rows, columns : int
        The frame size shared by the frames.
    spacing : float or None
        The usual distance between neighbouring frames along the slice normal
        in mm (the median step), None without geometry or with one position.
    positions : list of float or None
        Each frame's position along the slice normal in mm, in display order.
    warnings : list of dict
        Each with ``kind`` ("gap", "duplicate", "split", "no_geometry") and
        ``message``, plus the facts of its kind (see :func:`assemble`).
    """

    frames: list[tuple[str, int]]
    orientation: tuple[float, ...] | None
    rows: int
    columns: int
    spacing: float | None
    positions: list[float | None] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The stack as JSON-safe plain data."""
        return {
            "frames": [[uid, frame] for uid, frame in self.frames],
            "orientation": list(self.orientation) if self.orientation else None,
            "rows": self.rows,
            "columns": self.columns,
            "spacing": self.spacing,
            "positions": list(self.positions),
            "warnings": [dict(warning) for warning in self.warnings],
        }


def along_normal(
    position: Sequence[Any] | None, orientation: Sequence[Any] | None
) -> float | None:
    """(0020,0032) *ImagePositionPatient* projected on the slice normal, in mm.

    The normal is the cross product of the row and column directions of
    (0020,0037) *ImageOrientationPatient*.

    Parameters
    ----------
    position : sequence of 3 numbers or None
        x, y, z of the first transmitted pixel.
    orientation : sequence of 6 numbers or None
        Row then column direction cosines.

    Returns
    -------
    float or None
        None when either is missing or malformed, or the directions are
        degenerate.
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


def assemble(instances: Sequence[Mapping[str, Any]]) -> list[Stack]:
    """Split the instances of one series into stacks, each in display order.

    Single-frame instances that share (0028,0010) *Rows*, (0028,0011)
    *Columns* and (0020,0037) *ImageOrientationPatient* form one stack,
    ordered by position along the slice normal when every one of them has a
    position, else by (0020,0013) *InstanceNumber*. A multi-frame instance is
    a stack of its own, its frames ordered by ``frame_positions`` when given
    for every frame, else in file order.

    Parameters
    ----------
    instances : sequence of mapping
        Per-instance facts as :func:`claripacs_jupyter.dicom.image_info` gives
        them (``rows``, ``columns``, ``frames``, ``position``,
        ``orientation``, ``instance_number``) plus ``uid``, the SOP Instance
        UID; optionally ``frame_positions``, one [x, y, z] (or None) per frame
        of an enhanced multi-frame instance.

    Returns
    -------
    list of Stack
        In the order of their lowest instance number. Warnings found:
        ``gap`` (``after`` and ``before``: the display indexes either side,
        ``distance`` and ``expected`` in mm, ``missing``: about how many
        frames), ``duplicate`` (``indexes`` and ``position``), ``split``
        (``reasons``: "orientation" and/or "size"; ``stacks``: how many) and
        ``no_geometry`` (ordered by instance number instead).
    """
    groups: list[list[Mapping[str, Any]]] = []
    stacks: list[tuple[float, Stack]] = []
    for instance in instances:
        if _frame_count(instance) > 1:
            stacks.append((_number(instance), _multi_frame(instance)))
            continue
        for group in groups:
            if _same_kind(group[0], instance):
                group.append(instance)
                break
        else:
            groups.append([instance])
    for group in groups:
        first = min(_number(instance) for instance in group)
        stacks.append((first, _single_frames(group)))
    stacks.sort(key=lambda pair: pair[0])
    result = [stack for _, stack in stacks]

    reasons = _split_reasons(groups)
    if len(result) > 1 and reasons:
        message = (
            f"the series mixes {' and '.join(reasons)}: shown as {len(result)} stacks"
        )
        for stack in result:
            stack.warnings.insert(
                0,
                {
                    "kind": "split",
                    "reasons": reasons,
                    "stacks": len(result),
                    "message": message,
                },
            )
    return result


def frame_positions(ds: Dataset) -> list[list[float] | None] | None:
    """Per-frame (0020,0032) *ImagePositionPatient* of an enhanced multi-frame file.

    Taken from each frame's (0020,9113) *Plane Position Sequence* in the
    (5200,9230) *Per-frame Functional Groups Sequence*, for
    :func:`assemble`'s ``frame_positions``.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset; a header read without pixels will do.

    Returns
    -------
    list or None
        One [x, y, z] (or None) per frame; None for a file that is not an
        enhanced multi-frame one, or that has one frame.
    """
    count = pixels.frame_count(ds)
    if count < 2 or "PerFrameFunctionalGroupsSequence" not in ds:
        return None
    found = [position(ds, index) for index in range(count)]
    return [list(item) if item is not None else None for item in found]


def _single_frames(group: list[Mapping[str, Any]]) -> Stack:
    """One stack from single-frame instances of one size and orientation."""
    orientation = _orientation(group[0])
    keyed = [
        (along_normal(instance.get("position"), orientation), instance)
        for instance in group
    ]
    warnings: list[dict[str, Any]] = []
    if all(position is not None for position, _ in keyed):
        keyed.sort(key=lambda pair: (pair[0], _number(pair[1]), _uid(pair[1])))
    else:
        keyed.sort(key=lambda pair: (_number(pair[1]), _uid(pair[1])))
        keyed = [(None, instance) for _, instance in keyed]
        if len(keyed) > 1:
            warnings.append(
                {
                    "kind": "no_geometry",
                    "message": "no position for every image: "
                    "ordered by instance number",
                }
            )
    positions = [position for position, _ in keyed]
    spacing, found = _spacing_warnings(positions)
    return Stack(
        frames=[(_uid(instance), 0) for _, instance in keyed],
        orientation=orientation,
        rows=_int(group[0].get("rows")),
        columns=_int(group[0].get("columns")),
        spacing=spacing,
        positions=positions,
        warnings=warnings + found,
    )


def _multi_frame(instance: Mapping[str, Any]) -> Stack:
    """The stack of one multi-frame instance."""
    count = _frame_count(instance)
    orientation = _orientation(instance)
    given = instance.get("frame_positions")
    positions: list[float | None] = [None] * count
    if isinstance(given, Sequence) and len(given) == count:
        positions = [along_normal(item, orientation) for item in given]
    order = list(range(count))
    if all(position is not None for position in positions):
        order.sort(key=lambda index: (positions[index], index))
    else:
        positions = [None] * count
    ordered = [positions[index] for index in order]
    spacing, warnings = _spacing_warnings(ordered)
    return Stack(
        frames=[(_uid(instance), index) for index in order],
        orientation=orientation,
        rows=_int(instance.get("rows")),
        columns=_int(instance.get("columns")),
        spacing=spacing,
        positions=ordered,
        warnings=warnings,
    )


def _spacing_warnings(
    positions: list[float | None],
) -> tuple[float | None, list[dict[str, Any]]]:
    """The usual spacing of sorted positions, and their gaps and duplicates."""
    if len(positions) < 2 or any(position is None for position in positions):
        return None, []
    values = [float(position) for position in positions]  # type: ignore[arg-type]
    steps = [after - before for before, after in itertools.pairwise(values)]
    distinct = [step for step in steps if step > POSITION_TOLERANCE]
    spacing = statistics.median_low(distinct) if distinct else None

    warnings: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        if step <= POSITION_TOLERANCE:
            warnings.append(
                {
                    "kind": "duplicate",
                    "indexes": [index, index + 1],
                    "position": round(values[index], 3),
                    "message": f"images {index + 1} and {index + 2} share the "
                    f"position {values[index]:.2f} mm",
                }
            )
        elif spacing is not None and step > GAP_FACTOR * spacing:
            missing = max(1, round(step / spacing) - 1)
            warnings.append(
                {
                    "kind": "gap",
                    "after": index,
                    "before": index + 1,
                    "distance": round(step, 3),
                    "expected": round(spacing, 3),
                    "missing": missing,
                    "message": f"gap of {step:.2f} mm between images "
                    f"{index + 1} and {index + 2} (usual spacing "
                    f"{spacing:.2f} mm, about {missing} missing)",
                }
            )
    return (round(spacing, 6) if spacing is not None else None), warnings


def _split_reasons(groups: list[list[Mapping[str, Any]]]) -> list[str]:
    """Why single-frame groups differ: "orientation" and/or "size"."""
    reasons = []
    firsts = [group[0] for group in groups]
    sizes = {(_int(item.get("rows")), _int(item.get("columns"))) for item in firsts}
    if any(
        not _same_orientation(_orientation(a), _orientation(b))
        for a in firsts
        for b in firsts
    ):
        reasons.append("orientation")
    if len(sizes) > 1:
        reasons.append("size")
    return reasons


def _same_kind(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two single-frame instances belong to one stack."""
    same_size = (_int(a.get("rows")), _int(a.get("columns"))) == (
        _int(b.get("rows")),
        _int(b.get("columns")),
    )
    return same_size and _same_orientation(_orientation(a), _orientation(b))


def _same_orientation(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> bool:
    """Whether two orientations agree within the tolerance (None only with None)."""
    if a is None or b is None:
        return a is b
    return all(abs(x - y) <= ORIENTATION_TOLERANCE for x, y in zip(a, b, strict=True))


def _orientation(instance: Mapping[str, Any]) -> tuple[float, ...] | None:
    """The instance's six direction cosines, or None when absent or malformed."""
    value = instance.get("orientation")
    try:
        cosines = tuple(float(item) for item in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if len(cosines) != 6 or not all(math.isfinite(item) for item in cosines):
        return None
    return cosines


def _frame_count(instance: Mapping[str, Any]) -> int:
    """How many frames the instance holds (1 when unknown)."""
    return max(1, _int(instance.get("frames"), 1))


def _number(instance: Mapping[str, Any]) -> float:
    """(0020,0013) *InstanceNumber* for sorting; unnumbered instances last."""
    number = instance.get("instance_number")
    try:
        return float(number)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.inf


def _uid(instance: Mapping[str, Any]) -> str:
    """The SOP Instance UID of the facts."""
    return str(instance.get("uid", ""))


def _int(value: Any, default: int = 0) -> int:
    """`value` as an int, `default` when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
