"""The inbox's hot writes from async code: storing, claiming and settling deliveries.

:func:`open_delivery_writer` gives the inbox async versions of :meth:`Store.insert_delivery_ids`,
:meth:`Store.claim_deliveries` and :meth:`Store.settle_deliveries`, with the same contracts. On SQLite
each is the store's method in a worker thread (:func:`run_sync`). On PostgreSQL each is one statement
sent from the event loop itself (:class:`~snekomatic.store._loop_connection.LoopConnection`): no
thread hop, no pool check-out, one round trip.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from snekomatic.store._deliveries import (
    Settlement,
    fits_one_statement,
    ids_per_row,
    postgres_insert_values,
)
from snekomatic.store._delivery_rows import (
    ALL_COLUMNS,
    Delivery,
    NewDelivery,
    delivery_from_values,
)
from snekomatic.store._engine import run_sync
from snekomatic.store._loop_connection import LoopConnection
from snekomatic.store._notify import DELIVERY_CHANNEL
from snekomatic.store._states import TRANSITIONS, DeliveryStatus
from snekomatic.store._store import Store
from snekomatic.store._tables import CLAIMABLE_SQL

__all__ = ["DeliveryWriter", "open_delivery_writer"]

# The whole batch as arrays, in binary (the bodies travel as they are, not hex-escaped). One
# statement in autocommit is one transaction: the answer comes after the COMMIT and its WAL flush.
# Only the rows really inserted run pg_notify, so listeners wake when (and only when) there is new
# work; PostgreSQL folds the repeats of one transaction into one notification, sent at commit.
# (The f-string puts in module constants, never data.)
# Each row is stored as its NewDelivery says (pending, done, or leased to its inserter: see
# initial_columns, which the CASEs below mirror).
_INSERT = f"""\
INSERT INTO deliveries (hook_id, delivery_id, event, action, installation_id, received_at, body,
    headers, status, attempts, next_attempt_at, lease_owner, lease_expires_at, finished_at)
