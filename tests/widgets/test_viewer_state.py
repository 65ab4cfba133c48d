"""The Viewer's view state: traits, their checks, links, stacks and refs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers
from pydicom.data import get_testdata_file

import claripacs_jupyter
from claripacs_jupyter import ClaripacsError
from claripacs_jupyter.dicom import raw_frame
from claripacs_jupyter.links import parse_case_url
from claripacs_jupyter.widgets import Viewer
from claripacs_jupyter.widgets import viewer as viewer_module

from .conftest import SLICES, CtStore, Wire

BASE = "http://127.0.0.1:8888/"

VIEW_TRAITS = {
    "series_uid",
    "stack",
    "image_index",
    "window_center",
    "window_width",
    "zoom",
    "xpos",
    "ypos",
    "tool",
    "mode",
    "annotations",
    "key_images",
    "linked",
}

EVERY_KIND = [
    {"type": "arrow", "image": 1, "points": [[10, 12], [40.5, 44]]},
    {"type": "text", "image": 1, "points": [[20, 20]], "text": "mass"},
    {"type": "length", "image": 2, "points": [[1, 2], [3, 4]]},
    {"type": "ellipse", "image": 2, "points": [[30, 30], [60, 50]]},
    {"type": "angle", "image": 3, "points": [[0, 0], [64, 64], [128, 0]]},
]


def _comm(wire: Wire, viewer: Viewer) -> Any:
    return next(c for c in wire.comms if c.comm_id == viewer.comm.comm_id)


def _ask(wire: Wire, viewer: Viewer, content: dict[str, Any]) -> list[tuple]:
    """Send `content` from the browser; return the custom messages answered."""
    wire.clear()
    _comm(wire, viewer).from_browser(content)
    return wire.custom()


def _update_from_browser(wire: Wire, viewer: Viewer, state: dict[str, Any]) -> None:
    """Deliver a trait update as the browser's model sends it."""
    comm = _comm(wire, viewer)
    comm.handle_msg(
        {
            "content": {
                "comm_id": comm.comm_id,
                "data": {"method": "update", "state": state, "buffer_paths": []},
            },
            "buffers": [],
        }
    )


@pytest.fixture
def viewer(ct_store: CtStore, wire: Wire) -> Viewer:
    return Viewer(ct_store.series_accession, store=ct_store.store)


@pytest.fixture
def enhanced(tmp_path: Path, wire: Wire) -> Viewer:
    """A viewer of a real enhanced MR: one instance of ten frames."""
    store = claripacs_jupyter.open_store(tmp_path / "store")
    report = store.ingest([Path(get_testdata_file("emri_small.dcm"))])
    return Viewer(report.accessions[0], store=store)


