"""Sign and deliver webhooks the way GitHub does: to replay a recorded delivery to a running receiver,
or to test one without GitHub.

``build_webhook_request`` is pure (payload in, headers and body bytes out; the signature is
:func:`snekomatic.gh.sansio.signature_for`); ``send_webhook`` POSTs what it builds through the client
layer's HTTP client. Headers follow GitHub's "Delivery headers" reference:
https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
Only ``X-Hub-Signature-256`` is sent: the legacy sha1 ``X-Hub-Signature`` is not, since snekomatic
rejects it anyway.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote_plus

from snekomatic.gh.client import HTTPClient, HTTPResponse, new_http_client
from snekomatic.gh.sansio import signature_for

__all__ = [
    "DELIVERY_TIMEOUT_SECONDS",
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "WEBHOOK_USER_AGENT",
    "build_webhook_request",
    "send_webhook",
]

JSON_CONTENT_TYPE: Final = "application/json"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
WEBHOOK_USER_AGENT: Final = "GitHub-Hookshot/fake"  # GitHub sends "GitHub-Hookshot/<short hash>"

# GitHub gives a receiver 10 seconds to answer before it records the delivery as failed.
# https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks
DELIVERY_TIMEOUT_SECONDS: Final = 10.0


def build_webhook_request(
    event: str,
    payload: Mapping[str, Any],
    *,
    secret: str,
    delivery_id: str,
    hook_id: int = 1,
    installation_target_id: int | None = None,
    installation_target_type: str = "integration",
    content_type: str = JSON_CONTENT_TYPE,
) -> tuple[dict[str, str], bytes]:
    """The headers and exact body bytes of one signed delivery of ``payload`` as ``event``.

    The payload is serialised once, as compact UTF-8 JSON; with ``content_type``
    ``application/x-www-form-urlencoded`` the body is ``payload=<that JSON, form-quoted>``. The
    ``X-Hub-Signature-256`` header is the HMAC-SHA256 of those exact bytes with ``secret``, so changing
    a single byte of the body afterwards breaks the signature (handy for tests of a receiver).
    ``X-GitHub-Hook-Installation-Target-ID``/``-Type`` are sent only when ``installation_target_id``
    is given (for a GitHub App, the app id and ``"integration"``).

    Raises ``ValueError`` for any other ``content_type``, and ``TypeError`` (from ``json``) for a
    payload that is not JSON-serialisable (``UnicodeEncodeError`` for text with lone surrogates). Pure; the secret appears only inside the signature.
    """
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if content_type == JSON_CONTENT_TYPE:
        body = data
    elif content_type == FORM_CONTENT_TYPE:
        body = b"payload=" + quote_plus(data).encode("ascii")
    else:
        raise ValueError(
            f"content_type must be {JSON_CONTENT_TYPE!r} or {FORM_CONTENT_TYPE!r}, "
            f"not {content_type!r}"
        )
    headers = {
        "User-Agent": WEBHOOK_USER_AGENT,
        "Content-Type": content_type,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-Hub-Signature-256": signature_for(body, secret.encode("utf-8")),
    }
    if installation_target_id is not None:
        headers["X-GitHub-Hook-Installation-Target-ID"] = str(installation_target_id)
        headers["X-GitHub-Hook-Installation-Target-Type"] = installation_target_type
    return headers, body


async def send_webhook(
    url: str,
    event: str,
    payload: Mapping[str, Any],
    *,
    secret: str,
    delivery_id: str | None = None,
    hook_id: int = 1,
    installation_target_id: int | None = None,
    installation_target_type: str = "integration",
    http: HTTPClient | None = None,
    content_type: str = JSON_CONTENT_TYPE,
) -> HTTPResponse:
    """POST one signed delivery of ``payload`` as ``event`` to ``url``, and return the response.

    The request is exactly what :func:`build_webhook_request` builds; ``delivery_id`` defaults to a
    fresh uuid4 (pass the old one to imitate a redelivery); read it back from
    ``response.request.headers["X-GitHub-Delivery"]``. Any status is returned, not raised: judging the
    answer is the caller's business.

    Uses ``http`` (an ``httpx.AsyncClient``) when given: its base URL, transport and timeouts apply.
    Otherwise a short-lived client like :func:`~snekomatic.gh.client.new_http_client`'s (no proxy
    from the environment, no redirects followed) that, like GitHub, gives up after 10 seconds.

    Raises ``ValueError`` for an unsupported ``content_type``, and ``httpx.TransportError`` (e.g.
    ``ConnectError``, ``ReadTimeout``) when no answer arrives. A checkpoint; cancelling it abandons
    the request, and the receiver may or may not have seen it. The secret never leaves this process
    except as the signature.
    """
    headers, body = build_webhook_request(
        event,
        payload,
        secret=secret,
        delivery_id=delivery_id or str(uuid.uuid4()),
        hook_id=hook_id,
        installation_target_id=installation_target_id,
        installation_target_type=installation_target_type,
        content_type=content_type,
    )
    if http is not None:
        return await http.post(url, content=body, headers=headers)
    async with new_http_client(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
        return await client.post(url, content=body, headers=headers)
