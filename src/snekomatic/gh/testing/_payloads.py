"""Webhook payloads in GitHub's shape, built from the fake's records.

Pure functions: no I/O, no clock. Each builder returns the JSON-ready body GitHub would deliver for one
event, with ``organization`` present exactly when the repository belongs to an organization and
``installation`` (``{"id", "node_id"}``) present exactly when one is given, as for GitHub App webhooks.
The octokit/webhooks JSON schemas are the reference: the tests validate every builder against them.

The REST object builders (``user_json``, ``repository_json``, ...) live in ``_payloads_objects`` and
``_payloads_pulls`` and are re-exported here, so the fake's routes and its webhooks share one shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from snekomatic.gh.testing._model import (
    FakeComment,
    FakeInstallation,
    FakeIssue,
    FakePullRequest,
    FakeRepo,
    FakeUser,
)
from snekomatic.gh.testing._payloads_objects import (
    GITHUB_API_URL,
    GITHUB_HTML_URL,
    comment_json,
    derive_author_association,
    format_timestamp,
    issue_json,
    node_id,
    org_json,
    repository_json,
    user_json,
)
from snekomatic.gh.testing._payloads_pulls import pull_request_json

__all__ = [
    "GITHUB_API_URL",
    "GITHUB_HTML_URL",
    "comment_json",
    "derive_author_association",
    "format_timestamp",
    "installation_json",
    "installation_lite_json",
    "installation_payload",
    "issue_comment_payload",
    "issue_json",
    "issues_payload",
    "node_id",
    "org_json",
    "ping_payload",
    "pull_request_json",
    "pull_request_payload",
    "repository_json",
    "user_json",
]

# The "zen" of a ping: GitHub picks one of its design principles at random; the fake always says this.
PING_ZEN = "Design for failure."


def installation_lite_json(installation: FakeInstallation) -> dict[str, Any]:
    """The ``installation`` key of webhooks delivered to an app: ``{"id", "node_id"}``."""
    return {
        "id": installation.id,
        "node_id": node_id("IntegrationInstallation", installation.id),
    }


def installation_json(
    installation: FakeInstallation,
    *,
    app_id: int,
    app_slug: str | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """GitHub's full installation (``GET /app/installations/{id}``, ``installation.created``).

    ``app_id`` is an argument because the installation record does not carry it.
    """
    account = installation.account
    if account.type == "Organization":
        settings = f"{html_url.rstrip('/')}/organizations/{account.login}/settings/installations"
    else:
        settings = f"{html_url.rstrip('/')}/settings/installations"
    stamp = format_timestamp(installation.created_at)
    result: dict[str, Any] = {
        "id": installation.id,
        "account": user_json(account, api_url=api_url, html_url=html_url),
        "repository_selection": installation.repository_selection,
        "access_tokens_url": f"{api_url.rstrip('/')}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{api_url.rstrip('/')}/installation/repositories",
        "html_url": f"{settings}/{installation.id}",
        "app_id": app_id,
        "target_id": account.id,
        "target_type": "Organization" if account.type == "Organization" else "User",
        "permissions": dict(installation.permissions),
        "events": list(installation.events),
        "created_at": stamp,
        "updated_at": stamp,
        "single_file_name": None,
        "suspended_at": None,
        "suspended_by": None,
    }
    if app_slug is not None:
        result["app_slug"] = app_slug
    return result


def _envelope(
    repo: FakeRepo,
    *,
    sender: FakeUser,
    installation: FakeInstallation | None,
    api_url: str,
    html_url: str,
) -> dict[str, Any]:
    """The keys every repository event carries: repository, sender, organization?, installation?"""
    envelope: dict[str, Any] = {
        "repository": repository_json(repo, api_url=api_url, html_url=html_url),
        "sender": user_json(sender, api_url=api_url, html_url=html_url),
    }
    if repo.org is not None:
        envelope["organization"] = org_json(repo.org, api_url=api_url, html_url=html_url)
    if installation is not None:
        envelope["installation"] = installation_lite_json(installation)
    return envelope


def pull_request_payload(
    pr: FakePullRequest,
    *,
    action: str,
    sender: FakeUser,
    installation: FakeInstallation | None = None,
    changes: Mapping[str, Any] | None = None,
    author_association: str | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """The ``pull_request`` webhook body for ``action`` (``opened``, ``closed``, ``edited``, ...).

    The pull request is described as it is now, so set its state (merged, closed) before building a
    ``closed`` payload. ``changes`` (for ``edited``) is copied in when given.
    """
    payload: dict[str, Any] = {
        "action": action,
        "number": pr.number,
        "pull_request": pull_request_json(
            pr, author_association=author_association, api_url=api_url, html_url=html_url
        ),
    }
    if changes is not None:
        payload["changes"] = dict(changes)
    payload.update(
        _envelope(
            pr.repo, sender=sender, installation=installation, api_url=api_url, html_url=html_url
        )
    )
    return payload


def issue_comment_payload(
    comment: FakeComment,
    issue: FakeIssue,
    *,
    action: str = "created",
    sender: FakeUser,
    installation: FakeInstallation | None = None,
    pull_request: FakePullRequest | None = None,
    changes: Mapping[str, Any] | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """The ``issue_comment`` webhook body: ``comment`` on ``issue`` (which may be a pull request's).

    For a comment on a pull request, ``issue.is_pull_request`` is true and the ``issue`` object carries
    GitHub's ``pull_request`` link block (pass ``pull_request`` to fill in its ``merged_at``).
    ``changes`` is required by GitHub's ``edited`` action and copied in when given.
    """
    payload: dict[str, Any] = {
        "action": action,
        "issue": issue_json(issue, pull_request=pull_request, api_url=api_url, html_url=html_url),
        "comment": comment_json(
            comment, is_pull_request=issue.is_pull_request, api_url=api_url, html_url=html_url
        ),
    }
    if changes is not None:
        payload["changes"] = dict(changes)
    payload.update(
        _envelope(
            issue.repo, sender=sender, installation=installation, api_url=api_url, html_url=html_url
        )
    )
    return payload


def issues_payload(
    issue: FakeIssue,
    *,
    action: str,
    sender: FakeUser,
    installation: FakeInstallation | None = None,
    changes: Mapping[str, Any] | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """The ``issues`` webhook body for ``action`` (``opened``, ``closed``, ``edited``, ...)."""
    payload: dict[str, Any] = {
        "action": action,
        "issue": issue_json(issue, api_url=api_url, html_url=html_url),
    }
    if changes is not None:
        payload["changes"] = dict(changes)
    payload.update(
        _envelope(
            issue.repo, sender=sender, installation=installation, api_url=api_url, html_url=html_url
        )
    )
    return payload


def ping_payload(
    *,
    hook_id: int,
    app_id: int,
    webhook_url: str,
    events: Sequence[str] = ("*",),
    content_type: str = "json",
    created_at: float = 0.0,
    sender: FakeUser | None = None,
    zen: str = PING_ZEN,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """The ``ping`` body GitHub sends to a GitHub App's webhook URL (hook ``type: "App"``).

    ``content_type`` is ``"json"`` or ``"form"``, as in the hook's configuration.
    """
    hook_api = f"{api_url.rstrip('/')}/app/hook"
    stamp = format_timestamp(created_at)
    payload: dict[str, Any] = {
        "zen": zen,
        "hook_id": hook_id,
        "hook": {
            "type": "App",
            "id": hook_id,
            "name": "web",
            "active": True,
            "app_id": app_id,
            "events": list(events),
            "config": {"content_type": content_type, "url": webhook_url, "insecure_ssl": "0"},
            "updated_at": stamp,
            "created_at": stamp,
            "url": f"{hook_api}/config",
            "ping_url": f"{hook_api}/pings",
            "deliveries_url": f"{hook_api}/deliveries",
        },
    }
    if sender is not None:
        payload["sender"] = user_json(sender, api_url=api_url, html_url=html_url)
    return payload


def installation_payload(
    installation: FakeInstallation,
    *,
    action: str = "created",
    sender: FakeUser,
    repositories: Sequence[FakeRepo],
    app_id: int,
    requester: FakeUser | None = None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """The ``installation`` webhook body (``created``, ``deleted``, ``suspend``, ...).

    ``repositories`` are listed in GitHub's short form (id, node_id, name, full_name, private).
    """
    payload: dict[str, Any] = {
        "action": action,
        "installation": installation_json(
            installation, app_id=app_id, api_url=api_url, html_url=html_url
        ),
        "repositories": [
            {
                "id": repo.id,
                "node_id": node_id("Repository", repo.id),
                "name": repo.name,
                "full_name": repo.full_name,
                "private": repo.private,
            }
            for repo in repositories
        ],
        "sender": user_json(sender, api_url=api_url, html_url=html_url),
    }
    if requester is not None:
        payload["requester"] = user_json(requester, api_url=api_url, html_url=html_url)
    return payload
