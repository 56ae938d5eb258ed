"""GitHubClient: URLs, headers, bodies, pagination, GraphQL, redirects and re-authorization.

Runs the real client against a scripted ASGI app through httpx's ASGI transport (no sockets).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import (
    Forbidden,
    ForbiddenURL,
    GraphQLError,
    HTTPError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from tests.gh.scripted import USER_AGENT, Reply, Script, TokenAuth

BASE = "https://api.github.test"
TOKEN = "ghs_secretvalue0123456789"


@pytest.fixture
def elsewhere() -> Script:
    return Script()


@pytest.fixture
def http_transport(server: Script, elsewhere: Script) -> httpx.AsyncBaseTransport:
    """Each request goes to the script of its host, so a test sees which host got what."""
    scripts = {"api.github.test": server, "ghe.test": server, "evil.test": elsewhere}

    async def by_host(request: httpx.Request) -> httpx.Response:
        return await scripts[request.url.host](request)

    return httpx.MockTransport(by_host)


def make_client(http: httpx.AsyncClient, base_url: str = BASE, **kwargs: Any) -> GitHubClient:
    return GitHubClient(http, base_url=base_url, user_agent=USER_AGENT, **kwargs)


async def test_requests_carry_githubs_headers_and_the_authorization(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/rate_limit", Reply(200, {}))
    await make_client(http, auth=TokenAuth(TOKEN)).getitem("/rate_limit")
    headers = server.requests[0].headers
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"] == USER_AGENT
    assert headers["authorization"] == f"token {TOKEN}"


async def test_without_an_authenticator_no_authorization_is_sent(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/meta", Reply(200, {}))
    await make_client(http).getitem("/meta")
    assert "authorization" not in server.requests[0].headers


async def test_a_custom_accept_replaces_the_default(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/repos/o/r/readme", Reply(200, raw_body=b"# hi"))
    await make_client(http).getitem("/repos/o/r/readme", accept="application/vnd.github.raw")
    assert server.requests[0].headers["accept"] == "application/vnd.github.raw"


async def test_url_templates_are_expanded_with_quoting(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/repos/o/r/issues/7/comments", Reply(200, []))
    await make_client(http).getitem(
        "/repos/{owner}/{repo}/issues/{number}/comments{?page}",
        {"owner": "o", "repo": "r", "number": 7, "page": 2},
    )
    assert (server.requests[0].path, server.requests[0].query) == (
        "/repos/o/r/issues/7/comments",
        "page=2",
    )


async def test_an_absolute_url_on_the_api_origin_is_accepted(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/repos/o/r", Reply(200, {"id": 1}))
    assert await make_client(http).getitem(f"{BASE}/repos/o/r") == {"id": 1}


@pytest.mark.parametrize(
    "method", ["getitem", "getstatus", "post", "put", "patch", "delete"], ids=str
)
async def test_a_url_on_another_host_is_refused_before_any_credential_leaves(
    elsewhere: Script, http: httpx.AsyncClient, method: str
) -> None:
    auth = TokenAuth(TOKEN)
    client = make_client(http, auth=auth)
    with pytest.raises(ForbiddenURL) as caught:
        await getattr(client, method)("https://evil.test/steal")
    assert elsewhere.requests == []
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


@pytest.mark.parametrize(
    ("template", "url_vars"),
    [
        ("/orgs/{org}/invitations", {"org": ".."}),
        ("/orgs/{org}/memberships/{username}", {"org": "o", "username": ".."}),
    ],
    ids=["org-dot-dot", "login-dot-dot"],
)
async def test_a_dot_segment_value_is_refused_before_anything_is_sent(
    server: Script, http: httpx.AsyncClient, template: str, url_vars: dict[str, str]
) -> None:
    # httpx would collapse "/orgs/../invitations" to "POST /invitations": another endpoint.
    client = make_client(http, auth=TokenAuth(TOKEN))
    with pytest.raises(ValueError, match="endpoint"):
        await client.post(template, url_vars, data={"invitee_id": 1})
    assert server.requests == []


async def test_json_answers_are_decoded(server: Script, http: httpx.AsyncClient) -> None:
    server.script("GET", "/user", Reply(200, {"login": "octocat"}))
    assert await make_client(http).getitem("/user") == {"login": "octocat"}


async def test_text_answers_are_returned_as_str(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/repos/o/r/pulls/1",
        Reply(200, raw_body=b"diff --git", headers={"content-type": "text/plain; charset=utf-8"}),
    )
    assert await make_client(http).getitem("/repos/o/r/pulls/1") == "diff --git"


async def test_a_diff_is_returned_as_str(server: Script, http: httpx.AsyncClient) -> None:
    diff = "diff --git a/README.md b/README.md\n-Hello\n+Héllo\n"
    server.script(
        "GET",
        "/repos/o/r/pulls/1",
        Reply(
            200,
            raw_body=diff.encode(),
            headers={"content-type": "application/vnd.github.v3.diff; charset=utf-8"},
        ),
    )
    client = make_client(http)

    answer = await client.getitem("/repos/o/r/pulls/1", accept="application/vnd.github.diff")

    assert answer == diff


async def test_an_html_error_page_is_kept_on_the_exception(
    server: Script, http: httpx.AsyncClient
) -> None:
    page = b"<html><body>Mistakes were made ...</body></html>"
    server.script(
        "POST",
        "/repos/o/r/statuses/abc",
        Reply(422, raw_body=page, headers={"content-type": "text/html; charset=utf-8"}),
    )
    client = make_client(http, auth=TokenAuth(TOKEN))

    with pytest.raises(ValidationFailed) as caught:
        await client.post("/repos/o/r/statuses/abc", data={"state": "success"})

    assert caught.value.body_excerpt == page.decode()
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


async def test_binary_answers_are_returned_as_bytes(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/repos/o/r/tarball",
        Reply(200, raw_body=b"\x1f\x8b", headers={"content-type": "application/x-gzip"}),
    )
    assert await make_client(http).getitem("/repos/o/r/tarball") == b"\x1f\x8b"


async def test_text_in_an_unknown_charset_falls_back_to_utf8(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/t",
        Reply(
            200, raw_body="héllo".encode(), headers={"content-type": "text/plain; charset=x-nope"}
        ),
    )
    assert await make_client(http).getitem("/t") == "héllo"


async def test_no_content_is_none(server: Script, http: httpx.AsyncClient) -> None:
    server.script("PUT", "/user/starred/o/r", Reply(204))
    assert await make_client(http).put("/user/starred/o/r") is None


async def test_post_sends_data_as_json(server: Script, http: httpx.AsyncClient) -> None:
    server.script("POST", "/repos/o/r/issues/1/comments", Reply(201, {"id": 9}))
    answer = await make_client(http).post("/repos/o/r/issues/1/comments", data={"body": "thanks!"})
    assert answer == {"id": 9}
    assert server.requests[0].body == b'{"body": "thanks!"}'
    assert server.requests[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(Reply(204), 204, id="204"),
        pytest.param(Reply(200, {}), 200, id="200"),
        pytest.param(Reply(404, {"message": "Not Found"}), 404, id="404-returned"),
    ],
)
async def test_getstatus_returns_2xx_and_404(
    server: Script, http: httpx.AsyncClient, reply: Reply, expected: int
) -> None:
    server.script("GET", "/orgs/o/members/u", reply)
    assert await make_client(http).getstatus("/orgs/o/members/u") == expected


async def test_getstatus_raises_other_errors(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/orgs/o/members/u", Reply(403, {"message": "Must have admin rights"}))
    with pytest.raises(Forbidden):
        await make_client(http).getstatus("/orgs/o/members/u")


def _page(number: int, last: int) -> Reply:
    links = f'<{BASE}/items?page={number + 1}>; rel="next", <{BASE}/items?page={last}>; rel="last"'
    headers = {"link": links} if number < last else {}
    return Reply(200, [f"item-{number}-a", f"item-{number}-b"], headers=headers)


class PagedItems(Script):
    """Answers /items?page=N (N = 1, 2, 3) with Link headers, like GitHub's list endpoints."""

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.script("GET", "/items", _page(int(request.url.params.get("page", 1)), 3))
        return await super().__call__(request)


