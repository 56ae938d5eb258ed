"""Whether the organization's configuration lets a new invitation start, and with what.

Applied once, when a merged pull request would start an invitation nobody has recorded yet; an
invitation already recorded carries on as it was decided (its message and team are kept with it).
Staying quiet records nothing, so a later merge asks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import structlog

from snekomatic.features import _invite_rules as rules
from snekomatic.features.orgconfig import InviteConfig
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import GitHubError, NotFound

__all__ = ["SEARCH_URL", "TEAM_URL", "Admission", "admit_invitation"]

SEARCH_URL: Final = "/search/issues{?q,per_page}"
TEAM_URL: Final = "/orgs/{org}/teams/{team_slug}"

log = structlog.get_logger("snekomatic.invite")


@dataclass(frozen=True, kw_only=True)
class Admission:
    """A new invitation may start: with this welcome template (None: the bot's) and team id."""

    welcome_template: str | None
    team_id: int | None


async def admit_invitation(
    client: GitHubClient, config: InviteConfig, found: rules.MergedPullRequest
) -> Admission | None:
    """The :class:`Admission` of ``found``'s author under ``config``, or None to stay quiet.

    Quiet (one log line each): disabled, excluded, fewer merged pull requests in the organization than
    ``min_merged_prs`` or a count that is inconclusive (``incomplete_results``, or the search failed),
    and ``dry_run`` (the line says what would have happened). A team that does not exist is logged and
    the invitation goes ahead without it. Raises nothing of its own; a checkpoint when it searches.
    """
    bound = log.bind(org=found.org_login, user=found.user_login, pr=found.pr_html_url)
    reason = rules.config_skip_reason(config, found.user_login)
    if reason is not None:
        bound.info("invite skipped", reason=reason)
        return None
    if config.min_merged_prs > 1:
        count = await _count_merged(client, found)
        if count is None or count < config.min_merged_prs:
            bound.info(
                "invite skipped",
                reason="too-few-merged-prs" if count is not None else "merged-prs-unknown",
                merged_prs=count,
                min_merged_prs=config.min_merged_prs,
            )
            return None
    team_id = await _team_id(client, found.org_login, config.team) if config.team else None
    if config.dry_run:
        bound.info(
            "invite dry run: nothing done",
            would="invite and post the welcome comment",
            team=config.team,
            custom_message=config.message is not None,
        )
        return None
    return Admission(welcome_template=config.message, team_id=team_id)


async def _count_merged(client: GitHubClient, found: rules.MergedPullRequest) -> int | None:
    query = rules.merged_prs_query(found.user_login, found.org_login)
    try:
        answer = await client.getitem(SEARCH_URL, {"q": query, "per_page": 100})
    except GitHubError as exc:
        log.warning(
            "merged pull request search failed", org=found.org_login, error=type(exc).__name__
        )
        return None
    return rules.merged_pr_count(answer, found.pr_html_url)


async def _team_id(client: GitHubClient, org: str, slug: str) -> int | None:
    try:
        team = await client.getitem(TEAM_URL, {"org": org, "team_slug": slug})
    except NotFound:
        log.warning("configured team not found: inviting without it", org=org, team=slug)
        return None
    team_id = team.get("id") if isinstance(team, dict) else None
    return team_id if isinstance(team_id, int) and not isinstance(team_id, bool) else None
