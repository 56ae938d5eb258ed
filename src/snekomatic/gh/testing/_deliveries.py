"""The app's webhook delivery log: emitting a webhook, and redelivering one as GitHub does.

GitHub never retries a failed delivery by itself; it logs every attempt (``GET /app/hook/deliveries``)
and resends on request (``POST /app/hook/deliveries/{id}/attempts``) with the same ``X-GitHub-Delivery``
guid. https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from snekomatic.gh.testing._model import (
    DeliveryExchange,
    FakeDelivery,
    FakeInstallation,
    FakeRepo,
)
from snekomatic.gh.webhook_sender import DELIVERY_TIMEOUT_SECONDS, send_webhook

if TYPE_CHECKING:
    from snekomatic.gh.testing._state import FakeGitHubState

HOOK_ID = 1


async def emit(
    fake: FakeGitHubState,
    event: str,
    payload: dict[str, Any],
    *,
    installation: FakeInstallation | None,
    repo: FakeRepo | None,
) -> FakeDelivery:
    action = payload.get("action")
    delivery = FakeDelivery(
        id=next(fake._delivery_ids),
        guid=str(uuid.uuid4()),
        event=event,
        action=action if isinstance(action, str) else None,
        installation_id=installation.id if installation is not None else None,
        repository_id=repo.id if repo is not None else None,
        payload=payload,
        delivered_at=fake.now(),
    )
    fake.deliveries.append(delivery)
    if fake.webhook_url is not None:
        await send(fake, delivery, fake.webhook_url)
    return delivery


async def redeliver(fake: FakeGitHubState, original: FakeDelivery) -> FakeDelivery:
    """A new attempt of ``original``: same guid and payload, ``redelivery=True``, sent if a URL is set."""
    attempt = dataclasses.replace(
        original,
        id=next(fake._delivery_ids),
        delivered_at=fake.now(),
        status_code=0,
        status="pending",
        duration=0.0,
        redelivery=True,
    )
    fake.deliveries.append(attempt)
    if fake.webhook_url is not None:
        await send(fake, attempt, fake.webhook_url)
    return attempt


async def send(fake: FakeGitHubState, delivery: FakeDelivery, url: str) -> None:
    """Sign and POST ``delivery`` to ``url`` and write the outcome onto it. A checkpoint."""
    exchange = DeliveryExchange()
    fake.delivery_exchanges[delivery.id] = exchange
    started = anyio.current_time()
    response: httpx.Response | None = None
    # GitHub expects a 2XX response within DELIVERY_TIMEOUT_SECONDS; slower receivers are logged as
    # timed out.
    with anyio.move_on_after(DELIVERY_TIMEOUT_SECONDS) as scope:
        try:
            response = await send_webhook(
                url,
                delivery.event,
                delivery.payload,
                secret=fake.webhook_secret,
                delivery_id=delivery.guid,
                hook_id=HOOK_ID,
                installation_target_id=fake.app_id,
                http=fake.webhook_http,
            )
        except httpx.TimeoutException:
            delivery.status_code, delivery.status = 0, "timed out"
        except httpx.TransportError:
            delivery.status_code, delivery.status = 0, "failed to connect to host"
    delivery.duration = round(anyio.current_time() - started, 3)
    if scope.cancelled_caught:
        delivery.status_code, delivery.status = 0, "timed out"
    if response is None:
        return
    exchange.request_headers = dict(response.request.headers)
    exchange.request_headers.pop("authorization", None)
    exchange.response_headers = dict(response.headers)
    exchange.response_body = response.text
    delivery.status_code = response.status_code
    delivery.status = (
        "OK" if response.is_success else f"Invalid HTTP Response: {response.status_code}"
    )
