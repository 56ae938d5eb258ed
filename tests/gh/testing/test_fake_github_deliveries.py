"""The fake GitHub emits webhooks, logs every delivery, and redelivers with the same guid."""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from snekomatic.gh.testing import serve_asgi
from tests.gh.testing.builders import WebhookReceiver, World, app_jwt, bearer
from tests.loopback import free_port


@pytest.fixture
def http_headers() -> dict[str, str]:
    return {}  # the app's endpoints: each test sends its JWT


@pytest.fixture
async def receiver(nursery: trio.Nursery, world: World) -> WebhookReceiver:
    receiver = WebhookReceiver()
    base_url = await nursery.start(serve_asgi, receiver.app())
    world.fake.webhook_url = f"{base_url}/webhook"
    return receiver


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/webhook"


async def test_merge_delivers_a_signed_pull_request_closed(
    world: World, receiver: WebhookReceiver
) -> None:
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    with trio.fail_after(10):
        delivery = await world.fake.merge_pull_request(pr, merged_by=world.member)
    ((headers, body),) = receiver.received
    assert delivery is not None
    assert (delivery.event, delivery.action, delivery.status_code, delivery.status) == (
        "pull_request",
        "closed",
        200,
        "OK",
    )
    assert headers["x-github-event"] == "pull_request"
    assert headers["x-github-delivery"] == delivery.guid
    assert headers["x-hub-signature-256"].startswith("sha256=")
    assert json.loads(body)["pull_request"]["merged"] is True


async def test_failed_answer_is_logged_with_its_status(
    world: World, receiver: WebhookReceiver
) -> None:
    receiver.status = 503
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    with trio.fail_after(10):
        delivery = await world.fake.merge_pull_request(pr, merged_by=world.member)
    assert delivery is not None
    assert (delivery.status_code, delivery.status) == (503, "Invalid HTTP Response: 503")


async def test_unreachable_receiver_is_logged_as_status_0(world: World) -> None:
    world.fake.webhook_url = closed_port_url()
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    with trio.fail_after(10):
        delivery = await world.fake.merge_pull_request(pr, merged_by=world.member)
    assert delivery is not None
    assert (delivery.status_code, delivery.status) == (0, "failed to connect to host")
    assert world.fake.deliveries == [delivery]


async def test_comment_delivers_issue_comment_created(
    world: World, receiver: WebhookReceiver
) -> None:
    world.fake.open_issue(world.repo, author=world.outsider)
    with trio.fail_after(10):
        comment = await world.fake.add_comment(world.repo, 1, author=world.outsider, body="/ping")
    ((headers, body),) = receiver.received
    assert headers["x-github-event"] == "issue_comment"
    payload = json.loads(body)
    assert (payload["action"], payload["comment"]["id"]) == ("created", comment.id)


async def test_repository_without_installation_emits_nothing(world: World) -> None:
    elsewhere = world.fake.add_repo(world.outsider, "toy")
    pr = world.fake.open_pull_request(elsewhere, author=world.outsider)
    assert await world.fake.merge_pull_request(pr, merged_by=world.outsider) is None
    assert world.fake.deliveries == []


async def test_delivery_log_is_paginated_newest_first_by_cursor(
    http: httpx.AsyncClient, world: World
) -> None:
    for _ in range(5):
        pr = world.fake.open_pull_request(world.repo, author=world.outsider)
        await world.fake.merge_pull_request(pr, merged_by=world.member)
    headers = bearer(app_jwt(world.clock()))
    seen: list[int] = []
    url: str | None = "/app/hook/deliveries?per_page=2"
    while url is not None:
        response = await http.get(url, headers=headers)
        seen += [d["id"] for d in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == sorted((d.id for d in world.fake.deliveries), reverse=True)
    assert (
        "cursor="
        in (await http.get("/app/hook/deliveries?per_page=2", headers=headers)).links["next"]["url"]
    )


async def test_delivery_log_entry_has_githubs_fields(http: httpx.AsyncClient, world: World) -> None:
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    delivery = await world.fake.merge_pull_request(pr, merged_by=world.member)
    assert delivery is not None
    response = await http.get("/app/hook/deliveries", headers=bearer(app_jwt(world.clock())))
    (entry,) = response.json()
    assert entry["guid"] == delivery.guid
    assert entry["installation_id"] == world.installation.id
    assert entry["repository_id"] == world.repo.id
    assert entry["redelivery"] is False


async def test_delivery_detail_shows_the_payload(http: httpx.AsyncClient, world: World) -> None:
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    delivery = await world.fake.merge_pull_request(pr, merged_by=world.member)
    assert delivery is not None
    response = await http.get(
        f"/app/hook/deliveries/{delivery.id}", headers=bearer(app_jwt(world.clock()))
    )
    assert response.json()["request"]["payload"] == delivery.payload


async def test_redelivery_resends_with_the_same_guid(
    http: httpx.AsyncClient, world: World, receiver: WebhookReceiver
) -> None:
    receiver.status = 500
    pr = world.fake.open_pull_request(world.repo, author=world.outsider)
    original = await world.fake.merge_pull_request(pr, merged_by=world.member)
    assert original is not None
    receiver.status = 200
    with trio.fail_after(10):
        response = await http.post(
            f"/app/hook/deliveries/{original.id}/attempts",
            headers=bearer(app_jwt(world.clock())),
        )
    attempt = world.fake.deliveries[-1]
    assert response.status_code == 202
    assert (attempt.redelivery, attempt.guid, attempt.status_code) == (True, original.guid, 200)
    assert [h["x-github-delivery"] for h, _ in receiver.received] == [original.guid] * 2


async def test_redelivery_of_an_unknown_delivery_is_404(
    http: httpx.AsyncClient, world: World
) -> None:
    response = await http.post(
        "/app/hook/deliveries/1/attempts", headers=bearer(app_jwt(world.clock()))
    )
    assert response.status_code == 404
