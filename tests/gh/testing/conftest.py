"""The world of the fake GitHub's own tests: the fake served on loopback with the organization
``python-trio`` (the app installed on it, a repository ``trio``, a member and an outsider), on a
wall clock that stands still at ``T0`` unless a test moves it (``world.clock.advance``).

``http`` (tests/conftest.py) is aimed at the served fake and carries an installation token; a module
whose tests send their own credentials, or none, overrides ``http_headers``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.gh.testing.builders import World, open_world, token_auth


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with open_world() as world:
        yield world


@pytest.fixture
def http_transport() -> None:
    return None  # real connections: the fake on loopback


@pytest.fixture
async def http_base_url(world: World) -> str:
    return world.base_url


@pytest.fixture
async def http_headers(world: World) -> dict[str, str]:
    return token_auth(world.fake.mint_token(world.installation))
