"""Alembic, configured in code: bring a database to the newest schema, and check that it is there."""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from snekomatic.store._engine import transaction
from snekomatic.store._errors import SchemaDriftError
from snekomatic.store._tables import metadata

__all__ = ["check_schema", "head_revision", "upgrade"]

# Held while migrating, so that several processes starting at once on one PostgreSQL database
# migrate one after the other (SQLite's BEGIN IMMEDIATE does the same there).
_MIGRATION_LOCK_ID = 0x736E656B  # "snek"


def _config() -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("snekomatic.store") / "migrations")
    )
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks, in one transaction (none if it is at head).

    Safe to call from several processes at once. Raises :class:`StoreUnavailable` if the database
    cannot be reached; a failing migration rolls back and its error propagates.
    """
    config = _config()
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _describe(diff: Any) -> str:
    # compare_metadata gives tuples like ("add_column", schema, table, Column) or, for column
    # changes, lists of ("modify_type", schema, table, column, info, old, new).
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    names = {
        "add_table": "table missing from the database",
        "remove_table": "table in the database but not in the code",
        "add_column": "column missing from the database",
        "remove_column": "column in the database but not in the code",
        "add_index": "index missing from the database",
        "remove_index": "index in the database but not in the code",
        "add_constraint": "constraint missing from the database",
        "remove_constraint": "constraint in the database but not in the code",
    }
    if kind in names:
        obj = rest[-1]
        name = getattr(obj, "name", None)
        table = getattr(getattr(obj, "table", None), "name", None)
        where = f"{table}.{name}" if table else str(name)
        return f"{names[kind]}: {where}"
    if kind.startswith("modify_"):
        _schema, table, column, _info, old, new = rest
        return f"{table}.{column}: {kind[len('modify_') :]} is {old!r} in the database, {new!r} in the code"
    return repr(diff)


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaDriftError` unless the database is at the newest migration and its tables,
    columns, types, nullability, indexes and unique constraints are those of the code. Tables the
    code does not know are ignored.

    The message says what to do (``snekomatic migrate``) and lists each difference. Read-only.
    Raises :class:`StoreUnavailable` if the database cannot be reached.
    """
    head = head_revision()
    with transaction(engine, write=False) as conn:
        context = MigrationContext.configure(
            conn, opts={"target_metadata": metadata, "compare_type": True}
        )
        current = context.get_current_revision()
        if current != head:
            raise SchemaDriftError(
                f"the database is at migration {current or 'none'}, the code needs {head}: "
                "run `snekomatic migrate`"
            )
        differences = [
            _describe(diff)
            for diff in compare_metadata(context, metadata)
            # Tables of someone else's in the same database are no concern of ours.
            if not (isinstance(diff, tuple) and diff[0] == "remove_table")
        ]
    if differences:
        raise SchemaDriftError(
            "the database schema differs from the code's (edited by hand, or a migration is "
            "missing); refusing to run",
            differences,
        )
