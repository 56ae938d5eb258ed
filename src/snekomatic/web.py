"""The HTTP face of the bot: an ASGI app (Starlette) served by Hypercorn's Trio worker.

It stays thin: read the raw body under the size cap, let :mod:`snekomatic.gh.sansio` verify and parse it,
hand the delivery to the inbox, and answer 202 only once the inbox says it is committed. Every webhook
error already carries the status to answer with (``status_hint``), so nothing is decided twice here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from snekomatic.gh.errors import PayloadTooLarge, WebhookError
from snekomatic.gh.sansio import WEBHOOK_MAX_BODY_BYTES, Event, parse_webhook
from snekomatic.inbox import InboxUnavailable

__all__ = ["AcceptDelivery", "create_app", "read_body_capped", "serve_http"]

# Stores a verified delivery; True if it was new, False for a duplicate. Raises InboxUnavailable.
AcceptDelivery = Callable[[Event, Mapping[str, str], bytes], Awaitable[bool]]

WELCOME = (
    "snekomatic is running: a GitHub App bot that welcomes contributors.\n"
    "Webhooks go to POST /webhook/github; health is at GET /healthz.\n"
)


async def read_body_capped(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes while reading (never buffering more).

    Raises :class:`PayloadTooLarge` as soon as the declared length or the bytes received exceed it.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    *,
    secrets: Sequence[bytes],
    accept: AcceptDelivery,
    database_ok: Callable[[], Awaitable[bool]],
    max_body: int = WEBHOOK_MAX_BODY_BYTES,
) -> Starlette:
    """The bot's ASGI app.

    - ``secrets``: the webhook secrets accepted (several during a rotation).
    - ``accept``: stores a verified delivery durably (see :data:`AcceptDelivery`).
    - ``database_ok``: answers whether the database is reachable, for ``/healthz``.
    """

    async def home(request: Request) -> Response:
        return PlainTextResponse(WELCOME)

    async def healthz(request: Request) -> Response:
        if await database_ok():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("database unavailable\n", status_code=503)

    async def webhook(request: Request) -> Response:
        try:
            body = await read_body_capped(request, max_body)
            event = parse_webhook(request.headers, body, secrets)
        except WebhookError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=exc.status_hint)
        try:
            is_new = await accept(event, request.headers, body)
        except InboxUnavailable:
            # GitHub records the failure; the redelivery sweep asks for it again later.
            return PlainTextResponse("the delivery could not be stored; retry later\n", 503)
        return JSONResponse(
            {"delivery_id": event.delivery_id, "accepted": True, "duplicate": not is_new},
            status_code=202,
        )

    return Starlette(
        routes=[
            Route("/", home, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/webhook/github", webhook, methods=["POST"]),
        ]
    )


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
