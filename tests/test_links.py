"""The open URL format: case_url and split_url build what the parsers read."""

from __future__ import annotations

import doctest
from urllib.parse import urlencode

import pytest

from claripacs_jupyter import links
from claripacs_jupyter.errors import InvalidInputError
from claripacs_jupyter.links import (
    CaseLink,
    SplitLink,
    case_url,
    parse_case_url,
    parse_split_url,
    parse_url,
    split_url,
)

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
        ({"stack": 0}, "stack is counted from 1"),
        ({"key": [2, 0]}, "key image is counted from 1"),
        ({"key": "2,x"}, "key image must be a number"),
        ({"link": 2}, "link can only be 1"),
        ({"annotations": "[oops"}, "JSON array"),
        ({"annotations": [{"type": "star", "image": 1, "points": []}]}, "unknown"),
        ({"annotations": [{"type": "arrow", "image": 1, "points": [[1, 2]]}]}, "2 "),
        ({"annotations": [{"type": "text", "image": 1, "points": [[1, 2]]}]}, "text"),
        ({"annotations": [{"type": "angle", "image": 0, "points": [[0, 0]] * 3}]}, "1"),
        ({"annotations": [{"type": "length", "image": 1, "points": [[0], [1]]}]}, "x"),
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

    assert result.attempted == 3
    assert result.failed == 0


ANNOTATIONS = [
    {"type": "arrow", "image": 3, "points": [[10.04, 20.0], [30.25, 40.0]]},
    {"type": "text", "image": 1, "points": [[5.0, 6.0]], "text": "Fissure, é"},
    {"type": "length", "image": 2, "points": [[0.0, 0.0], [127.96, 64.0]]},
    {"type": "ellipse", "image": 2, "points": [[1.0, 2.0], [3.0, 4.0]]},
    {"type": "angle", "image": 6, "points": [[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]},
]


def test_the_new_view_parameters_round_trip_with_points_to_a_tenth() -> None:
    url = case_url(
        "/", "CP-7", stack=2, image=4, annotations=ANNOTATIONS, key=[5, 2], link=True
    )

    accession, view = parse_case_url(url)

    assert accession == "CP-7"
    assert list(view) == ["stack", "image", "annotations", "key", "link"]
    assert view["stack"] == 2
    assert view["key"] == [2, 5]
    assert view["link"] is True
    assert view["annotations"][0]["points"] == [[10, 20], [30.2, 40]]
    assert view["annotations"][1]["text"] == "Fissure, é"
    assert view["annotations"][2]["points"] == [[0, 0], [128, 64]]
    assert [a["type"] for a in view["annotations"]] == [
        "arrow",
        "text",
        "length",
        "ellipse",
        "angle",
    ]
    assert case_url("/", "CP-7", **view) == url


def test_annotations_are_written_as_compact_json_and_key_as_numbers() -> None:
    arrow = [{"type": "arrow", "image": 1, "points": [[1, 2], [3.5, 4]]}]

    url = case_url("/", "CP-7", annotations=arrow, key=[3, 1])

    assert url == (
        "/claripacs/case/CP-7?annotations="
        "%5B%7B%22type%22%3A%22arrow%22%2C%22image%22%3A1%2C%22points%22%3A"
        "%5B%5B1%2C2%5D%2C%5B3.5%2C4%5D%5D%7D%5D&key=1%2C3"
    )


def test_defaults_of_the_new_parameters_are_left_out() -> None:
    url = case_url("/", "CP-7", stack=1, annotations=[], key=[], link=False)

    assert url == "/claripacs/case/CP-7"


def test_a_nested_split_url_round_trips() -> None:
    left = case_url("http://host/", "CP-1", image=3, link=True)
    top = case_url("http://host/", "CP-2", zoom=2)
    bottom = case_url("http://host/", "CP 3/4", series="1.2.3")
    right = split_url("http://host/", top, bottom, type="rows", size=30)

    url = split_url("http://host/", left, right, size=62.5, mode="simple")

    assert url.startswith("http://host/claripacs/split?type=cols&size=62.5&url1=")
    assert parse_split_url(url) == SplitLink(
        "cols",
        62.5,
        CaseLink("CP-1", {"image": 3, "link": True}),
        SplitLink(
            "rows",
            30,
            CaseLink("CP-2", {"zoom": 2.0}),
            CaseLink("CP 3/4", {"series": "1.2.3"}),
        ),
        mode="simple",
    )


def test_parse_url_reads_either_page_and_a_split_without_layout_is_cols_50() -> None:
    case = "/claripacs/case/CP-7?image=2"
    split = "/claripacs/split/?" + urlencode(
        {"url1": "/claripacs/case/A", "url2": "/claripacs/case/B"}
    )

    parsed_case, parsed_split = parse_url(case), parse_url(split)

    assert parsed_case == ("CP-7", {"image": 2})
    assert parsed_split == SplitLink("cols", 50, CaseLink("A", {}), CaseLink("B", {}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "grid"}, "cols or rows"),
        ({"size": 0}, "above 0 and below 100"),
        ({"size": 100}, "above 0 and below 100"),
        ({"size": float("inf")}, "finite"),
        ({"first": "/claripacs/api/cases/A"}, "not a case page URL"),
        ({"second": "/claripacs/case/A?image=0"}, "counted from 1"),
        ({"second": ""}, "case URL or a split URL"),
        ({"mode": "full"}, "only be 'simple'"),
    ],
)
def test_split_url_refuses_what_the_page_cannot_lay_out(
    kwargs: dict[str, object], message: str
) -> None:
    arguments = {"first": "/claripacs/case/A", "second": "/claripacs/case/B", **kwargs}

    with pytest.raises(InvalidInputError, match=message):
        split_url("/", **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/claripacs/split?url1=%2Fclaripacs%2Fcase%2FA", "needs url2"),
        ("/claripacs/split?type=x&url1=a&url2=b", "cols or rows"),
        ("/claripacs/split?size=abc&url1=a&url2=b", "size must be a number"),
        ("/claripacs/case/A", "not a split page URL"),
        (
            "/claripacs/split?url1=%2Fclaripacs%2Fcase%2FA&url2=%2Fnowhere",
            "not a case page URL",
        ),
    ],
)
def test_parse_split_url_refuses_a_bad_split(url: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_split_url(url)


def test_splits_nest_six_deep_at_most() -> None:
    url = "/claripacs/case/A"
    for _ in range(6):
        url = split_url("/", url, "/claripacs/case/B")

    deeper = "/claripacs/split?" + urlencode({"url1": url, "url2": "/claripacs/case/C"})

    assert isinstance(parse_split_url(url), SplitLink)
    with pytest.raises(InvalidInputError, match="6 deep at most"):
        parse_split_url(deeper)
