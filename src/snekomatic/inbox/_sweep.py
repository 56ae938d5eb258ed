"""The redelivery sweep: ask GitHub again for the webhooks it failed to deliver to us.

Only one process sweeps at a time: the sweep holds the store's leader lease :data:`SWEEP_LEASE` for the
whole interval, so N processes make one sweep per interval, not N. Each redelivery is recorded in the
store before it is asked for (and forgotten again if GitHub refuses), so across processes and restarts
no failed attempt is asked for twice. Requests are paced by the app client (>= 1 s between writes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import structlog
import trio

from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import GitHubError
from snekomatic.inbox._redelivery import (
    REDELIVERY_WINDOW,
    RedeliveryCandidate,
    parse_github_time,
    select_redeliveries,
)
from snekomatic.store import Store, StoreUnavailable, run_sync

__all__ = ["SWEEP_LEASE", "SweepReport", "sweep_failed_deliveries", "sweep_periodically"]

log = structlog.get_logger("snekomatic.sweep")

SWEEP_LEASE = "redelivery-sweep"


@dataclass(kw_only=True)
class SweepReport:
    """What one sweep saw and did."""

    ran: bool = True  # False when another process holds the sweep lease
    examined: int = 0  # log entries read
    candidates: list[RedeliveryCandidate] = field(default_factory=list)
    requested: list[RedeliveryCandidate] = field(default_factory=list)
    failed: list[tuple[RedeliveryCandidate, str]] = field(default_factory=list)


async def _recent_log(app_client: GitHubClient, cutoff: dt.datetime) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    pages = app_client.getiter("/app/hook/deliveries{?per_page}", {"per_page": 100})
    async with aclosing(pages):
        async for entry in pages:
            delivered_at = entry.get("delivered_at")
            if isinstance(delivered_at, str) and parse_github_time(delivered_at) < cutoff:
                break  # newest first: everything after this is older still
            entries.append(entry)
    return entries


async def sweep_failed_deliveries(
    app_client: GitHubClient,
    store: Store,
    *,
    owner: str,
    now: dt.datetime,
    since: dt.timedelta = REDELIVERY_WINDOW,
    dry_run: bool = False,
    lease_ttl: float | None = 600.0,
) -> SweepReport:
    """Ask GitHub to redeliver each recent failed delivery that is not in the inbox, once.

    Returns a :class:`SweepReport` (``ran=False`` if another process holds the sweep lease). With
    ``dry_run`` nothing is recorded or asked for; the candidates are listed. ``lease_ttl`` None takes no
    lease (a person's explicit request): each redelivery is still recorded before it is asked for, so
    none is asked for twice even beside a periodic sweep. Raises
    :class:`~snekomatic.gh.errors.GitHubError` if the delivery log cannot be read, and
    :class:`~snekomatic.store.StoreUnavailable` if the database fails; a single refused redelivery
    is recorded in ``failed`` and the sweep goes on.
    """
    if lease_ttl is not None and not await run_sync(
        store.try_acquire_lease, SWEEP_LEASE, owner, ttl=lease_ttl, now=now
    ):
        return SweepReport(ran=False)
    entries = await _recent_log(app_client, now - min(since, REDELIVERY_WINDOW))
    known = await run_sync(store.known_delivery_ids, {str(e.get("guid")) for e in entries})
    report = SweepReport(examined=len(entries))
    report.candidates = select_redeliveries(entries, known_guids=known, now=now, since=since)
    if dry_run:
        return report
    for candidate in report.candidates:
        if not await run_sync(
            store.record_redelivery_request, candidate.delivery_id, candidate.guid, now=now
        ):
            continue  # asked for already, by us or by another process
        try:
            await app_client.post(
                "/app/hook/deliveries/{delivery_id}/attempts",
                {"delivery_id": candidate.delivery_id},
            )
        except GitHubError as exc:
            await run_sync(store.forget_redelivery_request, candidate.delivery_id)
            report.failed.append((candidate, str(exc)))
            log.warning("redelivery refused", guid=candidate.guid, error=str(exc))
        else:
            report.requested.append(candidate)
            log.info("redelivery requested", guid=candidate.guid, github_event=candidate.event)
    return report


async def sweep_periodically(
    app_client: GitHubClient,
    store: Store,
    *,
    owner: str,
    clock: Callable[[], dt.datetime],
    interval: float = 600.0,
) -> None:
    """Sweep at start-up and then every ``interval`` seconds, until cancelled.

    A failed sweep (GitHub or the database unreachable) is logged and tried again next interval.
    """
    while True:
        try:
            report = await sweep_failed_deliveries(
                app_client, store, owner=owner, now=clock(), lease_ttl=interval * 1.5
            )
        except (GitHubError, StoreUnavailable) as exc:
            log.warning("redelivery sweep failed", error=str(exc))
        else:
            if report.ran:
                log.info(
                    "redelivery sweep",
                    examined=report.examined,
                    requested=len(report.requested),
                    failed=len(report.failed),
                )
        await trio.sleep(interval)
