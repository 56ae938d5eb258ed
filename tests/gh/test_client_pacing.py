"""Pacing per installation: one request in flight, >= 1 s between the starts of writes (autojump clock)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
import trio

from snekomatic.gh._pacing import Pacer, Pacing
from snekomatic.gh.client import GitHubClient
from tests.gh.scripted import USER_AGENT, Reply, Script

BASE = "https://api.github.test"


@pytest.fixture
def server() -> Script:
    server = Script()
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        server.script(method, "/slow", Reply(200, {}, delay=5.0))
        server.script(method, "/fast", Reply(200, {}))
    return server


def make_client(http: httpx.AsyncClient, **kwargs: Any) -> GitHubClient:
    return GitHubClient(http, base_url=BASE, user_agent=USER_AGENT, **kwargs)


def starts(server: Script) -> list[float]:
    return [r.started_at for r in server.requests]


def gaps(server: Script) -> list[float]:
    return [b - a for a, b in itertools.pairwise(starts(server))]


async def _concurrently(*calls: Any) -> None:
    async with trio.open_nursery() as nursery:
        for call in calls:
            nursery.start_soon(call)


@pytest.mark.parametrize("verbs", [("post", "post"), ("patch", "put"), ("delete", "post")], ids=str)
async def test_writes_start_at_least_one_second_apart(
    server: Script,
    http: httpx.AsyncClient,
    autojump_clock: trio.testing.MockClock,
    verbs: tuple[str, str],
) -> None:
    client = make_client(http, pacer=Pacer())
    with trio.fail_after(60):
        await _concurrently(*(lambda verb=verb: getattr(client, verb)("/fast") for verb in verbs))
    assert len(server.requests) == 2
    assert gaps(server)[0] >= 1.0


async def test_writes_of_two_clients_sharing_a_pacer_are_spaced(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    pacer = Pacer()
    first, second = make_client(http, pacer=pacer), make_client(http, pacer=pacer)
    with trio.fail_after(60):
        await first.post("/fast")
        await second.post("/fast")
    assert gaps(server)[0] >= 1.0


async def test_reads_are_not_spaced(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    client = make_client(http, pacer=Pacer())
    with trio.fail_after(60):
        await client.post("/fast")
        await client.getitem("/fast")
        await client.getitem("/fast")
    assert gaps(server) == [0.0, 0.0]


async def test_the_write_interval_is_configurable(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    client = make_client(http, pacer=Pacer(Pacing(write_interval=2.5)))
    with trio.fail_after(60):
        await client.post("/fast")
        await client.post("/fast")
    assert gaps(server) == [2.5]


async def test_a_shared_pacer_allows_one_request_in_flight(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    pacer = Pacer()
    clients = [make_client(http, pacer=pacer) for _ in range(3)]
    with trio.fail_after(60):
        await _concurrently(*(lambda c=c: c.getitem("/slow") for c in clients))
    assert server.max_in_flight == 1
    assert gaps(server) == [5.0, 5.0]


async def test_without_a_pacer_requests_overlap(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    clients = [make_client(http) for _ in range(3)]
    with trio.fail_after(60):
        await _concurrently(*(lambda c=c: c.getitem("/slow") for c in clients))
    assert server.max_in_flight == 3


async def test_a_non_serial_pacer_still_spaces_writes(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    client = make_client(http, pacer=Pacer(Pacing(serial=False)))
    with trio.fail_after(60):
        await _concurrently(*(lambda: client.post("/slow") for _ in range(3)))
    assert server.max_in_flight > 1
    assert all(gap >= 1.0 for gap in gaps(server))


async def test_a_cancelled_request_releases_the_pacer(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    pacer = Pacer()
    with trio.fail_after(60):
        with trio.move_on_after(1.0):
            await make_client(http, pacer=pacer).getitem("/slow")
        await make_client(http, pacer=pacer).getitem("/fast")
    assert server.paths() == ["/slow", "/fast"]
    assert starts(server)[1] == pytest.approx(1.0)


def test_pacing_rejects_a_negative_interval() -> None:
    with pytest.raises(ValueError, match="write_interval"):
        Pacing(write_interval=-1.0)


def test_pacing_defaults_follow_githubs_guidance() -> None:
    assert Pacing() == Pacing(write_interval=1.0, serial=True)
    assert repr(Pacer()) == "Pacer(Pacing(write_interval=1.0, serial=True))"
