"""Replaying: recorded payload files, and stored deliveries run again."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import trio

from snekomatic.inbox import describe_error
from snekomatic.store import Delivery, DeliveryStatus, DeliverySummary, Store, run_sync

# --- recorded payload files -----------------------------------------------------------------------


class RecordingError(ValueError):
    """The file holds no usable payload; the message says why (and never quotes the file)."""


@dataclass(frozen=True, kw_only=True)
class RecordedDelivery:
    """A payload to send again, and the event its recording names (None if it names none)."""

    payload: dict[str, Any]
    event: str | None


def parse_recorded_delivery(text: str) -> RecordedDelivery:
    """The payload (and event, when named) recorded in ``text``. Pure.

    Accepts: a bare payload (a JSON object, or a form body ``payload=<quoted JSON>``); GitHub's API
    view of a delivery (``GET /app/hook/deliveries/{id}``: ``{"event": ..., "request": {"headers":
    ..., "payload": ...}}``); and the "Request" view of the app's advanced settings page pasted as
    text (``Name: value`` header lines, then the JSON payload). Signature headers are ignored.
    Raises :class:`RecordingError` when no JSON object payload can be found.
    """
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        document = _json_object(stripped)
        request = document.get("request")
        if isinstance(request, Mapping) and isinstance(request.get("payload"), Mapping):
            headers = request.get("headers")
            named = _header(headers, "x-github-event") if isinstance(headers, Mapping) else None
            event = named or document.get("event")
            return RecordedDelivery(
                payload=dict(request["payload"]), event=event if isinstance(event, str) else None
            )
        return RecordedDelivery(payload=document, event=None)
    if stripped.startswith("payload="):
        return RecordedDelivery(payload=_form_payload(stripped), event=None)
    lines = stripped.splitlines()
    for index, line in enumerate(lines):
        body = line.strip()
        if body.startswith(("{", "payload=")):
            headers = dict(_header_line(h) for h in lines[:index] if ":" in h)
            rest = "\n".join(lines[index:]).strip()
            payload = _json_object(rest) if body.startswith("{") else _form_payload(rest)
            return RecordedDelivery(payload=payload, event=_header(headers, "x-github-event"))
    raise RecordingError("no JSON payload found (expected a JSON object)")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"the payload is not valid JSON (line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise RecordingError("the payload is not a JSON object")
    return value


def _form_payload(text: str) -> dict[str, Any]:
    values = parse_qs(text.strip()).get("payload")
    if not values:
        raise RecordingError("the form body has no payload field")
    return _json_object(values[0])


def _header_line(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if str(key).lower() == name and isinstance(value, str) and value:
            return value
    return None


# --- stored deliveries ----------------------------------------------------------------------------


class UnknownDelivery(LookupError):
    """No stored delivery has this id or X-GitHub-Delivery guid."""


class AmbiguousDelivery(LookupError):
    """Several stored deliveries (of different hooks) share this guid; name one by its numeric id."""


def find_delivery(store: Store, ref: str) -> Delivery:
    """The stored delivery named by ``ref``: the store's numeric id, or an X-GitHub-Delivery guid.

    Raises :class:`UnknownDelivery`, :class:`AmbiguousDelivery`, and ``StoreUnavailable``. Synchronous.
    """
    ref = ref.strip()
    if ref.isdigit():
        found = store.get_delivery(int(ref))
        if found is None:
            raise UnknownDelivery(f"no stored delivery has id {ref}")
        return found
    ids = store.find_delivery_ids(ref)
    if not ids:
        raise UnknownDelivery(f"no stored delivery has id or guid {ref!r}")
    if len(ids) > 1:
        listed = ", ".join(str(i) for i in ids)
        raise AmbiguousDelivery(f"guid {ref!r} names deliveries {listed}; pass one of those ids")
    found = store.get_delivery(ids[0])
    if found is None:  # deleted in between
        raise UnknownDelivery(f"no stored delivery has id or guid {ref!r}")
    return found


class Requeue(enum.Enum):
    """What :func:`requeue_delivery` did."""

    REQUEUED = "requeued"  # was dead or done; now pending, due now, attempts 0
    ALREADY_PENDING = "already pending"  # the workers will run it anyway
    IN_PROGRESS = "in progress"  # a worker holds it under lease right now


def requeue_delivery(store: Store, delivery: DeliverySummary, *, now: dt.datetime) -> Requeue:
    """Put a dead or done ``delivery`` back as pending, due ``now`` (the workers run it again).

    A pending or leased delivery is left alone (the answer says which). Raises ``StoreUnavailable``.
    Synchronous; wakes PostgreSQL listeners through the store.
    """
    if store.replay_delivery(delivery.id, now=now):
        return Requeue.REQUEUED
    current = store.get_delivery(delivery.id)
    if current is not None and current.status is DeliveryStatus.LEASED:
        return Requeue.IN_PROGRESS
    if current is not None and current.status is DeliveryStatus.PENDING:
        return Requeue.ALREADY_PENDING
    raise UnknownDelivery(f"delivery {delivery.id} is gone")


# Due "at the epoch": a replayed delivery is due at this instant, and claiming with ``now=EPOCH``
# sees only deliveries due at or before it, so the claim that follows takes exactly that one (unless
# a running worker, whose ``now`` is today, takes it first; then that worker runs it).
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, kw_only=True)
class NowOutcome:
    """The result of :func:`run_delivery_now`: ``status`` is the delivery's status afterwards."""

    requeue: Requeue
    ran: bool  # processed in this process
    status: DeliveryStatus
    error: str | None = None  # the failure, one line, when it ran and failed


