"""Small builders for store tests."""

from __future__ import annotations

import datetime as dt
import uuid

from snekomatic.store import NewDelivery

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def seconds(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def new_delivery(
    delivery_id: str | None = None,
    *,
    hook_id: int | None = 1,
    received_at: dt.datetime = NOW,
    headers: dict[str, str] | None = None,
    body: bytes = b'{"action": "created"}',
) -> NewDelivery:
    return NewDelivery(
        hook_id=hook_id,
        delivery_id=delivery_id or str(uuid.uuid4()),
        event="issue_comment",
        action="created",
        installation_id=42,
        received_at=received_at,
        body=body,
        headers=headers if headers is not None else {"X-GitHub-Event": "issue_comment"},
    )
