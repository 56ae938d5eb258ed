"""Fuzzing URL expansion: expand_url.

The promises checked (its docstring): only ValueError (a malformed template, a missing value, a path
value of "", "." or "..") and ForbiddenURL (an absolute URL elsewhere, or with whitespace, controls,
backslashes, userinfo or a dot segment) are raised, each exactly when documented; a result is on the
base URL's origin, keeps the template's path shape (the same segments, each value quoted into its own,
no dot segment) so that no HTTP client can collapse it onto another endpoint; a ForbiddenURL's message
shows neither the query string nor the userinfo.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from snekomatic.gh.errors import ForbiddenURL
from snekomatic.gh.sansio import expand_url
from tests.fuzz._support import (
    FUZZ,
    PROJECT_TEMPLATES,
    hostile_text,
    hypermedia_templates,
    one_of_seeds,
)

BASES = (
    "https://api.github.com",
    "https://api.github.com/",
    "https://ghe.example/api/v3",
    "https://ghe.example/api/v3/",
    "http://127.0.0.1:8080",
)
_VALUES = st.one_of(
    hostile_text(),
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True),
)


def _render(value: Any) -> str:
    """A value as the docstring says it is substituted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return urllib.parse.quote(str(value), safe="")


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), parts.hostname, port


def _segments(path: str) -> list[str]:
    return path.split("/")


def _assert_safe_result(result: str, base_url: str) -> None:
    """What every URL expand_url returns must satisfy, whatever the template."""
    assert isinstance(result, str)
    parts = urllib.parse.urlsplit(result)
    assert _origin(result) == _origin(base_url)
    assert parts.username is None and parts.password is None
    segments = _segments(parts.path)
    assert not any(urllib.parse.unquote(s) in (".", "..") for s in segments), result
    # The client sends what httpx makes of it: the same origin and the same segments, none collapsed.
    sent = httpx.URL(result)
    assert (sent.scheme, sent.host, sent.port or {"http": 80, "https": 443}[sent.scheme]) == (
        _origin(base_url)
    )
    sent_path = sent.raw_path.split(b"?")[0].decode("ascii")
    assert sent_path.count("/") == (parts.path or "/").count("/"), result


# --- templates built from the grammar, whose expansion is known ------------------------------------


@dataclass
class _Template:
    text: str
    path: list[list[tuple[str, str]]]  # segments of ("literal", text) / ("var", name) pieces
    optional_segments: list[list[str]]  # {/a,b} expressions
    query: list[list[str]]  # {?a,b} / {&c} expressions
    literal_query: list[tuple[str, str]]  # "?q={q}" pieces: (key, name)


_LITERAL = st.from_regex(r"[A-Za-z0-9_~-]{1,8}", fullmatch=True) | st.just("...")


@st.composite
def _templates(draw: st.DrawFn) -> _Template:
    counter = iter(range(100))

    def name() -> str:
        return f"v{next(counter)}"

    path: list[list[tuple[str, str]]] = []
    for _ in range(draw(st.integers(1, 4))):
        pieces: list[tuple[str, str]] = []
        for _ in range(draw(st.integers(1, 3))):
            if draw(st.booleans()):
                pieces.append(("var", name()))
            else:
                pieces.append(("literal", draw(_LITERAL)))
        if all(kind == "literal" for kind, _ in pieces) and "".join(t for _, t in pieces) in (
            ".",
            "..",
        ):
            pieces = [("literal", "x")]
        path.append(pieces)
    optional = [
        [name() for _ in range(draw(st.integers(1, 2)))] for _ in range(draw(st.integers(0, 2)))
    ]
    query: list[list[str]] = []
    literal_query: list[tuple[str, str]] = []
    if draw(st.booleans()):
        query = [
            [name() for _ in range(draw(st.integers(1, 3)))] for _ in range(draw(st.integers(1, 2)))
        ]
    elif draw(st.booleans()):
        literal_query = [(draw(_LITERAL), name()) for _ in range(draw(st.integers(1, 2)))]
    text = ""
    for pieces in path:
        text += "/" + "".join(t if kind == "literal" else "{" + t + "}" for kind, t in pieces)
    text += "".join("{/" + ",".join(names) + "}" for names in optional)
    if query:
        text += "{?" + ",".join(query[0]) + "}"
        text += "".join("{&" + ",".join(names) + "}" for names in query[1:])
    if literal_query:
        text += "?" + "&".join(f"{key}={{{n}}}" for key, n in literal_query)
    return _Template(text, path, optional, query, literal_query)


@st.composite
def _expansions(draw: st.DrawFn) -> tuple[_Template, dict[str, Any]]:
    template = draw(_templates())
    names = re.findall(r"v\d+", template.text)
    url_vars: dict[str, Any] = {}
    for n in names:
        if draw(st.integers(0, 9)):  # absent one time in ten
            url_vars[n] = draw(_VALUES)
    return template, url_vars


