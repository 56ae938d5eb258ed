"""Wake idle workers in every process as soon as a delivery is committed (PostgreSQL).

The store NOTIFYs inside the transaction that inserts (or releases, or replays) a delivery, so a
notification only ever announces committed work. Each worker process relays them to its
:class:`Doorbell` through a :class:`~snekomatic.store.DeliveryListener`. Workers still poll now and then,
so a notification lost with a dropped connection delays work by one poll interval; it never loses it.
"""

from __future__ import annotations

import trio

from snekomatic.inbox._workers import Doorbell
from snekomatic.store import Store, StoreUnavailable, run_sync

__all__ = ["relay_new_deliveries"]

# A listening thread cannot be cancelled: it wakes this often to notice shutdown.
_WAIT_SLICE = 1.0


async def relay_new_deliveries(
    store: Store,
    doorbell: Doorbell,
    *,
    reconnect_delay: float = 2.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Ring ``doorbell`` whenever the store announces new work, until cancelled.

    Reports readiness once the first LISTEN is active. A lost connection is opened again every
    ``reconnect_delay`` seconds. Cancellation takes effect within a second (the current wait ends).
    """
    started = False
    while True:
        try:
            listener = await run_sync(store.open_delivery_listener)
        except StoreUnavailable:
            await trio.sleep(reconnect_delay)
            continue
        if listener is None:  # SQLite: nothing announces work; the workers poll
            task_status.started()
            return
        try:
            if not started:
                started = True
                task_status.started()
            while True:
                if await run_sync(listener.wait, _WAIT_SLICE):
                    doorbell.ring()
        except StoreUnavailable:
            await trio.sleep(reconnect_delay)
        finally:
            listener.close()
