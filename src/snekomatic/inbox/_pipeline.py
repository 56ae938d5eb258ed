"""A verified delivery's way through the inbox: stored as the work it is (:class:`Inbox`), handed to
a worker at once when one is free, and run through the handlers (:func:`delivery_processor`); the
workers (:mod:`snekomatic.inbox._workers`) claim what is left, retry, and record the outcomes.

One delivery costs about one durable write when it can (issue 10):

- one no handler would act on (judged from its event and action, conservatively: ``may_handle``) is
  stored already settled: one insert, no claim, no settlement;
- one that may be acted on, when a worker of this process is free, is stored leased to this
  process and handed to that worker from memory: no claim transaction, and the worker starts as
  soon as the commit returns. Should this process die first, the lease expires (or its successor
  recognises it as dead) and any process claims the delivery, as any other;
- otherwise it is stored pending, and the doorbell (and PostgreSQL's NOTIFY) tells the workers here
  and elsewhere, which claim it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog
import trio

from snekomatic.gh.sansio import Envelope, Event, decode_webhook
from snekomatic.inbox._ingest import GroupCommitIngest
from snekomatic.inbox._workers import Doorbell, Workers
from snekomatic.logs import collecting_decisions
from snekomatic.store import Delivery, NewDelivery, delivery_from_new

__all__ = ["Inbox", "delivery_processor"]

log = structlog.get_logger("snekomatic.inbox")


@dataclass(kw_only=True)
class Inbox:
    """Accepts verified deliveries into the database for this process's ``workers`` (None: a
    web-only process) and every other process's."""

    ingest: GroupCommitIngest[NewDelivery, int | None]
    workers: Workers[Delivery] | None
    doorbell: Doorbell
    clock: Callable[[], dt.datetime]
    may_handle: Callable[[str, str | None], bool] = lambda event, action: True
    on_accepted: Callable[[bool], None] = lambda is_new: None

    async def accept(self, event: Envelope, headers: Mapping[str, str], body: bytes) -> bool:
        """Store a verified delivery durably (see the module docstring); True if it was new, False
        for a duplicate. Raises :class:`~snekomatic.inbox.InboxUnavailable`. A checkpoint."""
        now = self.clock()
        handled = self.may_handle(event.event, event.action)
        reservation = self.workers.reserve() if handled and self.workers is not None else None
        lease = None if self.workers is None else self.workers.policy.lease
        row = NewDelivery(
            hook_id=event.hook_id,
            delivery_id=event.delivery_id,
            event=event.event,
            action=event.action,
            installation_id=event.installation_id,
            received_at=now,
            body=body,
            headers=headers,
            settled=not handled,
            leased_to=None if reservation is None else reservation.owner,
            lease_until=None if reservation is None or lease is None
            else now + dt.timedelta(seconds=lease),
        )
        try:
            id = await self.ingest.store(row)
        except BaseException:
            if reservation is not None:
                reservation.cancel()  # stored or not, the lease expires and anyone claims it
            raise
        is_new = id is not None
        if reservation is not None:
            if id is None:
                reservation.cancel()
            else:
                await reservation.hand(delivery_from_new(row, id))
        elif is_new and handled:
            self.doorbell.ring()
        self.on_accepted(is_new)
        return is_new


def delivery_processor(
    dispatch: Callable[[Event], Awaitable[None]],
) -> Callable[[Delivery], Awaitable[None]]:
    """What the workers run for a stored delivery: decode it and ``dispatch`` it to the handlers
    (``GithubApp.dispatch``), with one log line per attempt saying how it ended, what the handlers
    decided (:func:`snekomatic.logs.note_decision`; "nothing to do" when none said) and how long it
    took.
    Raises what decoding or the handlers raise (the workers record it as a retry or a dead letter).
    """

    async def process(delivery: Delivery) -> None:
        event = decode_webhook(delivery.headers, delivery.body)
        started = trio.current_time()
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery.delivery_id,
            github_event=delivery.event,
            action=delivery.action,
            installation_id=delivery.installation_id,
            attempt=delivery.attempts,
        ):
            outcome = "failed"
            with collecting_decisions() as decisions:
                try:
                    await dispatch(event)
                    outcome = "done"
                finally:
                    log.info(
                        "delivery processed",
                        outcome=outcome,
                        decision="; ".join(decisions) or "nothing to do",
                        duration_ms=round((trio.current_time() - started) * 1000, 1),
                    )

    return process
