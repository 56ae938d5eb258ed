"""Worker behaviour under Trio's autojump clock: retries, dead letters, leases, deadlines, shutdown."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from snekomatic.gh.errors import NotFound
from snekomatic.inbox import Doorbell, WorkerPolicy, Workers
from snekomatic.inbox._workers import ERROR_DESCRIPTION_MAX, SETTLE_RETRY_DELAYS, describe_error
from tests.inbox.memory_queue import FlakyQueue, Item, MemoryQueue, QueueDown

POLICY = WorkerPolicy(
    lease=30,
    renew_every=10,
    deadline=120,
    max_attempts=4,
    backoff_base=10,
    backoff_max=3600,
    poll_interval=1,
    grace=5,
)


async def run_until(
    queue: MemoryQueue, workers: Workers, done: trio.Event, limit: float = 10_000
) -> None:
    with trio.fail_after(limit):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await done.wait()
            await workers.stop()


@asynccontextmanager
async def idle(workers: Workers) -> AsyncIterator[None]:
    """Run ``workers`` until every one of them waits for work; stop them when the block ends."""
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await trio.testing.wait_all_tasks_blocked()
            yield
            await workers.stop()


async def test_retries_wait_twice_as_long_each_time_up_to_the_cap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    attempts_at: list[float] = []
    policy = dataclasses.replace(POLICY, backoff_base=10, backoff_max=30, max_attempts=5)

    async def process(item: Item) -> None:
        attempts_at.append(trio.current_time())
        raise RuntimeError("GitHub said 502")

    workers = Workers(queue, process, count=1, name="w", policy=policy)
    async with trio.open_nursery() as nursery:
        await nursery.start(workers.run)
        while queue.items[1].status != "dead":  # noqa: ASYNC110 - the memory queue has no event
            await trio.sleep(1)
        await workers.stop()
    gaps = [round(b - a) for a, b in itertools.pairwise(attempts_at)]
    assert gaps == [10, 20, 30, 30]


async def test_four_workers_process_each_delivery_exactly_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(500)
    seen: Counter[int] = Counter()
    done = trio.Event()

    async def process(item: Item) -> None:
        seen[item.id] += 1
        await trio.sleep(0.5)
        if sum(seen.values()) == 500:
            done.set()

    workers = Workers(queue, process, count=4, name="w", policy=POLICY)
    await run_until(queue, workers, done)
    assert seen == Counter({i: 1 for i in range(1, 501)})
    assert {item.status for item in queue.items.values()} == {"done"}


async def test_a_handler_failing_twice_then_succeeding_is_retried_with_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    attempts_at: list[float] = []
    done = trio.Event()

    async def process(item: Item) -> None:
        attempts_at.append(trio.current_time())
        if len(attempts_at) <= 2:
            raise RuntimeError("GitHub said 502")
        done.set()

    await run_until(queue, Workers(queue, process, count=1, name="w", policy=POLICY), done)
    item = queue.items[1]
    assert (item.status, item.attempts) == ("done", 3)
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert gaps[0] >= 10 and gaps[1] >= 20


async def test_a_handler_that_always_fails_becomes_a_dead_letter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    failures: list[tuple[int, bool]] = []
    done = trio.Event()

    async def process(item: Item) -> None:
        raise ValueError("handler bug")

    def on_failure(item: Item, exc: BaseException, last: bool) -> None:
        failures.append((item.attempts, last))
        if last:
            done.set()

    workers = Workers(queue, process, count=1, name="w", policy=POLICY, on_failure=on_failure)
    await run_until(queue, workers, done)
    await trio.testing.wait_all_tasks_blocked()
    item = queue.items[1]
    assert item.status == "dead"
    assert item.last_error == "ValueError: handler bug"
    assert failures == [(1, False), (2, False), (3, False), (4, True)]


async def test_a_failed_dispatch_is_recorded_by_its_root_cause_not_its_group(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    done = trio.Event()

    async def process(item: Item) -> None:
        # What Router.dispatch raises when its one handler fails.
        raise ExceptionGroup("1 handler(s) failed", [ValueError("handler bug")])

    def on_failure(item: Item, exc: BaseException, last: bool) -> None:
        done.set()

    workers = Workers(queue, process, count=1, name="w", policy=POLICY, on_failure=on_failure)
    await run_until(queue, workers, done)
    await trio.testing.wait_all_tasks_blocked()
    assert queue.items[1].last_error == "ValueError: handler bug"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("bug"), "ValueError: bug"),
        (ExceptionGroup("1 handler(s) failed", [ValueError("bug")]), "ValueError: bug"),
        (
            ExceptionGroup(
                "2 handler(s) failed",
                [NotFound(404, "Not Found"), ExceptionGroup("inner", [KeyError("login")])],
            ),
            "2 failures: NotFound: 404: Not Found; KeyError: 'login'",
        ),
        (RuntimeError(), "RuntimeError"),
        (ValueError("two\nlines\tand  spaces"), "ValueError: two lines and spaces"),
    ],
    ids=["plain", "group-of-one", "nested-groups", "no-message", "one-line"],
)
def test_an_error_is_described_by_its_leaf_exceptions(exc: BaseException, expected: str) -> None:
    assert describe_error(exc) == expected


def test_an_error_description_is_bounded() -> None:
    group = ExceptionGroup("many", [ValueError("x" * 500) for _ in range(100)])
    text = describe_error(group)
    assert len(text) == ERROR_DESCRIPTION_MAX and text.startswith("100 failures: ValueError: x")


def test_an_error_description_has_no_secret() -> None:
    token = "ghs_" + "a1" * 18
    text = describe_error(ExceptionGroup("g", [RuntimeError(f"sent token {token} to evil")]))
    assert token not in text and text.startswith("RuntimeError: sent ")


async def test_an_attempt_over_its_deadline_is_cancelled_and_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    calls = 0
    done = trio.Event()

    async def process(item: Item) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await trio.sleep_forever()
        done.set()

    await run_until(queue, Workers(queue, process, count=1, name="w", policy=POLICY), done)
    item = queue.items[1]
    assert (item.status, item.attempts) == ("done", 2)
    assert item.history[:2] == ["claim:w/0", "pending"]


async def test_lease_is_renewed_while_a_long_delivery_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    done = trio.Event()

    async def process(item: Item) -> None:
        await trio.sleep(100)  # more than three leases long, within the deadline
        done.set()

    await run_until(queue, Workers(queue, process, count=2, name="w", policy=POLICY), done)
    history = queue.items[1].history
    assert [h.startswith("claim:") for h in history] == [True, False]  # claimed once, by one worker
    assert history[-1] == "done"


async def test_a_worker_that_lost_its_lease_records_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    cancelled = trio.Event()

    async def process(item: Item) -> None:
        try:
            # Another process steals the delivery, as if our lease had expired unseen.
            queue.items[1].owner = "someone-else"
            await trio.sleep_forever()
        finally:
            cancelled.set()

    workers = Workers(queue, process, count=1, name="w", policy=POLICY)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await cancelled.wait()
            await workers.stop()
    assert queue.items[1].status == "leased"
    assert queue.items[1].owner == "someone-else"
    assert queue.items[1].history == ["claim:w/0"]


async def test_shutdown_lets_in_flight_work_finish_within_the_grace_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    started = trio.Event()

    async def process(item: Item) -> None:
        started.set()
        await trio.sleep(POLICY.grace / 2)

    workers = Workers(queue, process, count=1, name="w", policy=POLICY)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await started.wait()
            await workers.stop()
    assert queue.items[1].status == "done"


async def test_shutdown_hands_back_work_that_outlives_the_grace_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(2)
    started = trio.Event()

    async def process(item: Item) -> None:
        started.set()
        await trio.sleep(POLICY.grace * 3)

    workers = Workers(queue, process, count=1, name="w", policy=POLICY)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await started.wait()
            stopped_at = trio.current_time()
            await workers.stop()
            assert trio.current_time() - stopped_at == pytest.approx(POLICY.grace, abs=0.5)
    first, second = queue.items[1], queue.items[2]
    assert (first.status, first.owner, first.attempts) == ("pending", None, 0)
    assert first.history == ["claim:w/0", "release"]
    assert second.history == []  # nothing new is claimed once shutdown begins


async def test_new_work_wakes_an_idle_worker_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow_poll = WorkerPolicy(poll_interval=3600)
    queue = MemoryQueue(0)
    processed_at: list[float] = []
    done = trio.Event()

    async def process(item: Item) -> None:
        processed_at.append(trio.current_time())
        done.set()

    workers = Workers(queue, process, count=1, name="w", policy=slow_poll)
    async with idle(workers):
        await trio.sleep(5)
        queue.add(1)
        rung_at = trio.current_time()
        workers.doorbell.ring()
        await done.wait()
    assert processed_at[0] - rung_at < 1


async def test_workers_ride_out_a_database_outage(autojump_clock: trio.testing.MockClock) -> None:
    queue = FlakyQueue(2)
    queue.down = True
    outages: list[Exception] = []
    processed: Counter[int] = Counter()
    done = trio.Event()

    async def process(item: Item) -> None:
        processed[item.id] += 1
        if sum(processed.values()) == 2:
            done.set()

    workers = Workers(
        queue,
        process,
        count=2,
        name="w",
        policy=POLICY,
        unavailable=(QueueDown,),
        on_unavailable=outages.append,
    )
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await trio.sleep(30)  # down for half a minute: claims fail, workers stay up
            queue.down = False
            await done.wait()
            await workers.stop()
    assert len(outages) >= 2
    assert processed == Counter({1: 1, 2: 1})
    assert {item.status for item in queue.items.values()} == {"done"}


async def test_a_settlement_lost_to_a_short_outage_is_recorded_once_the_database_is_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = FlakyQueue(1)
    processed_at: list[float] = []

    async def process(item: Item) -> None:
        processed_at.append(trio.current_time())
        queue.down = True  # the database restarts just before the outcome is recorded

    workers = Workers(queue, process, count=1, name="w", policy=POLICY, unavailable=(QueueDown,))
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await trio.sleep(3)
            queue.down = False
            await trio.sleep(POLICY.lease * 3)
            await workers.stop()
    assert len(processed_at) == 1  # recorded before the lease ran out: not processed again
    assert queue.items[1].status == "done"


async def test_a_settlement_lost_to_a_long_outage_is_retried_after_the_lease(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = FlakyQueue(1)
    processed_at: list[float] = []
    done = trio.Event()

    async def process(item: Item) -> None:
        processed_at.append(trio.current_time())
        queue.down = len(processed_at) == 1  # down longer than the settlement retries last
        if len(processed_at) == 2:
            done.set()

    workers = Workers(queue, process, count=1, name="w", policy=POLICY, unavailable=(QueueDown,))
    with trio.fail_after(1000):
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            await trio.sleep(sum(SETTLE_RETRY_DELAYS) + 5)
            queue.down = False
            await done.wait()
            await workers.stop()
    assert processed_at[1] - processed_at[0] >= POLICY.lease  # at-least-once, after the lease
    assert queue.items[1].status == "done"


async def test_a_permanent_failure_is_a_dead_letter_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue(1)
    calls = 0
    done = trio.Event()

    class NotAllowed(Exception):
        pass

    async def process(item: Item) -> None:
        nonlocal calls
        calls += 1
        raise NotAllowed("the app lacks the members permission")

    def on_failure(item: Item, exc: BaseException, last: bool) -> None:
        if last:
            done.set()

    workers = Workers(
        queue,
        process,
        count=1,
        name="w",
        policy=POLICY,
        on_failure=on_failure,
        is_permanent=lambda exc: isinstance(exc, NotAllowed),
    )
    await run_until(queue, workers, done)
    await trio.testing.wait_all_tasks_blocked()
    assert calls == 1
    assert queue.items[1].status == "dead"


class CountingQueue(MemoryQueue):
    """Counts claims, successful or not: each one is a transaction in the real store."""

    def __init__(self) -> None:
        super().__init__(0)
        self.claims = 0
        self.claims_that_found_some = 0

    async def claim_many(self, owner: str, lease: float, limit: int) -> list[Item]:
        self.claims += 1  # one statement, however many it takes
        claimed = await super().claim_many(owner, lease, limit)
        self.claims_that_found_some += bool(claimed)
        return claimed


async def test_one_new_delivery_wakes_one_idle_worker_not_the_whole_pool(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = CountingQueue()
    done = trio.Event()

    async def process(item: Item) -> None:
        done.set()

    workers = Workers(queue, process, count=16, name="w", policy=WorkerPolicy(poll_interval=3600))
    async with idle(workers):
        claims_when_idle = queue.claims
        queue.add(1)
        workers.doorbell.ring()
        await done.wait()
        await trio.testing.wait_all_tasks_blocked()
        claims = queue.claims - claims_when_idle
    # The woken worker's claim, the claim of the worker it passed the ring on to (nothing left),
    # and its own look for more once done: 3, where waking the whole pool made 16 race for one.
    assert claims == 3


async def test_a_burst_spreads_over_idle_workers_from_a_single_ring(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = CountingQueue()
    finished_at: list[float] = []
    done = trio.Event()

    async def process(item: Item) -> None:
        await trio.sleep(1)
        finished_at.append(trio.current_time())
        if len(finished_at) == 8:
            done.set()

    workers = Workers(queue, process, count=8, name="w", policy=WorkerPolicy(poll_interval=3600))
    async with idle(workers):
        for delivery_id in range(1, 9):
            queue.add(delivery_id)
        rung_at = trio.current_time()
        workers.doorbell.ring()
        await done.wait()
    # One claim took the burst for all the idle workers, and woke them: all eight ran side by
    # side, none waited to poll.
    assert max(finished_at) - rung_at < 1.5
    assert {item.owner for item in queue.items.values()} == {None}
    assert queue.claims_that_found_some == 1


async def test_a_ring_with_no_idle_worker_is_kept_for_the_next_wait() -> None:
    doorbell = Doorbell()
    doorbell.ring()
    with trio.fail_after(1):
        await doorbell.wait()  # returns at once: the ring was not lost
    with trio.move_on_after(0.01) as waited:
        await doorbell.wait()  # but it is used once
    assert waited.cancelled_caught


async def test_ring_all_wakes_every_idle_worker() -> None:
    doorbell = Doorbell()
    woken = 0

    async def idle() -> None:
        nonlocal woken
        await doorbell.wait()
        woken += 1

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(idle)
        await trio.testing.wait_all_tasks_blocked()
        doorbell.ring()
        await trio.testing.wait_all_tasks_blocked()
        assert woken == 1
        doorbell.ring_all()
    assert woken == 5


async def test_a_handed_delivery_that_waited_past_its_lease_is_renewed_first_and_left_if_lost(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = MemoryQueue()
    processed: list[int] = []

    async def process(item: Item) -> None:
        processed.append(item.id)
        if item.id == 1:
            await trio.sleep(30)  # holds the only worker while the handed one waits

    policy = WorkerPolicy(lease=10, renew_every=3, poll_interval=3600)
    workers = Workers(queue, process, count=1, name="w", policy=policy)
    async with idle(workers):
        reservation = workers.reserve()
        assert reservation is not None
        queue.add(2)
        handed = await queue.claim(workers.handoff_owner, policy.lease)  # stored leased to us
        assert handed is not None
        queue.add(1)
        workers.doorbell.ring()
        await trio.testing.wait_all_tasks_blocked()
        assert processed == [1]
        await reservation.hand(handed)  # no worker free: it waits
        await trio.sleep(15)  # its lease ran out; another process claims it
        assert await queue.claim("elsewhere/0", 100) is not None
        await trio.sleep(20)
    assert processed == [1]  # not run a second time here
    assert queue.items[2].owner == "elsewhere/0"
