"""A verified delivery's way in (issue 10), on SQLite and PostgreSQL: stored settled when no handler
would act on it, handed to a free worker of this process without a claim, else claimed as before."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
import trio

from snekomatic.gh.sansio import Envelope
from snekomatic.inbox import Doorbell, Inbox, WorkerPolicy, Workers
from snekomatic.inbox._queue import StoreQueue, utc_now
from snekomatic.runtime import delivery_ingest
from snekomatic.store import (
    Delivery,
    DeliveryStatus,
    DeliveryWriter,
    NewDelivery,
    Settlement,
    Store,
    StoreUnavailable,
    delivery_from_new,
    open_delivery_writer,
    run_sync,
)
from tests.store.builders import new_delivery

FAST = WorkerPolicy(lease=10, renew_every=3, deadline=10, poll_interval=0.05, grace=2)


class CountingQueue(StoreQueue):
    """The store's queue, counting its claims (``polls``) and the deliveries they took (``claims``)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.claims = 0
        self.polls = 0
        self._polled = trio.Event()

    async def claim_many(self, owner: str, lease: float, limit: int) -> list[Delivery]:
        claimed = await super().claim_many(owner, lease, limit)
        self.claims += len(claimed)
        self.polls += 1
        self._polled.set()
        self._polled = trio.Event()
        return claimed

    async def wait_polls(self, count: int) -> None:
        """Wait until the workers have claimed ``count`` more times (taking something or not)."""
        target = self.polls + count
        while self.polls < target:
            await self._polled.wait()

    async def wait_claimed(self) -> None:
        """Wait until a claim has taken a delivery."""
        while self.claims == 0:
            await self._polled.wait()


def envelope(guid: str, event: str = "pull_request", action: str = "closed") -> Envelope:
    return Envelope(event=event, action=action, delivery_id=guid, hook_id=1, installation_id=7)


class Process:
    """One process's inbox: its ingest, its workers, and what they processed."""

    def __init__(self, store: Store, name: str, count: int, gate: trio.Event | None = None) -> None:
        self.queue = CountingQueue(store)
        self.processed: Counter[str] = Counter()
        self.gate = gate
        self.doorbell = Doorbell()
        self.workers = Workers(
            self.queue,
            self.process,
            count=count,
            name=name,
            policy=FAST,
            doorbell=self.doorbell,
            unavailable=(StoreUnavailable,),
        )
        self.inbox = Inbox(
            ingest=delivery_ingest(store),
            workers=self.workers,
            doorbell=self.doorbell,
            clock=utc_now,
            may_handle=lambda event, action: (event, action) == ("pull_request", "closed"),
        )

    async def process(self, delivery: Delivery) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.processed[delivery.delivery_id] += 1

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.inbox.ingest.run)
            await nursery.start(self.workers.run)
            task_status.started()


@pytest.fixture
async def running(
    store: Store, nursery: trio.Nursery
) -> AsyncIterator[Callable[..., Awaitable[Process]]]:
    started: list[Process] = []

    async def start(name: str = "p", count: int = 2, gate: trio.Event | None = None) -> Process:
        process = Process(store, name, count, gate)
        await nursery.start(process.run)
        started.append(process)
        return process

    yield start
    for process in started:
        await process.workers.stop()
    nursery.cancel_scope.cancel()


async def settled(store: Store, count: int) -> list[Delivery]:
    """Wait until ``count`` deliveries are done (another task does the work: polling); all rows."""
    with trio.fail_after(30):
        while True:
            rows = await run_sync(store.list_deliveries, limit=1000)
            if sum(r.status == DeliveryStatus.DONE for r in rows) >= count:
                return rows
            await trio.sleep(0.02)


