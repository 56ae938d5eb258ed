"""The HTTP face of the bot: an ASGI app (Starlette) served by Hypercorn's Trio worker.

It stays thin: read the raw body under the size cap, let :mod:`snekomatic.gh.sansio` verify and parse it,
hand the delivery to the inbox, and answer 202 only once the inbox says it is committed. Every webhook
error already carries the status to answer with (``status_hint``), so nothing is decided twice here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from snekomatic.gh.errors import PayloadTooLarge, WebhookError
from snekomatic.gh.sansio import WEBHOOK_MAX_BODY_BYTES, Envelope, parse_webhook_envelope
from snekomatic.inbox import InboxUnavailable

__all__ = ["AcceptDelivery", "create_app", "read_body_capped", "serve_http"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Stores a verified delivery; True if it was new, False for a duplicate. Raises InboxUnavailable.
AcceptDelivery = Callable[[Envelope, Mapping[str, str], bytes], Awaitable[bool]]

#: Prometheus' text exposition format, version 0.0.4 (what prometheus-client renders).
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

WELCOME = (
    "snekomatic is running: a GitHub App bot that welcomes contributors.\n"
    "Webhooks go to POST /webhook/github; health is at GET /healthz.\n"
)


def create_app(
    *,
    secrets: Sequence[bytes],
    accept: AcceptDelivery,
    database_ok: Callable[[], Awaitable[bool]],
    max_body: int = WEBHOOK_MAX_BODY_BYTES,
    metrics: Callable[[], Awaitable[bytes]] | None = None,
) -> Starlette:
    """The bot's ASGI app.

    - ``secrets``: the webhook secrets accepted (several during a rotation).
    - ``accept``: stores a verified delivery durably (see :data:`AcceptDelivery`).
    - ``database_ok``: answers whether the database is reachable, for ``/healthz``.
    - ``metrics``: renders ``GET /metrics`` (Prometheus' text format); None: no such route.
    """

    async def home(request: Request) -> Response:
        return PlainTextResponse(WELCOME)

    async def healthz(request: Request) -> Response:
        if await database_ok():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("database unavailable\n", status_code=503)

    routes = [
        Route("/", home, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route(
            "/webhook/github",
            _WebhookEndpoint(secrets=secrets, accept=accept, max_body=max_body),
            methods=["POST"],
        ),
    ]
    if metrics is not None:
        render = metrics

        async def metrics_page(request: Request) -> Response:
            return Response(await render(), media_type=METRICS_CONTENT_TYPE)

        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    return Starlette(routes=routes)


_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_JSON = (b"content-type", b"application/json")


class _WebhookEndpoint:
    """``POST /webhook/github`` as a plain ASGI app: the hot path, so no Request or Response objects.

    Answers exactly what Starlette's PlainTextResponse and JSONResponse would (same status, body and
    headers): 202 with ``{"delivery_id", "accepted", "duplicate"}`` once the inbox has committed the
    delivery, the webhook error's ``status_hint`` with its message, or 503 if the inbox failed.
    """

    def __init__(self, *, secrets: Sequence[bytes], accept: AcceptDelivery, max_body: int) -> None:
        self._secrets = secrets
        self._accept = accept
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ASGI header names are lower-case; as with Starlette's Headers.items(), a repeated name's
        # last value wins.
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        try:
            body = await read_body_capped(receive, headers.get("content-length"), self._max_body)
            # Only the envelope: the payload is decoded by the worker that processes the delivery.
            event = parse_webhook_envelope(headers, body, self._secrets)
        except WebhookError as exc:
            await _answer(send, exc.status_hint, _TEXT, f"{exc}\n".encode())
            return
        try:
            is_new = await self._accept(event, headers, body)
        except InboxUnavailable:
            # GitHub records the failure; the redelivery sweep asks for it again later.
            await _answer(send, 503, _TEXT, b"the delivery could not be stored; retry later\n")
            return
        answer = b'{"delivery_id":%s,"accepted":true,"duplicate":%s}' % (
            json.dumps(event.delivery_id, ensure_ascii=False).encode("utf-8"),
            b"false" if is_new else b"true",
        )
        await _answer(send, 202, _JSON, answer)


async def read_body_capped(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body from the ASGI ``receive``, refusing more than ``limit`` bytes while reading.

    ``declared`` is the Content-Length header, if any. Raises :class:`PayloadTooLarge` as soon as the
    declared length or the bytes received exceed ``limit`` (nothing more is buffered), and Starlette's
    ``ClientDisconnect`` if the client goes away first.
    """
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, content_type: tuple[bytes, bytes], body: bytes) -> None:
    headers = [(b"content-length", b"%d" % len(body)), content_type]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve_http(
    app: Starlette,
    *,
    host: str,
    port: int,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    graceful_timeout: float = 5.0,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` with Hypercorn's Trio worker until ``shutdown_trigger`` returns or cancellation.

    Reports the bound URLs (``["http://127.0.0.1:PORT"]``, with the real port when ``port`` is 0)
    through ``task_status`` once listening. On shutdown it stops accepting connections and gives
    requests in progress ``graceful_timeout`` seconds.
    """
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.graceful_timeout = graceful_timeout
    config.keep_alive_timeout = 75  # longer than GitHub's and load balancers' idle timeouts
    await hypercorn_serve(app, config, shutdown_trigger=shutdown_trigger, task_status=task_status)  # type: ignore[arg-type]
