"""What a running bot counts, served at ``GET /metrics`` in Prometheus' text format.

Counters belong to the process (a restart starts them at zero, which Prometheus' ``rate()`` expects).
The backlog is read from the database at each scrape, so every process reports the same backlog.
Nothing here carries a secret: installation ids and GitHub's status codes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from snekomatic.gh.sansio import RateLimit

__all__ = ["Metrics"]


class Metrics:
    """The bot's metrics in a registry of their own (so tests and processes do not share them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.accepted = Counter(
            "snekomatic_deliveries_accepted",
            "Verified deliveries stored by this process (new ones)",
            registry=r,
        )
        self.duplicates = Counter(
            "snekomatic_deliveries_duplicate",
            "Verified deliveries already stored (redeliveries, retries): answered, not stored again",
            registry=r,
        )
        self.settled = Counter(
            "snekomatic_deliveries_settled",
            "Attempts at a delivery by this process's workers, by how they ended",
            ["outcome"],  # done, retried, dead, released
            registry=r,
        )
        self.github_calls = Counter(
            "snekomatic_github_calls",
            "HTTP calls to the GitHub API by this process, by method and status",
            ["method", "status"],
            registry=r,
        )
        self.backlog = Gauge(
            "snekomatic_backlog_deliveries",
            "Deliveries stored and not yet settled (pending or leased), in the whole database",
            registry=r,
        )
        self.backlog_oldest_age = Gauge(
            "snekomatic_backlog_oldest_age_seconds",
            "Age of the oldest delivery in the backlog (0 when it is empty)",
            registry=r,
        )
        self.rate_limit_remaining = Gauge(
            "snekomatic_github_rate_limit_remaining",
            "Requests left in GitHub's rate-limit window, as last reported, per installation",
            ["installation", "resource"],
            registry=r,
        )

    def note_accepted(self, is_new: bool) -> None:
        (self.accepted if is_new else self.duplicates).inc()

    def note_settled(self, outcome: str) -> None:
        self.settled.labels(outcome=outcome).inc()

    def http_event_hooks(self) -> Mapping[str, list[Callable[..., Any]]]:
        """httpx event hooks for the GitHub client that count every response by method and status."""

        async def count(response: httpx.Response) -> None:
            self.github_calls.labels(
                method=response.request.method, status=str(response.status_code)
            ).inc()

        return {"response": [count]}

    async def render(
        self,
        *,
        backlog: Callable[[], Awaitable[tuple[int, dt.datetime | None]]],
        now: dt.datetime,
        rate_limits: Mapping[int, Mapping[str, RateLimit]],
    ) -> bytes:
        """The text exposition, with the backlog read now (``backlog()``: count and oldest time)."""
        count, oldest = await backlog()
        self.backlog.set(count)
        self.backlog_oldest_age.set(0 if oldest is None else max((now - oldest).total_seconds(), 0))
        for installation, limits in rate_limits.items():
            for resource, limit in limits.items():
                if limit.remaining is None:  # unreadable in the last answer: keep the last count shown
                    continue
                self.rate_limit_remaining.labels(
                    installation=str(installation), resource=resource
                ).set(limit.remaining)
        return generate_latest(self.registry)