def _expected(template: _Template, url_vars: dict[str, Any]) -> tuple[str, str] | None:
    """(path, what follows it) as the docstring promises, or None where it promises ValueError."""

    def path_value(name: str) -> str | None:
        rendered = _render(url_vars[name])
        return None if rendered in ("", ".", "..") else rendered

    path = ""
    for pieces in template.path:
        segment = ""
        for kind, text in pieces:
            if kind == "literal":
                segment += text
            elif url_vars.get(text) is None:
                return None  # a {name} without a value
            else:
                value = path_value(text)
                if value is None:
                    return None
                segment += value
        path += "/" + segment
    for names in template.optional_segments:
        for n in names:
            if url_vars.get(n) is not None:
                value = path_value(n)
                if value is None:
                    return None
                path += "/" + value
    # RFC 6570: "{?a,b}" is "?" then the defined ones, "{&c}" is "&" then the defined ones (so a
    # "{&c}" whose "{?a}" expanded to nothing continues the path: GitHub never writes that).
    query = ""
    for operator, names in zip("?" + "&" * len(template.query), template.query, strict=False):
        defined = [f"{n}={_render(url_vars[n])}" for n in names if url_vars.get(n) is not None]
        query += operator + "&".join(defined) if defined else ""
    literal = []
    for key, n in template.literal_query:
        if url_vars.get(n) is None:
            return None
        literal.append(f"{key}={_render(url_vars[n])}")
    if literal:
        query += "?" + "&".join(literal)
    return path, query


@FUZZ
@given(_expansions(), st.sampled_from(BASES))
@example(
    (
        _Template(
            "/orgs/{v0}/invitations",
            [[("literal", "orgs")], [("var", "v0")], [("literal", "invitations")]],
            [],
            [],
            [],
        ),
        {"v0": ".."},
    ),
    "https://api.github.com",
)
def test_expansion_keeps_the_templates_path_shape(
    expansion: tuple[_Template, dict[str, Any]], base_url: str
) -> None:
    template, url_vars = expansion
    expected = _expected(template, url_vars)
    if expected is None:
        with pytest.raises(ValueError) as raised:
            expand_url(template.text, url_vars, base_url=base_url)
        assert type(raised.value) is ValueError
        return
    result = expand_url(template.text, url_vars, base_url=base_url)
    _assert_safe_result(result, base_url)
    path, query = expected
    assert result == base_url.rstrip("/") + path + query
    if not query or query.startswith("?"):
        parts = urllib.parse.urlsplit(result)
        assert parts.path == urllib.parse.urlsplit(base_url).path.rstrip("/") + path
        assert parts.query == query[1:]


# --- any template: only the documented errors, and a result is always safe -------------------------

_URL_PIECES = (
    "{",
    "}",
    "{/",
    "{?",
    "{&",
    "{+",
    "{#",
    ",",
    "/",
    "//",
    "?",
    "#",
    "&",
    "=",
    ":",
    "@",
    ".",
    "..",
    "%2e",
    "%2E%2E",
    "%",
    "\\",
    " ",
    "\t",
    "\x00",
    "[",
    "]",
    "[::1]",
    ":443",
    ":0",
    ":99999",
    ":-1",
    "https:",
    "http:",
    "https://",
    "https://api.github.com",
    "https://API.GitHub.com:443",
    "https://api.github.com.",
    "https://evil.example",
    "https://api.github.com@evil.example",
    "https://user:pw@api.github.com",
    "//api.github.com",
    "javascript:",
    "\uff03",  # FULLWIDTH NUMBER SIGN: "#" under NFKC
    "\uff0f",  # FULLWIDTH SOLIDUS
    "\u2100",  # ACCOUNT OF: "a/c" under NFKC
    "é",
    "{v0}",
    "{/v1}",
    "{?v2,v3}",
)


@st.composite
def _any_templates(draw: st.DrawFn) -> str:
    seeds = one_of_seeds(hypermedia_templates() + PROJECT_TEMPLATES)
    kind = draw(st.sampled_from(["real", "mutated", "pieces", "text"]))
    if kind == "real":
        return draw(seeds)
    if kind == "pieces":
        return "".join(draw(st.lists(st.sampled_from(_URL_PIECES) | st.text(max_size=3))))
    if kind == "text":
        return draw(st.text(max_size=40))
    template = draw(seeds)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(template)))
        cut = draw(st.integers(0, 3))
        template = template[:at] + draw(st.sampled_from(_URL_PIECES)) + template[at + cut :]
    return template


def _names(template: str) -> list[str]:
    found = re.findall(r"\{[/?&+#]?([^{}]*)\}", template)
    return sorted({n for group in found for n in group.split(",")})


