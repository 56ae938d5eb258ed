"""The features' comments: posted at most once, with the features' policy around the library helper.

:func:`snekomatic.gh.comments.find_or_create_comment` finds a comment by its hidden marker before
posting one. Here it trusts the marker only in comments by ``Bot`` accounts (the app's bot login is
not known without ``GET /app``, which the invite flow may not call), a 404 for an object a webhook just
announced is retried briefly, and a 403 becomes :class:`MissingPermission`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

import anyio
import structlog

from snekomatic.features._errors import MissingPermission
from snekomatic.gh import comments, exponential_backoff
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import Forbidden, NotFound

__all__ = [
    "ISSUES_PERMISSION",
    "NOT_FOUND_RETRY_DELAYS",
    "find_or_create_comment",
    "retry_not_found",
]

ISSUES_PERMISSION: Final = "issues and pull requests: read & write"
_COMMENTS_ENDPOINT: Final = "POST /repos/{owner}/{repo}/issues/{number}/comments"

#: Waits before retrying a 404 for an object a webhook just announced: GitHub's API can lag its
#: webhooks by a moment (the original bot slept 1 s before every event; we wait only when needed).
NOT_FOUND_RETRY_DELAYS: Final = tuple(exponential_backoff(n, base=0.5, cap=2.0) for n in range(3))

T = TypeVar("T")
log = structlog.get_logger("snekomatic.features")


async def retry_not_found(
    call: Callable[[], Awaitable[T]], *, delays: tuple[float, ...] = NOT_FOUND_RETRY_DELAYS
) -> T:
    """``await call()``, again after each of ``delays`` seconds while it raises ``NotFound``.

    Returns its result; raises its last ``NotFound`` once the delays are used up, and any other error
    at once. A checkpoint; cancellation stops the waiting.
    """
    for delay in delays:
        try:
            return await call()
        except NotFound:
            await anyio.sleep(delay)
    return await call()


async def find_or_create_comment(
    client: GitHubClient, *, repository: str, number: int, marker: str, body: str
) -> Mapping[str, Any]:
    """The comment on issue or PR ``number`` of ``repository`` (``"owner/name"``) marked ``marker``,
    posted with ``body`` (plus the marker) if no bot comment carries it yet. Returns its JSON.

    Only comments by ``Bot`` accounts count, so a person quoting the marker cannot suppress it. A 404
    is retried briefly (:func:`retry_not_found`). Raises :class:`MissingPermission` on a 403 and the
    client's errors otherwise. A checkpoint. Cancelled after the POST was sent: the comment may exist,
    and the next call finds it.
    """

    async def attempt() -> Mapping[str, Any]:
        return await comments.find_or_create_comment(
            client,
            repo_full_name=repository,
            issue_number=number,
            marker=marker,
            body=body,
            author_type="Bot",
        )

    try:
        return await retry_not_found(attempt)
    except Forbidden as exc:
        log.error(
            "missing permission",
            permission=ISSUES_PERMISSION,
            repository=repository,
            endpoint=_COMMENTS_ENDPOINT,
            github_message=exc.message,
        )
        raise MissingPermission(
            permission=ISSUES_PERMISSION, endpoint=_COMMENTS_ENDPOINT, account=repository
        ) from exc
