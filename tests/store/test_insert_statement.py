"""How a batch of deliveries is written: PostgreSQL's one-statement path and the chunked path agree."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from snekomatic.store import DeliveryListener, Store
from snekomatic.store._deliveries import _INSERT_CHUNK_ROWS
from tests.store.builders import NOW, new_delivery


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(_INSERT_CHUNK_ROWS, id="one-statement"),
        pytest.param(_INSERT_CHUNK_ROWS + 1, id="chunked"),
    ],
)
def test_batch_results_follow_the_rows_either_way(store: Store, size: int) -> None:
    store.insert_deliveries([new_delivery("old")])
    rows = [
        new_delivery("old"),
        *(new_delivery(f"g{i}") for i in range(size - 2)),
        new_delivery("g0"),
    ]

    results = store.insert_deliveries(rows)

    assert results == [False, *([True] * (size - 2)), False]
    assert len(store.list_deliveries(limit=1000)) == size - 1


def test_every_field_is_stored_as_given(store: Store) -> None:
    body = b"\x00\xff not utf-8 \x80"
    row = new_delivery(
        "guid-x",
        hook_id=None,
        body=body,
        headers={
            "X-GitHub-Event": "ping",
            "X-Hub-Signature-256": "sha256=secret",
            "Content-Type": "application/json",
        },
    )

    store.insert_deliveries([row])

    (summary,) = store.list_deliveries()
    stored = store.get_delivery(summary.id)
    assert stored is not None
    assert (stored.delivery_id, stored.body, stored.received_at) == ("guid-x", body, NOW)
    assert (stored.event, stored.action, stored.installation_id) == ("issue_comment", "created", 42)
    assert store.delivery_exists(None, "guid-x")
    assert stored.headers == {"x-github-event": "ping", "content-type": "application/json"}
    assert stored.next_attempt_at == NOW


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_batch_with_a_new_row_among_duplicates_wakes_the_listener(store: Store) -> None:
    old = new_delivery()
    store.insert_deliveries([old])
    listener = store.open_delivery_listener()
    assert isinstance(listener, DeliveryListener)
    try:
        store.insert_deliveries([old, new_delivery(), old])

        assert listener.wait(timeout=10) is True
    finally:
        listener.close()


def _connections_to(admin: Engine, database_url: str) -> int:
    database = database_url.rsplit("/", 1)[-1]
    with admin.connect() as conn:
        count: int = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = :database AND pid <> pg_backend_pid()"
            ),
            {"database": database},
        ).scalar_one()
    return count


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_closing_the_store_closes_the_ingest_connections(
    store: Store, postgres_admin: Engine, migrated_database: str
) -> None:
    store.insert_deliveries([new_delivery()])
    assert _connections_to(postgres_admin, migrated_database) >= 1

    store.close()

    assert _connections_to(postgres_admin, migrated_database) == 0
