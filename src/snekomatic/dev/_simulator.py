"""The GitHub simulator: a web page the fake GitHub serves for people (``snekomatic dev``), and its
endpoints; :func:`install_simulator` adds them to a fake.

::

    GET  /_simulator                      the page: plain HTML, inline CSS and JS, nothing from elsewhere
    GET  /_simulator/fragment?as=LOGIN    the page's state part, server-rendered for the acting user
                                          (the page polls it)
    GET  /_simulator/api/state            the same state as JSON (see :func:`simulator_state`)
    POST /_simulator/api/pulls            open a pull request: repo, author, title, body
    POST /_simulator/api/repos/{owner}/{repo}/pulls/{number}/merge        merge it: merged_by
    POST /_simulator/api/repos/{owner}/{repo}/issues/{number}/comments    comment: author, body
    GET  /apps/{slug}/installations/new   GitHub's page installing the app (``_install_page``)

The page, the fragment and the state answer with the run's id in ``x-simulator-run``: a new run at the
same address is a new world, and the page reloads when it sees one.

The actions are what a person does on github.com, so the fake emits what GitHub would:
``pull_request.opened``, ``pull_request.closed`` (merged) and ``issue_comment.created``, and answers only
once the webhook has been answered. They take JSON (answered with JSON: 201, or ``{"message": ...}`` with
404 for an unknown repository or pull request, 422 for an unknown user or a missing field, 403 for a
merge by someone without write access to the repository, 405 for a pull request that is no longer
open) or a urlencoded form (answered with 303 back to the page). They need no credentials: the
simulator is for a fake listening on loopback.

Given a reader of :class:`~snekomatic.dev.BotReport` (``snekomatic dev``: its
:class:`~snekomatic.dev.BotWatch`), the page also shows what the bot did: each webhook's outcome and
each merge's decision, read from the bot's database.

:func:`install_change_feed` lets code in the same process wait for the fake's state to change (a write
answered, by the bot or by the simulator) instead of polling it.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from snekomatic.dev._bot_view import BotReport
from snekomatic.dev._install_page import install_page_routes
from snekomatic.dev._simulator_page import (
    HEADER_RUN,
    default_acting_user,
    render_page,
    render_state_html,
)
from snekomatic.dev._simulator_state import pull_json, simulator_state
from snekomatic.gh.testing import (
    FakeGitHub,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    pull_request_payload,
)

__all__ = [
    "PAGE_PATH",
    "ChangeFeed",
    "install_change_feed",
    "install_simulator",
    "routes",
]

PAGE_PATH = "/_simulator"
API = PAGE_PATH + "/api"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SimulatorError(Exception):
    """An action the simulator refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- waiting for changes ---------------------------------------------------------------------------


class ChangeFeed:
    """Counts the writes the fake has answered (any method but GET, HEAD, OPTIONS) and wakes waiters."""

    def __init__(self) -> None:
        self.version = 0
        self._changed: anyio.Event | None = None

    def bump(self) -> None:
        """Record a change and wake every waiter. Not a checkpoint."""
        self.version += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_changed(self) -> None:
        """Return after the next :meth:`bump`. A checkpoint; cancelling it changes nothing."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true, checking it now and after every change.

        Never times out: the caller sets the deadline (``fail_after``). A checkpoint when it waits.
        """
        while not predicate():
            await self.wait_changed()


class _NotifyWrites:
    """ASGI middleware: bumps the feed once a write request has been answered (or has failed)."""

    def __init__(self, app: ASGIApp, feed: ChangeFeed) -> None:
        self.app = app
        self.feed = feed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.feed.bump()


def install_change_feed(fake: FakeGitHub) -> ChangeFeed:
    """A :class:`ChangeFeed` bumped by every write ``fake`` answers from now on.

    Call it before the fake serves its first request; raises ``RuntimeError`` afterwards (Starlette
    cannot add middleware to a running app).
    """
    feed = ChangeFeed()
    fake.asgi.add_middleware(_NotifyWrites, feed=feed)
    return feed


# -- the actions -----------------------------------------------------------------------------------


