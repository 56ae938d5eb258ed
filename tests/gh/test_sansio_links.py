"""Link headers (RFC 8288): GitHub's and the RFC's examples, malformed pieces, round-trips, big inputs.

Linear time is a property of the parser's shape (one forward cursor, no regular expressions); the
100 KB inputs below check it gives the right answer on pathological input. Its speed is measured in
the benchmarks, not asserted here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh._links import MAX_LINK_PARAMS, MAX_LINK_VALUES
from snekomatic.gh.sansio import Link, format_link_header, next_page_url, parse_link_header

GITHUB_LINK = (
    '<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", '
    '<https://api.github.com/repositories/1300192/issues?page=4>; rel="next", '
    '<https://api.github.com/repositories/1300192/issues?page=515>; rel="last", '
    '<https://api.github.com/repositories/1300192/issues?page=1>; rel="first"'
)
HUNDRED_KB = 100 * 1024


def test_githubs_pagination_header_parses() -> None:
    links = parse_link_header(GITHUB_LINK)

    assert [(link.params["rel"], link.url.rsplit("=", 1)[1]) for link in links] == [
        ("prev", "2"),
        ("next", "4"),
        ("last", "515"),
        ("first", "1"),
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(
            '<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"',
            [
                Link(
                    "http://example.com/TheBook/chapter2",
                    {"rel": "previous", "title": "previous chapter"},
                )
            ],
            id="rfc8288-3.5-first",
        ),
        pytest.param(
            '</>; rel="http://example.net/foo"',
            [Link("/", {"rel": "http://example.net/foo"})],
            id="rfc8288-3.5-extension-relation",
        ),
        pytest.param(
            '</terms>; rel="copyright"; anchor="#foo"',
            [Link("/terms", {"rel": "copyright", "anchor": "#foo"})],
            id="rfc8288-3.5-anchor",
        ),
        pytest.param(
            "</TheBook/chapter2>; rel=\"previous\"; title*=UTF-8'de'letztes%20Kapitel, "
            "</TheBook/chapter4>; rel=\"next\"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel",
            [
                Link(
                    "/TheBook/chapter2", {"rel": "previous", "title*": "UTF-8'de'letztes%20Kapitel"}
                ),
                Link(
                    "/TheBook/chapter4",
                    {"rel": "next", "title*": "UTF-8'de'n%c3%a4chstes%20Kapitel"},
                ),
            ],
            id="rfc8288-3.5-extended-title",
        ),
        pytest.param(
            '<http://example.org/>; rel="start http://example.net/relation/other"',
            [Link("http://example.org/", {"rel": "start http://example.net/relation/other"})],
            id="rfc8288-3.5-two-relations",
        ),
    ],
)
def test_rfc8288_examples_parse(header: str, expected: list[Link]) -> None:
    assert parse_link_header(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("<u>; REL=next", {"rel": "next"}, id="upper-case-name"),
        pytest.param("<u>; rel=next", {"rel": "next"}, id="token-value"),
        pytest.param('<u> ; rel = "next"', {"rel": "next"}, id="whitespace-around"),
        pytest.param('<u>; title="a, b; c"', {"title": "a, b; c"}, id="comma-in-quotes"),
        pytest.param(r'<u>; title="say \"hi\" \\o/"', {"title": 'say "hi" \\o/'}, id="escapes"),
        pytest.param('<u>; rel="next"; rel="last"', {"rel": "next"}, id="first-rel-wins"),
        pytest.param("<u>; hreflang", {"hreflang": ""}, id="name-without-value"),
        pytest.param("<u>;", {}, id="trailing-semicolon"),
    ],
)
def test_parameters_parse(header: str, expected: dict[str, str]) -> None:
    assert parse_link_header(header) == [Link("u", expected)]


def test_comma_inside_url_does_not_split_links() -> None:
    assert parse_link_header('<https://a/x?q=1,2>; rel="next"') == [
        Link("https://a/x?q=1,2", {"rel": "next"})
    ]


@pytest.mark.parametrize(
    ("header", "expected_urls"),
    [
        pytest.param("", [], id="empty"),
        pytest.param(" , ,", [], id="only-separators"),
        pytest.param('garbage, <b>; rel="next"', ["b"], id="no-angle-brackets"),
        pytest.param('<a>; rel="next" junk, <b>; rel="last"', ["b"], id="stray-token"),
        pytest.param('<a>; =x, <b>; rel="last"', ["b"], id="parameter-without-name"),
        pytest.param('<a>; rel=, <b>; rel="last"', ["b"], id="parameter-without-value"),
        pytest.param('<a>; t="x, y" junk, <b>', ["b"], id="junk-after-quoted-comma"),
        pytest.param('<a>; rel="next, <b>; rel=last', [], id="unterminated-quote"),
        pytest.param('<a>; rel="next", <b', ["a"], id="unterminated-url"),
    ],
)
def test_malformed_pieces_are_skipped(header: str, expected_urls: list[str]) -> None:
    assert [link.url for link in parse_link_header(header)] == expected_urls


@pytest.mark.parametrize(
    ("header", "expected_count"),
    [
        pytest.param("<" * HUNDRED_KB, 0, id="open-angles"),
        pytest.param(";" * HUNDRED_KB, 0, id="semicolons"),
        pytest.param("," * HUNDRED_KB, 0, id="commas"),
        pytest.param('"' * HUNDRED_KB, 0, id="quotes"),
        pytest.param('<a>; t="' + "\\" * HUNDRED_KB, 0, id="unterminated-escapes"),
        pytest.param("<a>" + "; x" * (HUNDRED_KB // 3), 1, id="many-parameters"),
        pytest.param("<a>, " * (HUNDRED_KB // 5), MAX_LINK_VALUES, id="many-links"),
        pytest.param("<a> x, " * (HUNDRED_KB // 7), 0, id="many-malformed-links"),
        pytest.param('"",' * (HUNDRED_KB // 3), 0, id="many-empty-quotes"),
        pytest.param("<a>" + ";" * HUNDRED_KB, 1, id="many-empty-parameters"),
        pytest.param("<," * (HUNDRED_KB // 2) + "> junk", 0, id="commas-in-one-unfinished-url"),
        pytest.param("<" + "a" * HUNDRED_KB + ">", 1, id="long-url"),
        pytest.param("<a>; " + "=" * HUNDRED_KB, 0, id="equals-signs"),
    ],
)
def test_pathological_100kb_headers_parse(header: str, expected_count: int) -> None:
    assert len(parse_link_header(header)) == expected_count


def test_only_the_first_link_values_are_read() -> None:
    header = "<bad> x, " * MAX_LINK_VALUES + '<https://a/2>; rel="next"'

    assert parse_link_header(header) == []


def test_only_the_first_parameters_of_a_link_are_read() -> None:
    header = "<u>" + "".join(f"; p{i}={i}" for i in range(MAX_LINK_PARAMS + 5))

    (link,) = parse_link_header(header)

    assert list(link.params) == [f"p{i}" for i in range(MAX_LINK_PARAMS)]


def test_next_page_url_finds_rel_next() -> None:
    assert next_page_url({"Link": GITHUB_LINK}) == (
        "https://api.github.com/repositories/1300192/issues?page=4"
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-link-header"),
        pytest.param({"link": '<https://a/1>; rel="prev"'}, id="no-next"),
        pytest.param({"link": '<https://a/1>; rel="nextpage"'}, id="similar-rel"),
    ],
)
def test_next_page_url_is_none_without_rel_next(headers: dict[str, str]) -> None:
    assert next_page_url(headers) is None


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"LINK": '<https://a/2>; rel="next"'}, id="upper-case-header"),
        pytest.param({"link": '<https://a/2>; REL="NEXT"'}, id="upper-case-rel"),
        pytest.param({"link": '<https://a/2>; rel="last next"'}, id="one-of-several-rels"),
    ],
)
def test_next_page_url_matches_case_insensitively(headers: dict[str, str]) -> None:
    assert next_page_url(headers) == "https://a/2"


def test_format_link_header_renders_quoted_parameters() -> None:
    links = [Link("https://a/2", {"rel": "next"}), Link("https://a/9", {"rel": "last"})]

    assert format_link_header(links) == '<https://a/2>; rel="next", <https://a/9>; rel="last"'


@pytest.mark.parametrize(
    "link",
    [
        pytest.param(Link("https://a/>", {}), id="angle-in-url"),
        pytest.param(Link(" https://a", {}), id="space-around-url"),
        pytest.param(Link("https://a\r\nX-Evil: 1", {}), id="crlf-in-url"),
        pytest.param(Link("https://a", {"Rel": "next"}), id="upper-case-name"),
        pytest.param(Link("https://a", {"re l": "next"}), id="name-not-a-token"),
        pytest.param(Link("https://a", {"": "next"}), id="empty-name"),
        pytest.param(Link("https://a", {"rel": "next\n"}), id="newline-in-value"),
    ],
)
def test_format_link_header_refuses_unrepresentable_links(link: Link) -> None:
    with pytest.raises(ValueError):
        format_link_header([link])


_header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
_urls = _header_text.filter(lambda url: ">" not in url and url == url.strip(" \t"))
_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~", min_size=1, max_size=10
)
_links = st.builds(Link, _urls, st.dictionaries(_names, _header_text, max_size=4))


@given(links=st.lists(_links, max_size=5))
def test_format_then_parse_round_trips(links: list[Link]) -> None:
    assert parse_link_header(format_link_header(links)) == links


@given(header=st.text())
def test_any_text_parses_without_raising(header: str) -> None:
    assert isinstance(parse_link_header(header), list)
