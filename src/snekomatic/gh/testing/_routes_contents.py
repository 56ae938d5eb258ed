"""Route for repository contents: ``GET /repos/{owner}/{repo}/contents/{path}`` (default branch).

https://docs.github.com/en/rest/repos/contents#get-repository-content: a file answers its base64
``content`` and blob ``sha``; a directory answers a list of its entries; nothing there answers 404.
Installation tokens need the ``contents`` permission (read).
"""

from __future__ import annotations

from starlette.routing import Route

from snekomatic.gh.testing._files import content_json
from snekomatic.gh.testing._pipeline import Call, api_route
from snekomatic.gh.testing._replies import ApiError, Reply, not_found
from snekomatic.gh.testing._state import FakeGitHubState


async def get_content(call: Call) -> Reply:
    repo = call.fake.repos.get(f"{call.path_params['owner']}/{call.path_params['repo']}".lower())
    if repo is None:
        raise not_found()
    call.check_access(repo.owner, private=repo.private, permission="contents")
    ref = call.query.get("ref")
    if ref is not None and ref not in (repo.default_branch, f"refs/heads/{repo.default_branch}"):
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = str(call.path_params["path"]).strip("/")
    file = call.fake.contents.get(repo, path)
    if file is not None:
        return Reply(200, content_json(file, api_url=call.api))
    prefix = path + "/"
    entries = sorted(
        {
            path + "/" + f.path[len(prefix) :].split("/", 1)[0]
            for (repo_id, _), f in call.fake.contents.files.items()
            if repo_id == repo.id and f.path.startswith(prefix)
        }
    )
    if not entries:
        raise not_found()
    listing = []
    for entry in entries:
        inner = call.fake.contents.get(repo, entry)
        if inner is not None:
            body = content_json(inner, api_url=call.api)
            del body["content"], body["encoding"]
            listing.append(body)
        else:
            listing.append({"type": "dir", "name": entry.rsplit("/", 1)[-1], "path": entry})
    return Reply(200, listing)


def routes(fake: FakeGitHubState) -> list[Route]:
    return [
        api_route(
            fake,
            "GET",
            "/repos/{owner}/{repo}/contents/{path:path}",
            get_content,
            auth="installation",
        ),
    ]
