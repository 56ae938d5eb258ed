"""Claims and settlements through the delivery writer (on PostgreSQL one statement sent from the event
loop) do exactly what the store's own methods do: the same deliveries, the same rows afterwards."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import pytest
import trio

from snekomatic.store import (
    Delivery,
    DeliverySummary,
    DeliveryWriter,
    Settlement,
    Store,
    open_delivery_writer,
    run_sync,
)
from tests.store.builders import NOW, new_delivery, seconds

LEASE = 30.0


def _comparable(row: DeliverySummary) -> dict[str, object]:
    """A row's fields that do not depend on which delivery it is."""
    fields = asdict(row)
    for name in ("id", "delivery_id", "received_at", "lease_owner", "body", "headers"):
        fields.pop(name, None)
    return fields


async def test_a_claim_returns_the_deliveries_as_stored(store: Store, writer: DeliveryWriter) -> None:
    body = bytes(range(256)) * 40  # every byte value, 10 KB: no escaping may touch it
    rows = [
        new_delivery("a", body=body, headers={"X-GitHub-Event": "issue_comment", "User-Agent": "x"}),
        new_delivery("b", received_at=NOW - seconds(5), hook_id=None),
        new_delivery("later", received_at=NOW + seconds(60)),  # not due yet
    ]
    await run_sync(store.insert_deliveries, rows)

    claimed = await writer.claim_deliveries("w/0", now=NOW, lease=LEASE, limit=10)

    assert [d.delivery_id for d in claimed] == ["a", "b"]  # in id order, only the due ones
    for delivery in claimed:
        assert delivery == await run_sync(store.get_delivery, delivery.id)
        assert delivery.lease_expires_at == NOW + seconds(LEASE)
        assert delivery.received_at.tzinfo is not None
        assert (delivery.status, delivery.attempts, delivery.lease_owner) == ("leased", 1, "w/0")
    assert claimed[0].body == body
    assert claimed[1].hook_id is None


async def test_a_claim_takes_at_most_limit_oldest_first_and_never_what_another_holds(
    store: Store, writer: DeliveryWriter
) -> None:
    await run_sync(
        store.insert_deliveries,
        [new_delivery(f"d{i}", received_at=NOW - seconds(10 - i)) for i in range(5)],
    )
    held = await run_sync(store.claim_deliveries, "other", now=NOW, lease=LEASE, limit=1)
    first = await writer.claim_deliveries("w/0", now=NOW, lease=LEASE, limit=2)
    rest = await writer.claim_deliveries("w/1", now=NOW, lease=LEASE, limit=10)
    assert [d.delivery_id for d in held] == ["d0"]
    assert [d.delivery_id for d in first] == ["d1", "d2"]
    assert [d.delivery_id for d in rest] == ["d3", "d4"]
    # An expired lease is due again: its worker died.
    later = NOW + seconds(LEASE + 1)
    again = await writer.claim_deliveries("w/2", now=later, lease=LEASE, limit=10)
    assert {d.delivery_id for d in again} == {"d0", "d1", "d2", "d3", "d4"}
    assert all(d.attempts == 2 for d in again)


async def test_concurrent_claims_never_share_a_delivery(store: Store) -> None:
    await run_sync(store.insert_deliveries, [new_delivery(f"c{i}") for i in range(40)])
    writers = [open_delivery_writer(store) for _ in range(4)]
    taken: list[str] = []

    async def claim_all(index: int) -> None:
        while batch := await writers[index].claim_deliveries(
            f"w/{index}", now=NOW, lease=LEASE, limit=3
        ):
            taken.extend(d.delivery_id for d in batch)
            await trio.lowlevel.checkpoint()

    try:
        async with trio.open_nursery() as nursery:
            for index in range(4):
                nursery.start_soon(claim_all, index)
    finally:
        for writer in writers:
            writer.close()
    assert sorted(taken) == sorted(f"c{i}" for i in range(40))


def _settlements(claimed: list[Delivery], owner: str) -> list[Settlement]:
    """One of each kind, and one whose owner does not hold the lease."""
    complete, retry, dead, release, stolen = claimed
    return [
        Settlement("complete", complete.id, owner),
        Settlement("retry", retry.id, owner, next_attempt_at=NOW + seconds(90), error="E: try"),
        Settlement("dead_letter", dead.id, owner, error="E: dead"),
        Settlement("release", release.id, owner),
        Settlement("complete", stolen.id, "someone else"),
    ]


@pytest.mark.parametrize("duplicated", [False, True], ids=["distinct", "one-settled-twice"])
async def test_settlements_leave_the_rows_the_store_would(
    store: Store, writer: DeliveryWriter, duplicated: bool
) -> None:
    for prefix, age in (("store", 20), ("writer", 10)):  # the store's are claimed first
        await run_sync(
            store.insert_deliveries,
            [new_delivery(f"{prefix}{i}", received_at=NOW - seconds(age - i)) for i in range(5)],
        )
    by_store = await run_sync(store.claim_deliveries, "s", now=NOW, lease=LEASE, limit=5)
    by_writer = await writer.claim_deliveries("w", now=NOW, lease=LEASE, limit=5)
    settled_at = NOW + seconds(3)
    expected = _settlements(by_store, "s")
    given = _settlements(by_writer, "w")
    if duplicated:  # the same settlement twice in a batch: only the first finds the lease
        expected.append(expected[0])
        given.append(given[0])

    assert await writer.settle_deliveries(given, now=settled_at) == await run_sync(
        store.settle_deliveries, expected, now=settled_at
    )

    rows = {row.delivery_id: row for row in await run_sync(store.list_deliveries)}
    for index in range(5):
        assert _comparable(rows[f"writer{index}"]) == _comparable(rows[f"store{index}"])
    released = rows["writer3"]
    assert (released.status, released.attempts, released.next_attempt_at) == (
        "pending",
        0,
        settled_at,
    )
    assert (rows["writer1"].last_error, rows["writer1"].next_attempt_at) == (
        "E: try",
        NOW + seconds(90),
    )
    assert rows["writer4"].status == "leased"  # not its lease: untouched


async def test_an_empty_batch_is_no_statement(writer: DeliveryWriter) -> None:
    assert await writer.settle_deliveries([], now=NOW) == []
    assert await writer.claim_deliveries("w", now=NOW, lease=LEASE, limit=5) == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite has no such channel
async def test_a_release_wakes_the_listener(store: Store, writer: DeliveryWriter) -> None:
    await run_sync(store.insert_deliveries, [new_delivery("r")])
    [delivery] = await writer.claim_deliveries("w", now=NOW, lease=LEASE, limit=1)
    listener = store.open_delivery_listener()  # after the insert, which wakes listeners too
    assert listener is not None
    try:
        assert not await run_sync(listener.wait, 0.05)
        await writer.settle_deliveries(
            [Settlement("release", delivery.id, "w")], now=NOW + dt.timedelta(seconds=1)
        )
        assert await run_sync(listener.wait, 5)
    finally:
        listener.close()
