"""The fake GitHub checks app JWTs and installation tokens the way GitHub does."""

from __future__ import annotations

import email.utils
from collections.abc import Callable

import httpx
import pytest

from snekomatic.gh.sansio import encode_app_jwt
from snekomatic.gh.testing import generate_private_key
from snekomatic.gh.testing._auth import (
    EXP_MESSAGE,
    EXP_TOO_FAR_MESSAGE,
    IAT_MESSAGE,
    NO_INTEGRATION_MESSAGE,
    UNDECODABLE_MESSAGE,
)
from tests.gh.testing.builders import (
    APP_ID,
    T0,
    World,
    app_jwt,
    bearer,
    other_private_key,
    token_auth,
)


@pytest.fixture
def http_headers() -> dict[str, str]:
    return {}  # each test sends its own credentials, or none


async def mint(http: httpx.AsyncClient, world: World) -> httpx.Response:
    return await http.post(
        f"/app/installations/{world.installation.id}/access_tokens",
        headers=bearer(app_jwt(world.clock())),
    )


async def test_valid_app_jwt_is_accepted(http: httpx.AsyncClient, world: World) -> None:
    response = await http.get("/app", headers=bearer(app_jwt(world.clock())))
    assert response.status_code == 200
    assert response.json()["slug"] == world.fake.app_slug


@pytest.mark.parametrize(
    ("make_jwt", "message"),
    [
        (lambda now: app_jwt(now, iat_offset=-700), EXP_MESSAGE),
        (lambda now: app_jwt(now, iat_offset=120), IAT_MESSAGE),
        (lambda now: app_jwt(now, lifetime=3600), EXP_TOO_FAR_MESSAGE),
        (lambda now: app_jwt(now, iss=999), NO_INTEGRATION_MESSAGE),
        (lambda now: app_jwt(now, key=other_private_key()), UNDECODABLE_MESSAGE),
    ],
    ids=["expired", "issued-in-the-future", "lives-too-long", "wrong-iss", "wrong-key"],
)
async def test_bad_app_jwt_is_rejected_with_githubs_message(
    http: httpx.AsyncClient, world: World, make_jwt: Callable[[float], str], message: str
) -> None:
    response = await http.get("/app", headers=bearer(make_jwt(world.clock())))
    assert response.status_code == 401
    assert response.json()["message"] == message


