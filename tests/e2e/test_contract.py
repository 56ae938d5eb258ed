"""The black-box contract (../shared/CONTRACT.md) checked against a real ``snekomatic serve`` process.

HTTP: the routes and the webhook status-code matrix. GitHub API: the invite flow calls only the
endpoints the contract lists, with the configured User-Agent, and installation tokens minted with an
RS256 app JWT and reused. One backend (SQLite) is enough here: this is about the outside, not storage.
Requests are built from the real payload examples (``tests/payloads.py``) with ``build_webhook_request``,
then spoiled one header or byte at a time.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Callable

import httpx
import jwt
import pytest
import trio
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from snekomatic.gh.sansio import WEBHOOK_MAX_BODY_BYTES, signature_for
from snekomatic.gh.testing import build_webhook_request, generate_private_key
from tests.e2e.conftest import APP_ID, USER_AGENT, Deployment
from tests.payloads import load_payload

FLOW_SECONDS = 20
PAYLOAD = load_payload("pull_request", "labeled.with-organization")


@pytest.fixture
def deployment(sqlite_deployment: Deployment) -> Deployment:
    return sqlite_deployment


@pytest.fixture
def http_base_url(deployment: Deployment) -> str:
    return deployment.serve.base_url


def signed(
    deployment: Deployment, event: str = "pull_request", payload: object = PAYLOAD
) -> tuple[dict[str, str], bytes]:
    return build_webhook_request(
        event,
        payload,  # type: ignore[arg-type]
        secret=deployment.fake.webhook_secret,
        delivery_id=str(uuid.uuid4()),
    )


async def test_home_page_names_snekomatic(http: httpx.AsyncClient) -> None:
    response = await http.get("/")
    assert response.status_code == 200
    assert "snekomatic" in response.text


async def test_healthz_answers_200_with_the_database_up(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200


async def test_get_on_the_webhook_route_is_405(http: httpx.AsyncClient) -> None:
    assert (await http.get("/webhook/github")).status_code == 405


async def test_signed_delivery_is_accepted_within_a_second(
    deployment: Deployment, http: httpx.AsyncClient
) -> None:
    headers, body = signed(deployment)
    started = trio.current_time()
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert 200 <= response.status_code < 300
    assert trio.current_time() - started < 1.0


async def test_form_encoded_delivery_is_accepted(
    deployment: Deployment, http: httpx.AsyncClient
) -> None:
    headers, body = build_webhook_request(
        "pull_request",
        PAYLOAD,
        secret=deployment.fake.webhook_secret,
        delivery_id=str(uuid.uuid4()),
        content_type="application/x-www-form-urlencoded",
    )
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert 200 <= response.status_code < 300


def _without_signature(headers: dict[str, str], body: bytes) -> None:
    del headers["X-Hub-Signature-256"]


def _wrong_secret(headers: dict[str, str], body: bytes) -> None:
    headers["X-Hub-Signature-256"] = signature_for(body, b"not the secret")


def _sha1_only(headers: dict[str, str], body: bytes) -> None:
    del headers["X-Hub-Signature-256"]
    headers["X-Hub-Signature"] = "sha1=" + "0" * 40


def _non_hex(headers: dict[str, str], body: bytes) -> None:
    headers["X-Hub-Signature-256"] = "sha256=" + "z" * 64


def _no_algorithm(headers: dict[str, str], body: bytes) -> None:
    headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].removeprefix("sha256=")


SIGNATURE_SPOILERS: dict[str, Callable[[dict[str, str], bytes], None]] = {
    "missing": _without_signature,
    "wrong-secret": _wrong_secret,
    "sha1-only": _sha1_only,
    "non-hex": _non_hex,
    "no-algorithm": _no_algorithm,
}


@pytest.mark.parametrize("spoil", SIGNATURE_SPOILERS.values(), ids=SIGNATURE_SPOILERS.keys())
async def test_bad_signature_is_refused_with_401_or_403(
    deployment: Deployment,
    http: httpx.AsyncClient,
    spoil: Callable[[dict[str, str], bytes], None],
) -> None:
    headers, body = signed(deployment)
    spoil(headers, body)
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert response.status_code in (401, 403)


async def test_non_ascii_signature_is_refused_with_401_or_403(
    deployment: Deployment, http: httpx.AsyncClient
) -> None:
    headers, body = signed(deployment)
    raw = {name.encode(): value.encode() for name, value in headers.items()}
    raw[b"X-Hub-Signature-256"] = "sha256=é".encode() + b"0" * 62
    response = await http.post("/webhook/github", content=body, headers=raw)
    assert response.status_code in (401, 403)


async def test_body_changed_after_signing_is_refused_with_401_or_403(
    deployment: Deployment, http: httpx.AsyncClient
) -> None:
    headers, body = signed(deployment)
    response = await http.post("/webhook/github", content=body + b" ", headers=headers)
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_missing_event_or_delivery_header_is_400(
    deployment: Deployment, http: httpx.AsyncClient, header: str
) -> None:
    headers, body = signed(deployment)
    del headers[header]
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert response.status_code == 400


async def test_malformed_json_with_a_valid_signature_is_400(
    deployment: Deployment, http: httpx.AsyncClient
) -> None:
    headers, body = signed(deployment)
    broken = body[: len(body) // 2]
    headers["X-Hub-Signature-256"] = signature_for(broken, deployment.fake.webhook_secret.encode())
    response = await http.post("/webhook/github", content=broken, headers=headers)
    assert response.status_code == 400


async def test_body_over_25_mib_is_413(deployment: Deployment, http: httpx.AsyncClient) -> None:
    headers, _ = signed(deployment)
    body = b" " * (WEBHOOK_MAX_BODY_BYTES + 1)
    headers["X-Hub-Signature-256"] = signature_for(body, deployment.fake.webhook_secret.encode())
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert response.status_code == 413


async def test_other_content_type_is_415(deployment: Deployment, http: httpx.AsyncClient) -> None:
    headers, body = signed(deployment)
    headers["Content-Type"] = "text/plain"
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert response.status_code == 415


NO_SIDE_EFFECT = {
    "ping": ("ping", load_payload("ping", "with-app_id")),
    "unknown-event": ("star", load_payload("star", "created")),
    "unknown-action": ("pull_request", PAYLOAD),
}


@pytest.mark.parametrize(("event", "payload"), NO_SIDE_EFFECT.values(), ids=NO_SIDE_EFFECT.keys())
async def test_ping_and_unknown_events_are_accepted_with_no_side_effect(
    deployment: Deployment, http: httpx.AsyncClient, event: str, payload: dict[str, object]
) -> None:
    start = await deployment.request_count()
    headers, body = signed(deployment, event, payload)
    response = await http.post("/webhook/github", content=body, headers=headers)
    assert 200 <= response.status_code < 300
    with trio.fail_after(FLOW_SECONDS):
        assert await deployment.wait_finished(headers["X-GitHub-Delivery"]) == "done"
    calls = await deployment.requests_since(start)
    assert [
        f"{r.method} {r.path}"
        for r in calls
        if not fnmatch.fnmatchcase(r.path, "/app/installations/*/access_tokens")
        and r.path != "/app/hook/deliveries"  # the redelivery sweep, on its own schedule
    ] == []


async def test_invite_flow_calls_only_the_endpoints_the_contract_lists(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    start = await deployment.request_count()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    org, login = world.org.account.login, world.contributor.login
    comments = f"/repos/{world.repo.full_name}/issues/{pr.number}/comments"
    allowed = {
        ("POST", f"/app/installations/{world.installation.id}/access_tokens"),
        ("GET", f"/orgs/{org}/memberships/{login}"),
        ("GET", f"/orgs/{org}/members/{login}"),
        ("POST", f"/orgs/{org}/invitations"),
        ("PUT", f"/orgs/{org}/memberships/{login}"),
        ("GET", f"/orgs/{org}/invitations"),
        ("GET", comments),
        ("POST", comments),
    }
    called = {
        (r.method, r.path)
        for r in await deployment.requests_since(start)
        if r.path != "/app/hook/deliveries"  # the redelivery sweep, on its own schedule
    }
    assert called <= allowed
    assert ("POST", f"/orgs/{org}/invitations") in called
    assert ("POST", comments) in called


async def test_every_api_call_carries_the_configured_user_agent(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    with trio.fail_after(FLOW_SECONDS):
        _, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    agents = {r.headers.get("user-agent") for r in await deployment.requests_since(0)}
    assert agents == {USER_AGENT}


async def test_installation_tokens_are_minted_with_an_rs256_app_jwt(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    with trio.fail_after(FLOW_SECONDS):
        _, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    authorizations = await deployment.host.run(
        lambda: list(deployment.host.hooks.mint_authorizations)
    )
    assert authorizations
    public_key = load_pem_private_key(generate_private_key().encode(), None).public_key()
    for authorization in authorizations:
        scheme, token = authorization.split(" ", 1)
        assert scheme.lower() == "bearer"
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        claims = jwt.decode(token, public_key, algorithms=["RS256"])  # type: ignore[arg-type]
        assert claims["iss"] in (APP_ID, str(APP_ID))
        assert 0 < claims["exp"] - claims["iat"] <= 660


async def test_one_installation_token_serves_several_deliveries(deployment: Deployment) -> None:
    world = await deployment.world()
    other = await deployment.user("contributor")
    with trio.fail_after(FLOW_SECONDS):
        deliveries = [
            (await deployment.merge(world, author))[1] for author in [world.contributor, other]
        ]
        for delivery in deliveries:
            assert await deployment.wait_finished(delivery.guid) == "done"
    assert len(await deployment.invitees(world)) == 2
    mints = [
        r
        for r in await deployment.requests_since(0)
        if r.path == f"/app/installations/{world.installation.id}/access_tokens"
    ]
    assert len(mints) == 1
