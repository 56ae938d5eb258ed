"""Which of the app's failed webhook deliveries to ask GitHub for again. Pure: no I/O, ``now`` given.

GitHub never retries a delivery by itself. It keeps a log of every attempt
(``GET /app/hook/deliveries``, newest first) and redelivers on request
(``POST /app/hook/deliveries/{id}/attempts``), keeping the ``X-GitHub-Delivery`` guid.
https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries

A guid needs redelivering when none of its attempts succeeded, it is not in our inbox (an attempt can
fail on GitHub's side, a timeout say, after we stored it), and it is recent enough: GitHub only keeps
deliveries for 3 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["REDELIVERY_WINDOW", "RedeliveryCandidate", "parse_github_time", "select_redeliveries"]

# "You can only redeliver webhooks that were delivered in the past 3 days."
# https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks
REDELIVERY_WINDOW = timedelta(days=3)

# Our own limit: a delivery that failed again after this many redeliveries needs a person.
MAX_REDELIVERIES_PER_DELIVERY = 3

# An attempt younger than this may still be in flight (GitHub waits up to 10 s for an answer, and the
# log can lag): it is not counted as failed yet, so the next sweep decides.
SETTLING_TIME = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class RedeliveryCandidate:
    delivery_id: int  # the attempt to redeliver (GitHub's id for one attempt)
    guid: str  # X-GitHub-Delivery, shared by all attempts at the same delivery
    event: str
    action: str | None
    delivered_at: datetime


def parse_github_time(value: str) -> datetime:
    """GitHub's ISO 8601 timestamps (``2019-06-03T00:57:16Z``) as aware datetimes."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _succeeded(entry: Mapping[str, Any]) -> bool:
    status_code = entry.get("status_code")
    return isinstance(status_code, int) and 200 <= status_code < 300


def select_redeliveries(
    log: Iterable[Mapping[str, Any]],
    *,
    known_guids: set[str],
    now: datetime,
    since: timedelta = REDELIVERY_WINDOW,
    max_redeliveries: int = MAX_REDELIVERIES_PER_DELIVERY,
    settling_time: timedelta = SETTLING_TIME,
) -> list[RedeliveryCandidate]:
    """The deliveries to redeliver, oldest first, one per guid.

    ``log`` is GitHub's delivery log (entries with ``id``, ``guid``, ``delivered_at``, ``status_code``,
    ``event``, ``action``); ``known_guids`` the guids already in our inbox. An entry older than
    ``since`` (capped at GitHub's 3-day window) is ignored; a guid with any successful attempt, or
    already known, is skipped; of a guid's failed attempts the newest is chosen.
    """
    cutoff = now - min(since, REDELIVERY_WINDOW)
    succeeded: set[str] = set()
    settling: set[str] = set()
    redeliveries: dict[str, int] = {}
    newest_failure: dict[str, RedeliveryCandidate] = {}
    for entry in log:
        guid = entry.get("guid")
        delivered_at = entry.get("delivered_at")
        if not isinstance(guid, str) or not isinstance(delivered_at, str):
            continue
        when = parse_github_time(delivered_at)
        if when < cutoff:
            continue
        if entry.get("redelivery") is True:
            redeliveries[guid] = redeliveries.get(guid, 0) + 1
        if _succeeded(entry):
            succeeded.add(guid)
            continue
        if when > now - settling_time:
            settling.add(guid)
            continue
        candidate = RedeliveryCandidate(
            delivery_id=int(entry["id"]),
            guid=guid,
            event=str(entry.get("event", "")),
            action=entry.get("action"),
            delivered_at=when,
        )
        previous = newest_failure.get(guid)
        if previous is None or candidate.delivered_at > previous.delivered_at:
            newest_failure[guid] = candidate
    chosen = [
        candidate
        for guid, candidate in newest_failure.items()
        if guid not in succeeded
        and guid not in settling
        and guid not in known_guids
        and redeliveries.get(guid, 0) < max_redeliveries
    ]
    return sorted(chosen, key=lambda c: (c.delivered_at, c.delivery_id))
