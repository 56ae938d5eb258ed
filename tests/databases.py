"""Database fixtures: every test that stores runs on SQLite and on PostgreSQL (ids "sqlite", "postgresql").

Loaded as a pytest plugin by tests/conftest.py, so the store, inbox and feature tests share them.

PostgreSQL databases are made on the ``TEST_DATABASE_URL`` server and dropped afterwards: a fresh,
migrated one per test module (a copy of one migrated template, so migrating is not repeated), emptied
before each test; and a fresh empty one for each test that migrates or alters the schema.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from snekomatic.store import Store, create_store_engine, database_url, metadata, upgrade


def _server_url(test_database_url: str, database: str) -> str:
    url = make_url(database_url(test_database_url, default_sqlite_path="unused"))
    return url.set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin(test_database_url: str) -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the server's maintenance database, for CREATE/DROP DATABASE."""
    engine = create_engine(
        _server_url(test_database_url, make_url(test_database_url).database or "postgres"),
        isolation_level="AUTOCOMMIT",
    )
    yield engine
    engine.dispose()


def backend_pids(admin: Engine, database_url: str) -> list[int]:
    """The server processes of the connections to ``database_url``'s database (not ``admin``'s own)."""
    with admin.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = :database AND pid <> pg_backend_pid()"
                ),
                {"database": make_url(database_url).database},
            ).scalars()
        )


def settled_backend_pids(
    admin: Engine, database_url: str, count: int, *, timeout: float = 10.0
) -> list[int]:
    """:func:`backend_pids` once there are ``count`` of them, or as they are after ``timeout``
    seconds: the server process of a connection a client closed leaves ``pg_stat_activity`` a
    moment after the client hung up, and later still on a busy machine."""
    deadline = time.monotonic() + timeout
    while len(pids := backend_pids(admin, database_url)) != count and time.monotonic() < deadline:
        time.sleep(0.01)
    return pids


def terminate_backends(admin: Engine, database_url: str) -> int:
    """Kill every connection to ``database_url``'s database, as a server restart would; how many."""
    pids = backend_pids(admin, database_url)
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return len(pids)


def _create_database(admin: Engine, *, template: str | None = None) -> str:
    name = f"snekomatic_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        suffix = f" TEMPLATE {template}" if template else ""
        conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
    return name


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: Engine, test_database_url: str) -> Iterator[str]:
    """A migrated database that per-test databases are copied from."""
    name = _create_database(postgres_admin)
    engine = create_store_engine(_server_url(test_database_url, name))
    upgrade(engine)
    engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the template unused
    yield name
    _drop_database(postgres_admin, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of an empty database of each kind (no tables)."""
    if backend == "sqlite":
        yield database_url(None, default_sqlite_path=str(tmp_path / "snekomatic.db"))
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    test_database_url: str = request.getfixturevalue("test_database_url")
    name = _create_database(admin)
    yield _server_url(test_database_url, name)
    _drop_database(admin, name)


@pytest.fixture(scope="module")
def postgres_module_database(
    postgres_admin: Engine, postgres_template: str, test_database_url: str
) -> Iterator[str]:
    """A migrated PostgreSQL database for one test module (its tests empty it before each use)."""
    name = _create_database(postgres_admin, template=postgres_template)
    yield _server_url(test_database_url, name)
    _drop_database(postgres_admin, name)


@pytest.fixture
def migrated_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database of each kind at the newest migration.

    SQLite: a new file per test. PostgreSQL: the module's database, every table truncated.
    Tests must not change its schema (use ``empty_database`` for that).
    """
    if backend == "sqlite":
        url = database_url(None, default_sqlite_path=str(tmp_path / "snekomatic.db"))
        engine = create_store_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url: str = request.getfixturevalue("postgres_module_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    engine.dispose()
    return url


@pytest.fixture
def engine(migrated_database: str) -> Iterator[Engine]:
    engine = create_store_engine(migrated_database)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> Store:
    """A :class:`Store` on a freshly migrated database; ids "sqlite" and "postgresql"."""
    return Store(engine)
