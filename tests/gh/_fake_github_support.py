"""Small builders shared by the tests of gh.testing's fake GitHub (no fixtures, no state)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
