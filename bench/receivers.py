"""The webhook receivers that the benchmark compares snekomatic against, each run as its own process.

``python -m bench.receivers KIND --port P`` serves on 127.0.0.1:P until killed. KIND is one of:

- ``raw``: an asyncio protocol that frames requests by Content-Length and answers every one with a
  canned 202. No HTTP library at all: the fastest Python can answer, used to show the load generator's
  ceiling (what wrk can push through loopback on this machine).
- ``hypercorn``: a bare ASGI app on Hypercorn's trio worker that answers 202 without reading the body:
  what the HTTP server alone costs.
- ``bare``: Starlette on Hypercorn's trio worker that reads the body, checks ``X-Hub-Signature-256``
  with ``snekomatic.gh.sansio.signature_for`` and ``hmac.compare_digest``, and answers 202 (401 on a bad
  signature). Receiver (a): the Python floor a real webhook receiver cannot go below.
- ``fake-github``: ``snekomatic.gh.testing.FakeGitHub`` served by ``serve_fake_github`` under trio, for the
  client-overhead measurement (exits with status 3 while gh.testing does not provide them yet).

The webhook secret comes from ``GITHUB_WEBHOOK_SECRET``. Hypercorn runs one worker, access log off.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CANNED_202 = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nserver: bench-raw\r\n\r\n"


class _Raw202(asyncio.Protocol):
    """Answer each HTTP/1.1 request (framed by Content-Length, keep-alive) with a canned 202."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            length = 0
            for line in bytes(self.buffer[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                    break
            total = end + 4 + length
            if len(self.buffer) < total:
                break
            del self.buffer[:total]
            answers += 1
        if answers and self.transport is not None:
            self.transport.write(CANNED_202 * answers)


async def _serve_raw(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Raw202, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


async def _hypercorn_202(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app: 202 to every HTTP request, body left unread."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def bare_receiver(secret: bytes) -> Any:
    """Receiver (a): a Starlette app whose webhook route only verifies the signature, then answers 202."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from snekomatic.gh.sansio import signature_for

    async def webhook(request: Request) -> Response:
        body = await request.body()
        header = request.headers.get("x-hub-signature-256", "").encode("latin-1")
        expected = signature_for(body, secret).encode("ascii")
        if not hmac.compare_digest(expected, header):
            return Response(status_code=401)
        return Response(status_code=202)

    async def healthz(request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            Route("/webhook/github", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def _serve_hypercorn(app: Any, port: int) -> None:
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.workers = 1
    config.backlog = 1024
    trio.run(partial(serve, app, config, mode="asgi"))


def _serve_fake_github(port: int) -> None:
    import trio

    try:
        from snekomatic.gh.testing import (
            FakeGitHub,
            generate_private_key,
            serve_fake_github,
        )
    except ImportError as exc:
        print(f"snekomatic.gh.testing has no fake server yet: {exc}", flush=True)
        raise SystemExit(3) from None
    fake = FakeGitHub(private_key=generate_private_key())
    trio.run(partial(serve_fake_github, fake, host="127.0.0.1", port=port))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.receivers", description=__doc__)
    parser.add_argument("kind", choices=["raw", "hypercorn", "bare", "fake-github"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.kind == "raw":
        asyncio.run(_serve_raw(args.port))
    elif args.kind == "fake-github":
        _serve_fake_github(args.port)
    elif args.kind == "hypercorn":
        _serve_hypercorn(_hypercorn_202, args.port)
    else:
        secret = os.environ.get("GITHUB_WEBHOOK_SECRET", "")
        if not secret:
            raise SystemExit("GITHUB_WEBHOOK_SECRET is not set")
        _serve_hypercorn(bare_receiver(secret.encode("utf-8")), args.port)


if __name__ == "__main__":
    main()
