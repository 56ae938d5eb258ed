"""``snekomatic run examples.helpdesk.bot:app`` end to end: anyone's GitHubApp, served by a real
process with serve's runtime against the fake GitHub (SQLite), answers ``/help`` in the fake, and
nothing of snekomatic's own bot runs beside it."""

from __future__ import annotations

from collections.abc import Iterator
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


async def replies_to(deployment: Deployment, world: World, number: int, command_id: int) -> list[str]:
    """The bodies of the comments on ``number`` other than the command's, all by the bot."""
    fake = deployment.fake
    comments = await deployment.host.run(fake.comments_on, world.repo, number)
    replies = [c for c in comments if c.id != command_id]
    assert all(c.author is fake.bot for c in replies), [c.author.login for c in replies]
    return [c.body for c in replies]


@pytest.mark.parametrize("kind", ["issue", "pull-request"])
async def test_help_with_a_topic_gets_one_answer_with_that_topic(
    helpdesk: Deployment, kind: str
) -> None:
    world = await helpdesk.world()
    number = await helpdesk.open_thread(world, kind)
    with trio.fail_after(FLOW_SECONDS):
        command, delivery = await helpdesk.comment_on(world, number, "How do I test?\n/help tests\n")
        assert await helpdesk.wait_finished(delivery.guid) == "done"
    (reply,) = await replies_to(helpdesk, world, number, command.id)
    assert reply.startswith(f"@{world.contributor.login}, ")
    assert TOPICS["tests"] in reply and TOPICS["review"] not in reply


async def test_help_alone_lists_the_topics(helpdesk: Deployment) -> None:
    world = await helpdesk.world()
    number = await helpdesk.open_thread(world, "issue")
    with trio.fail_after(FLOW_SECONDS):
        command, delivery = await helpdesk.comment_on(world, number, "/help")
        assert await helpdesk.wait_finished(delivery.guid) == "done"
    (reply,) = await replies_to(helpdesk, world, number, command.id)
    assert all(f"`/help {topic}`" in reply for topic in TOPICS)


async def test_a_redelivered_help_is_answered_once(helpdesk: Deployment) -> None:
    # The runtime's guarantee: a redelivery keeps its delivery id, and the inbox stores it once.
    world = await helpdesk.world()
    number = await helpdesk.open_thread(world, "issue")
    with trio.fail_after(FLOW_SECONDS):
        command, delivery = await helpdesk.comment_on(world, number, "/help review")
        assert await helpdesk.wait_finished(delivery.guid) == "done"
        attempt = await helpdesk.redeliver(delivery)
    assert 200 <= attempt.status_code < 300
    assert await helpdesk.delivery_status(delivery.guid) == ("done", 1)
    assert len(await replies_to(helpdesk, world, number, command.id)) == 1


async def _edit(
    fake: FakeGitHub, world: World, number: int, comment: FakeComment, body: str
) -> FakeDelivery:
    # The fake has no "edit" action: edit the comment as GitHub would and send its webhook.
    previous, comment.body = comment.body, body
    payload = issue_comment_payload(
        comment,
        fake.issues[(world.repo.id, number)],
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
    world = await helpdesk.world()
    number = await helpdesk.open_thread(world, "issue")
    with trio.fail_after(FLOW_SECONDS):
        command, delivery = await helpdesk.comment_on(world, number, "/help review")
        assert await helpdesk.wait_finished(delivery.guid) == "done"
        edited = await helpdesk.host.run_async(
            _edit, helpdesk.fake, world, number, command, "/help review\n(typo fixed)"
        )
        assert await helpdesk.wait_finished(edited.guid) == "done"
    assert len(await replies_to(helpdesk, world, number, command.id)) == 1


async def test_snekomatics_own_features_do_not_run_beside_the_app(helpdesk: Deployment) -> None:
    # `run` serves the app it is given and nothing else: no invitation, no "pong!".
    world = await helpdesk.world()
    number = await helpdesk.open_thread(world, "issue")
    with trio.fail_after(FLOW_SECONDS):
        _, merged = await helpdesk.merge(world, world.contributor)
        ping, delivery = await helpdesk.comment_on(world, number, "/ping")
        assert await helpdesk.wait_finished(delivery.guid) == "done"
        assert await helpdesk.wait_finished(merged.guid) == "done"
    assert await helpdesk.invitees(world) == []
    assert await replies_to(helpdesk, world, number, ping.id) == []


async def test_the_run_process_serves_healthz_and_metrics(helpdesk: Deployment) -> None:
    async with httpx.AsyncClient(base_url=helpdesk.serve.base_url) as http:
        health = await http.get("/healthz")
        metrics = await http.get("/metrics")
    assert health.status_code == 200
    assert metrics.status_code == 200 and "snekomatic" in metrics.text