SELECT u.hook_id, u.delivery_id, u.event, u.action, u.installation_id, u.received_at, u.body,
    u.headers::json, u.status,
    CASE WHEN u.status = '{DeliveryStatus.LEASED.value}' THEN 1 ELSE 0 END,
    COALESCE(u.lease_expires_at, u.received_at), u.lease_owner, u.lease_expires_at,
    CASE WHEN u.status = '{DeliveryStatus.DONE.value}' THEN u.received_at END
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[],
    $7::bytea[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
    AS u(hook_id, delivery_id, event, action, installation_id, received_at, body, headers, status,
        lease_owner, lease_expires_at)
ON CONFLICT (hook_id, delivery_id) DO NOTHING
RETURNING id, hook_id, delivery_id,
    CASE WHEN status = '{DeliveryStatus.PENDING.value}'
        THEN pg_notify('{DELIVERY_CHANNEL}', '')::text END""".encode()  # noqa: S608


_COLUMNS = ", ".join(column.name for column in ALL_COLUMNS)

# Store.claim_deliveries as one statement: the oldest due rows nobody has locked, leased to $1 until
# $2, their attempt counted. (Module constants only in the f-string.)
_CLAIM = f"""\
UPDATE deliveries SET status = '{TRANSITIONS["claim"].target.value}', lease_owner = $1,
    lease_expires_at = $2, next_attempt_at = $2, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM deliveries WHERE {CLAIMABLE_SQL} AND next_attempt_at <= $3
    ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
RETURNING {_COLUMNS}""".encode()  # noqa: S608

# Every settlement's transition leaves a leased row (checked here, so the statement can say so).
_SETTLE_KINDS = ("complete", "retry", "dead_letter", "release")
assert all(TRANSITIONS[kind].sources == (DeliveryStatus.LEASED,) for kind in _SETTLE_KINDS)

# Store.settle_deliveries as one statement, for settlements of distinct deliveries: per row its
# kind says which columns change (as _settlement_statement does); $1 is now. A release makes the
# delivery due now, so it wakes the listeners.
_SETTLE = f"""\
UPDATE deliveries AS d SET status = u.target,
    finished_at = CASE WHEN u.kind IN ('complete', 'dead_letter') THEN $1 ELSE d.finished_at END,
    next_attempt_at = CASE u.kind WHEN 'retry' THEN u.next_attempt_at WHEN 'release' THEN $1
        ELSE d.next_attempt_at END,
    last_error = CASE WHEN u.kind IN ('retry', 'dead_letter') THEN u.error ELSE d.last_error END,
    attempts = CASE WHEN u.kind = 'release' THEN d.attempts - 1 ELSE d.attempts END,
    lease_owner = NULL, lease_expires_at = NULL
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
    AS u(id, owner, kind, target, next_attempt_at, error)
WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = '{DeliveryStatus.LEASED.value}'
RETURNING d.id, CASE WHEN u.kind = 'release'
    THEN pg_notify('{DELIVERY_CHANNEL}', '')::text END""".encode()  # noqa: S608


class DeliveryWriter(Protocol):
    """The inbox's hot writes, async; each call is one transaction."""

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        """As :meth:`Store.insert_deliveries`: per row, True if new."""
        ...

    async def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        """As :meth:`Store.insert_delivery_ids`: per row, its id if new."""
        ...

    async def claim_deliveries(
        self, owner: str, *, now: dt.datetime, lease: float, limit: int
    ) -> list[Delivery]:
        """As :meth:`Store.claim_deliveries`: up to ``limit`` due deliveries leased to ``owner``."""
        ...

    async def settle_deliveries(
        self, settlements: Sequence[Settlement], *, now: dt.datetime
    ) -> list[bool]:
        """As :meth:`Store.settle_deliveries`: per settlement, whether its owner held the lease."""
        ...

    def close(self) -> None:
        """Let go of any connection of its own (a later call opens a new one)."""
        ...


def open_delivery_writer(store: Store, *, timeout: float = 10.0) -> DeliveryWriter:
    """The writer for ``store``'s database: from the event loop on PostgreSQL, else in a thread.

    On PostgreSQL each writer has a connection of its own, and a statement unanswered after
    ``timeout`` seconds is given up with :class:`StoreUnavailable` (see :class:`LoopConnection`):
    GitHub waits 10 s for an answer, so a later one is of no use to the ingest anyway; its insert
    is idempotent, and what it may still commit is recognised as a duplicate when GitHub sends the
    delivery again. A claim whose answer was lost is a lease that expires; a settlement sent again
    finds the lease gone and changes nothing.
    """
    if store.engine.dialect.name == "postgresql":
        return _PostgresWriter(store, timeout=timeout)
    return _ThreadedWriter(store)


class _ThreadedWriter:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        return await run_sync(self._store.insert_deliveries, rows)

    async def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        return await run_sync(self._store.insert_delivery_ids, rows)

    async def claim_deliveries(
        self, owner: str, *, now: dt.datetime, lease: float, limit: int
    ) -> list[Delivery]:
        return await run_sync(
            self._store.claim_deliveries, owner, now=now, lease=lease, limit=limit
        )

    async def settle_deliveries(
        self, settlements: Sequence[Settlement], *, now: dt.datetime
    ) -> list[bool]:
        return await run_sync(self._store.settle_deliveries, settlements, now=now)

    def close(self) -> None:
        pass


class _PostgresWriter:
    """Each method one statement on the writer's :class:`LoopConnection`, but for the rare batch
    that does not fit one statement (too many or too large rows to insert, a delivery settled
    twice in one batch): those go to the :class:`Store` in a thread."""

    def __init__(self, store: Store, *, timeout: float) -> None:
        self._store = store
        self._connection = LoopConnection(
            store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            timeout=timeout,
        )

    async def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        return [id is not None for id in await self.insert_delivery_ids(rows)]

    async def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        if not rows:
            return []
        if not fits_one_statement(rows):
            return await run_sync(self._store.insert_delivery_ids, rows)
        # Idempotent (ON CONFLICT DO NOTHING): sent again on a new connection if this one broke.
        inserted = await self._connection.execute(
            _INSERT, postgres_insert_values(rows), retry_broken=True
        )
        keys = [(row.hook_id or 0, row.delivery_id) for row in rows]
        return ids_per_row(keys, {(hook_id, guid): id for id, hook_id, guid, _ in inserted})

    async def claim_deliveries(
        self, owner: str, *, now: dt.datetime, lease: float, limit: int
    ) -> list[Delivery]:
        expires_at = now + dt.timedelta(seconds=lease)
        rows = await self._connection.execute(_CLAIM, [owner, expires_at, now, limit])
        return sorted((delivery_from_values(row) for row in rows), key=lambda d: d.id)

    async def settle_deliveries(
        self, settlements: Sequence[Settlement], *, now: dt.datetime
    ) -> list[bool]:
        if not settlements:
            return []
        if max(Counter(s.id for s in settlements).values()) > 1:
            return await run_sync(self._store.settle_deliveries, settlements, now=now)
        values: list[Any] = [
            now,
            [s.id for s in settlements],
            [s.owner for s in settlements],
            [s.kind for s in settlements],
            [TRANSITIONS[s.kind].target.value for s in settlements],
            [s.next_attempt_at for s in settlements],
            [s.error for s in settlements],
        ]
        # Settling again what was settled changes nothing (the lease is gone): safe to resend.
        settled = {id for id, _ in await self._connection.execute(_SETTLE, values, retry_broken=True)}
        return [s.id in settled for s in settlements]

    def close(self) -> None:
        self._connection.close()
