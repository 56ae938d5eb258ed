"""The store seen as the workers' :class:`~snekomatic.inbox.DeliveryQueue`: the clock and threads meet here.

Store functions are synchronous and take ``now``; this adapter reads the wall clock (injectable for
tests) and runs each call in a worker thread through :func:`snekomatic.store.run_sync`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from snekomatic.store import Delivery, Store, run_sync

__all__ = ["StoreQueue", "utc_now"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
