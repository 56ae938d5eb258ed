"""Against the real GitHub: opt-in. Set SNEKOMATIC_LIVE_APP_ID, SNEKOMATIC_LIVE_PRIVATE_KEY_PATH and
(for the installation test) SNEKOMATIC_LIVE_INSTALLATION_ID; otherwise these skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import trio

from snekomatic.gh import GitHubApp

pytestmark = pytest.mark.live

APP_ID = os.environ.get("SNEKOMATIC_LIVE_APP_ID")
KEY_PATH = os.environ.get("SNEKOMATIC_LIVE_PRIVATE_KEY_PATH")
INSTALLATION_ID = os.environ.get("SNEKOMATIC_LIVE_INSTALLATION_ID")

needs_app = pytest.mark.skipif(
    not (APP_ID and KEY_PATH),
    reason="live GitHub test: set SNEKOMATIC_LIVE_APP_ID and SNEKOMATIC_LIVE_PRIVATE_KEY_PATH to run it",
)


@pytest.fixture
async def live_app() -> AsyncIterator[GitHubApp]:
    assert APP_ID and KEY_PATH
    key = await trio.Path(KEY_PATH).read_text()
    async with GitHubApp(
        app_id=APP_ID,
        private_key=key,
        webhook_secret="unused",
        user_agent="snekomatic-live-tests",
    ) as app:
        yield app


@needs_app
async def test_the_app_authenticates_with_its_jwt(live_app: GitHubApp) -> None:
    app = await live_app.app_client.getitem("/app")
    assert str(app["id"]) == APP_ID


@needs_app
@pytest.mark.skipif(
    not INSTALLATION_ID, reason="live GitHub test: set SNEKOMATIC_LIVE_INSTALLATION_ID"
)
async def test_an_installation_token_is_minted_and_used(live_app: GitHubApp) -> None:
    assert INSTALLATION_ID
    token = await live_app.token_for(INSTALLATION_ID)
    assert token.startswith("ghs_")
    repos = await live_app.client_for(INSTALLATION_ID).getitem("/installation/repositories")
    assert "repositories" in repos
