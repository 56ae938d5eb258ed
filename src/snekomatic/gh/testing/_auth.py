"""How the fake decides who is calling: app JWTs (checked the way GitHub checks them) and installation tokens.

GitHub's rules for the app JWT (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
RS256, ``iss`` is the app id, ``iat`` not in the future, ``exp`` no more than 10 minutes after ``iat``.
GitHub tolerates a minute of drift on each side; the messages below are the ones it answers with.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

import jwt

from snekomatic.gh.sansio import parse_authorization as sansio_parse_authorization
from snekomatic.gh.testing._model import FakeInstallation
from snekomatic.gh.testing._replies import ApiError, bad_credentials

# "exp - iat" may be at most 10 minutes; GitHub accepts a minute more for the clocks' sake.
MAX_JWT_LIFETIME = 600 + 60
# How far in the future an ``iat`` may lie before GitHub calls it invalid.
IAT_LEEWAY = 60

EXP_MESSAGE = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
    "the assertion expires"
)
EXP_TOO_FAR_MESSAGE = "'Expiration time' claim ('exp') is too far in the future"
IAT_MESSAGE = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
UNDECODABLE_MESSAGE = "A JSON web token could not be decoded"
ISS_MESSAGE = "'Issuer' claim ('iss') must be an Integer"
NO_INTEGRATION_MESSAGE = "Integration not found"

_TOKEN_ALPHABET = string.ascii_letters + string.digits
# Anything "scheme credential"; the scheme is a token68-ish word. Linear-time (no nested quantifiers).


@dataclass(frozen=True)
class AppCaller:
    """The request carried a valid app JWT."""


@dataclass(frozen=True)
class InstallationCaller:
    """The request carried a live installation token."""

    installation: FakeInstallation


Caller = AppCaller | InstallationCaller | None  # None: anonymous


@dataclass(frozen=True)
class IssuedToken:
    installation_id: int
    expires_at: float
    permissions: dict[str, str]


def new_installation_token() -> str:
    """A fresh token in GitHub's shape: ``ghs_`` and 36 alphanumerics."""
    return "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))


def parse_authorization(value: str) -> tuple[str, str]:
    """``(scheme lowercased, credential)``; raises ``ApiError`` 401 when the header is malformed.

    The rule is :func:`snekomatic.gh.sansio.parse_authorization`; this turns its ``ValueError`` into
    the 401 GitHub answers.
    """
    try:
        return sansio_parse_authorization(value)
    except ValueError:
        raise bad_credentials() from None


def verify_app_jwt(token: str, *, public_key: str, app_id: int, now: float) -> None:
    """Accept ``token`` as this app's JWT at server time ``now``, or raise ``ApiError`` 401.

    Checks the signature (RS256 with the app's key), then ``iss``, ``iat`` and ``exp`` the way GitHub
    does. The token never appears in the error.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_iss": False,
                "verify_aud": False,
            },
        )
    except jwt.InvalidTokenError:
        raise ApiError(401, UNDECODABLE_MESSAGE) from None
    iss = claims.get("iss")
    if isinstance(iss, str) and iss.isdigit():
        iss = int(iss)
    if not isinstance(iss, int) or isinstance(iss, bool):
        raise ApiError(401, ISS_MESSAGE)
    if iss != app_id:
        raise ApiError(401, NO_INTEGRATION_MESSAGE)
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now + IAT_LEEWAY:
        raise ApiError(401, IAT_MESSAGE)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
        raise ApiError(401, EXP_MESSAGE)
    if exp - iat > MAX_JWT_LIFETIME:
        raise ApiError(401, EXP_TOO_FAR_MESSAGE)
