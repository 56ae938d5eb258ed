"""Storing webhook deliveries from async code: the ingest's one hot write.

:func:`open_delivery_writer` gives the inbox an async ``insert_deliveries`` with the contract of
:meth:`Store.insert_deliveries`. On SQLite that is the store's method in a worker thread
(:func:`run_sync`). On PostgreSQL a batch is one statement sent from the event loop itself, on a
connection of its own: libpq runs non-blocking, psycopg's protocol generators send the statement and
read its results, and the waits on the socket are anyio's (Trio or asyncio), so nothing blocks.

Why not the thread: under webhook load (``snekomatic serve``, 10 concurrent senders) the thread and the
event loop took turns with the GIL at every step of each round trip, ~2.5 ms of a ~3.5 ms commit
cycle; sent from the loop, the same batches gave ~15 % more deliveries/s for less CPU per delivery.
Everything else in the store stays synchronous (SQLAlchemy behind :func:`run_sync`).
"""

from __future__ import annotations

import select
from collections.abc import Generator, Sequence
from functools import partial
from typing import Any, Protocol

import anyio

from snekomatic.store._deliveries import (
    fits_one_statement,
    ids_per_row,
    postgres_insert_values,
)
from snekomatic.store._delivery_rows import NewDelivery
from snekomatic.store._engine import run_sync
from snekomatic.store._errors import StoreUnavailable
from snekomatic.store._notify import DELIVERY_CHANNEL
from snekomatic.store._states import DeliveryStatus
from snekomatic.store._store import Store

__all__ = ["DeliveryWriter", "open_delivery_writer"]

# The whole batch as arrays, in binary (the bodies travel as they are, not hex-escaped). One
# statement in autocommit is one transaction: the answer comes after the COMMIT and its WAL flush.
# Only the rows really inserted run pg_notify, so listeners wake when (and only when) there is new
# work; PostgreSQL folds the repeats of one transaction into one notification, sent at commit.
# (The f-string puts in module constants, never data.)
# Each row is stored as its NewDelivery says (pending, done, or leased to its inserter: see
# initial_columns, which the CASEs below mirror).
_INSERT = f"""\
INSERT INTO deliveries (hook_id, delivery_id, event, action, installation_id, received_at, body,
    headers, status, attempts, next_attempt_at, lease_owner, lease_expires_at, finished_at)
SELECT u.hook_id, u.delivery_id, u.event, u.action, u.installation_id, u.received_at, u.body,
    u.headers::json, u.status,
    CASE WHEN u.status = '{DeliveryStatus.LEASED.value}' THEN 1 ELSE 0 END,
    COALESCE(u.lease_expires_at, u.received_at), u.lease_owner, u.lease_expires_at,
    CASE WHEN u.status = '{DeliveryStatus.DONE.value}' THEN u.received_at END
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[],
    $7::bytea[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
    AS u(hook_id, delivery_id, event, action, installation_id, received_at, body, headers, status,
        lease_owner, lease_expires_at)
ON CONFLICT (hook_id, delivery_id) DO NOTHING
RETURNING id, hook_id, delivery_id,
    CASE WHEN status = '{DeliveryStatus.PENDING.value}'
        THEN pg_notify('{DELIVERY_CHANNEL}', '')::text END""".encode()  # noqa: S608


class DeliveryWriter(Protocol):
    """Stores batches of new deliveries for the inbox's group commit."""

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        """As :meth:`Store.insert_deliveries`: one transaction; per row, True if new."""
        ...

    async def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        """As :meth:`Store.insert_delivery_ids`: one transaction; per row, its id if new."""
        ...

    def close(self) -> None:
        """Let go of any connection of its own (a later call opens a new one)."""
        ...


def open_delivery_writer(store: Store, *, timeout: float = 10.0) -> DeliveryWriter:
    """The writer for ``store``'s database: from the event loop on PostgreSQL, else in a thread.

    On PostgreSQL a statement unanswered after ``timeout`` seconds is given up (its connection
    dropped) with :class:`StoreUnavailable`: a connection to a server that vanished without closing
    it would otherwise hold every webhook request until TCP gives up, many minutes later. GitHub
    waits 10 s for an answer, so a later one is of no use anyway; the statement is idempotent, and
    what it may still commit is recognised as a duplicate when GitHub sends the delivery again.
    """
    if store.engine.dialect.name == "postgresql":
        return _PostgresWriter(store, timeout=timeout)
    return _ThreadedWriter(store)


class _ThreadedWriter:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        return await run_sync(self._store.insert_deliveries, rows)

    async def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        return await run_sync(self._store.insert_delivery_ids, rows)

    def close(self) -> None:
        pass


