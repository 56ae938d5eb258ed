"""The fake GitHub's rate-limit headers, ETags and injected faults."""

from __future__ import annotations

import httpx
import pytest

from snekomatic.gh.testing import FaultKind
from tests.gh.testing.builders import T0, World

REPO = "/repos/python-trio/trio"


@pytest.fixture
async def world(world: World) -> World:
    world.fake.token_lifetime = 7200.0
    return world


async def test_each_request_spends_one_from_the_installations_budget(
    http: httpx.AsyncClient,
) -> None:
    first = await http.get(REPO)
    second = await http.get(REPO)
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert [first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]] == [
        "4999",
        "4998",
    ]
    assert second.headers["x-ratelimit-used"] == "2"
    assert second.headers["x-ratelimit-resource"] == "core"
    assert second.headers["x-ratelimit-reset"] == str(int(T0 + 3600))


async def test_exhausted_budget_answers_403_until_the_reset(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.rate_window(world.installation).used = 5000
    refused = await http.get(REPO)
    world.clock.advance(3600)
    allowed = await http.get(REPO)
    assert (refused.status_code, refused.headers["x-ratelimit-remaining"]) == (403, "0")
    assert "rate limit exceeded" in refused.json()["message"]
    assert (allowed.status_code, allowed.headers["x-ratelimit-remaining"]) == (200, "4999")


async def test_matching_etag_answers_304_without_spending_budget(
    http: httpx.AsyncClient,
) -> None:
    first = await http.get(REPO)
    again = await http.get(REPO, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]


async def test_changed_resource_gets_a_new_etag(http: httpx.AsyncClient, world: World) -> None:
    world.fake.open_issue(world.repo, author=world.outsider)
    url = f"{REPO}/issues/1/comments"
    first = await http.get(url)
    world.fake.create_comment(world.repo, 1, author=world.member, body="new")
    again = await http.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert again.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    ("kind", "status", "message_part"),
    [
        ("server_error", 502, "Server Error"),
        ("secondary_rate_limit", 403, "secondary rate limit"),
        ("primary_rate_limit", 403, "rate limit exceeded"),
        ("unauthorized", 401, "Bad credentials"),
    ],
)
async def test_injected_fault_answers_once_then_the_route_recovers(
    http: httpx.AsyncClient, world: World, kind: FaultKind, status: int, message_part: str
) -> None:
    world.fake.inject_fault("GET", "/repos/*", kind=kind)
    faulted = await http.get(REPO)
    recovered = await http.get(REPO)
    assert faulted.status_code == status
    assert message_part in faulted.json()["message"]
    assert recovered.status_code == 200


async def test_secondary_limit_fault_carries_retry_after(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.inject_fault("GET", REPO, kind="secondary_rate_limit", retry_after=30)
    response = await http.get(REPO)
    assert response.headers["retry-after"] == "30"


async def test_primary_limit_fault_resets_in_the_future(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.inject_fault("GET", REPO, kind="primary_rate_limit", retry_after=120)
    response = await http.get(REPO)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-reset"] == str(int(T0 + 120))


async def test_server_error_fault_can_use_another_5xx(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.inject_fault("GET", REPO, kind="server_error", status=503)
    assert (await http.get(REPO)).status_code == 503


async def test_fault_applies_the_given_number_of_times(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.inject_fault("*", REPO, kind="server_error", times=2)
    statuses = [(await http.get(REPO)).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]


async def test_fault_spares_other_methods_and_paths(http: httpx.AsyncClient, world: World) -> None:
    world.fake.inject_fault("POST", REPO + "/issues/*", kind="server_error")
    assert (await http.get(REPO)).status_code == 200
    assert world.fake.faults[0].remaining == 1


async def test_rate_limit_endpoint_reports_without_spending(http: httpx.AsyncClient) -> None:
    await http.get(REPO)
    first = (await http.get("/rate_limit")).json()
    second = (await http.get("/rate_limit")).json()
    assert first["resources"]["core"]["remaining"] == 4999
    assert second["rate"] == first["rate"]
