"""Write pacing shared through the database: each write to an installation reserves its start, one
interval after the previous one, whichever process (here: thread, or SharedWriteSlots) reserves it."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import trio
from structlog.testing import capture_logs

from snekomatic.store import SharedWriteSlots, Store, StoreUnavailable, WriteSlot
from tests.store.builders import NOW, seconds
from tests.store.test_concurrency import run_together

INSTALLATION = 42


def test_the_first_write_starts_at_once(store: Store) -> None:
    slot = store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW)

    assert slot == WriteSlot(starts_at=NOW, reserved_at=NOW)
    assert slot.wait == 0.0


def test_the_next_write_starts_one_interval_after_the_previous(store: Store) -> None:
    store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW)

    slot = store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW + seconds(0.25))

    assert slot.starts_at == NOW + seconds(1)
    assert slot.wait == pytest.approx(0.75)


def test_reservations_queue_up_one_interval_apart(store: Store) -> None:
    starts = [
        store.reserve_write_slot(INSTALLATION, interval=1.5, now=NOW).starts_at for _ in range(4)
    ]

    assert starts == [NOW + seconds(1.5 * n) for n in range(4)]


def test_a_write_after_the_interval_starts_at_its_own_time(store: Store) -> None:
    store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW)

    slot = store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW + seconds(30))

    assert slot.starts_at == NOW + seconds(30)
    assert slot.wait == 0.0


def test_installations_are_paced_apart(store: Store) -> None:
    store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW)

    other = store.reserve_write_slot(INSTALLATION + 1, interval=1.0, now=NOW)

    assert other.starts_at == NOW


def test_eight_racing_reservers_get_distinct_starts_one_interval_apart(store: Store) -> None:
    slots = run_together(8, lambda: store.reserve_write_slot(INSTALLATION, interval=1.0, now=NOW))

    assert sorted(slot.starts_at for slot in slots) == [NOW + seconds(n) for n in range(8)]


def test_racing_reservers_on_the_database_clock_get_starts_one_interval_apart(
    store: Store,
) -> None:
    slots = run_together(6, lambda: store.reserve_write_slot(INSTALLATION, interval=1.0))

    starts = sorted(slot.starts_at for slot in slots)
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(starts)] == [1.0] * 5
    # Measured on the database's own clock: each waits about its place in the queue.
    assert sorted(round(slot.wait) for slot in slots) == list(range(6))
    assert all(abs(slot.starts_at - dt.datetime.now(dt.UTC)) < seconds(60) for slot in slots)


async def test_two_processes_sharing_the_store_write_one_interval_apart(store: Store) -> None:
    first, second = SharedWriteSlots(store), SharedWriteSlots(store)
    started: list[float] = []

    async def write(slots: SharedWriteSlots) -> None:
        await slots.acquire(INSTALLATION, 0.4)
        started.append(trio.current_time())

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            for slots in (first, second, first, second):
                nursery.start_soon(write, slots)
    started.sort()
    gaps = [b - a for a, b in itertools.pairwise(started)]
    assert min(gaps) >= 0.35, gaps


class _DownStore:
    """A store whose database cannot be reached: every reservation fails."""

    def __init__(self) -> None:
        self.calls = 0

    def reserve_write_slot(
        self, installation_id: int, *, interval: float, now: dt.datetime | None = None
    ) -> WriteSlot:
        self.calls += 1
        raise StoreUnavailable("cannot connect to the database")


async def test_without_the_database_writes_are_paced_in_this_process_and_it_is_logged_once() -> (
    None
):
    # The real clock: the store call runs in a thread, which an autojump clock would jump over.
    down = _DownStore()
    slots = SharedWriteSlots(down)  # type: ignore[arg-type]
    started: list[float] = []
    with capture_logs() as logs, trio.fail_after(20):
        for _ in range(3):
            await slots.acquire(INSTALLATION, 0.3)
            started.append(trio.current_time())

    assert down.calls == 3
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(started))
    assert [line["event"] for line in logs if line["log_level"] == "warning"] == [
        "write pacing falls back to this process alone: the database cannot be used"
    ]


class _FlakyStore:
    """A store that cannot be reached for its first ``down`` reservations, then answers."""

    def __init__(self, store: Store, *, down: int) -> None:
        self._store = store
        self.down = down

    def reserve_write_slot(
        self, installation_id: int, *, interval: float, now: dt.datetime | None = None
    ) -> WriteSlot:
        if self.down:
            self.down -= 1
            raise StoreUnavailable("cannot connect to the database")
        return self._store.reserve_write_slot(installation_id, interval=interval, now=now)


async def test_once_the_database_answers_again_pacing_is_shared_again(store: Store) -> None:
    flaky = _FlakyStore(store, down=2)
    slots = SharedWriteSlots(flaky)  # type: ignore[arg-type]
    with capture_logs() as logs, trio.fail_after(20):
        for _ in range(3):
            await slots.acquire(INSTALLATION, 0.5)
        # Now in the database: another process's next write waits behind this one's.
        assert store.reserve_write_slot(INSTALLATION, interval=0.5).wait > 0

    assert flaky.down == 0
    assert [line["event"] for line in logs] == [
        "write pacing falls back to this process alone: the database cannot be used",
        "write pacing is shared through the database again",
    ]
