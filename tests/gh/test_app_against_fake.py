"""GitHubApp end to end against gh.testing's fake GitHub on loopback: tokens, clock skew, dispatch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import trio
import trio.testing

from snekomatic.gh.app import GitHubApp, HandlerContext
from snekomatic.gh.comments import find_or_create_comment
from snekomatic.gh.testing import (
    FakeGitHub,
    FakeInstallation,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    build_webhook_request,
    generate_private_key,
    issue_comment_payload,
    serve_fake_github,
)

EPOCH = 1_700_000_000.0
SECRET = "webhook-secret"
TOKENS = "/app/installations/*/access_tokens"


def wall_clock() -> float:
    return EPOCH + trio.current_time()


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    # Each async test takes this clock itself (pytest-trio only looks at the test's own arguments).
    # Real sockets: jump virtual time only once nothing has happened for a while (no I/O in flight).
    return trio.testing.MockClock(autojump_threshold=0.05)


@dataclass
class World:
    fake: FakeGitHub
    app: GitHubApp
    repo: FakeRepo
    pr: FakePullRequest
    author: FakeUser
    installation: FakeInstallation


@pytest.fixture
def private_key() -> str:
    return generate_private_key()


@pytest.fixture
def fake(private_key: str) -> FakeGitHub:
    return FakeGitHub(app_id=1, private_key=private_key, webhook_secret=SECRET, clock=wall_clock)


@pytest.fixture
async def world(
    fake: FakeGitHub, private_key: str, mock_clock: trio.testing.MockClock
) -> AsyncIterator[World]:
    org = fake.add_org("python-trio")
    repo = fake.add_repo(org, "trio")
    author = fake.add_user("alice")
    installation = fake.install(org)
    pr = fake.open_pull_request(repo, author=author, title="Fix", body="Fixes it")
    async with trio.open_nursery() as nursery:
        base_url = await nursery.start(serve_fake_github, fake)
        environ = {
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY": private_key,
            "GITHUB_WEBHOOK_SECRET": f"old-secret,{SECRET}",
            "GITHUB_USER_AGENT": "snekomatic-tests",
            "GITHUB_API_URL": base_url,
        }
        async with GitHubApp.from_env(environ, clock=wall_clock) as app:
            yield World(fake, app, repo, pr, author, installation)
        nursery.cancel_scope.cancel()


async def test_installation_client_reads_with_a_minted_token(
    world: World, mock_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):
        repo = await world.app.client_for(world.installation.id).getitem("/repos/python-trio/trio")
        await world.app.client_for(str(world.installation.id)).getitem("/repos/python-trio/trio")
    assert repo["full_name"] == "python-trio/trio"
    assert len(world.fake.requests_to("POST", TOKENS)) == 1


@pytest.mark.parametrize(
    "skew",
    [pytest.param(-300.0, id="github-behind"), pytest.param(900.0, id="github-ahead")],
)
async def test_clock_skew_is_corrected_from_the_fakes_date_header(
    fake: FakeGitHub, world: World, mock_clock: trio.testing.MockClock, skew: float
) -> None:
    fake.clock_skew = skew
    with trio.fail_after(60):
        await world.app.token_for(world.installation.id)
        await world.app.client_for(world.installation.id).getitem("/repos/python-trio/trio")
    statuses = [r.status for r in fake.requests_to("POST", TOKENS)]
    assert statuses == [401, 201]


async def test_unauthorized_right_after_minting_is_retried_with_a_fresh_token(
    fake: FakeGitHub, world: World, mock_clock: trio.testing.MockClock
) -> None:
    fake.inject_fault("GET", "/repos/*", kind="unauthorized", times=1)
    with trio.fail_after(60):
        repo = await world.app.client_for(world.installation.id).getitem("/repos/python-trio/trio")
    assert repo["name"] == "trio"
    assert len(fake.requests_to("POST", TOKENS)) == 2


async def test_dispatch_runs_a_command_handler_that_comments_idempotently(
    fake: FakeGitHub, world: World, mock_clock: trio.testing.MockClock
) -> None:
    @world.app.route_command("/ping")
    async def pong(ctx: HandlerContext) -> None:
        await find_or_create_comment(
            ctx.client,
            repo_full_name=ctx.payload["repository"]["full_name"],
            issue_number=ctx.payload["issue"]["number"],
            marker=f"pong:{ctx.payload['comment']['id']}",
            body="pong",
        )

    comment = fake.create_comment(world.repo, world.pr.number, author=world.author, body="/ping")
    issue = fake.issues[(world.repo.id, world.pr.number)]
    payload = issue_comment_payload(
        comment, issue, sender=world.author, installation=world.installation, pull_request=world.pr
    )
    headers, body = build_webhook_request(
        "issue_comment", payload, secret=SECRET, delivery_id="delivery-1"
    )
    with trio.fail_after(60):
        for _ in range(2):  # a redelivery
            await world.app.dispatch(world.app.parse_webhook(headers, body))
    bodies = [c.body for c in fake.comments_on(world.repo, world.pr.number)]
    assert bodies == ["/ping", f"pong\n\n<!-- snekomatic:pong:{comment.id} -->"]
