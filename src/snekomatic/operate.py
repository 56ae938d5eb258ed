"""Operating a bot: replaying deliveries, and what ``snekomatic status`` reads and shows.

Three kinds of code live here, each usable without the command line:

- pure: :func:`parse_recorded_delivery` (a payload file as copied from GitHub) and the formatting of
  the status report (:func:`format_table`, :func:`format_store_status`, :func:`format_installations`),
  which take ``now`` and a width and return lines;
- the store, synchronous like the store itself: :func:`find_delivery`, :func:`requeue_delivery`,
  :func:`read_store_status`;
- async: :func:`run_delivery_now` (claim one stored delivery and process it in this process) and
  :func:`read_installation_states` (GitHub's view of each installation's rate limit).

Nothing here prints, reads the environment or shows a secret: tokens, keys and the webhook secret
never reach a return value.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import trio
from sqlalchemy import select

from snekomatic.gh.app import GithubApp
from snekomatic.gh.errors import GitHubError
from snekomatic.inbox._workers import describe_error
from snekomatic.store import (
    Delivery,
    DeliveryStatus,
    DeliverySummary,
    Invitation,
    Store,
    metadata,
    run_sync,
)
from snekomatic.store._engine import transaction

__all__ = [
    "EPOCH",
    "AmbiguousDelivery",
    "InstallationState",
    "NowOutcome",
    "RecordedDelivery",
    "RecordingError",
    "Requeue",
    "StoreStatus",
    "UnknownDelivery",
    "find_delivery",
    "format_duration",
    "format_installations",
    "format_store_status",
    "format_table",
    "parse_recorded_delivery",
    "read_installation_states",
    "read_store_status",
    "requeue_delivery",
    "run_delivery_now",
    "truncate",
]

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
    # The Store has no lookup by guid: read the id through its (public) table metadata.
    table = metadata.tables["deliveries"]
    with transaction(store.engine, write=False) as conn:
        ids = list(conn.execute(select(table.c.id).where(table.c.delivery_id == ref)).scalars())
    if not ids:
        raise UnknownDelivery(f"no stored delivery has id or guid {ref!r}")
    if len(ids) > 1:
        listed = ", ".join(str(i) for i in sorted(ids))
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


# --- what status reads ----------------------------------------------------------------------------

INVITATION_SAMPLE = 1000


@dataclass(frozen=True, kw_only=True)
class StoreStatus:
    """What the store says about the bot, for :func:`format_store_status`."""

    counts: Mapping[DeliveryStatus, int]
    recent: Sequence[DeliverySummary]
    dead: Sequence[DeliverySummary]
    invitations: Sequence[Invitation]  # the newest, at most INVITATION_SAMPLE
    paused_orgs: Sequence[tuple[str, dt.datetime]]  # (org login or "#id", paused until)


def read_store_status(store: Store, *, now: dt.datetime, limit: int) -> StoreStatus:
    """Counts, the ``limit`` newest deliveries and dead letters, invitations and paused orgs.

    Synchronous; raises ``StoreUnavailable``.
    """
    invitations = store.list_invitations(limit=INVITATION_SAMPLE)
    logins = {i.org_id: i.org_login for i in invitations}
    # The Store lists no pauses: read them through its (public) table metadata.
    table = metadata.tables["org_throttles"]
    statement = select(table.c.org_id, table.c.until).where(table.c.until > now)
    with transaction(store.engine, write=False) as conn:
        pauses = sorted(conn.execute(statement).all(), key=lambda row: row.until)
    return StoreStatus(
        counts=store.count_by_status(),
        recent=store.list_deliveries(limit=limit),
        dead=store.list_deliveries(DeliveryStatus.DEAD, limit=limit),
        invitations=invitations,
        paused_orgs=[(logins.get(row.org_id, f"#{row.org_id}"), row.until) for row in pauses],
    )


@dataclass(frozen=True, kw_only=True)
class InstallationState:
    """One installation as GitHub reports it; ``error`` instead of a rate limit when asking failed."""

    installation_id: int
    account: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: dt.datetime | None = None
    error: str | None = None


async def read_installation_states(app: GithubApp) -> list[InstallationState]:
    """Every installation of the app (``GET /app/installations``) with its core rate limit
    (``GET /rate_limit`` as the installation, which needs a token: a token that cannot be had shows
    as that installation's ``error``).

    Raises the ``GitHubError`` of listing the installations (``ConfigurationError`` without
    credentials). A checkpoint; the caller bounds it in time. Only ids, logins and numbers come back.
    """
    states = []
    async for installation in app.app_client.getiter("/app/installations"):
        installation_id = int(installation["id"])
        account = installation.get("account") or {}
        login = str(account.get("login") or account.get("slug") or "?")
        try:
            answer = await app.client_for(installation_id).getitem("/rate_limit")
        except GitHubError as exc:
            states.append(
                InstallationState(
                    installation_id=installation_id, account=login, error=describe_error(exc)
                )
            )
            continue
        core = answer.get("resources", {}).get("core") or answer.get("rate") or {}
        states.append(
            InstallationState(
                installation_id=installation_id,
                account=login,
                limit=core.get("limit"),
                remaining=core.get("remaining"),
                reset_at=dt.datetime.fromtimestamp(core["reset"], dt.UTC)
                if "reset" in core
                else None,
            )
        )
    return states


# --- formatting (pure) ----------------------------------------------------------------------------

ELLIPSIS = "…"

# Invitation states (see snekomatic.features.invite) grouped the way people ask about them.
INVITATION_GROUPS: Mapping[str, str] = {
    "invited": "sent",
    "commented": "sent",
    "checking": "pending",
    "inviting": "pending",
    "deferred": "deferred",
    "member": "already members",
}


def truncate(text: str, width: int) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``width`` characters ending in "…"."""
    line = " ".join(text.split())
    if len(line) <= width:
        return line
    return line[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


def format_duration(seconds: float) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``2h03m``, ``3d04h`` (negative counts as 0)."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int) -> list[str]:
    """The rows under their headers in columns two spaces apart, one line per row, no trailing space.

    Each cell is put on one line. Only the last column gives way when the lines would be wider than
    ``width``: it is cut (ending in "…") but never narrower than its header.
    """
    cells = [[" ".join(cell.split()) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    room = width - sum(widths[:-1]) - 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], max(room, len(headers[-1])))
    lines = []
    for row in [list(headers), *cells]:
        parts = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)]
        parts.append(truncate(row[-1], widths[-1]))
        lines.append("  ".join(parts).rstrip())
    return lines


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _event(delivery: DeliverySummary) -> str:
    return f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event


