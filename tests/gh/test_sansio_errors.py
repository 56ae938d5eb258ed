"""error_for_response: GitHub's real error bodies mapped onto the exception tree."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
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
    ("reset", "expected"),
    [
        pytest.param("1700003600.5", 1_700_003_600.5, id="fraction"),
        pytest.param("soon", None, id="malformed"),
    ],
)
def test_primary_rate_limit_reads_the_reset_as_the_rate_limit_record_does(
    reset: str, expected: float | None
) -> None:
    error = _error(
        403,
        _body("API rate limit exceeded for installation ID 1234."),
        x_ratelimit_remaining="0",
        x_ratelimit_reset=reset,
    )

    assert isinstance(error, RateLimited)
    assert error.reset_at == expected


def test_a_malformed_limit_header_does_not_hide_an_exhausted_primary_limit() -> None:
    error = _error(
        403,
        _body("API rate limit exceeded for installation ID 1234."),
        x_ratelimit_limit="lots",
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


# --- the shapes of a 422's ``errors`` ------------------------------------------------------------------

# POST /repos/{owner}/{repo}/statuses/{sha} once a SHA and context hold 1,000 statuses: ``errors`` is a
# string, not a list (the shape gidgethub's test_422_errors_as_string records, and bots meet in CI).
STATUS_LIMIT_REASON = "This SHA and context has reached the maximum number of statuses."
STATUS_LIMIT = {
    "message": "Validation Failed",
    "errors": STATUS_LIMIT_REASON,
    "documentation_url": "https://docs.github.com/rest/commits/statuses#create-a-commit-status",
    "status": "422",
}
# POST /repos/{owner}/{repo}/milestones without a title: a list of dicts with no ``message``.
MILESTONE_MISSING_FIELDS = {
    "message": "Validation Failed",
    "errors": [
        {"resource": "Milestone", "code": "missing_field", "field": "title"},
        {"resource": "Milestone", "code": "missing_field", "field": "slug"},
    ],
    "documentation_url": "https://docs.github.com/rest/issues/milestones#create-a-milestone",
}
# POST /repos/{template_owner}/{template_repo}/generate onto a name in use: a list of strings.
TEMPLATE_NAME_TAKEN = {
    "message": "Could not clone: Name already exists on this account",
    "errors": ["Could not clone: Name already exists on this account"],
    "documentation_url": "https://docs.github.com/rest/repos/repos#create-a-repository-using-a-template",
    "status": "422",
}


def _validation_failed(body: object) -> ValidationFailed:
    error = _error(422, json.dumps(body).encode())
    assert isinstance(error, ValidationFailed)
    return error


def test_string_errors_is_kept_as_a_one_item_list() -> None:
    error = _validation_failed(STATUS_LIMIT)

    assert error.errors == [STATUS_LIMIT_REASON]
    assert error.reasons == (STATUS_LIMIT_REASON,)
    assert error.message == "Validation Failed"


def test_string_errors_is_in_the_exception_message() -> None:
    error = _validation_failed(STATUS_LIMIT)

    assert str(error) == f"422: Validation Failed: {STATUS_LIMIT_REASON} (request id {REQUEST_ID})"


@pytest.mark.parametrize(
    ("body", "reasons"),
    [
        pytest.param(
            INVITEE_IS_MEMBER,
            ("OrganizationInvitation.data: Invitee is already a part of this organization",),
            id="dicts-with-message",
        ),
        pytest.param(
            MILESTONE_MISSING_FIELDS,
            ("Milestone.title: missing_field", "Milestone.slug: missing_field"),
            id="dicts-with-code-only",
        ),
        pytest.param(
            TEMPLATE_NAME_TAKEN,
            ("Could not clone: Name already exists on this account",),
            id="list-of-strings",
        ),
        pytest.param(STATUS_LIMIT, (STATUS_LIMIT_REASON,), id="string"),
        pytest.param(
            {**STATUS_LIMIT, "errors": f"Validation failed: {STATUS_LIMIT_REASON}"},
            (f"Validation failed: {STATUS_LIMIT_REASON}",),
            id="string-with-rails-prefix",
        ),
        pytest.param(
            {"message": "Validation Failed", "errors": {"resource": "Issue", "code": "invalid"}},
            ("Issue: invalid",),
            id="single-dict",
        ),
        pytest.param(
            {"message": "Validation Failed", "errors": [{"resource": "Label", "name": "bug"}]},
            ("Label: name='bug'",),
            id="dict-without-message-or-code",
        ),
        pytest.param(
            {
                "message": "Invalid request.",
                "errors": ["Invalid request.\n\nFor 'properties/name', nil is not a string."],
            },
            ("Invalid request. For 'properties/name', nil is not a string.",),
            id="multi-line-string",
        ),
        pytest.param({"message": "Reference does not exist"}, (), id="absent"),
        pytest.param({"message": "Validation Failed", "errors": None}, (), id="null"),
        pytest.param({"message": "Validation Failed", "errors": ""}, (), id="empty-string"),
        pytest.param({"message": "Validation Failed", "errors": 7}, (), id="number"),
    ],
)
def test_each_shape_of_errors_gives_readable_reasons(
    body: dict[str, object], reasons: tuple[str, ...]
) -> None:
    assert _validation_failed(body).reasons == reasons


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(INVITEE_IS_MEMBER, INVITEE_IS_MEMBER["errors"], id="dicts"),
        pytest.param(TEMPLATE_NAME_TAKEN, TEMPLATE_NAME_TAKEN["errors"], id="list-of-strings"),
        pytest.param(
            {"message": "Validation Failed", "errors": {"resource": "Issue", "code": "invalid"}},
            [{"resource": "Issue", "code": "invalid"}],
            id="single-dict",
        ),
        pytest.param({"message": "Validation Failed", "errors": 7}, [], id="number"),
    ],
)
def test_errors_is_githubs_errors_as_a_list(body: dict[str, object], errors: list[object]) -> None:
    assert _validation_failed(body).errors == errors


def test_reasons_follow_the_message_in_order() -> None:
    error = _validation_failed(MILESTONE_MISSING_FIELDS)

    assert str(error) == (
        "422: Validation Failed: Milestone.title: missing_field; Milestone.slug: missing_field"
        f" (request id {REQUEST_ID})"
    )


def test_validation_failed_without_errors_has_only_githubs_message() -> None:
    error = _validation_failed({"message": "Reference does not exist"})

    assert str(error) == f"422: Reference does not exist (request id {REQUEST_ID})"


@given(errors=JSON_VALUES)
def test_any_json_errors_gives_validation_failed_with_text_reasons(errors: object) -> None:
    body = json.dumps({"message": "Validation Failed", "errors": errors}).encode()

    error = error_for_response(422, {}, body, NOW)

    assert isinstance(error, ValidationFailed)
    assert isinstance(error.errors, list)
    assert all(isinstance(reason, str) and reason for reason in error.reasons)
    assert str(error).startswith("422: Validation Failed")


# --- bodies that are not JSON ---------------------------------------------------------------------

# What answers when something between the client and api.github.com fails: nginx's stock 502 page, and
# the HTML 422 that gidgethub met behind a proxy (its issue #81).
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
PROXY_422 = b"<html><body>Mistakes were made ...</body></html>"
HTML = "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(502, NGINX_502, ServerError, id="502-nginx"),
        pytest.param(422, PROXY_422, ValidationFailed, id="422-proxy"),
    ],
)
def test_a_body_that_is_not_json_is_kept_as_text(
    status: int, body: bytes, expected: type[HTTPError]
) -> None:
    error = error_for_response(status, {"Content-Type": HTML}, body, NOW)

    assert type(error) is expected
    assert (error.body, error.body_excerpt) == (None, body.decode())


def test_the_excerpt_is_the_first_thousand_characters() -> None:
    page = "<html><body>" + "é" * 100_000 + "</body></html>"

    error = _error(502, page.encode(), content_type=HTML)

    assert error.body_excerpt == page[:1000]


def test_the_excerpt_is_decoded_with_the_declared_charset() -> None:
    error = _error(502, b"<p>caf\xe9</p>", content_type="text/html; charset=iso-8859-1")

    assert error.body_excerpt == "<p>café</p>"


def test_undecodable_bytes_in_the_excerpt_are_replaced() -> None:
    error = _error(502, b"<p>\xff\xfe</p>", content_type=HTML)

    assert error.body_excerpt == "<p>\ufffd\ufffd</p>"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(404, _body("Not Found"), id="json-object"),
        pytest.param(404, b'["not", "an object"]', id="json-array"),
        pytest.param(500, b"", id="empty"),
    ],
)
def test_a_json_or_empty_body_has_no_excerpt(status: int, body: bytes) -> None:
    assert _error(status, body).body_excerpt is None


def test_the_excerpt_stays_out_of_the_message_and_repr() -> None:
    # A debugging proxy that echoes the request it could not forward.
    token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
    page = f"<pre>POST /repos/o/r/statuses/abc\nAuthorization: token {token}\n</pre>".encode()

    error = _error(502, page, content_type=HTML)

    assert error.body_excerpt is not None and token in error.body_excerpt
    assert token not in str(error) and token not in repr(error)
    assert str(error) == f"502: Bad Gateway (request id {REQUEST_ID})"


@given(body=st.binary(max_size=5000), content_type=st.text(max_size=60))
def test_any_body_gives_a_bounded_excerpt_or_none(body: bytes, content_type: str) -> None:
    error = error_for_response(502, {"content-type": content_type}, body, NOW)

    assert error is not None
    assert error.body_excerpt is None or len(error.body_excerpt) <= 1000
