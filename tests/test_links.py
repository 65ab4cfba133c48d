"""The open URL format: case_url builds what parse_case_url reads."""

from __future__ import annotations

import doctest

import pytest

from claripacs_jupyter import links
from claripacs_jupyter.errors import InvalidInputError
from claripacs_jupyter.links import case_url, parse_case_url

FULL_VIEW = {
    "series": "1.2.840.113619.2.5.1",
    "image": 12,
    "window_level": -600.0,
    "window_width": 1500.0,
    "zoom": 2.5,
    "xpos": 100.25,
    "ypos": 311.0,
    "mode": "simple",
}


def test_case_url_writes_the_guides_names_in_a_fixed_order() -> None:
    view = dict(reversed(FULL_VIEW.items()))

    url = case_url("http://localhost:8888/", "CP-7", **view)

    assert url == (
        "http://localhost:8888/claripacs/case/CP-7?series=1.2.840.113619.2.5.1"
        "&image=12&window_level=-600&window_width=1500&zoom=2.5&xpos=100.25"
        "&ypos=311&mode=simple"
    )


def test_every_view_parameter_round_trips() -> None:
    url = case_url("http://host/user/ana", "A 1/2", **FULL_VIEW)

    accession, view = parse_case_url(url)

    assert accession == "A 1/2"
    assert view == FULL_VIEW
    assert isinstance(view["image"], int)


def test_a_case_url_without_a_view_has_no_query() -> None:
    url = case_url("/", "CP-7", zoom=None)

    assert url == "/claripacs/case/CP-7"
    assert parse_case_url(url) == ("CP-7", {})


def test_parse_keeps_only_view_parameters_and_types_them() -> None:
    url = "https://pacs.example/claripacs/case/CP-9/?token=abc&image=3&zoom=0.5&xpos="

    accession, view = parse_case_url(url)

    assert accession == "CP-9"
    assert view == {"image": 3, "zoom": 0.5}


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"image": 0}, "counted from 1"),
        ({"image": 2.5}, "whole number"),
        ({"window_level": 40}, "together"),
        ({"window_level": 40, "window_width": 0}, "at least 1"),
        ({"zoom": 0}, "greater than 0"),
        ({"xpos": float("nan")}, "finite"),
        ({"ypos": "left"}, "must be a number"),
        ({"mode": "full"}, "only be 'simple'"),
        ({"layout": "cols"}, "unknown view parameter"),
    ],
)
def test_case_url_refuses_a_view_the_viewer_cannot_show(
    view: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        case_url("/", "CP-7", **view)


@pytest.mark.parametrize(
    "url",
    [
        "http://host/claripacs/api/cases/CP-7",
        "http://host/claripacs/case/",
        "http://host/claripacs/case/CP-7/zip",
    ],
)
def test_parse_refuses_urls_that_are_not_case_pages(url: str) -> None:
    with pytest.raises(InvalidInputError, match="not a case page URL"):
        parse_case_url(url)


def test_parse_refuses_an_unusable_view_value() -> None:
    url = "/claripacs/case/CP-7?image=first"

    with pytest.raises(InvalidInputError, match="image must be a number"):
        parse_case_url(url)


def test_module_examples_hold() -> None:
    result = doctest.testmod(links)

    assert result.attempted == 2
    assert result.failed == 0