async def test_a_delivery_no_handler_acts_on_is_stored_settled_and_never_processed(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    process = await running()
    assert await process.inbox.accept(envelope("labeled", action="labeled"), {}, b"{}")
    [row] = await settled(store, 1)
    assert (row.status, row.attempts, row.lease_owner) == (DeliveryStatus.DONE, 0, None)
    assert row.finished_at == row.received_at
    with trio.fail_after(10):
        await process.queue.wait_polls(2)  # the workers looked for work twice since: none taken
    assert (process.processed, process.queue.claims) == (Counter(), 0)


async def test_a_delivery_for_a_free_worker_is_handed_over_without_a_claim(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    process = await running()
    assert await process.inbox.accept(envelope("merged"), {}, b"{}")
    [row] = await settled(store, 1)
    assert process.processed == Counter({"merged": 1})
    assert (process.queue.claims, row.attempts) == (0, 1)


async def test_deliveries_beyond_the_free_workers_are_claimed_and_all_processed_once(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    gate = trio.Event()
    process = await running(count=2, gate=gate)
    for n in range(5):
        assert await process.inbox.accept(envelope(f"d{n}"), {}, b"{}")
    pending = [r for r in await run_sync(store.list_deliveries) if r.status == "pending"]
    assert len(pending) == 3  # two handed over, the rest left for any worker to claim
    gate.set()
    await settled(store, 5)
    assert process.processed == Counter({f"d{n}": 1 for n in range(5)})
    assert process.queue.claims == 3


async def test_a_duplicate_hands_nothing_over_and_frees_its_worker(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    process = await running(count=1)
    assert await process.inbox.accept(envelope("once"), {}, b"{}")
    await settled(store, 1)
    assert not await process.inbox.accept(envelope("once"), {}, b"{}")
    assert await process.inbox.accept(envelope("next"), {}, b"{}")
    await settled(store, 2)
    assert process.processed == Counter({"once": 1, "next": 1})
    assert process.queue.claims == 0  # the one worker was free for the second new delivery


async def test_handed_over_and_claimed_by_another_process_are_processed_once_between_them(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    gate = trio.Event()
    receiver = await running("receiver", count=1, gate=gate)
    other = await running("other", count=3)
    for n in range(20):
        assert await receiver.inbox.accept(envelope(f"d{n}"), {}, b"{}")
    await settled(store, 19)  # wait for the others' share; the receiver's one worker is held
    gate.set()
    rows = await settled(store, 20)
    together = receiver.processed + other.processed
    assert together == Counter({f"d{n}": 1 for n in range(20)})
    assert receiver.processed and other.processed
    assert {r.attempts for r in rows} == {1}


async def test_a_reservation_is_a_free_worker_until_cancelled(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    process = await running(count=1)
    reservation = process.workers.reserve()
    assert reservation is not None
    assert process.workers.reserve() is None  # its only worker is promised
    assert await process.inbox.accept(envelope("queued"), {}, b"{}")  # so this one is not handed
    [row] = await run_sync(store.list_deliveries)
    assert row.lease_owner != reservation.owner  # stored pending (and maybe claimed since)
    reservation.cancel()
    await settled(store, 1)  # the freed worker claims it
    with pytest.raises(RuntimeError, match="used twice"):
        reservation.cancel()


async def test_handed_over_but_not_started_at_shutdown_goes_back_to_the_queue(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    gate = trio.Event()
    process = await running(count=1, gate=gate)
    reservation = process.workers.reserve()
    assert reservation is not None
    assert await process.inbox.accept(envelope("busy"), {}, b"{}")  # pending: claimed, then held
    with trio.fail_after(10):
        await process.queue.wait_claimed()
    new = NewDelivery(
        hook_id=1,
        delivery_id="handed",
        event="pull_request",
        action="closed",
        installation_id=7,
        received_at=utc_now(),
        body=b"{}",
        headers={},
        leased_to=reservation.owner,
        lease_until=utc_now() + dt.timedelta(seconds=FAST.lease),
    )
    [id] = await run_sync(store.insert_delivery_ids, [new])
    assert id is not None
    await reservation.hand(delivery_from_new(new, id))
    await process.workers.stop()  # grace passes with both unfinished
    rows = {r.delivery_id: r for r in await run_sync(store.list_deliveries)}
    assert (rows["handed"].status, rows["handed"].attempts) == (DeliveryStatus.PENDING, 0)
    assert (rows["busy"].status, rows["busy"].attempts) == (DeliveryStatus.PENDING, 0)
    assert process.processed == Counter()


async def test_outcomes_that_arrive_together_are_recorded_in_one_transaction(store: Store) -> None:
    batches: list[int] = []

    def recording(store: Store) -> DeliveryWriter:
        writer = open_delivery_writer(store)
        original = writer.settle_deliveries

        async def settle_deliveries(
            settlements: Sequence[Settlement], *, now: dt.datetime
        ) -> list[bool]:
            batches.append(len(settlements))
            return await original(settlements, now=now)

        writer.settle_deliveries = settle_deliveries  # type: ignore[method-assign]
        return writer

    queue = StoreQueue(store, open_writer=recording)
    await run_sync(store.insert_deliveries, [new_delivery(f"g{i}") for i in range(10)])
    claimed = [await queue.claim(f"w{i}", 30) for i in range(10)]
    results: list[bool] = []

    async def complete(delivery: Delivery, owner: str) -> None:
        results.append(await queue.complete(delivery.id, owner))

    async with trio.open_nursery() as nursery:
        for index, delivery in enumerate(claimed):
            assert delivery is not None
            nursery.start_soon(complete, delivery, f"w{index}")
        nursery.start_soon(complete, claimed[0], "w9")  # not its lease: refused, alone

    assert sorted(results) == [False] + [True] * 10
    assert sum(batches) == 11 and len(batches) < 11
    assert {r.status for r in await run_sync(store.list_deliveries)} == {DeliveryStatus.DONE}


async def test_a_backlog_is_claimed_in_batches_for_the_idle_workers(
    store: Store, running: Callable[..., Awaitable[Process]]
) -> None:
    await run_sync(store.insert_deliveries, [new_delivery(f"b{i}") for i in range(40)])
    batches: list[int] = []
    process = Process(store, "drain", count=4)
    original = process.queue.claim_many

    async def recording(owner: str, lease: float, limit: int) -> list[Delivery]:
        claimed = await original(owner, lease, limit)
        if claimed:
            batches.append(len(claimed))
        return claimed

    process.queue.claim_many = recording  # type: ignore[method-assign]
    async with trio.open_nursery() as nursery:
        await nursery.start(process.run)
        process.workers.doorbell.ring()
        await settled(store, 40)
        await process.workers.stop()
        nursery.cancel_scope.cancel()
    assert sum(batches) == 40 and max(batches) > 1
    assert process.processed == Counter({f"b{i}": 1 for i in range(40)})
