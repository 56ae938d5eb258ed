"""Pacing per installation: one request in flight, a gap between writes, and shared rate-limit state.

GitHub's guidance
(https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#avoid-concurrent-requests):
"make requests for a single user or client ID serially. Do not make requests for a single user or client
ID concurrently", and "If you are making a large number of POST, PATCH, PUT, or DELETE requests for a
single user or client ID, wait at least one second between each request."

A :class:`Pacer` holds that state for one installation; every client of the installation shares it, so
the rules hold however many tasks use the installation at once.

The guidance is per installation, not per process. The gap between writes is kept by a
:class:`WriteSlots`: :class:`LocalWriteSlots` (the default) keeps it within one process; a deployment
that runs several processes against one installation passes one that every process shares (snekomatic
keeps its slots in the database), so that two processes do not write twice as fast as one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final, Protocol, final

import anyio
import anyio.lowlevel

from snekomatic.gh.sansio import WRITE_INTERVAL_SECONDS, RateLimit

__all__ = ["MUTATING_METHODS", "LocalWriteSlots", "Pacer", "Pacing", "WriteSlots"]

MUTATING_METHODS: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True, kw_only=True)
class Pacing:
    """How a :class:`Pacer` spaces requests. Immutable.

    - ``write_interval``: the least time, in seconds, between the starts of two mutating requests
      (POST, PATCH, PUT, DELETE); GitHub asks for at least 1 s. ``0`` disables the gap.
    - ``serial``: at most one request in flight at a time (GitHub asks for serial requests).

    Usage::

        Pacer()                                      # GitHub's guidance: serial, 1 s between writes
        Pacer(Pacing(write_interval=0, serial=False))  # no pacing at all
    """

    write_interval: float = WRITE_INTERVAL_SECONDS
    serial: bool = True

    def __post_init__(self) -> None:
        if self.write_interval < 0:
            raise ValueError("Pacing.write_interval must not be negative")


DEFAULT_PACING: Final = Pacing()
UNPACED: Final = Pacing(write_interval=0.0, serial=False)


class WriteSlots(Protocol):
    """Where the starts of writes to each installation are spaced: the seam for pacing across processes.

    Implementations decide how far the spacing reaches: :class:`LocalWriteSlots` spaces the writes of one
    process; an implementation backed by a shared database spaces those of every process using it.
    """

    async def acquire(self, installation_id: int, interval: float) -> None:
        """Return when the caller may start a write to ``installation_id``: at least ``interval``
        seconds after the start of the previous write to it by any caller sharing these slots.

        A checkpoint. The caller starts its write as soon as this returns. Cancelled while waiting:
        the slot may stay taken (the next writer then waits up to one ``interval`` more), never
        shared. Should not raise for a backend outage: pace locally instead.
        """
        ...


@final
class LocalWriteSlots:
    """:class:`WriteSlots` in memory, for this process (and this event loop) only: the default.

    A write's start is recorded when its wait ends, so a caller cancelled while waiting takes no slot.
    """

    def __init__(self) -> None:
        self._locks: dict[int, anyio.Lock] = {}
        self._last_start: dict[int, float] = {}

    def __repr__(self) -> str:
        return "LocalWriteSlots()"

    async def acquire(self, installation_id: int, interval: float) -> None:
        """See :meth:`WriteSlots.acquire`; times on anyio's clock."""
        # A lock per installation, so that waiters start in the order they came.
        lock = self._locks.setdefault(installation_id, anyio.Lock())
        async with lock:
            last = self._last_start.get(installation_id)
            if last is not None:
                await anyio.sleep_until(last + interval)
            else:
                await anyio.lowlevel.checkpoint()
            self._last_start[installation_id] = anyio.current_time()


@final
class Pacer:
    """The pacing state of one installation, shared by all of its clients (create one per installation).

    Besides spacing requests it remembers, for the installation as a whole, the last rate limit GitHub
    reported per resource (``core``, ``graphql``, ``search``...) and a pause that every client honours
    after a secondary rate limit.

    The gap between writes is kept by ``write_slots`` under ``installation_id`` (None: a
    :class:`LocalWriteSlots` of its own, so within this process only); pass a shared :class:`WriteSlots`
    to space the writes of several processes.

    Times are on anyio's clock (:func:`anyio.current_time`), so Trio's autojump clock drives them in tests.
    A Pacer belongs to one event loop.
    """

    def __init__(
        self,
        pacing: Pacing = DEFAULT_PACING,
        *,
        write_slots: WriteSlots | None = None,
        installation_id: int = 0,
    ) -> None:
        self.pacing = pacing
        self.installation_id = installation_id
        self._write_slots: WriteSlots = LocalWriteSlots() if write_slots is None else write_slots
        self._serial_lock = anyio.Lock()
        self._write_lock = anyio.Lock()
        self._paused_until = -float("inf")
        self._rate_limits: dict[str, RateLimit] = {}

    def __repr__(self) -> str:
        if isinstance(self._write_slots, LocalWriteSlots):
            return f"Pacer({self.pacing!r})"
        return (
            f"Pacer({self.pacing!r}, write_slots={self._write_slots!r}, "
            f"installation_id={self.installation_id!r})"
        )

    @contextlib.asynccontextmanager
    async def turn(self, *, mutating: bool) -> AsyncIterator[None]:
        """Wait until this task may send one request, and hold that right for the ``async with`` body.

        Waits, in order: for the installation's serial lock (when ``pacing.serial``), for any pause set
        by :meth:`pause_until`, and for a mutating request until ``write_interval`` has passed since the
        start of the previous mutating one (by any sharer of the :class:`WriteSlots`). A checkpoint.
        Cancellation while waiting leaves nothing held; with :class:`LocalWriteSlots` nothing recorded
        either (a shared implementation may keep the slot: the next write waits one interval more).
        """
        lock: contextlib.AbstractAsyncContextManager[Any] = (
            self._serial_lock if self.pacing.serial else contextlib.nullcontext()
        )
        async with lock:
            await self._wait_unpaused()
            if mutating:
                await self._wait_write_slot()
            else:
                await anyio.lowlevel.checkpoint()
            yield

    def pause_until(self, deadline: float) -> None:
        """Hold every request of the installation until ``deadline`` (anyio clock); never shortens a pause."""
        self._paused_until = max(self._paused_until, deadline)

    def note_rate_limit(self, rate_limit: RateLimit) -> None:
        """Remember the latest rate-limit headers GitHub sent for ``rate_limit.resource``."""
        self._rate_limits[rate_limit.resource or "core"] = rate_limit

    def rate_limit_for(self, resource: str) -> RateLimit | None:
        """The last rate limit seen for ``resource`` (``"core"`` when GitHub named none), or None."""
        return self._rate_limits.get(resource)

    def rate_limits(self) -> dict[str, RateLimit]:
        """The last rate limit seen for each resource, by resource name (a copy)."""
        return dict(self._rate_limits)

    async def _wait_unpaused(self) -> None:
        # A loop, because another task may extend the pause while this one sleeps. Not an Event: the
        # pause ends by the clock, and no task owns the moment it ends.
        while (deadline := self._paused_until) > anyio.current_time():  # noqa: ASYNC110
            await anyio.sleep_until(deadline)

    async def _wait_write_slot(self) -> None:
        interval = self.pacing.write_interval
        if interval <= 0:
            await anyio.lowlevel.checkpoint()
            return
        # Its own lock, so that this process asks for one slot at a time even when requests are not
        # serial: a shared backend then costs one round trip per write, and a cancelled writer
        # wastes at most one slot.
        async with self._write_lock:
            await self._write_slots.acquire(self.installation_id, interval)
