"""expand_url: templates, quoting, GHES base paths, and refusing other origins."""

from __future__ import annotations

from typing import Any

import pytest

from snekomatic.gh.errors import ForbiddenURL
from snekomatic.gh.sansio import expand_url

API = "https://api.github.com"
GHES = "https://ghe.example/api/v3"


@pytest.mark.parametrize(
    ("template", "url_vars", "expected"),
    [
        pytest.param("/app", None, f"{API}/app", id="no-variables"),
        pytest.param(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            {"owner": "python-trio", "repo": "trio", "number": 42},
            f"{API}/repos/python-trio/trio/issues/42/comments",
            id="simple",
        ),
        pytest.param(
            "/repos/{owner}/{repo}",
            {"owner": "a/b", "repo": "c"},
            f"{API}/repos/a%2Fb/c",
            id="slash-quoted",
        ),
        pytest.param(
            "/users/{user}",
            {"user": "a b?c#d&e=f%"},
            f"{API}/users/a%20b%3Fc%23d%26e%3Df%25",
            id="reserved-quoted",
        ),
        pytest.param("/users/{user}", {"user": "é"}, f"{API}/users/%C3%A9", id="non-ascii-quoted"),
        pytest.param("/users/{user}", {"user": ".."}, f"{API}/users/..", id="dots-kept"),
        pytest.param(
            "/repos/o/r/issues{/number}",
            {"number": 7},
            f"{API}/repos/o/r/issues/7",
            id="path-segment",
        ),
        pytest.param(
            "/repos/o/r/issues{/number}", {}, f"{API}/repos/o/r/issues", id="path-segment-absent"
        ),
        pytest.param(
            "/repos/o/r/issues{/number}",
            {"number": None},
            f"{API}/repos/o/r/issues",
            id="path-segment-none",
        ),
        pytest.param(
            "/notifications{?since,all,participating}",
            {"since": "2023-01-01T00:00:00Z", "all": True},
            f"{API}/notifications?since=2023-01-01T00%3A00%3A00Z&all=true",
            id="query",
        ),
        pytest.param("/notifications{?since,all}", None, f"{API}/notifications", id="query-absent"),
        pytest.param(
            "/search/issues?q={q}{&page}",
            {"q": "is:pr author:x", "page": 2},
            f"{API}/search/issues?q=is%3Apr%20author%3Ax&page=2",
            id="query-continuation",
        ),
        pytest.param("app", None, f"{API}/app", id="relative-without-slash"),
    ],
)
def test_template_expands(template: str, url_vars: dict[str, Any] | None, expected: str) -> None:
    assert expand_url(template, url_vars, base_url=API) == expected


def test_unused_variables_are_ignored() -> None:
    assert expand_url("/app", {"extra": 1}, base_url=API) == f"{API}/app"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        pytest.param(GHES, "https://ghe.example/api/v3/repos/x/y", id="ghes"),
        pytest.param(GHES + "/", "https://ghe.example/api/v3/repos/x/y", id="ghes-trailing-slash"),
        pytest.param(API + "/", f"{API}/repos/x/y", id="dotcom-trailing-slash"),
        pytest.param(
            "http://127.0.0.1:8123", "http://127.0.0.1:8123/repos/x/y", id="loopback-fake"
        ),
    ],
)
def test_base_path_is_kept(base_url: str, expected: str) -> None:
    assert (
        expand_url("/repos/{owner}/{repo}", {"owner": "x", "repo": "y"}, base_url=base_url)
        == expected
    )


@pytest.mark.parametrize(
    ("url", "base_url"),
    [
        pytest.param(f"{API}/repos/o/r/issues?page=2", API, id="same-origin"),
        pytest.param("https://API.GitHub.com/x", API, id="host-case"),
        pytest.param("https://api.github.com:443/x", API, id="explicit-default-port"),
        pytest.param("https://ghe.example/api/v3/repos/o/r", GHES, id="ghes"),
        pytest.param("http://127.0.0.1:8123/x", "http://127.0.0.1:8123", id="loopback"),
    ],
)
def test_absolute_url_on_the_same_origin_is_accepted(url: str, base_url: str) -> None:
    assert expand_url(url, None, base_url=base_url) == url


def test_scheme_relative_url_on_the_same_host_is_accepted() -> None:
    assert expand_url("//api.github.com/x", None, base_url=API) == "https://api.github.com/x"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://evil.example/x", id="other-host"),
        pytest.param("http://api.github.com/x", id="other-scheme"),
        pytest.param("https://api.github.com:8443/x", id="other-port"),
        pytest.param("https://api.github.com.evil.example/x", id="suffix-host"),
        pytest.param("https://api.github.com@evil.example/x", id="userinfo-trick"),
        pytest.param("https://user:pw@api.github.com/x", id="userinfo-same-host"),
        pytest.param("https://api.github.com./x", id="trailing-dot"),
        pytest.param("https://api.github.com:99999/x", id="bad-port"),
        pytest.param("https:\\\\evil.example/x", id="backslashes"),
        pytest.param("https://evil.example\t/x", id="tab"),
        pytest.param("//evil.example/x", id="scheme-relative"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("file:///etc/passwd", id="file"),
    ],
)
def test_absolute_url_elsewhere_is_forbidden(url: str) -> None:
    with pytest.raises(ForbiddenURL) as caught:
        expand_url(url, None, base_url=API)

    assert caught.value.allowed_origin == API


def test_forbidden_url_message_has_no_query_or_userinfo() -> None:
    with pytest.raises(ForbiddenURL) as caught:
        expand_url(
            "https://user:s3cret@evil.example:8443/x?access_token=t0ken#frag", None, base_url=API
        )

    message = str(caught.value)
    assert caught.value.url == "https://evil.example:8443/x"
    for secret in ("s3cret", "t0ken", "user", "frag"):
        assert secret not in message


@pytest.mark.parametrize(
    ("template", "url_vars", "match"),
    [
        pytest.param("/repos/{owner", {"owner": "x"}, "unbalanced", id="unclosed"),
        pytest.param("/repos/owner}", {}, "unbalanced", id="unopened"),
        pytest.param("/repos/{{owner}}", {"owner": "x"}, "unbalanced", id="nested"),
        pytest.param("/repos/{owner}", {}, "owner", id="missing-variable"),
        pytest.param("/repos/{owner}", {"owner": None}, "owner", id="none-variable"),
        pytest.param("/repos/{}", {}, "malformed", id="empty-expression"),
        pytest.param("/repos/{+path}", {"path": "x"}, "malformed", id="unsupported-operator"),
        pytest.param("/repos/{a b}", {}, "malformed", id="space-in-name"),
        pytest.param("/repos/{a,}", {"a": 1}, "malformed", id="empty-name-in-list"),
        pytest.param("/repos/ x", {}, "whitespace", id="whitespace-in-template"),
    ],
)
def test_bad_template_raises_value_error(
    template: str, url_vars: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        expand_url(template, url_vars, base_url=API)
