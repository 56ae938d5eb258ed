"""The fake GitHub's repository contents, teams and issue search, and the ``push`` webhook of a write."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.gh.testing.builders import World
from tests.gh.webhook_schemas import assert_valid_webhook

PATH = ".github/snekomatic.yml"
URL = f"/repos/python-trio/trio/contents/{PATH}"


async def test_a_file_is_served_in_githubs_shape_with_its_git_blob_sha(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.write_file(world.repo, PATH, "hello\n")
    response = await http.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("type", "encoding", "size", "name", "path")} == {
        "type": "file",
        "encoding": "base64",
        "size": 6,
        "name": "snekomatic.yml",
        "path": PATH,
    }
    assert base64.b64decode(body["content"]) == b"hello\n"
    # `printf 'hello\n' | git hash-object --stdin`
    assert body["sha"] == "ce013625030ba8dba906f756967f9e9ca394464a"


async def test_long_content_is_wrapped_at_60_characters_like_githubs(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.write_file(world.repo, PATH, "x" * 200)
    lines = (await http.get(URL)).json()["content"].splitlines()
    assert {len(line) for line in lines[:-1]} == {60}


@pytest.mark.parametrize(
    ("path", "ref"),
    [(PATH, None), ("other.yml", None), (PATH, "some-branch")],
    ids=["absent-file", "absent-path", "other-branch"],
)
async def test_absent_content_is_404(
    http: httpx.AsyncClient, world: World, path: str, ref: str | None
) -> None:
    if path != PATH or ref is not None:
        world.fake.write_file(world.repo, PATH, "x")
    params = {"ref": ref} if ref else {}
    response = await http.get(f"/repos/python-trio/trio/contents/{path}", params=params)
    assert response.status_code == 404


async def test_a_directory_lists_its_entries(http: httpx.AsyncClient, world: World) -> None:
    world.fake.write_file(world.repo, PATH, "x")
    world.fake.write_file(world.repo, ".github/workflows/ci.yml", "y")
    listing = (await http.get("/repos/python-trio/trio/contents/.github")).json()
    assert [(entry["type"], entry["path"]) for entry in listing] == [
        ("file", PATH),
        ("dir", ".github/workflows"),
    ]


async def test_contents_need_the_contents_permission(http: httpx.AsyncClient, world: World) -> None:
    world.fake.write_file(world.repo, PATH, "x")
    del world.installation.permissions["contents"]
    assert (await http.get(URL)).status_code == 403


async def test_unchanged_file_revalidates_as_304_and_a_changed_one_does_not(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.write_file(world.repo, PATH, "one")
    etag = (await http.get(URL)).headers["etag"]
    assert (await http.get(URL, headers={"If-None-Match": etag})).status_code == 304
    world.fake.write_file(world.repo, PATH, "two")
    assert (await http.get(URL, headers={"If-None-Match": etag})).status_code == 200


async def test_put_file_emits_a_push_that_validates_and_names_the_file(world: World) -> None:
    delivery = await world.fake.put_file(world.repo, PATH, "a: 1\n", pusher=world.member)
    assert delivery is not None and delivery.event == "push"
    assert_valid_webhook("push", delivery.payload)
    payload = delivery.payload
    assert payload["ref"] == "refs/heads/main"
    assert payload["head_commit"]["added"] == [PATH]
    assert payload["installation"]["id"] == world.installation.id
    second = await world.fake.put_file(world.repo, PATH, "a: 2\n", pusher=world.member)
    assert second is not None
    assert second.payload["before"] == payload["after"]
    assert second.payload["head_commit"]["modified"] == [PATH]
    assert world.fake.contents.get(world.repo, PATH) is not None


async def test_put_file_with_none_removes_the_file_and_says_so(world: World) -> None:
    world.fake.write_file(world.repo, PATH, "a: 1\n")
    delivery = await world.fake.put_file(world.repo, PATH, None, pusher=world.member)
    assert delivery is not None
    assert_valid_webhook("push", delivery.payload)
    assert delivery.payload["head_commit"]["removed"] == [PATH]
    assert world.fake.contents.get(world.repo, PATH) is None


async def test_a_team_is_found_by_its_slug(http: httpx.AsyncClient, world: World) -> None:
    team = world.fake.add_team(world.org, "Issue Triagers")
    response = await http.get("/orgs/python-trio/teams/issue-triagers")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["slug"]) == (team.id, "issue-triagers")
    assert (await http.get("/orgs/python-trio/teams/nobody")).status_code == 404


async def test_search_counts_merged_pull_requests_by_author_in_the_org(
    http: httpx.AsyncClient, world: World
) -> None:
    for merge in (True, True, False):
        pr = world.fake.open_pull_request(world.repo, author=world.outsider)
        if merge:
            await world.fake.merge_pull_request(pr, merged_by=world.member)
    world.fake.open_pull_request(world.repo, author=world.member)
    q = "is:pr is:merged author:contributor org:python-trio"
    body = (await http.get("/search/issues", params={"q": q})).json()
    assert (body["total_count"], body["incomplete_results"]) == (2, False)
    assert {item["user"]["login"] for item in body["items"]} == {"contributor"}


async def test_search_reports_incomplete_results_when_told(
    http: httpx.AsyncClient, world: World
) -> None:
    world.fake.search_incomplete_results = True
    body = (await http.get("/search/issues", params={"q": "is:pr"})).json()
    assert body["incomplete_results"] is True


async def test_search_refuses_qualifiers_it_does_not_model(
    http: httpx.AsyncClient, world: World
) -> None:
    response = await http.get("/search/issues", params={"q": "is:pr label:bug"})
    assert response.status_code == 422
