"""Answer.decoded: what a bot author gets back for each kind of body GitHub answers with."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh._answers import Answer

# GET /repos/{owner}/{repo}/pulls/{pull_number} with Accept: application/vnd.github.diff, headers as
# api.github.com sends them (gidgethub keeps a capture in tests/samples/pr_diff/200.json).
DIFF_HEADERS = {
    "content-type": "application/vnd.github.v3.diff; charset=utf-8",
    "x-github-media-type": "github.v3; param=diff",
    "x-ratelimit-limit": "60",
    "x-ratelimit-remaining": "43",
    "x-ratelimit-reset": "1486865204",
}
DIFF = (
    "diff --git a/README.md b/README.md\n"
    "index 3f2a1b4..9c8d7e6 100644\n"
    "--- a/README.md\n"
    "+++ b/README.md\n"
    "@@ -1 +1 @@\n"
    "-Hello\n"
    "+Héllo, wörld\n"
)


def _decoded(content_type: str | None, body: bytes, status: int = 200) -> object:
    headers = {} if content_type is None else {"content-type": content_type}
    return Answer(status, headers, body).decoded()


def test_a_diff_that_declares_a_charset_is_text() -> None:
    assert Answer(200, DIFF_HEADERS, DIFF.encode()).decoded() == DIFF


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        pytest.param(
            "application/vnd.github.v3.patch; charset=iso-8859-1",
            b"Subject: caf\xe9",
            "Subject: caf\xe9",
            id="latin-1-patch",
        ),
        pytest.param(
            "application/vnd.github.raw; charset=utf-16",
            "héllo".encode("utf-16"),
            "héllo",
            id="utf-16-raw",
        ),
        pytest.param(
            'application/vnd.github.diff; Charset="UTF-8"', "é".encode(), "é", id="quoted-any-case"
        ),
        pytest.param(
            "text/plain; charset=iso-8859-1; format=flowed",
            b"caf\xe9",
            "caf\xe9",
            id="charset-before-another-parameter",
        ),
        pytest.param(
            "text/plain; format=flowed; charset=iso-8859-1",
            b"caf\xe9",
            "caf\xe9",
            id="charset-after-another-parameter",
        ),
        pytest.param(
            "text/plain; xcharset=iso-8859-1", "café".encode(), "café", id="not-a-charset-parameter"
        ),
    ],
)
def test_a_body_that_declares_a_charset_is_decoded_with_it(
    content_type: str, body: bytes, expected: str
) -> None:
    assert _decoded(content_type, body) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/vnd.github.raw", b"# README\n", id="raw-without-charset"),
        pytest.param("application/octet-stream", b"\x00\x01", id="octet-stream"),
        pytest.param("application/x-gzip", b"\x1f\x8b", id="tarball"),
        pytest.param(None, b"diff --git", id="no-content-type"),
    ],
)
def test_a_body_without_a_charset_that_is_not_json_or_text_stays_bytes(
    content_type: str | None, body: bytes
) -> None:
    assert _decoded(content_type, body) == body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json",
        "application/vnd.github+json; charset=utf-8",
        "application/vnd.github.v3.raw+json; charset=utf-8",
        "Application/JSON",
    ],
)
def test_json_is_parsed_whatever_its_parameters(content_type: str) -> None:
    assert _decoded(content_type, b'{"login": "octocat"}') == {"login": "octocat"}


def test_text_without_a_charset_is_utf8_text() -> None:
    assert _decoded("text/html", "<p>héllo</p>".encode()) == "<p>héllo</p>"


@pytest.mark.parametrize(
    "charset",
    ["x-nope", "rot13", "idna", "utf\x00", "x" * 1000],
    ids=["unknown", "not-a-text-encoding", "refuses-replace", "nul", "huge"],
)
def test_a_charset_python_cannot_decode_text_with_falls_back_to_utf8(charset: str) -> None:
    assert _decoded(f"application/vnd.github.diff; charset={charset}", "é".encode()) == "é"


@pytest.mark.parametrize("status", [200, 204])
def test_an_empty_body_is_none(status: int) -> None:
    assert _decoded("application/json; charset=utf-8", b"", status) is None


def test_malformed_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        _decoded("application/json; charset=utf-8", b"{")


@given(
    media_type=st.sampled_from(
        ["text/plain", "application/vnd.github.diff", "application/octet-stream", "x/y"]
    ),
    parameters=st.text(max_size=40),
    body=st.binary(min_size=1, max_size=64),
)
def test_a_body_that_is_not_json_decodes_without_raising(
    media_type: str, parameters: str, body: bytes
) -> None:
    decoded = _decoded(f"{media_type};{parameters}", body)

    assert isinstance(decoded, str | bytes)


@given(value=st.recursive(st.none() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_json_with_a_charset_round_trips(value: object) -> None:
    body = json.dumps(value).encode()

    assert _decoded("application/json; charset=utf-8", body) == value
