"""``/ping``: answer "pong!" and react with a heart, once per issue, pull request or comment.

Where the command was written decides where the heart goes (GitHub has no reactions on reviews)::

    issue_comment                 a heart on the comment   POST .../issues/comments/{id}/reactions
    issues, pull_request          a heart on the body      POST .../issues/{number}/reactions
    pull_request_review_comment   a heart on the comment   POST .../pulls/comments/{id}/reactions
    pull_request_review           no heart

The "pong!" comment goes on the issue or pull request, marked with the id of what held the command, so
a redelivery or an edit gets no second reply. The routing bounds what anyone who can comment may cost
(:class:`~snekomatic.gh.CommandLimit`): the handler runs once per event however many ``/ping`` lines
the body repeats, and a person's commands beyond the per-installation rate limit are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import structlog

from snekomatic.features._comments import find_or_create_comment
from snekomatic.features._names import split_full_name
from snekomatic.gh.app import HandlerContext

__all__ = ["PONG", "PingTarget", "ping_target", "reply_to_ping"]

PONG: Final = "pong!"
HEART: Final = "heart"
_ISSUE_REACTIONS: Final = "/repos/{owner}/{repo}/issues/{number}/reactions"
_COMMENT_REACTIONS: Final = "/repos/{owner}/{repo}/issues/comments/{id}/reactions"
_REVIEW_COMMENT_REACTIONS: Final = "/repos/{owner}/{repo}/pulls/comments/{id}/reactions"

log = structlog.get_logger("snekomatic.ping")


@dataclass(frozen=True, kw_only=True)
class PingTarget:
    """Where to answer a ``/ping``: the issue or PR, the marker key, and the reaction URL (or None)."""

    repository: str  # "owner/name"
    number: int
    marker: str
    reaction_url: str | None
    reaction_vars: Mapping[str, Any]


def ping_target(event: str, payload: Mapping[str, Any]) -> PingTarget | None:
    """Where to answer a ``/ping`` found in ``payload`` of ``event``; None if the payload is unusable
    or the command was written by a bot. Pure."""
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, Mapping) else None
    names = split_full_name(full_name)
    if names is None:
        return None
    owner, repo = names
    container_key = {
        "issue_comment": "comment",
        "issues": "issue",
        "pull_request": "pull_request",
        "pull_request_review": "review",
        "pull_request_review_comment": "comment",
    }.get(event)
    if container_key is None:
        return None
    container = payload.get(container_key)
    thread = (
        payload.get("issue")
        if event in ("issue_comment", "issues")
        else payload.get("pull_request")
    )
    if not isinstance(container, Mapping) or not isinstance(thread, Mapping):
        return None
    source_id, number, author = container.get("id"), thread.get("number"), container.get("user")
    if not isinstance(source_id, int) or not isinstance(number, int):
        return None
    if isinstance(author, Mapping) and author.get("type") == "Bot":
        return None
    base: dict[str, Any] = {"owner": owner, "repo": repo}
    reaction_url: str | None
    if event == "issue_comment":
        reaction_url, reaction_vars = _COMMENT_REACTIONS, {**base, "id": source_id}
    elif event == "pull_request_review_comment":
        reaction_url, reaction_vars = _REVIEW_COMMENT_REACTIONS, {**base, "id": source_id}
    elif event == "pull_request_review":
        reaction_url, reaction_vars = None, base
    else:
        reaction_url, reaction_vars = _ISSUE_REACTIONS, {**base, "number": number}
    return PingTarget(
        repository=f"{owner}/{repo}",
        number=number,
        marker=f"ping:{container_key}:{source_id}",
        reaction_url=reaction_url,
        reaction_vars=reaction_vars,
    )


async def reply_to_ping(ctx: HandlerContext) -> None:
    """The ``/ping`` command handler: a "pong!" comment (once) and a heart reaction (idempotent).

    Raises :class:`~snekomatic.features.MissingPermission` when the installation may not comment, and
    the client's errors otherwise (retry the delivery: it repeats nothing). A checkpoint.
    """
    target = ping_target(ctx.event_name, ctx.payload)
    if target is None:
        log.info("ping ignored", event=ctx.event_name, delivery_id=ctx.delivery_id)
        return
    await find_or_create_comment(
        ctx.client,
        repository=target.repository,
        number=target.number,
        marker=target.marker,
        body=PONG,
    )
    if target.reaction_url is not None:
        await ctx.client.post(target.reaction_url, target.reaction_vars, data={"content": HEART})
    log.info("ping answered", repository=target.repository, number=target.number)
