"""Idempotent issue comments: find the comment carrying a hidden marker, or post it.

A bot that may handle the same delivery twice (a redelivery, a retried job) must not comment twice. It
tags its comment with an HTML comment that GitHub does not render, ``<!-- snekomatic:welcome -->``, and
looks for that tag before posting::

    comment = await find_or_create_comment(
        ctx.client, repo_full_name="python-trio/trio", issue_number=123,
        marker="welcome", body="Thanks for your first contribution!",
    )
"""

from __future__ import annotations

from typing import Any, Final

from snekomatic.gh.client import GitHubClient

__all__ = [
    "DEFAULT_MARKER_PREFIX",
    "find_marked_comment",
    "find_or_create_comment",
    "marker_comment",
]

DEFAULT_MARKER_PREFIX: Final = "snekomatic"
_COMMENTS_URL: Final = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


def marker_comment(marker: str, *, prefix: str = DEFAULT_MARKER_PREFIX) -> str:
    """The hidden tag for ``marker``: ``<!-- {prefix}:{marker} -->``. Pure.

    Raises ``ValueError`` when ``marker`` or ``prefix`` is empty or holds what would end or break the
    HTML comment (``--``, ``>``, a line break) or a ``:`` in the prefix.
    """
    for name, value in (("marker", marker), ("prefix", prefix)):
        if not value or "--" in value or ">" in value or "\n" in value or "\r" in value:
            raise ValueError(f"{name} must be non-empty, on one line, without '--' or '>'")
    if ":" in prefix:
        raise ValueError("prefix must not contain ':'")
    return f"<!-- {prefix}:{marker} -->"


def _split_full_name(repo_full_name: str) -> tuple[str, str]:
    owner, slash, repo = repo_full_name.partition("/")
    if not slash or not owner or not repo or "/" in repo:
        raise ValueError(f"expected 'owner/name', got {repo_full_name!r}")
    return owner, repo


async def find_marked_comment(
    client: GitHubClient,
    *,
    repo_full_name: str,
    issue_number: int,
    marker: str,
    prefix: str = DEFAULT_MARKER_PREFIX,
    author: str | None = None,
    author_type: str | None = None,
) -> dict[str, Any] | None:
    """The first comment on the issue or pull request whose body holds :func:`marker_comment`, or None.

    Reads every page of ``GET /repos/{owner}/{repo}/issues/{number}/comments`` until it finds one.
    ``author`` (a login) ignores comments by anyone else, so a user pasting the tag changes nothing;
    ``author_type`` (``"Bot"``) does the same by account type, for a bot that does not know its login.
    A checkpoint; raises ``ValueError`` for a malformed name or marker, and the client's errors
    (``NotFound`` for an unknown issue...). Cancellation abandons the search; nothing was written.
    """
    owner, repo = _split_full_name(repo_full_name)
    tag = marker_comment(marker, prefix=prefix)
    url_vars = {"owner": owner, "repo": repo, "issue_number": issue_number, "per_page": 100}
    async for comment in client.getiter(_COMMENTS_URL + "{?per_page}", url_vars):
        if not isinstance(comment, dict) or tag not in (comment.get("body") or ""):
            continue
        user = comment.get("user") or {}
        if author is not None and user.get("login") != author:
            continue
        if author_type is not None and user.get("type") != author_type:
            continue
        return comment
    return None


async def find_or_create_comment(
    client: GitHubClient,
    *,
    repo_full_name: str,
    issue_number: int,
    marker: str,
    body: str,
    prefix: str = DEFAULT_MARKER_PREFIX,
    author: str | None = None,
    author_type: str | None = None,
) -> dict[str, Any]:
    """Return the comment tagged with ``marker`` on the issue or pull request, posting it if missing.

    The posted body is ``body`` followed by a blank line and :func:`marker_comment`. An existing comment
    is returned as GitHub has it, even if its text differs from ``body``. Returns GitHub's comment
    object. A checkpoint; raises as :func:`find_marked_comment`, and the errors of
    ``POST .../comments``.

    Not atomic: two tasks racing on one issue can both post. The inbox handles a delivery in one task
    at a time, which is what makes a redelivery safe. Cancelled after the POST was sent: the comment
    may exist, and the next call finds it.
    """
    existing = await find_marked_comment(
        client,
        repo_full_name=repo_full_name,
        issue_number=issue_number,
        marker=marker,
        prefix=prefix,
        author=author,
        author_type=author_type,
    )
    if existing is not None:
        return existing
    owner, repo = _split_full_name(repo_full_name)
    tagged = f"{body.rstrip()}\n\n{marker_comment(marker, prefix=prefix)}"
    created = await client.post(
        _COMMENTS_URL,
        {"owner": owner, "repo": repo, "issue_number": issue_number},
        data={"body": tagged},
    )
    if not isinstance(created, dict):
        raise ValueError("GitHub's answer to creating a comment is not a JSON object")
    return created
