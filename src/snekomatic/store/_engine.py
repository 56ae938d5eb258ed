"""The engine: which database, how connections behave, how a transaction begins, and the one bridge
from async code to the synchronous store.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import ConnectionPoolEntry

from snekomatic.store._errors import StoreUnavailable

__all__ = [
    "check_database_url",
    "create_store_engine",
    "database_url",
    "describe_database",
    "run_sync",
]

P = ParamSpec("P")
T = TypeVar("T")

# A read-only transaction is marked with this execution option; it begins DEFERRED on SQLite.
_READ_ONLY = "snekomatic_read_only"

# SQLite's writers, one lock per engine: see _sqlite_engine.
_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = (
    weakref.WeakKeyDictionary()
)


# The URL schemes the store can open (its drivers are psycopg 3 and the standard library's sqlite3).
_POSTGRESQL_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")
_SQLITE_SCHEME = "sqlite"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# What a bare file path given for a URL usually ends with.
_SQLITE_SUFFIXES = (".sqlite3", ".sqlite", ".db")
_HOW_TO_WRITE = (
    "postgresql://user:password@host:5432/name (or postgres://), "
    "or sqlite:///path/to/file.sqlite3 for a file"
)


def check_database_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` names a database the store can open: PostgreSQL
    (``postgres://``, ``postgresql://``, ``postgresql+psycopg://``) or an SQLite file
    (``sqlite:///relative/path``, ``sqlite:////absolute/path``).

    The message continues a sentence that begins with the setting's name (``DATABASE_URL is a file
    path, not a URL: write it sqlite:///dev.sqlite3``) and says how to write the URL. It may quote a
    bare file path, never anything of a URL but its scheme (a URL may carry a password). Pure.
    """
    scheme = _SCHEME.match(url)
    if scheme is None:
        if "://" not in url and (url.endswith(_SQLITE_SUFFIXES) or url.startswith(("/", "."))):
            raise ValueError(f"is a file path, not a URL: write it sqlite:///{url}")
        raise ValueError(f"is not a database URL: write {_HOW_TO_WRITE}")
    name = scheme.group(1).lower()
    if name == _SQLITE_SCHEME:
        if not url[scheme.end() :].startswith("/") or url[scheme.end() :] == "/":
            raise ValueError(
                "names no SQLite file (an in-memory database would lose everything at exit): "
                "write sqlite:///path/to/file.sqlite3"
            )
        return
    if name not in _POSTGRESQL_SCHEMES:
        raise ValueError(
            f"uses {name}://, which snekomatic does not support: write {_HOW_TO_WRITE}"
        )
    try:
        make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # SQLAlchemy's text is not shown: it quotes the URL, password included.
        raise ValueError(f"is not a valid PostgreSQL URL: write {_HOW_TO_WRITE}") from None


def database_url(url: str | None, *, default_sqlite_path: str) -> str:
    """The SQLAlchemy URL for a ``DATABASE_URL`` value (checked by :func:`check_database_url`).

    - ``None`` or empty: an SQLite file at ``default_sqlite_path`` (made absolute against the working
      directory), as ``sqlite:////abs/path``.
    - ``postgres://`` (Heroku's form) and ``postgresql://``: ``postgresql+psycopg://`` (psycopg 3),
      everything after the scheme kept as it is.
    - anything else (``sqlite:///...``, ``postgresql+psycopg://...``): unchanged.

    Pure: reads no environment. The URL may hold a password: never log the result.
    """
    if not url:
        return "sqlite:///" + os.path.abspath(default_sqlite_path)
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def describe_database(url: str | URL) -> str:
    """Where ``url`` (:func:`database_url`'s form) points, for a message: ``the PostgreSQL database
    bot at db.example:5432`` or ``the SQLite file /srv/bot.sqlite3``. Never the user or the
    password. Pure."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}"
    name = f" {parsed.database}" if parsed.database else ""
    where = (
        "on a local socket" if parsed.host is None else f"at {parsed.host}:{parsed.port or 5432}"
    )
    return f"the PostgreSQL database{name} {where}"


def create_store_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    sqlite_busy_timeout: float = 10.0,
) -> Engine:
    """A SQLAlchemy engine for ``url`` (see :func:`database_url`), set up for the store.

    PostgreSQL (psycopg 3): a pool of ``pool_size`` connections plus ``max_overflow`` more under
    load, each checked with a ping before use, so after the server restarts (or kills a connection)
    the next call reconnects instead of failing.

    SQLite: WAL journal (readers do not block the writer), ``busy_timeout`` of
    ``sqlite_busy_timeout`` seconds, foreign keys on, and every writing transaction opened with
    ``BEGIN IMMEDIATE``: the write lock is taken at the start, so two writers never both read and then
    both write (Python's sqlite3 would otherwise delay BEGIN until the first write). The threads of
    one process take turns on a lock of their own before that: SQLite's busy handler, which a
    waiting writer would otherwise meet, sleeps in steps of up to 100 ms (measured: with the ingest,
    the claims and the settlements writing at once, answers took half a second at p99).

    Opens no connection yet. The URL may hold a password: it is never put in a message.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout=sqlite_busy_timeout)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
    )


