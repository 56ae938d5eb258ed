"""Routes for the app itself: /app, installations and their tokens, the delivery log, rate limit, GraphQL."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route

from snekomatic.gh.testing import _access, _deliveries
from snekomatic.gh.testing._model import DeliveryExchange, FakeDelivery, FakeInstallation
from snekomatic.gh.testing._payloads import installation_json, repository_json, user_json
from snekomatic.gh.testing._pipeline import Call, api_route
from snekomatic.gh.testing._replies import (
    ApiError,
    Reply,
    format_links,
    iso8601,
    not_found,
    page_params,
    paginate,
)
from snekomatic.gh.testing._state import FakeGitHubState


def _installation(call: Call, installation_id: int) -> FakeInstallation:
    installation = call.fake.installations.get(installation_id)
    if installation is None:
        raise not_found()
    return installation


def _installation_reply(call: Call, installation: FakeInstallation | None) -> Reply:
    if installation is None:
        raise not_found()
    fake = call.fake
    return Reply(
        200,
        installation_json(
            installation, app_id=fake.app_id, app_slug=fake.app_slug, api_url=call.api
        ),
    )


async def get_app(call: Call) -> Reply:
    fake = call.fake
    return Reply(
        200,
        {
            "id": fake.app_id,
            "slug": fake.app_slug,
            "node_id": f"A_fake{fake.app_id}",
            "name": fake.app_slug,
            "owner": user_json(fake.bot, api_url=call.api),
            "description": "A fake GitHub App",
            "external_url": "https://example.invalid",
            "html_url": f"https://github.com/apps/{fake.app_slug}",
            "created_at": iso8601(0),
            "updated_at": iso8601(0),
            "permissions": {},
            "events": ["issue_comment", "issues", "pull_request"],
            "installations_count": len(fake.installations),
        },
    )


async def list_installations(call: Call) -> Reply:
    fake = call.fake
    items = [
        installation_json(i, app_id=fake.app_id, app_slug=fake.app_slug, api_url=call.api)
        for i in fake.installations.values()
    ]
    page, headers = paginate(items, url=call.url, query=call.query)
    return Reply(200, page, headers)


async def get_installation(call: Call) -> Reply:
    return _installation_reply(call, _installation(call, call.path_params["installation_id"]))


async def create_access_token(call: Call) -> Reply:
    installation = _installation(call, call.path_params["installation_id"])
    token, issued = _access.mint_token(call.fake, installation, call.now)
    return Reply(
        201,
        {
            "token": token,
            "expires_at": iso8601(issued.expires_at),
            "permissions": issued.permissions,
            "repository_selection": installation.repository_selection,
        },
    )


async def org_installation(call: Call) -> Reply:
    org = call.fake.orgs.get(call.path_params["org"].lower())
    return _installation_reply(call, call.fake.installation_for(org.account) if org else None)


async def user_installation(call: Call) -> Reply:
    user = call.fake.users.get(call.path_params["username"].lower())
    return _installation_reply(call, call.fake.installation_for(user) if user else None)


async def repo_installation(call: Call) -> Reply:
    repo = call.fake.repos.get(f"{call.path_params['owner']}/{call.path_params['repo']}".lower())
    return _installation_reply(call, call.fake.installation_for(repo.owner) if repo else None)


async def installation_repositories(call: Call) -> Reply:
    installation = call.installation
    if installation is None:
        raise ApiError(401, "Requires authentication")
    repos = [r for r in call.fake.repos.values() if r.owner is installation.account]
    page, headers = paginate(
        [repository_json(r, api_url=call.api) for r in repos], url=call.url, query=call.query
    )
    body = {
        "total_count": len(repos),
        "repository_selection": installation.repository_selection,
        "repositories": page,
    }
    return Reply(200, body, headers)


def _delivery_json(delivery: FakeDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": iso8601(delivery.delivered_at),
        "redelivery": delivery.redelivery,
        "duration": delivery.duration,
        "status": delivery.status,
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": iso8601(delivery.throttled_at)
        if delivery.throttled_at is not None
        else None,
    }


_CURSOR = re.compile(r"\Av1_(\d+)\Z")


async def list_deliveries(call: Call) -> Reply:
    # Newest first; the opaque cursor names the last delivery already seen, as GitHub's "v1_<id>" does.
    per_page, _ = page_params(call.query)
    newest_first = sorted(call.fake.deliveries, key=lambda d: d.id, reverse=True)
    cursor = call.query.get("cursor")
    if cursor:
        match = _CURSOR.match(cursor)
        if match is None:
            raise ApiError(400, "Invalid cursor")
        newest_first = [d for d in newest_first if d.id < int(match.group(1))]
    page = newest_first[:per_page]
    headers: dict[str, str] = {}
    if len(newest_first) > per_page:
        next_url = f"{call.url}?per_page={per_page}&cursor=v1_{page[-1].id}"
        headers["link"] = format_links([(next_url, "next")])
    return Reply(200, [_delivery_json(d) for d in page], headers)


def _delivery(call: Call) -> FakeDelivery:
    wanted = call.path_params["delivery_id"]
    for delivery in call.fake.deliveries:
        if delivery.id == wanted:
            return delivery
    raise not_found()


async def get_delivery(call: Call) -> Reply:
    delivery = _delivery(call)
    exchange = call.fake.delivery_exchanges.get(delivery.id, DeliveryExchange())
    body = _delivery_json(delivery)
    body["url"] = call.fake.webhook_url or ""
    body["request"] = {"headers": exchange.request_headers, "payload": delivery.payload}
    body["response"] = {"headers": exchange.response_headers, "payload": exchange.response_body}
    return Reply(200, body)


async def redeliver(call: Call) -> Reply:
    await _deliveries.redeliver(call.fake, _delivery(call))
    return Reply(202, {})


async def rate_limit(call: Call) -> Reply:
    window = _access.rate_window(call.fake, call.caller, "core", call.now)
    graphql = _access.rate_window(call.fake, call.caller, "graphql", call.now)

    def one(w: Any) -> dict[str, int]:
        return {
            "limit": w.limit,
            "used": w.used,
            "remaining": w.remaining,
            "reset": int(w.reset_at),
        }

    core = one(window)
    return Reply(200, {"resources": {"core": core, "graphql": one(graphql)}, "rate": core})


_VIEWER_LOGIN = re.compile(r"\bviewer\s*\{\s*login\s*\}")
_RATE_LIMIT = re.compile(r"\brateLimit\s*\{[\sa-zA-Z]*\}")
_ALLOWED = re.compile(
    r"\A\s*(query\s*[A-Za-z_]*\s*)?\{\s*(?:(?:viewer\s*\{\s*login\s*\}|rateLimit\s*\{[\sa-zA-Z]*\})\s*)+\}\s*\Z"
)


async def graphql(call: Call) -> Reply:
    """A tiny GraphQL: ``viewer { login }`` and ``rateLimit { limit remaining used resetAt }`` only."""
    if call.caller is None:
        raise ApiError(401, "This endpoint requires you to be authenticated.")
    query = call.body_field("query")
    if not isinstance(query, str) or _ALLOWED.match(query) is None:
        return Reply(
            200, {"errors": [{"message": "The fake GitHub does not understand this query"}]}
        )
    data: dict[str, Any] = {}
    if _VIEWER_LOGIN.search(query):
        data["viewer"] = {"login": call.fake.bot.login}
    if _RATE_LIMIT.search(query):
        window = _access.rate_window(call.fake, call.caller, "graphql", call.now)
        data["rateLimit"] = {
            "limit": window.limit,
            "remaining": window.remaining,
            "used": window.used,
            "resetAt": iso8601(window.reset_at),
            "cost": 1,
        }
    return Reply(200, {"data": data})


def routes(fake: FakeGitHubState) -> list[Route]:
    return [
        api_route(fake, "GET", "/app", get_app, auth="app"),
        api_route(fake, "GET", "/app/installations", list_installations, auth="app"),
        api_route(
            fake, "GET", "/app/installations/{installation_id:int}", get_installation, auth="app"
        ),
        api_route(
            fake,
            "POST",
            "/app/installations/{installation_id:int}/access_tokens",
            create_access_token,
            auth="app",
        ),
        api_route(fake, "GET", "/orgs/{org}/installation", org_installation, auth="app"),
        api_route(fake, "GET", "/users/{username}/installation", user_installation, auth="app"),
        api_route(fake, "GET", "/repos/{owner}/{repo}/installation", repo_installation, auth="app"),
        api_route(
            fake,
            "GET",
            "/installation/repositories",
            installation_repositories,
            auth="installation",
        ),
        api_route(fake, "GET", "/app/hook/deliveries", list_deliveries, auth="app"),
        api_route(fake, "GET", "/app/hook/deliveries/{delivery_id:int}", get_delivery, auth="app"),
        api_route(
            fake, "POST", "/app/hook/deliveries/{delivery_id:int}/attempts", redeliver, auth="app"
        ),
        api_route(fake, "GET", "/rate_limit", rate_limit, auth="any"),
        api_route(fake, "POST", "/graphql", graphql, auth="any"),
    ]
