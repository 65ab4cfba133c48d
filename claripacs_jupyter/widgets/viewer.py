"""The notebook viewer of a case or a series: an anywidget over the JS viewer."""

from __future__ import annotations

import logging
import math
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..errors import ClaripacsError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from pydicom import Dataset

    from ..dicom.series import Stack
    from ..store import Case, Series, Store

__all__ = ["ANNOTATION_POINTS", "MAX_MESSAGE_BYTES", "MODES", "TOOLS", "Viewer"]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"

#: Largest pixel buffer in one custom message. Comm messages travel through the
#: kernel's ZMQ socket and the server's websocket; a few MiB each keeps the
#: notebook responsive, and frames larger than this go in several pieces.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

#: Most frames answered for one request (the browser asks a few at a time).
MAX_FRAMES_PER_REQUEST = 16

#: Datasets kept open for the frames of multi-frame instances.
_DATASET_CACHE_SIZE = 4

#: The left-mouse tools of the viewer, by their ids in the viewer state.
TOOLS = (
    "scroll",
    "window",
    "zoom",
    "pan",
    "arrow",
    "text",
    "length",
    "ellipse",
    "angle",
)

#: The viewer's display modes: "simple" hides the menus and icons.
MODES = ("normal", "simple")

#: How many points each kind of annotation has (see the `annotations` trait).
ANNOTATION_POINTS = {"arrow": 2, "text": 1, "length": 2, "ellipse": 2, "angle": 3}

#: The zoom range the JS viewer shows (1 fits the image to the frame).
ZOOM_RANGE = (0.05, 64.0)

# ---- the ES module anywidget loads ------------------------------------------------
# anywidget takes one module as a string. widget.js and every module it imports
# (recursively) go into it, each dependency before the modules that import it,
# with the import lines dropped: they then share one scope, which is why the
# static modules keep their top-level names unique.

_IMPORT_LINE = re.compile(
    r'^import \{(?P<names>[^}]*)\} from "\./(?P<file>[A-Za-z0-9_.-]+\.js)";\s*$'
)
_OTHER_IMPORT = re.compile(r"^\s*(import\b(?!\()|export\b[^=;]*\bfrom\b)")
_DECLARATION = re.compile(
    r"^(?P<export>export\s+)?(?:default\s+)?(?:async\s+)?"
    r"(?:function\s*\*?|class|const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_DESTRUCTURING = re.compile(
    r"^(?:export\s+)?(?:const|let|var)\s*[{\[](?P<names>[^}\]]*)[}\]]\s*=",
    re.MULTILINE,
)


class BundleError(RuntimeError):
    """The static modules cannot be joined into the widget's one module."""


def _top_level_names(source: str) -> list[str]:
    """Names the module declares at its top level (declarations at column 0)."""
    names = [m["name"] for m in _DECLARATION.finditer(source)]
    for match in _DESTRUCTURING.finditer(source):
        for part in match["names"].split(","):
            name = part.split(":")[-1].split("=")[0].strip().lstrip(".")
            if name:
                names.append(name)
    return names


def _exported_names(source: str) -> set[str]:
    return {m["name"] for m in _DECLARATION.finditer(source) if m["export"]}


