"""The webhook inbox's table: storing deliveries, claiming them under a lease, and settling them.

Every change of status goes through a transition named in :mod:`snekomatic.store._states`, in one
statement whose WHERE clause checks the status (and the lease owner), so concurrent workers and
processes cannot both win. No function reads the clock: callers pass ``now`` (timezone-aware UTC).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, Select, Update, func, select, text, tuple_, update

from snekomatic.store._delivery_rows import (
    ALL_COLUMNS,
    SUMMARY_COLUMNS,
    Delivery,
    DeliverySummary,
    NewDelivery,
    delivery_from_row,
    initial_columns,
    stored_headers,
    summary_fields,
)
from snekomatic.store._engine import dialect_insert, transaction
from snekomatic.store._notify import notify_new_work
from snekomatic.store._states import TRANSITIONS, DeliveryStatus, Transition
from snekomatic.store._tables import CLAIMABLE_SQL, deliveries

__all__ = ["DeliveryMethods", "Settlement"]

# Rows per INSERT statement: keeps SQLite under its limit on bound variables, and statements
# under a sane size when bodies are large (GitHub sends up to 25 MB).
_INSERT_CHUNK_ROWS = 200
_INSERT_CHUNK_BYTES = 8 * 1024 * 1024


def _settle(name: str, id: int, owner: str) -> Update:
    """UPDATE for transition ``name`` of a delivery that ``owner`` holds under lease."""
    transition: Transition = TRANSITIONS[name]
    return (
        update(deliveries)
        .where(
            deliveries.c.id == id,
            deliveries.c.status.in_(transition.sources),
            deliveries.c.lease_owner == owner,
        )
        .values(status=transition.target)
    )


def _chunks(values: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for value in values:
        if chunk and (len(chunk) >= _INSERT_CHUNK_ROWS or size >= _INSERT_CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += len(value["body"])
    if chunk:
        yield chunk


_NO_LEASE: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}


@dataclass(frozen=True)
class Settlement:
    """One outcome of a leased delivery for :meth:`DeliveryMethods.settle_deliveries`: ``complete``
    (done), ``retry`` (pending again at ``next_attempt_at``, with ``error``), ``dead_letter`` (with
    ``error``) or ``release`` (pending now, the attempt not counted), if ``owner`` holds ``id``."""

    kind: Literal["complete", "retry", "dead_letter", "release"]
    id: int
    owner: str
    next_attempt_at: dt.datetime | None = None
    error: str | None = None


def _settlement_statement(settlement: Settlement, now: dt.datetime) -> Update:
    statement = _settle(settlement.kind, settlement.id, settlement.owner)
    if settlement.kind == "complete":
        return statement.values(finished_at=now, **_NO_LEASE)
    if settlement.kind == "retry":
        return statement.values(
            next_attempt_at=settlement.next_attempt_at, last_error=settlement.error, **_NO_LEASE
        )
    if settlement.kind == "dead_letter":
        return statement.values(last_error=settlement.error, finished_at=now, **_NO_LEASE)
    return statement.values(next_attempt_at=now, attempts=deliveries.c.attempts - 1, **_NO_LEASE)

def fits_one_statement(rows: Sequence[NewDelivery]) -> bool:
    """Whether ``rows`` are few and small enough to be inserted by one statement."""
    return len(rows) <= _INSERT_CHUNK_ROWS and sum(len(r.body) for r in rows) <= _INSERT_CHUNK_BYTES


def postgres_insert_values(rows: Sequence[NewDelivery]) -> list[Any]:
    """The arrays (one value per row each) of PostgreSQL's one-statement insert of ``rows``: hook
    id, delivery id, event, action, installation id, received at, body, headers (JSON text), status,
    lease owner, lease expiry (see :func:`~snekomatic.store._delivery_rows.initial_columns`).
    """
    return [
        [row.hook_id or 0 for row in rows],
        [row.delivery_id for row in rows],
        [row.event for row in rows],
        [row.action for row in rows],
        [row.installation_id for row in rows],
        [_aware_utc(row.received_at) for row in rows],
        [row.body for row in rows],
        [json.dumps(stored_headers(row.headers)) for row in rows],
        [row.status.value for row in rows],
        [row.leased_to for row in rows],
        [None if row.lease_until is None else _aware_utc(row.lease_until) for row in rows],
    ]


def _aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the store only accepts timezone-aware datetimes")
    return value.astimezone(dt.UTC)


def ids_per_row(keys: list[tuple[int, str]], inserted: dict[tuple[int, str], int]) -> list[int | None]:
    """Per key, the id it was inserted as, or None: a duplicate (stored before, or a repeat of a key
    earlier in ``keys``)."""
    return [inserted.pop(key, None) for key in keys]


class DeliveryMethods:
    """The delivery methods of :class:`snekomatic.store.Store` (all synchronous; see ``run_sync``)."""

    engine: Engine

    def insert_deliveries(self, rows: Sequence[NewDelivery]) -> list[bool]:
        """Insert ``rows`` in one transaction; per row, True if it was new, False if a duplicate.

        A duplicate is a row whose (hook id, delivery id) is already stored, or repeats an earlier
        row of ``rows``; it is skipped, and the stored row is left as it was. New rows are stored as
        each says (:class:`NewDelivery`: pending and due at ``received_at`` by default). Headers are
        filtered to :data:`STORED_HEADERS`. Returns only after the commit. Raises
        :class:`StoreUnavailable` when the database fails (then nothing of ``rows`` was stored).
        """
        return [id is not None for id in self.insert_delivery_ids(rows)]

    def insert_delivery_ids(self, rows: Sequence[NewDelivery]) -> list[int | None]:
        """:meth:`insert_deliveries`, saying per row the id it was stored as (None: a duplicate)."""
        if not rows:
            return []
        values = [
            {
                "hook_id": row.hook_id or 0,
                "delivery_id": row.delivery_id,
                "event": row.event,
                "action": row.action,
                "installation_id": row.installation_id,
                "received_at": row.received_at,
                "body": row.body,
                "headers": stored_headers(row.headers),
                **initial_columns(row),
            }
            for row in rows
        ]
        # One statement executed with many parameter sets: SQLAlchemy compiles it once (cached) and
        # sends the rows as batched multi-row INSERTs ("insertmanyvalues"), within the drivers'
        # parameter limits. A statement built with .values(rows) would be compiled for every batch.
        statement = (
            dialect_insert(self.engine, deliveries)
            .on_conflict_do_nothing(index_elements=["hook_id", "delivery_id"])
            .returning(deliveries.c.id, deliveries.c.hook_id, deliveries.c.delivery_id)
        )
        inserted: dict[tuple[int, str], int] = {}
        with transaction(self.engine, write=True) as conn:
            for chunk in _chunks(values):  # bounded in rows and bytes: no giant statement
                result = conn.execute(statement, chunk)
                inserted.update(((r.hook_id, r.delivery_id), r.id) for r in result)
            # Only new pending rows are work for others: leased ones are their inserter's, settled
            # ones nobody's.
            if any(
                (row.hook_id or 0, row.delivery_id) in inserted
                for row in rows
                if row.status is DeliveryStatus.PENDING
            ):
                notify_new_work(conn)
        return ids_per_row([(row.hook_id or 0, row.delivery_id) for row in rows], inserted)

    def claim_next_delivery(self, owner: str, *, now: dt.datetime, lease: float) -> Delivery | None:
        """Lease the next due delivery to ``owner`` for ``lease`` seconds, or None if none is due.

        Due: pending with ``next_attempt_at <= now``, or leased with an expired lease (its worker
        died). The oldest due one is taken; ``attempts`` goes up by one. One statement
        (``UPDATE ... WHERE id = (SELECT ... LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING``; SQLite
        serialises it under BEGIN IMMEDIATE), so no two callers ever get the same lease.
        ``owner`` must name one worker task uniquely across all processes (host, pid, task and a
        random part). Raises :class:`StoreUnavailable` when the database fails; a claim whose
        answer was lost expires after ``lease`` and is claimed again.
        """
        with transaction(self.engine, write=True) as conn:
            row = conn.execute(self._claim(owner, now=now, lease=lease)).one_or_none()
        return None if row is None else delivery_from_row(row)

    def claim_deliveries(
        self, owner: str, *, now: dt.datetime, lease: float, limit: int
    ) -> list[Delivery]:
        """Up to ``limit`` claims as by :meth:`claim_next_delivery`, by one statement (``... LIMIT
        n FOR UPDATE SKIP LOCKED``), in id order: a worker pool takes a backlog in batches."""
        with transaction(self.engine, write=True) as conn:
            rows = conn.execute(self._claim(owner, now=now, lease=lease, limit=limit)).all()
        claimed = [delivery_from_row(row) for row in rows]
        return sorted(claimed, key=lambda d: d.id)

    @staticmethod
    def _claim(owner: str, *, now: dt.datetime, lease: float, limit: int = 1) -> Update:
        transition = TRANSITIONS["claim"]
        # Pending rows are due at their retry time, leased ones at their lease expiry: both are
        # in next_attempt_at, so the claimable index is walked in order (see _tables).
        due: Select[Any] = (
            select(deliveries.c.id)
            .where(text(CLAIMABLE_SQL), deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # compiles to nothing on SQLite
        )
        expires_at = now + dt.timedelta(seconds=lease)
        return (
            update(deliveries)
            .where(deliveries.c.id.in_(due))
            .values(
                status=transition.target,
                lease_owner=owner,
                lease_expires_at=expires_at,
                next_attempt_at=expires_at,
                attempts=deliveries.c.attempts + 1,
            )
            .returning(*ALL_COLUMNS)
        )

    def renew_lease(self, id: int, owner: str, *, now: dt.datetime, lease: float) -> bool:
        """Extend ``owner``'s lease on delivery ``id`` to ``now + lease``.

        False if ``owner`` no longer holds it (another worker reclaimed it after it expired, or it
        was settled): the caller must stop and not settle it. A lease that expired but was not yet
        reclaimed is still held and can be renewed.
        """
        expires_at = now + dt.timedelta(seconds=lease)
        statement = _settle("renew", id, owner).values(
            lease_expires_at=expires_at, next_attempt_at=expires_at
        )
        return self._update_one(statement)

    def complete_delivery(self, id: int, owner: str, *, now: dt.datetime) -> bool:
        """Mark delivery ``id`` done. False (and nothing changed) if ``owner`` does not hold it."""
        return self.settle_deliveries([Settlement("complete", id, owner)], now=now)[0]

    def retry_delivery(
        self, id: int, owner: str, *, now: dt.datetime, next_attempt_at: dt.datetime, error: str
    ) -> bool:
        """Put delivery ``id`` back as pending, due at ``next_attempt_at``, recording ``error``.

        The backoff is the caller's to compute. ``error`` must hold no secret. False if ``owner``
        does not hold the lease. ``now`` is accepted for symmetry and not stored.
        """
        settlement = Settlement("retry", id, owner, next_attempt_at=next_attempt_at, error=error)
        return self.settle_deliveries([settlement], now=now)[0]

    def dead_letter(self, id: int, owner: str, *, now: dt.datetime, error: str) -> bool:
        """Give up on delivery ``id``: dead, with ``error`` kept for people to read and replay.

        False if ``owner`` does not hold the lease.
        """
        return self.settle_deliveries([Settlement("dead_letter", id, owner, error=error)], now=now)[0]

    def release_lease(self, id: int, owner: str, *, now: dt.datetime) -> bool:
        """Hand delivery ``id`` back at graceful shutdown: pending, due ``now``, attempt not counted.

        The interrupted attempt is not counted (``attempts`` goes back down by one), so that deploys
        cannot push a delivery towards the dead letters; a worker that dies without releasing still
        counts its attempt, so a delivery that keeps crashing its worker does end dead.
        False if ``owner`` does not hold the lease.
        """
        return self.settle_deliveries([Settlement("release", id, owner)], now=now)[0]

    def settle_deliveries(
        self, settlements: Sequence[Settlement], *, now: dt.datetime
    ) -> list[bool]:
        """Record several outcomes in one transaction (one commit, one fsync); per settlement,
        whether its owner still held the lease (False: nothing changed for that one), as the
        single methods above say. Raises :class:`StoreUnavailable` when the database fails (then
        none was recorded)."""
        results: dict[int, bool] = {}
        # The completions, the bulk of any batch, go as one statement; an id that appears twice
        # in the batch (a retried settlement) goes on its own, so each result is its own.
        ids = Counter(settlement.id for settlement in settlements)
        together = [
            (index, settlement)
            for index, settlement in enumerate(settlements)
            if settlement.kind == "complete" and ids[settlement.id] == 1
        ]
        due_now = False
        with transaction(self.engine, write=True) as conn:
            if together:
                pairs = [(settlement.id, settlement.owner) for _, settlement in together]
                statement = (
                    update(deliveries)
                    .where(
                        # The ids alone first: SQLite finds rows by a row-value IN only by
                        # reading the whole table (measured: a drain of 2,000 at 82/s).
                        deliveries.c.id.in_([id for id, _ in pairs]),
                        deliveries.c.status.in_(TRANSITIONS["complete"].sources),
                        tuple_(deliveries.c.id, deliveries.c.lease_owner).in_(pairs),
                    )
                    .values(status=TRANSITIONS["complete"].target, finished_at=now, **_NO_LEASE)
                    .returning(deliveries.c.id)
                )
                completed = set(conn.execute(statement).scalars())
                results.update((index, s.id in completed) for index, s in together)
            for index, settlement in enumerate(settlements):
                if index in results:
                    continue
                changed = conn.execute(_settlement_statement(settlement, now)).rowcount == 1
                results[index] = changed
                due_now |= changed and settlement.kind == "release"
            if due_now:
                notify_new_work(conn)
        return [results[index] for index in range(len(settlements))]

    def lease_owners(self) -> set[str]:
        """The owners of the leases held now (live or expired, not yet reclaimed)."""
        statement = (
            select(deliveries.c.lease_owner)
            # The claimable condition lets the partial index answer: leased rows are few.
            .where(text(CLAIMABLE_SQL), deliveries.c.status == DeliveryStatus.LEASED.value)
            .distinct()
        )
        with transaction(self.engine, write=False) as conn:
            return {owner for (owner,) in conn.execute(statement) if owner is not None}

    def expire_leases(self, owners: Iterable[str], *, now: dt.datetime) -> int:
        """End at ``now`` every lease held by ``owners`` (their processes are known to be dead), so
        the deliveries are claimed again at once; how many. The attempts count, as for any lease that
        expires; the dead owners' later settlements are refused like any lost lease's.
        """
        owners = list(owners)
        if not owners:
            return 0
        statement = (
            update(deliveries)
            .where(
                deliveries.c.status == DeliveryStatus.LEASED.value,
                deliveries.c.lease_owner.in_(owners),
            )
            .values(lease_expires_at=now, next_attempt_at=now)
        )
        with transaction(self.engine, write=True) as conn:
            expired = conn.execute(statement).rowcount
            if expired:
                notify_new_work(conn)
        return int(expired)

    def replay_delivery(self, id: int, *, now: dt.datetime) -> bool:
        """Put a dead (or done) delivery ``id`` back as pending, due ``now``, with attempts at 0.

        ``last_error`` is kept until the next attempt settles. False if no such delivery is dead or
        done (it is pending or leased already, or does not exist).
        """
        transition = TRANSITIONS["replay"]
        statement = (
            update(deliveries)
            .where(deliveries.c.id == id, deliveries.c.status.in_(transition.sources))
            .values(
                status=transition.target,
                attempts=0,
                next_attempt_at=now,
                finished_at=None,
                **_NO_LEASE,
            )
        )
        return self._update_one(statement, due_now=True)

    def _update_one(self, statement: Update, *, due_now: bool = False) -> bool:
        with transaction(self.engine, write=True) as conn:
            changed = conn.execute(statement).rowcount == 1
            if changed and due_now:
                notify_new_work(conn)
        return changed

    def get_delivery(self, id: int) -> Delivery | None:
        """The delivery with this row id, or None."""
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(select(*ALL_COLUMNS).where(deliveries.c.id == id)).one_or_none()
        return None if row is None else delivery_from_row(row)

    def list_deliveries(
        self, status: DeliveryStatus | None = None, *, limit: int = 50
    ) -> list[DeliverySummary]:
        """The newest ``limit`` deliveries (by row id, newest first), of ``status`` if given."""
        statement = select(*SUMMARY_COLUMNS).order_by(deliveries.c.id.desc()).limit(limit)
        if status is not None:
            statement = statement.where(deliveries.c.status == status)
        with transaction(self.engine, write=False) as conn:
            return [DeliverySummary(**summary_fields(r)) for r in conn.execute(statement)]

    def find_delivery_ids(self, delivery_id: str) -> list[int]:
        """The row ids of the deliveries stored under this X-GitHub-Delivery guid, ascending: one per
        hook that sent it (usually one), none if it is not stored."""
        statement = (
            select(deliveries.c.id)
            .where(deliveries.c.delivery_id == delivery_id)
            .order_by(deliveries.c.id)
        )
        with transaction(self.engine, write=False) as conn:
            return list(conn.execute(statement).scalars())

    def delivery_exists(self, hook_id: int | None, delivery_id: str) -> bool:
        """Whether this (hook id, delivery id) is stored; hook id None means "unknown" (stored 0)."""
        statement = select(deliveries.c.id).where(
            deliveries.c.hook_id == (hook_id or 0), deliveries.c.delivery_id == delivery_id
        )
        with transaction(self.engine, write=False) as conn:
            return conn.execute(statement).first() is not None

    def known_delivery_ids(self, guids: Iterable[str]) -> set[str]:
        """Those of ``guids`` (X-GitHub-Delivery values) that are stored, under any hook id."""
        wanted = list(dict.fromkeys(guids))
        known: set[str] = set()
        with transaction(self.engine, write=False) as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                statement = (
                    select(deliveries.c.delivery_id)
                    .where(deliveries.c.delivery_id.in_(chunk))
                    .distinct()
                )
                known.update(conn.execute(statement).scalars())
        return known

    def count_by_status(self) -> dict[DeliveryStatus, int]:
        """How many deliveries have each status (every status present, zeros included)."""
        statement = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        counts = dict.fromkeys(DeliveryStatus, 0)
        with transaction(self.engine, write=False) as conn:
            for status, count in conn.execute(statement):
                counts[DeliveryStatus(status)] = count
        return counts

    def backlog(self) -> tuple[int, dt.datetime | None]:
        """How many deliveries are stored and not yet settled (pending or leased), and when the
        oldest of them was received (None if there are none). Walks only the claimable index."""
        statement = select(func.count(), func.min(deliveries.c.received_at)).where(
            text(CLAIMABLE_SQL)
        )
        with transaction(self.engine, write=False) as conn:
            count, oldest = conn.execute(statement).one()
        return int(count), oldest

    def next_due_at(self) -> dt.datetime | None:
        """The earliest time a delivery becomes claimable (maybe already past), or None if none will.

        For a worker that found nothing to claim: it may sleep until then (or until woken).
        """
        statement = select(func.min(deliveries.c.next_attempt_at)).where(text(CLAIMABLE_SQL))
        with transaction(self.engine, write=False) as conn:
            due_at: dt.datetime | None = conn.execute(statement).scalar()
        return due_at

    def delete_finished_before(self, cutoff: dt.datetime) -> int:
        """Delete done deliveries finished before ``cutoff``; returns how many. Dead ones are kept."""
        statement = deliveries.delete().where(
            deliveries.c.status == DeliveryStatus.DONE, deliveries.c.finished_at < cutoff
        )
        with transaction(self.engine, write=True) as conn:
            return conn.execute(statement).rowcount
