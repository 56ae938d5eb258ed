"""A delivery stored by one process wakes idle workers in another at once (PostgreSQL)."""

from __future__ import annotations

from functools import partial

import trio

from snekomatic.inbox import Doorbell
from snekomatic.inbox._notify import relay_new_deliveries
from snekomatic.store import Store, create_store_engine, run_sync
from tests.store.builders import new_delivery


async def test_a_stored_delivery_rings_the_doorbell_of_another_process(
    postgres_module_database: str,
) -> None:
    listening = Store(create_store_engine(postgres_module_database))
    web_process = Store(create_store_engine(postgres_module_database))  # as another process would
    doorbell = Doorbell()
    rung = trio.Event()

    async def watch() -> None:
        await doorbell.wait()
        rung.set()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await nursery.start(partial(relay_new_deliveries, listening, doorbell))
            await run_sync(web_process.insert_deliveries, [new_delivery()])
            await rung.wait()
            nursery.cancel_scope.cancel()
    assert rung.is_set()
