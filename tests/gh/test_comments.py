"""snekomatic.gh.comments: the hidden marker, and find-or-create against the fake GitHub on loopback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio
import trio.testing

from snekomatic.gh.client import GitHubClient
from snekomatic.gh.comments import find_marked_comment, find_or_create_comment, marker_comment
from snekomatic.gh.testing import FakeGitHub, FakeRepo, FakeUser, GitHubWorld


@dataclass
class World:
    fake: FakeGitHub
    repo: FakeRepo
    number: int
    author: FakeUser
    client: GitHubClient


@pytest.fixture
async def world(github_world: GitHubWorld, loopback_clock: trio.testing.MockClock) -> World:
    fake = github_world.fake
    repo = fake.add_repo(github_world.org, "trio")
    author = fake.add_user("alice")
    pr = fake.open_pull_request(repo, author=author, title="Fix", body="Fixes it")
    return World(fake, repo, pr.number, author, github_world.client)


@pytest.mark.parametrize(
    ("marker", "prefix", "tag"),
    [
        pytest.param("welcome", "snekomatic", "<!-- snekomatic:welcome -->", id="default-prefix"),
        pytest.param("invite:42", "mybot", "<!-- mybot:invite:42 -->", id="own-prefix"),
    ],
)
def test_marker_comment(marker: str, prefix: str, tag: str) -> None:
    assert marker_comment(marker, prefix=prefix) == tag


@pytest.mark.parametrize(
    ("marker", "prefix"),
    [
        pytest.param("a--b", "snekomatic", id="double-dash"),
        pytest.param("a>b", "snekomatic", id="gt"),
        pytest.param("a\nb", "snekomatic", id="newline"),
        pytest.param("", "snekomatic", id="empty"),
        pytest.param("ok", "my:bot", id="colon-in-prefix"),
        pytest.param("ok", "", id="empty-prefix"),
    ],
)
def test_marker_that_would_break_the_html_comment_is_refused(marker: str, prefix: str) -> None:
    with pytest.raises(ValueError, match=r"marker|prefix"):
        marker_comment(marker, prefix=prefix)


async def test_find_or_create_posts_a_tagged_comment(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):
        comment = await find_or_create_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            body="Thanks!\n",
        )
    [stored] = world.fake.comments_on(world.repo, world.number)
    assert stored.body == "Thanks!\n\n<!-- snekomatic:welcome -->"
    assert comment["id"] == stored.id


async def test_second_call_posts_nothing_and_returns_the_first(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):
        first = await find_or_create_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            body="Thanks!",
        )
        second = await find_or_create_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            body="Thanks again!",
        )
    assert len(world.fake.comments_on(world.repo, world.number)) == 1
    assert second["id"] == first["id"]


async def test_marker_is_found_beyond_the_first_page(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    for i in range(35):
        world.fake.create_comment(
            world.repo, world.number, author=world.author, body=f"chatter {i}"
        )
    world.fake.create_comment(
        world.repo, world.number, author=world.fake.bot, body="Hi\n\n<!-- snekomatic:welcome -->"
    )
    with trio.fail_after(60):
        await find_or_create_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            body="Thanks!",
        )
    assert len(world.fake.comments_on(world.repo, world.number)) == 36


async def test_different_markers_make_different_comments(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(60):
        for marker in ("welcome", "invited"):
            await find_or_create_comment(
                world.client,
                repo_full_name="octo-org/trio",
                issue_number=world.number,
                marker=marker,
                body="Hello",
            )
    assert len(world.fake.comments_on(world.repo, world.number)) == 2


async def test_author_filter_ignores_a_pasted_marker(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.create_comment(
        world.repo, world.number, author=world.author, body="<!-- snekomatic:welcome -->"
    )
    with trio.fail_after(60):
        found = await find_marked_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            author=world.fake.bot.login,
        )
    assert found is None


async def test_author_type_filter_finds_only_a_bots_marker(
    world: World, loopback_clock: trio.testing.MockClock
) -> None:
    world.fake.create_comment(
        world.repo, world.number, author=world.author, body="<!-- snekomatic:welcome -->"
    )
    with trio.fail_after(60):
        created = await find_or_create_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            body="Welcome!",
            author_type="Bot",
        )
        again = await find_or_create_comment(
            world.client,
            repo_full_name="octo-org/trio",
            issue_number=world.number,
            marker="welcome",
            body="Welcome!",
            author_type="Bot",
        )
    authors = [c.author.login for c in world.fake.comments_on(world.repo, world.number)]
    assert authors == ["alice", world.fake.bot.login]  # the pasted marker did not count
    assert again["id"] == created["id"]


@pytest.mark.parametrize("name", ["trio", "a/b/c", "/trio", "python-trio/"])
async def test_malformed_repo_full_name_is_refused(
    world: World, loopback_clock: trio.testing.MockClock, name: str
) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        await find_or_create_comment(
            world.client, repo_full_name=name, issue_number=1, marker="m", body="b"
        )
