"""The REST API over the case store and the standalone case page.

Every handler requires a logged-in user (``@web.authenticated``) and asks the
server's authorizer about the resource ``"claripacs"``. Writes from a browser
need the XSRF token (jupyter_server checks it for cookie-authenticated callers;
token-authenticated callers pass). Reading DICOM, encoding frames, ingesting and
zipping run in the executor, never on the event loop.
"""

from __future__ import annotations

import functools
import getpass
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import (
    ExtensionHandlerJinjaMixin,
    ExtensionHandlerMixin,
)
from jupyter_server.utils import url_path_join
from tornado import httputil, iostream, web
from tornado.escape import json_encode, url_escape
from tornado.ioloop import IOLoop

from ..anonymize.annex_e import RuleSet
from ..anonymize.masking import Rect, as_rects
from ..anonymize.user_profiles import resolve_profile
from ..deidentify import anonymize_sources, zip_bytes
from ..dicom import Window, default_window, raw_frame, to_png
from ..dicom.native import native_frame
from ..errors import ClaripacsError, InvalidInputError, NotFoundError
from ..links import SPLIT_PATH, CaseLink, SplitLink, parse_split_url
from ..store.sources import looks_like_zip
from .caching import IMMUTABLE, frame_etag

if TYPE_CHECKING:
    from ..store import Case, Store
    from ..store.review import SeriesReview

T = TypeVar("T")

#: The resource name handed to the server's authorizer.
#: The viewer's ES modules, which the server serves as static files.
STATIC_DIR = Path(__file__).resolve().parent.parent / "widgets" / "static"

AUTH_RESOURCE = "claripacs"

#: Web app settings the ExtensionApp fills in.
STORE_SETTING = "claripacs_store"
MAX_UPLOAD_SETTING = "claripacs_max_upload_bytes"
MAX_UPLOAD_FILES_SETTING = "claripacs_max_upload_files"

#: Identity providers whose users stand for a shared login, not for a person.
_SHARED_LOGIN_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)

#: Files are sent in pieces of this size, so that a large one never sits in memory.
CHUNK_BYTES = 1024 * 1024
#: A case ZIP is built in memory up to this size, then in a temporary file.
ZIP_SPOOL_BYTES = 32 * 1024 * 1024


def error_status(exc: BaseException | None) -> int | None:
    """Return the HTTP status of a :class:`ClaripacsError`, else None.

    This is the one place where library errors become HTTP statuses: each
    subclass carries its own ``http_status`` (400, 404, 409, 413).
    """
    if isinstance(exc, ClaripacsError):
        return int(exc.http_status)
    return None


