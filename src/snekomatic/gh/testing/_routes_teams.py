"""Route for teams: ``GET /orgs/{org}/teams/{team_slug}`` (the id an invitation's ``team_ids`` needs).

https://docs.github.com/en/rest/teams/teams#get-a-team-by-name (installation tokens: ``members`` read).
"""

from __future__ import annotations

from starlette.routing import Route

from snekomatic.gh.testing._pipeline import Call, api_route
from snekomatic.gh.testing._replies import Reply, not_found
from snekomatic.gh.testing._state import FakeGitHubState
from snekomatic.gh.testing._teams import team_json


async def get_team(call: Call) -> Reply:
    org = call.fake.orgs.get(call.path_params["org"].lower())
    if org is None:
        raise not_found()
    call.check_access(org.account, permission="members", private=True)
    team = call.fake.teams.get((org.id, call.path_params["team_slug"].lower()))
    if team is None:
        raise not_found()
    return Reply(200, team_json(team, api_url=call.api))


def routes(fake: FakeGitHubState) -> list[Route]:
    return [
        api_route(fake, "GET", "/orgs/{org}/teams/{team_slug}", get_team, auth="installation"),
    ]
