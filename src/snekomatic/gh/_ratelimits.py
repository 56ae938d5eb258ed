"""Rate limits: the ``x-ratelimit-*`` headers, ``retry-after``, and GitHub's pacing numbers."""

from __future__ import annotations

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


def _count(value: str | None) -> int | None:
    if value is None or len(value) > _MAX_DIGITS or not is_ascii_digits(value):
        return None
    return int(value)


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """The primary rate limit as one response reported it.

    ``limit`` requests per window, ``remaining`` in this window, ``reset_at`` the epoch second the
    window resets, ``used`` so far (or None) and ``resource`` the bucket counted against (``core``,
    ``search``, ``graphql``..., or None).
    https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#checking-the-status-of-your-rate-limit
    """

    limit: int
    remaining: int
    reset_at: float
    used: int | None
    resource: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """The limit in ``headers`` (names matched case-insensitively), or None.

        None when ``x-ratelimit-limit``, ``-remaining`` or ``-reset`` is absent or not a non-negative
        integer; a malformed ``-used`` or an empty ``-resource`` becomes None on its own. Pure.
        """
        by_name = lowered(headers)
        limit = _count(by_name.get("x-ratelimit-limit"))
        remaining = _count(by_name.get("x-ratelimit-remaining"))
        reset_at = _count(by_name.get("x-ratelimit-reset"))
        if limit is None or remaining is None or reset_at is None:
            return None
        return cls(
            limit=limit,
            remaining=remaining,
            reset_at=float(reset_at),
            used=_count(by_name.get("x-ratelimit-used")),
            resource=by_name.get("x-ratelimit-resource") or None,
        )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait according to a ``retry-after`` header ``value``, as seen at ``now``.

    ``value`` is delta-seconds (``"120"``) or an HTTP-date (RFC 9110 section 10.2.3); a date in the
    past gives 0.0. Returns a float >= 0, or None when ``value`` is None or neither form (negative or
    fractional numbers included). Surrounding spaces are ignored. Pure: not a checkpoint.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    seconds = _count(value)
    if seconds is not None:
        return float(seconds)
    retry_at = parse_http_date(value)
    if retry_at is None:
        return None
    return max(0.0, retry_at - now)