class _StoreHandlerMixin(ExtensionHandlerMixin):
    """What every claripacs handler shares: the store and the executor."""

    auth_resource = AUTH_RESOURCE

    @property
    def store(self) -> Store:
        """The store the ExtensionApp opened."""
        return self.settings[STORE_SETTING]  # type: ignore[no-any-return]

    async def blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func(*args, **kwargs)`` in the executor and return its result."""
        call = functools.partial(func, *args, **kwargs)
        return await IOLoop.current().run_in_executor(None, call)


class ClaripacsAPIHandler(_StoreHandlerMixin, APIHandler):
    """Base of the JSON API: errors are ``{"message", "reason"}`` with a 4xx status."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write the error as JSON; a ClaripacsError brings its own status."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        status = error_status(exc)
        if status is not None:
            self.set_status(status)
            reply: dict[str, Any] = {"message": str(exc), "reason": type(exc).__name__}
        elif isinstance(exc, web.HTTPError):
            reply = {
                "message": exc.log_message or httputil.responses.get(status_code, ""),
                "reason": exc.reason or httputil.responses.get(status_code),
            }
        else:
            # Unexpected: say nothing about the internals.
            reply = {"message": "Unhandled error", "reason": None}
        self.finish(json_encode(reply))

    def _json_object(self) -> dict[str, Any]:
        """The request body as a JSON object; 400 for anything else."""
        try:
            body = json.loads(self.request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError("The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise InvalidInputError("The request body must be a JSON object.")
        return body

    def _user_name(self) -> str:
        """The name of the user the server authenticated, for the record."""
        user = self.current_user
        name = getattr(user, "display_name", "") or getattr(user, "username", "")
        return str(name or "unknown user")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log a ClaripacsError as one line (it is the caller's mistake, not ours)."""
        if error_status(value) is not None:
            # The class name only: messages may quote folder names or notes.
            self.log.info(
                "claripacs: %s %s refused: %s",
                self.request.method,
                self.request.path,
                type(value).__name__,
            )
            return
        super().log_exception(typ, value, tb)

    async def send_file(self, fileobj: IO[bytes], size: int, content_type: str) -> None:
        """Send an open binary file in chunks, reading it in the executor."""
        # Headers go out with the first chunk, so the type is set before it.
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Length", str(size))
        try:
            while True:
                chunk = await self.blocking(fileobj.read, CHUNK_BYTES)
                if not chunk:
                    break
                self.write(chunk)
                await self.flush()
        except iostream.StreamClosedError:
            self.log.debug("claripacs: client left during a download")
            return
        self.finish(set_content_type=content_type)

    async def find_frame(self, accession: str, sop_uid: str, frame: str) -> int:
        """Check that the frame exists and return its index (from 0)."""
        index = parse_frame(frame)
        frames = await self.blocking(self.store.frame_count, accession, sop_uid)
        if index >= frames:
            raise NotFoundError(
                f"Instance {sop_uid} has {frames} frame(s); "
                f"frame {index} does not exist (frames count from 0)."
            )
        return index


def parse_frame(text: str) -> int:
    """Read a frame number from the URL; InvalidInputError unless it is an integer."""
    if not text.isascii() or not text.isdigit():
        raise InvalidInputError(
            f"Frame number {text!r} is not a whole number of 0 or more "
            "(frames count from 0)."
        )
    return int(text)


def _query_float(handler: web.RequestHandler, name: str) -> float | None:
    """Read an optional finite number from the query string."""
    text = handler.get_query_argument(name, None)
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, not {text!r}.") from None
    if not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number, not {text!r}.")
    return value


def _case_summary(case: Case) -> dict[str, Any]:
    """The case as a dict without its series (for lists)."""
    data = case.to_dict()
    data.pop("series", None)
    return data


def _case_detail(store: Store, accession: str) -> dict[str, Any]:
    """The case with series and instances, each instance with its image info.

    Each series also lists its ``stacks`` (see :meth:`Store.stacks`): the
    frames in display order, orientation, spacing and warnings (gaps,
    duplicate positions, a series split by orientation or image size).

    The store keeps each instance's image info in its index after the first
    time, so only a case's first detail reads its pixels.
    """
    return _detail_of(store, store.case(accession))


def _detail_of(store: Store, case: Case) -> dict[str, Any]:
    """:func:`_case_detail` of a case already read from the store."""
    accession = case.accession
    data = case.to_dict()
    infos = store.image_infos(accession)
    for series_data in data["series"]:
        for instance_data in series_data["instances"]:
            instance_data["image"] = infos[instance_data["uid"]]
    stacks = store.stacks(accession)
    for series_data in data["series"]:
        found = stacks.get(series_data["uid"], [])
        series_data["stacks"] = [stack.to_dict() for stack in found]
    return data


def _render_png(
    store: Store,
    accession: str,
    sop_uid: str,
    frame: int,
    center: float | None,
    width: float | None,
) -> bytes:
    """Encode one frame as PNG at the window asked for, else the default one."""
    ds = store.dataset(accession, sop_uid)
    window = None
    if center is not None or width is not None:
        fallback = default_window(ds, frame)
        window = Window(
            center=fallback.center if center is None else center,
            width=fallback.width if width is None else width,
            name="request",
        )
    return to_png(ds, frame, window)


def _raw_frame(store: Store, accession: str, sop_uid: str, frame: int) -> bytes:
    """The viewer's pixel payload of one frame.

    Uncompressed grey frames are read straight from the file (a tenth of the
    time of decoding the dataset), the others decoded by ``raw_frame``.
    """
    fast = native_frame(store.instance_path(accession, sop_uid), frame)
    if fast is not None:
        return fast
    return raw_frame(store.dataset(accession, sop_uid), frame)


# --------------------------------------------------------------------------------------
# JSON endpoints
# --------------------------------------------------------------------------------------


class CasesHandler(ClaripacsAPIHandler):
    """``GET cases?q=TEXT&folder=F``: list or search the cases."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List the cases of a folder (or all), or those matching ``q``."""
        text = self.get_query_argument("q", "").strip()
        folder = self.get_query_argument("folder", None)

        def work() -> list[dict[str, Any]]:
            if text:
                found = self.store.search(text)
                if folder is not None:
                    found = [case for case in found if case.folder == folder]
            else:
                found = self.store.cases(folder)
            return [_case_summary(case) for case in found]

        cases = await self.blocking(work)
        self.finish(json_encode({"cases": cases}))


class FoldersHandler(ClaripacsAPIHandler):
    """``GET folders``: the folders and how many cases each holds."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List the folders."""
        folders = await self.blocking(self.store.folders)
        body = {"folders": [{"name": name, "count": count} for name, count in folders]}
        self.finish(json_encode(body))


class CaseHandler(ClaripacsAPIHandler):
    """``GET``, ``PATCH`` and ``DELETE cases/<acc>``.

    GET gives the detail with image info; PATCH changes the editable fields
    (description, notes, folder, private) given as a JSON object; DELETE
    removes the case.
    """

    @web.authenticated
    @authorized
    async def get(self, accession: str) -> None:
        """Return the case with its series, instances and image info."""
        detail = await self.blocking(_case_detail, self.store, accession)
        self.finish(json_encode(detail))

    @web.authenticated
    @authorized
    async def patch(self, accession: str) -> None:
        """Change fields of the case; 409 to make it public while under review."""
        fields = self._json_object()
        case = await self.blocking(self.store.update_case, accession, **fields)
        self.finish(json_encode(_case_summary(case)))

    @web.authenticated
    @authorized
    async def delete(self, accession: str) -> None:
        """Delete the case, its files and its index rows."""
        await self.blocking(self.store.delete, accession)
        self.log.info("claripacs: case %s deleted", accession)
        self.set_status(204)
        self.finish()


class ReviewQueueHandler(ClaripacsAPIHandler):
    """``GET reviews``: the series awaiting review; ``?all=1`` adds cleared ones."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List the review flags of every case, oldest first."""
        every = self.get_query_argument("all", "") in ("1", "true")
        found = await self.blocking(self.store.reviews, None, pending_only=not every)
        self.finish(json_encode({"reviews": [r.to_dict() for r in found]}))


class CaseReviewsHandler(ClaripacsAPIHandler):
    """``GET cases/<acc>/reviews`` and ``POST cases/<acc>/reviews/<series>``.

    POST clears one flagged series with ``{"status": "reviewed"}`` or
    ``{"status": "masked"}``, in the name of the authenticated user.
    """

    @web.authenticated
    @authorized
    async def get(self, accession: str, series_uid: str | None = None) -> None:
        """The case's flags, cleared or not (a 404 for an unknown case)."""
        await self.blocking(self.store.case, accession)
        found = await self.blocking(self.store.reviews, accession)
        if series_uid is not None:
            found = [r for r in found if r.series_uid == series_uid]
            if not found:
                raise NotFoundError(f"case {accession} has no flag for that series")
        self.finish(json_encode({"reviews": [r.to_dict() for r in found]}))

    @web.authenticated
    @authorized
    async def post(self, accession: str, series_uid: str | None = None) -> None:
        """Clear the flag of one series as reviewed or masked."""
        if series_uid is None:
            raise InvalidInputError("Name the series: POST cases/<acc>/reviews/<uid>.")
        status = self._json_object().get("status")
        if status not in ("reviewed", "masked"):
            raise InvalidInputError('status must be "reviewed" or "masked".')
        done = await self.blocking(
            self.store.mark_reviewed,
            accession,
            series_uid,
            by=self._user_name(),
            masked=status == "masked",
        )
        self.finish(json_encode(done.to_dict()))


class AnonymizeHandler(ClaripacsAPIHandler):
    """``POST anonymize``: a DICOM file or a ZIP in the body, anonymized back.

    Nothing is stored. A file comes back as ``application/dicom``, a ZIP as
    ``application/zip`` (even when one member survives); UIDs are remapped
    with the store's key. ``X-Claripacs-Review`` carries the review reasons of
    all the files as one JSON list (they quote nothing from the files), and
    ``X-Claripacs-Skipped`` the members of a ZIP left out, as JSON
    ``{"count": n, "files": [{"source": ..., "reason": ...}, ...]}`` with at
    most :data:`SKIPPED_LISTED` of them listed. ``X-Claripacs-Identity-Kept``
    names the identifying attributes a user's profile keeps, whose files say
    PatientIdentityRemoved NO. A body with nothing that can be anonymized is a
    400 with the reasons.
    """

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Anonymize the body with ``?profile=`` and its ``?option=``s."""
        body = self.request.body
        limit = int(self.settings.get(MAX_UPLOAD_SETTING, 0)) or len(body)
        if len(body) > limit:
            raise web.HTTPError(413, "The file is larger than the upload limit.")
        if not body:
            raise InvalidInputError("Send the DICOM file or ZIP as the request body.")
        # only the built-in profiles and those of the profiles folder: a
        # request never names a file
        named = self.get_query_arguments("profile")
        if len(named) > 1:
            raise InvalidInputError("Name one profile, not several.")
        profile = resolve_profile(
            named[0] if named else "teaching",
            self.get_query_arguments("option"),
            allow_paths=False,
        )
        store = self.store
        run = await self.blocking(
            anonymize_sources,
            [("upload", body)],
            profile=profile,
            key=store._key,
            settings=store.settings,
        )
        if not run.written:
            reasons = "; ".join(
                _short(f"{o.source}: {o.reason}") for o in run.skipped[:SKIPPED_LISTED]
            )
            raise InvalidInputError(
                f"Nothing could be anonymized: {reasons or 'no DICOM file found'}"
            )

        reasons = sorted({r for item in run.written for r in item.review_reasons})
        self.set_header("X-Claripacs-Review", json_encode(reasons))
        # the names are the client's own, from its ZIP; json_encode keeps the
        # header ASCII
        skipped = [
            {"source": _short(o.source), "reason": _short(o.reason or "")}
            for o in run.skipped[:SKIPPED_LISTED]
        ]
        self.set_header(
            "X-Claripacs-Skipped",
            json_encode({"count": len(run.skipped), "files": skipped}),
        )
        if isinstance(profile, RuleSet) and profile.identity_kept:
            # the files say PatientIdentityRemoved NO; the client hears it too
            self.set_header(
                "X-Claripacs-Identity-Kept", ",".join(profile.identity_kept)
            )
        self.set_header("Cache-Control", "no-store")
        if not looks_like_zip("upload", body[:132]):
            name = run.written[0].name.rsplit("/", 1)[-1]
            self.set_header("Content-Disposition", f'attachment; filename="{name}"')
            self.finish(run.written[0].data, set_content_type="application/dicom")
            return
        self.set_header("Content-Disposition", 'attachment; filename="anonymized.zip"')
        archive = await self.blocking(zip_bytes, run)
        self.finish(archive, set_content_type="application/zip")


#: Members left out of an uploaded ZIP that ``X-Claripacs-Skipped`` lists by
#: name; it counts them all. Headers have a size limit (clients refuse
#: lines of some kilobytes), so each name and reason is cut to SHORTENED.
SKIPPED_LISTED = 20
SHORTENED = 200


def _short(text: str) -> str:
    """`text`, cut to :data:`SHORTENED` characters with an ellipsis."""
    return text if len(text) <= SHORTENED else text[: SHORTENED - 1] + "\u2026"


class MaskHandler(ClaripacsAPIHandler):
    """``POST cases/<acc>/series/<series>/mask``: mask burned-in text.

    The body is ``{"rects": [[x, y, width, height], ...]}`` in image pixels;
    every image of the series is masked on every frame, and its review flag
    is cleared as "masked" in the name of the authenticated user.
    """

    @web.authenticated
    @authorized
    async def post(self, accession: str, series_uid: str) -> None:
        """Mask the series; answers how many images were masked."""
        rects = _rects(self._json_object().get("rects"))
        count = await self.blocking(
            self.store.mask_series,
            accession,
            series_uid,
            rects,
            by=self._user_name(),
        )
        self.finish(json_encode({"masked": count}))


def _rects(value: Any) -> list[Rect]:
    """Rectangles from JSON ``[[x, y, width, height], ...]``; 400 otherwise."""
    if not isinstance(value, list) or not value:
        raise InvalidInputError('"rects" must be a list of [x, y, width, height].')
    return as_rects(value)


@web.stream_request_body
class UploadHandler(ClaripacsAPIHandler):
    """``POST upload``: multipart ``files`` (DICOM or ZIP) and an optional ``folder``.

    The body is received in pieces and refused with 413 as soon as it is known
    to be larger than ``ClaripacsApp.max_upload_bytes`` (from Content-Length,
    before any of it is read). Because the body streams, a browser sends its
    XSRF token in the ``X-XSRFToken`` header, not as a form field.
    """

    # TODO: the whole body sits in memory while tornado's multipart parser (which
    # takes bytes) splits it, about three times its size at the peak. A streaming
    # parser writing each part to a temporary file would bound memory by one file.

    _chunks: list[bytes]
    _received: int
    _too_large: bool

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate (and check XSRF), then check the declared size and type."""
        await super().prepare()
        self._chunks = []
        self._received = 0
        self._too_large = False
        if self.request.method != "POST":
            return

        limit = self.max_upload_bytes
        declared = self.request.headers.get("Content-Length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise web.HTTPError(400, "Content-Length is not a number.") from None
            if size > limit:
                raise web.HTTPError(
                    413,
                    f"The upload is {size} bytes; this server takes at most {limit} "
                    "(ClaripacsApp.max_upload_bytes). Send fewer files at a time.",
                )
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise web.HTTPError(
                415, "Send the upload as multipart/form-data with fields named files."
            )
        # Our own limit replaces the server's general one for this request.
        self.request.connection.set_max_body_size(limit)  # type: ignore[union-attr]

    @property
    def max_upload_bytes(self) -> int:
        """The largest body accepted."""
        return int(self.settings[MAX_UPLOAD_SETTING])

    def owner(self) -> str | None:
        """The owner of the cases an upload makes.

        With jupyter_server's own token or password login every browser gets a
        random anonymous user, so the account that runs the server owns them,
        as with the ``claripacs`` command. A provider that names its users
        (JupyterHub's) gives the user's name.
        """
        if type(self.identity_provider) in _SHARED_LOGIN_PROVIDERS:
            try:
                return getpass.getuser()
            except (KeyError, OSError):
                return None
        return getattr(self.current_user, "username", None)

    def data_received(self, chunk: bytes) -> None:
        """Keep the body's pieces until it is complete."""
        self._received += len(chunk)
        if self._received > self.max_upload_bytes:
            # Without a Content-Length the size shows only now; keep nothing more.
            self._too_large = True
            self._chunks = []
        if not self._too_large:
            self._chunks.append(chunk)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Ingest the files and answer with one outcome per file."""
        if self._too_large:
            raise web.HTTPError(
                413, f"The upload is larger than {self.max_upload_bytes} bytes."
            )
        body = b"".join(self._chunks)
        self._chunks = []
        max_files = int(self.settings[MAX_UPLOAD_FILES_SETTING])
        content_type = self.request.headers.get("Content-Type", "")
        sources, folder = await self.blocking(
            _parse_upload, content_type, body, max_files
        )
        del body

        report = await self.blocking(
            self.store.ingest, sources, folder=folder, owner=self.owner()
        )
        self.log.info(
            "claripacs: upload of %d file(s): %d stored, %d duplicate, %d skipped",
            len(sources),
            report.stored,
            report.duplicates,
            report.skipped,
        )

        answer = report.to_dict()
        if report.stored + report.duplicates == 0:
            self.set_status(400)
            answer["message"] = (
                "Nothing in the upload could be stored; each file's outcome says why."
            )
            answer["reason"] = "NothingStored"
        self.finish(json_encode(answer))


def _parse_upload(
    content_type: str, body: bytes, max_files: int
) -> tuple[list[tuple[str, bytes]], str | None]:
    """Split a multipart body into ``(name, bytes)`` sources and the folder."""
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[httputil.HTTPFile]] = {}
    # One part per file, plus the folder field and some slack for other fields.
    config = httputil.ParseBodyConfig(
        multipart=httputil.ParseMultipartConfig(max_parts=max_files + 16)
    )
    try:
        httputil.parse_body_arguments(
            content_type, body, arguments, files, config=config
        )
    except httputil.HTTPInputError as exc:
        raise InvalidInputError(
            f"The upload is not valid multipart data: {exc}"
        ) from None

    uploads = files.get("files", [])
    if not uploads:
        raise InvalidInputError(
            "The upload has no files: send DICOM files or ZIP archives as "
            "multipart fields named 'files'."
        )
    if len(uploads) > max_files:
        raise InvalidInputError(
            f"The upload has {len(uploads)} files; at most {max_files} are taken "
            "at a time (ClaripacsApp.max_upload_files). Put them in a ZIP."
        )
    sources = [(upload.filename or "upload", upload.body) for upload in uploads]

    folder = None
    values = arguments.get("folder", [])
    if values:
        try:
            folder = values[-1].decode("utf-8").strip() or None
        except UnicodeDecodeError:
            raise InvalidInputError("The folder name is not UTF-8 text.") from None
    return sources, folder


# --------------------------------------------------------------------------------------
# Binary endpoints
# --------------------------------------------------------------------------------------


class DicomHandler(ClaripacsAPIHandler):
    """``GET cases/<acc>/instances/<sop>/dicom``: the stored DICOM file."""

    @web.authenticated
    @authorized
    async def get(self, accession: str, sop_uid: str) -> None:
        """Send the file as an attachment."""
        path: Path = await self.blocking(self.store.instance_path, accession, sop_uid)
        fileobj = await self.blocking(path.open, "rb")
        try:
            size = os.fstat(fileobj.fileno()).st_size
            self.set_attachment_header(f"{sop_uid}.dcm")
            await self.send_file(fileobj, size, "application/dicom")
        finally:
            fileobj.close()


class PngFrameHandler(ClaripacsAPIHandler):
    """``GET .../frames/<n>.png?window_center=&window_width=``: a rendered frame."""

    @web.authenticated
    @authorized
    async def get(self, accession: str, sop_uid: str, frame: str) -> None:
        """Render the frame at the window asked for (else the default window)."""
        center = _query_float(self, "window_center")
        width = _query_float(self, "window_width")
        if width is not None and width < 1:
            # The DICOM linear window (PS3.3 C.11.2.1.2) needs a width of 1 or more.
            raise InvalidInputError(f"window_width must be 1 or more, not {width:g}.")
        index = await self.find_frame(accession, sop_uid, frame)

        self.set_header("Etag", frame_etag("png", sop_uid, index, center, width))
        self.set_header("Cache-Control", IMMUTABLE)
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return

        png = await self.blocking(
            _render_png, self.store, accession, sop_uid, index, center, width
        )
        self.finish(png, set_content_type="image/png")


class RawFrameHandler(ClaripacsAPIHandler):
    """``GET .../frames/<n>/raw``: one frame's stored values for the viewer."""

    @web.authenticated
    @authorized
    async def get(self, accession: str, sop_uid: str, frame: str) -> None:
        """Send ``raw_frame`` bytes, cached by the browser for good."""
        index = await self.find_frame(accession, sop_uid, frame)

        self.set_header("Etag", frame_etag("raw", sop_uid, index))
        self.set_header("Cache-Control", IMMUTABLE)
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return

        data = await self.blocking(_raw_frame, self.store, accession, sop_uid, index)
        self.finish(data, set_content_type="application/octet-stream")


class ZipHandler(ClaripacsAPIHandler):
    """``GET cases/<acc>/zip``: the case's DICOM files and an index.html."""

    @web.authenticated
    @authorized
    async def get(self, accession: str) -> None:
        """Build the archive (in memory, or a temporary file when large) and send it."""
        with tempfile.SpooledTemporaryFile(max_size=ZIP_SPOOL_BYTES) as spool:
            await self.blocking(self.store.write_zip, accession, spool)
            size = spool.tell()
            spool.seek(0)
            self.set_attachment_header(f"{accession}.zip")
            await self.send_file(spool, size, "application/zip")


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


class CasePageHandler(ExtensionHandlerJinjaMixin, _StoreHandlerMixin, JupyterHandler):
    """``GET claripacs/case/<acc>``: the standalone viewer of one case."""

    @web.authenticated
    @authorized
    async def get(self, accession: str) -> None:
        """Render the page, or a 404 page when the store has no such case."""
        try:
            case = await self.blocking(self.store.case, accession)
            # the viewer's first request, answered in the page: its first
            # image is asked for as soon as the scripts run
            detail = await self.blocking(_detail_of, self.store, case)
            flags = await self.blocking(
                self.store.reviews, case.accession, pending_only=True
            )
        except NotFoundError:
            self.set_status(404)
            self.finish(
                self.render_template("case_not_found.html", accession=accession)
            )
            return

        html = self.render_template(
            "case.html",
            accession=case.accession,
            description=case.description or "",
            folder=case.folder,
            # the banner stands while a series awaits review, not after
            pending=_pending_series(case, flags),
            detail=detail,
            module_urls=self._module_urls(),
            # mode=simple (the open URL format) hides the menus and this bar.
            simple=self.get_query_argument("mode", "") == "simple",
            zip_url=url_path_join(
                self.base_url, "claripacs/api/cases", url_escape(case.accession), "zip"
            ),
            api_url=url_path_join(self.base_url, "claripacs/api/"),
            page_js_url=self.static_url("page.js"),
        )
        self.finish(html)

    def _module_urls(self) -> list[str]:
        """URLs of the modules page.js imports, for ``<link rel=modulepreload>``.

        Unversioned, as the modules' own relative imports name them: a
        versioned URL would be another module and load twice.
        """
        return [
            self.static_url(name, include_version=False) for name in _page_modules()
        ]


def _pending_series(case: Case, flags: list[SeriesReview]) -> list[dict[str, Any]]:
    """The case page's list of series awaiting review: uid, label and reasons."""
    known = {item.uid: item for item in case.series}
    pending = []
    for flag in flags:
        found = known.get(flag.series_uid)
        name = (found.description or found.modality) if found else ""
        number = f"{found.number}: " if found and found.number is not None else ""
        pending.append(
            {
                "uid": flag.series_uid,
                "label": f"{number}{name or 'Series'}",
                "reasons": flag.reasons,
            }
        )
    return pending


#: A static module's import of a sibling: `import { a } from "./x.js";`
_RELATIVE_IMPORT = re.compile(
    r"""^import\b[^;]*?\bfrom\s+["']\./([\w.-]+\.js)["']""", re.MULTILINE
)


@functools.cache
def _page_modules(entry: str = "page.js") -> tuple[str, ...]:
    """The static modules `entry` imports, directly or through others."""
    found: list[str] = []
    waiting = [entry]
    while waiting:
        source = (STATIC_DIR / waiting.pop()).read_text(encoding="utf-8")
        for name in _RELATIVE_IMPORT.findall(source):
            if name not in found:
                found.append(name)
                waiting.append(name)
    return tuple(found)


def _accessions(link: CaseLink | SplitLink) -> list[str]:
    """The accessions of a split's panes, nested splits included, in order."""
    if isinstance(link, CaseLink):
        return [link.accession]
    return _accessions(link.first) + _accessions(link.second)


class SplitPageHandler(ExtensionHandlerJinjaMixin, _StoreHandlerMixin, JupyterHandler):
    """``GET claripacs/split``: two panes (cases or nested splits) in one page."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Render the page; a 400 page for a bad layout, a 404 for a missing case."""
        # the page's own URL as the parser reads it (the query, not the host)
        try:
            # lenient: a pane's view is its page's business, which leaves out
            # what it cannot use, as the case page does
            link = parse_split_url(f"/{SPLIT_PATH}?{self.request.query}", lenient=True)
        except InvalidInputError as exc:
            self.set_status(400)
            self.finish(self.render_template("split_invalid.html", message=str(exc)))
            return

        for accession in dict.fromkeys(_accessions(link)):
            try:
                await self.blocking(self.store.case, accession)
            except NotFoundError:
                self.set_status(404)
                self.finish(
                    self.render_template("case_not_found.html", accession=accession)
                )
                return

        html = self.render_template(
            "split.html",
            panes=len(_accessions(link)),
            api_url=url_path_join(self.base_url, "claripacs/api/"),
            page_js_url=self.static_url("page.js"),
        )
        self.finish(html)


_CASE = r"claripacs/api/cases/(?P<accession>[^/]+)"
_INSTANCE = _CASE + r"/instances/(?P<sop_uid>[^/]+)"

#: URL patterns (joined to the server's base URL by the ExtensionApp).
HANDLERS: list[tuple[str, type[web.RequestHandler]]] = [
    (r"claripacs/api/cases/?", CasesHandler),
    (r"claripacs/api/folders/?", FoldersHandler),
    (r"claripacs/api/upload/?", UploadHandler),
    (r"claripacs/api/reviews/?", ReviewQueueHandler),
    (r"claripacs/api/anonymize/?", AnonymizeHandler),
    (_CASE + r"/?", CaseHandler),
    (_CASE + r"/reviews(?:/(?P<series_uid>[^/]+))?/?", CaseReviewsHandler),
    (_CASE + r"/series/(?P<series_uid>[^/]+)/mask", MaskHandler),
    (_CASE + r"/zip", ZipHandler),
    (_INSTANCE + r"/dicom", DicomHandler),
    (_INSTANCE + r"/frames/(?P<frame>[^/]+)\.png", PngFrameHandler),
    (_INSTANCE + r"/frames/(?P<frame>[^/]+)/raw", RawFrameHandler),
    (r"claripacs/case/(?P<accession>[^/]+)/?", CasePageHandler),
    (SPLIT_PATH + r"/?", SplitPageHandler),
]
