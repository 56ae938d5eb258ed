"""Durable ingest with group commit: concurrent webhook requests share one database transaction.

A request hands its delivery to :meth:`GroupCommitIngest.store` and waits. A committer task takes
everything that has queued up since its last commit and inserts it in one transaction (see
:func:`snekomatic.store.open_delivery_writer`). While one commit is in flight the next batch
gathers, so under load each commit (and its fsync) serves many deliveries, and when idle a lone
delivery is committed at once, with no added wait. Only when its commit returns does a request learn
its fate, so nothing is acknowledged before it is on disk. One committer is the default (why:
``bench/README.md``, "What the ingest figures rest on").
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio

__all__ = ["GroupCommitIngest", "InboxUnavailable"]

Row = TypeVar("Row")
Result = TypeVar("Result")


class InboxUnavailable(Exception):
    """The delivery could not be stored (the database is unreachable or refused the write)."""


@dataclass(eq=False)
class _Waiter(Generic[Row, Result]):
    row: Row
    done: trio.Event = field(default_factory=trio.Event)
    result: Result | None = None
    committed: bool = False
    error: BaseException | None = None


class GroupCommitIngest(Generic[Row, Result]):
    """Stores rows through ``insert_many``, batching the rows that arrive while a commit is running.

    ``await insert_many(rows) -> list[Result]`` inserts all ``rows`` in one transaction and says, per
    row, what became of it (whether it was new, say, or the id it was stored as). Any exception it raises becomes :class:`InboxUnavailable` for the rows concerned and
    is passed to ``on_error`` (for logging and Sentry). ``unavailable`` lists the exception types that
    mean "the database is unreachable": those fail the whole batch at once; any other failure of a batch
    is retried row by row, so that only a poisonous row fails.

    ``committers`` commits may be in flight at once (each takes up to ``max_batch`` rows).
    ``on_stop`` is called when :meth:`run` ends (to close the writer's connection, say).

    Call :meth:`run` in a nursery (``await nursery.start(ingest.run)``) before :meth:`store`.
    """

    def __init__(
        self,
        insert_many: Callable[[Sequence[Row]], Awaitable[list[Result]]],
        *,
        unavailable: tuple[type[BaseException], ...],
        on_error: Callable[[BaseException], None] = lambda exc: None,
        max_batch: int = 500,
        committers: int = 1,
        on_stop: Callable[[], None] = lambda: None,
    ) -> None:
        self._insert_many = insert_many
        self._on_error = on_error
        self._unavailable = unavailable
        self._max_batch = max_batch
        self._committers = committers
        self._on_stop = on_stop
        self._send, self._receive = trio.open_memory_channel[_Waiter[Row, Result]](math.inf)
        self.batches = 0  # statistics: commits made, rows stored
        self.rows = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the committer tasks until cancelled. Reports readiness through ``task_status``."""
        try:
            async with trio.open_nursery() as nursery:
                for _ in range(self._committers):
                    nursery.start_soon(self._commit_batches)
                task_status.started()
        finally:
            self._on_stop()

    async def store(self, row: Row) -> Result:
        """Store ``row`` durably; what ``insert_many`` said of it.

        Returns only after the transaction holding the row has committed. Raises
        :class:`InboxUnavailable` if the database failed. If cancelled while waiting, the row may still
        be committed (the caller only loses the answer), which is safe: deliveries are idempotent.
        """
        waiter: _Waiter[Row, Result] = _Waiter(row)
        self._send.send_nowait(waiter)
        await waiter.done.wait()
        if waiter.error is not None:
            raise InboxUnavailable("the delivery could not be stored") from waiter.error
        return waiter.result  # type: ignore[return-value]  # set with committed

    async def _commit_batches(self) -> None:
        async for first in self._receive:
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                await self._commit(batch)
            finally:
                # Whatever happened (even cancellation at shutdown), no request is left waiting, and
                # none is told "stored" unless its commit returned.
                for waiter in batch:
                    if not waiter.done.is_set():
                        if waiter.error is None and not waiter.committed:
                            waiter.error = InboxUnavailable("the inbox is shutting down")
                        waiter.done.set()

    async def _commit(self, batch: list[_Waiter[Row, Result]]) -> None:
        try:
            results = await self._insert_many([w.row for w in batch])
        # The per-batch boundary: a failure is answered 503 and reported, never left hanging.
        except Exception as exc:  # noqa: BLE001
            if len(batch) == 1 or isinstance(exc, self._unavailable):
                for waiter in batch:
                    waiter.error = exc
                self._on_error(exc)
                return
            # Not a connection failure: one row may be poisonous (say, text PostgreSQL refuses).
            # Store the others one by one so a bad delivery cannot take its neighbours down.
            for waiter in batch:
                await self._commit([waiter])
            return
        self.batches += 1
        self.rows += len(batch)
        for waiter, result in zip(batch, results, strict=True):
            waiter.result = result
            waiter.committed = True
