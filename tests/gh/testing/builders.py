"""Small builders shared by the tests of gh.testing's fake GitHub (no fixtures, no state)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import hypercorn.trio
import jwt
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from snekomatic.gh.testing import (
    FakeGitHub,
    FakeInstallation,
    FakeOrg,
    FakeRepo,
    FakeUser,
    generate_private_key,
)

T0 = 1_700_000_000.0
APP_ID = 4242
USER_AGENT = "snekomatic-tests"


class SettableClock:
    """The fake's wall clock, moved by the test: no sleeping, no patching of time.time."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@functools.cache
def other_private_key() -> str:
    """A second RSA key, not the app's: JWTs signed with it must be refused."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


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


@dataclass
class World:
    fake: FakeGitHub
    clock: SettableClock
    org: FakeOrg
    repo: FakeRepo
    installation: FakeInstallation
    member: FakeUser
    outsider: FakeUser


def build_world(**fake_options: Any) -> World:
    """An organization with the app installed, one repository, one member and one outsider."""
    clock = SettableClock()
    fake = FakeGitHub(
        app_id=APP_ID, private_key=generate_private_key(), clock=clock, **fake_options
    )
    org = fake.add_org("python-trio")
    member = fake.add_user("maintainer")
    fake.add_member(org, member)
    outsider = fake.add_user("contributor")
    repo = fake.add_repo(org, "trio")
    installation = fake.install(org)
    return World(fake, clock, org, repo, installation, member, outsider)


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


async def serve_receiver(
    receiver: WebhookReceiver, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve ``receiver`` on a free loopback port; reports its webhook URL."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None

    async def serve(*, task_status: trio.TaskStatus[list[str]]) -> None:
        await hypercorn.trio.serve(receiver.app(), config, task_status=task_status)  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        (bind,) = await nursery.start(serve)
        task_status.started(bind + "/webhook")