class TestViewTraits:
    def test_a_new_viewer_fits_the_first_image_with_the_scroll_tool(
        self, viewer: Viewer
    ) -> None:
        shown = {name: getattr(viewer, name) for name in VIEW_TRAITS - {"series_uid"}}

        assert shown == {
            "stack": 0,
            "image_index": 0,
            "window_center": None,
            "window_width": None,
            "zoom": 1.0,
            "xpos": None,
            "ypos": None,
            "tool": "scroll",
            "mode": "normal",
            "annotations": [],
            "key_images": [],
            "linked": False,
        }

    def test_every_view_trait_is_taken_from_keywords(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        given = {
            "stack": 0,
            "image_index": 2,
            "window_center": -600.0,
            "window_width": 1500.0,
            "zoom": 2.5,
            "xpos": 30.25,
            "ypos": 90.0,
            "tool": "length",
            "mode": "simple",
            "annotations": EVERY_KIND,
            "key_images": [3, 1],
            "linked": True,
        }

        viewer = Viewer(ct_store.series_accession, store=ct_store.store, **given)

        shown = {name: getattr(viewer, name) for name in given}
        assert shown == {**given, "key_images": [1, 3]}

    def test_the_saved_state_holds_the_whole_view_and_no_pixels(
        self, viewer: Viewer, wire: Wire
    ) -> None:
        viewer.annotations = EVERY_KIND
        _ask(
            wire,
            viewer,
            {"type": "frames", "view": "v1", "indices": list(range(SLICES))},
        )

        state, buffer_paths, buffers = _remove_buffers(viewer.get_state())

        assert buffers == [] and buffer_paths == []
        assert VIEW_TRAITS <= state.keys()
        assert not any(isinstance(v, bytes | memoryview) for v in state.values())
        view = {k: v for k, v in state.items() if k not in ("_esm", "_css")}
        assert len(json.dumps(view)) < 4096

    def test_trait_changes_from_the_kernel_reach_the_browser(
        self, viewer: Viewer, wire: Wire
    ) -> None:
        wire.clear()

        viewer.zoom = 2
        viewer.xpos = 12.5
        viewer.tool = "window"
        viewer.key_images = [2]

        updates = [
            m.data["state"] for m in wire.sent if m.data.get("method") == "update"
        ]
        assert updates == [
            {"zoom": 2.0},
            {"xpos": 12.5},
            {"tool": "window"},
            {"key_images": [2]},
        ]

    def test_an_update_from_the_browser_sets_the_traits(
        self, viewer: Viewer, wire: Wire
    ) -> None:
        moved = {
            "image_index": 3,
            "window_center": 40,
            "window_width": 400,
            "zoom": 1.75,
            "xpos": 50.5,
            "ypos": 70.25,
            "mode": "simple",
            "annotations": [EVERY_KIND[0]],
            "key_images": [3],
            "linked": True,
        }

        _update_from_browser(wire, viewer, moved)

        assert {name: getattr(viewer, name) for name in moved} == moved


class TestViewChecks:
    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("tool", "lasso", "expected any of"),
            ("mode", "compact", "expected any of"),
            ("zoom", 0.0, "zoom must be between 0.05 and 64"),
            ("zoom", 100.0, "zoom must be between 0.05 and 64"),
            ("zoom", math.nan, "zoom must be between"),
            ("xpos", math.inf, "xpos must be a finite number"),
            ("ypos", -math.inf, "ypos must be a finite number"),
            ("window_center", math.nan, "window centre must be a finite"),
            ("window_width", 0.5, "at least 1"),
            ("stack", 1, "stack 1 is not a stack of series"),
            ("stack", -1, "stack -1 is not a stack"),
            ("key_images", [2, -1], "0-based image indices"),
        ],
    )
    def test_values_the_viewer_cannot_show_are_refused(
        self, viewer: Viewer, name: str, value: Any, message: str
    ) -> None:
        before = getattr(viewer, name)

        with pytest.raises(traitlets.TraitError, match=message):
            setattr(viewer, name, value)

        assert getattr(viewer, name) == before

    def test_every_kind_of_annotation_is_kept_with_float_points(
        self, viewer: Viewer
    ) -> None:
        viewer.annotations = EVERY_KIND

        kept = viewer.annotations

        assert [a["type"] for a in kept] == [
            "arrow",
            "text",
            "length",
            "ellipse",
            "angle",
        ]
        assert kept[0]["points"] == [[10.0, 12.0], [40.5, 44.0]]
        assert all(isinstance(v, float) for a in kept for p in a["points"] for v in p)
        assert kept[1]["text"] == "mass"

    @pytest.mark.parametrize(
        ("annotation", "message"),
        [
            ("arrow", "must be a dict"),
            ({"type": "circle", "image": 0, "points": []}, "type must be one of"),
            ({"type": "arrow", "image": -1, "points": [[0, 0], [1, 1]]}, "0-based"),
            ({"type": "arrow", "image": True, "points": [[0, 0], [1, 1]]}, "0-based"),
            ({"type": "arrow", "image": 0, "points": [[0, 0]]}, "has 2 points"),
            ({"type": "angle", "image": 0, "points": [[0, 0], [1, 1]]}, "3 points"),
            ({"type": "length", "image": 0, "points": [[0, 0], [1]]}, r"\[x, y\]"),
            ({"type": "length", "image": 0, "points": [[0, 0], ["a", 1]]}, r"\[x, y\]"),
            ({"type": "text", "image": 0, "points": [[5, 5]]}, "needs its text"),
            ({"type": "arrow", "image": 0, "points": [[0, 0], [1, 1]], "id": 4}, "id"),
        ],
    )
    def test_a_malformed_annotation_is_refused_with_what_is_wrong(
        self, viewer: Viewer, annotation: Any, message: str
    ) -> None:
        with pytest.raises(traitlets.TraitError, match=rf"annotation 1\b.*{message}"):
            viewer.annotations = [EVERY_KIND[0], annotation]

        assert viewer.annotations == []

    def test_annotations_that_are_no_list_are_refused_as_such(
        self, viewer: Viewer
    ) -> None:
        with pytest.raises(traitlets.TraitError, match="must be a list of dicts"):
            viewer.annotations = "notalist"  # type: ignore[assignment]

        assert viewer.annotations == []

    def test_the_image_is_kept_inside_the_stack(self, viewer: Viewer) -> None:
        viewer.image_index = SLICES + 10

        assert viewer.image_index == SLICES - 1
        assert viewer.count == SLICES


