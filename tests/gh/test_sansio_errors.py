"""error_for_response: GitHub's real error bodies mapped onto the exception tree."""

from __future__ import annotations

import json

import pytest

from snekomatic.gh.errors import (
    BadRequest,
    Forbidden,
    HTTPError,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from snekomatic.gh.sansio import error_for_response

NOW = 1_700_000_000.0
REQUEST_ID = "C2D4:3F5E:1A2B3C:4D5E6F:65541234"
DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later. If you reach out to GitHub Support for help, "
    f"please include the request ID {REQUEST_ID}."
)
ABUSE_MESSAGE = "You have triggered an abuse detection mechanism. Please wait a few minutes before you try again."
INVITEE_IS_MEMBER = {
    "message": "Validation Failed",
    "errors": [
        {
            "resource": "OrganizationInvitation",
            "code": "unprocessable",
            "field": "data",
            "message": "Invitee is already a part of this organization",
        }
    ],
    "documentation_url": "https://docs.github.com/rest/orgs/members#create-an-organization-invitation",
    "status": "422",
}


def _body(message: str, documentation_url: str = DOCS) -> bytes:
    return json.dumps({"message": message, "documentation_url": documentation_url}).encode()


def _error(status: int, body: bytes, **headers: str) -> HTTPError:
    all_headers = {"X-GitHub-Request-Id": REQUEST_ID, "Content-Type": "application/json"}
    all_headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    error = error_for_response(status, all_headers, body, NOW)
    assert error is not None
    return error


@pytest.mark.parametrize("status", [100, 200, 201, 204, 301, 304, 399])
def test_non_error_status_gives_none(status: int) -> None:
    assert error_for_response(status, {}, b"", NOW) is None


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        pytest.param(401, _body("Bad credentials"), {}, Unauthorized, id="401-bad-credentials"),
        pytest.param(
            403,
            _body("Resource not accessible by integration"),
            {"x-ratelimit-remaining": "4990"},
            Forbidden,
            id="403-missing-permission",
        ),
        pytest.param(404, _body("Not Found"), {}, NotFound, id="404"),
        pytest.param(422, json.dumps(INVITEE_IS_MEMBER).encode(), {}, ValidationFailed, id="422"),
        pytest.param(400, _body("Problems parsing JSON"), {}, BadRequest, id="400"),
        pytest.param(409, _body("Git Repository is empty."), {}, BadRequest, id="409"),
        pytest.param(410, _body("Issues are disabled for this repo"), {}, BadRequest, id="410"),
        pytest.param(
            403,
            _body("API rate limit exceeded for installation ID 1234.", RATE_LIMIT_DOCS),
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700003600"},
            RateLimited,
            id="403-primary",
        ),
        pytest.param(
            403,
            _body(SECONDARY_MESSAGE, RATE_LIMIT_DOCS),
            {"x-ratelimit-remaining": "4000"},
            SecondaryRateLimited,
            id="403-secondary-by-message",
        ),
        pytest.param(
            403,
            _body("Forbidden"),
            {"retry-after": "30"},
            SecondaryRateLimited,
            id="403-secondary-by-retry-after",
        ),
        pytest.param(
            403, _body(ABUSE_MESSAGE), {}, SecondaryRateLimited, id="403-legacy-abuse-detection"
        ),
        pytest.param(
            429,
            _body("API rate limit exceeded", RATE_LIMIT_DOCS),
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700003600"},
            RateLimited,
            id="429-primary",
        ),
        pytest.param(429, _body(SECONDARY_MESSAGE), {}, SecondaryRateLimited, id="429-secondary"),
        pytest.param(500, b"", {}, ServerError, id="500-empty"),
        pytest.param(
            502,
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            {},
            ServerError,
            id="502-html",
        ),
        pytest.param(503, _body("Service Unavailable"), {}, ServerError, id="503"),
    ],
)
def test_status_maps_to_exception_class(
    status: int, body: bytes, headers: dict[str, str], expected: type[HTTPError]
) -> None:
    error = _error(status, body, **headers)

    assert type(error) is expected
    assert error.status == status
    assert error.request_id == REQUEST_ID


