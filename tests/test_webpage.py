"""The look shared by the pages snekomatic shows a person (snekomatic.webpage)."""

from __future__ import annotations

from snekomatic.webpage import FAVICON_LINK, STYLESHEET, webpage


def test_a_page_carries_the_stylesheet_and_the_favicon() -> None:
    page = webpage("Title", "<p>content</p>")
    assert STYLESHEET in page and FAVICON_LINK in page


def test_the_favicon_is_an_inline_svg_so_no_route_serves_it() -> None:
    assert FAVICON_LINK.startswith('<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,')
    assert "#" not in FAVICON_LINK  # a raw '#' would end the data URL early


def test_the_title_is_escaped_and_the_content_is_not() -> None:
    page = webpage("<b>T</b>", "<p>kept</p>", intro="<i>also kept</i>")
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in page
    assert "<p>kept</p>" in page and "<i>also kept</i>" in page
