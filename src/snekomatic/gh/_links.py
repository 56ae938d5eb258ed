"""The ``Link`` header (RFC 8288) as GitHub uses it for pagination.

GitHub sends ``<https://api.github.com/...&page=2>; rel="next", <...&page=5>; rel="last"``.
https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api

The grammar (RFC 8288 section 3, with RFC 9110's ``token`` and ``quoted-string``)::

    Link       = #link-value
    link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
    link-param = token BWS [ "=" BWS ( token / quoted-string ) ]

The parser is one left-to-right pass over the string with a cursor that never moves back, so its
cost is linear in the header's length whatever the input (no regular expressions, no backtracking).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from snekomatic.gh._headers import lowered

# RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#   "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"
# Characters that cannot appear in a header value at all (CR, LF, NUL and the other controls).
_FORBIDDEN_IN_HEADER = frozenset(chr(c) for c in range(0x20) if c != 0x09) | {"\x7f"}


@dataclass(frozen=True)
class Link:
    """One link of a ``Link`` header: its target ``url`` and its parameters.

    ``params`` maps lower-case parameter names to values, e.g. ``{"rel": "next"}``; the relation type
    is ``params["rel"]`` (it may hold several space-separated types, as RFC 8288 allows).
    """

    url: str
    params: Mapping[str, str]


class _Cursor:
    """A position in ``text`` that only moves forward."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def take_token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TCHAR:
            self.pos += 1
        return self.text[start : self.pos]

    def take_quoted(self) -> str | None:
        """The unescaped contents of the quoted-string at the cursor, or None when it never ends."""
        self.pos += 1  # the opening quote
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == '"':
                return "".join(chars)
            if char == "\\" and self.pos < len(self.text):
                char = self.text[self.pos]
                self.pos += 1
            chars.append(char)
        return None

    def skip_to_next_link(self) -> None:
        """Move past the rest of a malformed link-value: to the next comma outside a quoted-string."""
        quoted = False
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if quoted and char == "\\":
                self.pos += 1
            elif char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                return


def _parse_params(cursor: _Cursor) -> dict[str, str] | None:
    """The link-params after a ``<url>``, up to the comma ending the link-value; None if malformed."""
    params: dict[str, str] = {}
    while True:
        cursor.skip(_OWS)
        if cursor.at_end():
            return params
        if cursor.peek() == ",":
            cursor.pos += 1
            return params
        if cursor.peek() != ";":
            return None
        cursor.pos += 1
        cursor.skip(_OWS)
        if cursor.peek() in (",", ""):
            continue  # an empty parameter ("<u>;"), harmless
        name = cursor.take_token().lower()
        if not name:
            return None
        cursor.skip(_OWS)
        value = ""
        if cursor.peek() == "=":
            cursor.pos += 1
            cursor.skip(_OWS)
            if cursor.peek() == '"':
                quoted = cursor.take_quoted()
                if quoted is None:
                    return None
                value = quoted
            else:
                value = cursor.take_token()
                if not value:
                    return None
        # RFC 8288 section 3.3: occurrences of "rel" after the first MUST be ignored; we do the same
        # for every parameter.
        params.setdefault(name, value)


def parse_link_header(value: str) -> list[Link]:
    """The links in a ``Link`` header ``value``, in order.

    Parameter names are case-insensitive (returned lower-case); values may be tokens or
    quoted-strings (backslash escapes undone). Commas inside ``<...>`` or inside quoted-strings do not
    split links. A malformed link-value (no ``<url>``, a stray character, an unterminated quote) is
    skipped and parsing resumes at the next link; nothing is ever raised. Linear time in
    ``len(value)``. Pure: not a checkpoint.
    """
    cursor = _Cursor(value)
    links: list[Link] = []
    while True:
        cursor.skip(_OWS + ",")
        if cursor.at_end():
            return links
        if cursor.peek() != "<":
            cursor.skip_to_next_link()
            continue
        end = value.find(">", cursor.pos + 1)
        if end == -1:
            return links  # no later link could be complete either
        url = value[cursor.pos + 1 : end].strip(_OWS)
        cursor.pos = end + 1
        params = _parse_params(cursor)
        if params is None:
            cursor.skip_to_next_link()
            continue
        links.append(Link(url, params))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_link_header(links: Iterable[Link]) -> str:
    """Render ``links`` as a ``Link`` header value: ``<url>; name="value", ...``.

    Every value is written as a quoted-string. :func:`parse_link_header` gives back equal links for
    any links this accepts. Raises ``ValueError`` when a link cannot be represented: a URL holding
    ``>`` or surrounding whitespace, a parameter name that is not a lower-case token, or a control
    character (CR, LF, ...) anywhere. Pure: not a checkpoint.
    """
    rendered: list[str] = []
    for link in links:
        if ">" in link.url or link.url != link.url.strip(_OWS):
            raise ValueError("a link URL cannot contain '>' or surrounding whitespace")
        if not _FORBIDDEN_IN_HEADER.isdisjoint(link.url):
            raise ValueError("a link URL cannot contain control characters")
        parts = [f"<{link.url}>"]
        for name, param_value in link.params.items():
            if not name or not _TCHAR.issuperset(name) or name != name.lower():
                raise ValueError(f"link parameter name {name!r} is not a lower-case token")
            if not _FORBIDDEN_IN_HEADER.isdisjoint(param_value):
                raise ValueError("a link parameter value cannot contain control characters")
            parts.append(f"{name}={_quote(param_value)}")
        rendered.append("; ".join(parts))
    return ", ".join(rendered)


def next_page_url(headers: Mapping[str, str]) -> str | None:
    """The URL of the link whose ``rel`` includes ``next`` in the response's ``Link`` header, or None.

    Header names are matched case-insensitively; relation types too. The URL is returned as GitHub
    sent it: the caller checks its origin (:func:`expand_url`) before following it. Pure: not a
    checkpoint.
    """
    value = lowered(headers).get("link")
    if value is None:
        return None
    for link in parse_link_header(value):
        if "next" in link.params.get("rel", "").lower().split():
            return link.url
    return None
