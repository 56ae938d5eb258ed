"""Teams of the fake's organizations, and the JSON GitHub shows for one (``GET /orgs/{org}/teams/{slug}``).

https://docs.github.com/en/rest/teams/teams#get-a-team-by-name
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from snekomatic.gh.testing._model import FakeOrg
from snekomatic.gh.testing._payloads import GITHUB_API_URL, GITHUB_HTML_URL, node_id


def team_slug(name: str) -> str:
    """GitHub's slug for a team name: lowercased, runs of other characters turned into ``-``."""
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")


@dataclass(eq=False, kw_only=True)
class FakeTeam:
    id: int
    org: FakeOrg
    name: str
    slug: str
    privacy: str = "closed"


def team_json(
    team: FakeTeam, *, api_url: str = GITHUB_API_URL, html_url: str = GITHUB_HTML_URL
) -> dict[str, Any]:
    api = f"{api_url.rstrip('/')}/organizations/{team.org.id}/team/{team.id}"
    return {
        "id": team.id,
        "node_id": node_id("Team", team.id),
        "url": api,
        "html_url": f"{html_url.rstrip('/')}/orgs/{team.org.login}/teams/{team.slug}",
        "name": team.name,
        "slug": team.slug,
        "description": None,
        "privacy": team.privacy,
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{api}/members{{/member}}",
        "repositories_url": f"{api}/repos",
        "parent": None,
    }
