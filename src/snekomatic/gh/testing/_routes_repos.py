"""Routes for repositories: pulls, issues, issue comments and reactions."""

from __future__ import annotations

from starlette.routing import Route

from snekomatic.gh.testing._model import FakeComment, FakeIssue, FakeRepo, FakeUser
from snekomatic.gh.testing._payloads import (
    comment_json,
    issue_json,
    pull_request_json,
    repository_json,
)
from snekomatic.gh.testing._pipeline import Auth, Call, api_route
from snekomatic.gh.testing._render import reaction_json
from snekomatic.gh.testing._replies import ApiError, Reply, not_found, paginate, validation_failed
from snekomatic.gh.testing._state import FakeGitHubState

# https://docs.github.com/en/rest/reactions/reactions#about-reactions
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


def _repo(call: Call, *, write: bool = False, permission: str | None = None) -> FakeRepo:
    repo = call.fake.repos.get(f"{call.path_params['owner']}/{call.path_params['repo']}".lower())
    if repo is None:
        raise not_found()
    call.check_access(repo.owner, private=repo.private, write=write, permission=permission)
    return repo


def _issue(call: Call, repo: FakeRepo) -> FakeIssue:
    issue = call.fake.issues.get((repo.id, call.path_params["number"]))
    if issue is None:
        raise not_found()
    return issue


def _comment(call: Call, repo: FakeRepo) -> FakeComment:
    comment = call.fake.comments.get(call.path_params["comment_id"])
    if comment is None or comment.repo is not repo:
        raise not_found()
    return comment


def _author(call: Call) -> FakeUser:
    # Writes made with an installation token are made by the app's bot account.
    return call.fake.bot


def _body_text(call: Call) -> str:
    body = call.body_field("body")
    if not isinstance(body, str) or not body:
        raise validation_failed("IssueComment", code="missing_field", field="body")
    return body


def _render_comment(call: Call, comment: FakeComment) -> dict[str, object]:
    issue = call.fake.issues[(comment.repo.id, comment.issue_number)]
    return comment_json(comment, is_pull_request=issue.is_pull_request, api_url=call.api)


async def get_repo(call: Call) -> Reply:
    return Reply(200, repository_json(_repo(call), api_url=call.api))


async def get_pull(call: Call) -> Reply:
    repo = _repo(call, permission="pull_requests")
    pr = call.fake.pulls.get((repo.id, call.path_params["number"]))
    if pr is None:
        raise not_found()
    return Reply(200, pull_request_json(pr, api_url=call.api))


async def list_pulls(call: Call) -> Reply:
    repo = _repo(call, permission="pull_requests")
    state = call.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise validation_failed("PullRequest", code="invalid", field="state")
    pulls = sorted(
        (p for (repo_id, _), p in call.fake.pulls.items() if repo_id == repo.id),
        key=lambda p: p.number,
        reverse=True,
    )
    chosen = [p for p in pulls if state == "all" or p.issue.state == state]
    page, headers = paginate(
        [pull_request_json(p, api_url=call.api) for p in chosen], url=call.url, query=call.query
    )
    return Reply(200, page, headers)


async def get_issue(call: Call) -> Reply:
    repo = _repo(call, permission="issues")
    issue = _issue(call, repo)
    pr = call.fake.pulls.get((repo.id, issue.number))
    return Reply(200, issue_json(issue, pull_request=pr, api_url=call.api))


async def list_comments(call: Call) -> Reply:
    repo = _repo(call, permission="issues")
    issue = _issue(call, repo)
    page, headers = paginate(
        [_render_comment(call, c) for c in issue.comments], url=call.url, query=call.query
    )
    return Reply(200, page, headers)


async def create_comment(call: Call) -> Reply:
    repo = _repo(call, write=True, permission="issues")
    issue = _issue(call, repo)
    comment = call.fake.create_comment(
        repo, issue.number, author=_author(call), body=_body_text(call)
    )
    return Reply(
        201,
        _render_comment(call, comment),
        {"location": f"{call.api}/repos/{repo.full_name}/issues/comments/{comment.id}"},
    )


async def get_comment(call: Call) -> Reply:
    repo = _repo(call, permission="issues")
    return Reply(200, _render_comment(call, _comment(call, repo)))


async def edit_comment(call: Call) -> Reply:
    repo = _repo(call, write=True, permission="issues")
    comment = _comment(call, repo)
    if comment.author is not _author(call):
        raise ApiError(403, "Resource not accessible by integration")
    comment.body = _body_text(call)
    comment.updated_at = call.now
    return Reply(200, _render_comment(call, comment))


def _react(call: Call, kind: str, target_id: int, reactions: list[tuple[FakeUser, str]]) -> Reply:
    content = call.body_field("content")
    if content not in REACTION_CONTENTS:
        raise validation_failed("Reaction", code="invalid", field="content")
    user = _author(call)
    key = (kind, target_id, user.id, content)
    existing = call.fake.reaction_ids.get(key)
    if existing is not None:
        # GitHub answers 200 with the reaction that already exists.
        return Reply(200, reaction_json(existing, user, content, call.now, call.api))
    reaction_id = next(call.fake._reaction_ids)
    call.fake.reaction_ids[key] = reaction_id
    reactions.append((user, content))
    return Reply(201, reaction_json(reaction_id, user, content, call.now, call.api))


async def react_to_issue(call: Call) -> Reply:
    repo = _repo(call, write=True, permission="issues")
    issue = _issue(call, repo)
    return _react(call, "issue", issue.id, issue.reactions)


async def react_to_comment(call: Call) -> Reply:
    repo = _repo(call, write=True, permission="issues")
    comment = _comment(call, repo)
    return _react(call, "comment", comment.id, comment.reactions)


def routes(fake: FakeGitHubState) -> list[Route]:
    base = "/repos/{owner}/{repo}"
    auth: Auth = "installation"
    return [
        api_route(fake, "GET", base, get_repo, auth=auth),
        api_route(fake, "GET", base + "/pulls", list_pulls, auth=auth),
        api_route(fake, "GET", base + "/pulls/{number:int}", get_pull, auth=auth),
        api_route(fake, "GET", base + "/issues/{number:int}", get_issue, auth=auth),
        api_route(fake, "GET", base + "/issues/{number:int}/comments", list_comments, auth=auth),
        api_route(fake, "POST", base + "/issues/{number:int}/comments", create_comment, auth=auth),
        api_route(fake, "POST", base + "/issues/{number:int}/reactions", react_to_issue, auth=auth),
        api_route(fake, "GET", base + "/issues/comments/{comment_id:int}", get_comment, auth=auth),
        api_route(
            fake, "PATCH", base + "/issues/comments/{comment_id:int}", edit_comment, auth=auth
        ),
        api_route(
            fake,
            "POST",
            base + "/issues/comments/{comment_id:int}/reactions",
            react_to_comment,
            auth=auth,
        ),
    ]