def _sqlite_engine(url: str, *, busy_timeout: float) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        # Hand BEGIN/COMMIT timing to SQLAlchemy (the "begin" hook below) instead of sqlite3.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL with synchronous=NORMAL is durable across application crashes; only a power
            # loss may roll back the last commits, never corrupt the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    _SQLITE_WRITE_LOCKS[engine] = threading.RLock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _is_unavailable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig)
        return "database is locked" in message or "database is busy" in message
    return False


def _driver_reason(exc: DBAPIError) -> str:
    """Why the driver could not connect, from the first line of its message (never the password):
    psycopg's ``connection failed: connection to server at "h", port 5432 failed: Connection
    refused`` becomes ``Connection refused``; sqlite3's is short already."""
    lines = str(exc.orig).strip().splitlines()
    first = lines[0].strip() if lines else type(exc.orig).__name__
    return first.rsplit(" failed: ", 1)[-1]


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction, committed when the block ends without an exception, rolled back otherwise.

    ``write=False`` marks it read-only: on SQLite it begins DEFERRED and does not take the write lock.
    Raises :class:`StoreUnavailable` (``from`` the driver's error) if no connection can be had (the
    server is down, or the pool stayed exhausted for its timeout), if the connection is lost, or if
    SQLite stays locked past the busy timeout.
    """
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        raise StoreUnavailable(
            f"cannot connect to {describe_database(engine.url)}: {_driver_reason(exc)}"
        ) from exc
    except PoolTimeout as exc:
        raise StoreUnavailable("no database connection came free in time") from exc
    write_lock = _SQLITE_WRITE_LOCKS.get(engine) if write else None
    with connection, write_lock or contextlib.nullcontext():
        if not write:
            connection.execution_options(**{_READ_ONLY: True})
        try:
            with connection.begin():
                yield connection
        except DBAPIError as exc:
            if _is_unavailable(exc):
                raise StoreUnavailable("the database connection failed or stayed locked") from exc
            raise


def dialect_insert(
    connection: Connection | Engine, table: Table
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for ``table`` that has ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def run_sync(store_fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a synchronous store function in a worker thread and return its result.

    The one bridge from async code (Trio or asyncio, through anyio) to the store, for example
    ``await run_sync(store.claim_next_delivery, owner, now=now, lease=30.0)``.

    A checkpoint. Raises whatever ``store_fn`` raises (usually :class:`StoreUnavailable`).

    Cancellation: the thread cannot be interrupted, so a call that has started runs to completion
    and its transaction commits or rolls back as it would have; ``run_sync`` then returns its
    result, and ``Cancelled`` is raised at the caller's next checkpoint. (A call cancelled before
    its thread starts does not run.) Store functions are written so that a caller cancelled right
    after may forget the answer safely: an unused claim is a lease that expires, an inserted
    delivery is in the inbox all the same.

    Threads come from anyio's default limiter (40 threads); beyond ``pool_size + max_overflow``
    connections, threads queue inside the pool.
    """
    call: Callable[[], T] = functools.partial(store_fn, *args, **kwargs)
    return await anyio.to_thread.run_sync(call, abandon_on_cancel=False)
