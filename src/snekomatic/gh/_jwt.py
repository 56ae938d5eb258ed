"""GitHub App JWTs: the claims, the RS256 signature, and recognising a rejection for clock skew."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from snekomatic.gh._headers import lowered, parse_http_date
from snekomatic.gh.errors import ConfigurationError, Unauthorized

# iat: "To protect against clock drift, we recommend that you set this 60 seconds in the past".
# exp: "The time must be no more than 10 minutes into the future." We count the 10 minutes from the
# back-dated iat, so exp = now + 9 min: inside the limit even if GitHub's clock runs a little behind.
# https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 600

# "Your JWT must be signed using the RS256 algorithm" (same page).
_JWT_ALGORITHM = "RS256"

# GitHub's 401 messages for a JWT whose times its clock disagrees with, e.g.
#   'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued
#   'Expiration time' claim ('exp') is too far in the future
#   'Expiration time' claim ('exp') must be a numeric value representing the future time at which the
#   assertion expires
_CLOCK_SKEW_MARKERS = ("claim ('iat')", "claim ('exp')")


def app_jwt_claims(app_id: int | str, now: float) -> dict[str, Any]:
    """The claims of an app JWT made at ``now`` (epoch seconds).

    Returns ``{"iat": int(now) - 60, "exp": iat + 600, "iss": str(app_id)}``. Raises ``ValueError``
    when ``app_id`` is empty. Pure: not a checkpoint.
    """
    issuer = str(app_id)
    if not issuer:
        raise ValueError("app_id must not be empty")
    issued_at = int(now) - JWT_BACKDATE_SECONDS
    return {"iat": issued_at, "exp": issued_at + JWT_LIFETIME_SECONDS, "iss": issuer}


def encode_app_jwt(app_id: int | str, private_key: str, now: float) -> tuple[str, float]:
    """Sign :func:`app_jwt_claims` with the app's PEM ``private_key`` (RS256).

    Returns ``(jwt, exp)``, ``exp`` being the epoch second after which GitHub refuses the token.
    Raises :class:`~snekomatic.gh.errors.ConfigurationError` (setting ``private_key``) when the key is
    not an unencrypted RSA private key in PEM (PKCS#1 or PKCS#8; :func:`check_app_private_key`
    says so the same way), and ``ValueError`` for an empty
    ``app_id``. The key and the token are secrets: neither appears in any message, and parser errors
    are not chained. Pure (no clock read): not a checkpoint.
    """
    claims = app_jwt_claims(app_id, now)
    key = _rsa_private_key(private_key)
    token = jwt.encode(claims, key, algorithm=_JWT_ALGORITHM)
    return token, float(claims["exp"])


def check_app_private_key(private_key: str) -> None:
    """Check that ``private_key`` can sign app JWTs: an unencrypted RSA private key in PEM (PKCS#1 or
    PKCS#8), whole.

    Raises :class:`~snekomatic.gh.errors.ConfigurationError` (setting ``private_key``) saying what is
    wrong with it (cut short or not PEM, encrypted, not RSA) and how to fix it, never quoting it.
    Lets a program refuse a bad key at start-up instead of at its first JWT. Pure: not a checkpoint.
    """
    _rsa_private_key(private_key)


# Loading a PEM checks the RSA key's consistency, which takes ~35 ms of CPU: without the cache every
# mint would stall the event loop (and every delivery behind it) that long. The app holds its key
# text for its whole life anyway, so keeping the parsed key beside it exposes nothing new.
@functools.lru_cache(maxsize=8)
def _rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    # The problems are raised outside the except clauses, unchained: the causes are cryptography's
    # parser errors, which add nothing the message does not say and are not guaranteed to stay free
    # of key material.
    key = None
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        problem = "is encrypted: give the key as GitHub made it, without a passphrase"
    except (ValueError, UnsupportedAlgorithm):
        problem = (
            "is cut short or is not a PEM private key: give the entire .pem file "
            "GitHub made for the app, from its -----BEGIN line to its -----END line"
        )
    else:
        problem = "is not an RSA key: GitHub App keys are RSA; generate one in the app's settings on GitHub"
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("private_key", problem)
    return key


def is_clock_skew_rejection(error: Unauthorized) -> bool:
    """True when GitHub refused an app JWT because its ``iat`` or ``exp`` disagrees with GitHub's clock.

    Recognises GitHub's messages ("'Issued at' claim ('iat') must be an Integer representing the
    time that the assertion was issued", "'Expiration time' claim ('exp') is too far in the future",
    "... must be a numeric value representing the future time at which the assertion expires"),
    case-insensitively. A caller rebuilds the JWT with :func:`server_clock_offset` and retries once.
    Pure: not a checkpoint.
    """
    if error.status != 401:
        return False
    message = error.message.lower()
    return any(marker in message for marker in _CLOCK_SKEW_MARKERS)


def server_clock_offset(headers: Mapping[str, str], now: float) -> float | None:
    """How far GitHub's clock is ahead of ours: the response's ``Date`` header minus ``now``.

    Returns seconds (negative when GitHub is behind), or None when the header is absent or not an
    HTTP-date. A ``Date`` without a zone (``-0000``) is read as UTC. The header has one-second
    resolution, so the offset is only that precise. Pure: not a checkpoint.
    """
    value = lowered(headers).get("date")
    if value is None:
        return None
    server_time = parse_http_date(value)
    return None if server_time is None else server_time - now
