"""What a client without the webhook secret can make the webhook route hold: bytes, time, log lines.

The route is called as a plain ASGI app, with a scripted ``receive``, so each test controls exactly which
body chunks arrive and when (issue 9: "Reachable without the webhook secret").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from typing import Any

import pytest
import structlog
import trio
import trio.testing
from starlette.applications import Starlette

from snekomatic.gh.sansio import Envelope, signature_for
from snekomatic.runtime import HttpLimits, create_app
from snekomatic.runtime._web import BodyBudgetExhausted, UnverifiedBodyBudget, read_body_capped

SECRET = b"webhook-secret"
MAX_BODY = 4096
BUDGET = 10_000
BODY = json.dumps({"action": "opened", "installation": {"id": 7}}).encode()
WRONG = "sha256=" + "0" * 64

Message = MutableMapping[str, Any]


class Inbox:
    def __init__(self) -> None:
        self.accepted: list[Envelope] = []

    async def accept(self, event: Envelope, headers: Mapping[str, str], body: bytes) -> bool:
        self.accepted.append(event)
        return True

    async def database_ok(self) -> bool:
        return True


def make_app(inbox: Inbox, *, budget: int = BUDGET, body_timeout: float = 10.0) -> Starlette:
    return create_app(
        secrets=[SECRET],
        accept=inbox.accept,
        database_ok=inbox.database_ok,
        max_body=MAX_BODY,
        limits=HttpLimits(unverified_body_bytes=budget, body_timeout=body_timeout),
    )


def scope_for(signature: str | None, *, length: int | None = None) -> dict[str, Any]:
    headers = [
        (b"content-type", b"application/json"),
        (b"x-github-event", b"issues"),
        (b"x-github-delivery", b"d-1"),
    ]
    if signature is not None:
        headers.append((b"x-hub-signature-256", signature.encode()))
    if length is not None:
        headers.append((b"content-length", b"%d" % length))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhook/github",
        "raw_path": b"/webhook/github",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }


class Exchange:
    """One request to the ASGI app: body chunks pushed by the test, the answer recorded."""

    def __init__(self) -> None:
        self._to_app, self._from_test = trio.open_memory_channel[Message](100)
        self.receives = 0
        self.sent: list[Message] = []
        self.answered = trio.Event()

    async def receive(self) -> Message:
        self.receives += 1
        return await self._from_test.receive()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body":
            self.answered.set()

    def push(self, chunk: bytes, *, more: bool = True) -> None:
        self._to_app.send_nowait({"type": "http.request", "body": chunk, "more_body": more})

    def disconnect(self) -> None:
        self._to_app.send_nowait({"type": "http.disconnect"})

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])


async def run_app(app: Starlette, scope: dict[str, Any], exchange: Exchange) -> None:
    await app(scope, exchange.receive, exchange.send)


def start(nursery: trio.Nursery, app: Starlette, scope: dict[str, Any]) -> Exchange:
    exchange = Exchange()
    nursery.start_soon(run_app, app, scope, exchange)
    return exchange


# -- the budget on its own ---------------------------------------------------------------------------


def test_a_claim_grows_until_the_budget_is_spent_and_gives_everything_back_at_the_end() -> None:
    budget = UnverifiedBodyBudget(100)
    with budget.claim() as first:
        first.grow(60)
        with budget.claim() as second:
            second.grow(40)
            with pytest.raises(BodyBudgetExhausted):
                second.grow(1)
            assert (budget.in_use, second.size) == (100, 40)  # the refused byte is not claimed
        assert budget.in_use == 60
    assert budget.in_use == 0


def test_a_budget_smaller_than_one_body_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        make_app(Inbox(), budget=MAX_BODY - 1)


def test_read_body_capped_shows_each_chunk_before_keeping_it() -> None:
    seen: list[bytes] = []
    messages = iter(
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": False},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    body = trio.run(lambda: read_body_capped(receive, None, 100, on_chunk=seen.append))
    assert (body, seen) == (b"abcd", [b"ab", b"cd"])


# -- the webhook route -------------------------------------------------------------------------------


async def test_a_malformed_signature_header_is_refused_before_any_body_is_read() -> None:
    app = make_app(Inbox())
    async with trio.open_nursery() as nursery:
        exchange = start(nursery, app, scope_for("sha256=not-hex", length=MAX_BODY))
        await exchange.answered.wait()
    assert exchange.status == 401
    assert exchange.receives == 0


async def test_a_missing_signature_header_is_refused_before_any_body_is_read() -> None:
    app = make_app(Inbox())
    async with trio.open_nursery() as nursery:
        exchange = start(nursery, app, scope_for(None, length=MAX_BODY))
        await exchange.answered.wait()
    assert exchange.status == 401
    assert exchange.receives == 0


async def test_a_declared_oversize_is_still_413_before_the_signature_is_looked_at() -> None:
    app = make_app(Inbox())
    async with trio.open_nursery() as nursery:
        exchange = start(nursery, app, scope_for(None, length=MAX_BODY + 1))
        await exchange.answered.wait()
    assert exchange.status == 413


async def test_unverified_bodies_beyond_the_budget_are_refused_with_503_and_the_connection_closed() -> (
    None
):
    app = make_app(Inbox(), budget=2 * MAX_BODY)
    async with trio.open_nursery() as nursery:
        # Two clients without the secret each hold a full-size body, all but its last byte.
        holders = [start(nursery, app, scope_for(WRONG)) for _ in range(2)]
        for holder in holders:
            holder.push(b"x" * (MAX_BODY - 1))
        await trio.testing.wait_all_tasks_blocked()
        third = start(nursery, app, scope_for(WRONG))
        third.push(b"x" * 10)
        await third.answered.wait()
        assert third.status == 503
        assert third.headers[b"connection"] == b"close"
        assert int(third.headers[b"retry-after"]) > 0
        assert not any(holder.answered.is_set() for holder in holders)
        nursery.cancel_scope.cancel()


async def test_the_budget_is_given_back_once_a_body_is_verified_or_refused() -> None:
    inbox = Inbox()
    app = make_app(inbox, budget=MAX_BODY)
    async with trio.open_nursery() as nursery:
        forged = start(nursery, app, scope_for(WRONG))
        forged.push(b"x" * MAX_BODY, more=False)
        await forged.answered.wait()
        genuine = start(nursery, app, scope_for(signature_for(BODY, SECRET)))
        genuine.push(BODY, more=False)
        await genuine.answered.wait()
    assert (forged.status, genuine.status) == (401, 202)
    # The budget holds one full-size body only: the genuine one fitted because the forged one
    # had given its bytes back.
    assert [event.delivery_id for event in inbox.accepted] == ["d-1"]


async def test_a_body_that_never_completes_is_cut_off_with_408_at_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = make_app(Inbox(), body_timeout=10.0)
    async with trio.open_nursery() as nursery:
        # Content-Length says more than will ever come.
        exchange = start(nursery, app, scope_for(signature_for(BODY, SECRET), length=len(BODY)))
        exchange.push(BODY[:5])
        started = trio.current_time()
        await exchange.answered.wait()
    assert exchange.status == 408
    assert exchange.headers[b"connection"] == b"close"
    assert trio.current_time() - started == pytest.approx(10.0)


async def test_a_slow_drip_body_is_cut_off_at_the_deadline_however_steady(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = make_app(Inbox(), body_timeout=10.0)

    async def drip(exchange: Exchange) -> None:
        while not exchange.answered.is_set():
            exchange.push(b" ")
            await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        exchange = start(nursery, app, scope_for(signature_for(BODY, SECRET)))
        nursery.start_soon(drip, exchange)
        started = trio.current_time()
        await exchange.answered.wait()
    assert exchange.status == 408
    assert trio.current_time() - started <= 11.0


async def test_a_client_that_goes_away_mid_body_costs_one_debug_line_and_no_answer() -> None:
    app = make_app(Inbox())
    with structlog.testing.capture_logs() as lines:
        exchange = Exchange()
        exchange.push(b"abc")
        exchange.disconnect()
        await run_app(app, scope_for(WRONG, length=1000), exchange)
    assert exchange.sent == []
    assert [line["log_level"] for line in lines] == ["debug"]
    assert len(json.dumps(lines[0])) < 200
