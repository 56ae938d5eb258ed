"""Migrations build the code's schema on both databases, and drift is refused with a clear message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from snekomatic.store import (
    SchemaDriftError,
    check_schema,
    create_store_engine,
    head_revision,
    metadata,
    upgrade,
)
from snekomatic.store._migrate import _config


@pytest.fixture
def empty_engine(empty_database: str) -> Iterator[Engine]:
    engine = create_store_engine(empty_database)
    yield engine
    engine.dispose()


@pytest.fixture
def own_engine(empty_engine: Engine) -> Engine:
    """A migrated database of this test's own, whose schema it may change."""
    upgrade(empty_engine)
    return empty_engine


def test_upgrade_builds_every_table_on_an_empty_database(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    tables = set(inspect(empty_engine).get_table_names())
    assert tables == {*metadata.tables, "alembic_version"}


def test_schema_check_passes_after_upgrade(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    check_schema(empty_engine)


def test_upgrade_twice_is_harmless(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)

    check_schema(empty_engine)


def test_schema_check_refuses_an_unmigrated_database(empty_engine: Engine) -> None:
    with pytest.raises(SchemaDriftError, match="snekomatic migrate") as raised:
        check_schema(empty_engine)

    assert head_revision() in str(raised.value)


def test_schema_check_names_an_extra_column(own_engine: Engine) -> None:
    with own_engine.begin() as conn:
        conn.execute(text("ALTER TABLE deliveries ADD COLUMN surprise TEXT"))

    with pytest.raises(SchemaDriftError) as raised:
        check_schema(own_engine)

    assert "column in the database but not in the code: deliveries.surprise" in str(raised.value)


def test_schema_check_names_a_dropped_index(own_engine: Engine) -> None:
    with own_engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_deliveries_claimable"))

    with pytest.raises(SchemaDriftError) as raised:
        check_schema(own_engine)

    assert raised.value.differences == (
        "index missing from the database: deliveries.ix_deliveries_claimable",
    )


def test_schema_check_names_a_missing_table(own_engine: Engine) -> None:
    with own_engine.begin() as conn:
        conn.execute(text("DROP TABLE org_throttles"))

    with pytest.raises(SchemaDriftError, match="table missing from the database: org_throttles"):
        check_schema(own_engine)


def test_schema_check_ignores_tables_it_does_not_know(own_engine: Engine) -> None:
    with own_engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))

    check_schema(own_engine)


def test_delivery_bodies_are_not_compressed_with_pglz_on_postgresql(empty_database: str) -> None:
    engine = create_store_engine(empty_database)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return  # SQLite stores bodies as they come
        row = conn.execute(
            text(
                "SELECT attcompression, attstorage FROM pg_attribute "
                "WHERE attrelid = 'deliveries'::regclass AND attname = 'body'"
            )
        ).one()
    engine.dispose()
    assert row.attcompression == "l" or row.attstorage == "e"  # lz4, or stored uncompressed


def test_head_revision_is_alembics() -> None:
    # head_revision reads the migration files itself, so that a process at head never imports Alembic.
    assert head_revision() == ScriptDirectory.from_config(_config()).get_current_head()


def _alembic_subjects(engine: Engine) -> set[str]:
    """What Alembic's own comparison finds different: "table" or "table.column/index/constraint"."""

    def subject(diff: Any) -> str:
        if isinstance(diff, list):  # column changes: ("modify_type", schema, table, column, ...)
            return f"{diff[0][2]}.{diff[0][3]}"
        kind, *rest = diff
        if kind.endswith("_table"):
            return str(rest[-1].name)
        if kind.endswith("_column"):
            return f"{rest[1]}.{rest[2].name}"
        return f"{rest[-1].table.name}.{rest[-1].name}"

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"target_metadata": metadata, "compare_type": True}
        )
        return {
            subject(diff)
            for diff in compare_metadata(context, metadata)
            if not (isinstance(diff, tuple) and diff[0] == "remove_table")
        }


def _our_subjects(engine: Engine) -> set[str]:
    try:
        check_schema(engine)
    except SchemaDriftError as exc:
        # "table.name" wherever a message has one, else the table that ends it.
        return {
            dotted.group()
            if (dotted := re.search(r"[a-z_0-9]+\.[a-z_0-9]+", difference))
            else difference.rsplit(": ", 1)[1]
            for difference in exc.differences
        }
    return set()


# Hand edits, each on the databases that can make it (SQLite alters little).
_DRIFTS = {
    "extra column": ("ALTER TABLE deliveries ADD COLUMN surprise TEXT", None),
    "dropped column": ("ALTER TABLE effects DROP COLUMN data", None),
    "dropped index": ("DROP INDEX ix_deliveries_claimable", None),
    "extra index": ("CREATE INDEX ix_effects_state ON effects (state)", None),
    "dropped table": ("DROP TABLE org_throttles", None),
    "column type": (
        "ALTER TABLE invitations ALTER COLUMN org_login TYPE INTEGER USING 0",
        "postgresql",
    ),
    "nullability": ("ALTER TABLE invitations ALTER COLUMN pr_url SET NOT NULL", "postgresql"),
    "dropped unique constraint": (
        "ALTER TABLE deliveries DROP CONSTRAINT uq_deliveries_hook_id_delivery_id",
        "postgresql",
    ),
}


@pytest.mark.parametrize("drift", sorted(_DRIFTS))
def test_the_schema_check_finds_what_alembic_finds(own_engine: Engine, drift: str) -> None:
    # check_schema compares without Alembic; on each hand edit it must name what Alembic would.
    statement, only_on = _DRIFTS[drift]
    if only_on is not None and own_engine.dialect.name != only_on:
        pytest.skip(f"{drift}: only {only_on} can make this edit")
    with own_engine.begin() as conn:
        conn.execute(text(statement))

    expected = _alembic_subjects(own_engine)
    assert expected  # the edit is a difference at all
    assert _our_subjects(own_engine) == expected
