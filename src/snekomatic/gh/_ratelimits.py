"""Rate limits: the ``x-ratelimit-*`` headers, ``retry-after``, and GitHub's pacing numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from snekomatic.gh._headers import is_ascii_digits, lowered, parse_http_date

# "If you exceed a secondary rate limit [...] If the retry-after response header is present, you
# should not retry your request until after that many seconds has elapsed. [...] Otherwise, wait
# for at least one minute before retrying."
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
SECONDARY_RATE_LIMIT_MIN_WAIT = 60.0

# "If you are making a large number of POST, PATCH, PUT, or DELETE requests for a single user or
# client ID, wait at least one second between each request."
# https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#pause-between-mutative-requests
WRITE_INTERVAL_SECONDS = 1.0

# Longer digit strings are garbage, not a number of seconds or a count worth reading.
_MAX_DIGITS = 18

# Epoch seconds, with an optional fraction: GitHub sends whole seconds, but a proxy, GHES or a capture
# may not (gidgethub's own test builds the header from ``str(datetime.timestamp())``, "1700000000.5").
# No sign, exponent, "nan" or "inf", which float() would take.
_EPOCH_SECONDS = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?")  # at most _MAX_DIGITS on each side


def _count(value: str | None) -> int | None:
    """A non-negative integer header value (surrounding spaces and tabs ignored), or None."""
    if value is None:
        return None
    value = value.strip(" \t")
    if len(value) > _MAX_DIGITS or not is_ascii_digits(value):
        return None
    return int(value)


def _epoch_seconds(value: str | None) -> float | None:
    """Epoch seconds, whole or with a fraction (surrounding spaces and tabs ignored), or None."""
    if value is None:
        return None
    value = value.strip(" \t")
    if _EPOCH_SECONDS.fullmatch(value) is None:
        return None
    return float(value)


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """The primary rate limit as one response reported it.

    ``limit`` requests per window, ``remaining`` in this window, ``reset_at`` the epoch time the
    window resets (a float: a fractional header value is kept as sent), ``used`` so far and
    ``resource`` the bucket counted against (``core``, ``search``, ``graphql``...). Each field is read
    on its own: one the response did not give, or gave malformed, is None (unknown) and the others stand.
    https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#checking-the-status-of-your-rate-limit
    """

    limit: int | None
    remaining: int | None
    reset_at: float | None
    used: int | None
    resource: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """The limit in ``headers`` (names matched case-insensitively), or None when no
        ``x-ratelimit-*`` header could be read.

        ``-limit``, ``-remaining`` and ``-used`` are non-negative integers and ``-reset`` non-negative
        epoch seconds, whole or with a fraction (``1700000000.5``); surrounding spaces are ignored. A
        field absent or malformed is None on its own, as is an empty ``-resource``. Pure.
        """
        by_name = lowered(headers)
        rate_limit = cls(
            limit=_count(by_name.get("x-ratelimit-limit")),
            remaining=_count(by_name.get("x-ratelimit-remaining")),
            reset_at=_epoch_seconds(by_name.get("x-ratelimit-reset")),
            used=_count(by_name.get("x-ratelimit-used")),
            resource=by_name.get("x-ratelimit-resource", "").strip(" \t") or None,
        )
        if rate_limit == _UNKNOWN:
            return None
        return rate_limit


_UNKNOWN = RateLimit(limit=None, remaining=None, reset_at=None, used=None, resource=None)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait according to a ``retry-after`` header ``value``, as seen at ``now``.

    ``value`` is delta-seconds (``"120"``) or an HTTP-date (RFC 9110 section 10.2.3); a date in the
    past gives 0.0. Returns a float >= 0, or None when ``value`` is None or neither form (negative or
    fractional numbers included). Surrounding spaces are ignored. Pure: not a checkpoint.
    """
    if value is None:
        return None
    seconds = _count(value)
    if seconds is not None:
        return float(seconds)
    retry_at = parse_http_date(value.strip(" \t"))
    if retry_at is None:
        return None
    return max(0.0, retry_at - now)
