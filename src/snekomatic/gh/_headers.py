"""Case-insensitive reading of HTTP header mappings and of the values in them (numbers, dates, media
types), shared by the pure ``sansio`` modules."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with every name lower-cased, so lookups ignore case whatever mapping the caller has.

    When two names differ only in case, the one iterated last wins; a web server or httpx has already
    merged repeated headers before they reach us.
    """
    return {name.lower(): value for name, value in headers.items()}


def is_ascii_digits(value: str) -> bool:
    """True when ``value`` is one or more ASCII digits (``int()`` alone would also take ``"1_0"``,
    ``" 1"`` and non-ASCII digits)."""
    return value.isascii() and value.isdigit()


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """The media type of a ``Content-Type`` value, lower-cased, and its ``charset`` parameter or None.

    ``"application/vnd.github.v3.diff; charset=utf-8"`` gives ``("application/vnd.github.v3.diff",
    "utf-8")``. Parameter names match in any case and a quoted value is unquoted (RFC 9110 section
    8.3.1); no header gives ``("", None)``.
    """
    media_type, *parameters = (value or "").split(";")
    for parameter in parameters:
        name, _, parameter_value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return media_type.strip().lower(), parameter_value.strip().strip('"') or None
    return media_type.strip().lower(), None


# An HTTP-date is 29 characters ("Sun, 06 Nov 1994 08:49:37 GMT"); longer values are not parsed at all.
_MAX_HTTP_DATE_LENGTH = 64


def parse_http_date(value: str) -> float | None:
    """The epoch seconds an HTTP-date (RFC 9110 section 5.6.7) names, or None when it is not one.

    A date without a zone (``-0000``) is read as UTC.
    """
    if len(value) > _MAX_HTTP_DATE_LENGTH:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