@FUZZ
@given(_any_templates(), st.sampled_from(BASES), st.data())
@example("https://[x/a", "https://api.github.com", None)
@example("https://api.github.com\uff03.evil.example/x", "https://api.github.com", None)
def test_any_template_raises_only_documented_errors_and_stays_on_origin(
    template: str, base_url: str, data: st.DataObject | None
) -> None:
    url_vars: dict[str, Any] = {}
    if data is not None:
        for n in _names(template):
            if data.draw(st.integers(0, 5)):
                url_vars[n] = data.draw(_VALUES)
    try:
        result = expand_url(template, url_vars, base_url=base_url)
    except ForbiddenURL as exc:
        assert exc.allowed_origin == base_url.rstrip("/") or base_url.startswith(exc.allowed_origin)
        return
    except ValueError as exc:
        assert type(exc) is ValueError
        return
    _assert_safe_result(result, base_url)
    expanded_relative = not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", template.lstrip())
    if expanded_relative and "{" not in template:
        assert result.startswith(base_url.rstrip("/"))


def _is_absolute(url: str) -> bool:
    # A scheme as urlsplit sees it (leading C0 controls and spaces dropped, tabs and newlines
    # removed), or a literal "//". " //host" is a relative template with whitespace: ValueError.
    stripped = url.lstrip("".join(chr(c) for c in range(0x21))).replace("\t", "")
    stripped = stripped.replace("\r", "").replace("\n", "")
    return url.startswith("//") or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", stripped) is not None


@FUZZ
@given(_any_templates().map(lambda t: t.replace("{", "").replace("}", "")), st.sampled_from(BASES))
@example("https://[x/a", "https://api.github.com")
@example("//[::1/x", "https://api.github.com")
@example(" https://[x/", "https://api.github.com")
@example("https://api.github.com\uff03.evil.example/x", "https://api.github.com")
def test_absolute_url_elsewhere_is_forbidden_not_a_value_error(url: str, base_url: str) -> None:
    """A URL with no template expression that is absolute is either on the origin or ForbiddenURL:
    ValueError is documented only for template mistakes and relative dot segments."""
    if not _is_absolute(url):
        return
    try:
        result = expand_url(url, None, base_url=base_url)
    except ForbiddenURL:
        return
    _assert_safe_result(result, base_url)


_SECRET_USER = "SeCrEtUsEr"
_SECRET_PASSWORD = "SeCrEtPaSsWoRd"
_SECRET_QUERY = "SeCrEtQuErY"


@FUZZ
@given(
    scheme=st.sampled_from(["https", "http", "HTTPS", "ftp"]),
    userinfo=st.sampled_from(["", f"{_SECRET_USER}@", f"{_SECRET_USER}:{_SECRET_PASSWORD}@"]),
    host=st.sampled_from(["api.github.com", "evil.example", "[::1]", "api.github.com.", "[x"]),
    port=st.sampled_from(["", ":443", ":80", ":8443", ":x", ":99999"]),
    path=st.sampled_from(["", "/", "/repos/o/r", "/a/../b", "/%2e%2e/x", "/a b", "/a\\b"]),
    query=st.sampled_from(["", f"?token={_SECRET_QUERY}", f"?a=1&access_token={_SECRET_QUERY}"]),
    fragment=st.sampled_from(["", "#x", f"#{_SECRET_QUERY}"]),
)
def test_forbidden_url_message_hides_userinfo_and_query(
    scheme: str, userinfo: str, host: str, port: str, path: str, query: str, fragment: str
) -> None:
    url = f"{scheme}://{userinfo}{host}{port}{path}{query}{fragment}"
    try:
        result = expand_url(url, None, base_url="https://api.github.com")
    except ForbiddenURL as exc:
        for text in (str(exc), repr(exc), exc.url):
            for secret in (_SECRET_USER, _SECRET_PASSWORD, _SECRET_QUERY):
                assert secret not in text
        return
    assert not userinfo
    _assert_safe_result(result, "https://api.github.com")


@FUZZ
@given(
    one_of_seeds(hypermedia_templates() + PROJECT_TEMPLATES),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,12}", fullmatch=True),
)
def test_real_templates_expand_on_their_origin(template: str, value: str) -> None:
    """GitHub's own hypermedia templates (and the bot's) with ordinary names expand as written."""
    url_vars = dict.fromkeys(_names(template), value)
    if "{+" in template:  # RFC 6570 reserved expansion: not supported, documented as malformed
        with pytest.raises(ValueError):
            expand_url(template, url_vars, base_url="https://api.github.com")
        return
    if template.startswith("https://uploads.github.com"):
        with pytest.raises(ForbiddenURL):
            expand_url(template, url_vars, base_url="https://api.github.com")
        return
    result = expand_url(template, url_vars, base_url="https://api.github.com")
    _assert_safe_result(result, "https://api.github.com")
    prefix = template.split("{")[0]
    assert result.startswith(prefix if prefix.startswith("https://") else "https://api.github.com")
