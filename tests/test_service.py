"""Periodic jobs survive their failures."""

from __future__ import annotations

import trio
import trio.testing

from snekomatic.runtime import repeat_every


async def test_a_failing_periodic_job_runs_again_on_schedule(
    autojump_clock: trio.testing.MockClock,
) -> None:
    runs: list[float] = []

    async def job() -> None:
        runs.append(trio.current_time())
        if len(runs) < 3:
            raise RuntimeError("GitHub is down")

    with trio.move_on_after(25):
        await repeat_every(10, job, name="test job")
    assert runs == [0, 10, 20]
