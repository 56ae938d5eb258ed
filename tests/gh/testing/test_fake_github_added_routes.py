"""Routes a tool built on the fake adds (``FakeGitHub.add_routes``), served beside GitHub's API."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.gh.testing.builders import World


@pytest.fixture
def http_headers() -> dict[str, str]:
    return {}  # a tool's pages, as a browser asks for them: no token


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def test_an_added_route_is_matched_before_the_fakes_catch_all_404(
    world: World, http: httpx.AsyncClient
) -> None:
    world.fake.add_routes([Route("/_tool/hello", hello)])

    added, other = await http.get("/_tool/hello"), await http.get("/_tool/other")

    assert (added.status_code, added.text) == (200, "hello")
    assert (other.status_code, other.json()["message"]) == (404, "Not Found")


async def test_a_route_added_once_the_fake_has_served_answers_the_next_request(
    world: World, http: httpx.AsyncClient
) -> None:
    before = await http.get("/_tool/hello")
    world.fake.add_routes([Route("/_tool/hello", hello)])
    after = await http.get("/_tool/hello")

    assert (before.status_code, after.status_code) == (404, 200)
