"""Comments that are posted at most once: found by a hidden marker before one is posted.

Like :func:`snekomatic.gh.comments.find_or_create_comment`, with the same marker
(:func:`~snekomatic.gh.comments.marker_comment`), but it trusts the marker only in comments by ``Bot``
accounts (the gh helper filters by one login, and the app's bot login is not known without
``GET /app``, which the invite flow may not call), retries a 404 briefly, and turns a 403 into
:class:`MissingPermission`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

import anyio
import structlog

from snekomatic.features._errors import MissingPermission
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.comments import marker_comment
from snekomatic.gh.errors import Forbidden, NotFound

__all__ = [
    "COMMENTS_URL",
    "ISSUES_PERMISSION",
    "NOT_FOUND_RETRY_DELAYS",
    "find_or_create_comment",
    "marker_line",
    "retry_not_found",
]

COMMENTS_URL: Final = "/repos/{owner}/{repo}/issues/{number}/comments"
ISSUES_PERMISSION: Final = "issues and pull requests: read & write"

#: Waits before retrying a 404 for an object a webhook just announced: GitHub's API can lag its
#: webhooks by a moment (the original bot slept 1 s before every event; we wait only when needed).
NOT_FOUND_RETRY_DELAYS: Final = (0.5, 1.0, 2.0)

T = TypeVar("T")
log = structlog.get_logger("snekomatic.features")


def marker_line(marker: str) -> str:
    """The hidden line that identifies a comment: ``<!-- snekomatic:{marker} -->``.

    Raises ``ValueError`` for a marker that would break the HTML comment (see ``marker_comment``).
    """
    return marker_comment(marker)


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
    posted with ``body`` (plus the marker line) if no bot comment carries it yet. Returns its JSON.

    Only comments by ``Bot`` accounts count, so a person quoting the marker cannot suppress it. A 404
    is retried briefly (:func:`retry_not_found`). Raises :class:`MissingPermission` on a 403 and the
    client's errors otherwise. A checkpoint. Cancelled after the POST was sent: the comment may exist,
    and the next call finds it.
    """
    owner, repo = repository.split("/", 1)
    url_vars = {"owner": owner, "repo": repo, "number": number}
    line = marker_line(marker)

    async def attempt() -> Mapping[str, Any]:
        async for comment in client.getiter(
            COMMENTS_URL + "{?per_page}", {**url_vars, "per_page": 100}
        ):
            if _is_marked(comment, line):
                return dict(comment)
        created = await client.post(COMMENTS_URL, url_vars, data={"body": f"{body}\n\n{line}"})
        return dict(created)

    try:
        return await retry_not_found(attempt)
    except Forbidden as exc:
        log.error(
            "missing permission",
            permission=ISSUES_PERMISSION,
            repository=repository,
            endpoint="POST " + COMMENTS_URL,
            github_message=exc.message,
        )
        raise MissingPermission(
            permission=ISSUES_PERMISSION, endpoint="POST " + COMMENTS_URL, account=repository
        ) from exc


def _is_marked(comment: Any, line: str) -> bool:
    if not isinstance(comment, Mapping):
        return False
    user, text = comment.get("user"), comment.get("body")
    is_bot = isinstance(user, Mapping) and user.get("type") == "Bot"
    return is_bot and isinstance(text, str) and line in text
