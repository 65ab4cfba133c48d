"""The open URL format: build and parse links to a view of a case or a split.

A case page lives at ``<base_url>claripacs/case/<accession>``. Its query names
the view with the reference guide's parameters, which the page's viewer reads
and writes in the browser (``widgets/static/links.js``):

``series``
    the series UID.
``stack``
    the stack within the series, counted from 1 (a series that mixes
    orientations or image sizes has several); written only above 1.
``image``
    the image number in the stack, counted from 1.
``window_level``, ``window_width``
    the window centre and width, in the modality's units; both or neither.
``zoom``
    magnification over "fit to frame" (1 fits the image).
``xpos``, ``ypos``
    the image point at the centre of the view, in image pixel coordinates:
    ``xpos`` along the columns, ``ypos`` along the rows, 0 at the image's left
    and top edges (the centre of a 512 x 512 image is 256, 256). A point of the
    image rather than of the screen, so a link shows the same part of the image
    in a window of any size.
``mode``
    ``"simple"`` hides the menus and icons.
``annotations``
    a JSON array of ``{"type", "image", "points", "text"?}``: ``type`` one of
    arrow, text, length, ellipse, angle; ``image`` counted from 1; ``points``
    ``[x, y]`` pairs in image pixel coordinates (as ``xpos``, ``ypos``), 2 for
    an arrow (tail, head), a length and an ellipse (opposite corners of its
    box), 1 for a text (its anchor, with ``text``), 3 for an angle (end,
    vertex, end), written to 0.1 pixel.
``key``
    the key images: comma-separated image numbers, from 1.
``link``
    ``1``: the viewer starts linked with the page's other viewers.

A split page, ``<base_url>claripacs/split``, shows two panes in columns or
rows: ``type`` is ``cols`` or ``rows``, ``size`` the first pane's share in
percent, ``url1`` and ``url2`` the panes, each a case URL or a split URL.

Examples
--------
>>> case_url("http://localhost:8888/", "CP-7", image=12, window_width=400,
...          window_level=40)
'http://localhost:8888/claripacs/case/CP-7?image=12&window_level=40&window_width=400'
>>> parse_case_url("/claripacs/case/CP-7?image=12&mode=simple")
CaseLink(accession='CP-7', view={'image': 12, 'mode': 'simple'})
>>> split_url("/", "/claripacs/case/CP-7", "/claripacs/case/CP-8?image=3",
...           size=30)  # doctest: +NORMALIZE_WHITESPACE
'/claripacs/split?type=cols&size=30&url1=%2Fclaripacs%2Fcase%2FCP-7&url2=%2Fclaripacs%2Fcase%2FCP-8%3Fimage%3D3'
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from claripacs_jupyter.errors import InvalidInputError

__all__ = [
    "ANNOTATION_POINTS",
    "CASE_PATH",
    "SPLIT_PATH",
    "VIEW_PARAMS",
    "CaseLink",
    "SplitLink",
    "case_url",
    "parse_case_url",
    "parse_split_url",
    "parse_url",
    "split_url",
]

CASE_PATH = "claripacs/case/"
"""Path of the case pages under a server's base URL."""

SPLIT_PATH = "claripacs/split"
"""Path of the split pages under a server's base URL."""

VIEW_PARAMS = (
    "series",
    "stack",
    "image",
    "window_level",
    "window_width",
    "zoom",
    "xpos",
    "ypos",
    "mode",
    "annotations",
    "key",
    "link",
)
"""The view's query parameters, in the order :func:`case_url` writes them."""

ANNOTATION_POINTS = {"arrow": 2, "text": 1, "length": 2, "ellipse": 2, "angle": 3}
"""How many ``[x, y]`` points each annotation type has."""

SPLIT_TYPES = ("cols", "rows")
"""The layouts of a split page: side by side, or one above the other."""

MAX_SPLIT_DEPTH = 6
"""How deep split URLs may nest (the page in the browser keeps the same limit)."""


class CaseLink(NamedTuple):
    """A link to a case page: its accession and its view (see the module)."""

    accession: str
    view: dict[str, Any]


class SplitLink(NamedTuple):
    """A link to a split page: the layout and its two panes, parsed."""

    type: str
    size: float
    first: CaseLink | SplitLink
    second: CaseLink | SplitLink
    mode: str | None = None
    link: bool = False


