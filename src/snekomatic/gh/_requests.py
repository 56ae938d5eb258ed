"""The headers every API request carries, and reading an ``Authorization`` header back."""

from __future__ import annotations

# X-GitHub-Api-Version: "You should use this header to specify a version of the REST API for your
# request." 2022-11-28 is the version this library is written against.
# https://docs.github.com/en/rest/about-the-rest-api/api-versions
API_VERSION = "2022-11-28"

# "Most GitHub REST API endpoints specify that you should pass an Accept header with a value of
# application/vnd.github+json."
# https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#headers
ACCEPT = "application/vnd.github+json"

# "All API requests must include a valid User-Agent header." (GitHub answers 403 without one.)
# https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#headers
_USER_AGENT_REQUIRED = "a non-empty User-Agent is required by GitHub"

# RFC 9110 section 11.2: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ], with
# token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". JWTs (dots) and
# installation tokens (ghs_..., about 40 to 520 characters) are token68.
_TOKEN68_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/")
_SCHEMES = ("bearer", "token")
_FORBIDDEN_IN_HEADER = frozenset(chr(c) for c in range(0x20) if c != 0x09) | {"\x7f"}


def request_headers(
    *, user_agent: str, authorization: str | None = None, accept: str = ACCEPT
) -> dict[str, str]:
    """The headers for one API request: ``Accept``, ``X-GitHub-Api-Version``, ``User-Agent`` and,
    when ``authorization`` is given (the whole value, ``"Bearer <jwt>"`` or ``"token <t>"``),
    ``Authorization``.

    Raises ``ValueError`` for an empty ``user_agent`` or a value holding CR, LF or another control
    character (header injection); the message never repeats a value. ``authorization`` is a secret:
    it is returned, never logged. Pure: not a checkpoint.
    """
    if not user_agent:
        raise ValueError(_USER_AGENT_REQUIRED)
    headers = {"Accept": accept, "X-GitHub-Api-Version": API_VERSION, "User-Agent": user_agent}
    if authorization is not None:
        headers["Authorization"] = authorization
    for name, value in headers.items():
        if not _FORBIDDEN_IN_HEADER.isdisjoint(value):
            raise ValueError(f"the {name} header value contains a control character")
    return headers


def parse_authorization(value: str) -> tuple[str, str]:
    """Split an ``Authorization`` header into ``(scheme, credential)``.

    ``scheme`` is ``"bearer"`` or ``"token"`` (matched case-insensitively, returned lower-case) and
    ``credential`` a token68 (letters, digits, ``-._~+/``, then optional ``=`` padding) after one or
    more spaces. Raises ``ValueError`` for anything else (another scheme, no credential, stray
    characters); the message never contains the value, which is a secret. One pass over ``value``:
    linear time even on a 100 KB header. Pure: not a checkpoint.
    """
    scheme, space, rest = value.partition(" ")
    scheme = scheme.lower()
    if not space or scheme not in _SCHEMES:
        raise ValueError(
            "malformed Authorization header: expected 'Bearer <jwt>' or 'token <token>'"
        )
    credential = rest.lstrip(" ")
    body = credential.rstrip("=")
    if not body or not _TOKEN68_CHARS.issuperset(body):
        raise ValueError("malformed Authorization header: the credential is not a token68")
    return scheme, credential
