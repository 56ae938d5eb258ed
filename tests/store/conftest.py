"""Fixtures of the store's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from snekomatic.store import DeliveryWriter, Store, open_delivery_writer


@pytest.fixture
async def writer(store: Store) -> AsyncIterator[DeliveryWriter]:
    """The store's delivery writer (on PostgreSQL, a connection of its own), closed afterwards."""
    writer = open_delivery_writer(store)
    try:
        yield writer
    finally:
        writer.close()
