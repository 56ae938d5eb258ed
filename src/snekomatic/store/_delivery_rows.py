"""The shapes of deliveries going into and coming out of the store, and the header allow-list."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row

from snekomatic.store._states import DeliveryStatus
from snekomatic.store._tables import deliveries

__all__ = [
    "STORED_HEADERS",
    "Delivery",
    "DeliverySummary",
    "NewDelivery",
    "delivery_from_new",
    "delivery_from_values",
    "initial_columns",
    "stored_headers",
]

# The only request headers ever stored. Never the signatures (X-Hub-Signature, -256): they are
# useless once verified and are derived from the webhook secret.
STORED_HEADERS: frozenset[str] = frozenset(
    {
        "content-type",
        "user-agent",
        "x-github-event",
        "x-github-delivery",
        "x-github-hook-id",
        "x-github-hook-installation-target-id",
        "x-github-hook-installation-target-type",
    }
)


@dataclass(frozen=True, kw_only=True)
class NewDelivery:
    """A verified webhook delivery, as the web layer received it."""

    hook_id: int | None
    delivery_id: str
    event: str
    action: str | None
    installation_id: int | None
    received_at: dt.datetime
    # Kept out of the repr: bodies run to megabytes, and raw headers include the signature.
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    # How it is stored: pending (the default); done already (``settled``: no handler would act on
    # it); or leased to ``leased_to`` until ``lease_until``, its first attempt counted, for the
    # process that stores it to hand to one of its own workers without a claim.
    settled: bool = False
    leased_to: str | None = None
    lease_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if (self.leased_to is None) != (self.lease_until is None) or (
            self.settled and self.leased_to is not None
        ):
            raise ValueError("a new delivery is pending, settled, or leased with an expiry")

    @property
    def status(self) -> DeliveryStatus:
        """The status it is stored with."""
        if self.settled:
            return DeliveryStatus.DONE
        return DeliveryStatus.PENDING if self.leased_to is None else DeliveryStatus.LEASED


def initial_columns(row: NewDelivery) -> dict[str, Any]:
    """The status, attempt and lease columns ``row`` is inserted with (see :class:`NewDelivery`)."""
    return {
        "status": row.status.value,
        "attempts": 0 if row.leased_to is None else 1,
        "next_attempt_at": row.lease_until or row.received_at,
        "lease_owner": row.leased_to,
        "lease_expires_at": row.lease_until,
        "finished_at": row.received_at if row.settled else None,
    }


@dataclass(frozen=True, kw_only=True)
class DeliverySummary:
    """A delivery without its body and headers, for listings."""

    id: int
    hook_id: int | None
    delivery_id: str
    event: str
    action: str | None
    installation_id: int | None
    received_at: dt.datetime
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    last_error: str | None
    finished_at: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class Delivery(DeliverySummary):
    """A stored delivery, with the raw body and the stored headers."""

    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)


SUMMARY_COLUMNS = [
    deliveries.c[name]
    for name in (
        "id",
        "hook_id",
        "delivery_id",
        "event",
        "action",
        "installation_id",
        "received_at",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_owner",
        "lease_expires_at",
        "last_error",
        "finished_at",
    )
]
ALL_COLUMNS = [*SUMMARY_COLUMNS, deliveries.c.body, deliveries.c.headers]


def summary_fields(row: Row[Any] | SimpleNamespace) -> dict[str, Any]:
    return {
        "id": row.id,
        "hook_id": row.hook_id or None,
        "delivery_id": row.delivery_id,
        "event": row.event,
        "action": row.action,
        "installation_id": row.installation_id,
        "received_at": row.received_at,
        "status": DeliveryStatus(row.status),
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "lease_owner": row.lease_owner,
        "lease_expires_at": row.lease_expires_at,
        "last_error": row.last_error,
        "finished_at": row.finished_at,
    }


def delivery_from_row(row: Row[Any] | SimpleNamespace) -> Delivery:
    return Delivery(**summary_fields(row), body=bytes(row.body), headers=dict(row.headers))


def delivery_from_values(values: tuple[Any, ...]) -> Delivery:
    """The :class:`Delivery` of a row of :data:`ALL_COLUMNS` read by the driver itself (not through
    SQLAlchemy, whose column types would make the times UTC and parse the headers)."""
    fields = dict(zip((column.name for column in ALL_COLUMNS), values, strict=True))
    for name in ("received_at", "next_attempt_at", "lease_expires_at", "finished_at"):
        if fields[name] is not None:
            fields[name] = fields[name].astimezone(dt.UTC)
    if isinstance(fields["headers"], str | bytes):
        fields["headers"] = json.loads(fields["headers"])
    return delivery_from_row(SimpleNamespace(**fields))


def delivery_from_new(row: NewDelivery, id: int) -> Delivery:
    """The :class:`Delivery` that inserting ``row`` stored as ``id`` (without reading it back)."""
    columns = initial_columns(row)
    return Delivery(
        id=id,
        hook_id=row.hook_id,
        delivery_id=row.delivery_id,
        event=row.event,
        action=row.action,
        installation_id=row.installation_id,
        received_at=row.received_at,
        status=row.status,
        attempts=columns["attempts"],
        next_attempt_at=columns["next_attempt_at"],
        lease_owner=row.leased_to,
        lease_expires_at=row.lease_until,
        last_error=None,
        finished_at=columns["finished_at"],
        body=row.body,
        headers=stored_headers(row.headers),
    )


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed subset of ``headers`` (names lower-cased); everything else is dropped."""
    return {
        name.lower(): value for name, value in headers.items() if name.lower() in STORED_HEADERS
    }
