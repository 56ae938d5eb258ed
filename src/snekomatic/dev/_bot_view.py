"""The bot as the GitHub simulator sees it: whether it runs, and what its database says it did.

The source of what the bot decided is the bot's own database, read through the Store's public
methods: its deliveries (each webhook's outcome: processed, waiting, failed and why) and its
invitations (each merge's decision, put in words by :func:`snekomatic.features.explain_merge`). It is
what the bot acted on, durable, and readable while the bot runs; its log lines say the same but are
not kept. :class:`BotWatch` reads it for the simulator's page (two queries per refresh).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from snekomatic.store import DeliverySummary, Invitation, Store, StoreError, run_sync

__all__ = ["BotReport", "BotStatus", "BotWatch", "read_bot_records"]

# Enough for a demo: the page shows the latest webhooks, and a person makes a few dozen merges.
DELIVERIES_READ = 200
INVITATIONS_READ = 1000


class BotStatus(enum.Enum):
    """Where the bot of ``snekomatic dev`` is in its life, as the simulator tells it."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True, kw_only=True)
class BotReport:
    """What the simulator shows of the bot. ``problem``: one line saying why what it shows may be
    stale or missing (the bot is starting or stopped, or its database cannot be read). ``invites``:
    the bot is snekomatic's own, whose invite feature decides on each merge (another app's bot,
    ``--app``, has no such decisions to show)."""

    status: BotStatus
    problem: str | None = None
    invites: bool = True
    deliveries: Mapping[str, DeliverySummary] = field(default_factory=dict)  # by X-GitHub-Delivery
    invitations: Mapping[tuple[int, int], Invitation] = field(default_factory=dict)  # (org, user)


def read_bot_records(
    store: Store,
) -> tuple[dict[str, DeliverySummary], dict[tuple[int, int], Invitation]]:
    """The latest deliveries, by X-GitHub-Delivery (the newest row of a guid), and the latest
    invitations, by (organization id, user id). Synchronous; raises ``StoreError``."""
    deliveries = {d.delivery_id: d for d in reversed(store.list_deliveries(limit=DELIVERIES_READ))}
    invitations = {(i.org_id, i.user_id): i for i in store.list_invitations(limit=INVITATIONS_READ)}
    return deliveries, invitations


class BotWatch:
    """The bot of ``snekomatic dev``, watched for the simulator: ``run_dev`` sets ``status`` and
    ``store`` as the bot starts and stops. ``invites``: as :attr:`BotReport.invites`."""

    def __init__(self, *, invites: bool = True) -> None:
        self.status = BotStatus.STARTING
        self.store: Store | None = None
        self.invites = invites

    async def report(self) -> BotReport:
        """The bot's status and records now. Never raises for a database problem: the report says
        it. A checkpoint (the store is read in a thread)."""
        if self.status is BotStatus.STOPPED:
            return BotReport(status=self.status, problem="the bot has stopped", invites=self.invites)
        if self.status is BotStatus.STARTING or self.store is None:
            return BotReport(
                status=BotStatus.STARTING, problem="the bot is starting", invites=self.invites
            )
        try:
            deliveries, invitations = await run_sync(read_bot_records, self.store)
        except StoreError as exc:
            return BotReport(
                status=self.status,
                problem=f"the bot's database cannot be read: {exc}",
                invites=self.invites,
            )
        return BotReport(
            status=self.status,
            deliveries=deliveries,
            invitations=invitations,
            invites=self.invites,
        )
