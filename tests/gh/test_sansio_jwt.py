"""App JWTs: claims, RS256 signature checked with PyJWT, clock-skew rejections, the server's clock."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from snekomatic.gh.errors import ConfigurationError, Unauthorized
from snekomatic.gh.sansio import (
    JWT_BACKDATE_SECONDS,
    JWT_LIFETIME_SECONDS,
    app_jwt_claims,
    check_app_private_key,
    encode_app_jwt,
    is_clock_skew_rejection,
    server_clock_offset,
)
from snekomatic.gh.testing import generate_private_key
from tests.keys import ec_private_key_pem

NOW = 1_700_000_000.75


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(generate_private_key().encode("ascii"), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def private_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@pytest.fixture(scope="module")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def test_claims_follow_githubs_rules() -> None:
    assert app_jwt_claims(12345, NOW) == {
        "iat": 1_700_000_000 - 60,
        "exp": 1_700_000_000 - 60 + 600,
        "iss": "12345",
    }


def test_expiry_is_within_ten_minutes_of_now() -> None:
    claims = app_jwt_claims("12345", NOW)

    assert claims["exp"] - NOW <= 600
    assert JWT_BACKDATE_SECONDS == 60
    assert JWT_LIFETIME_SECONDS == 600


def test_string_app_id_is_the_issuer() -> None:
    assert app_jwt_claims("Iv1.abc", NOW)["iss"] == "Iv1.abc"


def test_empty_app_id_is_refused() -> None:
    with pytest.raises(ValueError, match="app_id"):
        app_jwt_claims("", NOW)


def test_encoded_jwt_decodes_with_the_public_key(private_pem: str, public_pem: str) -> None:
    token, expires_at = encode_app_jwt(12345, private_pem, NOW)

    claims = jwt.decode(
        token,
        public_pem,
        algorithms=["RS256"],
        issuer="12345",
        options={"verify_exp": False, "verify_iat": False},
    )

    assert claims == app_jwt_claims(12345, NOW)
    assert expires_at == claims["exp"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("not a key", id="garbage"),
        pytest.param(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", id="bad-pem"
        ),
    ],
)
def test_unusable_private_key_is_a_configuration_error_without_the_key(key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        encode_app_jwt(1, key, NOW)

    assert caught.value.setting == "private_key"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    if key:
        assert key not in str(caught.value)


def test_public_key_instead_of_private_is_a_configuration_error(public_pem: str) -> None:
    with pytest.raises(ConfigurationError):
        encode_app_jwt(1, public_pem, NOW)


def test_elliptic_curve_key_is_a_configuration_error() -> None:
    pem = ec_private_key_pem()

    with pytest.raises(ConfigurationError, match="is not an RSA key"):
        encode_app_jwt(1, pem, NOW)


def test_encrypted_private_key_is_a_configuration_error(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode("ascii")

    with pytest.raises(ConfigurationError, match="is encrypted"):
        encode_app_jwt(1, pem, NOW)


def test_a_key_is_checked_as_a_jwt_would_use_it(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    check_app_private_key(pem)
    with pytest.raises(ConfigurationError, match="is cut short") as caught:
        check_app_private_key(pem[: len(pem) // 2])
    assert caught.value.setting == "private_key"
    assert caught.value.problem.startswith("is cut short")


def test_pkcs1_private_key_is_accepted(rsa_key: rsa.RSAPrivateKey, public_pem: str) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")

    token, _ = encode_app_jwt(1, pem, NOW)

    assert (
        jwt.decode(token, public_pem, algorithms=["RS256"], options={"verify_exp": False})["iss"]
        == "1"
    )


@pytest.mark.parametrize(
    "message",
    [
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        "'Expiration time' claim ('exp') is too far in the future",
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    ],
    ids=["iat", "exp-too-far", "exp-not-future"],
)
def test_githubs_clock_skew_messages_are_recognised(message: str) -> None:
    error = Unauthorized(401, message, documentation_url="https://docs.github.com/rest")

    assert is_clock_skew_rejection(error)


@pytest.mark.parametrize(
    "message",
    [
        "Bad credentials",
        "A JSON web token could not be decoded",
        "Integration not found",
        "'Issued at' something else",
    ],
)
def test_other_401_messages_are_not_clock_skew(message: str) -> None:
    assert not is_clock_skew_rejection(Unauthorized(401, message))


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        pytest.param("Tue, 14 Nov 2023 22:13:20 GMT", 0.0, id="same-second"),
        pytest.param("Tue, 14 Nov 2023 22:15:20 GMT", 120.0, id="server-ahead"),
        pytest.param("Tue, 14 Nov 2023 22:12:20 GMT", -60.0, id="server-behind"),
        pytest.param("Tue, 14 Nov 2023 23:13:20 +0100", 0.0, id="numeric-zone"),
        pytest.param("Tue, 14 Nov 2023 22:13:20 -0000", 0.0, id="unknown-zone-as-utc"),
    ],
)
def test_server_clock_offset_is_date_minus_now(date: str, expected: float) -> None:
    assert server_clock_offset({"Date": date}, 1_700_000_000.0) == expected


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="absent"),
        pytest.param({"date": ""}, id="empty"),
        pytest.param({"date": "yesterday"}, id="garbage"),
        pytest.param({"date": "Tue, 99 Nov 2023 22:13:20 GMT"}, id="impossible-day"),
        pytest.param({"date": "Tue, 14 Nov 2023 22:13:20 GMT" + " " * 100_000}, id="huge"),
    ],
)
def test_server_clock_offset_is_none_without_a_valid_date(headers: dict[str, str]) -> None:
    assert server_clock_offset(headers, 1_700_000_000.0) is None


def test_date_header_name_is_case_insensitive() -> None:
    assert server_clock_offset({"DATE": "Tue, 14 Nov 2023 22:13:20 GMT"}, 1_700_000_000.0) == 0.0


def test_the_key_is_parsed_once_however_many_tokens_are_signed(
    private_pem: str, public_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing a PEM checks the RSA key (~35 ms of CPU): doing it per mint would stall the event loop.
    parsed: list[bytes] = []
    real_load = serialization.load_pem_private_key

    def counting_load(data: bytes, password: bytes | None) -> object:
        parsed.append(data)
        return real_load(data, password)

    monkeypatch.setattr(serialization, "load_pem_private_key", counting_load)
    pem = private_pem.replace("\n", "\r\n")  # the same key as a text no other test has parsed yet

    tokens = [encode_app_jwt(1, pem, NOW + minute * 60)[0] for minute in range(3)]

    assert len(parsed) == 1
    assert len(set(tokens)) == 3
    for token in tokens:
        assert jwt.decode(token, public_pem, algorithms=["RS256"], options={"verify_exp": False})
