"""The webhook endpoint's status-code matrix (CONTRACT.md), over real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from functools import partial
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import trio

from snekomatic.gh.errors import PayloadTooLarge
from snekomatic.gh.sansio import Envelope, signature_for
from snekomatic.inbox import InboxUnavailable
from snekomatic.runtime import create_app, serve_http
from snekomatic.runtime._web import read_body_capped
from tests.payloads import load_payload

SECRET = b"webhook-secret"


class Inbox:
    """Records what the endpoint hands over; can pretend the database is down."""

    def __init__(self) -> None:
        self.accepted: list[Envelope] = []
        self.seen: set[str] = set()
        self.down = False

    async def accept(self, event: Envelope, headers: Mapping[str, str], body: bytes) -> bool:
        if self.down:
            raise InboxUnavailable("database down")
        self.accepted.append(event)
        is_new = event.delivery_id not in self.seen
        self.seen.add(event.delivery_id)
        return is_new

    async def database_ok(self) -> bool:
        return not self.down


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def client(inbox: Inbox) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        secrets=[b"old-secret", SECRET], accept=inbox.accept, database_ok=inbox.database_ok
    )
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve_http, app, host="127.0.0.1", port=0))
        async with httpx.AsyncClient(base_url=binds[0]) as http:
            yield http
        nursery.cancel_scope.cancel()


def signed(
    body: bytes, *, event: str = "pull_request", delivery: str = "d-1", **extra: str
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "42",
        "X-Hub-Signature-256": signature_for(body, SECRET),
    }
    headers.update(extra)
    return headers


PR_CLOSED = json.dumps(load_payload("pull_request", "closed.with-organization")).encode()


async def test_home_page_names_the_bot(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "snekomatic" in response.text


async def test_healthz_follows_the_database(client: httpx.AsyncClient, inbox: Inbox) -> None:
    assert (await client.get("/healthz")).status_code == 200
    inbox.down = True
    assert (await client.get("/healthz")).status_code == 503


async def test_a_valid_delivery_is_accepted_and_handed_to_the_inbox(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    response = await client.post("/webhook/github", content=PR_CLOSED, headers=signed(PR_CLOSED))
    assert response.status_code == 202
    assert [(e.event, e.action, e.delivery_id, e.hook_id) for e in inbox.accepted] == [
        ("pull_request", "closed", "d-1", 42)
    ]


async def test_a_duplicate_delivery_is_acknowledged_as_such(client: httpx.AsyncClient) -> None:
    first = await client.post("/webhook/github", content=PR_CLOSED, headers=signed(PR_CLOSED))
    second = await client.post("/webhook/github", content=PR_CLOSED, headers=signed(PR_CLOSED))
    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)


async def test_a_delivery_signed_with_the_previous_secret_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    headers = signed(PR_CLOSED, **{"X-Hub-Signature-256": signature_for(PR_CLOSED, b"old-secret")})
    assert (
        await client.post("/webhook/github", content=PR_CLOSED, headers=headers)
    ).status_code == 202


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


BAD_SIGNATURES: dict[str, Any] = {
    "missing": lambda h: _without(h, "X-Hub-Signature-256"),
    "wrong": lambda h: {**h, "X-Hub-Signature-256": signature_for(PR_CLOSED, b"not-the-secret")},
    "malformed": lambda h: {**h, "X-Hub-Signature-256": "sha256"},
    "non-hex": lambda h: {**h, "X-Hub-Signature-256": "sha256=" + "zz" * 32},
    "wrong-length": lambda h: {**h, "X-Hub-Signature-256": "sha256=abcd"},
    "sha1-only": lambda h: {
        **_without(h, "X-Hub-Signature-256"),
        "X-Hub-Signature": "sha1=" + "0" * 40,
    },
}


@pytest.mark.parametrize("mutate", BAD_SIGNATURES.values(), ids=BAD_SIGNATURES.keys())
async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, inbox: Inbox, mutate: Any
) -> None:
    response = await client.post(
        "/webhook/github", content=PR_CLOSED, headers=mutate(signed(PR_CLOSED))
    )
    assert response.status_code in (401, 403)
    assert inbox.accepted == []


async def test_a_non_ascii_signature_header_is_refused_not_500(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    headers = [
        (k.encode(), v.encode()) for k, v in signed(PR_CLOSED).items() if k != "X-Hub-Signature-256"
    ]
    headers.append((b"X-Hub-Signature-256", "sha256=é".encode() + b"0" * 63))
    response = await client.post("/webhook/github", content=PR_CLOSED, headers=headers)
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_a_missing_github_header_is_a_bad_request(
    client: httpx.AsyncClient, header: str
) -> None:
    headers = _without(signed(PR_CLOSED), header)
    assert (
        await client.post("/webhook/github", content=PR_CLOSED, headers=headers)
    ).status_code == 400


async def test_malformed_json_with_a_valid_signature_is_a_bad_request(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"action": "closed",'
    assert (
        await client.post("/webhook/github", content=body, headers=signed(body))
    ).status_code == 400


async def test_an_unsupported_content_type_is_refused(client: httpx.AsyncClient) -> None:
    headers = signed(PR_CLOSED, **{"Content-Type": "text/plain"})
    assert (
        await client.post("/webhook/github", content=PR_CLOSED, headers=headers)
    ).status_code == 415


async def test_a_form_encoded_delivery_is_accepted(client: httpx.AsyncClient, inbox: Inbox) -> None:
    body = urlencode({"payload": PR_CLOSED.decode()}).encode()
    headers = signed(body, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert (await client.post("/webhook/github", content=body, headers=headers)).status_code == 202
    assert inbox.accepted[0].action == "closed"
    assert inbox.accepted[0].installation_id == json.loads(PR_CLOSED)["installation"]["id"]


async def test_an_oversized_body_is_refused_while_streaming(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * (1024 * 1024)

    # No Content-Length: the limit must be enforced while reading, not by a declared length.
    response = await client.post("/webhook/github", content=chunks(), headers=signed(b""))
    assert response.status_code == 413
    assert inbox.accepted == []


async def test_a_declared_oversized_body_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    body = b"x" * (25 * 1024 * 1024 + 1)
    response = await client.post("/webhook/github", content=body, headers=signed(body))
    assert response.status_code == 413


async def test_database_down_answers_503_so_github_records_a_failure(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    inbox.down = True
    response = await client.post("/webhook/github", content=PR_CLOSED, headers=signed(PR_CLOSED))
    assert response.status_code == 503


async def test_get_on_the_webhook_route_is_method_not_allowed(client: httpx.AsyncClient) -> None:
    assert (await client.get("/webhook/github")).status_code == 405


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        pytest.param("ping", load_payload("ping", "with-app_id"), id="ping"),
        pytest.param("some_future_event", {"action": "invented"}, id="unknown-event"),
    ],
)
async def test_ping_and_unknown_events_are_acknowledged(
    client: httpx.AsyncClient, event: str, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    response = await client.post("/webhook/github", content=body, headers=signed(body, event=event))
    assert response.status_code == 202


async def test_reading_stops_as_soon_as_the_limit_is_passed() -> None:
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    with pytest.raises(PayloadTooLarge):
        await read_body_capped(receive, None, limit=10_000)
    assert received == 11  # the stream would go on forever; we read one chunk past the limit


@pytest.mark.parametrize(
    ("body", "delivery"),
    [
        (json.dumps({"installation": {"id": 10**30}}).encode(), "d-1"),
        (b'{"installation": {"id": 1}, "v": %s}' % (b"9" * 5000), "d-1"),
        (PR_CLOSED, "d" * 12_000),
    ],
    ids=["installation-id-10-to-the-30", "five-thousand-digit-integer", "12-KB-delivery-id"],
)
async def test_a_delivery_that_can_never_be_stored_or_decoded_is_a_bad_request_not_retry_later(
    client: httpx.AsyncClient, inbox: Inbox, body: bytes, delivery: str
) -> None:
    response = await client.post(
        "/webhook/github", content=body, headers=signed(body, delivery=delivery)
    )
    assert response.status_code == 400
    assert inbox.accepted == []