def test_githubs_message_and_documentation_url_are_kept() -> None:
    error = _error(
        404, _body("Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository")
    )

    assert (error.message, error.documentation_url) == (
        "Not Found",
        "https://docs.github.com/rest/repos/repos#get-a-repository",
    )
    assert str(error) == f"404: Not Found (request id {REQUEST_ID})"


def test_validation_failed_carries_githubs_errors() -> None:
    error = _error(422, json.dumps(INVITEE_IS_MEMBER).encode())

    assert isinstance(error, ValidationFailed)
    assert error.errors == INVITEE_IS_MEMBER["errors"]
    assert error.body == INVITEE_IS_MEMBER


def test_validation_failed_without_errors_list_has_empty_errors() -> None:
    error = _error(422, _body("Over invitation rate limit"))

    assert isinstance(error, ValidationFailed)
    assert (error.errors, error.message) == ([], "Over invitation rate limit")


@pytest.mark.parametrize(
    ("status", "body", "expected_message"),
    [
        pytest.param(500, b"", "Internal Server Error", id="empty-body"),
        pytest.param(502, b"<html>oops</html>", "Bad Gateway", id="html-body"),
        pytest.param(404, b'["not", "an object"]', "Not Found", id="json-array"),
        pytest.param(400, b'{"message": 7}', "Bad Request", id="non-string-message"),
        pytest.param(499, b"", "HTTP 499", id="unknown-status"),
    ],
)
def test_message_falls_back_to_reason_phrase(
    status: int, body: bytes, expected_message: str
) -> None:
    assert _error(status, body).message == expected_message


def test_body_that_is_not_json_is_none() -> None:
    error = _error(502, b"<html>oops</html>")

    assert (error.body, error.documentation_url) == (None, None)


def test_primary_rate_limit_carries_reset_time() -> None:
    error = _error(
        403,
        _body("API rate limit exceeded for installation ID 1234."),
        x_ratelimit_remaining="0",
        x_ratelimit_reset="1700003600",
    )

    assert isinstance(error, RateLimited)
    assert error.reset_at == 1_700_003_600.0


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        pytest.param("45", 45.0, id="seconds"),
        pytest.param("Tue, 14 Nov 2023 22:15:20 GMT", 120.0, id="http-date"),
        pytest.param("garbage", None, id="garbage"),
    ],
)
def test_secondary_rate_limit_carries_retry_after(retry_after: str, expected: float | None) -> None:
    error = _error(403, _body(SECONDARY_MESSAGE), retry_after=retry_after)

    assert isinstance(error, SecondaryRateLimited)
    assert error.retry_after == expected


def test_secondary_rate_limit_without_retry_after_has_none() -> None:
    error = _error(429, _body(SECONDARY_MESSAGE))

    assert isinstance(error, SecondaryRateLimited)
    assert error.retry_after is None


def test_secondary_rate_limit_message_matches_case_insensitively() -> None:
    error = _error(403, _body("SECONDARY RATE LIMIT hit"))

    assert isinstance(error, SecondaryRateLimited)


def test_error_headers_are_the_response_headers_lower_cased() -> None:
    error = _error(404, _body("Not Found"), X_RateLimit_Remaining="4999")

    assert error.headers["x-ratelimit-remaining"] == "4999"
    assert error.headers["x-github-request-id"] == REQUEST_ID


def test_request_id_is_none_when_absent() -> None:
    error = error_for_response(404, {}, _body("Not Found"), NOW)

    assert error is not None
    assert error.request_id is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xfe", id="not-utf-8"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
        pytest.param(b"{" * 100_000, id="deeply-nested-objects"),
    ],
)
def test_undecodable_body_never_raises(body: bytes) -> None:
    error = error_for_response(500, {}, body, NOW)

    assert isinstance(error, ServerError)
    assert error.body is None
