"""Error responses from the REST API mapped onto the typed exceptions of :mod:`snekomatic.gh.errors`."""

from __future__ import annotations

import http
import json
from collections.abc import Mapping
from typing import Any

from snekomatic.gh._answers import decode_text
from snekomatic.gh._headers import lowered, parse_content_type
from snekomatic.gh._ratelimits import RateLimit, parse_retry_after
from snekomatic.gh.errors import (
    BadRequest,
    Forbidden,
    HTTPError,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)

# "If you exceed your primary rate limit, you will receive a 403 or 429 response, and the
# x-ratelimit-remaining header will be 0." "If you exceed a secondary rate limit, you will receive a
# 403 or 429 response and an error message that indicates that you exceeded a secondary rate limit."
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
# The message reads "You have exceeded a secondary rate limit..."; before 2021 it was "You have
# triggered an abuse detection mechanism...", which GHES releases may still send.
_SECONDARY_LIMIT_MARKERS = ("secondary rate limit", "abuse detection")


# A proxy's error page may be megabytes of HTML; its start (a title, a heading, "nginx", "Unicorn!")
# is what tells a person what answered.
_BODY_EXCERPT_CHARS = 1000
# Every charset GitHub or a proxy uses takes at most 4 bytes per character, so decoding this many
# bytes yields the excerpt without decoding a huge page whole.
_BODY_EXCERPT_BYTES = 4 * _BODY_EXCERPT_CHARS


def _decode_body(content_type: str | None, body: bytes) -> tuple[Any, str | None]:
    """The JSON value of ``body`` and None; or None and the start of ``body`` as text when it is not
    JSON; or (None, None) when it is empty."""
    if not body:
        return None, None
    try:
        return json.loads(body), None
    except (ValueError, RecursionError):
        _, charset = parse_content_type(content_type)
        return None, decode_text(body[:_BODY_EXCERPT_BYTES], charset)[:_BODY_EXCERPT_CHARS]


def _errors_list(errors: Any) -> list[Any]:
    # GitHub's ``errors`` is usually a list (of dicts, or of strings), but the commit-status endpoint
    # sends one string ("This SHA and context has reached the maximum number of statuses."): keep it.
    if isinstance(errors, list):
        return errors
    if isinstance(errors, dict) or (isinstance(errors, str) and errors):
        return [errors]
    return []


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def error_for_response(
    status: int, headers: Mapping[str, str], body: bytes, now: float
) -> HTTPError | None:
    """The exception an API response with ``status``, ``headers`` and raw ``body`` stands for.

    Returns None for 1xx-3xx. Otherwise an :class:`~snekomatic.gh.errors.HTTPError` carrying the
    status, GitHub's ``message`` (or the reason phrase), ``documentation_url``, ``x-github-request-id``,
    the lower-cased response headers, the decoded JSON body (None when it is not JSON) and, for a body
    that is not JSON (a proxy's HTML page), its first 1,000 characters as ``body_excerpt`` (decoded
    with the declared charset, else UTF-8, undecodable bytes replaced):

    - 401 -> ``Unauthorized``; 404 -> ``NotFound``; 422 -> ``ValidationFailed`` with GitHub's ``errors``
      as a list (a single string or dict becomes a one-item list);
    - 403 -> ``RateLimited`` when ``x-ratelimit-remaining`` is ``0``; else ``SecondaryRateLimited`` when
      ``retry-after`` is present or the message mentions a secondary rate limit (or the older "abuse
      detection"), case-insensitively; else ``Forbidden``;
    - 429 -> ``RateLimited`` when ``x-ratelimit-remaining`` is ``0``, else ``SecondaryRateLimited``;
    - any other 4xx -> ``BadRequest``; 5xx and above -> ``ServerError``.

    Rate-limit errors carry ``reset_at`` (``x-ratelimit-reset`` as :class:`RateLimit` reads it, so a
    fraction is kept) and ``retry_after`` (:func:`parse_retry_after` at ``now``) when the headers give
    them. Only the response is read, so no request credential can reach the exception. Never raises.
    Pure: not a checkpoint.
    """
    if status < 400:
        return None
    by_name = lowered(headers)
    decoded, excerpt = _decode_body(by_name.get("content-type"), body)
    fields: Mapping[str, Any] = decoded if isinstance(decoded, dict) else {}
    message = fields.get("message")
    if not isinstance(message, str) or not message:
        message = _reason(status)
    documentation_url = fields.get("documentation_url")
    common: dict[str, Any] = {
        "documentation_url": documentation_url if isinstance(documentation_url, str) else None,
        "request_id": by_name.get("x-github-request-id"),
        "headers": by_name,
        "body": decoded,
        "body_excerpt": excerpt,
    }
    if status >= 500:
        return ServerError(status, message, **common)
    if status == 401:
        return Unauthorized(status, message, **common)
    if status == 404:
        return NotFound(status, message, **common)
    if status == 422:
        return ValidationFailed(
            status, message, errors=_errors_list(fields.get("errors")), **common
        )
    if status in (403, 429):
        return _rate_limit_or_forbidden(status, message, by_name, now, common)
    return BadRequest(status, message, **common)


def _rate_limit_or_forbidden(
    status: int, message: str, by_name: Mapping[str, str], now: float, common: dict[str, Any]
) -> HTTPError:
    rate_limit = RateLimit.from_headers(by_name)
    limits: dict[str, Any] = {
        "reset_at": None if rate_limit is None else rate_limit.reset_at,
        "retry_after": parse_retry_after(by_name.get("retry-after"), now),
    }
    if rate_limit is not None and rate_limit.remaining == 0:
        return RateLimited(status, message, **limits, **common)
    lowered_message = message.lower()
    if (
        status == 429
        or "retry-after" in by_name
        or any(marker in lowered_message for marker in _SECONDARY_LIMIT_MARKERS)
    ):
        return SecondaryRateLimited(status, message, **limits, **common)
    return Forbidden(status, message, **common)
