"""GitHub's pull request object built from the fake's records (pure; see ``_payloads_objects``)."""

from __future__ import annotations

from typing import Any

from snekomatic.gh.testing._model import FakePullRequest
from snekomatic.gh.testing._payloads_objects import (
    GITHUB_API_URL,
    GITHUB_HTML_URL,
    derive_author_association,
    fake_sha,
    format_timestamp,
    node_id,
    repository_json,
    user_json,
)


def _branch_json(pr: FakePullRequest, ref: str, sha: str, *, api_url: str, html_url: str) -> Any:
    # The fake has no forks: both branches live in the pull request's own repository.
    repo = pr.repo
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user_json(repo.owner, api_url=api_url, html_url=html_url),
        "repo": repository_json(repo, api_url=api_url, html_url=html_url),
    }


def pull_request_json(
    pr: FakePullRequest,
    *,
    author_association: str | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """GitHub's pull request (``GET /repos/{owner}/{repo}/pulls/{number}``, webhooks' ``pull_request``).

    State, title, body, author and times come from ``pr.issue``; ``merged``, ``merged_by``,
    ``merged_at`` and ``merge_commit_sha`` from ``pr``. A merged or closed pull request reports
    ``mergeable: null`` and ``mergeable_state: "unknown"``, as GitHub does. The base commit's sha, which
    the fake does not model, is a stable hash of the repository and the base branch.
    """
    issue = pr.issue
    repo = pr.repo
    repo_api = f"{api_url.rstrip('/')}/repos/{repo.full_name}"
    api = f"{repo_api}/pulls/{pr.number}"
    page = f"{html_url.rstrip('/')}/{repo.full_name}/pull/{pr.number}"
    issue_api = f"{repo_api}/issues/{pr.number}"
    is_open = issue.state == "open"
    links = {
        "self": api,
        "html": page,
        "issue": issue_api,
        "comments": f"{issue_api}/comments",
        "review_comments": f"{api}/comments",
        "review_comment": f"{repo_api}/pulls/comments{{/number}}",
        "commits": f"{api}/commits",
        "statuses": f"{repo_api}/statuses/{pr.head_sha}",
    }
    return {
        "url": api,
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "html_url": page,
        "diff_url": f"{page}.diff",
        "patch_url": f"{page}.patch",
        "issue_url": issue_api,
        "number": pr.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "user": user_json(issue.author, api_url=api_url, html_url=html_url),
        "body": issue.body,
        "created_at": format_timestamp(issue.created_at),
        "updated_at": format_timestamp(issue.updated_at),
        "closed_at": None if issue.closed_at is None else format_timestamp(issue.closed_at),
        "merged_at": None if pr.merged_at is None else format_timestamp(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": None,
        "draft": False,
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "head": _branch_json(pr, pr.head_ref, pr.head_sha, api_url=api_url, html_url=html_url),
        "base": _branch_json(
            pr,
            pr.base_ref,
            fake_sha(repo.full_name, pr.base_ref),
            api_url=api_url,
            html_url=html_url,
        ),
        "_links": {name: {"href": href} for name, href in links.items()},
        "author_association": author_association or derive_author_association(issue.author, repo),
        "auto_merge": None,
        "active_lock_reason": None,
        "merged": pr.merged,
        "mergeable": True if is_open else None,
        "rebaseable": True if is_open else None,
        "mergeable_state": "clean" if is_open else "unknown",
        "merged_by": None
        if pr.merged_by is None
        else user_json(pr.merged_by, api_url=api_url, html_url=html_url),
        "comments": len(issue.comments),
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    }
