"""The fake GitHub's repositories: pulls, issues, comments with Link pagination, reactions."""

from __future__ import annotations

import httpx
import pytest

from tests.gh.testing.builders import World

COMMENTS = "/repos/python-trio/trio/issues/1/comments"


@pytest.fixture
async def world(world: World) -> World:
    world.fake.open_pull_request(world.repo, author=world.outsider, title="Fix a typo")
    return world


def add_comments(world: World, count: int) -> None:
    for n in range(count):
        world.fake.create_comment(world.repo, 1, author=world.member, body=f"comment {n}")


async def test_pull_request_is_served_in_githubs_shape(http: httpx.AsyncClient) -> None:
    body = (await http.get("/repos/python-trio/trio/pulls/1")).json()
    assert (body["number"], body["title"], body["user"]["login"]) == (
        1,
        "Fix a typo",
        "contributor",
    )
    assert body["merged"] is False


@pytest.mark.parametrize(
    ("state", "numbers"),
    [("open", [2]), ("closed", [1]), ("all", [2, 1])],
)
async def test_pulls_are_listed_by_state(
    http: httpx.AsyncClient, world: World, state: str, numbers: list[int]
) -> None:
    merged = world.fake.pulls[(world.repo.id, 1)]
    await world.fake.merge_pull_request(merged, merged_by=world.member)
    world.fake.open_pull_request(world.repo, author=world.outsider)
    response = await http.get("/repos/python-trio/trio/pulls", params={"state": state})
    assert [p["number"] for p in response.json()] == numbers


async def test_pull_request_is_also_an_issue(http: httpx.AsyncClient) -> None:
    body = (await http.get("/repos/python-trio/trio/issues/1")).json()
    assert "pull_request" in body


async def test_comment_pages_carry_githubs_link_header(
    http: httpx.AsyncClient, world: World
) -> None:
    add_comments(world, 5)
    response = await http.get(COMMENTS, params={"per_page": 2, "page": 2})
    base = f"{http.base_url}".rstrip("/") + COMMENTS
    assert [c["body"] for c in response.json()] == ["comment 2", "comment 3"]
    assert {rel: link["url"] for rel, link in response.links.items()} == {
        "prev": f"{base}?per_page=2&page=1",
        "next": f"{base}?per_page=2&page=3",
        "last": f"{base}?per_page=2&page=3",
        "first": f"{base}?per_page=2&page=1",
    }


async def test_last_comment_page_has_no_next_link(http: httpx.AsyncClient, world: World) -> None:
    add_comments(world, 5)
    response = await http.get(COMMENTS, params={"per_page": 2, "page": 3})
    assert [c["body"] for c in response.json()] == ["comment 4"]
    assert set(response.links) == {"prev", "first"}


async def test_single_page_has_no_link_header(http: httpx.AsyncClient, world: World) -> None:
    add_comments(world, 2)
    response = await http.get(COMMENTS)
    assert "link" not in response.headers


async def test_posted_comment_is_stored_as_the_bots(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(COMMENTS, json={"body": "Thanks!"})
    assert response.status_code == 201
    (comment,) = world.fake.comments_on(world.repo, 1)
    assert (comment.body, comment.author) == ("Thanks!", world.fake.bot)
    assert response.json()["id"] == comment.id


async def test_comment_without_body_is_422(http: httpx.AsyncClient, world: World) -> None:
    response = await http.post(COMMENTS, json={})
    assert response.status_code == 422
    assert world.fake.comments_on(world.repo, 1) == []


async def test_comment_can_be_edited(http: httpx.AsyncClient, world: World) -> None:
    comment_id = (await http.post(COMMENTS, json={"body": "draft"})).json()["id"]
    response = await http.patch(
        f"/repos/python-trio/trio/issues/comments/{comment_id}", json={"body": "final"}
    )
    assert response.status_code == 200
    assert [c.body for c in world.fake.comments_on(world.repo, 1)] == ["final"]


async def test_reaction_is_created_once(http: httpx.AsyncClient, world: World) -> None:
    url = "/repos/python-trio/trio/issues/1/reactions"
    first = await http.post(url, json={"content": "heart"})
    again = await http.post(url, json={"content": "heart"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert world.fake.issues[(world.repo.id, 1)].reactions == [(world.fake.bot, "heart")]


async def test_comment_reaction_is_stored(http: httpx.AsyncClient, world: World) -> None:
    add_comments(world, 1)
    (comment,) = world.fake.comments_on(world.repo, 1)
    url = f"/repos/python-trio/trio/issues/comments/{comment.id}/reactions"
    response = await http.post(url, json={"content": "+1"})
    assert response.status_code == 201
    assert comment.reactions == [(world.fake.bot, "+1")]


async def test_unknown_reaction_is_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/repos/python-trio/trio/issues/1/reactions", json={"content": "party"}
    )
    assert response.status_code == 422


async def test_unknown_route_is_githubs_json_404(http: httpx.AsyncClient) -> None:
    response = await http.delete("/repos/python-trio/trio")
    assert (response.status_code, response.json()["message"]) == (404, "Not Found")
