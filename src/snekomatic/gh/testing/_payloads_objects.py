"""GitHub's REST object shapes (user, organization, repository, issue, comment) built from the fake's
records.

Pure functions: records in, JSON-ready dicts out. The fake's REST routes and its webhook payloads both
use them, so an object looks the same whichever way a bot receives it. Field sets follow GitHub's REST
reference and the octokit/webhooks schemas (``common/*.schema.json``), which are strict: a field GitHub
does not document there (``user_view_type``, for instance) is left out.

Base URLs are arguments: ``api_url`` (``https://api.github.com``, or a GHES ``https://ghe/api/v3``) and
``html_url`` (``https://github.com``). The fake passes its own base URL for both.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from snekomatic.gh.testing._model import (
    FakeComment,
    FakeIssue,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
)

GITHUB_API_URL = "https://api.github.com"
GITHUB_HTML_URL = "https://github.com"

# https://docs.github.com/en/rest/reactions/reactions#about-reactions
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


def format_timestamp(epoch: float) -> str:
    """``epoch`` (seconds) as GitHub writes times: ``2019-05-15T15:20:33Z``, UTC, whole seconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, database_id: int) -> str:
    """A GraphQL global id in GitHub's legacy form, e.g. ``node_id("User", 1)`` -> ``MDQ6VXNlcjE=``.

    GitHub base64-encodes ``0<len(kind)>:<kind><id>``; the real examples decode that way.
    """
    raw = f"0{len(kind)}:{kind}{database_id}"
    return base64.b64encode(raw.encode("ascii")).decode("ascii")


def fake_sha(*parts: object) -> str:
    """A deterministic 40-hex "commit sha" for things the fake does not model (base commits)."""
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _base(url: str) -> str:
    return url.rstrip("/")


def _avatar_url(user_id: int, html_url: str) -> str:
    if _base(html_url) == GITHUB_HTML_URL:
        return f"https://avatars.githubusercontent.com/u/{user_id}?v=4"
    return f"{_base(html_url)}/avatars/u/{user_id}?v=4"  # GitHub Enterprise Server's form


def user_json(
    user: FakeUser, *, api_url: str = GITHUB_API_URL, html_url: str = GITHUB_HTML_URL
) -> dict[str, Any]:
    """GitHub's "simple user" for a user, bot or organization account.

    A bot's (``dependabot[bot]``) API URL quotes its login and its page is ``/apps/<slug>``, as on
    GitHub. ``name``, ``email`` and ``user_view_type`` are not part of this shape.
    """
    api = f"{_base(api_url)}/users/{quote(user.login, safe='')}"
    if user.type == "Bot" and user.login.endswith("[bot]"):
        page = f"{_base(html_url)}/apps/{user.login.removesuffix('[bot]')}"
    else:
        page = f"{_base(html_url)}/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id(user.type, user.id),
        "avatar_url": _avatar_url(user.id, html_url),
        "gravatar_id": "",
        "url": api,
        "html_url": page,
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "site_admin": user.site_admin,
    }


def org_json(
    org: FakeOrg, *, api_url: str = GITHUB_API_URL, html_url: str = GITHUB_HTML_URL
) -> dict[str, Any]:
    """GitHub's "organization simple" (the ``organization`` key of webhooks, ``GET /user/orgs`` items)."""
    api = f"{_base(api_url)}/orgs/{quote(org.login, safe='')}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": _avatar_url(org.id, html_url),
        "description": org.description,
    }


def repository_json(
    repo: FakeRepo, *, api_url: str = GITHUB_API_URL, html_url: str = GITHUB_HTML_URL
) -> dict[str, Any]:
    """GitHub's repository object, as in webhooks and ``GET /repos/{owner}/{repo}``.

    The fake keeps one time per repository, so ``created_at``, ``updated_at`` and ``pushed_at`` agree.
    """
    api = f"{_base(api_url)}/repos/{repo.full_name}"
    page = f"{_base(html_url)}/{repo.full_name}"
    host = urlsplit(html_url).netloc
    ssh_host = urlsplit(html_url).hostname
    stamp = format_timestamp(repo.created_at)
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": user_json(repo.owner, api_url=api_url, html_url=html_url),
        "html_url": page,
        "description": repo.description,
        "fork": False,
        "url": api,
        "forks_url": f"{api}/forks",
        "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events",
        "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers",
        "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}",
        "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
        "created_at": stamp,
        "updated_at": stamp,
        "pushed_at": stamp,
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{ssh_host}:{repo.full_name}.git",
        "clone_url": f"{page}.git",
        "svn_url": page,
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": None,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": repo.default_branch,
        "custom_properties": {},
    }


