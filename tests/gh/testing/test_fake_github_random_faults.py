"""The fake GitHub's random-rate faults (``inject_random_faults``), ``mark_merged``, and serving the
fake from a thread of its own (``fake_github_thread``)."""

from __future__ import annotations

import httpx
import pytest

from snekomatic.gh.testing import FakeGitHub, fake_github_thread, generate_private_key
from tests.gh.testing.builders import World, open_world, token_auth

USER_AGENT = "snekomatic-tests"

REPO = "/repos/python-trio/trio"


@pytest.fixture
async def world(world: World) -> World:
    world.fake.token_lifetime = 7200.0
    return world


async def statuses(http: httpx.AsyncClient, n: int, path: str = REPO) -> list[int]:
    return [(await http.get(path)).status_code for _ in range(n)]


async def test_random_faults_strike_about_the_given_share_of_requests(
    http: httpx.AsyncClient, world: World
) -> None:
    fault = world.fake.inject_random_faults(kind="server_error", rate=0.2, seed=7)
    answers = await statuses(http, 400)
    struck = answers.count(502)
    assert 50 <= struck <= 110  # 80 expected; the bounds hold for any sane generator
    assert fault.taken == struck
    assert set(answers) == {200, 502}


async def test_the_same_seed_strikes_the_same_requests(world: World) -> None:
    patterns = []
    for _ in range(2):
        async with open_world() as fresh:
            fresh.fake.inject_random_faults(kind="server_error", rate=0.3, seed="soak")
            token = fresh.fake.mint_token(fresh.installation)
            async with httpx.AsyncClient(
                base_url=fresh.base_url,
                headers={"User-Agent": "snekomatic-tests", **token_auth(token)},
            ) as client:
                patterns.append(await statuses(client, 50))
    assert patterns[0] == patterns[1]
    assert 502 in patterns[0] and 200 in patterns[0]


async def test_random_secondary_limit_carries_its_retry_after(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.inject_random_faults(kind="secondary_rate_limit", rate=1.0, retry_after=2)
    response = await http.get(REPO)
    assert response.status_code == 403
    assert "secondary rate limit" in response.json()["message"]
    assert response.headers["retry-after"] == "2"


async def test_random_faults_spare_other_paths_and_stop_when_removed(
    http: httpx.AsyncClient, world: World
) -> None:
    fault = world.fake.inject_random_faults(
        "POST", REPO + "/issues/*", kind="server_error", rate=1.0, status=503
    )
    assert await statuses(http, 5) == [200] * 5
    assert fault.taken == 0
    world.fake.open_issue(world.repo, author=world.outsider)
    struck = await http.post(REPO + "/issues/1/comments", json={"body": "hi"})
    world.fake.random_faults.remove(fault)
    passed = await http.post(REPO + "/issues/1/comments", json={"body": "hi"})
    assert (struck.status_code, passed.status_code) == (503, 201)
    assert [c.body for c in world.fake.comments_on(world.repo, 1)] == ["hi"]


async def test_counted_faults_come_before_random_ones(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.inject_random_faults(kind="server_error", rate=1.0, status=500)
    world.fake.inject_fault("GET", REPO, kind="unauthorized")
    assert await statuses(http, 2) == [401, 500]


async def test_random_fault_rate_must_be_a_probability(world: World) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        world.fake.inject_random_faults(kind="server_error", rate=1.5)


async def test_mark_merged_merges_without_logging_a_delivery(world: World) -> None:
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    world.fake.mark_merged(pr, merged_by=world.member)
    assert pr.merged and pr.merged_by is world.member
    assert pr.issue.state == "closed"
    assert world.fake.deliveries == []


def test_fake_github_thread_answers_while_the_caller_blocks() -> None:
    # A fake of its own: served from the thread only, by a caller that is not in an event loop.
    fake = FakeGitHub(private_key=generate_private_key())
    org = fake.add_org("python-trio")
    member = fake.add_user("maintainer")
    fake.add_member(org, member)
    repo = fake.add_repo(org, "trio")
    fake.install(org)
    with fake_github_thread(fake) as hosted:
        assert fake.base_url == hosted.base_url
        user = hosted.call(fake.add_user, "newcomer")
        response = httpx.get(f"{hosted.base_url}/users/newcomer", headers={"User-Agent": USER_AGENT})
        pr = hosted.call(fake.open_pull_request, repo, author=user)
        delivery = hosted.call_async(fake.merge_pull_request, pr, merged_by=member)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert delivery is not None and delivery.event == "pull_request"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{hosted.base_url}/users/newcomer", headers={"User-Agent": USER_AGENT})
