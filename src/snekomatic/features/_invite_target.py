"""The invitation a merged pull request starts, and what is kept to resume it without its webhook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snekomatic.features._invite_rules import MergedPullRequest

__all__ = ["InvitationTarget"]


@dataclass(frozen=True, kw_only=True)
class InvitationTarget:
    """One invitation and where its welcome comment goes: enough to resume it without the webhook."""

    org_id: int
    org_login: str
    user_id: int
    user_login: str
    installation_id: int
    repository: str  # "owner/name" of the merged pull request
    number: int
    pr_html_url: str
    welcome_template: str | None = None  # the organization's configured message, if any
    team_id: int | None = None  # the configured team to invite them into, if any

    @property
    def key(self) -> str:
        return f"{self.org_id}:{self.user_id}"

    def context(self) -> dict[str, Any]:
        """The JSON kept under :data:`CONTEXT_KIND` (ids, logins, the PR, configured message and team)."""
        context: dict[str, Any] = {
            "org_login": self.org_login,
            "user_login": self.user_login,
            "installation_id": self.installation_id,
            "repository": self.repository,
            "number": self.number,
            "pr_html_url": self.pr_html_url,
        }
        if self.welcome_template is not None:
            context["welcome_template"] = self.welcome_template
        if self.team_id is not None:
            context["team_id"] = self.team_id
        return context

    @classmethod
    def from_merged_pull_request(
        cls, found: MergedPullRequest, *, installation_id: int
    ) -> InvitationTarget:
        """The invitation a merged pull request calls for, acted on through ``installation_id``."""
        return cls(
            org_id=found.org_id,
            org_login=found.org_login,
            user_id=found.user_id,
            user_login=found.user_login,
            installation_id=installation_id,
            repository=found.repository,
            number=found.number,
            pr_html_url=found.pr_html_url,
        )

    @classmethod
    def from_context(cls, org_id: int, user_id: int, data: Mapping[str, Any]) -> InvitationTarget:
        """The target stored by :meth:`context`. Raises ``KeyError``/``TypeError`` for other data."""
        template, team_id = data.get("welcome_template"), data.get("team_id")
        return cls(
            org_id=org_id,
            user_id=user_id,
            org_login=str(data["org_login"]),
            user_login=str(data["user_login"]),
            installation_id=int(data["installation_id"]),
            repository=str(data["repository"]),
            number=int(data["number"]),
            pr_html_url=str(data["pr_html_url"]),
            welcome_template=template if isinstance(template, str) else None,
            team_id=int(team_id) if team_id is not None else None,
        )
