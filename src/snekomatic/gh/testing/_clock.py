"""FakeClock: the one wall clock a fake GitHub, the app under test and the bot share in a test."""

from __future__ import annotations

import datetime as dt
from typing import Final, final

import anyio

__all__ = ["DEFAULT_START", "FakeClock"]

# 2023-11-14T22:13:20Z: a fixed, recent-looking instant, so that a run's times are the same every run.
DEFAULT_START: Final = 1_700_000_000.0


@final
class FakeClock:
    """Wall-clock time in epoch seconds, for tests: ``start``, plus the event loop's clock
    (``anyio.current_time()``) when ``follows_loop``, plus every :meth:`advance`.

    Pass the same clock to the fake (``FakeGitHub(clock=...)``), the app (``GitHubApp(clock=...)``) and
    the code under test, and they agree on the time. Under Trio's ``MockClock`` (pytest-trio's
    ``autojump_clock``) the loop's clock is virtual and starts at 0, so token expiry, ``retry-after``
    and pacing take virtual hours in milliseconds. Following the loop, it can be read only inside an
    event loop (Trio or asyncio); with ``follows_loop=False`` it moves only by :meth:`advance` and
    can be read anywhere. Reading it is not a checkpoint.
    """

    def __init__(self, start: float = DEFAULT_START, *, follows_loop: bool = True) -> None:
        self.start = start
        self.follows_loop = follows_loop
        self._advanced = 0.0

    def __call__(self) -> float:
        """The time now, in epoch seconds."""
        loop_time = anyio.current_time() if self.follows_loop else 0.0
        return self.start + self._advanced + loop_time

    def now(self) -> dt.datetime:
        """The time now, as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self(), dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead (the event loop's clock is left alone). Raises
        ``ValueError`` for a negative amount: a wall clock that steps back is ``FakeGitHub.clock_skew``'s
        job."""
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        self._advanced += seconds

    def __repr__(self) -> str:
        return (
            f"FakeClock(start={self.start!r}, follows_loop={self.follows_loop!r},"
            f" advanced={self._advanced!r})"
        )
