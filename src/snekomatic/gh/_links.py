"""The ``Link`` header (RFC 8288) as GitHub uses it for pagination.

GitHub sends ``<https://api.github.com/...&page=2>; rel="next", <...&page=5>; rel="last"``.
https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api

The grammar (RFC 8288 section 3, with RFC 9110's ``token`` and ``quoted-string``)::

    Link       = #link-value
    link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
    link-param = token BWS [ "=" BWS ( token / quoted-string ) ]

Linear time, whatever the input: the parser moves one position forward through the string, and the
regular expressions below use only possessive quantifiers (``*+``, ``++``, ``?+``, Python 3.11+),
which never give back what they consumed, so none of them can backtrack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from snekomatic.gh._headers import lowered

# RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#   "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"
# Characters that cannot appear in a header value at all (CR, LF, NUL and the other controls).
_FORBIDDEN_IN_HEADER = frozenset(chr(c) for c in range(0x20) if c != 0x09) | {"\x7f"}

_TCHARS_RUN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
_QUOTED_BODY = r'[^"\\]*+(?:\\.[^"\\]*+)*+'  # a quoted-string without its quotes
_PARAM = (
    r"[ \t]*+;[ \t]*+"
    rf'(?:({_TCHARS_RUN})(?:[ \t]*+=[ \t]*+(?:({_TCHARS_RUN})|"({_QUOTED_BODY})"))?+)?+'
)
# Separators, then "<" URI-Reference ">".
_TARGET = re.compile(r"[ \t,]*+<([^>]*+)>")
# The link-params after the target, up to the comma that ends the link-value (or the end).
_PARAMS = re.compile(rf"((?:{_PARAM})*+)[ \t]*+(?:,|\Z)", re.DOTALL)
_ONE_PARAM = re.compile(_PARAM, re.DOTALL)
# The rest of a malformed link-value: up to and including the next comma outside a quoted-string
# (an unterminated quoted-string runs to the end).
_REST_OF_LINK = re.compile(rf'(?:[^",]++|"{_QUOTED_BODY}"?+)*+,?+', re.DOTALL)
_SEPARATORS = re.compile(r"[ \t,]*+")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)

# GitHub sends at most four links (first, prev, next, last), each with one parameter (rel). Reading
# only the first link-values and parameters bounds the Python-level work on a hostile header; what
# is left unread costs nothing.
MAX_LINK_VALUES = 64
MAX_LINK_PARAMS = 32


@dataclass(frozen=True)
class Link:
    """One link of a ``Link`` header: its target ``url`` and its parameters.

    ``params`` maps lower-case parameter names to values, e.g. ``{"rel": "next"}``; the relation type
    is ``params["rel"]`` (it may hold several space-separated types, as RFC 8288 allows).
    """

    url: str
    params: Mapping[str, str]


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` (one that matches the empty string too) stops when started at ``pos``."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for _, match in zip(range(MAX_LINK_PARAMS), _ONE_PARAM.finditer(text), strict=False):
        name, token_value, quoted_value = match.groups(default="")
        if not name:
            continue  # an empty parameter ("<u>;"), harmless
        value = token_value or _ESCAPED.sub(r"\1", quoted_value)
        # RFC 8288 section 3.3: occurrences of "rel" after the first MUST be ignored; we do the same
        # for every parameter.
        params.setdefault(name.lower(), value)
    return params


def parse_link_header(value: str) -> list[Link]:
    """The links in a ``Link`` header ``value``, in order.

    Parameter names are case-insensitive (returned lower-case); values may be tokens or
    quoted-strings (backslash escapes undone). Commas inside ``<...>`` or inside quoted-strings do not
    split links. A malformed link-value (no ``<url>``, a stray character, a parameter without a name
    or value, an unterminated quote) is skipped and parsing resumes at the next link; nothing is ever
    raised. Only the first ``MAX_LINK_VALUES`` link-values (valid or not) and the first
    ``MAX_LINK_PARAMS`` parameters of each are read; the rest is ignored. Linear time in
    ``len(value)``. Pure: not a checkpoint.
    """
    links: list[Link] = []
    pos = 0
    end = len(value)
    for _ in range(MAX_LINK_VALUES):
        if pos >= end:
            break
        target = _TARGET.match(value, pos)
        if target is None:
            pos = _match_end(_SEPARATORS, value, pos)
            if pos < end and value[pos] == "<":
                break  # no ">" anywhere after this "<": no later link can be complete either
            pos = _match_end(_REST_OF_LINK, value, pos)
            continue
        params = _PARAMS.match(value, target.end())
        if params is None:
            # Resume after the next top-level comma, never before the ">" already read, so no
            # character is scanned more than twice.
            pos = _match_end(_REST_OF_LINK, value, target.end())
            continue
        links.append(Link(target.group(1).strip(_OWS), _params(params.group(1))))
        pos = params.end()
    return links


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