async def _fields(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise SimulatorError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise SimulatorError(400, "the body must be a JSON object")
        return data
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def _text(fields: dict[str, Any], name: str, *, default: str | None = None) -> str:
    value = fields.get(name, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise SimulatorError(422, f"{name!r} is required")
    return value


def _user(fake: FakeGitHub, login: str) -> FakeUser:
    user = fake.users.get(login.lower())
    if user is None or user.type == "Organization":
        raise SimulatorError(422, f"no user {login!r}")
    return user


def _repo(fake: FakeGitHub, full_name: str) -> FakeRepo:
    repo = fake.repos.get(full_name.lower())
    if repo is None:
        raise SimulatorError(404, f"no repository {full_name!r}")
    return repo


def _pull(fake: FakeGitHub, request: Request) -> FakePullRequest:
    params = request.path_params
    repo = _repo(fake, f"{params['owner']}/{params['repo']}")
    pr = fake.pulls.get((repo.id, int(params["number"])))
    if pr is None:
        raise SimulatorError(404, f"no pull request #{params['number']} in {repo.full_name}")
    return pr


async def open_pull(fake: FakeGitHub, request: Request) -> dict[str, Any]:
    fields = await _fields(request)
    repo = _repo(fake, _text(fields, "repo"))
    author = _user(fake, _text(fields, "author"))
    title = _text(fields, "title")
    pr = fake.open_pull_request(
        repo, author=author, title=title, body=_text(fields, "body", default="")
    )
    installation = fake.installation_for(repo.owner)
    if installation is not None:
        payload = pull_request_payload(
            pr, action="opened", sender=author, installation=installation, api_url=fake.api_url()
        )
        await fake.emit_webhook("pull_request", payload, installation=installation, repo=repo)
    return pull_json(fake, pr)


async def merge_pull(fake: FakeGitHub, request: Request) -> dict[str, Any]:
    pr = _pull(fake, request)
    merged_by = _user(fake, _text(await _fields(request), "merged_by"))
    if not fake.has_write_access(pr.repo, merged_by):
        raise SimulatorError(
            403,
            f"{merged_by.login} cannot merge pull requests in {pr.repo.full_name}: only people "
            "with write access to the repository can",
        )
    if pr.merged or pr.issue.state != "open":
        raise SimulatorError(405, "Pull Request is not mergeable")
    await fake.merge_pull_request(pr, merged_by=merged_by)
    return pull_json(fake, pr)


async def comment(fake: FakeGitHub, request: Request) -> dict[str, Any]:
    pr = _pull(fake, request)
    fields = await _fields(request)
    author = _user(fake, _text(fields, "author"))
    created = await fake.add_comment(pr.repo, pr.number, author=author, body=_text(fields, "body"))
    return {"id": created.id, "author": author.login, "body": created.body}


Action = Callable[[FakeGitHub, Request], Awaitable[dict[str, Any]]]


def _action(fake: FakeGitHub, act: Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        is_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            result = await act(fake, request)
        except SimulatorError as error:
            if is_json:
                return JSONResponse({"message": error.message}, status_code=error.status)
            return HTMLResponse(f"<p>{html.escape(error.message)}</p>", status_code=error.status)
        if is_json:
            return JSONResponse(result, status_code=201)
        return RedirectResponse(PAGE_PATH, status_code=303)

    return endpoint


BotReader = Callable[[], Awaitable[BotReport]]


def install_simulator(fake: FakeGitHub, *, bot: BotReader | None = None) -> None:
    """Serve the simulator's page and endpoints (:data:`PAGE_PATH` and below) and the app's install
    page from ``fake``; with ``bot`` (such as :meth:`BotWatch.report <snekomatic.dev.BotWatch.report>`),
    the page shows what the bot reported too."""
    fake.add_routes(routes(fake, bot=bot))


def routes(fake: FakeGitHub, *, bot: BotReader | None = None) -> list[Route]:
    """The simulator's routes, for the fake's route table."""
    run = secrets.token_hex(8)
    headers = {"cache-control": "no-store", HEADER_RUN: run}

    async def report() -> BotReport | None:
        return None if bot is None else await bot()

    async def page(request: Request) -> Response:
        state = simulator_state(fake, bot=await report())
        body = render_page(state, api=API, fragment_url=PAGE_PATH + "/fragment", run=run)
        return HTMLResponse(body, headers=headers)

    async def fragment(request: Request) -> Response:
        state = simulator_state(fake, bot=await report())
        acting = request.query_params.get("as") or default_acting_user(state)
        return HTMLResponse(render_state_html(state, api=API, acting=acting), headers=headers)

    async def state(request: Request) -> Response:
        return JSONResponse(simulator_state(fake, bot=await report()), headers=headers)

    pull = API + "/repos/{owner}/{repo}/pulls/{number:int}"
    return [
        Route(PAGE_PATH, page, methods=["GET"]),
        Route(PAGE_PATH + "/fragment", fragment, methods=["GET"]),
        Route(API + "/state", state, methods=["GET"]),
        Route(API + "/pulls", _action(fake, open_pull), methods=["POST"]),
        Route(pull + "/merge", _action(fake, merge_pull), methods=["POST"]),
        Route(
            API + "/repos/{owner}/{repo}/issues/{number:int}/comments",
            _action(fake, comment),
            methods=["POST"],
        ),
        *install_page_routes(fake, simulator_path=PAGE_PATH),
    ]