async def test_getiter_follows_next_links_over_all_pages() -> None:
    server = PagedItems()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        items = [item async for item in make_client(http).getiter("/items")]
    assert items == [f"item-{n}-{x}" for n in (1, 2, 3) for x in "ab"]
    assert [r.query for r in server.requests] == ["", "page=2", "page=3"]


async def test_getiter_reads_wrapped_lists_with_iterable_key(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET", "/app/installations", Reply(200, {"total_count": 2, "installations": [1, 2]})
    )
    client = make_client(http)
    items = [i async for i in client.getiter("/app/installations", iterable_key="installations")]
    assert items == [1, 2]


async def test_getiter_refuses_a_next_link_on_another_host(
    server: Script, elsewhere: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/items",
        Reply(200, [1], headers={"link": '<https://evil.test/items?page=2>; rel="next"'}),
    )
    seen = []
    with pytest.raises(ForbiddenURL):
        async for item in make_client(http, auth=TokenAuth(TOKEN)).getiter("/items"):
            seen.append(item)
    assert seen == [1]
    assert elsewhere.requests == []


async def test_ghes_base_url_keeps_its_path_prefix(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/api/v3/repos/o/r", Reply(200, {"id": 1}))
    await make_client(http, "https://ghe.test/api/v3").getitem(
        "/repos/{owner}/{repo}", {"owner": "o", "repo": "r"}
    )
    assert server.paths() == ["/api/v3/repos/o/r"]


@pytest.mark.parametrize(
    ("base_url", "endpoint"),
    [
        pytest.param(BASE, "/graphql", id="github.com"),
        pytest.param("https://ghe.test/api/v3", "/api/graphql", id="ghes"),
    ],
)
async def test_graphql_posts_query_and_variables_and_returns_data(
    server: Script, http: httpx.AsyncClient, base_url: str, endpoint: str
) -> None:
    server.script("POST", endpoint, Reply(200, {"data": {"viewer": {"login": "bot"}}}))
    data = await make_client(http, base_url).graphql("query($n: Int) { viewer { login } }", n=3)
    assert data == {"viewer": {"login": "bot"}}
    assert server.paths() == [endpoint]
    assert b'"variables": {"n": 3}' in server.requests[0].body


async def test_graphql_errors_raise_with_githubs_errors_and_partial_data(
    server: Script, http: httpx.AsyncClient
) -> None:
    errors = [{"type": "NOT_FOUND", "message": "Could not resolve to a Repository"}]
    server.script("POST", "/graphql", Reply(200, {"data": {"repository": None}, "errors": errors}))
    with pytest.raises(GraphQLError) as caught:
        await make_client(http).graphql('query { repository(owner: "o", name: "x") { id } }')
    assert caught.value.errors == errors
    assert caught.value.data == {"repository": None}


async def test_a_same_origin_redirect_of_a_get_is_followed(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET", "/repos/old/r", Reply(301, {}, headers={"location": f"{BASE}/repositories/5"})
    )
    server.script("GET", "/repositories/5", Reply(200, {"id": 5}))
    assert await make_client(http).getitem("/repos/old/r") == {"id": 5}


async def test_a_redirect_to_another_host_is_refused(
    server: Script, elsewhere: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET", "/repos/o/r/tarball", Reply(302, {}, headers={"location": "https://evil.test/t"})
    )
    with pytest.raises(ForbiddenURL):
        await make_client(http, auth=TokenAuth(TOKEN)).getitem("/repos/o/r/tarball")
    assert elsewhere.requests == []


async def test_a_redirect_of_a_post_raises(server: Script, http: httpx.AsyncClient) -> None:
    server.script("POST", "/x", Reply(307, {}, headers={"location": f"{BASE}/y"}))
    with pytest.raises(HTTPError) as caught:
        await make_client(http).post("/x", data={})
    assert caught.value.status == 307
    assert server.paths() == ["/x"]


async def test_a_401_is_retried_once_with_a_fresh_authorization(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/installation/repositories",
        Reply(401, {"message": "Bad credentials"}),
        Reply(200, {}),
    )
    await make_client(http, auth=TokenAuth("old", "new")).getitem("/installation/repositories")
    assert [r.headers["authorization"] for r in server.requests] == ["token old", "token new"]


async def test_a_401_is_raised_when_reauthorize_declines(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/x", Reply(401, {"message": "Bad credentials"}))
    with pytest.raises(Unauthorized):
        await make_client(http, auth=TokenAuth("old", "new", renew=False)).getitem("/x")
    assert len(server.requests) == 1


async def test_a_second_401_is_raised_without_looping(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/x", Reply(401, {"message": "Bad credentials"}))
    auth = TokenAuth("a", "b", "c")
    with pytest.raises(Unauthorized):
        await make_client(http, auth=auth).getitem("/x")
    assert len(server.requests) == 2
    assert auth.reauthorizations == 1


async def test_rate_limit_is_the_last_one_github_reported(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/x",
        Reply(
            200,
            {},
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4999",
                "x-ratelimit-reset": "1700000000",
            },
        ),
    )
    client = make_client(http)
    assert client.rate_limit is None
    await client.getitem("/x")
    assert client.rate_limit is not None
    assert (client.rate_limit.remaining, client.rate_limit.reset_at) == (4999, 1_700_000_000.0)


async def test_the_client_repr_holds_no_credential(http: httpx.AsyncClient) -> None:
    client = make_client(http, auth=TokenAuth(TOKEN))
    assert TOKEN not in repr(client)


async def test_a_not_found_error_carries_githubs_message(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/repos/o/missing",
        Reply(
            404,
            {"message": "Not Found", "documentation_url": "https://docs"},
            headers={"x-github-request-id": "ABC"},
        ),
    )
    with trio.fail_after(5), pytest.raises(NotFound) as caught:
        await make_client(http).getitem("/repos/o/missing")
    assert (caught.value.message, caught.value.request_id) == ("Not Found", "ABC")
