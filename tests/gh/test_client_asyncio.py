"""The client runs under asyncio too (it is written against anyio): a smoke test outside Trio."""

from __future__ import annotations

import anyio
import httpx

from snekomatic.gh._cache import ResponseCache
from snekomatic.gh._pacing import Pacer
from snekomatic.gh.client import GitHubClient
from tests.gh.scripted import USER_AGENT, Reply, Script, TokenAuth

BASE = "https://api.github.test"


def test_get_post_pagination_and_cache_work_on_asyncio() -> None:
    server = Script()
    server.script(
        "GET",
        "/items",
        Reply(200, [1], headers={"link": f'<{BASE}/items2>; rel="next"', "etag": '"a"'}),
    )
    server.script("GET", "/items2", Reply(200, [2]))
    server.script("POST", "/comments", Reply(201, {"id": 3}))

    async def main() -> tuple[list[int], object]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
            client = GitHubClient(
                http,
                base_url=BASE,
                user_agent=USER_AGENT,
                auth=TokenAuth("t"),
                pacer=Pacer(),
                cache=ResponseCache(),
            )
            items = [item async for item in client.getiter("/items")]
            created = await client.post("/comments", data={"body": "hi"})
            return items, created

    assert anyio.run(main, backend="asyncio") == ([1, 2], {"id": 3})
    assert server.paths() == ["/items", "/items2", "/comments"]
