"""PostgreSQL wakes listening workers when work becomes due now; SQLite has no listener."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from snekomatic.store import DeliveryListener, Store
from tests.store.builders import NOW, new_delivery


@pytest.fixture
def listener(store: Store) -> Iterator[DeliveryListener]:
    opened = store.open_delivery_listener()
    assert opened is not None
    yield opened
    opened.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_has_no_listener(store: Store) -> None:
    assert store.open_delivery_listener() is None


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_new_delivery_wakes_the_listener(store: Store, listener: DeliveryListener) -> None:
    store.insert_deliveries([new_delivery()])

    assert listener.wait(timeout=10) is True


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_duplicate_delivery_wakes_nobody(store: Store, listener: DeliveryListener) -> None:
    delivery = new_delivery()
    store.insert_deliveries([delivery])
    listener.wait(timeout=10)

    store.insert_deliveries([delivery])

    assert listener.wait(timeout=0) is False


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_released_delivery_wakes_the_listener(store: Store, listener: DeliveryListener) -> None:
    store.insert_deliveries([new_delivery()])
    listener.wait(timeout=10)
    claimed = store.claim_next_delivery("w1", now=NOW, lease=30.0)
    assert claimed is not None

    store.release_lease(claimed.id, "w1", now=NOW)

    assert listener.wait(timeout=10) is True