def _number(name: str, value: Any) -> float:
    """A finite float from a parameter's value, or InvalidInputError."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InvalidInputError(f"{name} must be a finite number, not {value!r}")
    return number


def _counted(name: str, value: Any) -> int:
    """A whole number from 1, or InvalidInputError."""
    number = _number(name, value)
    if number < 1 or not number.is_integer():
        raise InvalidInputError(
            f"{name} is counted from 1 and must be a whole number, not {value!r}"
        )
    return int(number)


def _tenth(value: float) -> int | float:
    """A coordinate to 0.1 pixel, whole ones as int (as links.js writes them)."""
    rounded = round(value, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return int(rounded) if rounded.is_integer() else rounded


def _annotation(value: Any) -> dict[str, Any]:
    """One annotation of a view, checked and typed; InvalidInputError if off."""
    if not isinstance(value, dict):
        raise InvalidInputError(f"an annotation must be an object, not {value!r}")
    kind = value.get("type")
    if kind not in ANNOTATION_POINTS:
        raise InvalidInputError(
            f"annotation type {kind!r} is unknown; use {', '.join(ANNOTATION_POINTS)}"
        )
    unknown = sorted(set(value) - {"type", "image", "points", "text"})
    if unknown:
        raise InvalidInputError(f"unknown annotation field(s) {', '.join(unknown)}")

    points = value.get("points")
    count = ANNOTATION_POINTS[kind]
    if not isinstance(points, list | tuple) or len(points) != count:
        raise InvalidInputError(f"a {kind} annotation has {count} [x, y] point(s)")
    checked: dict[str, Any] = {
        "type": kind,
        "image": _counted("an annotation's image", value.get("image")),
        "points": [],
    }
    for point in points:
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise InvalidInputError(f"an annotation point is [x, y], not {point!r}")
        checked["points"].append(
            [_tenth(_number("an annotation point", c)) for c in point]
        )
    if "text" in value or kind == "text":
        if not isinstance(value.get("text"), str):
            raise InvalidInputError("a text annotation needs its text as a string")
        checked["text"] = value["text"]
    return checked


def _annotations(value: Any) -> list[dict[str, Any]]:
    """A view's annotations (a list, or its JSON text), checked."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInputError("annotations must be a JSON array") from None
    if not isinstance(value, list | tuple):
        raise InvalidInputError("annotations must be a list (a JSON array)")
    return [_annotation(item) for item in value]


def _keys(value: Any) -> list[int]:
    """Key image numbers (a list, or comma-separated text), sorted and unique."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise InvalidInputError(f"key must be image numbers, not {value!r}")
    return sorted({_counted("a key image", item) for item in items})


def _link(value: Any) -> bool | None:
    """``link``: True for 1 (or True), None for False; InvalidInputError if off."""
    if value is True or value in (1, "1"):
        return True
    if value is False:
        return None
    raise InvalidInputError(f"link can only be 1, not {value!r}")


def _checked(view: dict[str, Any]) -> dict[str, Any]:
    """The view with typed values, in VIEW_PARAMS order; InvalidInputError if off."""
    unknown = sorted(set(view) - set(VIEW_PARAMS))
    if unknown:
        raise InvalidInputError(
            f"unknown view parameter(s) {', '.join(unknown)}; "
            f"use {', '.join(VIEW_PARAMS)}"
        )

    checked: dict[str, Any] = {}
    for name in VIEW_PARAMS:
        value = view.get(name)
        if value is None:
            continue
        if name == "series":
            if not str(value):
                raise InvalidInputError("series must be a series UID, not empty")
            checked[name] = str(value)
        elif name in ("image", "stack"):
            checked[name] = _counted(name, value)
        elif name == "mode":
            if value != "simple":
                raise InvalidInputError(f"mode can only be 'simple', not {value!r}")
            checked[name] = "simple"
        elif name == "annotations":
            annotations = _annotations(value)
            if annotations:
                checked[name] = annotations
        elif name == "key":
            keys = _keys(value)
            if keys:
                checked[name] = keys
        elif name == "link":
            if _link(value):
                checked[name] = True
        else:
            checked[name] = _number(name, value)

    if checked.get("stack") == 1:
        del checked["stack"]  # the first stack is every series' default
    if ("window_level" in checked) != ("window_width" in checked):
        raise InvalidInputError("give window_level and window_width together")
    if checked.get("window_width", 1) < 1:
        raise InvalidInputError("window_width must be at least 1")
    if checked.get("zoom", 1) <= 0:
        raise InvalidInputError("zoom must be greater than 0")
    return checked


def _text(name: str, value: Any) -> str:
    """A parameter's value as the URL writes it: whole floats without ".0"."""
    if name == "annotations":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if name == "key":
        return ",".join(str(k) for k in value)
    if name == "link":
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _base(base_url: str) -> str:
    return base_url if base_url.endswith("/") else base_url + "/"


