"""The GitHub simulator's endpoints and page, installed on a fake GitHub and reached through the
fake's ASGI app (no webhook URL set)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from snekomatic.dev import install_change_feed, install_simulator
from snekomatic.gh.testing import FakeGitHub, FakeOrg, FakePullRequest, generate_private_key

MERGE = "/_simulator/api/repos/pit/hiss/pulls/{number}/merge"
COMMENT = "/_simulator/api/repos/pit/hiss/issues/{number}/comments"


@dataclass
class World:
    fake: FakeGitHub
    org: FakeOrg
    pr: FakePullRequest


@pytest.fixture
def world() -> World:
    fake = FakeGitHub(private_key=generate_private_key())
    org = fake.add_org("pit")
    fake.add_member(org, fake.add_user("ada"))
    fake.add_member(org, fake.add_user("bea"), state="pending")
    repo = fake.add_repo(org, "hiss")
    fake.install(org)
    pr = fake.open_pull_request(repo, author=fake.add_user("zeke"), title="Fix <b>typo</b>")
    install_simulator(fake)
    return World(fake, org, pr)


@pytest.fixture
def http_transport(world: World) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=world.fake.asgi)  # the fake in-process, no webhook URL set


@pytest.fixture
def http_base_url() -> str:
    return "http://fake"


async def test_merge_merges_and_emits_pull_request_closed(
    world: World, http: httpx.AsyncClient
) -> None:
    response = await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
    assert response.status_code == 201
    assert (world.pr.merged, world.pr.merged_by and world.pr.merged_by.login) == (True, "ada")
    delivery = world.fake.deliveries[-1]
    assert (delivery.event, delivery.action) == ("pull_request", "closed")
    assert delivery.payload["pull_request"]["merged"] is True


async def test_opening_a_pull_request_emits_pull_request_opened(
    world: World, http: httpx.AsyncClient
) -> None:
    fields = {"repo": "pit/hiss", "author": "zeke", "title": "More hiss", "body": "/ping"}
    response = await http.post("/_simulator/api/pulls", json=fields)
    assert response.status_code == 201
    assert (response.json()["number"], response.json()["author"]) == (2, "zeke")
    delivery = world.fake.deliveries[-1]
    assert (delivery.event, delivery.action) == ("pull_request", "opened")


async def test_a_form_comment_is_stored_emitted_and_answered_with_the_page(
    world: World, http: httpx.AsyncClient
) -> None:
    response = await http.post(COMMENT.format(number=1), data={"author": "zeke", "body": "/ping"})
    assert (response.status_code, response.headers["location"]) == (303, "/_simulator")
    (comment,) = world.fake.comments_on(world.pr.repo, 1)
    assert (comment.author.login, comment.body) == ("zeke", "/ping")
    assert (world.fake.deliveries[-1].event, world.fake.deliveries[-1].action) == (
        "issue_comment",
        "created",
    )


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        (MERGE.format(number=1), {"merged_by": "nobody"}, 422),
        (MERGE.format(number=1), {}, 422),
        (MERGE.format(number=9), {"merged_by": "ada"}, 404),
        ("/_simulator/api/repos/pit/nope/pulls/1/merge", {"merged_by": "ada"}, 404),
        (COMMENT.format(number=1), {"author": "pit", "body": "hi"}, 422),
        (COMMENT.format(number=1), {"author": "zeke", "body": "  "}, 422),
    ],
    ids=[
        "unknown-user",
        "no-merger",
        "unknown-pull",
        "unknown-repo",
        "organization-as-author",
        "blank-comment",
    ],
)
async def test_refused_actions_answer_the_reason_and_change_nothing(
    world: World, http: httpx.AsyncClient, path: str, fields: dict[str, Any], status: int
) -> None:
    response = await http.post(path, json=fields)
    assert response.status_code == status
    assert response.json()["message"]
    assert (world.pr.merged, world.fake.deliveries) == (False, [])


async def test_merging_twice_is_not_allowed(world: World, http: httpx.AsyncClient) -> None:
    await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
    response = await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
    assert response.status_code == 405
    assert len(world.fake.deliveries) == 1


async def test_state_lists_members_with_their_state_and_pulls_with_authors(
    http: httpx.AsyncClient,
) -> None:
    state = (await http.get("/_simulator/api/state")).json()
    (org,) = state["orgs"]
    assert {m["login"]: m["state"] for m in org["members"]} == {"ada": "active", "bea": "pending"}
    (repo,) = state["repos"]
    assert [(p["number"], p["author"], p["state"]) for p in repo["pulls"]] == [(1, "zeke", "open")]


async def test_page_escapes_what_people_typed(http: httpx.AsyncClient) -> None:
    page = (await http.get("/_simulator")).text
    assert "Fix &lt;b&gt;typo&lt;/b&gt;" in page and "<b>typo</b>" not in page


async def test_page_hides_html_comments_as_github_does(
    world: World, http: httpx.AsyncClient
) -> None:
    world.fake.create_comment(
        world.pr.repo, 1, author=world.fake.bot, body="pong!\n<!-- marker:1 -->"
    )
    fragment = (await http.get("/_simulator/fragment")).text
    assert "pong!" in fragment and "marker:1" not in fragment


async def test_change_feed_counts_writes_not_reads(world: World, http: httpx.AsyncClient) -> None:
    feed = install_change_feed(world.fake)  # before the fake's first request
    await http.get("/_simulator/api/state")
    await http.post(COMMENT.format(number=1), json={"author": "zeke", "body": "hi"})
    assert feed.version == 1


async def test_change_feed_wakes_a_waiter_when_its_condition_comes_true(
    world: World, http: httpx.AsyncClient
) -> None:
    feed = install_change_feed(world.fake)  # before the fake's first request
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(feed.wait_until, lambda: world.pr.merged)
            await trio.testing.wait_all_tasks_blocked()  # the waiter is waiting
            await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
    assert world.pr.merged


async def test_change_feed_cannot_be_installed_once_the_fake_has_served(
    world: World, http: httpx.AsyncClient
) -> None:
    await http.get("/_simulator/api/state")
    with pytest.raises(RuntimeError):
        install_change_feed(world.fake)


async def test_a_fake_without_the_simulator_answers_its_paths_as_github_would() -> None:
    fake = FakeGitHub(private_key=generate_private_key())
    transport = httpx.ASGITransport(app=fake.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        response = await http.get("/_simulator/api/state")
    assert (response.status_code, response.json()["message"]) == (404, "Not Found")
