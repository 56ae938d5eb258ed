"""What reaches Sentry: failures with their delivery id, never a secret, never a bad signature."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

import httpx
import pytest
import sentry_sdk
import trio
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from snekomatic.gh.sansio import Envelope as WebhookEnvelope
from snekomatic.gh.sansio import signature_for
from snekomatic.gh.testing import generate_private_key
from snekomatic.runtime import create_app, init_sentry, report_delivery_failure, serve_http

TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
KEY = generate_private_key()


class CapturingTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event":
                self.events.append(json.loads(item.payload.get_bytes()))


@pytest.fixture
def sentry() -> Iterator[CapturingTransport]:
    transport = CapturingTransport()
    assert init_sentry("https://public@sentry.example/1", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # back to a client that sends nothing


def test_nothing_is_initialised_without_a_dsn() -> None:
    assert init_sentry(None) is False


def test_a_failed_delivery_is_reported_with_its_id_and_without_secrets(
    sentry: CapturingTransport,
) -> None:
    try:
        raise RuntimeError(f"GitHub refused token {TOKEN} and key {KEY}")
    except RuntimeError as exc:
        report_delivery_failure(exc, delivery_id="d-42", event="pull_request", last=True)
    sentry_sdk.flush()
    [event] = sentry.events
    assert event["tags"]["delivery_id"] == "d-42"
    assert event["tags"]["dead_letter"] == "true"
    text = json.dumps(event)
    assert TOKEN not in text
    assert "PRIVATE KEY-----\nMII" not in text and KEY.splitlines()[1] not in text


async def test_web_errors_are_reported_scrubbed_and_bad_signatures_are_not(
    sentry: CapturingTransport,
) -> None:
    async def accept(event: WebhookEnvelope, headers: Mapping[str, str], body: bytes) -> bool:
        raise RuntimeError(f"the store choked on Authorization: token {TOKEN}")

    async def database_ok() -> bool:
        return True

    app = create_app(secrets=[b"s"], accept=accept, database_ok=database_ok)
    body = b'{"action": "opened"}'
    good = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": signature_for(body, b"s"),
        "Authorization": f"token {TOKEN}",
    }
    stop = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            # Stopped, not cancelled: the failing request's task has sent its 500 but may not have
            # finished raising (which is when Sentry sees the error); a shutdown lets it finish.
            [url] = await nursery.start(
                partial(serve_http, app, host="127.0.0.1", port=0, shutdown_trigger=stop.wait)
            )
            async with httpx.AsyncClient(base_url=url) as http:
                forged = await http.post(
                    "/webhook/github",
                    content=body,
                    headers={**good, "X-Hub-Signature-256": "sha256=00"},
                )
                failing = await http.post("/webhook/github", content=body, headers=good)
            stop.set()
    sentry_sdk.flush()
    assert (forged.status_code, failing.status_code) == (401, 500)
    [event] = sentry.events
    assert [value["type"] for value in event["exception"]["values"]] == ["RuntimeError"]
    assert TOKEN not in json.dumps(event)
    sent_headers = event.get("request", {}).get("headers", {})
    assert "authorization" not in {name.lower() for name in sent_headers}
