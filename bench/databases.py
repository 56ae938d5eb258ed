"""The databases behind ``snekomatic serve`` in the benchmark: a fresh one per run, and row counts.

SQLite: a file in the run's temporary directory. PostgreSQL: ``CREATE DATABASE bench_<n>`` on the server
named by ``TEST_DATABASE_URL`` (tools/with_postgres.py exports it), dropped at the end.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DELIVERIES_TABLE = "deliveries"


def sqlite_url(directory: Path) -> str:
    """``sqlite:////abs/path`` of a new database file in ``directory``."""
    return f"sqlite:///{(directory / 'snekomatic-bench.db').resolve()}"


def count_sqlite(url: str) -> int | None:
    """Rows in the deliveries table of the SQLite file behind ``url``; None if it cannot be read."""
    path = url.removeprefix("sqlite:///")
    if not Path(path).exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            (count,) = db.execute(f"SELECT count(*) FROM {DELIVERIES_TABLE}").fetchone()
    except sqlite3.Error:
        return None
    return int(count)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """Create ``bench_<random>`` on the server; yield its URL; drop it afterwards (forcibly)."""
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def count_postgres(url: str) -> int | None:
    """Rows in the deliveries table of the PostgreSQL database ``url``; None if it cannot be read."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            row = db.execute(f"SELECT count(*) FROM {DELIVERIES_TABLE}").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None