class TestLinks:
    def test_get_url_names_the_view_with_the_guides_parameters(
        self, viewer: Viewer
    ) -> None:
        viewer.image_index = 2
        viewer.window_center, viewer.window_width = -600, 1500
        viewer.zoom = 2.123456
        viewer.xpos, viewer.ypos = 40.004, 90.5
        viewer.mode = "simple"

        accession, view = parse_case_url(viewer.get_url(BASE))

        assert accession == viewer.accession
        assert view == {
            "series": viewer.series_uid,
            "image": 3,
            "window_level": -600.0,
            "window_width": 1500.0,
            "zoom": 2.1235,
            "xpos": 40.0,
            "ypos": 90.5,
            "mode": "simple",
        }

    def test_get_url_carries_annotations_key_images_and_the_link(
        self, viewer: Viewer
    ) -> None:
        viewer.annotations = EVERY_KIND[:2]
        viewer.key_images = [3, 0]
        viewer.linked = True

        _, view = parse_case_url(viewer.get_url(BASE))

        assert view["annotations"] == [
            {"type": "arrow", "image": 2, "points": [[10, 12], [40.5, 44]]},
            {"type": "text", "image": 2, "points": [[20, 20]], "text": "mass"},
        ]
        assert view["key"] == [1, 4]
        assert view["link"] is True

    def test_a_fresh_view_links_to_its_series_and_first_image_only(
        self, viewer: Viewer
    ) -> None:
        url = viewer.get_url("/user/ana")

        assert url == (
            f"/user/ana/claripacs/case/{viewer.accession}"
            f"?series={viewer.series_uid}&image=1"
        )

    def test_get_url_takes_the_url_of_the_server_the_kernel_runs_under(
        self, viewer: Viewer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # the server info files a running jupyter_server writes: another
        # server (this process) and the parent of the kernel (here: of pytest)
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
        for pid, url in ((os.getpid(), "http://other:1/"), (os.getppid(), BASE)):
            info = {"pid": pid, "url": url, "base_url": "/"}
            (tmp_path / f"jpserver-{pid}.json").write_text(json.dumps(info))

        url = viewer.get_url()

        assert url.startswith(f"{BASE}claripacs/case/{viewer.accession}?")

    def test_get_url_without_a_server_asks_for_the_base_url(
        self, viewer: Viewer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))

        with pytest.raises(ClaripacsError, match=r"get_url\(base_url="):
            viewer.get_url()


