"""The fake GitHub's organizations: members, memberships and invitations, with GitHub's 422s."""

from __future__ import annotations

import httpx
import pytest

from tests.gh.testing.builders import World

DAY = 24 * 3600


@pytest.fixture
async def world(world: World) -> World:
    world.fake.invitation_daily_limit = 2
    world.fake.token_lifetime = 7 * DAY  # tokens outlive the test so the clock can move by days
    return world


async def invite(http: httpx.AsyncClient, user_id: int) -> httpx.Response:
    return await http.post("/orgs/python-trio/invitations", json={"invitee_id": user_id})


@pytest.mark.parametrize(
    ("state", "status"),
    [("active", 204), ("pending", 404), (None, 404)],
    ids=["active-member", "pending-member", "stranger"],
)
async def test_member_check_is_204_for_active_members_only(
    http: httpx.AsyncClient, world: World, state: str | None, status: int
) -> None:
    if state is not None:
        world.fake.add_member(world.org, world.outsider, state=state)  # type: ignore[arg-type]
    response = await http.get("/orgs/python-trio/members/contributor")
    assert response.status_code == status


@pytest.mark.parametrize("state", ["active", "pending"])
async def test_membership_reports_its_state(
    http: httpx.AsyncClient, world: World, state: str
) -> None:
    world.fake.add_member(world.org, world.outsider, state=state)  # type: ignore[arg-type]
    response = await http.get("/orgs/python-trio/memberships/contributor")
    body = response.json()
    assert response.status_code == 200
    assert (body["state"], body["user"]["login"], body["organization"]["login"]) == (
        state,
        "contributor",
        "python-trio",
    )


async def test_membership_of_a_stranger_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/orgs/python-trio/memberships/contributor")
    assert response.status_code == 404


async def test_invitation_makes_the_invitee_pending(http: httpx.AsyncClient, world: World) -> None:
    response = await invite(http, world.outsider.id)
    assert response.status_code == 201
    assert response.json()["login"] == "contributor"
    assert world.fake.membership_state(world.org, world.outsider) == "pending"
    (invitation,) = world.fake.invitations_for(world.org)
    assert invitation.invitee is world.outsider and invitation.inviter is world.fake.bot


async def test_put_membership_invites_a_stranger(http: httpx.AsyncClient, world: World) -> None:
    response = await http.put("/orgs/python-trio/memberships/contributor", json={"role": "member"})
    assert (response.status_code, response.json()["state"]) == (200, "pending")
    assert len(world.fake.invitations_for(world.org)) == 1


@pytest.mark.parametrize("state", ["active", "pending"], ids=["member", "already-invited"])
async def test_inviting_a_member_or_invitee_is_422(
    http: httpx.AsyncClient, world: World, state: str
) -> None:
    world.fake.add_member(world.org, world.outsider, state=state)  # type: ignore[arg-type]
    response = await invite(http, world.outsider.id)
    body = response.json()
    assert response.status_code == 422
    assert body["message"] == "Validation Failed"
    assert body["errors"][0]["resource"] == "OrganizationInvitation"
    assert world.fake.invitations_for(world.org) == []


async def test_invitations_over_the_daily_limit_are_422(
    http: httpx.AsyncClient, world: World
) -> None:
    for login in ("a", "b"):
        assert (await invite(http, world.fake.add_user(login).id)).status_code == 201
    response = await invite(http, world.outsider.id)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "resource": "OrganizationInvitation",
            "code": "unprocessable",
            "field": "data",
            "message": "Over invitation rate limit",
        }
    ]


async def test_daily_limit_frees_up_after_a_day(http: httpx.AsyncClient, world: World) -> None:
    for login in ("a", "b"):
        await invite(http, world.fake.add_user(login).id)
    world.clock.advance(DAY)
    response = await invite(http, world.outsider.id)
    assert response.status_code == 201


async def test_invitation_of_an_unknown_user_id_is_422(http: httpx.AsyncClient) -> None:
    response = await invite(http, 12345)
    assert response.status_code == 422


async def test_members_are_listed_with_pagination(http: httpx.AsyncClient, world: World) -> None:
    for login in ("a", "b", "c"):
        world.fake.add_member(world.org, world.fake.add_user(login))
    first = await http.get("/orgs/python-trio/members", params={"per_page": 2})
    second = await http.get(first.links["next"]["url"])
    logins = [u["login"] for u in first.json() + second.json()]
    assert logins == ["maintainer", "a", "b", "c"]


async def test_pending_invitations_are_listed(http: httpx.AsyncClient, world: World) -> None:
    await invite(http, world.outsider.id)
    response = await http.get("/orgs/python-trio/invitations")
    assert [i["login"] for i in response.json()] == ["contributor"]
