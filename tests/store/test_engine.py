"""The engine: URLs, SQLite's settings and write locking, reconnection, and the async bridge."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from snekomatic.store import (
    NewDelivery,
    Store,
    StoreUnavailable,
    create_store_engine,
    database_url,
    run_sync,
)
from tests.databases import terminate_backends
from tests.loopback import free_port
from tests.store.builders import new_delivery


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/d", "postgresql+psycopg://u:p@db.example:5432/d"),
        ("postgresql://u@h/d?sslmode=require", "postgresql+psycopg://u@h/d?sslmode=require"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////var/lib/snekomatic.db", "sqlite:////var/lib/snekomatic.db"),
    ],
    ids=["heroku-postgres", "postgresql", "already-psycopg", "sqlite-absolute"],
)
def test_database_url_normalises_the_scheme(given: str, expected: str) -> None:
    assert database_url(given, default_sqlite_path="unused.db") == expected


@pytest.mark.parametrize("given", [None, ""], ids=["none", "empty"])
def test_database_url_defaults_to_an_sqlite_file_in_the_working_directory(
    given: str | None,
) -> None:
    url = database_url(given, default_sqlite_path="snekomatic.db")

    assert url == "sqlite:///" + os.path.join(os.getcwd(), "snekomatic.db")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return database_url(None, default_sqlite_path=str(tmp_path / "s.db"))


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("busy_timeout", 10000), ("foreign_keys", 1)],
    ids=["wal", "busy-timeout", "foreign-keys"],
)
def test_sqlite_connections_are_configured(sqlite_url: str, pragma: str, expected: object) -> None:
    engine = create_store_engine(sqlite_url)
    with engine.connect() as conn:
        value = conn.exec_driver_sql(f"PRAGMA {pragma}").scalar()
    engine.dispose()

    assert value == expected


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_write_waits_for_the_lock_when_the_transaction_begins(
    engine: Engine, migrated_database: str
) -> None:
    impatient = Store(create_store_engine(migrated_database, sqlite_busy_timeout=0.05))
    with engine.begin() as conn:
        # An empty write transaction: begun IMMEDIATE, it already holds the write lock.
        conn.exec_driver_sql("SELECT 1")

        with pytest.raises(StoreUnavailable) as raised:
            impatient.insert_deliveries([new_delivery()])

    impatient.close()
    assert isinstance(raised.value.__cause__, DBAPIError)
    assert raised.value.__cause__.statement == "BEGIN IMMEDIATE"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_writers_of_one_process_take_turns_without_meeting_the_busy_handler(
    migrated_database: str,
) -> None:
    # With no patience at all, any writer that found SQLite's lock taken would fail at once.
    impatient = Store(create_store_engine(migrated_database, sqlite_busy_timeout=0))
    failures: list[BaseException] = []

    def write(thread: int) -> None:
        for index in range(25):
            try:
                impatient.insert_deliveries([new_delivery(f"t{thread}-{index}")])
            except StoreUnavailable as exc:
                failures.append(exc)

    threads = [threading.Thread(target=write, args=(thread,)) for thread in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    impatient.close()
    assert failures == []
    assert sum(impatient.count_by_status().values()) == 150


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_reads_proceed_while_a_write_is_open(store: Store, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")

        counts = store.count_by_status()

    assert sum(counts.values()) == 0


def test_unreachable_postgresql_raises_store_unavailable_without_the_password() -> None:
    url = f"postgresql+psycopg://snek:hunter2@127.0.0.1:{free_port()}/nothing"
    store = Store(create_store_engine(url))

    with pytest.raises(StoreUnavailable) as raised:
        store.ping()

    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(store)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_pool_reconnects_after_its_connections_are_killed(
    store: Store, postgres_admin: Engine, migrated_database: str
) -> None:
    store.insert_deliveries([new_delivery("before")])  # leaves a connection in the pool
    killed = terminate_backends(postgres_admin, migrated_database)

    results = store.insert_deliveries([new_delivery("after")])

    assert killed >= 1
    assert results == [True]
    assert store.known_delivery_ids(["before", "after"]) == {"before", "after"}


async def test_run_sync_returns_what_the_store_returns(store: Store) -> None:
    with trio.fail_after(30):
        results = await run_sync(store.insert_deliveries, [new_delivery("g")])

    assert results == [True]


async def test_cancelled_run_sync_completes_the_statement_then_raises_cancelled(
    store: Store,
) -> None:
    started = threading.Event()
    release = threading.Event()
    returned: list[list[bool]] = []
    after_checkpoint: list[bool] = []

    def insert_when_released(rows: list[NewDelivery]) -> list[bool]:
        started.set()
        release.wait(timeout=30)
        return store.insert_deliveries(rows)

    async def call_then_checkpoint() -> None:
        returned.append(await run_sync(insert_when_released, [new_delivery("g")]))
        await trio.lowlevel.checkpoint()
        after_checkpoint.append(True)

    with trio.fail_after(30):
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(call_then_checkpoint)
                await trio.to_thread.run_sync(started.wait)
                scope.cancel()
                release.set()

    assert store.delivery_exists(1, "g")
    assert returned == [[True]]
    assert after_checkpoint == []