def case_url(base_url: str, accession: str, **view: Any) -> str:
    """Build the link to a case page that opens at a view.

    Parameters
    ----------
    base_url : str
        The Jupyter server's base URL, absolute (``"http://host:8888/"``) or a
        path (``"/"``, ``"/user/ana/"``).
    accession : str
        The case's accession in the store.
    **view
        The view, with the names of the module docstring: ``series``,
        ``stack`` and ``image`` (from 1), ``window_level``, ``window_width``,
        ``zoom``, ``xpos``, ``ypos``, ``mode="simple"``, ``annotations`` (a
        list of dicts, ``image`` from 1), ``key`` (image numbers from 1),
        ``link=True``. ``None`` leaves a parameter out, and so do an empty
        list, ``link=False`` and ``stack=1``.

    Returns
    -------
    str
        The URL, its parameters in the order of :data:`VIEW_PARAMS`.

    Raises
    ------
    InvalidInputError
        An empty accession, an unknown parameter, or a value the viewer cannot
        show (an image or stack below 1, one window parameter without the
        other, a window width below 1, a zoom not above 0, a number that is not
        finite, an annotation of an unknown type or with the wrong number of
        points, a key image below 1).
    """
    if not accession:
        raise InvalidInputError("a case URL needs an accession")
    checked = _checked(view)

    url = f"{_base(base_url)}{CASE_PATH}{quote(accession, safe='')}"
    query = urlencode({name: _text(name, value) for name, value in checked.items()})
    return f"{url}?{query}" if query else url


def parse_case_url(url: str, *, lenient: bool = False) -> CaseLink:
    """Read the accession and the view from a link to a case page.

    Parameters
    ----------
    url : str
        An absolute URL or a path, with or without a query.
    lenient : bool
        Leave out the view parameters that cannot be used, as the case page
        does, instead of refusing the URL.

    Returns
    -------
    CaseLink
        A named tuple of the accession and the view: only the parameters the
        URL names, typed as :func:`case_url` takes them (``image``, ``stack``
        ints, ``series`` and ``mode`` strings, ``annotations`` a list of dicts,
        ``key`` a list of ints, ``link`` True, the others floats). Parameters
        of other uses (``token``) are left out.

    Raises
    ------
    InvalidInputError
        The URL is not a case page's, or a view parameter is unusable (see
        :func:`case_url`).
    """
    parts = urlsplit(url)
    head, found, tail = parts.path.rpartition("/" + CASE_PATH)
    accession = unquote(tail.rstrip("/"))
    if not found or not accession or "/" in tail.rstrip("/"):
        raise InvalidInputError(
            f"not a case page URL (expected .../{CASE_PATH}<accession>): {url!r}"
        )

    view: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in VIEW_PARAMS and value != "" and name not in view:
            view[name] = value
    if lenient:
        return CaseLink(accession, _usable(view))
    return CaseLink(accession, _checked(view))


def _usable(view: dict[str, Any]) -> dict[str, Any]:
    """The parameters of `view` that :func:`_checked` accepts, each on its own."""
    window = ("window_level", "window_width")
    groups = [{name: value} for name, value in view.items() if name not in window]
    groups.append({name: view[name] for name in window if name in view})
    usable: dict[str, Any] = {}
    for group in groups:
        try:
            usable.update(_checked(group))
        except InvalidInputError:
            continue  # the page leaves it out too
    return {name: usable[name] for name in VIEW_PARAMS if name in usable}


def _split_layout(kind: Any, size: Any) -> tuple[str, float]:
    if kind not in SPLIT_TYPES:
        raise InvalidInputError(f"a split's type is cols or rows, not {kind!r}")
    number = _number("size", size)
    if not 0 < number < 100:
        raise InvalidInputError(
            f"size is the first pane's percent, above 0 and below 100, not {size!r}"
        )
    return kind, number