class TestStacksAndRefs:
    def test_info_carries_the_stacks_of_the_series(
        self, ct_store: CtStore, viewer: Viewer, wire: Wire
    ) -> None:
        expected = ct_store.store.stacks(viewer.accession)[viewer.series_uid]

        [(content, _)] = _ask(wire, viewer, {"type": "info", "view": "v1"})

        stacks = content["info"]["stacks"]
        assert stacks == [stack.to_dict() for stack in expected]
        assert len(stacks) == 1 and len(stacks[0]["frames"]) == SLICES

    def test_a_frame_asked_by_ref_is_that_frame_of_that_instance(
        self, enhanced: Viewer, wire: Wire
    ) -> None:
        sop_uid = enhanced.case.series[0].instances[0].uid
        ds = enhanced._store.dataset(enhanced.accession, sop_uid)
        ref = {"instance": sop_uid, "frame": 7}

        [(content, buffers)] = _ask(
            wire,
            enhanced,
            {"type": "frames", "view": "v1", "indices": [0], "refs": [ref]},
        )

        assert (content["index"], content["ref"]) == (0, ref)
        assert buffers[0] == raw_frame(ds, 7)
        assert buffers[0] != raw_frame(ds, 0)

    def test_index_only_requests_still_follow_the_instance_list(
        self, enhanced: Viewer, wire: Wire
    ) -> None:
        sop_uid = enhanced.case.series[0].instances[0].uid
        ds = enhanced._store.dataset(enhanced.accession, sop_uid)

        answers = _ask(
            wire,
            enhanced,
            {"type": "frames", "view": "v1", "indices": [3, 4], "refs": [None, None]},
        )

        assert [(c["index"], c["ref"]) for c, _ in answers] == [(3, None), (4, None)]
        assert answers[1][1][0] == raw_frame(ds, 4)

    def test_a_ref_outside_the_series_gets_an_error_naming_it(
        self, enhanced: Viewer, wire: Wire
    ) -> None:
        sop_uid = enhanced.case.series[0].instances[0].uid
        refs = [{"instance": sop_uid, "frame": 10}, {"instance": "1.2.3", "frame": 0}]

        answers = _ask(
            wire,
            enhanced,
            {"type": "frames", "view": "v1", "indices": [0, 1], "refs": refs},
        )

        assert [c["type"] for c, _ in answers] == ["error", "error"]
        assert [c["ref"] for c, _ in answers] == refs
        assert "no frame 10" in answers[0][0]["message"]
        assert all(b == [] for _, b in answers)

    @pytest.mark.parametrize(
        "refs",
        [
            [{"instance": 5, "frame": 0}],
            [{"instance": "1.2", "frame": "0"}],
            ["1.2"],
            [None, None],
            "none",
        ],
    )
    def test_malformed_refs_get_an_error_message(
        self, enhanced: Viewer, wire: Wire, refs: Any
    ) -> None:
        answers = _ask(
            wire,
            enhanced,
            {"type": "frames", "view": "v1", "indices": [0], "refs": refs},
        )

        assert [c["type"] for c, _ in answers] == ["error"]
        assert "ref" in answers[0][0]["message"]


class TestMessageSizes:
    def test_every_message_stays_well_under_the_websocket_limit(
        self, ct_store: CtStore, wire: Wire
    ) -> None:
        viewer = Viewer(ct_store.large_accession, store=ct_store.store)
        viewer.annotations = EVERY_KIND * 20
        _ask(wire, viewer, {"type": "info", "view": "v1"})
        _comm(wire, viewer).from_browser(
            {"type": "frames", "view": "v1", "indices": [0], "refs": [None]}
        )

        sizes = [m.size for m in wire.sent]

        assert len(sizes) == 2
        assert max(sizes) < viewer_module.MAX_MESSAGE_BYTES + 8192
        assert viewer_module.MAX_MESSAGE_BYTES <= 10 * 1024 * 1024 // 2
