"""Bring a database to the newest schema (Alembic, configured in code), and check that it is there.

Alembic (with Mako and SQLAlchemy's dialects for five databases: about 11 MB in a process) is imported
only when a database is behind. At head, which is every start but the first after an upgrade, the
revision is read from the ``alembic_version`` table and compared with the migration files' own
``revision = "…"`` lines, and the tables are compared with the code's through SQLAlchemy's inspector.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, Engine, Table, UniqueConstraint, inspect, text
from sqlalchemy.exc import CompileError
from sqlalchemy.types import TypeEngine

from snekomatic.store._engine import transaction
from snekomatic.store._errors import SchemaDriftError
from snekomatic.store._tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["check_schema", "head_revision", "upgrade"]

# Held while migrating, so that several processes starting at once on one PostgreSQL database
# migrate one after the other (SQLite's BEGIN IMMEDIATE does the same there).
_MIGRATION_LOCK_ID = 0x736E656B  # "snek"


_MIGRATIONS = resources.files("snekomatic.store") / "migrations"
# The two assignments Alembic reads from every migration file (its own template writes them so).
_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.MULTILINE)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration's revision id: the one no other migration revises.

    Read from the files in ``migrations/versions`` without importing Alembic (a test checks that
    Alembic finds the same head). Raises ``RuntimeError`` unless there is exactly one head.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (_MIGRATIONS / "versions").iterdir():
        if not path.name.endswith(".py"):
            continue
        source = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        revised.update(_DOWN_REVISION.findall(source))
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def _current_revision(conn: Connection) -> str | None:
    """The database's migration (Alembic's ``alembic_version`` row), None before the first."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions[0] if len(versions) == 1 else None


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks, in one transaction (none if it is at head).

    Imports Alembic only if the database is behind. Safe to call from several processes at once.
    Raises :class:`StoreUnavailable` if the database cannot be reached; a failing migration rolls back
    and its error propagates.
    """
    with transaction(engine, write=False) as conn:
        if _current_revision(conn) == head_revision():
            return
    from alembic import command

    config = _config()
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _sql_type(type_: TypeEngine[Any], dialect: Dialect) -> str:
    try:
        return str(type_.compile(dialect=dialect))
    except CompileError:  # a type the dialect does not know, such as a reflected NullType
        return repr(type_)


def _table_differences(conn: Connection, table: Table) -> list[str]:
    """How ``table`` in the database differs from the code's: columns (type by its SQL for this
    database, nullability), indexes (columns, uniqueness) and unique constraints, each by name."""
    inspector = inspect(conn)
    dialect = conn.dialect
    name = table.name
    differences: list[str] = []
    live_columns = {column["name"]: column for column in inspector.get_columns(name)}
    for column in table.columns:
        live = live_columns.pop(column.name, None)
        if live is None:
            differences.append(f"column missing from the database: {name}.{column.name}")
            continue
        old, new = _sql_type(live["type"], dialect), _sql_type(column.type, dialect)
        if old != new:
            differences.append(
                f"{name}.{column.name}: type is {old!r} in the database, {new!r} in the code"
            )
        if bool(live["nullable"]) != bool(column.nullable):
            differences.append(
                f"{name}.{column.name}: nullable is {live['nullable']!r} in the database, "
                f"{column.nullable!r} in the code"
            )
    differences.extend(
        f"column in the database but not in the code: {name}.{extra}" for extra in live_columns
    )
    # PostgreSQL lists a unique constraint's index among the indexes too: it is the constraint's.
    live_indexes: dict[str, tuple[object, ...]] = {
        str(index["name"]): (tuple(index["column_names"]), bool(index["unique"]))
        for index in inspector.get_indexes(name)
        if not index.get("duplicates_constraint")
    }
    indexes: dict[str, tuple[object, ...]] = {
        str(index.name): (tuple(column.name for column in index.columns), bool(index.unique))
        for index in table.indexes
    }
    live_uniques: dict[str, tuple[object, ...]] = {
        str(unique["name"]): tuple(unique["column_names"])
        for unique in inspector.get_unique_constraints(name)
    }
    uniques: dict[str, tuple[object, ...]] = {
        str(constraint.name): tuple(column.name for column in constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    for kind, code, found in (
        ("index", indexes, live_indexes),
        ("constraint", uniques, live_uniques),
    ):
        for key in sorted(code.keys() - found.keys()):
            differences.append(f"{kind} missing from the database: {name}.{key}")
        for key in sorted(found.keys() - code.keys()):
            differences.append(f"{kind} in the database but not in the code: {name}.{key}")
        for key in sorted(code.keys() & found.keys()):
            if code[key] != found[key]:
                differences.append(
                    f"{name}.{key}: {kind} is {found[key]!r} in the database, "
                    f"{code[key]!r} in the code"
                )
    return differences


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaDriftError` unless the database is at the newest migration and its tables,
    columns, types, nullability, indexes and unique constraints are those of the code. Tables the
    code does not know are ignored.

    The message says what to do (``snekomatic migrate``) and lists each difference. Read-only; does
    not import Alembic. Raises :class:`StoreUnavailable` if the database cannot be reached.
    """
    head = head_revision()
    with transaction(engine, write=False) as conn:
        current = _current_revision(conn)
        if current != head:
            raise SchemaDriftError(
                f"the database is at migration {current or 'none'}, the code needs {head}: "
                "run `snekomatic migrate`"
            )
        live_tables = set(inspect(conn).get_table_names())
        differences: list[str] = []
        for table in metadata.sorted_tables:
            if table.name in live_tables:
                differences.extend(_table_differences(conn, table))
            else:
                differences.append(f"table missing from the database: {table.name}")
    if differences:
        raise SchemaDriftError(
            "the database schema differs from the code's (edited by hand, or a migration is "
            "missing); refusing to run",
            differences,
        )
