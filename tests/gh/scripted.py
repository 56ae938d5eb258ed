"""Scripted answers for the client's tests, through ``httpx.MockTransport`` (no sockets, no server).

Not the fake GitHub (that is ``snekomatic.gh.testing``): a :class:`Script` answers each (method, path)
from a queue of replies, to script faults precisely ("502 twice, then 200", "403 secondary limit with
retry-after: 7"), and records exactly what the client sent and when (on the event loop's clock, so
autojump tests can assert on virtual time). ``httpx.MockTransport(script)`` sends through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
import httpx

USER_AGENT = "snekomatic-tests/1.0"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    delay: float = 0.0  # seconds the answer takes (virtual under autojump): overlaps are observable

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        if self.json_body is None:
            return b""
        return json.dumps(self.json_body).encode()

    def response(self) -> httpx.Response:
        headers = (
            {} if self.raw_body is not None else {"content-type": "application/json; charset=utf-8"}
        )
        headers.update(self.headers)
        return httpx.Response(self.status, headers=headers, content=self.body())


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    started_at: float


class Script:
    """An ``httpx.MockTransport`` handler: ``script(method, path, *replies)`` queues replies for
    requests to ``path`` (whatever the host); the last one repeats forever; anything unscripted is 404."""

    def __init__(self, clock: Callable[[], float] = anyio.current_time) -> None:
        self._clock = clock
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._scripts: dict[tuple[str, str], list[Reply]] = {}

    def script(self, method: str, path: str, *replies: Reply) -> None:
        self._scripts[(method, path)] = list(replies)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.url.path
        self.requests.append(
            Recorded(request.method, path, request.url.query.decode(), headers, body, self._clock())
        )
        queue = self._scripts.get((request.method, path))
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
        return reply.response()


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
