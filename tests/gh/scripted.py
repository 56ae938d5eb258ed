"""A tiny scripted ASGI server for the client's tests: each route answers from a queue of replies.

Not the fake GitHub (that is ``snekomatic.gh.testing``): this one exists to script faults precisely,
e.g. "502 twice, then 200" or "403 secondary limit with retry-after: 7", and to record exactly what the
client sent and when (on Trio's clock, so autojump tests can assert on virtual time).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import trio

USER_AGENT = "snekomatic-tests/1.0"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    delay: float = 0.0  # virtual seconds the handler takes, to make overlapping requests observable

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        if self.json_body is None:
            return b""
        return json.dumps(self.json_body).encode()


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    started_at: float


class ScriptedGitHub:
    """An ASGI app. ``script(method, path, *replies)`` queues replies; the last one repeats forever."""

    def __init__(self, clock: Callable[[], float] = trio.current_time) -> None:
        self._clock = clock
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._scripts: dict[tuple[str, str], list[Reply]] = {}

    def script(self, method: str, path: str, *replies: Reply) -> None:
        self._scripts[(method, path)] = list(replies)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(
            Recorded(
                scope["method"],
                scope["path"],
                scope["query_string"].decode(),
                headers,
                body,
                self._clock(),
            )
        )
        queue = self._scripts.get((scope["method"], scope["path"]))
        if not queue:
            reply = Reply(404, {"message": "Not Found"})
        elif len(queue) > 1:
            reply = queue.pop(0)
        else:
            reply = queue[0]
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if reply.delay:
                await anyio.sleep(reply.delay)
        finally:
            self._in_flight -= 1
        content = reply.body()
        response_headers = {"content-type": "application/json; charset=utf-8"}
        if reply.raw_body is not None:
            response_headers = {}
        response_headers.update(reply.headers)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in response_headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})


class FlakyTransport(httpx.AsyncBaseTransport):
    """Fails the first ``failures`` requests with a connection error, then passes the rest on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


class TokenAuth:
    """An Authenticator handing out ``token <tokens[i]>``; a 401 moves it on to the next token."""

    def __init__(self, *tokens: str, renew: bool = True) -> None:
        self.tokens = list(tokens)
        self.renew = renew
        self.reauthorizations = 0

    async def authorization(self) -> str:
        await anyio.lowlevel.checkpoint()
        return f"token {self.tokens[0]}"

    async def reauthorize(self, error: Exception) -> bool:
        await anyio.lowlevel.checkpoint()
        self.reauthorizations += 1
        if self.renew and len(self.tokens) > 1:
            self.tokens.pop(0)
            return True
        return False


def rate_limit_headers(*, remaining: int, reset: float, limit: int = 5000) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(limit - remaining),
        "x-ratelimit-reset": str(int(reset)),
        "x-ratelimit-resource": "core",
    }
