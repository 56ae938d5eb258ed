"""URL templates expanded against the configured API base URL, refusing any other origin."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from snekomatic.gh.errors import ForbiddenURL

# The RFC 6570 forms GitHub's hypermedia URLs use ("/repos/{owner}/{repo}", "{/number}",
# "{?since,all}", "{?name,label}"), plus "&" for a continued query. Operator -> (first, separator).
_OPERATORS = {"": ("", ","), "/": ("/", "/"), "?": ("?", "&"), "&": ("&", "&")}
_VARNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Whitespace, controls and backslashes make URL parsers disagree about where the host ends.
_UNSAFE_IN_URL = frozenset(chr(c) for c in range(0x21)) | {"\x7f", "\\"}
# "." and ".." path segments are removed by every URL resolver (RFC 3986, 5.2.4; httpx does it before
# sending), so a value of ".." would move the call to another endpoint: "/orgs/{org}/invitations"
# with org = ".." is "POST /invitations". An empty value drops a segment, with the same effect.
# GitHub allows none of these as a login, organization or repository name; they are refused, not
# sent. "%2e" is "." to servers that decode unreserved characters (RFC 3986, 2.3), so it counts too.
_DOT_SEGMENTS = frozenset({".", ".."})
_SEGMENT_VALUES_REFUSED = frozenset({"", ".", ".."})


def _render(value: Any) -> str:
    # GitHub's query flags are lower-case ("all=true"); str(True) would be "True".
    if isinstance(value, bool):
        return "true" if value else "false"
    return urllib.parse.quote(str(value), safe="")


def _operator(expression: str) -> str:
    return expression[:1] if expression[:1] in ("/", "?", "&") else ""


def _expand_expression(
    expression: str, url_vars: Mapping[str, Any], template: str, *, in_path: bool
) -> str:
    operator = _operator(expression)
    names = expression[len(operator) :].split(",")
    for name in names:
        if not name or not _VARNAME_CHARS.issuperset(name):
            raise ValueError(
                f"URL template {template!r} has a malformed expression {{{expression}}}"
            )
    first, separator = _OPERATORS[operator]
    if operator == "":
        missing = [name for name in names if url_vars.get(name) is None]
        if missing:
            raise ValueError(f"URL template {template!r} needs a value for {{{missing[0]}}}")
        return ",".join(_path_value(url_vars, name, template, in_path) for name in names)
    # Optional forms: an undefined (absent or None) variable is left out, as RFC 6570 says.
    defined = [name for name in names if url_vars.get(name) is not None]
    if not defined:
        return ""
    if operator == "/":
        return first + separator.join(
            _path_value(url_vars, name, template, in_path) for name in defined
        )
    return first + separator.join(f"{name}={_render(url_vars[name])}" for name in defined)


def _path_value(url_vars: Mapping[str, Any], name: str, template: str, in_path: bool) -> str:
    rendered = _render(url_vars[name])
    if in_path and rendered in _SEGMENT_VALUES_REFUSED:
        raise ValueError(
            f"URL template {template!r} cannot take {rendered!r} for {{{name}}}: "
            "an empty or dot path segment would change the endpoint"
        )
    return rendered


def _has_dot_segment(url: str) -> bool:
    path = urllib.parse.urlsplit(url).path
    return any(urllib.parse.unquote(segment) in _DOT_SEGMENTS for segment in path.split("/"))


def _expand(template: str, url_vars: Mapping[str, Any]) -> str:
    parts: list[str] = []
    pos = 0
    in_path = True  # until the query (or fragment) begins
    while True:
        open_at = template.find("{", pos)
        close_at = template.find("}", pos)
        if open_at == -1:
            if close_at != -1:
                raise ValueError(f"URL template {template!r} has an unbalanced '}}'")
            parts.append(template[pos:])
            return "".join(parts)
        if close_at < open_at:
            raise ValueError(f"URL template {template!r} has an unbalanced '}}'")
        next_open = template.find("{", open_at + 1)
        if close_at == -1 or (next_open != -1 and next_open < close_at):
            raise ValueError(f"URL template {template!r} has an unbalanced '{{'")
        literal = template[pos:open_at]
        in_path = in_path and "?" not in literal and "#" not in literal
        parts.append(literal)
        expression = template[open_at + 1 : close_at]
        in_path = in_path and _operator(expression) not in ("?", "&")
        parts.append(_expand_expression(expression, url_vars, template, in_path=in_path))
        pos = close_at + 1


def _origin(parts: urllib.parse.SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    return scheme, (parts.hostname or ""), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _redacted(parts: urllib.parse.SplitResult) -> str:
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _redacted_unparsed(url: str) -> str:
    """``url``, which ``urlsplit`` refused, cut before its query or fragment and without userinfo."""
    url = url.partition("?")[0].partition("#")[0]
    scheme, slashes, rest = url.partition("//")
    netloc, slash, path = rest.partition("/")
    return scheme + slashes + netloc.rpartition("@")[2] + slash + path


def expand_url(template: str, url_vars: Mapping[str, Any] | None, *, base_url: str) -> str:
    """The absolute URL for ``template`` with ``url_vars`` filled in, on ``base_url``'s origin.

    Templates use ``{name}`` (required), and RFC 6570's ``{/name}``, ``{?a,b}`` and ``{&a,b}`` (left
    out when the variable is absent or None). Each value is ``urllib.parse.quote(str(value),
    safe="")``, so ``"a/b"`` becomes ``a%2Fb``; booleans become ``true``/``false``. Variables not in
    the template are ignored.

    A relative result is appended to ``base_url`` keeping its path (``https://ghe.example/api/v3`` +
    ``/repos/o/r`` -> ``https://ghe.example/api/v3/repos/o/r``). An absolute one (or ``//host/...``)
    is returned only if its scheme, host and port equal ``base_url``'s and it has no userinfo.

    The result's path never has a ``.`` or ``..`` segment (nor ``%2e`` spellings of them), so it
    always names the endpoint its template does: a value substituted into the path (``{name}`` or
    ``{/name}`` before the query) may not render as ``""``, ``"."`` or ``".."``, which URL
    resolvers would collapse (``/orgs/{org}/invitations`` with ``org=".."`` would become
    ``/invitations``). Query values are not restricted.

    Raises :class:`~snekomatic.gh.errors.ForbiddenURL` for an absolute URL elsewhere, or containing
    whitespace, control characters, backslashes or a dot segment, or whose host part cannot be
    parsed (``https://[x/``; the message shows it without query string or userinfo); ``ValueError`` for an unbalanced brace, a malformed expression, a
    ``{name}`` without a value, a path value of ``""``, ``"."`` or ``".."``, or a relative template
    with a dot segment, whitespace, control characters or backslashes. Pure: not a checkpoint.
    """
    expanded = _expand(template, url_vars or {})
    base = urllib.parse.urlsplit(base_url)
    allowed = urllib.parse.urlunsplit((base.scheme, base.netloc, "", "", ""))
    try:
        target = urllib.parse.urlsplit(expanded)
    except ValueError:
        # Only a URL with a host part can fail to split ("https://[x/", or a host with a
        # look-alike of "/", "?", "#", "@" or ":" under NFKC): absolute, and on no origin.
        raise ForbiddenURL(_redacted_unparsed(expanded), allowed) from None
    if not target.scheme and not expanded.startswith("//"):
        if not _UNSAFE_IN_URL.isdisjoint(expanded):
            raise ValueError(
                f"URL template {template!r} expands to whitespace or control characters"
            )
        if _has_dot_segment(expanded):
            raise ValueError(f"URL template {template!r} has a '.' or '..' path segment")
        separator = "" if expanded.startswith("/") else "/"
        return base_url.rstrip("/") + separator + expanded
    if not target.scheme:
        target = urllib.parse.urlsplit(f"{base.scheme}:{expanded}")
        expanded = f"{base.scheme}:{expanded}"
    if (
        not _UNSAFE_IN_URL.isdisjoint(expanded)
        or target.username is not None
        or _has_dot_segment(expanded)
    ):
        raise ForbiddenURL(_redacted(target), allowed)
    try:
        same_origin = _origin(target) == _origin(base)
    except ValueError:
        same_origin = False
    if not same_origin:
        raise ForbiddenURL(_redacted(target), allowed)
    return expanded