def split_url(
    base_url: str,
    first: str,
    second: str,
    type: str = "cols",  # noqa: A002 - the URL's own name
    size: float = 50,
    *,
    mode: str | None = None,
    link: bool = False,
) -> str:
    """Build the link to a split page that shows two panes.

    Parameters
    ----------
    base_url : str
        The Jupyter server's base URL, absolute or a path.
    first, second : str
        The panes' URLs: case URLs (:func:`case_url`) or split URLs (nested).
    type : {"cols", "rows"}
        Side by side, or the first above the second.
    size : float
        The first pane's share, in percent (above 0, below 100).
    mode : {"simple", None}
        ``"simple"`` hides the menus and icons of every pane.
    link : bool
        Every pane starts linked.

    Returns
    -------
    str
        The URL: ``type``, ``size``, ``url1``, ``url2`` (then ``mode``,
        ``link`` when given).

    Raises
    ------
    InvalidInputError
        A type or size out of range, or a pane URL that :func:`parse_url`
        refuses (nesting deeper than :data:`MAX_SPLIT_DEPTH` included).
    """
    kind, number = _split_layout(type, size)
    link_on = _link(link)
    if mode is not None and mode != "simple":
        raise InvalidInputError(f"mode can only be 'simple', not {mode!r}")
    for pane in (first, second):
        _parse(pane, depth=1)

    params = {
        "type": kind,
        "size": _text("size", number),
        "url1": first,
        "url2": second,
    }
    if mode:
        params["mode"] = mode
    if link_on:
        params["link"] = "1"
    return f"{_base(base_url)}{SPLIT_PATH}?{urlencode(params)}"


#: A full URL or a path from the root (a relative one has no page to go from).
_ROOTED = re.compile(r"^(?:[a-z][a-z\d+.-]*:|/)", re.IGNORECASE)


def _parse(url: str, depth: int, lenient: bool = False) -> CaseLink | SplitLink:
    if not isinstance(url, str) or not url:
        raise InvalidInputError("a pane needs a case URL or a split URL")
    if not _ROOTED.match(url):
        raise InvalidInputError(
            f"a pane's URL is a full URL or a path from /, not {url!r}"
        )
    path = urlsplit(url).path.rstrip("/")
    if not path.endswith("/" + SPLIT_PATH) and path != SPLIT_PATH:
        return parse_case_url(url, lenient=lenient)
    if depth >= MAX_SPLIT_DEPTH:
        raise InvalidInputError(f"split URLs nest {MAX_SPLIT_DEPTH} deep at most")

    query: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        query.setdefault(name, value)
    kind, size = _split_layout(query.get("type", "cols"), query.get("size", "50"))
    panes = []
    for name in ("url1", "url2"):
        if not query.get(name):
            raise InvalidInputError(f"a split URL needs {name}, a case or split URL")
        panes.append(_parse(query[name], depth + 1, lenient))
    mode = query.get("mode") or None
    if mode is not None and mode != "simple":
        raise InvalidInputError(f"mode can only be 'simple', not {mode!r}")
    link = _link(query["link"]) if query.get("link") else None
    return SplitLink(kind, size, panes[0], panes[1], mode, bool(link))


def parse_url(url: str) -> CaseLink | SplitLink:
    """Read a case URL or a split URL (nested), whichever `url` is.

    Parameters
    ----------
    url : str
        An absolute URL or a path.

    Returns
    -------
    CaseLink or SplitLink
        The case and its view (as :func:`parse_case_url`), or the split's
        layout and panes, each parsed the same way.

    Raises
    ------
    InvalidInputError
        A URL of neither page, or an unusable value in any pane (see
        :func:`case_url` and :func:`split_url`). A split URL without ``type``
        or ``size`` takes cols and 50, as the page does.
    """
    return _parse(url, depth=0)


def parse_split_url(url: str, *, lenient: bool = False) -> SplitLink:
    """Read a split URL and its panes (nested splits included).

    Parameters
    ----------
    url : str
        An absolute URL or a path to ``claripacs/split``.
    lenient : bool
        Leave out the panes' unusable view parameters (see
        :func:`parse_case_url`); the layout is checked either way.

    Returns
    -------
    SplitLink
        The layout (type, size, mode, link) and the two panes.

    Raises
    ------
    InvalidInputError
        The URL is not a split page's, or :func:`parse_url` refuses it.
    """
    parsed = _parse(url, depth=0, lenient=lenient)
    if not isinstance(parsed, SplitLink):
        raise InvalidInputError(
            f"not a split page URL (expected .../{SPLIT_PATH}?...): {url!r}"
        )
    return parsed
