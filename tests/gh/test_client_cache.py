"""Conditional GETs: ETag / Last-Modified revalidation from a bounded ResponseCache."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from snekomatic.gh._cache import CacheKey, ResponseCache
from snekomatic.gh.client import GitHubClient
from tests.gh.scripted import USER_AGENT, Reply, Script, TokenAuth

BASE = "https://api.github.test"
ETAG = '"644b5b0155e6404a9cc4bd9d8b1ae730"'
LAST_MODIFIED = "Thu, 05 Jul 2012 15:31:30 GMT"


def make_client(http: httpx.AsyncClient, **kwargs: Any) -> GitHubClient:
    return GitHubClient(http, base_url=BASE, user_agent=USER_AGENT, **kwargs)


async def test_a_304_returns_the_cached_body(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET", "/repos/o/r", Reply(200, {"id": 1}, headers={"etag": ETAG}), Reply(304, None)
    )
    client = make_client(http, cache=ResponseCache())
    first = await client.getitem("/repos/o/r")
    second = await client.getitem("/repos/o/r")
    assert first == second == {"id": 1}
    assert server.requests[1].headers["if-none-match"] == ETAG


async def test_last_modified_is_sent_back_as_if_modified_since(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/repos/o/r",
        Reply(200, {"id": 1}, headers={"last-modified": LAST_MODIFIED}),
        Reply(304, None),
    )
    client = make_client(http, cache=ResponseCache())
    await client.getitem("/repos/o/r")
    assert await client.getitem("/repos/o/r") == {"id": 1}
    assert server.requests[1].headers["if-modified-since"] == LAST_MODIFIED


async def test_a_changed_resource_replaces_the_cached_one(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script(
        "GET",
        "/x",
        Reply(200, {"v": 1}, headers={"etag": '"1"'}),
        Reply(200, {"v": 2}, headers={"etag": '"2"'}),
        Reply(304, None),
    )
    client = make_client(http, cache=ResponseCache())
    answers = [await client.getitem("/x") for _ in range(3)]
    assert answers == [{"v": 1}, {"v": 2}, {"v": 2}]
    assert server.requests[2].headers["if-none-match"] == '"2"'


async def test_without_a_cache_no_conditional_headers_are_sent(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/x", Reply(200, {}, headers={"etag": ETAG}))
    client = make_client(http)
    await client.getitem("/x")
    await client.getitem("/x")
    assert "if-none-match" not in server.requests[1].headers


async def test_a_shared_cache_keeps_identities_apart(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/x", Reply(200, {}, headers={"etag": ETAG}))
    cache = ResponseCache()
    await make_client(http, cache=cache, auth=TokenAuth("one")).getitem("/x")
    await make_client(http, cache=cache, auth=TokenAuth("two")).getitem("/x")
    assert "if-none-match" not in server.requests[1].headers


async def test_cache_keys_never_contain_the_credential(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/x", Reply(200, {}, headers={"etag": ETAG}))
    cache = ResponseCache()
    await make_client(http, cache=cache, auth=TokenAuth("ghs_topsecret")).getitem("/x")
    assert len(cache) == 1
    assert "ghs_topsecret" not in repr(cache.keys())


async def test_an_explicit_cache_scope_is_shared_across_token_renewals(
    server: Script, http: httpx.AsyncClient
) -> None:
    server.script("GET", "/x", Reply(200, {"id": 1}, headers={"etag": ETAG}), Reply(304, None))
    cache = ResponseCache()
    scope = "installation:42"
    await make_client(http, cache=cache, cache_scope=scope, auth=TokenAuth("old")).getitem("/x")
    again = await make_client(http, cache=cache, cache_scope=scope, auth=TokenAuth("new")).getitem(
        "/x"
    )
    assert again == {"id": 1}


async def test_writes_are_not_cached(server: Script, http: httpx.AsyncClient) -> None:
    server.script("POST", "/x", Reply(201, {}, headers={"etag": ETAG}))
    cache = ResponseCache()
    await make_client(http, cache=cache).post("/x", data={})
    assert len(cache) == 0


async def test_pagination_over_revalidated_pages_keeps_following_links(
    server: Script, http: httpx.AsyncClient
) -> None:
    link = {"link": f'<{BASE}/items2>; rel="next"'}
    server.script("GET", "/items", Reply(200, [1], headers={"etag": '"a"', **link}), Reply(304))
    server.script("GET", "/items2", Reply(200, [2], headers={"etag": '"b"'}), Reply(304))
    client = make_client(http, cache=ResponseCache())
    assert [i async for i in client.getiter("/items")] == [1, 2]
    assert [i async for i in client.getiter("/items")] == [1, 2]
    assert [r.path for r in server.requests] == ["/items", "/items2"] * 2


def _key(n: int) -> CacheKey:
    return CacheKey("GET", f"{BASE}/{n}", "application/json", "s")


def test_the_cache_evicts_the_least_recently_used_entry() -> None:
    cache = ResponseCache(2)
    cache.store(_key(1), 200, {"etag": '"1"'}, b"1")
    cache.store(_key(2), 200, {"etag": '"2"'}, b"2")
    assert cache.get(_key(1)) is not None
    cache.store(_key(3), 200, {"etag": '"3"'}, b"3")
    assert (cache.get(_key(1)) is not None, cache.get(_key(2)), len(cache)) == (True, None, 2)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param({}, b"x", id="no-validator"),
        pytest.param({"etag": '"1"'}, b"x" * 11, id="too-large"),
    ],
)
def test_the_cache_skips_answers_it_could_not_use(headers: dict[str, str], body: bytes) -> None:
    cache = ResponseCache(max_body_bytes=10)
    assert cache.store(_key(1), 200, headers, body) is False
    assert len(cache) == 0


def test_the_cache_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ResponseCache(0)
