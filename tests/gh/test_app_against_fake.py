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
    GitHubWorld,
    build_webhook_request,
    issue_comment_payload,
)

TOKENS = "/app/installations/*/access_tokens"


@dataclass
class World:
    fake: FakeGitHub
    app: GitHubApp
    repo: FakeRepo
    pr: FakePullRequest
    author: FakeUser
    installation: FakeInstallation


@pytest.fixture
async def fake(github_world: GitHubWorld) -> FakeGitHub:
    return github_world.fake


@pytest.fixture
async def world(
    github_world: GitHubWorld, loopback_clock: trio.testing.MockClock
) -> AsyncIterator[World]:
    fake = github_world.fake
    repo = fake.add_repo(github_world.org, "trio")
    author = fake.add_user("alice")
    pr = fake.open_pull_request(repo, author=author, title="Fix", body="Fixes it")
    # The app as a bot builds it from its environment, with the secret it accepted before a rotation.
    environ = {
        **github_world.app_environ(),
        "GITHUB_WEBHOOK_SECRET": f"old-secret,{fake.webhook_secret}",
    }
    async with GitHubApp.from_env(environ, clock=github_world.clock) as app:
        yield World(fake, app, repo, pr, author, github_world.installation)


async def test_installation_client_reads_with_a_minted_token(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):
        repo = await world.app.client_for(world.installation.id).getitem("/repos/octo-org/trio")
        await world.app.client_for(str(world.installation.id)).getitem("/repos/octo-org/trio")
    assert repo["full_name"] == "octo-org/trio"
    assert len(world.fake.requests_to("POST", TOKENS)) == 1


@pytest.mark.parametrize(
    "skew",
    [pytest.param(-300.0, id="github-behind"), pytest.param(900.0, id="github-ahead")],
)
async def test_clock_skew_is_corrected_from_the_fakes_date_header(
    fake: FakeGitHub, world: World, loopback_clock: trio.testing.MockClock, skew: float
) -> None:
    fake.clock_skew = skew
    with trio.fail_after(60):
        await world.app.token_for(world.installation.id)
        await world.app.client_for(world.installation.id).getitem("/repos/octo-org/trio")
    statuses = [r.status for r in fake.requests_to("POST", TOKENS)]
    assert statuses == [401, 201]


async def test_unauthorized_right_after_minting_is_retried_with_a_fresh_token(
    fake: FakeGitHub, world: World, loopback_clock: trio.testing.MockClock
) -> None:
    fake.inject_fault("GET", "/repos/*", kind="unauthorized", times=1)
    with trio.fail_after(60):
        repo = await world.app.client_for(world.installation.id).getitem("/repos/octo-org/trio")
    assert repo["name"] == "trio"
    assert len(fake.requests_to("POST", TOKENS)) == 2


async def test_dispatch_runs_a_command_handler_that_comments_idempotently(
    fake: FakeGitHub, world: World, loopback_clock: trio.testing.MockClock
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
        "issue_comment", payload, secret=fake.webhook_secret, delivery_id="delivery-1"
    )
    with trio.fail_after(60):
        for _ in range(2):  # a redelivery
            await world.app.dispatch(world.app.parse_webhook(headers, body))
    bodies = [c.body for c in fake.comments_on(world.repo, world.pr.number)]
    assert bodies == ["/ping", f"pong\n\n<!-- snekomatic:pong:{comment.id} -->"]
