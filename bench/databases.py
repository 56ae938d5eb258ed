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
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DELIVERIES_TABLE = "deliveries"
# A delivery is processed once its status is one of these (snekomatic.store._states: done, dead).
SETTLED = ("done", "dead")
_UNSETTLED_SQL = (
    f"SELECT count(*) FROM {DELIVERIES_TABLE} WHERE status NOT IN "
    f"({', '.join(repr(status) for status in SETTLED)})"
)


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


def backlog_sqlite(url: str) -> int | None:
    """Deliveries stored but not processed (status not done/dead) in the SQLite file behind ``url``."""
    path = url.removeprefix("sqlite:///")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            (count,) = db.execute(_UNSETTLED_SQL).fetchone()
    except sqlite3.Error:
        return None
    return int(count)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def fresh_postgres(server_url: str, *, template: str | None = None) -> Iterator[str]:
    """Create ``bench_<random>`` on the server (a copy of the database ``template``, when given, which
    nothing may be connected to); yield its URL; drop it afterwards (forcibly)."""
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    copy = f" TEMPLATE {urlsplit(template).path.lstrip('/')}" if template else ""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE DATABASE {name}{copy}")
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


def backlog_postgres(url: str) -> int | None:
    """Deliveries stored but not processed (status not done/dead) in the PostgreSQL database ``url``."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            row = db.execute(_UNSETTLED_SQL).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def postgres_status_counts(url: str) -> dict[str, int]:
    """Rows of the deliveries table per status."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as db:
        rows = db.execute(f"SELECT status, count(*) FROM {DELIVERIES_TABLE} GROUP BY status")
        return {str(status): int(count) for status, count in rows}


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's postmaster pid (from ``postmaster.pid`` in its data directory), when
    this process may read it; None otherwise."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            row = db.execute("SELECT current_setting('data_directory')").fetchone()
        first = (Path(str(row[0])) / "postmaster.pid").read_text().splitlines()[0] if row else ""
        return int(first)
    except (psycopg.Error, OSError, ValueError, IndexError):
        return None


class PostgresProbe:
    """Counts on one kept connection (polling with a new connection each time would fork a backend
    per poll, on the CPUs being measured). Use as a context manager; reconnects after an error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db: Any = None

    def __enter__(self) -> PostgresProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None

    def _scalar(self, sql: str) -> int | None:
        import psycopg

        try:
            if self._db is None:
                self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            row = self._db.execute(sql).fetchone()
        except psycopg.Error:
            self.close()
            return None
        return int(row[0]) if row else None

    def count(self) -> int | None:
        """Rows in the deliveries table."""
        return self._scalar(f"SELECT count(*) FROM {DELIVERIES_TABLE}")

    def backlog(self) -> int | None:
        """Deliveries stored but not processed (status not done/dead)."""
        return self._scalar(_UNSETTLED_SQL)
