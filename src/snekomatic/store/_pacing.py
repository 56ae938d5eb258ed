"""GitHub's one write per second per installation, kept for every process that shares the database.

GitHub asks for "at least one second between" the writes made for one installation
(https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#pause-between-mutative-requests).
Each process pacing its own writes is not enough: two workers acting for one installation would
write twice as fast. So the starts are reserved in the ``write_slots`` table, one row per
installation holding the earliest start of its next write: a reservation takes the later of that
and now, and moves it one interval on. One round trip per write, no polling; racing reservers get
distinct starts, one interval apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import final

import anyio
import structlog
from sqlalchemy import ColumnElement, Engine, Interval, func, literal, select, text
from sqlalchemy.dialects import postgresql

from snekomatic.gh import LocalWriteSlots, WriteSlots
from snekomatic.store._engine import dialect_insert, run_sync, transaction
from snekomatic.store._errors import StoreUnavailable
from snekomatic.store._tables import UTCDateTime, write_slots

__all__ = ["SharedWriteSlots", "WriteSlot", "WriteSlotMethods"]

log = structlog.get_logger("snekomatic")


@dataclass(frozen=True, kw_only=True)
class WriteSlot:
    """A reserved write start: the write may begin ``starts_at``, which is ``starts_at - reserved_at``
    after the reservation was made (both on the database's clock)."""

    starts_at: dt.datetime
    reserved_at: dt.datetime

    @property
    def wait(self) -> float:
        """Seconds from the reservation to the start (0 when the slot was free at once)."""
        return max(0.0, (self.starts_at - self.reserved_at).total_seconds())


class WriteSlotMethods:
    """The write pacing method of :class:`snekomatic.store.Store` (sync)."""

    engine: Engine

    def reserve_write_slot(
        self, installation_id: int, *, interval: float, now: dt.datetime | None = None
    ) -> WriteSlot:
        """Reserve the start of a write for ``installation_id``.

        The start is now, or later if an earlier reservation's ``interval`` has not yet run out; the
        next reservation then starts at least ``interval`` seconds after this one. Of callers
        racing, each gets its own start, ``interval`` apart. A reservation nobody uses is an
        interval lost, nothing more.

        ``now`` None: the database's clock, read by the statement itself (PostgreSQL's
        ``statement_timestamp()``; SQLite lives on this machine: its clock, read under the write
        lock), so processes on machines whose clocks differ still agree. Tests pass ``now``.

        One statement on PostgreSQL (an upsert that moves the row on); on SQLite a read and a write
        within one ``BEGIN IMMEDIATE`` transaction, which holds the write lock throughout. Raises
        :class:`StoreUnavailable` when the database cannot be used (nothing is reserved then).
        """
        gap = dt.timedelta(seconds=interval)
        with transaction(self.engine, write=True) as conn:
            if conn.dialect.name == "postgresql":
                # A slot lost in a crash of the database server costs nothing but the pacing of
                # one write: no need to wait for the disk (one round trip instead of an fsync).
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                at: ColumnElement[dt.datetime] = (
                    func.statement_timestamp(type_=UTCDateTime())
                    if now is None
                    else literal(now, UTCDateTime())
                )
                step = literal(gap, Interval())
                insert = postgresql.insert(write_slots).values(
                    installation_id=installation_id, next_write_at=at + step
                )
                statement = insert.on_conflict_do_update(
                    index_elements=["installation_id"],
                    set_={
                        "next_write_at": func.greatest(
                            write_slots.c.next_write_at, at, type_=UTCDateTime()
                        )
                        + step
                    },
                ).returning(
                    write_slots.c.next_write_at,
                    # The time the answer leaves, so the caller's wait excludes any lock wait.
                    func.clock_timestamp(type_=UTCDateTime()),
                )
                next_write_at, answered_at = conn.execute(statement).one()
                return WriteSlot(
                    starts_at=next_write_at - gap,
                    reserved_at=answered_at if now is None else now,
                )
            if now is None:
                now = dt.datetime.now(dt.UTC)
            booked = conn.execute(
                select(write_slots.c.next_write_at).where(
                    write_slots.c.installation_id == installation_id
                )
            ).scalar_one_or_none()
            start = now if booked is None else max(booked, now)
            upsert = dialect_insert(conn, write_slots).values(
                installation_id=installation_id, next_write_at=start + gap
            )
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["installation_id"],
                    set_={"next_write_at": upsert.excluded.next_write_at},
                )
            )
            return WriteSlot(starts_at=start, reserved_at=now)


@final
class SharedWriteSlots:
    """:class:`snekomatic.gh.WriteSlots` kept in the store: writes are spaced across every process.

    Give it to :class:`snekomatic.gh.GitHubApp` (``write_slots=``). Each write costs one
    :meth:`WriteSlotMethods.reserve_write_slot` in a thread, on the database's clock, then a sleep
    for the reservation's :attr:`WriteSlot.wait`: no clock of this machine is compared with
    another's, so no offset is needed.

    When the database cannot be used, writes are spaced within this process only (``fallback``,
    default :class:`snekomatic.gh.LocalWriteSlots`) until it answers again; each switch is logged
    once.
    """

    def __init__(self, store: WriteSlotMethods, *, fallback: WriteSlots | None = None) -> None:
        self._store = store
        self._fallback: WriteSlots = LocalWriteSlots() if fallback is None else fallback
        self._local_only = False

    def __repr__(self) -> str:
        return f"SharedWriteSlots({self._store!r})"

    async def acquire(self, installation_id: int, interval: float) -> None:
        """See :meth:`snekomatic.gh.WriteSlots.acquire`. A checkpoint. Never raises
        :class:`StoreUnavailable`: it paces locally instead. Cancelled during the round trip, the
        statement still completes and its slot goes unused; cancelled while sleeping, likewise."""
        try:
            slot = await run_sync(
                self._store.reserve_write_slot, installation_id, interval=interval
            )
        except StoreUnavailable as exc:
            if not self._local_only:
                self._local_only = True
                log.warning(
                    "write pacing falls back to this process alone: the database cannot be used",
                    error=str(exc),
                )
            await self._fallback.acquire(installation_id, interval)
            return
        if self._local_only:
            self._local_only = False
            log.info("write pacing is shared through the database again")
        await anyio.sleep(slot.wait)
