"""Migrations build the code's schema on both databases, and drift is refused with a clear message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from snekomatic.store import (
    SchemaDriftError,
    check_schema,
    create_store_engine,
    head_revision,
    metadata,
    upgrade,
)


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
