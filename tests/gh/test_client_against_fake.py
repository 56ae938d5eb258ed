"""GitHubClient against gh.testing's fake GitHub: pagination, fault injection, pacing, GHES, origins.

Most tests talk to the fake over real HTTP on 127.0.0.1, so they use a MockClock whose autojump waits
for 50 ms of real idleness: in-flight socket I/O does not make virtual time jump.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from starlette.applications import Starlette
from starlette.routing import Mount

from snekomatic.gh._pacing import Pacer
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import ForbiddenURL, Unauthorized
from snekomatic.gh.testing import FakeGitHub, FakeInstallation, FakeRepo, FakeUser, GitHubWorld

USER_AGENT = "snekomatic-client-tests"


class StaticAuth:
    """An Authenticator with one fixed value; ``renewed`` (if given) replaces it after a 401."""

    def __init__(self, value: str, renewed: str | None = None) -> None:
        self.value = value
        self.renewed = renewed

    async def authorization(self) -> str:
        await trio.lowlevel.checkpoint()
        return self.value

    async def reauthorize(self, error: Unauthorized) -> bool:
        await trio.lowlevel.checkpoint()
        if self.renewed is None:
            return False
        self.value, self.renewed = self.renewed, None
        return True


@dataclass
class World:
    fake: FakeGitHub
    installation: FakeInstallation
    repo: FakeRepo
    author: FakeUser
    clock: Callable[[], float]


@pytest.fixture
async def world(github_world: GitHubWorld) -> World:
    fake = github_world.fake
    author = fake.add_user("contributor")
    repo = fake.add_repo(github_world.org, "trio")
    fake.open_issue(repo, author=author, title="an issue")
    return World(fake, github_world.installation, repo, author, github_world.clock)


@pytest.fixture
async def base_url(github_world: GitHubWorld) -> str:
    return github_world.base_url


@pytest.fixture
def http_transport() -> None:
    return None  # real connections: the fake on loopback


def installation_auth(world: World) -> StaticAuth:
    """An installation token, as ``POST /app/installations/{id}/access_tokens`` mints it."""
    return StaticAuth(f"token {world.fake.mint_token(world.installation)}")


async def make_client(
    http: httpx.AsyncClient,
    base_url: str,
    world: World,
    auth: StaticAuth | None = None,
    **kwargs: Any,
) -> GitHubClient:
    auth = auth or installation_auth(world)
    return GitHubClient(
        http, base_url=base_url, user_agent=USER_AGENT, auth=auth, clock=world.clock, **kwargs
    )


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


COMMENTS = "/repos/{owner}/{repo}/issues/{number}/comments"


def comments_vars(world: World, **extra: Any) -> dict[str, Any]:
    return {"owner": "octo-org", "repo": "trio", "number": 1, **extra}


async def test_getiter_walks_the_fakes_paginated_comments(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    for n in range(5):
        world.fake.create_comment(world.repo, 1, author=world.author, body=f"comment {n}")
    client = await make_client(http, base_url, world)
    with trio.fail_after(30):
        bodies = [
            c["body"]
            async for c in client.getiter(
                COMMENTS + "{?per_page}", comments_vars(world, per_page=2)
            )
        ]
    assert bodies == [f"comment {n}" for n in range(5)]
    assert len(world.fake.requests_to("GET", "*/comments")) == 3


async def test_server_errors_from_the_fake_are_retried_with_backoff(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.inject_fault("GET", "/repos/octo-org/trio", kind="server_error", times=2)
    client = await make_client(http, base_url, world)
    with trio.fail_after(60):
        repo = await client.getitem("/repos/octo-org/trio")
    assert repo["full_name"] == "octo-org/trio"
    times = [r.time for r in world.fake.requests_to("GET", "/repos/octo-org/trio")]
    assert len(times) == 3
    assert gaps(times) == pytest.approx([1.0, 2.0], abs=0.2)


async def test_a_secondary_limit_from_the_fake_waits_for_retry_after(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.inject_fault("POST", "*/comments", kind="secondary_rate_limit", retry_after=7)
    client = await make_client(http, base_url, world)
    with trio.fail_after(60):
        await client.post(COMMENTS, comments_vars(world), data={"body": "thanks!"})
    times = [r.time for r in world.fake.requests_to("POST", "*/comments")]
    assert gaps(times)[0] >= 7.0
    assert [c.body for c in world.fake.comments_on(world.repo, 1)] == ["thanks!"]


async def test_a_secondary_limit_from_the_fake_without_retry_after_waits_a_minute(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.inject_fault("GET", "/repos/octo-org/trio", kind="secondary_rate_limit")
    client = await make_client(http, base_url, world)
    with trio.fail_after(300):
        await client.getitem("/repos/octo-org/trio")
    times = [r.time for r in world.fake.requests_to("GET", "/repos/octo-org/trio")]
    assert gaps(times)[0] >= 60.0


async def test_a_primary_limit_from_the_fake_waits_until_its_reset(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.inject_fault(
        "GET", "/repos/octo-org/trio", kind="primary_rate_limit", retry_after=30
    )
    client = await make_client(http, base_url, world)
    with trio.fail_after(300):
        await client.getitem("/repos/octo-org/trio")
    times = [r.time for r in world.fake.requests_to("GET", "/repos/octo-org/trio")]
    assert gaps(times)[0] >= 29.0


async def test_writes_to_the_fake_are_paced_one_second_apart(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    client = await make_client(http, base_url, world, pacer=Pacer())
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for n in range(3):
                nursery.start_soon(
                    lambda n=n: client.post(COMMENTS, comments_vars(world), data={"body": f"{n}"})
                )
    times = [r.time for r in world.fake.requests_to("POST", "*/comments")]
    assert len(times) == 3
    assert all(gap >= 1.0 for gap in gaps(sorted(times)))


async def test_an_injected_401_is_retried_once_with_a_renewed_token(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.inject_fault("GET", "/repos/octo-org/trio", kind="unauthorized")
    auth = installation_auth(world)
    auth.renewed = auth.value
    client = await make_client(http, base_url, world, auth)
    with trio.fail_after(30):
        await client.getitem("/repos/octo-org/trio")
    assert [r.status for r in world.fake.requests_to("GET", "/repos/octo-org/trio")] == [
        401,
        200,
    ]


async def test_another_origin_on_the_same_machine_gets_nothing(
    world: World, base_url: str, http: httpx.AsyncClient, loopback_clock: trio.testing.MockClock
) -> None:
    client = await make_client(http, base_url, world)
    same_server_other_origin = (
        base_url.replace("127.0.0.1", "localhost") + "/repos/octo-org/trio"
    )
    with trio.fail_after(30), pytest.raises(ForbiddenURL):
        await client.getitem(same_server_other_origin)
    assert world.fake.requests == []


async def test_a_ghes_base_url_with_a_path_prefix_reaches_the_fake(
    world: World, autojump_clock: trio.testing.MockClock
) -> None:
    ghes = Starlette(routes=[Mount("/api/v3", app=world.fake.asgi)])
    transport = httpx.ASGITransport(app=ghes)
    base = "https://ghe.example/api/v3"
    for n in range(3):
        world.fake.create_comment(world.repo, 1, author=world.author, body=f"comment {n}")
    async with httpx.AsyncClient(transport=transport) as http:
        client = await make_client(http, base, world)
        with trio.fail_after(30):
            bodies = [
                c["body"]
                async for c in client.getiter(
                    COMMENTS + "{?per_page}", comments_vars(world, per_page=2)
                )
            ]
    assert bodies == ["comment 0", "comment 1", "comment 2"]
    assert len(world.fake.requests_to("GET", "*/comments")) == 2