def _took(delivery: DeliverySummary) -> str:
    if delivery.finished_at is None:
        return ""
    return format_duration((delivery.finished_at - delivery.received_at).total_seconds())


def _counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items()) or "none"


def format_store_status(status: StoreStatus, *, now: dt.datetime, width: int) -> list[str]:
    """The store part of ``snekomatic status`` as lines at most ``width`` wide where possible.

    Sections: delivery counts; recent deliveries (TOOK is from receipt to the last attempt's end);
    dead letters with their errors and the replay command; invitations by state; organizations
    whose invitations are paused, until when. Times are UTC. Pure.
    """
    lines = [
        "Deliveries: " + _counted({s.value: status.counts.get(s, 0) for s in DeliveryStatus}),
        "",
        "Recent deliveries (newest first, times UTC):",
    ]
    recent = [
        [
            str(d.id),
            _when(d.received_at),
            _event(d),
            d.delivery_id[:8],
            d.status.value,
            str(d.attempts),
            _took(d),
            d.last_error or "",
        ]
        for d in status.recent
    ]
    headers = ["ID", "RECEIVED", "EVENT", "DELIVERY", "STATUS", "TRIES", "TOOK", "LAST ERROR"]
    lines += format_table(headers, recent, width=width) if recent else ["  (none)"]
    dead_total = status.counts.get(DeliveryStatus.DEAD, 0)
    lines += ["", f"Dead letters ({dead_total}):"]
    if status.dead:
        dead = [
            [str(d.id), _when(d.received_at), _event(d), d.delivery_id, d.last_error or "?"]
            for d in status.dead
        ]
        headers = ["ID", "RECEIVED", "EVENT", "DELIVERY", "ERROR"]
        lines += format_table(headers, dead, width=width)
        lines.append(
            f"Replay one: snekomatic replay --delivery {status.dead[0].id}  (--now: run it here)"
        )
    else:
        lines.append("  (none)")
    groups: dict[str, int] = {}
    for invitation in status.invitations:
        group = INVITATION_GROUPS.get(invitation.state, invitation.state)
        groups[group] = groups.get(group, 0) + 1
    scope = f"newest {INVITATION_SAMPLE}" if len(status.invitations) >= INVITATION_SAMPLE else "all"
    lines += ["", f"Invitations ({scope}): {_counted(groups)}"]
    shown = [
        [_when(i.updated_at), i.org_login, i.user_login, i.state, i.last_error or ""]
        for i in status.invitations[: len(status.recent) or 10]
    ]
    if shown:
        headers = ["UPDATED", "ORG", "LOGIN", "STATE", "LAST ERROR"]
        lines += format_table(headers, shown, width=width)
    lines += ["", "Invitations paused by GitHub's rate limit:"]
    if status.paused_orgs:
        paused = [
            [org, _when(until), format_duration((until - now).total_seconds())]
            for org, until in status.paused_orgs
        ]
        lines += format_table(["ORG", "UNTIL", "IN"], paused, width=width)
    else:
        lines.append("  (none)")
    return lines


def format_installations(
    states: Sequence[InstallationState], *, now: dt.datetime, width: int
) -> list[str]:
    """The GitHub part of ``snekomatic status``: each installation's core rate limit. Pure."""
    if not states:
        return ["  (the app has no installations)"]
    rows = []
    for state in states:
        limit = (
            f"{state.remaining}/{state.limit}"
            if state.remaining is not None and state.limit is not None
            else "?"
        )
        resets = format_duration((state.reset_at - now).total_seconds()) if state.reset_at else "?"
        token = "ok" if state.error is None else "failed"
        rows.append(
            [
                str(state.installation_id),
                state.account,
                token,
                limit if state.error is None else "",
                resets if state.error is None else "",
                state.error or "",
            ]
        )
    headers = ["INSTALLATION", "ACCOUNT", "TOKEN", "REMAINING", "RESETS IN", "ERROR"]
    return format_table(headers, rows, width=width)
