"""request_headers and parse_authorization."""

from __future__ import annotations

import pytest

from snekomatic.gh.sansio import ACCEPT, API_VERSION, parse_authorization, request_headers

INSTALLATION_TOKEN = "ghs_" + "A1b2C3" * 86  # installation tokens can be about 520 characters
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl-_"


def test_request_headers_name_the_api_version_and_media_type() -> None:
    assert request_headers(user_agent="snekomatic/1.0") == {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "snekomatic/1.0",
    }
    assert (ACCEPT, API_VERSION) == ("application/vnd.github+json", "2022-11-28")


def test_request_headers_carry_authorization_when_given() -> None:
    headers = request_headers(user_agent="bot", authorization=f"Bearer {JWT}")

    assert headers["Authorization"] == f"Bearer {JWT}"


def test_request_headers_accept_a_custom_media_type() -> None:
    headers = request_headers(user_agent="bot", accept="application/vnd.github.raw+json")

    assert headers["Accept"] == "application/vnd.github.raw+json"


def test_empty_user_agent_is_refused() -> None:
    with pytest.raises(ValueError, match="User-Agent"):
        request_headers(user_agent="")


def test_header_injection_is_refused_without_echoing_the_value() -> None:
    with pytest.raises(ValueError) as caught:
        request_headers(user_agent="bot", authorization="token abc\r\nX-Evil: 1")

    assert "abc" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(f"Bearer {JWT}", ("bearer", JWT), id="bearer-jwt"),
        pytest.param(f"token {INSTALLATION_TOKEN}", ("token", INSTALLATION_TOKEN), id="token"),
        pytest.param("BEARER abc", ("bearer", "abc"), id="scheme-upper-case"),
        pytest.param("Token abc", ("token", "abc"), id="scheme-title-case"),
        pytest.param("token   abc", ("token", "abc"), id="several-spaces"),
        pytest.param("token YWJj==", ("token", "YWJj=="), id="padding"),
        pytest.param("token a+b/c~d", ("token", "a+b/c~d"), id="token68-punctuation"),
    ],
)
def test_authorization_parses(value: str, expected: tuple[str, str]) -> None:
    assert parse_authorization(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("Bearer", id="no-credential"),
        pytest.param("Bearer ", id="empty-credential"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
        pytest.param("Bearerabc", id="no-space"),
        pytest.param(" Bearer abc", id="leading-space"),
        pytest.param("Bearer abc ", id="trailing-space"),
        pytest.param("Bearer a b", id="two-credentials"),
        pytest.param("Bearer ==", id="only-padding"),
        pytest.param("Bearer a=b", id="padding-inside"),
        pytest.param("Bearer abc\r\n", id="crlf"),
        pytest.param("Bearer é", id="non-ascii"),
        pytest.param("Bearer\tabc", id="tab-separator"),
    ],
)
def test_malformed_authorization_raises_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        parse_authorization(value)


def test_malformed_authorization_message_never_contains_the_credential() -> None:
    with pytest.raises(ValueError) as caught:
        parse_authorization(f"Basic{INSTALLATION_TOKEN}")

    assert INSTALLATION_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Bearer " + "a" * 100_000 + " ", id="long-credential-then-space"),
        pytest.param("Bearer " + " " * 100_000, id="spaces"),
        pytest.param("Bearer " + "=" * 100_000 + "a", id="equals-then-letter"),
        pytest.param("a" * 100_000, id="no-space"),
    ],
)
def test_pathological_100kb_authorization_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_authorization(value)


def test_100kb_credential_parses() -> None:
    credential = "a." * 50_000

    assert parse_authorization("token " + credential) == ("token", credential)
