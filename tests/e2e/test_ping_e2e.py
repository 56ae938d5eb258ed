"""``/ping`` end to end: a comment on GitHub (the fake) reaches a real ``snekomatic serve`` process
(SQLite and PostgreSQL), which answers "pong!" and reacts with a heart."""

from __future__ import annotations

import pytest
import trio

from tests.e2e.conftest import Deployment

FLOW_SECONDS = 20


@pytest.mark.parametrize("kind", ["issue", "pull-request"])
async def test_ping_comment_gets_a_pong_reply_and_a_heart(
    deployment: Deployment, kind: str
) -> None:
    world = await deployment.world()
    number = await deployment.open_thread(world, kind)
    with trio.fail_after(FLOW_SECONDS):
        command, _ = await deployment.comment_until_done(world, number, "Is the bot up?\n/ping\n")
    fake = deployment.fake
    comments = await deployment.host.run(fake.comments_on, world.repo, number)
    (reply,) = [c for c in comments if c.id != command.id]
    assert (reply.author.login, reply.body.splitlines()[0]) == (fake.bot.login, "pong!")
    reactions = await deployment.host.run(lambda: list(command.reactions))
    assert [(user.login, content) for user, content in reactions] == [(fake.bot.login, "heart")]


async def test_comment_without_a_command_gets_no_reply(deployment: Deployment) -> None:
    world = await deployment.world()
    number = await deployment.open_thread(world, "issue")
    with trio.fail_after(FLOW_SECONDS):
        command, _ = await deployment.comment_until_done(world, number, "ping me when it's merged")
    comments = await deployment.host.run(deployment.fake.comments_on, world.repo, number)
    assert [c.id for c in comments] == [command.id]
    assert await deployment.host.run(lambda: list(command.reactions)) == []


async def test_a_comment_of_300_ping_lines_costs_a_few_api_calls(deployment: Deployment) -> None:
    # One answer per command name: 300 lines used to make 600 calls and take a worker 20 s.
    world = await deployment.world()
    number = await deployment.open_thread(world, "issue")
    start = await deployment.request_count()
    with trio.fail_after(FLOW_SECONDS):
        command, _ = await deployment.comment_until_done(world, number, "/ping\n" * 300)
    calls = [
        f"{r.method} {r.path}"
        for r in await deployment.requests_since(start)
        if not r.path.endswith("/access_tokens")
    ]
    assert len(calls) <= 3, calls  # list the comments, post "pong!", react with a heart
    comments = await deployment.host.run(deployment.fake.comments_on, world.repo, number)
    assert [c.body.splitlines()[0] for c in comments if c.id != command.id] == ["pong!"]
