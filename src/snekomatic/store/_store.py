"""The :class:`Store`: the one object the rest of snekomatic uses to reach the database."""

from __future__ import annotations

import datetime as dt
from typing import final

from sqlalchemy import Engine, text

from snekomatic.store._deliveries import DeliveryMethods
from snekomatic.store._engine import transaction
from snekomatic.store._invitations import InvitationMethods
from snekomatic.store._leader import LeaderMethods
from snekomatic.store._notify import DeliveryListener
from snekomatic.store._pacing import WriteSlotMethods

__all__ = ["Store"]


@final
class Store(DeliveryMethods, InvitationMethods, LeaderMethods, WriteSlotMethods):
    """Named, synchronous database operations over one engine; thread-safe.

    Each method runs its own transaction (committed before it returns), returns plain values
    (frozen dataclasses, never rows or connections), and raises :class:`StoreUnavailable` when the
    database cannot be used. From async code call them through :func:`run_sync`::

        claimed = await run_sync(store.claim_next_delivery, owner, now=now, lease=60.0)

    Times are timezone-aware datetimes the caller passes in (``now``); the store reads no clock.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_delivery_listener(self) -> DeliveryListener | None:
        """On PostgreSQL, a :class:`DeliveryListener` woken when deliveries become due now (new
        ones inserted, replayed or released); None on SQLite, where workers poll instead.

        Raises :class:`StoreUnavailable` if PostgreSQL cannot be reached.
        """
        if self.engine.dialect.name != "postgresql":
            return None
        return DeliveryListener(self.engine)

    def ping(self) -> None:
        """Run ``SELECT 1``; raises :class:`StoreUnavailable` if the database cannot be reached."""
        with transaction(self.engine, write=False) as conn:
            conn.execute(text("SELECT 1"))

    def database_now(self) -> dt.datetime:
        """The database server's clock now (timezone-aware UTC).

        Leases and due times are compared by every process that shares the database, possibly on
        several machines: measured against one clock, the database's, they mean the same to all
        (see :class:`snekomatic.inbox.DatabaseClock`). SQLite lives on this machine: its clock.
        """
        if self.engine.dialect.name != "postgresql":
            return dt.datetime.now(dt.UTC)
        with transaction(self.engine, write=False) as conn:
            # clock_timestamp(), not now(): the latter is the transaction's start.
            value: dt.datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(dt.UTC)

    def close(self) -> None:
        """Close the pooled connections. Calls made after this open new ones."""
        self.engine.dispose()

    def __repr__(self) -> str:
        # The URL may hold a password: name the database kind only.
        return f"<Store {self.engine.dialect.name}>"
