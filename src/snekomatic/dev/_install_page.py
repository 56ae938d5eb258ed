"""GitHub's page installing the app, as the fake serves it beside the simulator: the install link
``snekomatic setup`` prints (``{app html_url}/installations/new``) leads here.

::

    GET  /apps/{slug}/installations/new   the organizations, each installed or with an Install button
    POST /apps/{slug}/installations/new   account=LOGIN: install the app there, emit
                                          ``installation.created``, and come back (303)

https://docs.github.com/en/apps/using-github-apps/installing-your-own-github-app. The fake has no
signed-in person: the installation is made in the name of the organization's first active owner.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from snekomatic.dev._simulator_state import install_path
from snekomatic.gh.testing import FakeGitHub, FakeOrg, FakeUser, installation_payload
from snekomatic.webpage import webpage

__all__ = ["install_page_routes"]

# Who installs when an organization has no active member: GitHub's sample user, as the fake's
# manifest flow uses for an app with no organization.
FALLBACK_INSTALLER = "octocat"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _installer(fake: FakeGitHub, org: FakeOrg) -> FakeUser:
    active = [m for m in org.members.values() if m.state == "active"]
    admins = [m for m in active if m.role == "admin"]
    if admins or active:
        return (admins or active)[0].user
    existing = fake.users.get(FALLBACK_INSTALLER)
    return existing if existing is not None else fake.add_user(FALLBACK_INSTALLER)


def _page(fake: FakeGitHub, *, simulator_path: str, installed: str | None) -> str:
    path = install_path(fake.app_slug)
    rows = "".join(
        f'<tr data-testid="install-account" data-login="{_e(org.login)}"><td>{_e(org.login)}</td>'
        + (
            '<td><span class="tag">installed</span></td>'
            if fake.installation_for(org.account) is not None
            else f'<td><form method="post" action="{_e(path)}">'
            f'<input type="hidden" name="account" value="{_e(org.login)}">'
            f'<button type="submit" data-testid="install-button">Install</button></form></td>'
        )
        + "</tr>"
        for org in fake.orgs.values()
    )
    done = (
        f'<div class="banner" data-testid="installed">Installed {_e(fake.app_slug)} on '
        f"{_e(installed)}: its webhooks go to "
        f"{_e(fake.webhook_url or 'nowhere yet (no webhook URL is set)')}.</div>"
        if installed is not None
        else ""
    )
    content = (
        f"{done}<section><h2>Where do you want to install {_e(fake.app_slug)}?</h2>"
        f"<table>{rows or '<tr><td>This fake GitHub has no organization.</td></tr>'}</table>"
        f'</section><p><a href="{_e(simulator_path)}">Back to the GitHub simulator</a></p>'
    )
    intro = "A fake GitHub on this machine: installing grants the app its permissions there."
    return webpage(f"Install {fake.app_slug}", content, intro=intro)


def _unknown_app(fake: FakeGitHub, slug: str) -> Response:
    content = (
        f"<section><p>No app {_e(slug)} here: this fake GitHub serves one app, "
        f"<b>{_e(fake.app_slug)}</b>.</p></section>"
    )
    return HTMLResponse(webpage("Not Found", content), status_code=404)


def install_page_routes(fake: FakeGitHub, *, simulator_path: str) -> list[Route]:
    """The install page's routes; ``simulator_path`` is the page it links back to."""

    async def show(request: Request) -> Response:
        slug = request.path_params["slug"]
        if slug != fake.app_slug:
            return _unknown_app(fake, slug)
        installed = request.query_params.get("installed")
        shown = installed if installed is not None and installed.lower() in fake.orgs else None
        return HTMLResponse(_page(fake, simulator_path=simulator_path, installed=shown))

    async def install(request: Request) -> Response:
        slug = request.path_params["slug"]
        if slug != fake.app_slug:
            return _unknown_app(fake, slug)
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        org = fake.orgs.get(fields.get("account", "").lower())
        if org is None:
            content = f"<section><p>No organization {_e(fields.get('account', ''))}.</p></section>"
            return HTMLResponse(webpage("Not Found", content), status_code=404)
        if fake.installation_for(org.account) is None:
            installation = fake.install(org)
            payload = installation_payload(
                installation,
                action="created",
                sender=_installer(fake, org),
                repositories=[repo for repo in fake.repos.values() if repo.org is org],
                app_id=fake.app_id,
                api_url=fake.api_url(),
            )
            await fake.emit_webhook("installation", payload, installation=installation)
        query = urlencode({"installed": org.login})
        return RedirectResponse(f"{install_path(fake.app_slug)}?{query}", status_code=303)

    path = "/apps/{slug}/installations/new"
    return [
        Route(path, show, methods=["GET"]),
        Route(path, install, methods=["POST"]),
    ]
