"""The HTTP face of the bot: an ASGI app (Starlette) served over HTTP/1.1 by our own server (``_web_server``).

It stays thin: read the raw body under the size cap, let :mod:`snekomatic.gh.sansio` verify and parse it,
hand the delivery to the inbox, and answer 202 only once the inbox says it is committed. Every webhook
error already carries the status to answer with (``status_hint``), so nothing is decided twice here.

Anyone can reach the webhook route, secret or not, so what a client may hold is bounded
(:class:`HttpLimits`): the signature header is checked before any body is read, the HMAC is computed as
the body streams in, the bytes of bodies not yet verified share one budget for the whole process
(:class:`UnverifiedBodyBudget`; beyond it, 503), a body must arrive within GitHub's own 10 s, and the
number of connections stays below the process's file limit.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, final

import structlog
import trio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from snekomatic.gh.errors import PayloadTooLarge, WebhookError
from snekomatic.gh.sansio import (
    WEBHOOK_MAX_BODY_BYTES,
    Envelope,
    SignatureVerifier,
    decode_webhook_envelope,
)
from snekomatic.inbox import InboxUnavailable
from snekomatic.runtime._web_server import bind_http, connection_cap, serve_http11

__all__ = [
    "DEFAULT_HTTP_LIMITS",
    "AcceptDelivery",
    "BodyBudgetExhausted",
    "BudgetClaim",
    "HttpLimits",
    "UnverifiedBodyBudget",
    "create_app",
    "read_body_capped",
    "serve_http",
    "serve_http_socket",
]

log = structlog.get_logger("snekomatic.web")

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

# "Your server should respond with a 2XX response within 10 seconds of receiving a webhook delivery.
# If your server takes longer than that to respond, then GitHub terminates the connection and
# considers the delivery a failure." A body still arriving after that is of use to no one.
# https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds
GITHUB_DELIVERY_TIMEOUT_SECONDS = 10.0

MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class HttpLimits:
    """What clients, with or without the webhook secret, may hold in one ``serve`` process.

    - ``unverified_body_bytes``: the bytes of webhook bodies held in memory before their signature is
      decided, all requests together (:class:`UnverifiedBodyBudget`). A request whose next chunk does
      not fit is answered 503 with ``Retry-After`` and its connection closed. It must hold at least
      one body of the largest size accepted (25 MB).
    - ``body_timeout``: seconds from a webhook request's headers to its body's last byte (408 and
      the connection closed after that): GitHub's own 10 s.
    - ``keep_alive_timeout``: seconds a connection may stay without a request in progress; it also
      bounds how long a new connection may take to send its first request's headers. Longer than
      GitHub's and load balancers' idle timeouts, so that they close first.
    - ``max_connections``: connections open at once, lowered to fit the process's file limit minus
      ``reserved_files`` (see :func:`connection_cap`). At the cap, a new
      connection replaces the one idle the longest.
    """

    unverified_body_bytes: int = 64 * MiB
    body_timeout: float = GITHUB_DELIVERY_TIMEOUT_SECONDS
    keep_alive_timeout: float = 75.0
    max_connections: int = 1000
    reserved_files: int = 128


DEFAULT_HTTP_LIMITS = HttpLimits()


class BodyBudgetExhausted(Exception):
    """The unverified-body budget cannot take another chunk: the request is refused with 503."""


@final
class UnverifiedBodyBudget:
    """The bytes of webhook bodies held before their signature is decided, counted for the whole process.

    Anyone can send a body under a wrong signature, and an HMAC is decided only at the body's last
    byte, so every body in flight is held until then: this budget is what bounds them. A request
    takes a :meth:`claim`, grows it chunk by chunk as the body arrives, and gives it all back when the
    body is verified or refused (the claim's block ends).

    The trade-off: while clients without the secret hold the budget, a genuine delivery whose chunk
    does not fit is refused too (503). Memory stays bounded instead of the process being killed; GitHub
    records the failed delivery and the redelivery sweep asks for it again later, so nothing is lost.
    Attackers must keep sending to keep the budget: each of their bodies is cut off by the body
    deadline. One request can hold at most the 25 MB body cap, so it never takes the whole default
    budget alone. Used from one Trio thread: no locks.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Bytes claimed now."""
        return self._in_use

    @contextmanager
    def claim(self) -> Iterator[BudgetClaim]:
        """A claim of nothing yet, that :meth:`BudgetClaim.grow` extends; all of it released at the end."""
        claim = BudgetClaim(self)
        try:
            yield claim
        finally:
            self._in_use -= claim.size

    def _take(self, size: int) -> None:
        if self._in_use + size > self.limit:
            raise BodyBudgetExhausted(f"unverified bodies would exceed {self.limit} bytes")
        self._in_use += size


@final
class BudgetClaim:
    """One request's share of an :class:`UnverifiedBodyBudget`."""

    def __init__(self, budget: UnverifiedBodyBudget) -> None:
        self._budget = budget
        self.size = 0

    def grow(self, size: int) -> None:
        """Claim ``size`` more bytes; raises :class:`BodyBudgetExhausted` (claiming nothing) if they do not fit."""
        self._budget._take(size)
        self.size += size


def create_app(
    *,
    secrets: Sequence[bytes],
    accept: AcceptDelivery,
    database_ok: Callable[[], Awaitable[bool]],
    max_body: int = WEBHOOK_MAX_BODY_BYTES,
    limits: HttpLimits = DEFAULT_HTTP_LIMITS,
    metrics: Callable[[], Awaitable[bytes]] | None = None,
) -> Starlette:
    """The bot's ASGI app.

    - ``secrets``: the webhook secrets accepted (several during a rotation).
    - ``accept``: stores a verified delivery durably (see :data:`AcceptDelivery`).
    - ``database_ok``: answers whether the database is reachable, for ``/healthz``.
    - ``metrics``: renders ``GET /metrics`` (Prometheus' text format); None: no such route.
    - ``limits``: the webhook route's body budget and deadline (:class:`HttpLimits`); the app has a
      budget of its own, shared by all its requests.

    Raises ``ValueError`` if the budget cannot hold one body of ``max_body`` bytes.
    """
    if limits.unverified_body_bytes < max_body:
        raise ValueError("the unverified-body budget must hold at least one body of max_body bytes")

    async def home(request: Request) -> Response:
        return PlainTextResponse(WELCOME)

    async def healthz(request: Request) -> Response:
        if await database_ok():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("database unavailable\n", status_code=503)

    webhook = _WebhookEndpoint(
        secrets=secrets,
        accept=accept,
        max_body=max_body,
        budget=UnverifiedBodyBudget(limits.unverified_body_bytes),
        body_timeout=limits.body_timeout,
    )
    routes = [
        Route("/", home, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/webhook/github", webhook, methods=["POST"]),
    ]
    if metrics is not None:
        render = metrics

        async def metrics_page(request: Request) -> Response:
            return Response(await render(), media_type=METRICS_CONTENT_TYPE)

        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    return Starlette(routes=routes)


_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_JSON = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")
_BUDGET_WARNING_INTERVAL_SECONDS = 60.0


class _WebhookEndpoint:
    """``POST /webhook/github`` as a plain ASGI app: the hot path, so no Request or Response objects.

    Answers exactly what Starlette's PlainTextResponse and JSONResponse would (same status, body and
    headers): 202 with ``{"delivery_id", "accepted", "duplicate"}`` once the inbox has committed the
    delivery, the webhook error's ``status_hint`` with its message, or 503 if the inbox failed.
    Before the body is complete: 413 for a declared length over the cap, 401 for a missing or
    malformed signature header (nothing of the body is read), 503 with ``Retry-After`` when the
    unverified-body budget is spent, 408 when the body is not complete within the deadline; these
    close the connection. A client that goes away mid-body gets one DEBUG line, no answer.
    """

    def __init__(
        self,
        *,
        secrets: Sequence[bytes],
        accept: AcceptDelivery,
        max_body: int,
        budget: UnverifiedBodyBudget,
        body_timeout: float,
    ) -> None:
        self._secrets = secrets
        self._accept = accept
        self._max_body = max_body
        self._budget = budget
        self._body_timeout = body_timeout
        self._next_budget_warning = float("-inf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ASGI header names are lower-case; as with Starlette's Headers.items(), a repeated name's
        # last value wins.
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        try:
            body = await self._read_verified_body(receive, headers)
            # Only the envelope: the payload is decoded by the worker that processes the delivery.
            event = decode_webhook_envelope(headers, body)  # verified as it streamed in
        except WebhookError as exc:
            await _answer(send, exc.status_hint, _TEXT, f"{exc}\n".encode())
            return
        except BodyBudgetExhausted:
            self._warn_budget_spent()
            retry_after = (b"retry-after", b"%d" % max(1, round(self._body_timeout)))
            await _answer(
                send,
                503,
                _TEXT,
                b"too many deliveries in flight; retry later\n",
                _CLOSE,
                retry_after,
            )
            return
        except trio.TooSlowError:
            log.debug("webhook body not complete in time", seconds=self._body_timeout)
            await _answer(send, 408, _TEXT, b"the body did not arrive in time\n", _CLOSE)
            return
        except ClientDisconnect:
            log.debug("webhook client went away before the end of its body")
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

    async def _read_verified_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        """The body, whose signature matched; it was held under a claim on the budget until then.

        Raises ``PayloadTooLarge`` (checked first, as ``parse_webhook`` does), ``InvalidSignature``
        (for a bad header before any body is read), ``BodyBudgetExhausted``, ``trio.TooSlowError``
        or ``ClientDisconnect``.
        """
        declared = headers.get("content-length")
        _refuse_declared_oversize(declared, self._max_body)
        verifier = SignatureVerifier(headers.get("x-hub-signature-256"), self._secrets)
        with self._budget.claim() as claim:

            def take(chunk: bytes) -> None:
                claim.grow(len(chunk))
                verifier.update(chunk)

            with trio.fail_after(self._body_timeout):
                body = await read_body_capped(receive, declared, self._max_body, on_chunk=take)
            verifier.verify()
        return body

    def _warn_budget_spent(self) -> None:
        # At most one line a minute, however many requests are refused.
        now = trio.current_time()
        if now >= self._next_budget_warning:
            self._next_budget_warning = now + _BUDGET_WARNING_INTERVAL_SECONDS
            log.warning(
                "unverified webhook bodies fill their memory budget; refusing more with 503",
                budget_bytes=self._budget.limit,
            )


def _refuse_declared_oversize(declared: str | None, limit: int) -> None:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")


async def read_body_capped(
    receive: Receive,
    declared: str | None,
    limit: int,
    *,
    on_chunk: Callable[[bytes], None] | None = None,
) -> bytes:
    """The request body from the ASGI ``receive``, refusing more than ``limit`` bytes while reading.

    ``declared`` is the Content-Length header, if any. Raises :class:`PayloadTooLarge` as soon as the
    declared length or the bytes received exceed ``limit`` (nothing more is buffered), and Starlette's
    ``ClientDisconnect`` if the client goes away first. ``on_chunk`` sees every chunk, in order,
    before it is kept; whatever it raises stops the reading and propagates. A checkpoint; cancelled,
    it keeps nothing.
    """
    _refuse_declared_oversize(declared, limit)
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
        if on_chunk is not None:
            on_chunk(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send,
    status: int,
    content_type: tuple[bytes, bytes],
    body: bytes,
    *extra_headers: tuple[bytes, bytes],
) -> None:
    headers = [(b"content-length", b"%d" % len(body)), content_type, *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve_http(
    app: Starlette,
    *,
    host: str,
    port: int,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    graceful_timeout: float = 5.0,
    limits: HttpLimits = DEFAULT_HTTP_LIMITS,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """:func:`serve_http_socket` on a socket bound to ``host`` and ``port`` (0: a free port) here.

    Raises ``OSError`` if it cannot be bound (before reporting anything through ``task_status``).
    """
    listening_socket = await trio.to_thread.run_sync(bind_http, host, port)
    await serve_http_socket(
        app,
        listening_socket=listening_socket,
        shutdown_trigger=shutdown_trigger,
        graceful_timeout=graceful_timeout,
        limits=limits,
        task_status=task_status,
    )


async def serve_http_socket(
    app: Starlette,
    *,
    listening_socket: socket.socket,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    graceful_timeout: float = 5.0,
    limits: HttpLimits = DEFAULT_HTTP_LIMITS,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over HTTP/1.1 (:mod:`snekomatic.runtime._web_server`) on ``listening_socket``
    (:func:`~snekomatic.runtime._web_server.bind_http`; closed when this returns) until
    ``shutdown_trigger`` returns or cancellation.

    Reports the bound URLs (``["http://127.0.0.1:PORT"]``, with the real port when it was bound to
    0) through ``task_status`` once listening. On shutdown it stops accepting connections and gives
    requests in progress ``graceful_timeout`` seconds. ``limits`` gives the keep-alive timeout and
    the connection cap (lowered to fit the process's file limit when the server starts).
    """
    await serve_http11(
        app,
        listening_socket=listening_socket,
        keep_alive_timeout=limits.keep_alive_timeout,
        max_connections=connection_cap(limits.max_connections, limits.reserved_files),
        graceful_timeout=graceful_timeout,
        shutdown_trigger=shutdown_trigger,
        task_status=task_status,
    )