def _bundle(entry: Path) -> str:
    """`entry` and the modules it imports as one module, dependencies first.

    Raises
    ------
    BundleError
        An import of another form than ``import { a, b } from "./x.js";`` on one
        line, an imported name that the module does not export, an import
        cycle, ``import.meta``, or a top-level name declared by two modules.
    """
    order: list[Path] = []
    bodies: dict[Path, str] = {}

    def visit(path: Path, chain: tuple[Path, ...]) -> None:
        if path in bodies:
            return
        if path in chain:
            cycle = " -> ".join(p.name for p in (*chain, path))
            raise BundleError(f"import cycle between static modules: {cycle}")
        if not path.is_file():
            raise BundleError(f"{chain[-1].name} imports {path.name}, which is missing")
        kept: list[str] = []
        wanted: list[tuple[Path, list[str]]] = []
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            match = _IMPORT_LINE.match(line)
            if match:
                names = [n.strip() for n in match["names"].split(",") if n.strip()]
                wanted.append((path.parent / match["file"], names))
                continue
            if _OTHER_IMPORT.match(line) or "import.meta" in line:
                raise BundleError(
                    f"{path.name}:{number}: the widget bundles only single-line "
                    f'`import {{ a, b }} from "./x.js";` imports and no '
                    f"import.meta: {line.strip()}"
                )
            kept.append(line)
        for dependency, names in wanted:
            visit(dependency, (*chain, path))
            missing = [n for n in names if n not in _exported_names(bodies[dependency])]
            if missing:
                raise BundleError(
                    f"{path.name} imports {', '.join(missing)} from "
                    f"{dependency.name}, which does not export them (or renames "
                    f"them with `as`, which the bundle cannot do)"
                )
        bodies[path] = "\n".join(kept)
        order.append(path)

    visit(entry, ())

    declared: dict[str, str] = {}
    for path in order:
        for name in _top_level_names(bodies[path]):
            if name in declared:
                raise BundleError(
                    f"{name} is declared at the top level of both "
                    f"{declared[name]} and {path.name}; the widget bundles them "
                    f"into one scope, so rename one (prefix it by its module)"
                )
            declared[name] = path.name
    return "\n".join(f"// ---- {p.name} ----\n{bodies[p]}" for p in order) + "\n"


@cache
def _module_source() -> str:
    """widget.js and the modules it imports, as the one module anywidget loads."""
    return _bundle(STATIC / "widget.js")


@cache
def _stylesheet() -> str:
    return (STATIC / "viewer.css").read_text(encoding="utf-8")


def _short(uid: str) -> str:
    """A UID shortened for log lines."""
    return f"…{uid[-8:]}" if len(uid) > 8 else uid


def _has_images(series: Series) -> bool:
    return any(i.rows > 0 and i.columns > 0 for i in series.instances)


def _series_label(series: Series) -> str:
    count = sum(max(1, i.frames) for i in series.instances)
    name = series.description or series.modality or "Series"
    number = f"{series.number}: " if series.number is not None else ""
    return f"{number}{name} ({count} image{'' if count == 1 else 's'})"


#: The traits of the view, in the order they are set from keywords.
_VIEW_TRAITS = (
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
)


def _finite(name: str, value: float | None) -> float | None:
    """`value` if None or finite, else a TraitError naming the trait."""
    if value is not None and not math.isfinite(value):
        raise traitlets.TraitError(f"{name} must be a finite number, not {value}")
    return value


def _checked_annotation(position: int, item: Any) -> dict[str, Any]:
    """One annotation in the contract's shape, or a TraitError saying what is off."""
    where = f"annotation {position}"
    if not isinstance(item, dict):
        raise traitlets.TraitError(
            f"{where} must be a dict with type, image and points, not "
            f"{type(item).__name__}"
        )
    unknown = sorted(set(item) - {"type", "image", "points", "text"})
    if unknown:
        raise traitlets.TraitError(
            f"{where} has unknown key(s) {', '.join(map(str, unknown))}; "
            f"use type, image, points and (for text) text"
        )
    kind = item.get("type")
    if kind not in ANNOTATION_POINTS:
        raise traitlets.TraitError(
            f"{where}: type must be one of {', '.join(ANNOTATION_POINTS)}, not {kind!r}"
        )
    image = item.get("image")
    if isinstance(image, bool) or not isinstance(image, int) or image < 0:
        raise traitlets.TraitError(
            f"{where}: image must be a 0-based image index, not {image!r}"
        )
    points = item.get("points")
    count = ANNOTATION_POINTS[kind]
    if not isinstance(points, list | tuple) or len(points) != count:
        raise traitlets.TraitError(
            f"{where}: a {kind} has {count} point{'s' if count > 1 else ''} "
            f"[x, y], not {points!r}"
        )
    checked_points = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and math.isfinite(v)
                for v in point
            )
        ):
            raise traitlets.TraitError(
                f"{where}: each point is [x, y] in image pixels, not {point!r}"
            )
        checked_points.append([float(point[0]), float(point[1])])
    checked: dict[str, Any] = {"type": kind, "image": image, "points": checked_points}
    text = item.get("text")
    if kind == "text" and not isinstance(text, str):
        raise traitlets.TraitError(f"{where}: a text annotation needs its text")
    if text is not None:
        if not isinstance(text, str):
            raise traitlets.TraitError(f"{where}: text must be a string")
        checked["text"] = text
    return checked


