"""Pacing per installation: one request in flight, a gap between writes, and shared rate-limit state.

GitHub's guidance
(https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#avoid-concurrent-requests):
"make requests for a single user or client ID serially. Do not make requests for a single user or client
ID concurrently", and "If you are making a large number of POST, PATCH, PUT, or DELETE requests for a
single user or client ID, wait at least one second between each request."

A :class:`Pacer` holds that state for one installation; every client of the installation shares it, so
the rules hold however many tasks use the installation at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final, final

import anyio
import anyio.lowlevel

from snekomatic.gh.sansio import WRITE_INTERVAL_SECONDS, RateLimit

__all__ = ["MUTATING_METHODS", "Pacer", "Pacing"]

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


@final
class Pacer:
    """The pacing state of one installation, shared by all of its clients (create one per installation).

    Besides spacing requests it remembers, for the installation as a whole, the last rate limit GitHub
    reported per resource (``core``, ``graphql``, ``search``...) and a pause that every client honours
    after a secondary rate limit.

    Times are on anyio's clock (:func:`anyio.current_time`), so Trio's autojump clock drives them in tests.
    A Pacer belongs to one event loop.
    """

    def __init__(self, pacing: Pacing = DEFAULT_PACING) -> None:
        self.pacing = pacing
        self._serial_lock = anyio.Lock()
        self._write_lock = anyio.Lock()
        self._last_write_start: float | None = None
        self._paused_until = -float("inf")
        self._rate_limits: dict[str, RateLimit] = {}

    def __repr__(self) -> str:
        return f"Pacer({self.pacing!r})"

    @contextlib.asynccontextmanager
    async def turn(self, *, mutating: bool) -> AsyncIterator[None]:
        """Wait until this task may send one request, and hold that right for the ``async with`` body.

        Waits, in order: for the installation's serial lock (when ``pacing.serial``), for any pause set
        by :meth:`pause_until`, and for a mutating request until ``write_interval`` has passed since the
        start of the previous mutating one (the start is recorded when the wait ends). A checkpoint.
        Cancellation while waiting leaves nothing held or recorded.
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
        # Its own lock, so the gap holds even when requests are not serial.
        async with self._write_lock:
            if self._last_write_start is not None:
                await anyio.sleep_until(self._last_write_start + interval)
            self._last_write_start = anyio.current_time()
