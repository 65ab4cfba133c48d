"""The notebook viewer of a case or a series: an anywidget over the JS viewer."""

from __future__ import annotations

import logging
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

    from ..store import Case, Series, Store

__all__ = ["MAX_MESSAGE_BYTES", "Viewer"]

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


@cache
def _module_source() -> str:
    """viewer.js and widget.js as one module (widget.js uses createViewer)."""
    viewer = (STATIC / "viewer.js").read_text(encoding="utf-8")
    widget = (STATIC / "widget.js").read_text(encoding="utf-8")
    return f"{viewer}\n{widget}"


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


class Viewer(anywidget.AnyWidget):
    """Scroll and window a case's images in a notebook.

    The pixels are drawn in the browser by the same viewer as the case page; the
    kernel sends each frame's stored values once, as binary buffers, and the
    browser does window/level and scrolling on them without asking again.

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
        Initial trait values (`image_index`, `window_center`, `window_width`,
        `height`).

    Attributes
    ----------
    accession : str
        The case's accession (read-only once shown).
    series_uid : str
        The series on screen; set it to switch series.
    image_index : int
        The image on screen, counting from 0 over every frame of the series.
    window_center, window_width : float or None
        The window on screen; None before the first image is shown (then the
        file's own window is used).

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
    """

    # anywidget turns these two strings into synced traits
    _esm = _module_source()
    _css = _stylesheet()

    accession = traitlets.Unicode("", read_only=True).tag(sync=True)
    series_uid = traitlets.Unicode("").tag(sync=True)
    image_index = traitlets.Int(0).tag(sync=True)
    window_center = traitlets.Float(None, allow_none=True).tag(sync=True)
    window_width = traitlets.Float(None, allow_none=True).tag(sync=True)
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
        self._datasets: OrderedDict[str, Dataset] = OrderedDict()
        self._infos: dict[str, dict[str, Any]] = {}
        super().__init__(series_uid=chosen.uid, **kwargs)
        self.set_trait("accession", case.accession)
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

    @traitlets.validate("image_index")
    def _check_image(self, proposal: dict[str, Any]) -> int:
        count = len(self._images.get(self.series_uid, ())) or 1
        return min(max(0, int(proposal["value"])), count - 1)

    @traitlets.validate("window_width")
    def _check_width(self, proposal: dict[str, Any]) -> float | None:
        width = proposal["value"]
        if width is not None and not width >= 1:
            raise traitlets.TraitError(f"window width must be at least 1, not {width}")
        return width

    @traitlets.observe("series_uid")
    def _series_changed(self, change: dict[str, Any]) -> None:
        if change["old"] and change["old"] != change["new"]:
            self.image_index = 0
            self.window_center = None
            self.window_width = None

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
        """Number of images in the series on screen."""
        return len(self._images[self.series_uid])

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
            images, for the picker) and ``instances`` (``uid`` and ``frames``).
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
        for index in indices[:MAX_FRAMES_PER_REQUEST]:
            try:
                for meta, chunk in self.frame_messages(series_uid, index):
                    self.send({**meta, "view": content.get("view")}, buffers=[chunk])
            except ClaripacsError as exc:
                self.send(
                    {
                        "type": "error",
                        "view": content.get("view"),
                        "request": "frame",
                        "series": series_uid,
                        "index": index,
                        "message": str(exc),
                    }
                )

    # ---- frames ----------------------------------------------------------------
    def frame_messages(
        self, series_uid: str, index: int
    ) -> list[tuple[dict[str, Any], memoryview]]:
        """The messages that carry one image's pixel values to the browser.

        Parameters
        ----------
        series_uid : str
            A series of the case.
        index : int
            The image, counting from 0 over every frame of the series.

        Returns
        -------
        list of (dict, memoryview)
            Each message's JSON part (``type`` "frame", ``series``, ``index``,
            ``offset``, ``total``, ``info``: the image_info) and its binary
            buffer: the stored values of
            :func:`claripacs_jupyter.dicom.raw_frame`, cut in pieces of at most
            :data:`MAX_MESSAGE_BYTES`.
        """
        from ..dicom import raw_frame

        images = self._images.get(series_uid)
        if images is None:
            raise NotFoundError(
                f"series {_short(series_uid)} is not in case {self.accession}"
            )
        if not 0 <= index < len(images):
            raise NotFoundError(
                f"no image {index + 1} in series {_short(series_uid)} "
                f"({len(images)} images)"
            )
        sop_uid, frame = images[index]
        info = self._image_info(sop_uid)
        raw = memoryview(raw_frame(self._dataset(sop_uid), frame))
        total = raw.nbytes
        messages = []
        for offset in range(0, max(total, 1), MAX_MESSAGE_BYTES):
            meta = {
                "type": "frame",
                "series": series_uid,
                "index": index,
                "offset": offset,
                "total": total,
                "info": info,
            }
            messages.append((meta, raw[offset : offset + MAX_MESSAGE_BYTES]))
        return messages

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
