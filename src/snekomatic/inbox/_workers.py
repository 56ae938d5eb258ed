"""Workers: claim a stored delivery under a lease, run the handlers, and record what happened.

Handlers get at-least-once delivery: a delivery whose worker dies is claimed again once its lease expires,
and a failure is retried with exponential backoff until ``max_attempts``, then kept as a dead letter.

Shutdown (:meth:`Workers.stop`) has two stages. First the workers stop claiming and in-flight deliveries
get ``grace`` seconds to finish. Whatever is still running then is cancelled and its lease released
(without counting the attempt against it), so another process picks it up at once.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

import trio

from snekomatic.gh import exponential_backoff
from snekomatic.logs import redact

__all__ = [
    "DeliveryQueue",
    "Doorbell",
    "Reservation",
    "WorkerPolicy",
    "Workers",
    "describe_error",
]


@dataclass(frozen=True, kw_only=True)
class WorkerPolicy:
    """How workers hold, retry and give up on deliveries. All durations in seconds."""

    lease: float = 60.0  # a claim not renewed for this long is free to be claimed again
    renew_every: float = 20.0
    deadline: float = 300.0  # one attempt at one delivery may take this long
    max_attempts: int = 8
    backoff_base: float = 10.0
    backoff_max: float = 3600.0
    poll_interval: float = 2.0  # idle workers look for due work at least this often
    grace: float = 20.0  # at shutdown, in-flight work may finish within this


# Waits between attempts to record a delivery's outcome while the database is unreachable (0.5 s
# doubling to 8 s, about 15 s in all); after them, the lease's expiry is the fallback.
SETTLE_RETRY_DELAYS = tuple(exponential_backoff(n, base=0.5, cap=8.0) for n in range(5))


#: How an attempt ended, once recorded: ``on_settled`` is told (for metrics).
Outcome = Literal["done", "retried", "dead", "released"]


class ClaimedDeliveryLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def attempts(self) -> int: ...


Claimed = TypeVar("Claimed", bound=ClaimedDeliveryLike)
Claimed_co = TypeVar("Claimed_co", bound=ClaimedDeliveryLike, covariant=True)


class DeliveryQueue(Protocol[Claimed_co]):
    """What workers need from storage. Every method is async and runs one short transaction.

    The ``bool`` results say whether the caller still held the lease: a worker that lost its lease
    (it was too slow, and someone else claimed the delivery) records nothing.
    """

    async def claim(self, owner: str, lease: float) -> Claimed_co | None: ...
    async def claim_many(
        self, owner: str, lease: float, limit: int
    ) -> Sequence[Claimed_co]: ...
    async def renew(self, delivery_id: int, owner: str, lease: float) -> bool: ...
    async def complete(self, delivery_id: int, owner: str) -> bool: ...
    async def retry(self, delivery_id: int, owner: str, delay: float, error: str) -> bool: ...
    async def dead_letter(self, delivery_id: int, owner: str, error: str) -> bool: ...
    async def release(self, delivery_id: int, owner: str) -> bool: ...


class Doorbell:
    """Wakes idle workers when new work is stored (in-process, or relayed from PostgreSQL NOTIFY).

    One :meth:`ring` wakes one idle worker, not all of them: each woken worker makes a claim (a
    transaction), so waking a pool of 32 for one delivery cost 32 claims racing the one that mattered
    (measured: it tripled the time from webhook to invitation). A worker whose claim succeeds rings
    again, so a burst spreads to as many workers as it needs. A ring while no worker waits is kept
    for the next :meth:`wait` (the work is claimed by whoever comes next, never missed).
    """

    def __init__(self) -> None:
        self._idle = trio.lowlevel.ParkingLot()
        self._pending = False

    def ring(self) -> None:
        """Wake one idle worker, or the next one to wait if none is idle now."""
        if not self._idle.unpark(count=1):
            self._pending = True

    def ring_all(self) -> None:
        """Wake every idle worker (to shut down)."""
        self._idle.unpark_all()
        self._pending = True

    async def wait(self) -> None:
        """Wait for a ring; return at once (after a checkpoint) if one came while nobody waited."""
        if self._pending:
            self._pending = False
            await trio.lowlevel.checkpoint()
            return
        await self._idle.park()


ERROR_DESCRIPTION_MAX = 2000


def describe_error(exc: BaseException) -> str:
    """One line naming what failed, for the ``last_error`` column and the worker's failure log.

    The root causes, not the wrapper: an exception group (dispatch raises every handler's failure
    together as one) is described by its leaf exceptions, nested groups included, each as
    ``"Type: message"``; several are joined with ``"; "`` after their count (``"2 failures: NotFound:
    404: Not Found; ValueError: bug"``). Never a traceback; whitespace runs become one space; at
    most :data:`ERROR_DESCRIPTION_MAX` characters; anything shaped like a key, token, JWT or
    signature is redacted (:func:`snekomatic.logs.redact`), as no log processor sees the column.
    """
    leaves = _leaf_exceptions(exc)
    parts = [_type_and_message(leaf) for leaf in leaves]
    text = parts[0] if len(parts) == 1 else f"{len(parts)} failures: " + "; ".join(parts)
    text = " ".join(redact(text).split())
    if len(text) <= ERROR_DESCRIPTION_MAX:
        return text
    return text[: ERROR_DESCRIPTION_MAX - 3] + "..."


def _leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if not isinstance(exc, BaseExceptionGroup) or not exc.exceptions:
        return [exc]
    return [leaf for inner in exc.exceptions for leaf in _leaf_exceptions(inner)]


def _type_and_message(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class Reservation(Generic[Claimed]):
    """A free worker promised to a delivery being stored (:meth:`Workers.reserve`): hand or cancel."""

    def __init__(self, workers: Workers[Claimed]) -> None:
        self._workers = workers
        self.owner = workers.handoff_owner

    async def hand(self, delivery: Claimed) -> None:
        """Give the stored delivery (leased to :attr:`owner`) to the promised worker. After shutdown
        began, its lease is released instead. A checkpoint."""
        await self._workers._hand(delivery)

    def cancel(self) -> None:
        """Nothing was stored: the worker is free again. Not a checkpoint."""
        self._workers._take_reservation()


class Workers(Generic[Claimed]):
    """``count`` workers processing deliveries from ``queue`` with ``process``.

    ``process(delivery)`` runs the handlers; it raising means "failed, retry later". ``on_failure`` is
    told about each failed attempt (for logs and Sentry) with the delivery, the exception and whether
    it was the last attempt.

    ``unavailable`` lists the exception types the queue raises when the database is unreachable.
    Workers survive them: a failed claim is retried after ``poll_interval``, a failed renewal is tried
    again at the next renewal, and a failed settlement is retried for about 15 s
    (:data:`SETTLE_RETRY_DELAYS`); after that it is left to the lease to expire, and the delivery is
    claimed again (at-least-once). ``on_unavailable`` is told each time.

    ``on_settled(outcome)`` is told how each attempt ended once that is recorded (not when the lease
    was lost, or the database could not be reached). ``on_stop`` is called when :meth:`stop` has
    finished (to close the queue's connections, say).

    ``is_permanent(exc)`` says whether a failure cannot be cured by retrying (a missing permission,
    say): such a delivery becomes a dead letter at once instead of being retried ``max_attempts`` times.
    """

    def __init__(
        self,
        queue: DeliveryQueue[Claimed],
        process: Callable[[Claimed], Awaitable[None]],
        *,
        count: int,
        name: str,
        policy: WorkerPolicy = WorkerPolicy(),
        doorbell: Doorbell | None = None,
        on_failure: Callable[[Claimed, BaseException, bool], None] = lambda d, e, last: None,
        unavailable: tuple[type[Exception], ...] = (),
        on_unavailable: Callable[[Exception], None] = lambda exc: None,
        is_permanent: Callable[[BaseException], bool] = lambda exc: False,
        on_settled: Callable[[Outcome], None] = lambda outcome: None,
        on_stop: Callable[[], None] = lambda: None,
    ) -> None:
        self._queue = queue
        self._process = process
        self._count = count
        self._name = name
        self.policy = policy
        self.doorbell = doorbell or Doorbell()
        self._on_failure = on_failure
        self._unavailable = unavailable
        self._on_unavailable = on_unavailable
        self._is_permanent = is_permanent
        self._on_settled = on_settled
        self._on_stop = on_stop
        self._stopping = trio.Event()
        self._in_flight: set[trio.CancelScope] = set()
        self._finished = trio.Event()
        # Leased deliveries waiting for a free worker of this process, with their lease's owner:
        # stored leased to handoff_owner (see reserve()), or claimed in a batch by another worker.
        # And when it was handed (trio's clock): one that waited long is renewed before it starts.
        self._handed: collections.deque[tuple[Claimed, str, float]] = collections.deque()
        self._reserved = 0
        self.handoff_owner = f"{name}/handoff"
        self.completed = 0  # statistics
        self.failed = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the workers until :meth:`stop` has finished its work, or until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                for index in range(self._count):
                    nursery.start_soon(self._work, f"{self._name}/{index}")
                task_status.started()
        finally:
            self._finished.set()

    async def stop(self) -> None:
        """Stop claiming, give in-flight deliveries ``grace`` seconds, then hand back the rest.

        Returns when every worker has exited (their leases completed, retried or released).
        """
        self._stopping.set()
        self.doorbell.ring_all()
        try:
            with trio.move_on_after(self.policy.grace):
                await self._finished.wait()
            for scope in list(self._in_flight):
                scope.cancel()
            await self._finished.wait()
            while self._handed:  # handed over but never started: back to the queue, at once
                delivery, owner, _ = self._handed.popleft()
                await self._release_unstarted(delivery, owner)
        finally:
            self._on_stop()

    def idle(self) -> bool:
        return not self._in_flight and not self._handed

    def reserve(self) -> Reservation[Claimed] | None:
        """Promise a delivery about to be stored to a free worker of this process, or None if none is
        free (every worker busy or promised, or stopping).

        The caller stores the delivery leased to :attr:`handoff_owner` (with the policy's lease),
        then either :meth:`Reservation.hand` s it over (no claim transaction: the worker starts at
        once) or, if it was not stored (a duplicate, a failure), :meth:`Reservation.cancel` s.
        Not a checkpoint.
        """
        if self._stopping.is_set():
            return None
        if self._spare() <= 0:
            return None
        self._reserved += 1
        return Reservation(self)

    def _take_reservation(self) -> None:
        if self._reserved <= 0:
            raise RuntimeError("a reservation was used twice")
        self._reserved -= 1

    async def _hand(self, delivery: Claimed) -> None:
        self._take_reservation()
        if self._stopping.is_set():
            await self._release_unstarted(delivery, self.handoff_owner)
            return
        self._handed.append((delivery, self.handoff_owner, trio.current_time()))
        self.doorbell.ring()

    def _spare(self) -> int:
        """Workers neither busy, nor promised, nor about to take a handed delivery."""
        return self._count - len(self._in_flight) - self._reserved - len(self._handed)

    async def _start_handed(self) -> None:
        delivery, owner, handed_at = self._handed.popleft()
        if trio.current_time() - handed_at >= self.policy.renew_every:
            # It waited for a worker long enough for its lease to run low: renew it first, and
            # leave it if it was lost (another process may hold it now).
            try:
                held = await self._queue.renew(delivery.id, owner, self.policy.lease)
            except self._unavailable as exc:
                self._on_unavailable(exc)
                held = True  # still ours as far as we know; the next renewal tells
            if not held:
                return
        await self._attempt(delivery, owner)

    async def _release_unstarted(self, delivery: Claimed, owner: str) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            try:
                await self._queue.release(delivery.id, owner)
            except self._unavailable as exc:
                self._on_unavailable(exc)  # the lease expires instead

    async def _work(self, owner: str) -> None:
        while not self._stopping.is_set():
            if self._handed:
                await self._start_handed()
                continue
            # This worker and every spare one: a backlog is claimed in batches, one transaction
            # for as many deliveries as there are idle workers to take them. (Two workers claiming
            # at once may take more than can start at once: the surplus waits here, and is renewed
            # before it starts if it waited long; see _start_handed.)
            limit = max(self._spare(), 1)
            try:
                claimed = await self._queue.claim_many(owner, self.policy.lease, limit)
            except self._unavailable as exc:
                self._on_unavailable(exc)
                claimed = []
            if not claimed:
                with trio.move_on_after(self.policy.poll_interval):
                    await self.doorbell.wait()
                continue
            for other in claimed[1:]:
                self._handed.append((other, owner, trio.current_time()))
                self.doorbell.ring()  # wake an idle worker for it
            self.doorbell.ring()  # there may be more: pass the ring on to the next idle worker
            await self._attempt(claimed[0], owner)

    async def _attempt(self, delivery: Claimed, owner: str) -> None:
        lease_lost = False
        error: BaseException | None = None
        processing = trio.CancelScope()
        self._in_flight.add(processing)
        try:
            async with trio.open_nursery() as nursery:

                async def keep_lease() -> None:
                    nonlocal lease_lost
                    while True:
                        await trio.sleep(self.policy.renew_every)
                        try:
                            held = await self._queue.renew(delivery.id, owner, self.policy.lease)
                        except self._unavailable as exc:
                            self._on_unavailable(exc)
                            continue  # the lease may still be ours; try again next time
                        if not held:
                            lease_lost = True
                            processing.cancel()
                            return

                nursery.start_soon(keep_lease)
                with processing:
                    try:
                        with trio.fail_after(self.policy.deadline):
                            await self._process(delivery)
                    # The per-delivery boundary: any failure is recorded as a retry or a dead letter.
                    except Exception as exc:  # noqa: BLE001
                        error = exc
                nursery.cancel_scope.cancel()
        finally:
            self._in_flight.discard(processing)
        await self._record(delivery, owner, processing, lease_lost, error)

    async def _record(
        self,
        delivery: Claimed,
        owner: str,
        processing: trio.CancelScope,
        lease_lost: bool,
        error: BaseException | None,
    ) -> None:
        if lease_lost:
            return  # someone else holds it now; whatever we did is theirs to finish
        for delay in (*SETTLE_RETRY_DELAYS, None):
            try:
                await self._settle(delivery, owner, processing, error)
                return
            except self._unavailable as exc:
                self._on_unavailable(exc)
            if delay is None:
                return  # still down: the lease expires and the delivery is claimed again
            # A short outage (a restart, a failover) should not cost a whole lease of delay.
            await trio.sleep(delay)

    async def _settle(
        self,
        delivery: Claimed,
        owner: str,
        processing: trio.CancelScope,
        error: BaseException | None,
    ) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            outcome: Outcome
            if processing.cancelled_caught:
                outcome, held = "released", await self._queue.release(delivery.id, owner)
            elif error is None:
                self.completed += 1
                outcome, held = "done", await self._queue.complete(delivery.id, owner)
            else:
                self.failed += 1
                last = delivery.attempts >= self.policy.max_attempts or self._is_permanent(error)
                self._on_failure(delivery, error, last)
                if last:
                    outcome = "dead"
                    held = await self._queue.dead_letter(delivery.id, owner, describe_error(error))
                else:
                    # delivery.attempts counts this failed one: the first retry waits the base.
                    delay = exponential_backoff(
                        delivery.attempts - 1,
                        base=self.policy.backoff_base,
                        cap=self.policy.backoff_max,
                    )
                    outcome = "retried"
                    held = await self._queue.retry(
                        delivery.id, owner, delay, describe_error(error)
                    )
            if held:
                self._on_settled(outcome)
