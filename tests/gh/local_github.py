"""A tiny GitHub stand-in, served in-process through httpx.ASGITransport, for GitHubApp's auth tests.

It checks what GitHubApp's authentication depends on, with knobs the full fake may not have: a server
clock ``skew``, tokens refused right after minting (replication lag), and a per-request delay so pacing
is observable. It runs in the test's task, so trio's autojump clock drives it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import httpx
import jwt
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_TOKENS_PATH = re.compile(r"/app/installations/(\d+)/access_tokens")


def new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Seen:
    method: str
    path: str
    authorization: str


@dataclass
class LocalGitHub:
    private_key: str
    clock: Callable[[], float]
    app_id: str = "1"
    skew: float = 0.0  # how far this server's clock is ahead of the app's
    token_lifetime: float = 3600.0
    refuse_fresh_tokens: int = 0  # the next N requests with a token answer 401
    delay: float = 0.0  # virtual seconds each request takes
    requests: list[Seen] = field(default_factory=list)
    minted: list[tuple[int, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def now(self) -> float:
        return self.clock() + self.skew

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self))

    @property
    def jwts(self) -> list[str]:
        return [
            s.authorization.removeprefix("Bearer ")
            for s in self.requests
            if s.authorization.startswith("Bearer ")
        ]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        authorization = headers.get("authorization", "")
        self.requests.append(Seen(scope["method"], scope["path"], authorization))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await trio.sleep(self.delay)
            status, body = self._answer(scope["method"], scope["path"], authorization)
        finally:
            self.in_flight -= 1
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"date", formatdate(self.now(), usegmt=True).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, method: str, path: str, authorization: str) -> tuple[int, Any]:
        scheme, _, credential = authorization.partition(" ")
        if path == "/app" or _TOKENS_PATH.fullmatch(path):
            if scheme != "Bearer":
                return 401, {"message": "A JSON web token could not be decoded"}
            problem = self._jwt_problem(credential)
            if problem:
                return 401, {"message": problem}
            match = _TOKENS_PATH.fullmatch(path)
            if match is None:
                return 200, {"id": int(self.app_id)}
            assert method == "POST"
            token = f"ghs_{len(self.minted) + 1}"
            self.minted.append((int(match.group(1)), token))
            expires = datetime.fromtimestamp(self.now() + self.token_lifetime, UTC)
            return 201, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if scheme != "token" or credential not in {t for _, t in self.minted}:
            return 401, {"message": "Bad credentials"}
        if self.refuse_fresh_tokens:
            self.refuse_fresh_tokens -= 1
            return 401, {"message": "Bad credentials"}
        return 200, {"path": path}

    def _jwt_problem(self, token: str) -> str | None:
        claims = jwt.decode(
            token,
            public_key_of(self.private_key),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
        if claims["iss"] != self.app_id:
            return "Integration not found"
        now = self.now()
        if claims["iat"] > now:
            return (
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued"
            )
        if claims["exp"] <= now:
            return (
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires"
            )
        if claims["exp"] > now + 600:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None
