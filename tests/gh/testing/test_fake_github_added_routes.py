"""Routes a tool built on the fake adds (``FakeGitHub.add_routes``), served beside GitHub's API."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from snekomatic.gh.testing import FakeGitHub, generate_private_key


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def client(fake: FakeGitHub) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.asgi), base_url="http://fake")


async def test_an_added_route_is_matched_before_the_fakes_catch_all_404() -> None:
    fake = FakeGitHub(private_key=generate_private_key())
    fake.add_routes([Route("/_tool/hello", hello)])

    async with client(fake) as http:
        added, other = await http.get("/_tool/hello"), await http.get("/_tool/other")

    assert (added.status_code, added.text) == (200, "hello")
    assert (other.status_code, other.json()["message"]) == (404, "Not Found")


async def test_a_route_added_once_the_fake_has_served_answers_the_next_request() -> None:
    fake = FakeGitHub(private_key=generate_private_key())
    async with client(fake) as http:
        before = await http.get("/_tool/hello")
        fake.add_routes([Route("/_tool/hello", hello)])
        after = await http.get("/_tool/hello")

    assert (before.status_code, after.status_code) == (404, 200)
