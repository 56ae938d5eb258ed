"""LISTEN/NOTIFY wakes workers in other processes (PostgreSQL only)."""

from __future__ import annotations

import psycopg
import trio

from snekomatic.inbox import Doorbell
from snekomatic.inbox._notify import INBOX_CHANNEL, listen_for_new_deliveries


async def test_a_notification_rings_the_doorbell(test_database_url: str) -> None:
    doorbell = Doorbell()
    rung = trio.Event()

    async def watch() -> None:
        await doorbell.wait()
        rung.set()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await nursery.start(listen_for_new_deliveries, test_database_url, doorbell)
            with psycopg.connect(test_database_url, autocommit=True) as conn:
                conn.execute("SELECT pg_notify(%s, '')", (INBOX_CHANNEL,))
            await rung.wait()
            nursery.cancel_scope.cancel()
    assert rung.is_set()
