"""The GitHub simulator's endpoints and page, installed on a fake GitHub and reached through the
fake's ASGI app (no webhook URL set). What the page shows of the bot is tested with bot reports made
here (the records a bot's database would hold); tests/test_dev.py shows it with the real bot."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from snekomatic.dev import BotReport, BotStatus, install_change_feed, install_simulator
from snekomatic.gh.testing import FakeGitHub, FakeOrg, FakePullRequest, generate_private_key
from snekomatic.store import DeliveryStatus, DeliverySummary, Invitation
from snekomatic.webpage import FAVICON_LINK

MERGE = "/_simulator/api/repos/pit/hiss/pulls/{number}/merge"
COMMENT = "/_simulator/api/repos/pit/hiss/issues/{number}/comments"


@dataclass
class World:
    fake: FakeGitHub
    org: FakeOrg
    pr: FakePullRequest


def make_world(bot: Callable[[], Awaitable[BotReport]] | None = None) -> World:
    fake = FakeGitHub(private_key=generate_private_key())
    org = fake.add_org("pit")
    fake.add_member(org, fake.add_user("ada"), role="admin")  # may merge: she owns the organization
    fake.add_member(org, fake.add_user("bea"), state="pending")
    repo = fake.add_repo(org, "hiss")
    fake.install(org)
    pr = fake.open_pull_request(repo, author=fake.add_user("zeke"), title="Fix <b>typo</b>")
    install_simulator(fake, bot=bot)
    return World(fake, org, pr)


@pytest.fixture
def world() -> World:
    return make_world()


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


# -- who may merge ---------------------------------------------------------------------------------


@pytest.mark.parametrize("merger", ["zeke", "bea"], ids=["outsider", "pending-member"])
async def test_a_merge_by_someone_without_write_access_is_refused_and_changes_nothing(
    world: World, http: httpx.AsyncClient, merger: str
) -> None:
    response = await http.post(MERGE.format(number=1), json={"merged_by": merger})
    assert response.status_code == 403
    assert "write access" in response.json()["message"]
    assert (world.pr.merged, world.fake.deliveries) == (False, [])


async def test_a_collaborator_with_write_access_may_merge(
    world: World, http: httpx.AsyncClient
) -> None:
    guido = world.fake.add_user("guido")
    world.fake.add_collaborator(world.pr.repo, guido, permission="write")
    response = await http.post(MERGE.format(number=1), json={"merged_by": "guido"})
    assert response.status_code == 201
    assert world.pr.merged_by is guido


@pytest.mark.parametrize(
    ("acting", "disabled"), [("ada", False), ("zeke", True)], ids=["owner", "outsider"]
)
async def test_the_merge_button_is_the_acting_users_to_press_or_not(
    http: httpx.AsyncClient, acting: str, disabled: bool
) -> None:
    fragment = (await http.get("/_simulator/fragment", params={"as": acting})).text
    (button,) = re.findall(r'<button[^>]*data-testid="merge-button"[^>]*>', fragment)
    assert (" disabled" in button) is disabled


async def test_the_state_lists_who_may_merge(http: httpx.AsyncClient) -> None:
    (repo,) = (await http.get("/_simulator/api/state")).json()["repos"]
    assert repo["writers"] == ["ada"]


# -- how the page reads ----------------------------------------------------------------------------


async def test_comments_are_rendered_as_markdown_with_html_escaped(
    world: World, http: httpx.AsyncClient
) -> None:
    body = "Thanks **@zeke**!\n\n- one\n- two\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    world.fake.create_comment(world.pr.repo, 1, author=world.fake.bot, body=body)
    fragment = (await http.get("/_simulator/fragment")).text
    assert "<strong>@zeke</strong>" in fragment and "<li>one</li>" in fragment
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
    assert 'href="javascript:' not in fragment


async def test_the_page_has_a_favicon(http: httpx.AsyncClient) -> None:
    assert FAVICON_LINK in (await http.get("/_simulator")).text


async def test_each_webhook_shows_its_pull_request_and_time(
    world: World, http: httpx.AsyncClient
) -> None:
    await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
    (delivery,) = (await http.get("/_simulator/api/state")).json()["deliveries"]
    assert delivery["pull"] == "pit/hiss#1"
    assert dt.datetime.fromisoformat(delivery["delivered_at"]).tzinfo is not None


# -- when something stops --------------------------------------------------------------------------


async def test_the_page_and_its_fragment_carry_one_run_id(http: httpx.AsyncClient) -> None:
    page = await http.get("/_simulator")
    fragment = await http.get("/_simulator/fragment")
    run = page.headers["x-simulator-run"]
    assert fragment.headers["x-simulator-run"] == run
    assert f'const RUN = "{run}";' in page.text  # the script reloads when another run answers


async def test_another_run_has_another_id() -> None:
    ids = set()
    for _ in range(2):
        transport = httpx.ASGITransport(app=make_world().fake.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
            ids.add((await http.get("/_simulator/fragment")).headers["x-simulator-run"])
    assert len(ids) == 2


async def test_the_page_can_say_it_is_not_answering(http: httpx.AsyncClient) -> None:
    page = (await http.get("/_simulator")).text
    assert 'data-testid="offline" hidden' in page  # shown by the script when polling fails


async def test_a_webhook_the_bot_did_not_answer_is_said_on_the_page(
    world: World, http: httpx.AsyncClient
) -> None:
    world.fake.webhook_url = "http://127.0.0.1:9/webhook/github"  # nothing listens there
    with trio.fail_after(30):
        await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
        fragment = (await http.get("/_simulator/fragment")).text
    assert 'data-testid="webhook-unanswered"' in fragment


# -- what the bot did ------------------------------------------------------------------------------

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def stored(guid: str, status: DeliveryStatus, last_error: str | None = None) -> DeliverySummary:
    return DeliverySummary(
        id=1,
        hook_id=1,
        delivery_id=guid,
        event="pull_request",
        action="closed",
        installation_id=1,
        received_at=NOW,
        status=status,
        attempts=1,
        next_attempt_at=NOW,
        lease_owner=None,
        lease_expires_at=None,
        last_error=last_error,
        finished_at=NOW,
    )


class Reports:
    """The bot reports a test serves the simulator, one ``report`` per request."""

    def __init__(self) -> None:
        self.current = BotReport(status=BotStatus.RUNNING)

    async def __call__(self) -> BotReport:
        return self.current


async def after_a_merge(
    build: Callable[[World, str], BotReport], path: str = "/_simulator/api/state"
) -> httpx.Response:
    """Merge #1 as ada, have the bot report what ``build`` makes of it, and GET ``path``."""
    reports = Reports()
    world = make_world(bot=reports)
    transport = httpx.ASGITransport(app=world.fake.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        await http.post(MERGE.format(number=1), json={"merged_by": "ada"})
        delivery = world.fake.deliveries[-1]
        delivery.status_code, delivery.status = 202, "OK"  # as a bot would have answered it
        reports.current = build(world, delivery.guid)
        return await http.get(path)


async def merged_with_report(build: Callable[[World, str], BotReport]) -> dict[str, Any]:
    state: dict[str, Any] = (await after_a_merge(build)).json()
    return state


def invited(world: World, guid: str) -> BotReport:
    invitation = Invitation(
        org_id=world.org.id,
        user_id=world.pr.author.id,
        org_login="pit",
        user_login="zeke",
        state="commented",
        updated_at=NOW,
        pr_url=world.fake.deliveries[-1].payload["pull_request"]["html_url"],
    )
    return BotReport(
        status=BotStatus.RUNNING,
        deliveries={guid: stored(guid, DeliveryStatus.DONE)},
        invitations={(world.org.id, world.pr.author.id): invitation},
    )


async def test_a_merge_shows_the_bots_decision_and_the_webhook_its_outcome() -> None:
    state = await merged_with_report(invited)
    (pull,) = state["repos"][0]["pulls"]
    assert pull["decision"] == {
        "kind": "invited",
        "text": "invited: invited zeke to pit and thanked them in a comment",
    }
    assert state["deliveries"][0]["outcome"] == "processed"


async def test_a_failed_delivery_shows_as_the_merges_decision() -> None:
    def dead(world: World, guid: str) -> BotReport:
        failed = stored(guid, DeliveryStatus.DEAD, last_error="MissingPermission: members")
        return BotReport(status=BotStatus.RUNNING, deliveries={guid: failed})

    state = await merged_with_report(dead)
    decision = state["repos"][0]["pulls"][0]["decision"]
    assert decision == {"kind": "failed", "text": "failed: MissingPermission: members"}


async def test_the_decision_shows_on_the_page_beside_the_merge() -> None:
    fragment = (await after_a_merge(invited, "/_simulator/fragment")).text
    assert re.search(
        r'data-testid="decision" data-pr="pit/hiss#1" data-kind="invited">.*invited zeke to pit',
        fragment,
    )


async def test_a_bot_that_is_not_running_is_said_and_no_decision_is_guessed() -> None:
    def stopped(world: World, guid: str) -> BotReport:
        return BotReport(status=BotStatus.STOPPED, problem="the bot has stopped")

    state = await merged_with_report(stopped)
    assert state["bot"] == {"status": "stopped", "problem": "the bot has stopped"}
    assert state["repos"][0]["pulls"][0]["decision"]["kind"] == "undecided"
    assert state["deliveries"][0]["outcome"] is None
