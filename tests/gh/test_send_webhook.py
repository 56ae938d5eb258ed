"""send_webhook delivers signed webhooks as GitHub does; build_webhook_request builds the exact bytes."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import snekomatic.gh
import snekomatic.gh.testing
from snekomatic.gh.errors import InvalidSignature
from snekomatic.gh.sansio import parse_webhook, signature_for
from snekomatic.gh.webhook_sender import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    build_webhook_request,
    send_webhook,
)

SECRET = "It's a Secret to Everybody"
PAYLOAD = {"action": "created", "comment": {"body": "Merci, José ✨"}, "installation": {"id": 77}}
CONTENT_TYPES = [
    pytest.param(JSON_CONTENT_TYPE, id="json"),
    pytest.param(FORM_CONTENT_TYPE, id="form"),
]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """A tiny webhook receiver: checks the signature over the raw body and records what arrived."""

    secret: str
    deliveries: list[Delivery] = field(default_factory=list)

    async def webhook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        expected = signature_for(body, self.secret.encode())
        ok = headers.get("x-hub-signature-256") == expected
        self.deliveries.append(Delivery(headers=headers, body=body, signature_ok=ok))
        return Response(status_code=202 if ok else 401)

    @property
    def asgi(self) -> Starlette:
        return Starlette(routes=[Route("/webhook", self.webhook, methods=["POST"])])


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(secret=SECRET)


@pytest.fixture
async def receiver_url(receiver: Receiver, nursery: trio.Nursery) -> str:
    """The receiver served over real HTTP on 127.0.0.1, on a free port."""
    base_url = await nursery.start(snekomatic.gh.testing.serve_asgi, receiver.asgi)
    return f"{base_url}/webhook"


@pytest.fixture
def http_transport(receiver: Receiver) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=receiver.asgi)  # the receiver in-process, for the given client


@pytest.fixture
def http_base_url() -> str:
    return "http://hook"


# --- over real loopback HTTP ---------------------------------------------------------------------


async def test_delivery_over_loopback_arrives_signed(receiver: Receiver, receiver_url: str) -> None:
    with trio.fail_after(10):
        response = await send_webhook(
            receiver_url, "issue_comment", PAYLOAD, secret=SECRET, delivery_id="d-1"
        )

    assert response.status_code == 202
    [delivery] = receiver.deliveries
    assert delivery.signature_ok
    assert json.loads(delivery.body) == PAYLOAD
    assert delivery.headers["x-github-event"] == "issue_comment"
    assert delivery.headers["x-github-delivery"] == "d-1"


async def test_delivery_over_loopback_parses_into_an_event(
    receiver: Receiver, receiver_url: str
) -> None:
    with trio.fail_after(10):
        await send_webhook(
            receiver_url,
            "issue_comment",
            PAYLOAD,
            secret=SECRET,
            delivery_id="d-2",
            hook_id=9,
            content_type=FORM_CONTENT_TYPE,
        )

    [delivery] = receiver.deliveries
    event = parse_webhook(delivery.headers, delivery.body, [SECRET.encode()])
    assert (event.event, event.action, event.delivery_id, event.hook_id, event.installation_id) == (
        "issue_comment",
        "created",
        "d-2",
        9,
        77,
    )
    assert event.payload == PAYLOAD


# --- in process, through httpx.ASGITransport -----------------------------------------------------


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_given_client_is_used_and_receiver_sees_a_valid_signature(
    receiver: Receiver, http: httpx.AsyncClient, content_type: str
) -> None:
    response = await send_webhook(
        "/webhook", "ping", {"zen": "hi"}, secret=SECRET, http=http, content_type=content_type
    )

    assert response.status_code == 202
    assert receiver.deliveries[0].headers["content-type"] == content_type


async def test_wrong_secret_is_refused_by_the_receiver(http: httpx.AsyncClient) -> None:
    response = await send_webhook("/webhook", "ping", {"zen": "hi"}, secret="other", http=http)

    assert response.status_code == 401


async def test_each_delivery_gets_a_fresh_uuid4_delivery_id(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    for _ in range(2):
        await send_webhook("/webhook", "ping", {"zen": "hi"}, secret=SECRET, http=http)

    ids = [d.headers["x-github-delivery"] for d in receiver.deliveries]
    assert ids[0] != ids[1]
    assert [uuid.UUID(i).version for i in ids] == [4, 4]


async def test_response_reports_the_delivery_id_it_sent(
    receiver: Receiver, http: httpx.AsyncClient
) -> None:
    response = await send_webhook("/webhook", "ping", {"zen": "hi"}, secret=SECRET, http=http)

    sent = response.request.headers["X-GitHub-Delivery"]
    assert receiver.deliveries[0].headers["x-github-delivery"] == sent


def test_send_webhook_also_runs_under_asyncio(receiver: Receiver) -> None:
    async def deliver() -> httpx.Response:
        transport = httpx.ASGITransport(app=receiver.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://hook") as http:
            return await send_webhook("/webhook", "ping", {"zen": "hi"}, secret=SECRET, http=http)

    response = asyncio.run(deliver())

    assert response.status_code == 202


# --- the request itself (pure) -------------------------------------------------------------------


def build(**overrides: Any) -> tuple[dict[str, str], bytes]:
    arguments: dict[str, Any] = {"secret": SECRET, "delivery_id": "d-1"} | overrides
    return build_webhook_request("issue_comment", PAYLOAD, **arguments)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_signature_covers_the_exact_body(content_type: str) -> None:
    headers, body = build(content_type=content_type)

    assert headers["X-Hub-Signature-256"] == signature_for(body, SECRET.encode())


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_tampered_body_no_longer_verifies(content_type: str) -> None:
    headers, body = build(content_type=content_type)

    with pytest.raises(InvalidSignature):
        parse_webhook(headers, body.replace(b"created", b"deleted"), [SECRET.encode()])


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_request_parses_back_into_the_payload(content_type: str) -> None:
    headers, body = build(content_type=content_type)

    assert parse_webhook(headers, body, [SECRET.encode()]).payload == PAYLOAD


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@given(payload=st.dictionaries(st.text(), json_values, max_size=5))
def test_any_json_payload_round_trips_through_parse_webhook(
    content_type: str, payload: dict[str, Any]
) -> None:
    headers, body = build_webhook_request(
        "ping", payload, secret=SECRET, delivery_id="d", content_type=content_type
    )

    assert parse_webhook(headers, body, [SECRET.encode()]).payload == payload


def test_json_body_is_compact_utf8() -> None:
    _, body = build()

    assert body == json.dumps(PAYLOAD, separators=(",", ":"), ensure_ascii=False).encode()
    assert "José ✨".encode() in body


def test_form_body_is_a_single_urlencoded_payload_field() -> None:
    _, body = build(content_type=FORM_CONTENT_TYPE)

    fields = parse_qs(body.decode("ascii"), strict_parsing=True)
    assert list(fields) == ["payload"]
    assert json.loads(fields["payload"][0]) == PAYLOAD


def test_only_the_sha256_signature_is_sent() -> None:
    headers, _ = build()

    assert "X-Hub-Signature" not in headers


def test_headers_identify_the_event_hook_and_hookshot() -> None:
    headers, _ = build(hook_id=42)

    assert (
        headers["X-GitHub-Event"],
        headers["X-GitHub-Delivery"],
        headers["X-GitHub-Hook-ID"],
        headers["User-Agent"],
        headers["Content-Type"],
    ) == ("issue_comment", "d-1", "42", "GitHub-Hookshot/fake", "application/json")


def test_installation_target_headers_are_sent_when_given() -> None:
    headers, _ = build(installation_target_id=12345)

    assert headers["X-GitHub-Hook-Installation-Target-ID"] == "12345"
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"


def test_installation_target_headers_are_absent_by_default() -> None:
    headers, _ = build()

    assert not any(name.startswith("X-GitHub-Hook-Installation") for name in headers)


def test_secret_appears_nowhere_in_the_request() -> None:
    headers, body = build()

    assert SECRET not in json.dumps(headers)
    assert SECRET.encode() not in body


def test_unsupported_content_type_is_refused() -> None:
    with pytest.raises(ValueError, match="content_type"):
        build(content_type="text/plain")


def test_the_sender_is_gh_proper_and_the_testing_package_re_exports_it() -> None:
    assert snekomatic.gh.send_webhook is send_webhook is snekomatic.gh.testing.send_webhook
    assert snekomatic.gh.build_webhook_request is snekomatic.gh.testing.build_webhook_request
