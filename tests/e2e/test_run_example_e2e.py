"""``snekomatic run examples.helpdesk.bot:app`` end to end: anyone's GitHubApp, served by a real
process with serve's runtime against the fake GitHub (SQLite), answers ``/help`` in the fake, and
nothing of snekomatic's own bot runs beside it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio
from examples.helpdesk.bot import TOPICS

from snekomatic.gh.testing import FakeComment, FakeDelivery, FakeGitHub, issue_comment_payload
from tests.e2e.conftest import Deployment, World, deployed, sqlite_database

FLOW_SECONDS = 20
ROOT = Path(__file__).parents[2]
EXAMPLE = "examples.helpdesk.bot:app"


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One ``snekomatic run examples.helpdesk.bot:app`` on SQLite for the whole module. It runs in a
    directory of its own, as an installed bot would: the checkout is on its PYTHONPATH."""
    workdir = tmp_path_factory.mktemp("e2e-run")
    with deployed(
        sqlite_database(workdir),
        workdir,
        command=("run", EXAMPLE),
        extra_env={"PYTHONPATH": str(ROOT)},
    ) as running:
        yield running


@dataclass
class Asked:
    """A ``/help`` comment the bot has finished with: where it is, and the delivery."""

    world: World
    number: int
    command: FakeComment
    delivery: FakeDelivery


async def ask(helpdesk: Deployment, body: str, *, kind: str = "issue") -> Asked:
    """The contributor opens a thread of ``kind`` and comments ``body``; returns once it is done."""
    world = await helpdesk.world()
    number = await helpdesk.open_thread(world, kind)
    with trio.fail_after(FLOW_SECONDS):
        command, delivery = await helpdesk.comment_until_done(world, number, body)
    return Asked(world, number, command, delivery)


async def replies(helpdesk: Deployment, asked: Asked) -> list[str]:
    """The bodies of the comments on the thread other than the command, all by the bot."""
    fake = helpdesk.fake
    comments = await helpdesk.host.run(fake.comments_on, asked.world.repo, asked.number)
    others = [c for c in comments if c.id != asked.command.id]
    assert all(c.author is fake.bot for c in others), [c.author.login for c in others]
    return [c.body for c in others]


@pytest.mark.parametrize("kind", ["issue", "pull-request"])
async def test_help_with_a_topic_gets_one_answer_with_that_topic(
    helpdesk: Deployment, kind: str
) -> None:
    asked = await ask(helpdesk, "How do I test?\n/help tests\n", kind=kind)
    (reply,) = await replies(helpdesk, asked)
    assert reply.startswith(f"@{asked.world.contributor.login}, ")
    assert TOPICS["tests"] in reply and TOPICS["review"] not in reply


async def test_help_alone_lists_the_topics(helpdesk: Deployment) -> None:
    asked = await ask(helpdesk, "/help")
    (reply,) = await replies(helpdesk, asked)
    assert all(f"`/help {topic}`" in reply for topic in TOPICS)


async def test_a_redelivered_help_is_answered_once(helpdesk: Deployment) -> None:
    # The runtime's guarantee: a redelivery keeps its delivery id, and the inbox stores it once.
    asked = await ask(helpdesk, "/help review")
    with trio.fail_after(FLOW_SECONDS):
        attempt = await helpdesk.redeliver(asked.delivery)
    assert 200 <= attempt.status_code < 300
    assert await helpdesk.delivery_status(asked.delivery.guid) == ("done", 1)
    assert len(await replies(helpdesk, asked)) == 1


async def _edit(fake: FakeGitHub, asked: Asked, body: str) -> FakeDelivery:
    # The fake has no "edit" action: edit the comment as GitHub would and send its webhook.
    world, comment = asked.world, asked.command
    previous, comment.body = comment.body, body
    payload = issue_comment_payload(
        comment,
        fake.issues[(world.repo.id, asked.number)],
        action="edited",
        sender=world.contributor,
        installation=world.installation,
        changes={"body": {"from": previous}},
        api_url=fake.api_url(),
    )
    return await fake.emit_webhook(
        "issue_comment", payload, installation=world.installation, repo=world.repo
    )


async def test_an_edited_help_comment_gets_no_second_answer(helpdesk: Deployment) -> None:
    # The bot's own guarantee: a new delivery about the same comment finds the tagged answer.
    asked = await ask(helpdesk, "/help review")
    with trio.fail_after(FLOW_SECONDS):
        edited = await helpdesk.host.run_async(
            _edit, helpdesk.fake, asked, "/help review\n(typo fixed)"
        )
        assert await helpdesk.wait_finished(edited.guid) == "done"
    assert len(await replies(helpdesk, asked)) == 1


async def test_snekomatics_own_features_do_not_run_beside_the_app(helpdesk: Deployment) -> None:
    # `run` serves the app it is given and nothing else: no invitation, no "pong!".
    asked = await ask(helpdesk, "/ping")
    with trio.fail_after(FLOW_SECONDS):
        _, merged = await helpdesk.merge(asked.world, asked.world.contributor)
        assert await helpdesk.wait_finished(merged.guid) == "done"
    assert await helpdesk.invitees(asked.world) == []
    assert await replies(helpdesk, asked) == []


async def test_the_run_process_serves_healthz_and_metrics(helpdesk: Deployment) -> None:
    async with httpx.AsyncClient(base_url=helpdesk.serve.base_url) as http:
        health = await http.get("/healthz")
        metrics = await http.get("/metrics")
    assert health.status_code == 200
    assert metrics.status_code == 200 and "snekomatic" in metrics.text
