"""The fake GitHub also serves under asyncio (bot authors on asyncio use it too)."""

from __future__ import annotations

import anyio
import httpx

from tests.gh.testing.builders import open_world


def test_fake_serves_and_stops_under_asyncio() -> None:
    async def main() -> tuple[int, int]:
        with anyio.fail_after(10):
            async with (
                open_world() as world,
                httpx.AsyncClient(
                    base_url=world.base_url, headers={"User-Agent": "snekomatic-tests"}
                ) as client,
            ):
                response = await client.get("/users/contributor")
                return response.json()["id"], world.outsider.id

    found, expected = anyio.run(main, backend="asyncio")
    assert found == expected
