"""The store seen as the workers' :class:`~snekomatic.inbox.DeliveryQueue`: the clock and threads meet here.

Store functions are synchronous and take ``now``; this adapter reads a clock (in ``serve`` and
``worker`` the :class:`DatabaseClock`; injectable for tests) and runs each call in a worker thread
through :func:`snekomatic.store.run_sync`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import structlog

from snekomatic.store import Delivery, Store, StoreUnavailable, run_sync

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


class StoreQueue:
    """Claims and settles deliveries in ``store``; every method is one short transaction in a thread."""

    def __init__(self, store: Store, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def claim(self, owner: str, lease: float) -> Delivery | None:
        return await run_sync(
            self._store.claim_next_delivery, owner, now=self._clock(), lease=lease
        )

    async def renew(self, delivery_id: int, owner: str, lease: float) -> bool:
        return await run_sync(
            self._store.renew_lease, delivery_id, owner, now=self._clock(), lease=lease
        )

    async def complete(self, delivery_id: int, owner: str) -> bool:
        return await run_sync(self._store.complete_delivery, delivery_id, owner, now=self._clock())

    async def retry(self, delivery_id: int, owner: str, delay: float, error: str) -> bool:
        now = self._clock()
        return await run_sync(
            self._store.retry_delivery,
            delivery_id,
            owner,
            now=now,
            next_attempt_at=now + dt.timedelta(seconds=delay),
            error=error,
        )

    async def dead_letter(self, delivery_id: int, owner: str, error: str) -> bool:
        return await run_sync(
            self._store.dead_letter, delivery_id, owner, now=self._clock(), error=error
        )

    async def release(self, delivery_id: int, owner: str) -> bool:
        return await run_sync(self._store.release_lease, delivery_id, owner, now=self._clock())
