"""Small builders shared by the tests of gh.testing's fake GitHub (no fixtures, no state)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from snekomatic.gh.testing import (
    FakeClock,
    FakeGitHub,
    FakeInstallation,
    FakeOrg,
    FakeRepo,
    FakeUser,
    generate_private_key,
    open_github_world,
)
from snekomatic.gh.testing._keys import new_private_key

T0 = 1_700_000_000.0
APP_ID = 4242


@dataclass
class World:
    """The fake served, with ``python-trio`` (the app installed), its repository ``trio``, a member and
    an outsider, on ``clock`` (standing still unless advanced)."""

    fake: FakeGitHub
    clock: FakeClock
    org: FakeOrg
    repo: FakeRepo
    installation: FakeInstallation
    member: FakeUser
    outsider: FakeUser
    base_url: str


@contextlib.asynccontextmanager
async def open_world() -> AsyncIterator[World]:
    """A :class:`World` (:func:`snekomatic.gh.testing.open_github_world`), under Trio or asyncio."""
    clock = FakeClock(T0, follows_loop=False)
    async with open_github_world(org="python-trio", app_id=APP_ID, clock=clock) as github:
        fake = github.fake
        member = fake.add_user("maintainer")
        fake.add_member(github.org, member)
        outsider = fake.add_user("contributor")
        repo = fake.add_repo(github.org, "trio")
        yield World(
            fake, clock, github.org, repo, github.installation, member, outsider, github.base_url
        )


@functools.cache
def other_private_key() -> str:
    """A second RSA key, not the app's: JWTs signed with it must be refused."""
    return new_private_key()


def app_jwt(
    now: float,
    *,
    key: str | None = None,
    iss: Any = APP_ID,
    iat_offset: float = -60,
    lifetime: float = 600,
) -> str:
    """An app JWT as a client builds it (iat = now - 60, exp = iat + 600), with knobs to break it."""
    iat = int(now + iat_offset)
    claims = {"iat": iat, "exp": int(iat + lifetime), "iss": str(iss)}
    return jwt.encode(claims, key or generate_private_key(), algorithm="RS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@dataclass
class WebhookReceiver:
    """A loopback webhook endpoint that records what it receives and answers ``status``."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def webhook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/webhook", webhook, methods=["POST"])])
