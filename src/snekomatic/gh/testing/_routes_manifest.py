"""The fake's side of GitHub's App Manifest flow: the new-app page and the code conversion.

https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest

On GitHub, a person's browser POSTs a form field ``manifest`` (JSON) to ``/settings/apps/new?state=...``
(or ``/organizations/{org}/settings/apps/new?state=...``), the person names the app and confirms, and
GitHub redirects the browser to the manifest's ``redirect_url`` with ``?code=...&state=...``. The app's
credentials are then fetched once with ``POST /app-manifests/{code}/conversions`` (no authentication);
the code is temporary: GitHub gives one hour to exchange it.

The fake has no person to ask: the new-app page creates the app at once (a new RSA key per app, an id,
a slug, a webhook secret) and answers the 302 redirect straight away. A code converts once, within
:data:`CODE_LIFETIME` seconds of the fake's clock; afterwards, or for an unknown code, the conversion is
GitHub's JSON 404.

The fake serves ONE app. Converting a code makes the new app the fake's app: ``app_id``, the JWT key,
``app_slug``, ``webhook_secret`` and the ``bot`` account switch to the new app's, so JWTs signed with the
returned ``pem`` authenticate from then on (and the old app's are refused). The old app's installations
and tokens go with it: as on GitHub, a new app is installed nowhere until someone installs it
(``fake.install``, or the GitHub simulator's install page).
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse
import weakref
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from snekomatic.gh.testing._keys import new_private_key, public_key_pem
from snekomatic.gh.testing._model import FakeUser
from snekomatic.gh.testing._payloads import user_json
from snekomatic.gh.testing._pipeline import Call, api_route
from snekomatic.gh.testing._replies import Reply, iso8601, not_found
from snekomatic.gh.testing._state import FakeGitHubState

__all__ = ["CODE_LIFETIME", "FakeManifestApp", "manifest_apps", "routes"]

# "the temporary code ... expires after one hour" (the manifest flow, step 3).
CODE_LIFETIME = 3600.0
# Who owns an app created from /settings/apps/new: the fake has no signed-in person, so this user.
PERSONAL_OWNER_LOGIN = "octocat"
# GitHub: "Name is too long (maximum is 34 characters)".
MAX_NAME_LENGTH = 34
# GitHub grants every app read access to metadata, asked for or not.
IMPLICIT_PERMISSIONS = {"metadata": "read"}

_FIRST_APP_ID = 900_001
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(kw_only=True)
class FakeManifestApp:
    """An app created from a manifest. ``manifest`` is exactly what the browser submitted; ``state`` is
    the query parameter it came with. The credentials are secrets, kept out of ``repr``."""

    id: int
    slug: str
    name: str
    owner: FakeUser
    manifest: dict[str, Any]
    state: str | None
    created_at: float
    code: str = field(repr=False)
    pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    converted: bool = False


@dataclass
class _Registry:
    apps: list[FakeManifestApp] = field(default_factory=list)
    next_id: int = _FIRST_APP_ID


_REGISTRIES: weakref.WeakKeyDictionary[FakeGitHubState, _Registry] = weakref.WeakKeyDictionary()


def _registry(fake: FakeGitHubState) -> _Registry:
    return _REGISTRIES.setdefault(fake, _Registry())


def manifest_apps(fake: FakeGitHubState) -> list[FakeManifestApp]:
    """The apps created from manifests on ``fake``, oldest first."""
    return list(_registry(fake).apps)


def _slug(name: str) -> str:
    return _SLUG_JUNK.sub("-", name.lower()).strip("-")


class _Refused(Exception):
    """The new-app page refuses the submission; GitHub shows the form again with this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check_manifest(fake: FakeGitHubState, raw: str | None) -> dict[str, Any]:
    if not raw:
        raise _Refused(422, "manifest is missing")
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise _Refused(422, "manifest is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise _Refused(422, "manifest must be a JSON object")
    name = manifest.get("name")
    if not isinstance(name, str) or not _slug(name):
        raise _Refused(422, "Name can't be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise _Refused(422, f"Name is too long (maximum is {MAX_NAME_LENGTH} characters)")
    if any(app.slug == _slug(name) for app in _registry(fake).apps) or _slug(name) == fake.app_slug:
        raise _Refused(422, "Name has already been taken")
    hook = manifest.get("hook_attributes")
    if not isinstance(hook, dict) or not _is_http_url(hook.get("url")):
        raise _Refused(422, "hook_attributes.url must be an http(s) URL")
    if not _is_http_url(manifest.get("redirect_url")):
        # GitHub would show the new app's page; the fake has nowhere to send the browser.
        raise _Refused(422, "redirect_url must be an http(s) URL")
    return manifest


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _owner(fake: FakeGitHubState, org_login: str | None) -> FakeUser:
    if org_login is not None:
        org = fake.orgs.get(org_login.lower())
        if org is None:
            raise _Refused(404, "Not Found")
        return org.account
    existing = fake.users.get(PERSONAL_OWNER_LOGIN)
    return existing if existing is not None else fake.add_user(PERSONAL_OWNER_LOGIN)


def create_app(
    fake: FakeGitHubState, manifest: dict[str, Any], *, owner: FakeUser, state: str | None
) -> FakeManifestApp:
    """Register an app from a checked ``manifest`` and give it a one-time code (not yet converted)."""
    registry = _registry(fake)
    app_id = registry.next_id
    registry.next_id += 1
    app = FakeManifestApp(
        id=app_id,
        slug=_slug(manifest["name"]),
        name=manifest["name"],
        owner=owner,
        manifest=manifest,
        state=state,
        created_at=fake.now(),
        code=secrets.token_hex(20),
        pem=new_private_key(github_format=True),  # a NEW key per app, never the test key
        webhook_secret=secrets.token_hex(20),
        client_id=f"Iv1.{secrets.token_hex(8)}",
        client_secret=secrets.token_hex(20),
    )
    registry.apps.append(app)
    return app


async def _read_form(request: Request) -> dict[str, str]:
    # Parsed by hand: Starlette's form parser needs python-multipart, which the fake does without.
    fields = dict(request.query_params)
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        fields.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
    return fields


def _new_app_page(fake: FakeGitHubState, *, for_org: bool) -> Route:
    async def endpoint(request: Request) -> Response:
        fields = await _read_form(request)
        state = request.query_params.get("state")
        try:
            org_login = request.path_params["org"] if for_org else None
            owner = _owner(fake, org_login)
            manifest = _check_manifest(fake, fields.get("manifest"))
        except _Refused as refused:
            return PlainTextResponse(refused.message + "\n", status_code=refused.status)
        app = create_app(fake, manifest, owner=owner, state=state)
        params = {"code": app.code}
        if state is not None:
            params["state"] = state
        return RedirectResponse(_with_query(manifest["redirect_url"], params), status_code=302)

    path = "/organizations/{org}/settings/apps/new" if for_org else "/settings/apps/new"
    return Route(path, endpoint, methods=["GET", "POST"], name=f"new app {path}")


def _switch_to(fake: FakeGitHubState, app: FakeManifestApp) -> None:
    fake.app_id = app.id
    fake.app_slug = app.slug
    fake.webhook_secret = app.webhook_secret
    fake._public_key = public_key_pem(app.pem)
    fake.installations.clear()
    fake.tokens.clear()
    bot = fake.users.get(f"{app.slug}[bot]")
    fake.bot = bot if bot is not None else fake.add_user(f"{app.slug}[bot]", type="Bot")


def _find_live_code(fake: FakeGitHubState, code: str, now: float) -> FakeManifestApp:
    for app in _registry(fake).apps:
        if secrets.compare_digest(app.code.encode(), code.encode()):
            if app.converted or now >= app.created_at + CODE_LIFETIME:
                break
            return app
    raise not_found()


async def convert(call: Call) -> Reply:
    """``POST /app-manifests/{code}/conversions``: the new app's credentials, once per code."""
    fake = call.fake
    app = _find_live_code(fake, call.path_params["code"], call.now)
    app.converted = True
    _switch_to(fake, app)
    manifest = app.manifest
    permissions = {**IMPLICIT_PERMISSIONS, **dict(manifest.get("default_permissions") or {})}
    html_base = call.api
    return Reply(
        201,
        {
            "id": app.id,
            "slug": app.slug,
            "node_id": f"A_fake{app.id}",
            "owner": user_json(app.owner, api_url=call.api, html_url=html_base),
            "name": app.name,
            "description": manifest.get("description") or "",
            "external_url": manifest.get("url") or "",
            "html_url": f"{html_base}/apps/{app.slug}",
            "created_at": iso8601(app.created_at),
            "updated_at": iso8601(app.created_at),
            "permissions": permissions,
            "events": list(manifest.get("default_events") or []),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "webhook_secret": app.webhook_secret,
            "pem": app.pem,
        },
    )


def routes(fake: FakeGitHubState) -> list[Route]:
    return [
        _new_app_page(fake, for_org=False),
        _new_app_page(fake, for_org=True),
        api_route(fake, "POST", "/app-manifests/{code}/conversions", convert, auth="any"),
    ]
