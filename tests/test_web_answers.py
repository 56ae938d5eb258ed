"""The webhook route answers byte for byte what Starlette's JSONResponse / PlainTextResponse would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from functools import partial

import httpx
import pytest
import trio
from starlette.responses import JSONResponse, PlainTextResponse

from snekomatic.gh.sansio import Event, signature_for
from snekomatic.inbox import InboxUnavailable
from snekomatic.runtime import create_app, serve_http

SECRET = b"webhook-secret"
BODY = json.dumps({"action": "opened", "installation": {"id": 7}}).encode()


class Inbox:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.down = False
        self.headers: list[Mapping[str, str]] = []

    async def accept(self, event: Event, headers: Mapping[str, str], body: bytes) -> bool:
        if self.down:
            raise InboxUnavailable("database down")
        self.headers.append(dict(headers))
        is_new = event.delivery_id not in self.seen
        self.seen.add(event.delivery_id)
        return is_new

    async def database_ok(self) -> bool:
        return True


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def client(inbox: Inbox) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(secrets=[SECRET], accept=inbox.accept, database_ok=inbox.database_ok)
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve_http, app, host="127.0.0.1", port=0))
        async with httpx.AsyncClient(base_url=binds[0]) as http:
            yield http
        nursery.cancel_scope.cancel()


def signed(delivery: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature_for(BODY, SECRET),
        **extra,
    }


def expected(response: JSONResponse | PlainTextResponse) -> tuple[int, bytes, dict[str, str]]:
    headers = {k.decode(): v.decode() for k, v in response.raw_headers}
    return response.status_code, bytes(response.body), headers


def seen(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k in ("content-length", "content-type")}
    return response.status_code, response.content, headers


@pytest.mark.parametrize(
    "delivery",
    ["d-1", 'quote"and\\back', "72d3162e-cc78-11e3-81ab-4c9367dc0958"],
    ids=["plain", "escapes", "guid"],  # a delivery id is visible ASCII: others are refused (400)
)
@pytest.mark.parametrize("repeat", [False, True], ids=["new", "duplicate"])
async def test_accepted_answer_is_the_json_response(
    client: httpx.AsyncClient, delivery: str, repeat: bool
) -> None:
    headers = {k.encode(): v.encode("latin-1") for k, v in signed(delivery).items()}
    if repeat:
        await client.post("/webhook/github", content=BODY, headers=headers)

    response = await client.post("/webhook/github", content=BODY, headers=headers)

    content = {"delivery_id": delivery, "accepted": True, "duplicate": repeat}
    assert seen(response) == expected(JSONResponse(content, status_code=202))


async def test_refusal_is_the_plain_text_response(client: httpx.AsyncClient) -> None:
    wrong = signature_for(BODY, b"another secret")
    response = await client.post(
        "/webhook/github", content=BODY, headers=signed("d-1", **{"X-Hub-Signature-256": wrong})
    )

    assert seen(response) == expected(
        PlainTextResponse("X-Hub-Signature-256 does not match the body\n", status_code=401)
    )


async def test_inbox_failure_is_the_plain_text_503(client: httpx.AsyncClient, inbox: Inbox) -> None:
    inbox.down = True

    response = await client.post("/webhook/github", content=BODY, headers=signed("d-1"))

    assert seen(response) == expected(
        PlainTextResponse("the delivery could not be stored; retry later\n", status_code=503)
    )


async def test_inbox_gets_the_request_headers_by_lower_case_name(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    await client.post(
        "/webhook/github", content=BODY, headers=signed("d-1", **{"X-GitHub-Hook-ID": "9"})
    )

    (headers,) = inbox.headers
    assert headers["x-github-hook-id"] == "9"
    assert headers["x-github-delivery"] == "d-1"
