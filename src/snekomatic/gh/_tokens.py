"""Credentials a GitHub App holds: its JWT and its installations' access tokens, cached.

The caches know nothing of HTTP: the JWT cache is given a pure ``encode(now)`` function and the token
cache an async ``mint(installation_id)`` function, so their timing rules are tested with an injected clock.
Wall-clock time comes from a :class:`ServerClock`: the injected clock corrected by the offset to GitHub's
clock once GitHub has told us we are off (a JWT rejected for clock skew).

No repr here shows a token or a JWT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, final

import anyio
import anyio.lowlevel

from snekomatic.gh.errors import Unauthorized
from snekomatic.gh.sansio import is_clock_skew_rejection, server_clock_offset

__all__ = [
    "FRESH_TOKEN_WINDOW_SECONDS",
    "JWT_MIN_REMAINING_SECONDS",
    "TOKEN_MIN_TTL_SECONDS",
    "AppAuthenticator",
    "AppJWTCache",
    "InstallationAuthenticator",
    "InstallationToken",
    "InstallationTokenCache",
    "ServerClock",
    "installation_key",
    "parse_github_time",
]

# The rule: an app JWT is reused while it has more than a minute left, so a request signed with
# it never reaches GitHub already expired.
JWT_MIN_REMAINING_SECONDS: Final = 60.0

# Installation tokens live one hour; renew when less than 5 minutes remain, so a token handed out
# (for example to git) still works for a while.
# https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-installation-access-token-for-a-github-app
TOKEN_MIN_TTL_SECONDS: Final = 300.0

# The Date header has one-second resolution: a correction smaller than this cannot be trusted, so a
# rejection that persists after a correction is not retried again.
CLOCK_CORRECTION_RESOLUTION_SECONDS: Final = 1.0

# GitHub: "a 401 right after creating a token may be replication lag; retry". A token younger than this
# that is refused gets one retry with a fresh one.
# https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
FRESH_TOKEN_WINDOW_SECONDS: Final = 60.0


def installation_key(installation_id: int | str) -> int:
    """The canonical cache key for an installation id: ``"123"`` and ``123`` are the same installation.

    Raises ``ValueError`` when ``installation_id`` is not a non-negative integer (or its decimal string),
    ``TypeError`` for a ``bool``. Pure.
    """
    if isinstance(installation_id, bool):
        raise TypeError("an installation id is an int or a decimal str, not a bool")
    if isinstance(installation_id, int):
        key = installation_id
    else:
        text = installation_id.strip()
        if not text.isdecimal() or not text.isascii():
            raise ValueError(f"not an installation id: {installation_id!r}")
        key = int(text)
    if key < 0:
        raise ValueError(f"not an installation id: {installation_id!r}")
    return key


def parse_github_time(value: str) -> float:
    """Epoch seconds for GitHub's ISO 8601 timestamps (``"2016-07-11T22:14:10Z"``). Raises ValueError."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed.timestamp()


