"""Route for issue search, pull requests included: ``GET /search/issues?q=...``.

https://docs.github.com/en/rest/search/search#search-issues-and-pull-requests. The fake understands the
qualifiers a bot counts with: ``is:pr``/``type:pr``, ``is:issue``/``type:issue``, ``is:merged``,
``is:unmerged``, ``is:open``, ``is:closed``, ``author:``, ``org:``, ``user:``, ``repo:``; anything else
answers 422, so a query the fake cannot honour fails loudly. Results cover what the caller may read
(its installation's account, and public repositories). ``fake.search_incomplete_results`` sets
``incomplete_results`` (GitHub sets it when a search timed out).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import Route

from snekomatic.gh.testing._model import FakeIssue
from snekomatic.gh.testing._payloads import issue_json
from snekomatic.gh.testing._pipeline import Call, api_route
from snekomatic.gh.testing._replies import Reply, paginate, validation_failed
from snekomatic.gh.testing._state import FakeGitHubState

Test = Callable[[Call, FakeIssue], bool]


def _merged(call: Call, issue: FakeIssue) -> bool:
    pr = call.fake.pulls.get((issue.repo.id, issue.number))
    return pr is not None and pr.merged


_FLAGS: dict[str, Test] = {
    "is:pr": lambda call, issue: issue.is_pull_request,
    "type:pr": lambda call, issue: issue.is_pull_request,
    "is:issue": lambda call, issue: not issue.is_pull_request,
    "type:issue": lambda call, issue: not issue.is_pull_request,
    "is:merged": _merged,
    "is:unmerged": lambda call, issue: issue.is_pull_request and not _merged(call, issue),
    "is:open": lambda call, issue: issue.state == "open",
    "is:closed": lambda call, issue: issue.state == "closed",
}


def _qualifier(term: str) -> Test:
    if term.lower() in _FLAGS:
        return _FLAGS[term.lower()]
    name, _, value = term.partition(":")
    value = value.lower()
    if name == "author":
        return lambda call, issue: issue.author.login.lower() == value
    if name in ("org", "user"):
        return lambda call, issue: issue.repo.owner.login.lower() == value
    if name == "repo":
        return lambda call, issue: issue.repo.full_name.lower() == value
    raise validation_failed("Search", code="invalid", field="q", message=f"unsupported: {term}")


def _readable(call: Call, issue: FakeIssue) -> bool:
    installation = call.installation
    return not issue.repo.private or (
        installation is not None and installation.account is issue.repo.owner
    )


async def search_issues(call: Call) -> Reply:
    q = call.query.get("q", "").strip()
    if not q:
        raise validation_failed("Search", code="missing", field="q")
    tests = [_qualifier(term) for term in q.split()]
    found = sorted(
        (
            issue
            for issue in call.fake.issues.values()
            if _readable(call, issue) and all(test(call, issue) for test in tests)
        ),
        key=lambda issue: issue.created_at,
        reverse=True,
    )
    items = [
        {
            **issue_json(
                issue,
                pull_request=call.fake.pulls.get((issue.repo.id, issue.number)),
                api_url=call.api,
            ),
            "score": 1.0,
        }
        for issue in found
    ]
    page, headers = paginate(items, url=call.url, query=call.query)
    body = {
        "total_count": len(items),
        "incomplete_results": call.fake.search_incomplete_results,
        "items": page,
    }
    return Reply(200, body, headers)


def routes(fake: FakeGitHubState) -> list[Route]:
    return [api_route(fake, "GET", "/search/issues", search_issues, auth="installation")]
