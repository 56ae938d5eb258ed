"""expand_url: templates, quoting, GHES base paths, and refusing other origins."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        pytest.param("/users/{user}", {"user": "..."}, f"{API}/users/...", id="three-dots-kept"),
        pytest.param("/users/{user}", {"user": ".a"}, f"{API}/users/.a", id="leading-dot-kept"),
        pytest.param(
            "/search/issues?q={q}", {"q": ".."}, f"{API}/search/issues?q=..", id="query-dots"
        ),
        pytest.param("/search/issues{?q}", {"q": ""}, f"{API}/search/issues?q=", id="query-empty"),
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


# --- dot segments: a value never moves the call to another endpoint --------------------------------


@pytest.mark.parametrize(
    ("template", "url_vars"),
    [
        pytest.param("/orgs/{org}/invitations", {"org": ".."}, id="org-dot-dot"),
        pytest.param("/orgs/{org}/invitations", {"org": "."}, id="org-dot"),
        pytest.param("/orgs/{org}/invitations", {"org": ""}, id="org-empty"),
        pytest.param("/orgs/{org}/memberships/{user}", {"org": "o", "user": ".."}, id="login"),
        pytest.param("/repos/{owner}/{repo}", {"owner": "o", "repo": ".."}, id="repository"),
        pytest.param("/repos/o/r/issues{/number}", {"number": ".."}, id="optional-segment"),
        pytest.param("/repos/o/r/issues{/number}", {"number": ""}, id="optional-segment-empty"),
        pytest.param(f"{API}/orgs/{{org}}/invitations", {"org": ".."}, id="absolute-template"),
    ],
)
def test_empty_or_dot_path_value_is_refused(template: str, url_vars: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        expand_url(template, url_vars, base_url=API)


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/repos/o/r/../../app/installations",
        f"{API}/repos/o/./r",
        f"{API}/repos/o/r/%2e%2E/x",
        f"{API}/repos/o/r/%2E",
        f"{API}/..",
    ],
    ids=["dot-dot", "dot", "encoded-dot-dot", "encoded-dot", "at-the-end"],
)
def test_absolute_url_with_a_dot_segment_is_forbidden(url: str) -> None:
    # A hypermedia URL from a payload is on the right origin but would leave its endpoint.
    with pytest.raises(ForbiddenURL):
        expand_url(url, None, base_url=API)


@pytest.mark.parametrize("template", ["/repos/o/r/../x", "./app", "../app", "/a/%2e%2e"])
def test_relative_template_with_a_dot_segment_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match="segment"):
        expand_url(template, None, base_url=API)


_TEMPLATES = [
    "/orgs/{org}/invitations",
    "/orgs/{org}/memberships/{user}",
    "/repos/{owner}/{repo}/issues/{number}/comments",
    "/repos/{owner}/{repo}/issues{/number}",
    "/search/issues?q={q}{&page}",
]
_values = st.one_of(
    st.sampled_from(["", ".", "..", "...", "%2e", "%2e%2e", "a/..", "../a", "/", "?", "#"]),
    st.text(max_size=8),
    st.integers(),
    st.none(),
)


@settings(max_examples=500, deadline=None)
@given(
    template=st.sampled_from(_TEMPLATES),
    url_vars=st.dictionaries(
        st.sampled_from(["org", "user", "owner", "repo", "number", "q", "page"]), _values
    ),
    base_url=st.sampled_from([API, GHES]),
)
def test_expansion_keeps_the_templates_path_shape(
    template: str, url_vars: dict[str, Any], base_url: str
) -> None:
    try:
        url = expand_url(template, url_vars, base_url=base_url)
    except ValueError:
        return  # a missing value, or one refused for the path: nothing is sent
    path = urllib.parse.urlsplit(url).path.removeprefix(urllib.parse.urlsplit(base_url).path)
    segments = path.split("/")
    template_segments = template.partition("?")[0].replace("{/", "/{").split("/")
    if "{/number}" in template and url_vars.get("number") is None:
        template_segments.pop()
    # As many segments as the template, none empty or a dot segment, literals where they were.
    assert len(segments) == len(template_segments)
    for got, wanted in zip(segments[1:], template_segments[1:], strict=True):
        assert got and urllib.parse.unquote(got) not in (".", "..")
        if "{" not in wanted:
            assert got == wanted
    assert httpx.URL(url).path == urllib.parse.unquote(urllib.parse.urlsplit(url).path)
