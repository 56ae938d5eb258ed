"""Persistence for snekomatic: SQLAlchemy Core tables, the engine, Alembic migrations.

SQLite by default, PostgreSQL in production. Everything here is synchronous and called from async
code through :func:`run_sync` (a worker thread), but for the ingest's hot write
(:func:`open_delivery_writer`), which on PostgreSQL is sent from the event loop itself. The database never holds a token, a key, the
webhook secret or a signature.

Typical use (the wiring, :mod:`snekomatic.runtime`)::

    engine = create_store_engine(database_url(settings_url, default_sqlite_path="snekomatic.db"))
    upgrade(engine)         # or check_schema(engine) to refuse to run on drift
    store = Store(engine)
    ok = await run_sync(store.insert_deliveries, [new_delivery])
"""

from __future__ import annotations

from snekomatic.store._deliveries import Settlement as Settlement
from snekomatic.store._delivery_rows import STORED_HEADERS as STORED_HEADERS
from snekomatic.store._delivery_rows import Delivery as Delivery
from snekomatic.store._delivery_rows import DeliverySummary as DeliverySummary
from snekomatic.store._delivery_rows import NewDelivery as NewDelivery
from snekomatic.store._delivery_rows import delivery_from_new as delivery_from_new
from snekomatic.store._engine import check_database_url as check_database_url
from snekomatic.store._engine import create_store_engine as create_store_engine
from snekomatic.store._engine import database_url as database_url
from snekomatic.store._engine import describe_database as describe_database
from snekomatic.store._engine import run_sync as run_sync
from snekomatic.store._errors import SchemaDriftError as SchemaDriftError
from snekomatic.store._errors import StoreError as StoreError
from snekomatic.store._errors import StoreUnavailable as StoreUnavailable
from snekomatic.store._invitations import Effect as Effect
from snekomatic.store._invitations import Invitation as Invitation
from snekomatic.store._invitations import ThrottledOrg as ThrottledOrg
from snekomatic.store._migrate import check_schema as check_schema
from snekomatic.store._migrate import head_revision as head_revision
from snekomatic.store._migrate import upgrade as upgrade
from snekomatic.store._notify import DeliveryListener as DeliveryListener
from snekomatic.store._pacing import SharedWriteSlots as SharedWriteSlots
from snekomatic.store._pacing import WriteSlot as WriteSlot
from snekomatic.store._states import DeliveryStatus as DeliveryStatus
from snekomatic.store._store import Store as Store
from snekomatic.store._tables import metadata as metadata
from snekomatic.store._writer import DeliveryWriter as DeliveryWriter
from snekomatic.store._writer import open_delivery_writer as open_delivery_writer

__all__ = [
    "STORED_HEADERS",
    "Delivery",
    "DeliveryListener",
    "DeliveryStatus",
    "DeliverySummary",
    "DeliveryWriter",
    "Effect",
    "Invitation",
    "NewDelivery",
    "SchemaDriftError",
    "Settlement",
    "SharedWriteSlots",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "ThrottledOrg",
    "WriteSlot",
    "check_database_url",
    "check_schema",
    "create_store_engine",
    "database_url",
    "delivery_from_new",
    "describe_database",
    "head_revision",
    "metadata",
    "open_delivery_writer",
    "run_sync",
    "upgrade",
]