async def run_delivery_now(
    store: Store,
    delivery: DeliverySummary,
    process: Callable[[Delivery], Awaitable[None]],
    *,
    owner: str,
    clock: Callable[[], dt.datetime],
    lease: float = 300.0,
) -> NowOutcome:
    """Replay a dead or done ``delivery`` and run it through ``process`` here, under a lease.

    The lease (renewed every ``lease / 3`` seconds while processing) keeps the workers of a running
    ``serve`` off it. Success marks it done; ``process`` raising (any ``Exception``: this is a
    per-job boundary, like the workers') marks it dead with the error, which the outcome carries.
    When a running worker claims it first, or it was pending or leased already, it is not run here
    (``ran`` False). A checkpoint; raises ``StoreUnavailable``. Cancelled while processing: the
    lease is released (shielded, at most 10 s), so the workers take the delivery over.
    """
    requeue = await run_sync(requeue_delivery, store, delivery, now=EPOCH)
    if requeue is not Requeue.REQUEUED:
        status = DeliveryStatus.LEASED if requeue is Requeue.IN_PROGRESS else DeliveryStatus.PENDING
        return NowOutcome(requeue=requeue, ran=False, status=status)
    claimed = await run_sync(store.claim_next_delivery, owner, now=EPOCH, lease=lease)
    if claimed is not None and claimed.id != delivery.id:  # someone else's epoch replay
        await run_sync(store.release_lease, claimed.id, owner, now=clock())
        claimed = None
    # The claim's lease ended at EPOCH + lease: renew it at once, or a worker would reclaim it.
    if claimed is None or not await run_sync(
        store.renew_lease, claimed.id, owner, now=clock(), lease=lease
    ):
        return NowOutcome(requeue=requeue, ran=False, status=DeliveryStatus.LEASED)
    settled = False
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_keep_lease, store, claimed.id, owner, clock, lease)
            try:
                await process(claimed)
            except Exception as exc:  # noqa: BLE001 - the per-job boundary: recorded as dead
                error: str | None = describe_error(exc)
            else:
                error = None
            nursery.cancel_scope.cancel()
        if error is None:
            await run_sync(store.complete_delivery, claimed.id, owner, now=clock())
        else:
            await run_sync(store.dead_letter, claimed.id, owner, now=clock(), error=error)
        settled = True
    finally:
        if not settled:
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                await run_sync(store.release_lease, claimed.id, owner, now=clock())
    status = DeliveryStatus.DONE if error is None else DeliveryStatus.DEAD
    return NowOutcome(requeue=requeue, ran=True, status=status, error=error)


async def _keep_lease(
    store: Store, id: int, owner: str, clock: Callable[[], dt.datetime], lease: float
) -> None:
    while True:
        await trio.sleep(lease / 3)
        await run_sync(store.renew_lease, id, owner, now=clock(), lease=lease)