def derive_author_association(author: FakeUser, repo: FakeRepo) -> str:
    """How ``author`` relates to ``repo``, as far as the fake knows: ``OWNER``, ``MEMBER`` (an active
    member of the owning organization) or ``NONE``. Pass ``author_association=`` to the builders for
    the values the fake cannot work out (``CONTRIBUTOR``, ``FIRST_TIME_CONTRIBUTOR``, ...).
    """
    if author.id == repo.owner.id:
        return "OWNER"
    if repo.org is not None:
        membership = repo.org.members.get(author.id)
        if membership is not None and membership.state == "active":
            return "MEMBER"
    return "NONE"


def reactions_json(reactions: Iterable[tuple[FakeUser, str]], url: str) -> dict[str, Any]:
    """The ``reactions`` rollup: a count per reaction content, and their total."""
    counts = Counter(content for _, content in reactions)
    rollup: dict[str, Any] = {"url": url, "total_count": sum(counts.values())}
    rollup.update({content: counts[content] for content in REACTION_CONTENTS})
    return rollup


def issue_json(
    issue: FakeIssue,
    *,
    pull_request: FakePullRequest | None = None,
    author_association: str | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """GitHub's issue object (``GET /repos/{owner}/{repo}/issues/{number}``, webhooks' ``issue``).

    When ``issue.is_pull_request``, the object carries GitHub's ``pull_request`` link block and its
    page is ``/pull/<n>``; pass ``pull_request`` so that block's ``merged_at`` is filled in.
    """
    repo = issue.repo
    api = f"{_base(api_url)}/repos/{repo.full_name}/issues/{issue.number}"
    kind = "pull" if issue.is_pull_request else "issues"
    page = f"{_base(html_url)}/{repo.full_name}/{kind}/{issue.number}"
    result: dict[str, Any] = {
        "url": api,
        "repository_url": f"{_base(api_url)}/repos/{repo.full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": page,
        "id": issue.id,
        "node_id": node_id("PullRequest" if issue.is_pull_request else "Issue", issue.id),
        "number": issue.number,
        "title": issue.title,
        "user": user_json(issue.author, api_url=api_url, html_url=html_url),
        "labels": [],
        "state": issue.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": len(issue.comments),
        "created_at": format_timestamp(issue.created_at),
        "updated_at": format_timestamp(issue.updated_at),
        "closed_at": None if issue.closed_at is None else format_timestamp(issue.closed_at),
        "author_association": author_association or derive_author_association(issue.author, repo),
        "active_lock_reason": None,
        "body": issue.body,
        "reactions": reactions_json(issue.reactions, f"{api}/reactions"),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
        "state_reason": None,
        "draft": False,
    }
    if issue.is_pull_request:
        pr_api = f"{_base(api_url)}/repos/{repo.full_name}/pulls/{issue.number}"
        merged_at = None
        if pull_request is not None and pull_request.merged_at is not None:
            merged_at = format_timestamp(pull_request.merged_at)
        result["pull_request"] = {
            "url": pr_api,
            "html_url": page,
            "diff_url": f"{page}.diff",
            "patch_url": f"{page}.patch",
            "merged_at": merged_at,
        }
    elif issue.state == "closed":
        result["state_reason"] = "completed"
    return result


def comment_json(
    comment: FakeComment,
    *,
    is_pull_request: bool = False,
    author_association: str | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """GitHub's issue comment (``GET /repos/{owner}/{repo}/issues/comments/{id}``).

    A comment on a pull request links to ``/pull/<n>#issuecomment-<id>``: say so with
    ``is_pull_request`` (the comment record does not know what it is on).
    """
    repo_api = f"{_base(api_url)}/repos/{comment.repo.full_name}"
    api = f"{repo_api}/issues/comments/{comment.id}"
    kind = "pull" if is_pull_request else "issues"
    page = f"{_base(html_url)}/{comment.repo.full_name}/{kind}/{comment.issue_number}"
    return {
        "url": api,
        "html_url": f"{page}#issuecomment-{comment.id}",
        "issue_url": f"{repo_api}/issues/{comment.issue_number}",
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "user": user_json(comment.author, api_url=api_url, html_url=html_url),
        "created_at": format_timestamp(comment.created_at),
        "updated_at": format_timestamp(comment.updated_at),
        "author_association": author_association
        or derive_author_association(comment.author, comment.repo),
        "body": comment.body,
        "reactions": reactions_json(comment.reactions, f"{api}/reactions"),
        "performed_via_github_app": None,
    }