async def test_jwt_made_with_a_skewed_clock_is_rejected_until_corrected(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.clock_skew = -3600.0  # GitHub's clock is an hour behind the client's
    rejected = await http.get("/app", headers=bearer(app_jwt(world.clock())))
    server_now = email.utils.parsedate_to_datetime(rejected.headers["date"]).timestamp()
    accepted = await http.get("/app", headers=bearer(app_jwt(server_now)))
    assert (rejected.status_code, rejected.json()["message"]) == (401, IAT_MESSAGE)
    assert accepted.status_code == 200


async def test_every_answer_carries_the_fake_clocks_date(
    http: httpx.AsyncClient, world: World
) -> None:
    response = await http.get("/users/contributor")
    assert response.headers["date"] == email.utils.formatdate(T0, usegmt=True)


async def test_missing_user_agent_is_forbidden(http: httpx.AsyncClient, world: World) -> None:
    del http.headers["User-Agent"]
    response = await http.get("/app", headers=bearer(app_jwt(world.clock())))
    assert response.status_code == 403
    assert "User-Agent" in response.json()["message"]


async def test_minted_token_has_githubs_shape_and_expiry(
    http: httpx.AsyncClient, world: World
) -> None:
    response = await mint(http, world)
    body = response.json()
    assert response.status_code == 201
    assert body["token"].startswith("ghs_") and len(body["token"]) >= 40
    assert body["expires_at"] == "2023-11-14T23:13:20Z"  # T0 + 1 h
    assert body["permissions"]["members"] == "write"


async def test_minted_token_opens_the_installations_repositories(
    http: httpx.AsyncClient, world: World
) -> None:
    token = (await mint(http, world)).json()["token"]
    response = await http.get("/repos/python-trio/trio", headers=token_auth(token))
    assert response.status_code == 200
    assert response.json()["full_name"] == "python-trio/trio"


async def test_token_expires_with_the_fake_clock(http: httpx.AsyncClient, world: World) -> None:
    token = (await mint(http, world)).json()["token"]
    world.clock.advance(3600)
    response = await http.get("/repos/python-trio/trio", headers=token_auth(token))
    assert (response.status_code, response.json()["message"]) == (401, "Bad credentials")


async def test_unknown_token_is_bad_credentials(http: httpx.AsyncClient) -> None:
    response = await http.get("/repos/python-trio/trio", headers=token_auth("ghs_" + "x" * 36))
    assert (response.status_code, response.json()["message"]) == (401, "Bad credentials")


async def test_installation_token_cannot_call_app_endpoints(
    http: httpx.AsyncClient, world: World
) -> None:
    token = (await mint(http, world)).json()["token"]
    response = await http.get("/app/installations", headers=token_auth(token))
    assert response.status_code == 401


async def test_token_cannot_write_to_another_accounts_repository(
    http: httpx.AsyncClient, world: World
) -> None:
    elsewhere = world.fake.add_repo(world.outsider, "toy")
    world.fake.open_issue(elsewhere, author=world.outsider)
    token = (await mint(http, world)).json()["token"]
    response = await http.post(
        "/repos/contributor/toy/issues/1/comments", json={"body": "hi"}, headers=token_auth(token)
    )
    assert (response.status_code, response.json()["message"]) == (
        403,
        "Resource not accessible by integration",
    )


async def test_token_cannot_see_another_accounts_private_repository(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.add_repo(world.outsider, "secret", private=True)
    token = (await mint(http, world)).json()["token"]
    response = await http.get("/repos/contributor/secret", headers=token_auth(token))
    assert response.status_code == 404


async def test_token_without_the_permission_is_refused(
    http: httpx.AsyncClient, world: World
) -> None:
    world.installation.permissions = {"metadata": "read", "members": "read"}
    token = (await mint(http, world)).json()["token"]
    response = await http.post(
        "/orgs/python-trio/invitations",
        json={"invitee_id": world.outsider.id},
        headers=token_auth(token),
    )
    assert response.status_code == 403


async def test_requests_are_recorded_without_credentials(
    http: httpx.AsyncClient, world: World
) -> None:
    jwt_text = app_jwt(world.clock())
    await http.get("/app", headers=bearer(jwt_text))
    (recorded,) = world.fake.requests_to("GET", "/app")
    assert recorded.headers["authorization"] == "Bearer"
    assert jwt_text not in repr(world.fake.requests)
    assert recorded.time == T0 and recorded.status == 200


async def test_graphql_viewer_is_the_apps_bot(http: httpx.AsyncClient, world: World) -> None:
    token = (await mint(http, world)).json()["token"]
    response = await http.post(
        "/graphql", json={"query": "query { viewer { login } }"}, headers=token_auth(token)
    )
    assert response.json() == {"data": {"viewer": {"login": "snekomatic-test[bot]"}}}


async def test_graphql_answers_unknown_queries_with_errors(
    http: httpx.AsyncClient, world: World
) -> None:
    token = (await mint(http, world)).json()["token"]
    response = await http.post(
        "/graphql", json={"query": '{ repository(name: "x") { id } }'}, headers=token_auth(token)
    )
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"]


async def test_fake_works_through_asgi_transport(world: World) -> None:
    transport = httpx.ASGITransport(app=world.fake.asgi)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://fake", headers={"User-Agent": "snekomatic-tests"}
    ) as client:
        response = await client.get("/users/contributor")
    assert response.json()["id"] == world.outsider.id


def test_private_key_is_generated_once_per_process() -> None:
    assert generate_private_key() is generate_private_key()


async def test_jwt_from_gh_sansio_is_accepted(http: httpx.AsyncClient, world: World) -> None:
    token, _ = encode_app_jwt(APP_ID, generate_private_key(), world.clock())
    response = await http.get("/app", headers=bearer(token))
    assert response.status_code == 200
