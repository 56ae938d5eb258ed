"""The fake GitHub also serves under asyncio (bot authors on asyncio use it too)."""

from __future__ import annotations

import anyio
import httpx

from snekomatic.gh.testing import serve_fake_github
from tests.gh._fake_github_support import USER_AGENT, build_world


def test_fake_serves_and_stops_under_asyncio() -> None:
    world = build_world()

    async def main() -> int:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                url = await tg.start(serve_fake_github, world.fake)
                async with httpx.AsyncClient(
                    base_url=url, headers={"User-Agent": USER_AGENT}
                ) as client:
                    response = await client.get("/users/contributor")
                tg.cancel_scope.cancel()
        return response.json()["id"]

    assert anyio.run(main, backend="asyncio") == world.outsider.id
