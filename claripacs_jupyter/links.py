"""The open URL format of a case page: build and parse links to a view of a case.

A case page lives at ``<base_url>claripacs/case/<accession>``. Its query names
the view with the reference guide's parameters, which the page's viewer reads
and writes in the browser (``widgets/static/links.js``):

``series``
    the series UID.
``image``
    the image number in the series, counted from 1.
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

Examples
--------
>>> case_url("http://localhost:8888/", "CP-7", image=12, window_width=400,
...          window_level=40)
'http://localhost:8888/claripacs/case/CP-7?image=12&window_level=40&window_width=400'
>>> parse_case_url("/claripacs/case/CP-7?image=12&mode=simple")
('CP-7', {'image': 12, 'mode': 'simple'})
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from claripacs_jupyter.errors import InvalidInputError

__all__ = ["CASE_PATH", "VIEW_PARAMS", "case_url", "parse_case_url"]

CASE_PATH = "claripacs/case/"
"""Path of the case pages under a server's base URL."""

VIEW_PARAMS = (
    "series",
    "image",
    "window_level",
    "window_width",
    "zoom",
    "xpos",
    "ypos",
    "mode",
)
"""The view's query parameters, in the order :func:`case_url` writes them."""

_FLOATS = ("window_level", "window_width", "zoom", "xpos", "ypos")


def _number(name: str, value: Any) -> float:
    """A finite float from a parameter's value, or InvalidInputError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InvalidInputError(f"{name} must be a finite number, not {value!r}")
    return number


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
        elif name == "image":
            number = _number(name, value)
            if number < 1 or not number.is_integer():
                raise InvalidInputError(
                    f"image is counted from 1 and must be a whole number, not {value!r}"
                )
            checked[name] = int(number)
        elif name == "mode":
            if value != "simple":
                raise InvalidInputError(f"mode can only be 'simple', not {value!r}")
            checked[name] = "simple"
        else:
            checked[name] = _number(name, value)

    if ("window_level" in checked) != ("window_width" in checked):
        raise InvalidInputError("give window_level and window_width together")
    if checked.get("window_width", 1) < 1:
        raise InvalidInputError("window_width must be at least 1")
    if checked.get("zoom", 1) <= 0:
        raise InvalidInputError("zoom must be greater than 0")
    return checked


def _text(value: Any) -> str:
    """A parameter's value as the URL writes it: whole floats without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
        ``image`` (from 1), ``window_level``, ``window_width``, ``zoom``,
        ``xpos``, ``ypos``, ``mode="simple"``. ``None`` leaves a parameter out.

    Returns
    -------
    str
        The URL, its parameters in the order of :data:`VIEW_PARAMS`.

    Raises
    ------
    InvalidInputError
        An empty accession, an unknown parameter, or a value the viewer cannot
        show (an image below 1, one window parameter without the other, a window
        width below 1, a zoom not above 0, a number that is not finite).
    """
    if not accession:
        raise InvalidInputError("a case URL needs an accession")
    checked = _checked(view)

    base = base_url if base_url.endswith("/") else base_url + "/"
    url = f"{base}{CASE_PATH}{quote(accession, safe='')}"
    query = urlencode({name: _text(value) for name, value in checked.items()})
    return f"{url}?{query}" if query else url


def parse_case_url(url: str) -> tuple[str, dict[str, Any]]:
    """Read the accession and the view from a link to a case page.

    Parameters
    ----------
    url : str
        An absolute URL or a path, with or without a query.

    Returns
    -------
    tuple of (str, dict)
        The accession and the view: only the parameters the URL names, typed as
        :func:`case_url` takes them (``image`` an int, ``series`` and ``mode``
        strings, the others floats). Parameters of other uses (``token``) are
        left out.

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
    return accession, _checked(view)
