"""The fake GitHub's App Manifest flow: the new-app page and ``POST /app-manifests/{code}/conversions``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest

from snekomatic.gh.testing import FakeClock, FakeGitHub, generate_private_key
from snekomatic.gh.testing._routes_manifest import CODE_LIFETIME, manifest_apps
from tests.gh.testing.builders import APP_ID, T0, World
from tests.log_scanner import remember_secret

REDIRECT = "http://127.0.0.1:8123/redirect"


def manifest(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "welcome-bot",
        "url": "https://example.org",
        "hook_attributes": {"url": "https://example.invalid/webhook/github"},
        "redirect_url": REDIRECT,
        "public": False,
        "default_permissions": {"issues": "write"},
        "default_events": ["issues"],
    }
    values.update(overrides)
    return values


@pytest.fixture
def http_headers() -> dict[str, str]:
    return {}  # the browser's side of the flow: no credentials


@pytest.fixture
async def fake(world: World) -> FakeGitHub:
    return world.fake


@pytest.fixture
async def clock(world: World) -> FakeClock:
    return world.clock


async def create(
    http: httpx.AsyncClient, path: str = "/settings/apps/new", **overrides: Any
) -> httpx.Response:
    return await http.post(
        path, params={"state": "s1"}, data={"manifest": json.dumps(manifest(**overrides))}
    )


def code_of(answer: httpx.Response) -> str:
    return httpx.URL(answer.headers["location"]).params["code"]


async def convert(http: httpx.AsyncClient, code: str) -> httpx.Response:
    answer = await http.post(f"/app-manifests/{code}/conversions")
    if answer.status_code == 201:
        remember_secret(answer.json()["pem"])
        remember_secret(answer.json()["webhook_secret"])
    return answer


def app_jwt(app_id: int, key: str) -> str:
    return jwt.encode({"iat": int(T0 - 60), "exp": int(T0 + 540), "iss": str(app_id)}, key, "RS256")


async def test_the_new_app_page_redirects_with_a_code_and_the_state(
    http: httpx.AsyncClient,
) -> None:
    answer = await create(http)
    assert answer.status_code == 302
    location = httpx.URL(answer.headers["location"])
    assert str(location.copy_with(query=None)) == REDIRECT
    assert location.params["state"] == "s1" and location.params["code"]


async def test_an_org_app_is_owned_by_the_org(http: httpx.AsyncClient, fake: FakeGitHub) -> None:
    await create(http, "/organizations/python-trio/settings/apps/new")
    (app,) = manifest_apps(fake)
    assert app.owner.login == "python-trio"


async def test_an_unknown_org_is_not_found(http: httpx.AsyncClient, fake: FakeGitHub) -> None:
    answer = await create(http, "/organizations/nobody/settings/apps/new")
    assert answer.status_code == 404
    assert manifest_apps(fake) == []


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"redirect_url": None}, id="no-redirect-url"),
        pytest.param({"hook_attributes": {}}, id="no-webhook-url"),
        pytest.param({"name": "x" * 35}, id="name-too-long"),
        pytest.param({"name": ""}, id="no-name"),
    ],
)
async def test_a_manifest_github_would_refuse_is_422(
    http: httpx.AsyncClient, fake: FakeGitHub, overrides: dict[str, Any]
) -> None:
    answer = await create(http, **overrides)
    assert answer.status_code == 422
    assert manifest_apps(fake) == []


async def test_a_name_taken_is_refused(http: httpx.AsyncClient) -> None:
    await create(http)
    assert (await create(http)).status_code == 422


async def test_the_conversion_answers_githubs_shape_with_a_new_key(
    http: httpx.AsyncClient,
) -> None:
    answer = await convert(http, code_of(await create(http)))
    assert answer.status_code == 201
    body = answer.json()
    assert {
        "id",
        "slug",
        "node_id",
        "owner",
        "name",
        "html_url",
        "pem",
        "webhook_secret",
        "client_id",
        "client_secret",
        "permissions",
        "events",
    } <= set(body)
    assert body["slug"] == "welcome-bot"
    assert body["permissions"] == {"metadata": "read", "issues": "write"}
    assert body["events"] == ["issues"]
    assert "PRIVATE KEY-----" in body["pem"] and body["pem"] != generate_private_key()


async def test_a_code_converts_only_once(http: httpx.AsyncClient) -> None:
    code = code_of(await create(http))
    await convert(http, code)
    assert (await convert(http, code)).status_code == 404


@pytest.mark.parametrize(
    ("age", "status"),
    [
        pytest.param(CODE_LIFETIME - 1, 201, id="within-the-hour"),
        pytest.param(CODE_LIFETIME, 404, id="after-an-hour"),
    ],
)
async def test_a_code_expires_after_an_hour(
    http: httpx.AsyncClient, clock: FakeClock, age: float, status: int
) -> None:
    code = code_of(await create(http))
    clock.advance(age)
    assert (await convert(http, code)).status_code == status


async def test_after_the_conversion_the_new_apps_jwt_is_accepted(
    http: httpx.AsyncClient,
) -> None:
    body = (await convert(http, code_of(await create(http)))).json()
    token = app_jwt(body["id"], body["pem"])
    answer = await http.get("/app", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["id"] == body["id"]


async def test_after_the_conversion_the_old_apps_jwt_is_refused(
    http: httpx.AsyncClient,
) -> None:
    await convert(http, code_of(await create(http)))
    token = app_jwt(APP_ID, generate_private_key())
    answer = await http.get("/app", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 401


async def test_the_new_app_is_installed_nowhere_and_the_old_apps_tokens_are_refused(
    http: httpx.AsyncClient, world: World
) -> None:
    old_token = world.fake.mint_token(world.installation)  # the old app is installed on python-trio
    body = (await convert(http, code_of(await create(http)))).json()
    jwt_header = {"authorization": f"Bearer {app_jwt(body['id'], body['pem'])}"}
    listed = await http.get("/app/installations", headers=jwt_header)
    old = await http.get("/orgs/python-trio", headers={"authorization": f"token {old_token}"})
    assert (listed.status_code, listed.json()) == (200, [])
    assert old.status_code == 401
