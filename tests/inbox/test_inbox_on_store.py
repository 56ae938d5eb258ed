"""The inbox on real storage, SQLite and PostgreSQL alike (issue 3's "must show" list)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial

import httpx
import trio
import trio.lowlevel

from snekomatic.gh.sansio import signature_for
from snekomatic.inbox import Doorbell, WorkerPolicy, Workers
from snekomatic.inbox._queue import StoreQueue, utc_now
from snekomatic.runtime import Service, delivery_ingest, open_listening_socket
from snekomatic.store import (
    Delivery,
    DeliveryStatus,
    Store,
    StoreUnavailable,
    create_store_engine,
    run_sync,
)
from tests.payloads import load_payload
from tests.store.builders import new_delivery

FAST = WorkerPolicy(
    lease=10,
    renew_every=3,
    deadline=10,
    max_attempts=3,
    backoff_base=0.05,
    backoff_max=0.2,
    poll_interval=0.05,
    grace=2,
)


def workers_for(
    store: Store, process: Callable[[Delivery], Awaitable[None]], count: int
) -> Workers[Delivery]:
    return Workers(
        StoreQueue(store),
        process,
        count=count,
        name="test",
        policy=FAST,
        unavailable=(StoreUnavailable,),
    )


async def run_until(workers: Workers[Delivery], done: trio.Event, limit: float = 60) -> None:
    with trio.fail_after(limit):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await done.wait()
            await workers.stop()


async def test_four_workers_process_500_deliveries_exactly_once(store: Store) -> None:
    rows = [new_delivery(f"d{i:03}") for i in range(500)]
    assert all(await run_sync(store.insert_deliveries, rows))
    seen: Counter[str] = Counter()
    done = trio.Event()

    async def process(delivery: Delivery) -> None:
        seen[delivery.delivery_id] += 1
        await trio.lowlevel.checkpoint()
        if len(seen) == 500:
            done.set()

    await run_until(workers_for(store, process, 4), done)
    assert seen == Counter({row.delivery_id: 1 for row in rows})
    counts = await run_sync(store.count_by_status)
    assert counts.get(DeliveryStatus.DONE) == 500


async def test_a_handler_failing_twice_then_succeeding_is_done_once(store: Store) -> None:
    await run_sync(store.insert_deliveries, [new_delivery("flaky")])
    attempts: list[int] = []
    done = trio.Event()

    async def process(delivery: Delivery) -> None:
        attempts.append(delivery.attempts)
        if len(attempts) < 3:
            raise RuntimeError("GitHub answered 502")
        done.set()

    await run_until(workers_for(store, process, 2), done)
    [stored] = await run_sync(store.list_deliveries)
    assert attempts == [1, 2, 3]
    assert (stored.status, stored.attempts) == (DeliveryStatus.DONE, 3)


async def test_a_handler_that_always_fails_ends_as_a_dead_letter(store: Store) -> None:
    await run_sync(store.insert_deliveries, [new_delivery("doomed")])
    failures: list[bool] = []
    done = trio.Event()

    async def process(delivery: Delivery) -> None:
        raise ValueError("a bug in a handler")

    def on_failure(delivery: Delivery, exc: BaseException, last: bool) -> None:
        failures.append(last)
        if last:
            done.set()

    workers = Workers(
        StoreQueue(store), process, count=1, name="test", policy=FAST, on_failure=on_failure
    )
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await done.wait()
            await workers.stop()
    [stored] = await run_sync(store.list_deliveries)
    assert failures == [False, False, True]
    assert stored.status == DeliveryStatus.DEAD
    assert stored.last_error == "ValueError: a bug in a handler"


async def test_the_same_delivery_sent_ten_times_at_once_is_stored_and_processed_once(
    store: Store,
) -> None:
    processed: Counter[str] = Counter()
    stored = trio.Event()

    async def process(delivery: Delivery) -> None:
        processed[delivery.delivery_id] += 1
        stored.set()

    doorbell = Doorbell()
    service = Service(
        store=store,
        ingest=delivery_ingest(store),
        workers=Workers(
            StoreQueue(store), process, count=4, name="t", policy=FAST, doorbell=doorbell
        ),
        doorbell=doorbell,
        webhook_secrets=[b"secret"],
        background=[],
        clock=utc_now,
    )
    body = json.dumps(load_payload("pull_request", "closed.with-organization")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": signature_for(body, b"secret"),
    }
    statuses: list[int] = []
    stop = trio.Event()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            listening_socket = open_listening_socket("127.0.0.1", 0)
            [url] = await nursery.start(
                partial(service.run, listening_socket=listening_socket, stop=stop)
            )
            async with httpx.AsyncClient(base_url=url) as http:

                async def send() -> None:
                    response = await http.post("/webhook/github", content=body, headers=headers)
                    statuses.append(response.status_code)

                async with trio.open_nursery() as senders:
                    for _ in range(10):
                        senders.start_soon(send)
            await stored.wait()
            stop.set()
    assert statuses == [202] * 10
    assert processed == Counter({"72d3162e-cc78-11e3-81ab-4c9367dc0958": 1})
    rows = await run_sync(store.list_deliveries)
    assert [(r.delivery_id, r.status) for r in rows] == [
        ("72d3162e-cc78-11e3-81ab-4c9367dc0958", DeliveryStatus.DONE)
    ]


def _service(store: Store) -> Service:
    return Service(
        store=store,
        ingest=delivery_ingest(store),
        workers=None,
        doorbell=Doorbell(),
        webhook_secrets=[b"s"],
        background=[],
        clock=lambda: dt.datetime.now(dt.UTC),
    )


async def test_the_health_check_passes_on_a_reachable_database(store: Store) -> None:
    assert await _service(store).database_ok() is True


async def test_the_health_check_fails_when_the_database_is_unreachable() -> None:
    unreachable = Store(create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none"))
    assert await _service(unreachable).database_ok() is False
