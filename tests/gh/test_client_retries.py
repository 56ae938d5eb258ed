"""GitHubClient's resilience: retries, backoff, rate-limit waits, transport errors (autojump clock).

Every wait is virtual: the scripted server records each request's start on Trio's clock, and the tests
assert on the virtual time between them.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
import trio

from snekomatic.gh._pacing import Pacer
from snekomatic.gh._retry import RetryPolicy
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import (
    BadRequest,
    Forbidden,
    GitHubTransportError,
    HTTPError,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    ValidationFailed,
)
from snekomatic.gh.testing import FakeClock
from tests.gh.scripted import (
    USER_AGENT,
    FlakyTransport,
    Reply,
    Script,
    rate_limit_headers,
)

BASE = "https://api.github.test"
EPOCH = 1_700_000_000.0
SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}


# The wall clock, on the event loop's clock: virtual under autojump.
WALL_CLOCK = FakeClock(EPOCH)


def make_client(http: httpx.AsyncClient, **kwargs: Any) -> GitHubClient:
    return GitHubClient(http, base_url=BASE, user_agent=USER_AGENT, clock=WALL_CLOCK, **kwargs)


def gaps(server: Script) -> list[float]:
    starts = [r.started_at for r in server.requests]
    return [later - earlier for earlier, later in itertools.pairwise(starts)]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(Reply(400, {"message": "Problems parsing JSON"}), BadRequest, id="400"),
        pytest.param(Reply(404, {"message": "Not Found"}), NotFound, id="404"),
        pytest.param(Reply(410, {"message": "Issues are disabled"}), BadRequest, id="410"),
        pytest.param(Reply(422, {"message": "Validation Failed"}), ValidationFailed, id="422"),
        pytest.param(Reply(403, {"message": "Resource not accessible"}), Forbidden, id="403"),
    ],
)
async def test_client_errors_are_not_retried(
    server: Script,
    http: httpx.AsyncClient,
    autojump_clock: trio.testing.MockClock,
    reply: Reply,
    error: type[HTTPError],
) -> None:
    server.script("GET", "/x", reply, Reply(200, {}))
    with trio.fail_after(600), pytest.raises(error):
        await make_client(http).getitem("/x")
    assert len(server.requests) == 1


async def test_server_errors_are_retried_with_exponential_backoff(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("GET", "/x", Reply(502), Reply(502), Reply(200, {"ok": True}))
    with trio.fail_after(600):
        assert await make_client(http).getitem("/x") == {"ok": True}
    assert len(server.requests) == 3
    assert gaps(server) == pytest.approx([1.0, 2.0])


async def test_server_errors_forever_raise_after_the_last_retry(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("GET", "/x", Reply(503, {"message": "Service Unavailable"}))
    with trio.fail_after(600), pytest.raises(ServerError):
        await make_client(http).getitem("/x")
    assert len(server.requests) == 1 + 3


async def test_backoff_is_capped_by_backoff_max(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("GET", "/x", Reply(500))
    policy = RetryPolicy(max_retries=4, backoff_base=10.0, backoff_max=25.0)
    with trio.fail_after(600), pytest.raises(ServerError):
        await make_client(http, retry=policy).getitem("/x")
    assert gaps(server) == pytest.approx([10.0, 20.0, 25.0, 25.0])


async def test_no_retries_when_max_retries_is_zero(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("GET", "/x", Reply(500), Reply(200, {}))
    with trio.fail_after(600), pytest.raises(ServerError):
        await make_client(http, retry=RetryPolicy(max_retries=0)).getitem("/x")
    assert len(server.requests) == 1


async def test_a_secondary_limit_honours_retry_after(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("POST", "/x", Reply(403, SECONDARY, headers={"retry-after": "7"}), Reply(201, {}))
    with trio.fail_after(600):
        await make_client(http).post("/x", data={})
    assert gaps(server) == pytest.approx([7.0])


@pytest.mark.parametrize("status", [403, 429], ids=["403", "429"])
async def test_a_secondary_limit_without_retry_after_waits_at_least_a_minute(
    server: Script,
    http: httpx.AsyncClient,
    autojump_clock: trio.testing.MockClock,
    status: int,
) -> None:
    server.script("GET", "/x", Reply(status, SECONDARY), Reply(200, {}))
    with trio.fail_after(600):
        await make_client(http).getitem("/x")
    assert len(server.requests) == 2
    assert gaps(server)[0] >= 60.0


async def test_a_secondary_limit_longer_than_the_maximum_wait_raises(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("GET", "/x", Reply(429, SECONDARY, headers={"retry-after": "3600"}))
    with trio.fail_after(600), pytest.raises(SecondaryRateLimited) as caught:
        await make_client(http).getitem("/x")
    assert caught.value.retry_after == 3600.0
    assert len(server.requests) == 1


async def test_a_primary_limit_answer_waits_until_the_reset(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    limited = rate_limit_headers(remaining=0, reset=EPOCH + 30)
    server.script(
        "GET",
        "/x",
        Reply(403, {"message": "API rate limit exceeded"}, headers=limited),
        Reply(200, {"ok": True}, headers=rate_limit_headers(remaining=4999, reset=EPOCH + 3600)),
    )
    with trio.fail_after(600):
        assert await make_client(http).getitem("/x") == {"ok": True}
    assert gaps(server) == pytest.approx([30.0])


async def test_a_primary_limit_answer_resetting_too_late_raises(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    limited = rate_limit_headers(remaining=0, reset=EPOCH + 3600)
    server.script("GET", "/x", Reply(403, {"message": "API rate limit exceeded"}, headers=limited))
    with trio.fail_after(600), pytest.raises(RateLimited) as caught:
        await make_client(http).getitem("/x")
    assert caught.value.reset_at == EPOCH + 3600
    assert len(server.requests) == 1


async def test_an_exhausted_limit_delays_the_next_request_until_the_reset(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script(
        "GET",
        "/x",
        Reply(200, {}, headers=rate_limit_headers(remaining=0, reset=EPOCH + 30)),
        Reply(200, {}, headers=rate_limit_headers(remaining=4999, reset=EPOCH + 3600)),
    )
    client = make_client(http)
    with trio.fail_after(600):
        await client.getitem("/x")
        await client.getitem("/x")
    assert gaps(server) == pytest.approx([30.0])


async def test_an_exhausted_limit_resetting_too_late_raises_without_sending(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script(
        "GET", "/x", Reply(200, {}, headers=rate_limit_headers(remaining=0, reset=EPOCH + 3600))
    )
    client = make_client(http)
    with trio.fail_after(600):
        await client.getitem("/x")
        with pytest.raises(RateLimited) as caught:
            await client.getitem("/x")
    assert caught.value.reset_at == EPOCH + 3600
    assert len(server.requests) == 1


async def test_an_exhausted_limit_with_a_fractional_reset_waits_until_it(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    exhausted = {**rate_limit_headers(remaining=0, reset=0), "x-ratelimit-reset": f"{EPOCH + 30.5}"}
    server.script(
        "GET",
        "/x",
        Reply(200, {}, headers=exhausted),
        Reply(200, {}, headers=rate_limit_headers(remaining=4999, reset=EPOCH + 3600)),
    )
    client = make_client(http)
    with trio.fail_after(600):
        await client.getitem("/x")
        await client.getitem("/x")
    assert gaps(server) == pytest.approx([30.5])


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"x-ratelimit-remaining": "0"}, id="reset-missing"),
        pytest.param(
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}, id="reset-malformed"
        ),
        pytest.param(
            {"x-ratelimit-remaining": "?", "x-ratelimit-reset": "1"}, id="remaining-malformed"
        ),
    ],
)
async def test_a_limit_with_an_unknown_field_sends_the_next_request_at_once(
    server: Script,
    http: httpx.AsyncClient,
    autojump_clock: trio.testing.MockClock,
    headers: dict[str, str],
) -> None:
    server.script("GET", "/x", Reply(200, {}, headers=headers))
    client = make_client(http)
    with trio.fail_after(600):
        await client.getitem("/x")
        await client.getitem("/x")
    assert client.rate_limit is not None
    assert gaps(server) == [0.0]


async def test_an_exhausted_core_limit_does_not_hold_graphql(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script(
        "GET", "/x", Reply(200, {}, headers=rate_limit_headers(remaining=0, reset=EPOCH + 3600))
    )
    server.script("POST", "/graphql", Reply(200, {"data": {}}))
    client = make_client(http)
    with trio.fail_after(600):
        await client.getitem("/x")
        await client.graphql("query { viewer { login } }")
    assert server.paths() == ["/x", "/graphql"]
    assert gaps(server) == [0.0]


async def test_an_exhausted_limit_holds_every_client_sharing_the_pacer(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script(
        "GET", "/x", Reply(200, {}, headers=rate_limit_headers(remaining=0, reset=EPOCH + 30))
    )
    server.script("GET", "/y", Reply(200, {}))
    pacer = Pacer()
    with trio.fail_after(600):
        await make_client(http, pacer=pacer).getitem("/x")
        await make_client(http, pacer=pacer).getitem("/y")
    assert gaps(server) == pytest.approx([30.0])


async def test_a_secondary_limit_pauses_every_client_sharing_the_pacer(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    server.script("GET", "/x", Reply(403, SECONDARY, headers={"retry-after": "20"}), Reply(200, {}))
    server.script("GET", "/y", Reply(200, {}))
    pacer = Pacer()
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(make_client(http, pacer=pacer).getitem, "/x")
            await trio.testing.wait_all_tasks_blocked()
            await make_client(http, pacer=pacer).getitem("/y")
    assert server.paths() == ["/x", "/y", "/x"] or server.paths() == ["/x", "/x", "/y"]
    first_y = next(r for r in server.requests if r.path == "/y")
    assert first_y.started_at >= 20.0


@pytest.mark.parametrize(
    ("method", "verb"), [("GET", "getitem"), ("PUT", "put"), ("DELETE", "delete")], ids=str
)
async def test_transport_errors_on_idempotent_methods_are_retried(
    server: Script, autojump_clock: trio.testing.MockClock, method: str, verb: str
) -> None:
    server.script(method, "/x", Reply(200, {}))
    flaky = FlakyTransport(httpx.MockTransport(server), failures=2)
    async with httpx.AsyncClient(transport=flaky) as http:
        with trio.fail_after(600):
            await getattr(make_client(http), verb)("/x")
    assert (flaky.attempts, len(server.requests)) == (3, 1)


@pytest.mark.parametrize("method", ["post", "patch"], ids=str)
async def test_transport_errors_on_writes_are_not_retried(
    server: Script, autojump_clock: trio.testing.MockClock, method: str
) -> None:
    flaky = FlakyTransport(httpx.MockTransport(server), failures=1)
    async with httpx.AsyncClient(transport=flaky) as http:
        with trio.fail_after(600), pytest.raises(GitHubTransportError) as caught:
            await getattr(make_client(http), method)("/x", data={})
    assert flaky.attempts == 1
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_transport_errors_forever_raise_after_the_last_retry(
    server: Script, autojump_clock: trio.testing.MockClock
) -> None:
    flaky = FlakyTransport(httpx.MockTransport(server), failures=100)
    async with httpx.AsyncClient(transport=flaky) as http:
        with trio.fail_after(600), pytest.raises(GitHubTransportError):
            await make_client(http).getitem("/x")
    assert flaky.attempts == 1 + 3