def _running_server_url() -> str:
    """The URL of the Jupyter server this kernel runs under, or a ClaripacsError."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:  # the widget runs without jupyter_server (a script, Voilà)
        servers: list[dict[str, Any]] = []
    else:
        servers = list(list_running_servers())

    # a kernel is started by its server: its parent process is the server
    parent = os.getppid()
    for info in servers:
        if info.get("pid") == parent and info.get("url"):
            return str(info["url"])
    if len(servers) == 1 and servers[0].get("url"):
        return str(servers[0]["url"])
    found = f"{len(servers)} running Jupyter servers" if servers else "none"
    raise ClaripacsError(
        f"cannot tell which Jupyter server serves the case page ({found} found); "
        f'give it as get_url(base_url="http://host:8888/")'
    )


class Viewer(anywidget.AnyWidget):
    """Scroll and window a case's images in a notebook.

    The pixels are drawn in the browser by the same viewer as the case page; the
    kernel sends each frame's stored values once, as binary buffers, and the
    browser does window/level and scrolling on them without asking again.

    The traits are the view on screen and follow it both ways: moving the
    viewer updates them (at most ten times a second while dragging, the last
    value always), and setting one moves the viewer.

    Parameters
    ----------
    case_or_series : Case, Series or str
        What to show: a case (its first series with images, or `series`), one of
        a case's series, or a case's accession.
    store : Store, optional
        The store the case is in; :func:`claripacs_jupyter.open_store` (which
        honours ``CLARIPACS_DATA``) when not given.
    series : str or Series, optional
        The series to show first, by (0020,000E) *SeriesInstanceUID* or as a
        :class:`~claripacs_jupyter.store.Series` of the case.
    **kwargs
        Initial trait values (any of the attributes below, and `height`).

    Attributes
    ----------
    accession : str
        The case's accession (read-only once shown).
    series_uid : str
        The series on screen; set it to switch series (the rest of the view
        then starts over).
    stack : int
        The stack on screen, from 0: a series that mixes orientations or image
        sizes has several (see :meth:`Store.stacks`).
    image_index : int
        The image on screen, from 0, in the stack's display order; kept inside
        the stack.
    window_center, window_width : float or None
        The window on screen; None before the first image is shown (then the
        file's own window is used). The width is at least 1.
    zoom : float
        Magnification over "fit to frame" (1 fits the image), 0.05 to 64.
    xpos, ypos : float or None
        The image point at the centre of the view, in image pixels (x along the
        columns, y along the rows, 0 at the image's left and top edges), as the
        case page URL's ``xpos`` and ``ypos``; None is the image's middle.
    tool : str
        The left-mouse tool, one of :data:`TOOLS`.
    mode : str
        "normal", or "simple" to hide the menus and icons.
    annotations : list of dict
        Each ``{"type", "image", "points", "text"?}``: `type` one of
        :data:`ANNOTATION_POINTS` ("arrow": [tail, head], "text": [anchor] and
        `text`, "length": [a, b], "ellipse": two opposite corners of its
        bounding box, "angle": [end, vertex, end]), `image` the 0-based image in
        the stack, `points` [x, y] pairs in image pixels like `xpos`/`ypos`.
        Setting the list replaces every annotation.
    key_images : list of int
        The key images, 0-based, sorted.
    linked : bool
        True while the viewer scrolls with the other linked viewers of the page.

    Raises
    ------
    NotFoundError
        When the accession or the series is not in the store.
    InvalidInputError
        When the case has no series with images.

    Examples
    --------
    >>> store = claripacs_jupyter.open_store()
    >>> viewer = Viewer(store.case("K7Q2M"), store=store)
    >>> viewer.image_index = 40          # scrolls the viewer
    >>> viewer.window_center, viewer.window_width = 40, 400
    >>> viewer.zoom, viewer.xpos, viewer.ypos = 2, 300, 180
    >>> viewer.get_url()                 # the case page at this view
    """

    # anywidget turns these two strings into synced traits
    _esm = _module_source()
    _css = _stylesheet()

    accession = traitlets.Unicode("", read_only=True).tag(sync=True)
    series_uid = traitlets.Unicode("").tag(sync=True)
    stack = traitlets.Int(0).tag(sync=True)
    image_index = traitlets.Int(0).tag(sync=True)
    window_center = traitlets.Float(None, allow_none=True).tag(sync=True)
    window_width = traitlets.Float(None, allow_none=True).tag(sync=True)
    zoom = traitlets.Float(1.0).tag(sync=True)
    xpos = traitlets.Float(None, allow_none=True).tag(sync=True)
    ypos = traitlets.Float(None, allow_none=True).tag(sync=True)
    tool = traitlets.Enum(TOOLS, default_value="scroll").tag(sync=True)
    mode = traitlets.Enum(MODES, default_value="normal").tag(sync=True)
    # Any, not List: List would turn a string into a list of its characters
    # before the check below could say it is no list
    annotations = traitlets.Any().tag(sync=True)  # checked below, item by item
    key_images = traitlets.List(traitlets.Int()).tag(sync=True)
    linked = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Unicode("480px", help="CSS height of the viewer").tag(sync=True)

    def __init__(
        self,
        case_or_series: Case | Series | str,
        store: Store | None = None,
        series: str | Series | None = None,
        **kwargs: Any,
    ) -> None:
        if store is None:
            from .. import open_store

            store = open_store()
        self._store = store
        case, chosen = self._resolve(case_or_series, series)
        self._case = case
        self._images: dict[str, list[tuple[str, int]]] = {
            s.uid: [(i.uid, f) for i in s.instances for f in range(max(1, i.frames))]
            for s in case.series
            if _has_images(s)
        }
        assembled = store.stacks(case.accession)
        self._stacks: dict[str, list[Stack]] = {
            uid: assembled.get(uid, []) for uid in self._images
        }
        self._datasets: OrderedDict[str, Dataset] = OrderedDict()
        self._infos: dict[str, dict[str, Any]] = {}
        # the series first: the view's traits are checked against it, the
        # stack before the image (which is kept inside the stack)
        view = {name: kwargs.pop(name) for name in _VIEW_TRAITS if name in kwargs}
        super().__init__(series_uid=chosen.uid, **kwargs)
        self.set_trait("accession", case.accession)
        for name, value in view.items():
            setattr(self, name, value)
        self.on_msg(self._on_message)

    # ---- what to show ---------------------------------------------------------
    def _resolve(
        self, target: Case | Series | str, series: str | Series | None
    ) -> tuple[Case, Series]:
        """The case to show and its first series."""
        from ..store import Case, Series

        if isinstance(target, str):
            case = self._store.case(target)
        elif isinstance(target, Case):
            # lists of cases come without their series: fetch the full case
            case = target if target.series else self._store.case(target.accession)
        elif isinstance(target, Series):
            case = self._case_of_series(target.uid)
            series = series or target
        else:
            raise InvalidInputError(
                f"Viewer shows a Case, a Series or an accession, not "
                f"{type(target).__name__}"
            )

        with_images = [s for s in case.series if _has_images(s)]
        if not with_images:
            raise InvalidInputError(
                f"case {case.accession} has no series with images to show"
            )
        if series is None:
            return case, with_images[0]
        uid = series.uid if isinstance(series, Series) else str(series)
        for item in with_images:
            if item.uid == uid:
                return case, item
        raise NotFoundError(
            f"series {_short(uid)} is not a series with images of case {case.accession}"
        )

    def _case_of_series(self, uid: str) -> Case:
        frame = self._store.series_frame()
        rows = frame[frame["series_uid"] == uid]
        if rows.empty:
            raise NotFoundError(f"series {_short(uid)} is not in the store")
        return self._store.case(str(rows["accession"].iloc[0]))

    @traitlets.validate("series_uid")
    def _check_series(self, proposal: dict[str, Any]) -> str:
        uid = proposal["value"]
        if uid not in self._images:
            raise traitlets.TraitError(
                f"series {_short(uid)} is not a series with images of case "
                f"{self.accession}; choose one of {self.series_uids}"
            )
        return uid

    @traitlets.validate("stack")
    def _check_stack(self, proposal: dict[str, Any]) -> int:
        stack = proposal["value"]
        count = max(1, len(self._stacks.get(self.series_uid, ())))
        if not 0 <= stack < count:
            raise traitlets.TraitError(
                f"stack {stack} is not a stack of series {_short(self.series_uid)}, "
                f"which has {count} (counted from 0)"
            )
        return stack

    @traitlets.validate("image_index")
    def _check_image(self, proposal: dict[str, Any]) -> int:
        count = len(self._stack_images(self.series_uid, self.stack)) or 1
        return min(max(0, int(proposal["value"])), count - 1)

    @traitlets.validate("window_center")
    def _check_center(self, proposal: dict[str, Any]) -> float | None:
        return _finite("window centre", proposal["value"])

    @traitlets.validate("window_width")
    def _check_width(self, proposal: dict[str, Any]) -> float | None:
        width = _finite("window width", proposal["value"])
        if width is not None and not width >= 1:
            raise traitlets.TraitError(f"window width must be at least 1, not {width}")
        return width

    @traitlets.validate("zoom")
    def _check_zoom(self, proposal: dict[str, Any]) -> float:
        zoom = proposal["value"]
        low, high = ZOOM_RANGE
        if not low <= zoom <= high:  # NaN fails too
            raise traitlets.TraitError(
                f"zoom must be between {low} and {high:g} (1 fits the image), "
                f"not {zoom}"
            )
        return zoom

    @traitlets.validate("xpos", "ypos")
    def _check_position(self, proposal: dict[str, Any]) -> float | None:
        return _finite(proposal["trait"].name, proposal["value"])

    @traitlets.default("annotations")
    def _no_annotations(self) -> list[dict[str, Any]]:
        return []

    @traitlets.validate("annotations")
    def _check_annotations(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        value = proposal["value"]
        if not isinstance(value, list | tuple):
            raise traitlets.TraitError(
                "annotations must be a list of dicts {type, image, points, text}, "
                f"not {type(value).__name__}"
            )
        return [_checked_annotation(n, a) for n, a in enumerate(value)]

    @traitlets.validate("key_images")
    def _check_key_images(self, proposal: dict[str, Any]) -> list[int]:
        images = proposal["value"]
        wrong = [i for i in images if i < 0]
        if wrong:
            raise traitlets.TraitError(
                f"key images are 0-based image indices, not {wrong}"
            )
        return sorted(set(images))

    @traitlets.observe("series_uid")
    def _series_changed(self, change: dict[str, Any]) -> None:
        if change["old"] and change["old"] != change["new"]:
            # the view of one series means nothing in another
            with self.hold_trait_notifications():
                self.stack = 0
                self.image_index = 0
                self.window_center = None
                self.window_width = None
                self.zoom = 1.0
                self.xpos = None
                self.ypos = None
                self.annotations = []
                self.key_images = []

    @traitlets.observe("stack")
    def _stack_changed(self, change: dict[str, Any]) -> None:
        self.image_index = min(self.image_index, self.count - 1)

    @property
    def case(self) -> Case:
        """The case on screen."""
        return self._case

    @property
    def series_uids(self) -> list[str]:
        """UIDs of the case's series with images, in the case's order."""
        return list(self._images)

    @property
    def count(self) -> int:
        """Number of images in the stack on screen."""
        return len(self._stack_images(self.series_uid, self.stack))

    def _stack_images(self, series_uid: str, stack: int) -> list[tuple[str, int]]:
        """(SOP Instance UID, frame) of each image of a stack, in display order."""
        stacks = self._stacks.get(series_uid)
        if not stacks:
            # a series the index cannot assemble is shown as its instances come
            return self._images.get(series_uid, [])
        return list(stacks[min(stack, len(stacks) - 1)].frames)

    # ---- messages from the browser ------------------------------------------------
    def _on_message(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        """Answer the view's requests; errors go back to it, never up the kernel."""
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "info":
                self._send_info(content)
            elif kind == "frames":
                self._send_frames(content)
        except Exception as exc:  # noqa: BLE001 - reported to the view instead
            if not isinstance(exc, ClaripacsError):
                logger.exception("viewer request %r failed", kind)
            self.send(
                {
                    "type": "error",
                    "view": content.get("view"),
                    "request": kind,
                    "request_series": content.get("series"),
                    "series": content.get("series"),
                    "index": None,
                    "message": str(exc),
                }
            )

    def series_info(self, series_uid: str | None = None) -> dict[str, Any]:
        """What the JS viewer needs to know of a series before its frames.

        Parameters
        ----------
        series_uid : str, optional
            A series of the case; the one on screen when not given.

        Returns
        -------
        dict
            ``seriesUid``, ``modality``, ``label``, ``series`` (every series with
            images, for the picker), ``instances`` (``uid`` and ``frames``) and
            ``stacks`` (each :meth:`Stack.to_dict
            <claripacs_jupyter.dicom.series.Stack.to_dict>` of the series, see
            :meth:`Store.stacks <claripacs_jupyter.store.Store.stacks>`).
        """
        uid = series_uid or self.series_uid
        if uid not in self._images:
            raise NotFoundError(f"series {_short(uid)} is not in case {self.accession}")
        by_uid = {s.uid: s for s in self._case.series}
        chosen = by_uid[uid]
        return {
            "seriesUid": uid,
            "modality": chosen.modality,
            "label": _series_label(chosen),
            "series": [
                {"uid": u, "label": _series_label(by_uid[u])} for u in self._images
            ],
            "instances": [
                {"uid": i.uid, "frames": max(1, i.frames)} for i in chosen.instances
            ],
            "stacks": [stack.to_dict() for stack in self._stacks[uid]],
        }

    def _send_info(self, content: dict[str, Any]) -> None:
        asked = content.get("series")
        self.send(
            {
                "type": "info",
                "view": content.get("view"),
                "request_series": asked,
                "info": self.series_info(asked if isinstance(asked, str) else None),
            }
        )

    def _send_frames(self, content: dict[str, Any]) -> None:
        series_uid = content.get("series") or self.series_uid
        indices = content.get("indices")
        if not isinstance(indices, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in indices
        ):
            raise InvalidInputError("frames request needs a list of image indices")
        refs = content.get("refs")
        if refs is None:
            refs = [None] * len(indices)
        if not isinstance(refs, list) or len(refs) != len(indices):
            raise InvalidInputError(
                "frames request: refs must be a list as long as indices"
            )
        for index, ref in list(zip(indices, refs, strict=True))[
            :MAX_FRAMES_PER_REQUEST
        ]:
            try:
                for meta, chunk in self.frame_messages(series_uid, index, ref):
                    self.send({**meta, "view": content.get("view")}, buffers=[chunk])
            except ClaripacsError as exc:
                self.send(
                    {
                        "type": "error",
                        "view": content.get("view"),
                        "request": "frame",
                        "series": series_uid,
                        "index": index,
                        "ref": ref if isinstance(ref, dict) else None,
                        "message": str(exc),
                    }
                )

    # ---- frames ----------------------------------------------------------------
    def frame_messages(
        self, series_uid: str, index: int, ref: dict[str, Any] | None = None
    ) -> list[tuple[dict[str, Any], memoryview]]:
        """The messages that carry one image's pixel values to the browser.

        Parameters
        ----------
        series_uid : str
            A series of the case.
        index : int
            The image, from 0: in the viewer's order when `ref` names it,
            else over every frame of the series' instances as listed.
        ref : dict, optional
            ``{"instance": sop_uid, "frame": n}``: the image itself, which
            the answer is then for (a stack's display order may differ from
            the instance list).

        Returns
        -------
        list of (dict, memoryview)
            Each message's JSON part (``type`` "frame", ``series``, ``index``,
            ``ref``, ``offset``, ``total``, ``info``: the image_info) and its
            binary buffer: the stored values of
            :func:`claripacs_jupyter.dicom.raw_frame`, cut in pieces of at most
            :data:`MAX_MESSAGE_BYTES`.

        Raises
        ------
        NotFoundError
            The series, the image or the instance and frame of `ref` are not
            in the case.
        InvalidInputError
            `ref` is not ``{"instance": str, "frame": int}``.
        """
        from ..dicom import raw_frame

        images = self._images.get(series_uid)
        if images is None:
            raise NotFoundError(
                f"series {_short(series_uid)} is not in case {self.accession}"
            )
        if ref is not None:
            sop_uid, frame = self._image_of_ref(series_uid, ref)
        elif not 0 <= index < len(images):
            raise NotFoundError(
                f"no image {index + 1} in series {_short(series_uid)} "
                f"({len(images)} images)"
            )
        else:
            sop_uid, frame = images[index]
        info = self._image_info(sop_uid)
        raw = memoryview(raw_frame(self._dataset(sop_uid), frame))
        total = raw.nbytes
        named = {"instance": sop_uid, "frame": frame} if ref is not None else None
        messages = []
        for offset in range(0, max(total, 1), MAX_MESSAGE_BYTES):
            meta = {
                "type": "frame",
                "series": series_uid,
                "index": index,
                "ref": named,
                "offset": offset,
                "total": total,
                "info": info,
            }
            messages.append((meta, raw[offset : offset + MAX_MESSAGE_BYTES]))
        return messages

    def _image_of_ref(self, series_uid: str, ref: Any) -> tuple[str, int]:
        """(SOP Instance UID, frame) that a request's ref names in the series."""
        if (
            not isinstance(ref, dict)
            or not isinstance(ref.get("instance"), str)
            or isinstance(ref.get("frame"), bool)
            or not isinstance(ref.get("frame"), int)
        ):
            raise InvalidInputError(
                f"an image ref is {{instance: SOP Instance UID, frame: n}}, not {ref!r}"
            )
        image = (ref["instance"], ref["frame"])
        if image not in self._images[series_uid]:
            raise NotFoundError(
                f"no frame {image[1]} of instance {_short(image[0])} in series "
                f"{_short(series_uid)}"
            )
        return image

    # ---- links -------------------------------------------------------------------
    def get_url(self, base_url: str | None = None) -> str:
        """The link to the case page that opens at the view on screen.

        Parameters
        ----------
        base_url : str, optional
            The Jupyter server's base URL (``"http://host:8888/"`` or a path
            such as ``"/user/ana/"``). By default the URL of the server this
            kernel runs under, when it can be found.

        Returns
        -------
        str
            :func:`claripacs_jupyter.links.case_url` of the view: series,
            image (from 1), window, zoom, xpos and ypos, and mode when simple;
            numbers rounded as the page's own links round them. No login
            token: a reader logs in on their own.

        Raises
        ------
        ClaripacsError
            No `base_url` and no single running Jupyter server to take it from.
        """
        from ..links import case_url

        base = base_url if base_url is not None else _running_server_url()
        view: dict[str, Any] = {
            "series": self.series_uid,
            "image": self.image_index + 1,
            "mode": "simple" if self.mode == "simple" else None,
        }
        if self.window_center is not None and self.window_width is not None:
            view["window_level"] = round(self.window_center, 2)
            view["window_width"] = round(self.window_width, 2)
        if abs(self.zoom - 1) > 1e-9:
            view["zoom"] = round(self.zoom, 4)
        if self.xpos is not None:
            view["xpos"] = round(self.xpos, 2)
        if self.ypos is not None:
            view["ypos"] = round(self.ypos, 2)

        if self.stack > 0:
            view["stack"] = self.stack + 1
        if self.annotations:
            view["annotations"] = [
                {
                    **a,
                    "image": a["image"] + 1,
                    "points": [[round(x, 1), round(y, 1)] for x, y in a["points"]],
                }
                for a in self.annotations
            ]
        if self.key_images:
            view["key"] = [i + 1 for i in self.key_images]
        if self.linked:
            view["link"] = True
        return case_url(base, self.accession, **view)

    def _image_info(self, sop_uid: str) -> dict[str, Any]:
        info = self._infos.get(sop_uid)
        if info is None:
            info = self._store.image_info(self.accession, sop_uid)
            self._infos[sop_uid] = info
        return info

    def _dataset(self, sop_uid: str) -> Dataset:
        ds = self._datasets.get(sop_uid)
        if ds is None:
            ds = self._store.dataset(self.accession, sop_uid)
            self._datasets[sop_uid] = ds
            while len(self._datasets) > _DATASET_CACHE_SIZE:
                self._datasets.popitem(last=False)
        else:
            self._datasets.move_to_end(sop_uid)
        return ds
