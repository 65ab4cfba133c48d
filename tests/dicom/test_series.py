"""Series assembly over synthetic per-instance facts."""

from __future__ import annotations

from typing import Any

from claripacs_jupyter.dicom.series import along_normal, assemble

AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def _slice(
    uid: str,
    z: float | None,
    *,
    number: int | None = None,
    orientation: list[float] | None = AXIAL,
    size: int = 64,
) -> dict[str, Any]:
    return {
        "uid": uid,
        "position": None if z is None else [0.0, 0.0, z],
        "orientation": orientation,
        "rows": size,
        "columns": size,
        "frames": 1,
        "instance_number": number,
    }


def _kinds(warnings: list[dict[str, Any]]) -> list[str]:
    return [warning["kind"] for warning in warnings]


class TestOrder:
    def test_slices_are_ordered_by_position_not_by_number(self) -> None:
        facts = [_slice("a", 10, number=1), _slice("b", 0, number=2)]
        facts.append(_slice("c", 5, number=3))

        (stack,) = assemble(facts)

        assert stack.frames == [("b", 0), ("c", 0), ("a", 0)]
        assert stack.positions == [0, 5, 10]
        assert stack.spacing == 5
        assert stack.warnings == []

    def test_without_positions_slices_follow_instance_number(self) -> None:
        facts = [_slice("a", None, number=3), _slice("b", 2, number=1)]
        facts.append(_slice("c", None, number=2))

        (stack,) = assemble(facts)

        assert stack.frames == [("b", 0), ("c", 0), ("a", 0)]
        assert stack.spacing is None
        assert _kinds(stack.warnings) == ["no_geometry"]

    def test_position_is_measured_along_the_slice_normal(self) -> None:
        position = [7.0, -3.0, 100.0]

        assert along_normal(position, SAGITTAL) == -7.0
        assert along_normal(position, AXIAL) == 100.0
        assert along_normal(position, [1, 0, 0, 1, 0, 0]) is None
        assert along_normal(None, AXIAL) is None


class TestGapsAndDuplicates:
    def test_a_missing_slice_is_reported_where_and_how_big(self) -> None:
        facts = [_slice(f"s{z}", z, number=z) for z in (0, 5, 10, 25, 30, 35)]

        (stack,) = assemble(facts)

        assert stack.spacing == 5
        (gap,) = stack.warnings
        assert gap["kind"] == "gap"
        assert (gap["after"], gap["before"]) == (2, 3)
        assert (gap["distance"], gap["expected"], gap["missing"]) == (15, 5, 2)

    def test_slightly_uneven_spacing_is_no_gap(self) -> None:
        facts = [_slice(f"s{z}", z) for z in (0, 5, 10.2, 15, 20.1)]

        (stack,) = assemble(facts)

        assert stack.warnings == []

    def test_two_slices_at_one_position_are_reported_as_duplicates(self) -> None:
        facts = [_slice(f"s{i}", z, number=i) for i, z in enumerate((0, 5, 5, 10))]

        (stack,) = assemble(facts)

        assert len(stack.frames) == 4
        assert stack.spacing == 5
        (duplicate,) = stack.warnings
        assert duplicate["kind"] == "duplicate"
        assert duplicate["indexes"] == [1, 2]
        assert duplicate["position"] == 5


class TestSplit:
    def test_two_orientations_become_two_stacks(self) -> None:
        axial = [_slice(f"a{z}", z, number=z) for z in (0, 5, 10)]
        sagittal = [
            _slice(f"s{x}", 0, number=100 + x, orientation=SAGITTAL) for x in (1, 2)
        ]
        for x, item in enumerate(sagittal):
            item["position"] = [float(x), 0.0, 0.0]

        stacks = assemble(sagittal + axial)

        assert [len(stack.frames) for stack in stacks] == [3, 2]
        assert stacks[1].orientation == tuple(SAGITTAL)
        for stack in stacks:
            (split,) = stack.warnings
            assert split["reasons"] == ["orientation"]
            assert split["stacks"] == 2

    def test_rounding_in_the_cosines_does_not_split(self) -> None:
        tilted = [1.0, 0.0, 0.0, 0.0, 0.99999, 0.0001]
        facts = [_slice("a", 0), _slice("b", 5, orientation=tilted)]

        stacks = assemble(facts)

        assert len(stacks) == 1

    def test_two_image_sizes_become_two_stacks(self) -> None:
        facts = [_slice("big1", 0, number=1), _slice("small", 0, number=3, size=32)]
        facts.append(_slice("big2", 5, number=2))

        stacks = assemble(facts)

        assert [(stack.rows, len(stack.frames)) for stack in stacks] == [
            (64, 2),
            (32, 1),
        ]
        assert stacks[0].warnings[0]["reasons"] == ["size"]


class TestMultiFrame:
    def test_a_multi_frame_file_is_its_own_stack_in_file_order(self) -> None:
        movie = {"uid": "m", "frames": 4, "rows": 8, "columns": 8}
        movie["instance_number"] = 2
        facts = [_slice("a", 0, number=1), movie]

        stacks = assemble(facts)

        assert stacks[1].frames == [("m", 0), ("m", 1), ("m", 2), ("m", 3)]
        assert stacks[1].spacing is None
        assert len(stacks[0].frames) == 1
        assert all(stack.warnings == [] for stack in stacks)

    def test_enhanced_frames_follow_their_per_frame_positions(self) -> None:
        enhanced = {
            "uid": "e",
            "frames": 4,
            "rows": 8,
            "columns": 8,
            "orientation": AXIAL,
            "frame_positions": [[0, 0, 6], [0, 0, 2], [0, 0, 4], [0, 0, 12]],
        }

        (stack,) = assemble([enhanced])

        assert stack.frames == [("e", 1), ("e", 2), ("e", 0), ("e", 3)]
        assert stack.spacing == 2
        assert _kinds(stack.warnings) == ["gap"]

    def test_to_dict_is_plain_json_data(self) -> None:
        (stack,) = assemble([_slice("a", 0), _slice("b", 5)])

        data = stack.to_dict()

        assert data["frames"] == [["a", 0], ["b", 0]]
        assert data["orientation"] == AXIAL
        assert data["spacing"] == 5
        assert data["warnings"] == []
