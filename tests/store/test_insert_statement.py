"""How a batch of deliveries is written: the store's chunked path, and the delivery writer (on PostgreSQL
one statement sent from the event loop) agree, and the writer rides out what a connection can suffer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import psycopg
import pytest
import trio
from sqlalchemy import Engine, text

from snekomatic.store import (
    DeliveryListener,
    DeliveryStatus,
    DeliveryWriter,
    NewDelivery,
    Store,
    StoreUnavailable,
    create_store_engine,
    open_delivery_writer,
)
from snekomatic.store._deliveries import _INSERT_CHUNK_ROWS
from tests.databases import backend_pids, settled_backend_pids, terminate_backends
from tests.store.builders import NOW, new_delivery

Insert = Callable[[Sequence[NewDelivery]], Awaitable[list[bool]]]


@pytest.fixture(params=["store", "writer"])
def insert(request: pytest.FixtureRequest, store: Store, writer: DeliveryWriter) -> Insert:
    """Both ways in: the store's synchronous method and the inbox's writer."""
    if request.param == "writer":
        return writer.insert_deliveries

    async def through_the_store(rows: Sequence[NewDelivery]) -> list[bool]:
        return store.insert_deliveries(rows)

    return through_the_store


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(3, id="small"),
        pytest.param(_INSERT_CHUNK_ROWS, id="one-statement"),
        pytest.param(_INSERT_CHUNK_ROWS + 1, id="chunked"),
    ],
)
async def test_batch_results_follow_the_rows(store: Store, insert: Insert, size: int) -> None:
    await insert([new_delivery("old")])
    rows = [
        new_delivery("old"),
        *(new_delivery(f"g{i}") for i in range(size - 2)),
        new_delivery("g0"),
    ]

    results = await insert(rows)

    assert results == [False, *([True] * (size - 2)), False]
    assert len(store.list_deliveries(limit=1000)) == size - 1


async def test_every_field_is_stored_as_given(store: Store, insert: Insert) -> None:
    body = b"\x00\xff not utf-8 \x80"
    row = new_delivery(
        "guid-x",
        hook_id=None,
        body=body,
        headers={
            "X-GitHub-Event": "ping",
            "X-Hub-Signature-256": "sha256=secret",
            "Content-Type": "application/json",
        },
    )

    await insert([row])

    (summary,) = store.list_deliveries()
    stored = store.get_delivery(summary.id)
    assert stored is not None
    assert (stored.delivery_id, stored.body, stored.received_at) == ("guid-x", body, NOW)
    assert (stored.event, stored.action, stored.installation_id) == ("issue_comment", "created", 42)
    assert store.delivery_exists(None, "guid-x")
    assert stored.headers == {"x-github-event": "ping", "content-type": "application/json"}
    assert stored.next_attempt_at == NOW


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_batch_with_a_new_row_among_duplicates_wakes_the_listener(
    store: Store, insert: Insert
) -> None:
    old = new_delivery()
    await insert([old])
    listener = store.open_delivery_listener()
    assert isinstance(listener, DeliveryListener)
    try:
        await insert([old, new_delivery(), old])

        assert listener.wait(timeout=10) is True
    finally:
        listener.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_writer_keeps_one_connection_and_closing_lets_it_go(
    store: Store, writer: DeliveryWriter, postgres_admin: Engine, migrated_database: str
) -> None:
    store.close()  # only the writer's connection is left to count
    for _ in range(3):
        await writer.insert_deliveries([new_delivery()])
    assert len(settled_backend_pids(postgres_admin, migrated_database, 1)) == 1

    writer.close()

    assert settled_backend_pids(postgres_admin, migrated_database, 0) == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_connection_killed_between_batches_is_replaced_without_an_error(
    store: Store, writer: DeliveryWriter, postgres_admin: Engine, migrated_database: str
) -> None:
    await writer.insert_deliveries([new_delivery("before")])
    store.close()
    terminate_backends(postgres_admin, migrated_database)

    assert await writer.insert_deliveries([new_delivery("after"), new_delivery("before")]) == [
        True,
        False,
    ]
    assert {d.delivery_id for d in store.list_deliveries()} == {"before", "after"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_refused_statement_raises_and_the_connection_stays_usable(
    store: Store, writer: DeliveryWriter, postgres_admin: Engine, migrated_database: str
) -> None:
    await writer.insert_deliveries([new_delivery("first")])
    store.close()
    (pid,) = settled_backend_pids(postgres_admin, migrated_database, 1)

    with pytest.raises(psycopg.DataError):  # PostgreSQL text cannot hold NUL
        await writer.insert_deliveries([new_delivery("nul\x00here"), new_delivery("second")])

    assert await writer.insert_deliveries([new_delivery("second")]) == [True]
    assert backend_pids(postgres_admin, migrated_database) == [pid]
    assert {d.delivery_id for d in store.list_deliveries()} == {"first", "second"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_no_server_is_store_unavailable(store: Store) -> None:
    nothing_listens = store.engine.url.set(host="127.0.0.1", port=1)
    dead = open_delivery_writer(
        Store(create_store_engine(nothing_listens.render_as_string(hide_password=False)))
    )
    try:
        with pytest.raises(StoreUnavailable):
            await dead.insert_deliveries([new_delivery()])
    finally:
        dead.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_cancelled_mid_statement_the_connection_is_dropped_and_the_next_batch_works(
    store: Store, writer: DeliveryWriter
) -> None:
    await writer.insert_deliveries([new_delivery("first")])
    # Hold the table so that the next INSERT waits inside the server, and cancel it there.
    with store.engine.connect() as locker, locker.begin():
        locker.execute(text("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE"))
        with trio.move_on_after(0.5) as waited:
            await writer.insert_deliveries([new_delivery("cancelled")])
        assert waited.cancelled_caught

    assert await writer.insert_deliveries([new_delivery("after")]) == [True]
    assert {"first", "after"} <= {d.delivery_id for d in store.list_deliveries()}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_statement_left_unanswered_is_given_up_and_the_next_batch_works(
    store: Store,
) -> None:
    writer = open_delivery_writer(store, timeout=0.3)
    try:
        await writer.insert_deliveries([new_delivery("first")])
        # The server holds the INSERT behind a lock, as a vanished server would hold it forever.
        with store.engine.connect() as locker, locker.begin():
            locker.execute(text("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(StoreUnavailable):
                await writer.insert_deliveries([new_delivery("held")])

        assert await writer.insert_deliveries([new_delivery("after")]) == [True]
    finally:
        writer.close()


@pytest.fixture(params=["store", "writer"])
def insert_ids(
    request: pytest.FixtureRequest, store: Store, writer: DeliveryWriter
) -> Callable[[Sequence[NewDelivery]], Awaitable[list[int | None]]]:
    """Both ways in, saying the ids the rows were stored as."""
    if request.param == "writer":
        return writer.insert_delivery_ids

    async def through_the_store(rows: Sequence[NewDelivery]) -> list[int | None]:
        return store.insert_delivery_ids(rows)

    return through_the_store


async def test_rows_are_stored_pending_settled_or_leased_to_their_inserter(
    store: Store, insert_ids: Callable[[Sequence[NewDelivery]], Awaitable[list[int | None]]]
) -> None:
    until = NOW + dt.timedelta(seconds=60)
    pending = new_delivery("pending")
    settled = replace(new_delivery("settled"), settled=True)
    leased = replace(new_delivery("leased"), leased_to="host:1:2:3:ab/handoff", lease_until=until)

    ids = await insert_ids([pending, settled, leased, replace(pending, settled=True)])

    assert ids[3] is None and len({*ids[:3]}) == 3
    stored = {d.delivery_id: d for d in store.list_deliveries(limit=10)}
    assert [(d.id, d.status, d.attempts) for d in stored.values()] == [
        (ids[2], DeliveryStatus.LEASED, 1),
        (ids[1], DeliveryStatus.DONE, 0),
        (ids[0], DeliveryStatus.PENDING, 0),
    ]
    assert stored["settled"].finished_at == NOW and stored["pending"].finished_at is None
    assert (stored["leased"].lease_owner, stored["leased"].lease_expires_at) == (
        "host:1:2:3:ab/handoff",
        until,
    )
    # Only the pending one is anyone's to claim; the leased one is its inserter's until it expires.
    claimed = store.claim_next_delivery("other/0", now=NOW, lease=600)
    assert claimed is not None and claimed.delivery_id == "pending"
    assert store.claim_next_delivery("other/0", now=NOW, lease=60) is None
    late = store.claim_next_delivery("other/0", now=until + dt.timedelta(seconds=1), lease=60)
    assert late is not None and (late.delivery_id, late.attempts) == ("leased", 2)


def test_a_new_delivery_is_pending_settled_or_leased_never_two_at_once() -> None:
    with pytest.raises(ValueError, match="pending, settled, or leased"):
        replace(new_delivery(), settled=True, leased_to="x/0", lease_until=NOW)
    with pytest.raises(ValueError, match="pending, settled, or leased"):
        replace(new_delivery(), leased_to="x/0")
