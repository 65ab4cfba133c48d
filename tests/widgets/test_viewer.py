"""The anywidget Viewer: traits, frame messages and saved state, over real CTs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers
from pydicom.data import get_testdata_file

import claripacs_jupyter
from claripacs_jupyter import NotFoundError
from claripacs_jupyter.dicom import raw_frame
from claripacs_jupyter.widgets import Viewer
from claripacs_jupyter.widgets import viewer as viewer_module

from .conftest import SLICES, CtStore, Wire


def _ask(wire: Wire, viewer: Viewer, content: dict[str, Any]) -> list[tuple]:
    """Send `content` from the browser; return the custom messages answered."""
    wire.clear()
    comm = next(c for c in wire.comms if c.comm_id == viewer.comm.comm_id)
    comm.from_browser(content)
    return wire.custom()


def _frames(wire: Wire, viewer: Viewer, indices: list[int], **extra: Any) -> list:
    content = {
        "type": "frames",
        "view": "v1",
        "series": viewer.series_uid,
        "indices": indices,
    }
    return _ask(wire, viewer, {**content, **extra})


class TestWhatIsShown:
    def test_accession_opens_the_case_and_its_first_image_series(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        case = ct_store.store.case(ct_store.series_accession)

        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        assert viewer.accession == ct_store.series_accession
        assert viewer.series_uid == case.series[0].uid
        assert viewer.count == SLICES
        assert viewer.image_index == 0
        assert viewer.window_center is None and viewer.window_width is None

    def test_case_and_series_objects_are_accepted(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        case = ct_store.store.case(ct_store.large_accession)

        from_case = Viewer(case, store=ct_store.store)
        from_series = Viewer(case.series[0], store=ct_store.store)

        assert from_case.accession == from_series.accession == case.accession
        assert from_series.series_uid == case.series[0].uid

    def test_store_comes_from_claripacs_data_when_not_given(
        self, ct_store: CtStore, wire: Wire, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CLARIPACS_DATA", str(ct_store.store.path))

        viewer = claripacs_jupyter.Viewer(ct_store.large_accession)

        assert viewer.count == 1

    def test_unknown_accession_and_series_are_refused(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        with pytest.raises(NotFoundError):
            Viewer("NO-SUCH-CASE", store=ct_store.store)
        with pytest.raises(NotFoundError, match="series"):
            Viewer(ct_store.large_accession, store=ct_store.store, series="1.2.3")

    def test_other_objects_are_refused_with_a_clear_error(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        with pytest.raises(claripacs_jupyter.InvalidInputError, match="int"):
            Viewer(42, store=ct_store.store)  # type: ignore[arg-type]


class TestTraits:
    def test_image_index_is_kept_inside_the_series(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        viewer.image_index = 99
        last = viewer.image_index
        viewer.image_index = -5

        assert last == SLICES - 1
        assert viewer.image_index == 0

    def test_initial_traits_are_taken_from_keywords(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(
            ct_store.series_accession,
            store=ct_store.store,
            image_index=2,
            window_center=-600,
            window_width=1500,
        )

        assert (viewer.image_index, viewer.window_center, viewer.window_width) == (
            2,
            -600,
            1500,
        )

    def test_window_width_below_one_is_refused(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        with pytest.raises(traitlets.TraitError, match="at least 1"):
            viewer.window_width = 0

    def test_a_series_of_another_case_is_refused(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)
        other = ct_store.store.case(ct_store.large_accession).series[0].uid

        with pytest.raises(traitlets.TraitError, match="not a series"):
            viewer.series_uid = other

    def test_trait_changes_reach_the_browser(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)
        wire.clear()

        viewer.image_index = 2
        viewer.window_center = 40

        updates = [
            m.data["state"] for m in wire.sent if m.data.get("method") == "update"
        ]
        assert {"image_index": 2} in updates
        assert {"window_center": 40.0} in updates


class TestFrameMessages:
    def test_info_lists_the_series_instances_in_order(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)
        series = ct_store.store.case(ct_store.series_accession).series[0]

        [(content, buffers)] = _ask(
            wire, viewer, {"type": "info", "view": "v1", "series": None}
        )

        assert content["type"] == "info"
        assert content["view"] == "v1"
        assert content["info"]["seriesUid"] == viewer.series_uid
        assert content["info"]["modality"] == "CT"
        assert [i["uid"] for i in content["info"]["instances"]] == [
            i.uid for i in series.instances
        ]
        assert buffers == []

    def test_frame_of_a_real_ct_is_one_binary_buffer_of_stored_values(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.large_accession, store=ct_store.store)
        instance = ct_store.store.case(ct_store.large_accession).series[0].instances[0]
        expected = raw_frame(ct_store.store.dataset(viewer.accession, instance.uid), 0)

        [(content, buffers)] = _frames(wire, viewer, [0])

        info = content["info"]
        assert (content["type"], content["index"], content["offset"]) == ("frame", 0, 0)
        assert (info["rows"], info["columns"], info["dtype"]) == (512, 512, "int16")
        assert content["total"] == 512 * 512 * 2
        assert len(buffers) == 1 and buffers[0] == expected
        values = np.frombuffer(buffers[0], dtype="<i2").reshape(512, 512)
        slope, intercept = info["rescale"][0]
        assert values[256, 256] * slope + intercept == 24  # R05: 24 HU at the centre

    def test_frame_messages_carry_no_base64_or_png(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        answers = _frames(wire, viewer, [0, 1])

        for content, buffers in answers:
            text = json.dumps(content)
            assert len(text) < 4096, "pixels must travel in buffers, not JSON"
            assert not buffers[0].startswith(b"\x89PNG")
            assert len(buffers[0]) == 128 * 128 * 2

    def test_each_message_stays_under_the_size_limit(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        _frames(wire, viewer, list(range(SLICES)))

        sizes = [m.size for m in wire.sent]
        assert len(sizes) == SLICES
        assert max(sizes) < viewer_module.MAX_MESSAGE_BYTES + 8192
        assert viewer_module.MAX_MESSAGE_BYTES < 10 * 1024 * 1024

    def test_a_frame_larger_than_the_limit_goes_in_pieces(
        self, ct_store: CtStore, wire: Wire, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(viewer_module, "MAX_MESSAGE_BYTES", 100_000)
        viewer = Viewer(ct_store.large_accession, store=ct_store.store)

        answers = _frames(wire, viewer, [0])

        assert [c["offset"] for c, _ in answers] == [
            0,
            100_000,
            200_000,
            300_000,
            400_000,
            500_000,
        ]
        assert all(len(b[0]) <= 100_000 for _, b in answers)
        whole = b"".join(b[0] for _, b in answers)
        assert len(whole) == answers[0][0]["total"] == 512 * 512 * 2

    def test_slices_come_in_series_order_with_their_own_pixels(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        answers = _frames(wire, viewer, [0, 1, 2])

        positions = [c["info"]["position"][2] for c, _ in answers]
        assert positions == sorted(positions)
        assert len({bytes(b[0]) for _, b in answers}) == 3

    def test_out_of_range_and_malformed_requests_get_an_error_message(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        [(missing, no_buffers)] = _frames(wire, viewer, [SLICES + 3])
        [(malformed, _)] = _frames(wire, viewer, ["one"])  # type: ignore[list-item]
        [(wrong_series, _)] = _frames(wire, viewer, [0], series="1.2.3")

        assert missing["type"] == "error" and missing["index"] == SLICES + 3
        assert "no image" in missing["message"] and no_buffers == []
        assert malformed["type"] == "error" and "indices" in malformed["message"]
        assert wrong_series["type"] == "error" and "series" in wrong_series["message"]


class TestSavedState:
    def test_widget_state_holds_traits_and_no_pixel_buffers(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)
        _frames(wire, viewer, list(range(SLICES)))

        state, buffer_paths, buffers = _remove_buffers(viewer.get_state())

        assert buffers == [] and buffer_paths == []
        assert state["accession"] == ct_store.series_accession
        assert state["series_uid"] == viewer.series_uid
        assert {"image_index", "window_center", "window_width"} <= state.keys()
        pixels = SLICES * 128 * 128 * 2
        code = {"_esm", "_css"}
        assert len(json.dumps({k: v for k, v in state.items() if k not in code})) < 4096
        assert len(json.dumps(state)) < pixels

    def test_module_is_the_viewer_and_the_widget_host_in_one_scope(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.series_accession, store=ct_store.store)

        esm = viewer._esm

        assert "export function createViewer" in esm
        assert "export default { render: renderWidget }" in esm
        assert re.search(r"^\s*import[\s{*]", esm, re.MULTILINE) is None
        assert "import(" not in esm
        assert "claripacs-viewer" in viewer._css


class TestMultiFrame:
    def test_every_frame_of_an_enhanced_mr_is_an_image(
        self, tmp_path: Path, wire: Wire
    ) -> None:
        store = claripacs_jupyter.open_store(tmp_path / "store")
        report = store.ingest([Path(get_testdata_file("emri_small.dcm"))])
        viewer = Viewer(report.accessions[0], store=store)
        sop_uid = store.case(viewer.accession).series[0].instances[0].uid
        ds = store.dataset(viewer.accession, sop_uid)

        answers = _frames(wire, viewer, [0, 9])

        assert viewer.count == 10
        assert [c["index"] for c, _ in answers] == [0, 9]
        assert answers[0][1][0] == raw_frame(ds, 0)
        assert answers[1][1][0] == raw_frame(ds, 9)
        assert answers[0][1][0] != answers[1][1][0]
        assert all(len(b[0]) == 64 * 64 * 2 for _, b in answers)
