"""When the client retries, and how long it waits first: a value object and pure decision functions.

Nothing here sleeps or reads a clock; the wall-clock ``now`` (epoch seconds) is an argument. The client in
:mod:`snekomatic.gh.client` does the waiting.

GitHub's guidance on failures and rate limits:
https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from snekomatic.gh._backoff import exponential_backoff
from snekomatic.gh.errors import HTTPError, RateLimited, RateLimitExceeded, ServerError
from snekomatic.gh.sansio import SECONDARY_RATE_LIMIT_MIN_WAIT

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "backoff_delay",
    "retry_delay",
    "transport_retry_delay",
]

# RFC 9110 section 9.2.2: repeating these has the same effect as sending them once, so a request that
# may or may not have reached GitHub before the connection failed can be sent again.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How the client reacts to failures. Immutable; compare and print it freely (it holds no secrets).

    - ``max_retries``: retries after the first attempt for 5xx, 429, secondary limits, a primary limit
      that resets soon enough, and transport errors on idempotent methods. ``0`` disables retrying.
    - ``backoff_base`` / ``backoff_max``: the n-th retry (0-based) waits
      ``min(backoff_max, backoff_base * 2 ** n)`` seconds unless GitHub says how long (``retry-after``).
      The delay is deterministic: requests are serial per installation, so there is no herd to spread.
    - ``max_rate_limit_wait``: the longest single wait for a rate limit (primary reset or
      ``retry-after``); a longer one raises the rate-limit error instead of waiting.
    - ``secondary_min_wait``: the wait after a secondary limit that gave no ``retry-after``
      (GitHub: "wait for at least one minute before retrying").

    Usage::

        RetryPolicy()                         # 3 retries, 1 s, 2 s, 4 s ... capped at 60 s
        RetryPolicy(max_retries=0)            # fail fast
        RetryPolicy(max_rate_limit_wait=0.0)  # never wait for a rate limit
    """

    max_retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_rate_limit_wait: float = 900.0
    secondary_min_wait: float = SECONDARY_RATE_LIMIT_MIN_WAIT

    def __post_init__(self) -> None:
        for name in (
            "max_retries",
            "backoff_base",
            "backoff_max",
            "max_rate_limit_wait",
            "secondary_min_wait",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"RetryPolicy.{name} must not be negative")


def backoff_delay(attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) when GitHub gave no delay:
    :func:`~snekomatic.gh.exponential_backoff` from ``policy.backoff_base``, capped at
    ``policy.backoff_max``."""
    return exponential_backoff(attempt, base=policy.backoff_base, cap=policy.backoff_max)


def retry_delay(error: HTTPError, *, attempt: int, policy: RetryPolicy, now: float) -> float | None:
    """Seconds to wait before retrying a request GitHub answered with ``error``, or None: do not retry.

    ``attempt`` counts the retries already made (0 before the first retry); ``now`` is the wall-clock
    time in epoch seconds, to compare with a primary limit's ``reset_at``.

    - 5xx (``ServerError``): exponential backoff.
    - Secondary limit (``SecondaryRateLimited``, which includes every 429 that is not a primary limit):
      ``retry-after`` when given, else ``max(secondary_min_wait, backoff)``.
    - Primary limit (``RateLimited``): ``retry-after`` when given, else until ``reset_at``
      (0 if already past; backoff if unknown).
    - A rate-limit wait longer than ``max_rate_limit_wait``: None.
    - Everything else (400, 401, 404, 410, 422, a 403 that is not a rate limit, ...): None.
    - None as well once ``attempt`` reaches ``max_retries``.
    """
    if attempt >= policy.max_retries:
        return None
    if isinstance(error, ServerError):
        return backoff_delay(attempt, policy)
    if isinstance(error, RateLimited):
        if error.retry_after is not None:
            delay = error.retry_after
        elif error.reset_at is not None:
            delay = max(0.0, error.reset_at - now)
        else:
            delay = backoff_delay(attempt, policy)
    elif isinstance(error, RateLimitExceeded):
        if error.retry_after is not None:
            delay = error.retry_after
        else:
            delay = max(policy.secondary_min_wait, backoff_delay(attempt, policy))
    else:
        return None
    if delay > policy.max_rate_limit_wait:
        return None
    return max(0.0, delay)


def transport_retry_delay(method: str, *, attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before resending after a transport failure (no HTTP answer), or None.

    Only idempotent methods (:data:`IDEMPOTENT_METHODS`) are resent: a POST or PATCH may have reached
    GitHub before the connection broke, and sending it twice could, say, post a comment twice.
    """
    if method.upper() not in IDEMPOTENT_METHODS or attempt >= policy.max_retries:
        return None
    return backoff_delay(attempt, policy)
