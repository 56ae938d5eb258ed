"""The fake's ASGI app: every route, then a fallback that answers GitHub's JSON 404."""

from __future__ import annotations

from starlette.applications import Starlette

from snekomatic.gh.testing import (
    _routes_app,
    _routes_contents,
    _routes_manifest,
    _routes_orgs,
    _routes_repos,
    _routes_search,
    _routes_teams,
)
from snekomatic.gh.testing._pipeline import fallback_route
from snekomatic.gh.testing._state import FakeGitHubState


def build_app(fake: FakeGitHubState) -> Starlette:
    """A Starlette app serving ``fake``; routes read and change the fake's state directly."""
    routes = [
        *_routes_app.routes(fake),
        *_routes_orgs.routes(fake),
        *_routes_repos.routes(fake),
        *_routes_contents.routes(fake),
        *_routes_teams.routes(fake),
        *_routes_search.routes(fake),
        *_routes_manifest.routes(fake),
        fallback_route(fake),
    ]
    return Starlette(routes=routes)
