"""Leases measured on the database's clock, whatever the clocks of the machines sharing it say."""

from __future__ import annotations

import datetime as dt
from functools import partial

import trio
import trio.testing

from snekomatic.inbox import DatabaseClock, Doorbell, WorkerPolicy, Workers
from snekomatic.inbox._queue import StoreQueue, utc_now
from snekomatic.runtime import Service, delivery_ingest
from snekomatic.store import Delivery, Store, StoreUnavailable
from tests.store.builders import new_delivery

LEASE = 60.0


def skewed(by: dt.timedelta) -> dt.datetime:
    return utc_now() + by


async def test_the_store_reads_the_database_servers_clock(store: Store) -> None:
    before = utc_now()
    server = store.database_now()
    after = utc_now()

    assert server.tzinfo is not None and server.utcoffset() == dt.timedelta(0)
    # The test's database runs on this machine, so the two clocks agree closely.
    assert before - dt.timedelta(seconds=5) <= server <= after + dt.timedelta(seconds=5)


async def test_a_machine_running_fast_does_not_steal_a_live_lease(store: Store) -> None:
    # Two workers' machines, one ten minutes fast. Each reads the database's clock through its offset.
    slow = DatabaseClock(store)
    fast = DatabaseClock(store, local=lambda: skewed(dt.timedelta(minutes=10)))
    await slow.synchronise()
    await fast.synchronise()
    store.insert_deliveries([new_delivery("d1", received_at=slow() - dt.timedelta(seconds=1))])

    held = await StoreQueue(store, clock=slow).claim("slow/0", LEASE)
    stolen = await StoreQueue(store, clock=fast).claim("fast/0", LEASE)

    assert held is not None and held.delivery_id == "d1"
    assert stolen is None
    assert abs(fast() - slow()) < dt.timedelta(seconds=5)
    # On its own clock the fast machine would have seen the lease as long expired.
    unsynchronised = StoreQueue(store, clock=lambda: skewed(dt.timedelta(minutes=10)))
    assert await unsynchronised.claim("fast/1", LEASE) is not None


class FlakyDatabase:
    """database_now answers ``server_time`` (or raises while ``down``)."""

    def __init__(self, server_time: dt.datetime) -> None:
        self.server_time = server_time
        self.down = False

    def database_now(self) -> dt.datetime:
        if self.down:
            raise StoreUnavailable("connection refused")
        return self.server_time


async def test_the_offset_is_measured_and_kept_while_the_database_is_away() -> None:
    local = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    database = FlakyDatabase(local + dt.timedelta(hours=2))
    clock = DatabaseClock(database, local=lambda: local)  # type: ignore[arg-type]
    assert clock() == local  # not measured yet: this machine's clock

    await clock.synchronise()
    assert clock() == local + dt.timedelta(hours=2)

    database.down = True
    database.server_time = local
    await clock.synchronise()  # logged, not raised
    assert clock() == local + dt.timedelta(hours=2)


async def test_startup_jobs_run_before_workers_claim(store: Store) -> None:
    order: list[str] = []
    release = trio.Event()
    claimed = trio.Event()

    async def measure() -> None:
        order.append("startup begins")
        await release.wait()
        order.append("startup ends")

    class Queue(StoreQueue):
        async def claim_many(self, owner: str, lease: float, limit: int) -> list[Delivery]:
            order.append("claim")
            claimed.set()
            return []

    async def process(delivery: Delivery) -> None:
        pass

    doorbell = Doorbell()
    service = Service(
        store=store,
        ingest=delivery_ingest(store),
        workers=Workers(
            Queue(store), process, count=1, name="t", policy=WorkerPolicy(), doorbell=doorbell
        ),
        doorbell=doorbell,
        webhook_secrets=[b"s"],
        background=[],
        clock=utc_now,
        startup=[measure],
    )
    stop = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(service.run, listening_socket=None, stop=stop))
            # Held in its startup job, the service gets no further: every task waits, nobody claims.
            await trio.testing.wait_all_tasks_blocked()
            assert order == ["startup begins"]
            release.set()
            await claimed.wait()
            stop.set()
    assert order[:3] == ["startup begins", "startup ends", "claim"]
