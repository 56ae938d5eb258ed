"""The fake's primary rate limit: one hourly window per caller, measured on the fake's clock."""

from __future__ import annotations

from dataclasses import dataclass

# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
WINDOW_SECONDS = 3600.0
INSTALLATION_LIMIT = 5000
APP_LIMIT = 5000
ANONYMOUS_LIMIT = 60


@dataclass
class RateWindow:
    """One caller's budget in one resource; a new window opens when ``reset_at`` has passed."""

    limit: int
    used: int = 0
    reset_at: float = 0.0

    def roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + WINDOW_SECONDS

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self, resource: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(int(self.reset_at)),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": resource,
        }
