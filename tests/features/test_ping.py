"""``/ping``: a "pong!" reply and a heart, once per comment or body, end to end against the fake."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from snekomatic.features.ping import PONG, PingTarget, ping_target
from snekomatic.gh._routing import DEFAULT_COMMAND_LIMIT
from snekomatic.gh.testing import issues_payload
from tests.features.conftest import World
from tests.payloads import load_payload

MINUTE = 60


# --- where the answer goes (pure, on GitHub's real payload examples) -------------------------------

OWNER = {"owner": "Codertocat", "repo": "Hello-World"}


@pytest.mark.parametrize(
    ("event", "name", "expected"),
    [
        (
            "issue_comment",
            "created",
            PingTarget(
                repository="Codertocat/Hello-World",
                number=1,
                marker="ping:comment:492700400",
                reaction_url="/repos/{owner}/{repo}/issues/comments/{id}/reactions",
                reaction_vars={**OWNER, "id": 492700400},
            ),
        ),
        (
            "issues",
            "opened",
            PingTarget(
                repository="Codertocat/Hello-World",
                number=1,
                marker="ping:issue:444500041",
                reaction_url="/repos/{owner}/{repo}/issues/{number}/reactions",
                reaction_vars={**OWNER, "number": 1},
            ),
        ),
        (
            "pull_request",
            "opened",
            PingTarget(
                repository="Codertocat/Hello-World",
                number=2,
                marker="ping:pull_request:279147437",
                reaction_url="/repos/{owner}/{repo}/issues/{number}/reactions",
                reaction_vars={**OWNER, "number": 2},
            ),
        ),
        (
            "pull_request_review",
            "submitted",
            PingTarget(
                repository="Codertocat/Hello-World",
                number=2,
                marker="ping:review:237895671",
                reaction_url=None,
                reaction_vars=OWNER,
            ),
        ),
        (
            "pull_request_review_comment",
            "created",
            PingTarget(
                repository="Codertocat/Hello-World",
                number=2,
                marker="ping:comment:284312630",
                reaction_url="/repos/{owner}/{repo}/pulls/comments/{id}/reactions",
                reaction_vars={**OWNER, "id": 284312630},
            ),
        ),
    ],
    ids=["issue-comment", "issue-body", "pull-request-body", "review", "review-comment"],
)
def test_ping_target_for_each_place_a_command_can_be(
    event: str, name: str, expected: PingTarget
) -> None:
    assert ping_target(event, load_payload(event, name)) == expected


def _bot_comment() -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("issue_comment", "created"))
    payload["comment"]["user"]["type"] = "Bot"
    return payload


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("issue_comment", _bot_comment()),
        ("issue_comment", {**load_payload("issue_comment", "created"), "repository": None}),
        ("issue_comment", {**load_payload("issue_comment", "created"), "issue": {}}),
        ("push", load_payload("issue_comment", "created")),
        (
            "issue_comment",
            {**load_payload("issue_comment", "created"), "repository": {"full_name": "../.."}},
        ),
    ],
    ids=["bot-author", "no-repository", "no-issue-number", "other-event", "dot-dot-names"],
)
def test_pings_that_cannot_or_should_not_be_answered(event: str, payload: dict[str, Any]) -> None:
    assert ping_target(event, payload) is None


# --- end to end ----------------------------------------------------------------------------------


def bodies(world: World, number: int) -> list[str]:
    return [c.body for c in world.fake.comments_on(world.repo, number)]


async def test_ping_in_a_comment_gets_pong_and_a_heart(world: World, clock: MockClock) -> None:
    issue = world.fake.open_issue(world.repo, author=world.contributor)
    with trio.fail_after(MINUTE):
        ping = await world.fake.add_comment(
            world.repo, issue.number, author=world.contributor, body="/ping"
        )
        await world.dispatch(world.fake.deliveries[-1])
    (pong,) = world.fake.comments_on(world.repo, issue.number)[1:]
    assert pong.body.startswith(PONG) and pong.author is world.fake.bot
    assert ping.reactions == [(world.fake.bot, "heart")]


async def test_ping_on_a_pull_request_comment_is_answered_on_the_pull_request(
    world: World, clock: MockClock
) -> None:
    pr = world.fake.open_pull_request(world.repo, author=world.contributor)
    with trio.fail_after(MINUTE):
        ping = await world.fake.add_comment(
            world.repo, pr.number, author=world.maintainer, body="please\n/ping"
        )
        await world.dispatch(world.fake.deliveries[-1])
    assert [b.split("\n")[0] for b in bodies(world, pr.number)] == ["please", PONG]
    assert ping.reactions == [(world.fake.bot, "heart")]


async def test_ping_in_an_issue_body_gets_a_heart_on_the_issue(
    world: World, clock: MockClock
) -> None:
    issue = world.fake.open_issue(world.repo, author=world.contributor, body="/ping")
    payload = issues_payload(
        issue,
        action="opened",
        sender=world.contributor,
        installation=world.installation,
        api_url=world.fake.base_url or "",
    )
    with trio.fail_after(MINUTE):
        delivery = await world.fake.emit_webhook(
            "issues", payload, installation=world.installation, repo=world.repo
        )
        await world.dispatch(delivery)
    (pong,) = bodies(world, issue.number)
    assert pong.startswith(PONG)
    assert issue.reactions == [(world.fake.bot, "heart")]


async def test_redelivered_ping_gets_one_pong(world: World, clock: MockClock) -> None:
    issue = world.fake.open_issue(world.repo, author=world.contributor)
    with trio.fail_after(MINUTE):
        ping = await world.fake.add_comment(
            world.repo, issue.number, author=world.contributor, body="/ping\n\n/ping"
        )
        await world.dispatch(world.fake.deliveries[-1])
        await world.dispatch(world.fake.deliveries[-1])
    assert [b.startswith(PONG) for b in bodies(world, issue.number)] == [False, True]
    assert ping.reactions == [(world.fake.bot, "heart")]


async def test_quoted_ping_is_not_answered(world: World, clock: MockClock) -> None:
    issue = world.fake.open_issue(world.repo, author=world.contributor)
    with trio.fail_after(MINUTE):
        ping = await world.fake.add_comment(
            world.repo, issue.number, author=world.contributor, body="> /ping"
        )
        await world.dispatch(world.fake.deliveries[-1])
    assert (bodies(world, issue.number), ping.reactions) == (["> /ping"], [])


def calls_since(world: World, start: int) -> list[str]:
    """The API calls the bot made after the first ``start``, without installation-token mints."""
    return [
        f"{r.method} {r.path}"
        for r in world.fake.requests[start:]
        if not r.path.endswith("/access_tokens")
    ]


async def test_a_comment_of_300_ping_lines_gets_one_answer_in_three_calls(
    world: World, clock: MockClock
) -> None:
    # Each line used to cost a listing and a reaction: 600 calls, and a worker tied up for minutes.
    issue = world.fake.open_issue(world.repo, author=world.contributor)
    with trio.fail_after(MINUTE):
        ping = await world.fake.add_comment(
            world.repo, issue.number, author=world.contributor, body="\n".join(["/ping"] * 300)
        )
        start = len(world.fake.requests)
        await world.dispatch(world.fake.deliveries[-1])
    assert len(calls_since(world, start)) <= 3  # list the comments, post "pong!", react
    assert [b.startswith(PONG) for b in bodies(world, issue.number)] == [False, True]
    assert ping.reactions == [(world.fake.bot, "heart")]


async def test_one_persons_ping_flood_is_cut_off_and_never_retried(
    world: World, clock: MockClock
) -> None:
    issue = world.fake.open_issue(world.repo, author=world.contributor)
    with trio.fail_after(MINUTE):
        for _ in range(20):
            await world.fake.add_comment(
                world.repo, issue.number, author=world.contributor, body="/ping"
            )
            await world.dispatch(world.fake.deliveries[-1])  # over the limit: done, not failed
        pongs = [b for b in bodies(world, issue.number) if b.startswith(PONG)]
        assert len(pongs) == DEFAULT_COMMAND_LIMIT.burst
        # Someone else's command, in the same installation, is still answered.
        await world.fake.add_comment(
            world.repo, issue.number, author=world.maintainer, body="/ping"
        )
        await world.dispatch(world.fake.deliveries[-1])
    pongs = [b for b in bodies(world, issue.number) if b.startswith(PONG)]
    assert len(pongs) == DEFAULT_COMMAND_LIMIT.burst + 1
