"""Injected faults: requests matching a method and a path glob answer with an error.

Two modes: :class:`Fault` strikes the next N matching requests (deterministic, for tests of one
failure); :class:`RandomFault` strikes each matching request with a fixed probability drawn from its
own seeded generator (for soaks: "5 % of calls fail"), reproducible for the same sequence of requests.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from typing import Literal

from snekomatic.gh.testing._replies import ApiError

FaultKind = Literal["server_error", "secondary_rate_limit", "primary_rate_limit", "unauthorized"]

SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
# When a primary-limit fault has no retry_after, its window resets this far in the future.
DEFAULT_PRIMARY_RESET_SECONDS = 60.0


@dataclass(kw_only=True)
class Fault:
    """A pending fault; ``remaining`` counts down to 0 as matching requests consume it."""

    method: str
    path_pattern: str
    kind: FaultKind
    remaining: int
    retry_after: float | None = None
    status: int = 502

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and fnmatch.fnmatchcase(method.upper(), self.method.upper())
            and fnmatch.fnmatchcase(path, self.path_pattern)
        )


@dataclass(kw_only=True)
class RandomFault:
    """A standing fault: each request matching ``method`` and ``path_pattern`` is struck with
    probability ``rate`` (0..1), drawn from ``rng``; ``taken`` counts the requests it struck."""

    method: str
    path_pattern: str
    kind: FaultKind
    rate: float
    rng: random.Random = field(repr=False)
    retry_after: float | None = None
    status: int = 502
    taken: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("RandomFault.rate must be between 0 and 1")

    def matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatchcase(method.upper(), self.method.upper()) and fnmatch.fnmatchcase(
            path, self.path_pattern
        )

    def strikes(self) -> bool:
        """Draw for one matching request: True (and counted) when this request is to fail."""
        if self.rng.random() < self.rate:
            self.taken += 1
            return True
        return False


def primary_limit_error(
    *, limit: int, used: int, reset_at: float, resource: str, who: str
) -> ApiError:
    """GitHub's 403 for an exhausted primary rate limit, with its ``x-ratelimit-*`` headers."""
    return ApiError(
        403,
        f"API rate limit exceeded for {who}.",
        documentation_url=PRIMARY_DOCS,
        headers={
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(reset_at)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": resource,
        },
    )


def fault_error(
    fault: Fault | RandomFault, *, now: float, request_id: str, limit: int, resource: str, who: str
) -> ApiError:
    """The error a matching request gets from ``fault`` at server time ``now``."""
    retry_headers = (
        {"retry-after": str(round(fault.retry_after))} if fault.retry_after is not None else {}
    )
    if fault.kind == "server_error":
        return ApiError(fault.status, "Server Error", headers=retry_headers)
    if fault.kind == "secondary_rate_limit":
        return ApiError(
            403,
            SECONDARY_RATE_LIMIT_MESSAGE.format(request_id=request_id),
            documentation_url=SECONDARY_DOCS,
            headers=retry_headers,
        )
    if fault.kind == "primary_rate_limit":
        wait = fault.retry_after if fault.retry_after is not None else DEFAULT_PRIMARY_RESET_SECONDS
        return primary_limit_error(
            limit=limit, used=limit, reset_at=now + wait, resource=resource, who=who
        )
    return ApiError(401, "Bad credentials")
