"""Group commit: concurrent deliveries share transactions, and nobody hears "stored" before the commit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import partial

import pytest
import trio
import trio.testing

from snekomatic.inbox import GroupCommitIngest, InboxUnavailable


class DatabaseDown(Exception):
    pass


class RecordingTable:
    """A thread-safe stand-in for the deliveries table: one 'transaction' per insert_many call."""

    def __init__(self) -> None:
        self.rows: set[str] = set()
        self.transactions: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.down = False
        self.poison: set[str] = set()
        self.lock = threading.Lock()

    def insert_many(self, rows: Sequence[str]) -> list[bool]:
        self.gate.wait(timeout=10)
        if self.down:
            raise DatabaseDown("connection refused")
        if self.poison & set(rows):
            raise ValueError("a value the database refuses")
        with self.lock:
            self.transactions.append(list(rows))
            results = [row not in self.rows for row in rows]
            self.rows.update(rows)
        return results


async def _started(table: RecordingTable, nursery: trio.Nursery) -> GroupCommitIngest[str]:
    ingest = GroupCommitIngest(
        partial(trio.to_thread.run_sync, table.insert_many), unavailable=(DatabaseDown,)
    )
    await nursery.start(ingest.run)
    return ingest


async def test_concurrent_deliveries_are_committed_together_and_each_stored_once() -> None:
    table = RecordingTable()
    results: dict[str, bool] = {}
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            ingest = await _started(table, nursery)
            table.gate.clear()  # hold the first commit so the others queue behind it

            async def deliver(name: str) -> None:
                results[name] = await ingest.store(name)

            async with trio.open_nursery() as senders:
                for i in range(200):
                    senders.start_soon(deliver, f"d{i}")
                await trio.testing.wait_all_tasks_blocked()
                table.gate.set()
            nursery.cancel_scope.cancel()
    assert results == {f"d{i}": True for i in range(200)}
    assert sum(len(t) for t in table.transactions) == 200
    assert len(table.transactions) < 20  # batched, not one commit per delivery


async def test_a_duplicate_is_reported_as_not_new() -> None:
    table = RecordingTable()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            ingest = await _started(table, nursery)
            first = await ingest.store("same")
            second = await ingest.store("same")
            nursery.cancel_scope.cancel()
    assert (first, second) == (True, False)


async def test_store_returns_only_after_the_commit() -> None:
    table = RecordingTable()
    table.gate.clear()
    returned = trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            ingest = await _started(table, nursery)

            async def deliver() -> None:
                await ingest.store("d1")
                returned.set()

            nursery.start_soon(deliver)
            await trio.testing.wait_all_tasks_blocked()
            assert not returned.is_set()
            assert table.rows == set()
            table.gate.set()
            await returned.wait()
            assert table.rows == {"d1"}
            nursery.cancel_scope.cancel()


async def test_database_down_fails_every_waiting_delivery() -> None:
    table = RecordingTable()
    table.down = True
    errors: list[BaseException] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            ingest = await _started(table, nursery)

            async def deliver(name: str) -> None:
                with pytest.raises(InboxUnavailable) as info:
                    await ingest.store(name)
                errors.append(info.value)

            async with trio.open_nursery() as senders:
                for i in range(5):
                    senders.start_soon(deliver, f"d{i}")
            nursery.cancel_scope.cancel()
    assert len(errors) == 5
    assert all(isinstance(e.__cause__, DatabaseDown) for e in errors)


async def test_a_poisonous_row_fails_alone() -> None:
    table = RecordingTable()
    table.poison = {"bad"}
    outcome: dict[str, object] = {}
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            ingest = await _started(table, nursery)
            table.gate.clear()

            async def deliver(name: str) -> None:
                try:
                    outcome[name] = await ingest.store(name)
                except InboxUnavailable:
                    outcome[name] = "unavailable"

            async with trio.open_nursery() as senders:
                for name in ["a", "b", "bad", "c"]:
                    senders.start_soon(deliver, name)
                await trio.testing.wait_all_tasks_blocked()
                table.gate.set()
            nursery.cancel_scope.cancel()
    assert outcome == {"a": True, "b": True, "bad": "unavailable", "c": True}
    assert table.rows == {"a", "b", "c"}
