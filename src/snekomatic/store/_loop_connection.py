"""One PostgreSQL connection driven from the event loop: a statement costs no thread hop.

libpq runs non-blocking; psycopg's protocol generators send a statement and read its results, and the
waits on the socket are anyio's (Trio or asyncio), so nothing blocks the loop. The store's hot
statements (storing, claiming and settling deliveries: :mod:`snekomatic.store._writer`) go this way;
everything else stays synchronous (SQLAlchemy behind :func:`run_sync`).
"""

from __future__ import annotations

import select
from collections.abc import Generator, Sequence
from functools import partial
from typing import Any

import anyio

from snekomatic.store._errors import StoreUnavailable

__all__ = ["LoopConnection"]


class LoopConnection:
    """One psycopg connection in autocommit (a statement is a transaction), used from the event loop
    only; concurrent statements take turns.

    A statement unanswered after ``timeout`` seconds is given up (its connection dropped) with
    :class:`StoreUnavailable`: a connection to a server that vanished without closing it would
    otherwise hold its callers until TCP gives up, many minutes later. Cancelled or timed out
    mid-statement, the connection is dropped (its protocol state is unknown) and the statement may
    or may not have committed. A statement the server refuses raises the psycopg error, the
    connection staying usable; a connection found broken raises :class:`StoreUnavailable`, and the
    next statement opens a new one.
    """

    def __init__(self, conninfo: str, *, timeout: float) -> None:
        self._conninfo = conninfo  # may hold a password: never put into a message
        self._timeout = timeout
        self._connection: Any = None  # psycopg.Connection, opened on first use
        self._lock = anyio.Lock()

    async def execute(
        self, query: bytes, values: Sequence[Any], *, retry_broken: bool = False
    ) -> list[tuple[Any, ...]]:
        """Run ``query`` (``$1``... placeholders) with ``values`` (sent in binary); its rows.

        ``retry_broken``: the statement is idempotent, so when the connection turns out broken (the
        server restarted, or killed it) it is sent once more on a new connection.
        """
        import psycopg  # only PostgreSQL deployments need it

        async with self._lock:
            for attempt in (1, 2):
                connection = await self._connect()
                try:
                    with anyio.fail_after(self._timeout):
                        return await _execute(connection, query, values)
                except TimeoutError as exc:
                    self.close()
                    raise StoreUnavailable("the database did not answer in time") from exc
                except psycopg.Error as exc:
                    if not _broken(connection):
                        raise  # the server refused the statement; the connection is fine
                    self.close()
                    if attempt == 2 or not retry_broken:
                        raise StoreUnavailable("the database connection failed") from exc
                except BaseException:
                    self.close()  # cancelled (or worse) mid-statement
                    raise
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
        """Close the connection (a later statement opens a new one)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _broken(connection: Any) -> bool:
    from psycopg import pq

    return bool(connection.closed) or connection.pgconn.status != pq.ConnStatus.OK


async def _execute(connection: Any, query: bytes, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    from psycopg import generators, pq
    from psycopg.adapt import PyFormat, Transformer
    from psycopg.errors import error_from_result

    transformer = Transformer(connection)
    params = transformer.dump_sequence(values, [PyFormat.BINARY] * len(values))
    pgconn = connection.pgconn
    pgconn.send_query_params(
        query,
        params,
        param_types=transformer.types,
        param_formats=transformer.formats,
        result_format=pq.Format.BINARY,  # bodies come back as they are, not hex-escaped
    )
    results = await _drive(generators.execute(pgconn), pgconn.socket)
    result = results[-1]
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise error_from_result(result, encoding=connection.info.encoding)
    transformer.set_pgresult(result)
    rows: list[tuple[Any, ...]] = transformer.load_rows(0, result.ntuples, tuple)
    return rows


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
