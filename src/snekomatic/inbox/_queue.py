"""The store seen as the workers' :class:`~snekomatic.inbox.DeliveryQueue`: the clock meets the store here.

Store functions take ``now``; this adapter reads a clock (in ``serve`` and ``worker`` the
:class:`DatabaseClock`; injectable for tests). Claims and settlements, one or two per delivery, go
through the store's :class:`~snekomatic.store.DeliveryWriter` (on PostgreSQL sent from the event
loop); the rare renewals through :func:`snekomatic.store.run_sync`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog
import trio

from snekomatic.store import (
    Delivery,
    DeliveryWriter,
    Settlement,
    Store,
    StoreUnavailable,
    open_delivery_writer,
    run_sync,
)

__all__ = ["DatabaseClock", "StoreQueue", "utc_now"]

log = structlog.get_logger("snekomatic.inbox")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DatabaseClock:
    """The database server's time, as this machine's clock plus a measured offset.

    Every process sharing the database compares leases and due times that other processes wrote,
    perhaps on other machines. On each machine's own clock, a machine running a minute fast would
    see a live worker's 60-second lease as expired and claim its delivery again. Read through this
    clock, all of them measure against the database's. Calling it costs no round trip:
    :meth:`synchronise` measures the offset (at start-up, then every few minutes) from one
    ``database_now`` call, taking the middle of the round trip as the moment the server read its
    clock. Until the first measurement, and whenever one fails, the last offset stands (at first 0).
    """

    def __init__(self, store: Store, *, local: Callable[[], dt.datetime] = utc_now) -> None:
        self._store = store
        self._local = local
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return self._local() + self.offset

    async def synchronise(self) -> None:
        """Measure the offset again; a database that cannot be reached keeps the last one."""
        before = self._local()
        try:
            server = await run_sync(self._store.database_now)
        except StoreUnavailable as exc:
            log.warning("cannot read the database's clock", error=str(exc))
            return
        after = self._local()
        self.offset = server - (before + (after - before) / 2)


@dataclass(eq=False)
class _Waiting:
    settlement: Settlement
    done: bool = False
    held: bool = False
    error: BaseException | None = None


class StoreQueue:
    """Claims and settles deliveries in ``store``; every method is one short transaction.

    Claims and settlements each have a writer (a connection) of their own, made by ``open_writer``,
    so that a claim never waits behind a settlement's commit; :meth:`close` lets go of them.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        open_writer: Callable[[Store], DeliveryWriter] = open_delivery_writer,
    ) -> None:
        self._store = store
        self._clock = clock
        self._claims = open_writer(store)
        self._settlements = open_writer(store)
        self._queued: list[_Waiting] = []
        self._settling = trio.Lock()

    def close(self) -> None:
        self._claims.close()
        self._settlements.close()

    async def claim(self, owner: str, lease: float) -> Delivery | None:
        claimed = await self.claim_many(owner, lease, 1)
        return claimed[0] if claimed else None

    async def claim_many(self, owner: str, lease: float, limit: int) -> list[Delivery]:
        return await self._claims.claim_deliveries(
            owner, now=self._clock(), lease=lease, limit=limit
        )

    async def renew(self, delivery_id: int, owner: str, lease: float) -> bool:
        return await run_sync(
            self._store.renew_lease, delivery_id, owner, now=self._clock(), lease=lease
        )

    async def complete(self, delivery_id: int, owner: str) -> bool:
        return await self._settle(Settlement("complete", delivery_id, owner))

    async def retry(self, delivery_id: int, owner: str, delay: float, error: str) -> bool:
        next_attempt_at = self._clock() + dt.timedelta(seconds=delay)
        settlement = Settlement(
            "retry", delivery_id, owner, next_attempt_at=next_attempt_at, error=error
        )
        return await self._settle(settlement)

    async def dead_letter(self, delivery_id: int, owner: str, error: str) -> bool:
        return await self._settle(Settlement("dead_letter", delivery_id, owner, error=error))

    async def release(self, delivery_id: int, owner: str) -> bool:
        return await self._settle(Settlement("release", delivery_id, owner))

    async def _settle(self, settlement: Settlement) -> bool:
        """Record ``settlement`` with whatever other outcomes are waiting: one transaction for all.

        Group commit without a task of its own: the first caller commits every settlement queued
        so far while the next ones gather behind the lock, and each learns its own result. (The
        workers call this shielded, so no caller leaves mid-commit.)
        """
        waiting = _Waiting(settlement)
        self._queued.append(waiting)
        async with self._settling:
            if not waiting.done:
                batch, self._queued = self._queued, []
                try:
                    held = await self._settlements.settle_deliveries(
                        [w.settlement for w in batch], now=self._clock()
                    )
                except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
                    for other in batch:
                        other.done, other.error = True, exc
                except BaseException:
                    # Cancelled: the others' settlements go to whoever commits next (repeating one
                    # already recorded only finds the lease gone, and changes nothing).
                    self._queued[:0] = [other for other in batch if other is not waiting]
                    raise
                else:
                    for other, result in zip(batch, held, strict=True):
                        other.done, other.held = True, result
        if waiting.error is not None:
            raise waiting.error
        return waiting.held

