"""open_github_world: the served fake, the app installed on it and their clock, as a bot's tests use them."""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

from snekomatic.gh.app import GitHubApp, HandlerContext
from snekomatic.gh.testing import FakeClock, open_github_world


async def test_the_docstring_example_dispatches_a_merge_to_the_bots_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_github_world(served=False) as world:

        @world.app.route("pull_request", action="closed")
        async def thank(ctx: HandlerContext) -> None:
            await ctx.client.post(
                ctx.payload["pull_request"]["comments_url"], data={"body": "Thanks!"}
            )

        repo = world.fake.add_repo(world.org, "widget")
        maintainer = world.fake.add_user("maintainer")
        pr = world.fake.open_pull_request(repo, author=world.fake.add_user("zeke"))
        with trio.fail_after(60):
            await world.dispatch(await world.fake.merge_pull_request(pr, merged_by=maintainer))
        assert [c.body for c in world.fake.comments_on(repo, pr.number)] == ["Thanks!"]


async def test_the_app_reads_the_served_fake_as_the_installation(
    loopback_clock: trio.testing.MockClock,
) -> None:
    async with open_github_world() as world:
        world.fake.add_repo(world.org, "widget")
        with trio.fail_after(60):
            repo = await world.client.getitem("/repos/octo-org/widget")
        assert world.base_url.startswith("http://127.0.0.1:")
    assert repo["full_name"] == "octo-org/widget"
    assert [r.status for r in world.fake.requests_to("POST", "/app/installations/*")] == [201]


async def test_the_fake_and_the_app_share_the_worlds_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = FakeClock()
    async with open_github_world(clock=clock, served=False) as world:
        await trio.sleep(3600)
        assert world.fake.now() == clock() == 1_700_000_000.0 + 3600
        clock.advance(60)
        assert world.fake.now() == 1_700_000_000.0 + 3660


async def test_an_exception_in_the_block_leaves_it_as_raised(
    loopback_clock: trio.testing.MockClock,
) -> None:
    with pytest.raises(LookupError, match="raised in the block"):
        async with open_github_world():
            raise LookupError("raised in the block")


async def test_app_environ_is_what_a_bot_reads_to_be_the_worlds_app(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_github_world(served=False) as world:
        app = GitHubApp.from_env(world.app_environ(), http=world.http, clock=world.clock)
        async with app:
            answer = await app.app_client.getitem("/app")
    assert answer["id"] == world.fake.app_id
    assert app.base_url == world.base_url


async def test_new_app_is_the_same_app_with_overrides(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_github_world(served=False) as world:
        async with world.new_app(webhook_secret=["new", world.fake.webhook_secret]) as app:
            token = await app.token_for(world.installation.id)
        assert app.webhook_secrets == [b"new", world.fake.webhook_secret.encode()]
        assert token in world.fake.tokens


def test_a_world_serves_under_asyncio_too() -> None:
    async def main() -> str:
        with anyio.fail_after(30):
            async with open_github_world() as world:
                world.fake.add_repo(world.org, "widget")
                repo = await world.client.getitem("/repos/octo-org/widget")
        return str(repo["full_name"])

    assert anyio.run(main, backend="asyncio") == "octo-org/widget"