class _PostgresWriter:
    """One psycopg connection, used from the event loop only; concurrent calls take turns.

    A batch too large for one statement goes to :meth:`Store.insert_deliveries` in a thread. A
    connection found broken (the server restarted, or killed it) is dropped and the statement sent
    once more on a new one (it is idempotent: ON CONFLICT DO NOTHING); if that fails too, or no
    connection can be had, :class:`StoreUnavailable`. A statement the server refuses raises the
    psycopg error, the connection staying usable. Cancelled or timed out mid-statement, the
    connection is dropped: its protocol state is unknown.
    """

    def __init__(self, store: Store, *, timeout: float) -> None:
        self._store = store
        self._timeout = timeout
        # The URL may hold a password: it never goes into a message.
        self._conninfo = store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._connection: Any = None  # psycopg.Connection, opened on first use
        self._lock = anyio.Lock()

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        return [id is not None for id in await self.insert_delivery_ids(rows)]

    async def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        if not rows:
            return []
        if not fits_one_statement(rows):
            return await run_sync(self._store.insert_delivery_ids, rows)
        import psycopg  # only PostgreSQL deployments need it

        values = postgres_insert_values(rows)
        keys = [(row.hook_id or 0, row.delivery_id) for row in rows]
        async with self._lock:
            for attempt in (1, 2):
                connection = await self._connect()
                try:
                    with anyio.fail_after(self._timeout):
                        inserted = await _insert(connection, values)
                except TimeoutError as exc:
                    self.close()  # mid-statement: the protocol state is unknown
                    raise StoreUnavailable("the database did not answer in time") from exc
                except psycopg.Error as exc:
                    if not _broken(connection):
                        raise  # the server refused the statement; the connection is fine
                    self.close()
                    if attempt == 2:
                        raise StoreUnavailable("the database connection failed") from exc
                    continue
                except BaseException:
                    self.close()  # cancelled (or worse) mid-statement: the protocol state is unknown
                    raise
                return ids_per_row(keys, inserted)
        raise AssertionError("unreachable")

    async def _connect(self) -> Any:
        import psycopg

        if self._connection is not None and not _broken(self._connection):
            return self._connection
        self.close()
        connect = partial(psycopg.connect, self._conninfo, autocommit=True, connect_timeout=10)
        try:
            self._connection = await anyio.to_thread.run_sync(connect)
        except psycopg.Error as exc:
            raise StoreUnavailable("cannot connect to the database") from exc
        return self._connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _broken(connection: Any) -> bool:
    from psycopg import pq

    return bool(connection.closed) or connection.pgconn.status != pq.ConnStatus.OK


async def _insert(connection: Any, values: list[Any]) -> dict[tuple[int, str], int]:
    """Send the INSERT with ``values``; the rows it added: (hook id, delivery id) -> id."""
    from psycopg import generators, pq
    from psycopg.adapt import PyFormat, Transformer
    from psycopg.errors import error_from_result

    transformer = Transformer(connection)
    params = transformer.dump_sequence(values, [PyFormat.BINARY] * len(values))
    pgconn = connection.pgconn
    pgconn.send_query_params(
        _INSERT, params, param_types=transformer.types, param_formats=transformer.formats
    )
    results = await _drive(generators.execute(pgconn), pgconn.socket)
    encoding = connection.info.encoding
    result = results[-1]
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise error_from_result(result, encoding=encoding)
    return {
        (int(result.get_value(row, 1)), result.get_value(row, 2).decode(encoding)): int(
            result.get_value(row, 0)
        )
        for row in range(result.ntuples)
    }


async def _drive(generator: Generator[Any, Any, Any], fileno: int) -> Any:
    """Run one of psycopg's protocol generators to its end, waiting on ``fileno`` with anyio.

    The generator yields what it waits for (``Wait.R``, ``W`` or ``RW``) and is sent what is ready.
    """
    from psycopg.waiting import Ready, Wait

    try:
        waiting_for = next(generator)
        while True:
            if waiting_for == Wait.R:
                await anyio.wait_readable(fileno)
                ready = Ready.R
            else:
                # W, or RW (output still queued: libpq also reads, so that a server answering
                # early is never stuck behind our send). Writable first, then whatever is ready.
                await anyio.wait_writable(fileno)
                ready = _ready_now(fileno) if waiting_for == Wait.RW else Ready.W
            waiting_for = generator.send(ready)
    except StopIteration as finished:
        return finished.value


def _ready_now(fileno: int) -> Any:
    from psycopg.waiting import Ready

    readable, writable, _ = select.select([fileno], [fileno], [], 0)
    if readable and writable:
        return Ready.RW
    return Ready.R if readable else Ready.W