@final
class ServerClock:
    """GitHub's idea of the current time: ``clock() + offset``.

    ``offset`` starts at 0 and is set when GitHub rejects a JWT for clock skew (from its ``Date`` header).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.local = clock
        self.offset = 0.0

    def now(self) -> float:
        """The corrected current time, in epoch seconds."""
        return self.local() + self.offset

    def __repr__(self) -> str:
        return f"ServerClock(offset={self.offset!r})"


@final
class AppJWTCache:
    """The app's JWT, rebuilt when it has :data:`JWT_MIN_REMAINING_SECONDS` or less left.

    ``encode(now)`` returns ``(jwt, exp)`` (``sansio.encode_app_jwt`` with the app's credentials bound).
    """

    def __init__(self, encode: Callable[[float], tuple[str, float]], clock: ServerClock) -> None:
        self._encode = encode
        self._clock = clock
        self._jwt: str | None = None
        self._expires_at = 0.0

    def get(self) -> str:
        """A JWT with more than a minute to live. Not a checkpoint.

        Raises whatever ``encode`` raises (``ConfigurationError`` for a missing or unusable key).
        """
        now = self._clock.now()
        if self._jwt is None or self._expires_at - now <= JWT_MIN_REMAINING_SECONDS:
            self._jwt, self._expires_at = self._encode(now)
        return self._jwt

    def discard(self) -> None:
        """Forget the cached JWT, so the next :meth:`get` builds a new one (after a clock correction)."""
        self._jwt = None

    def __repr__(self) -> str:
        return f"AppJWTCache(cached={self._jwt is not None})"


@dataclass(frozen=True, kw_only=True)
class InstallationToken:
    """An installation access token; ``expires_at`` and ``minted_at`` are epoch seconds (GitHub's clock)."""

    token: str = field(repr=False)
    expires_at: float
    minted_at: float


@final
class InstallationTokenCache:
    """Installation tokens, one per installation, renewed near expiry by exactly one task.

    ``mint(installation_id)`` asks GitHub for a new token. While one task mints for an installation,
    others asking for the same installation wait for its result instead of minting too.
    """

    def __init__(
        self, mint: Callable[[int], Awaitable[InstallationToken]], clock: ServerClock
    ) -> None:
        self._mint = mint
        self._clock = clock
        self._tokens: dict[int, InstallationToken] = {}
        self._locks: dict[int, anyio.Lock] = {}

    async def get(
        self, installation_id: int | str, *, min_ttl: float = TOKEN_MIN_TTL_SECONDS
    ) -> InstallationToken:
        """A token for the installation with at least ``min_ttl`` seconds left, minting one if needed.

        A freshly minted token is returned even if GitHub gave it less than ``min_ttl``. A checkpoint.
        Raises what ``mint`` raises (the API errors of ``POST /app/installations/{id}/access_tokens``);
        a failed or cancelled mint caches nothing, and the next caller tries again.
        """
        key = installation_key(installation_id)
        cached = self._usable(key, min_ttl)
        if cached is not None:
            await anyio.lowlevel.checkpoint()
            return cached
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            cached = self._usable(key, min_ttl)  # another task may have minted while we waited
            if cached is not None:
                return cached
            token = await self._mint(key)
            self._tokens[key] = token
            return token

    def discard(self, installation_id: int | str, token: InstallationToken) -> None:
        """Forget ``token`` if it is still the cached one for the installation (it was refused)."""
        key = installation_key(installation_id)
        if self._tokens.get(key) is token:
            del self._tokens[key]

    def is_fresh(self, token: InstallationToken) -> bool:
        """Whether ``token`` was minted within :data:`FRESH_TOKEN_WINDOW_SECONDS`."""
        return self._clock.now() - token.minted_at < FRESH_TOKEN_WINDOW_SECONDS

    def _usable(self, key: int, min_ttl: float) -> InstallationToken | None:
        token = self._tokens.get(key)
        if token is not None and token.expires_at - self._clock.now() >= min_ttl:
            return token
        return None

    def __repr__(self) -> str:
        return f"InstallationTokenCache(installations={sorted(self._tokens)!r})"


@final
class AppAuthenticator:
    """Authenticates as the app: ``Authorization: Bearer <jwt>``; corrects for clock skew once.

    Implements :class:`snekomatic.gh.client.Authenticator`.
    """

    def __init__(self, jwt: AppJWTCache, clock: ServerClock) -> None:
        self._jwt = jwt
        self._clock = clock

    async def authorization(self) -> str:
        """``"Bearer <jwt>"``. A checkpoint; raises ``ConfigurationError`` for missing credentials."""
        await anyio.lowlevel.checkpoint()
        return "Bearer " + self._jwt.get()

    async def reauthorize(self, error: Unauthorized) -> bool:
        """True when ``error`` is GitHub refusing the JWT's ``iat``/``exp`` and its ``Date`` header moves
        our idea of GitHub's clock by at least a second: the offset is remembered (for every later JWT
        and token expiry) and the JWT rebuilt. False otherwise, including when the clock was already
        corrected, so a persisting rejection is raised instead of retried forever. A checkpoint.
        """
        await anyio.lowlevel.checkpoint()
        if not is_clock_skew_rejection(error):
            return False
        offset = server_clock_offset(error.headers, self._clock.local())
        if offset is None or abs(offset - self._clock.offset) < CLOCK_CORRECTION_RESOLUTION_SECONDS:
            return False
        self._clock.offset = offset
        self._jwt.discard()
        return True

    def __repr__(self) -> str:
        return f"AppAuthenticator({self._clock!r})"


@final
class InstallationAuthenticator:
    """Authenticates as one installation: ``Authorization: token <token>`` from the shared cache.

    Implements :class:`snekomatic.gh.client.Authenticator`.
    """

    def __init__(self, tokens: InstallationTokenCache, installation_id: int) -> None:
        self._tokens = tokens
        self._installation_id = installation_id
        self._last: InstallationToken | None = None

    async def authorization(self) -> str:
        """``"token <t>"`` with at least 5 minutes left, minting one if needed (see
        :meth:`InstallationTokenCache.get` for what it raises). A checkpoint."""
        token = await self._tokens.get(self._installation_id)
        self._last = token
        return "token " + token.token

    async def reauthorize(self, error: Unauthorized) -> bool:
        """After a 401: forget the token last handed out, so the next request mints a new one.

        Returns True (retry now, with a fresh token) only when that token was minted less than
        :data:`FRESH_TOKEN_WINDOW_SECONDS` ago, which GitHub explains by replication lag; an older
        refused token (revoked, app uninstalled) is not retried. A checkpoint.
        """
        await anyio.lowlevel.checkpoint()
        token = self._last
        if token is None:
            return False
        self._tokens.discard(self._installation_id, token)
        return self._tokens.is_fresh(token)

    def __repr__(self) -> str:
        return f"InstallationAuthenticator(installation_id={self._installation_id!r})"
