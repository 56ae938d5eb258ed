"""End-to-end fixtures: a real ``snekomatic serve`` (or ``snekomatic run module:app``) process talking
to the fake GitHub over loopback.

Two processes, as in production: the bot (``python -m snekomatic serve``, its own database, workers and
token cache) and "GitHub" (:class:`snekomatic.gh.testing.FakeGitHub`), which sends signed webhooks to the
bot's ``/webhook/github`` and answers the bot's API calls. The fake lives in this test process so that
tests can arrange its state and assert on it.

Why a thread: one ``serve`` per backend per module keeps the module fast (starting ``serve`` costs
about a second), but pytest-trio runs each test in its own Trio run, and the fake must answer the
bot between tests too. So the fake is served from a thread with its own Trio run
(:func:`hosted_fake`, on :func:`snekomatic.gh.testing.fake_github_thread`), and tests touch it only
through :meth:`FakeHost.run` / :meth:`FakeHost.run_async`, which run on that thread (the fake is not
thread-safe).

Waiting: the bot is another process, so there is no event to wait for; tests poll what it left behind
(the ``deliveries`` table, the fake's state) under a deadline (:func:`wait_until`). "Processing
finished" is the delivery's row reaching ``done`` or ``dead``, never a sleep.

Isolation: every test makes its own organization, repository and people (:meth:`Deployment.world`);
ids never repeat within a fake, so one test's store rows cannot affect another's.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx
import pytest
import trio
from sqlalchemy import Engine, select

from snekomatic.gh.sansio import encode_app_jwt
from snekomatic.gh.testing import (
    FakeComment,
    FakeDelivery,
    FakeGitHub,
    FakeGitHubThread,
    FakeInstallation,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    RecordedRequest,
    fake_github_thread,
    generate_private_key,
    pull_request_payload,
)
from snekomatic.store import Invitation, Store, create_store_engine, database_url, metadata
from tests.loopback import free_port

P = ParamSpec("P")
T = TypeVar("T")

APP_ID = 4242
USER_AGENT = "snekomatic-e2e/1.0 (loopback tests)"
SERVE_READY_SECONDS = 30.0
SERVE_STOP_SECONDS = 25.0
FINISHED = frozenset({"done", "dead"})

_names = itertools.count(1)


# -- the fake GitHub, hosted on its own thread ---------------------------------------------------


@dataclass
class RequestHooks:
    """Hooks run just before chosen requests are answered, and the ``Authorization`` of token mints
    (the fake's own request log keeps only the scheme); :class:`HookedApp` applies them.

    A hook registered for ``("GET", "/orgs/o/memberships/u")`` runs after the fake decided its answer
    and before a byte of it is sent, so the bot cannot act on the answer before the hook's change.
    """

    before_answer: list[tuple[str, str, Callable[[], None]]] = field(default_factory=list)
    mint_authorizations: list[str] = field(default_factory=list)


class HookedApp:
    """ASGI middleware around the fake's app that applies :class:`RequestHooks`."""

    def __init__(self, app: Any, hooks: RequestHooks) -> None:
        self.app = app
        self.hooks = hooks

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and fnmatch.fnmatchcase(path, "/app/installations/*/access_tokens"):
            headers = dict(scope["headers"])
            self.hooks.mint_authorizations.append(
                headers.get(b"authorization", b"").decode("latin-1")
            )
        hooks = [
            hook
            for hook_method, pattern, hook in self.hooks.before_answer
            if hook_method == method and fnmatch.fnmatchcase(path, pattern)
        ]

        async def send_after_hooks(message: Any) -> None:
            if message["type"] == "http.response.start":
                for hook in hooks:
                    hook()
            await send(message)

        await self.app(scope, receive, send_after_hooks if hooks else send)


@dataclass
class FakeHost:
    """A :class:`FakeGitHub` served from its own thread (``fake_github_thread``); every access goes
    through that thread."""

    thread: FakeGitHubThread
    hooks: RequestHooks

    @property
    def fake(self) -> FakeGitHub:
        return self.thread.fake

    @property
    def base_url(self) -> str:
        return self.thread.base_url

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the fake's thread; its result."""
        return await trio.to_thread.run_sync(partial(self.thread.call, fn, *args, **kwargs))

    async def run_async(
        self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``await fn(*args, **kwargs)`` in the fake's Trio run; its result."""
        return await trio.to_thread.run_sync(partial(self.thread.call_async, fn, *args, **kwargs))

    def run_blocking(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like :meth:`run`, from synchronous code outside any Trio run (fixtures)."""
        return self.thread.call(fn, *args, **kwargs)


@contextmanager
def hosted_fake(fake: FakeGitHub) -> Iterator[FakeHost]:
    """Serve ``fake``, with :class:`RequestHooks`, on loopback from a new thread (its own Trio run)
    until the block ends."""
    hooks = RequestHooks()
    fake.asgi.add_middleware(HookedApp, hooks=hooks)
    with fake_github_thread(fake) as thread:
        yield FakeHost(thread, hooks)


# -- the bot, as a process -----------------------------------------------------------------------


def serve_env(fake: FakeGitHub, *, api_url: str, database: str) -> dict[str, str]:
    """The environment of a ``serve`` that is the fake's app: its id, key, webhook secret and URL."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "SNEKOMATIC_", "SENTRY_", "DATABASE_URL"))
    }
    env.update(
        GITHUB_APP_ID=str(fake.app_id),
        GITHUB_PRIVATE_KEY=generate_private_key(),
        GITHUB_WEBHOOK_SECRET=fake.webhook_secret,
        GITHUB_API_URL=api_url,
        GITHUB_USER_AGENT=USER_AGENT,
        DATABASE_URL=database,
        SNEKOMATIC_WORKERS="2",
        LOG_LEVEL="info",
    )
    return env


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhook/github"

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_blocking(check: Callable[[], bool], *, deadline: float, what: str) -> None:
    """Poll ``check`` (another process's state) until true; raise after ``deadline`` seconds."""
    stop = time.monotonic() + deadline
    while not check():
        if time.monotonic() > stop:
            raise TimeoutError(f"{what}: not within {deadline} s")
        time.sleep(0.05)


def answers_healthz(
    process: subprocess.Popen[Any], url: str, log_tail: Callable[[], str]
) -> bool:
    """Whether ``process`` answers 200 at its health ``url`` yet; raises, with ``log_tail()``, if it
    has exited. For :func:`wait_blocking`."""
    if process.poll() is not None:
        raise RuntimeError(f"exited with {process.returncode}:\n{log_tail()}")
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def start_serve(
    env: dict[str, str],
    cwd: Path,
    *,
    workers: int | None = None,
    log_name: str = "serve.log",
    preexec_fn: Callable[[], None] | None = None,
    command: Sequence[str] = ("serve",),
) -> ServeProcess:
    """Start ``python -m snekomatic serve`` (or ``command``: ``("run", "mybot:app")``) on a free
    loopback port; return once /healthz answers 200.

    Its logs go to ``cwd / log_name``; ``preexec_fn`` runs in the child before it starts (to lower
    its limits, say). Blocking: from a Trio test, call it through ``to_thread``.
    """
    port = free_port()
    argv = [sys.executable, "-m", "snekomatic", *command, "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    log_path = cwd / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=log, preexec_fn=preexec_fn
        )
    serve = ServeProcess(process=process, base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    ready = partial(answers_healthz, process, f"{serve.base_url}/healthz", serve.log_tail)
    try:
        wait_blocking(ready, deadline=SERVE_READY_SECONDS, what="serve ready")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return serve


def stop_serve(serve: ServeProcess) -> int | None:
    """SIGTERM, then wait for the exit (killing it after the contract's 25 s); its exit status."""
    if serve.process.poll() is None:
        serve.process.send_signal(signal.SIGTERM)
    try:
        return serve.process.wait(timeout=SERVE_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        serve.process.kill()
        serve.process.wait()
        return None


# -- a deployment: fake + serve + the bot's database -------------------------------------------


@dataclass
class World:
    """One test's corner of the fake: an organization with the app installed, a repository, a
    maintainer (an active member) and an outside contributor."""

    org: FakeOrg
    repo: FakeRepo
    installation: FakeInstallation
    maintainer: FakeUser
    contributor: FakeUser


def _make_world(fake: FakeGitHub) -> World:
    n = next(_names)
    org = fake.add_org(f"org-{n}")
    maintainer = fake.add_user(f"maintainer-{n}")
    fake.add_member(org, maintainer)
    contributor = fake.add_user(f"zeke-{n}")
    repo = fake.add_repo(org, "widget")
    installation = fake.install(org)
    return World(org, repo, installation, maintainer, contributor)


async def _close_without_merging(
    fake: FakeGitHub, world: World, author: FakeUser
) -> tuple[FakePullRequest, FakeDelivery]:
    # The fake has no "close" action: close the pull request as GitHub would and emit the webhook
    # GitHub sends then, built by the fake's own payload builder.
    pr = fake.open_pull_request(world.repo, author=author)
    pr.issue.state, pr.issue.closed_at = "closed", fake.now()
    payload = pull_request_payload(
        pr,
        action="closed",
        sender=world.maintainer,
        installation=world.installation,
        api_url=fake.base_url or "",
    )
    delivery = await fake.emit_webhook(
        "pull_request", payload, installation=world.installation, repo=world.repo
    )
    return pr, delivery


async def _comment(
    fake: FakeGitHub, repo: FakeRepo, number: int, author: FakeUser, body: str
) -> tuple[FakeComment, FakeDelivery]:
    comment = await fake.add_comment(repo, number, author=author, body=body)
    delivery = fake.deliveries[-1]
    assert delivery.event == "issue_comment" and delivery.payload["comment"]["id"] == comment.id
    return comment, delivery


async def _merge(
    fake: FakeGitHub, repo: FakeRepo, author: FakeUser, merged_by: FakeUser
) -> tuple[FakePullRequest, FakeDelivery | None]:
    pr = fake.open_pull_request(repo, author=author)
    delivery = await fake.merge_pull_request(pr, merged_by=merged_by)
    return pr, delivery


@dataclass
class Deployment:
    """A running ``serve`` wired to a hosted fake GitHub, and the bot's database (read by tests)."""

    host: FakeHost
    serve: ServeProcess
    database: str
    engine: Engine

    @property
    def fake(self) -> FakeGitHub:
        """The fake itself: read it only through :attr:`host` (it lives on another thread)."""
        return self.host.fake

    @property
    def store(self) -> Store:
        return Store(self.engine)

    async def world(self) -> World:
        return await self.host.run(_make_world, self.fake)

    async def user(self, login_prefix: str, **kwargs: Any) -> FakeUser:
        return await self.host.run(self.fake.add_user, f"{login_prefix}-{next(_names)}", **kwargs)

    async def merge(
        self, world: World, author: FakeUser, repo: FakeRepo | None = None
    ) -> tuple[FakePullRequest, FakeDelivery]:
        """``author`` opens a pull request and a maintainer merges it; GitHub sends the webhook."""
        pr, delivery = await self.host.run_async(
            _merge, self.fake, repo or world.repo, author, world.maintainer
        )
        assert delivery is not None, "the app is not installed on the repository's owner"
        assert 200 <= delivery.status_code < 300, delivery.status
        return pr, delivery

    async def close_without_merging(
        self, world: World, author: FakeUser
    ) -> tuple[FakePullRequest, FakeDelivery]:
        """``author`` opens a pull request and a maintainer closes it unmerged; GitHub sends the webhook."""
        pr, delivery = await self.host.run_async(_close_without_merging, self.fake, world, author)
        assert 200 <= delivery.status_code < 300, delivery.status
        return pr, delivery

    async def open_thread(self, world: World, kind: str) -> int:
        """The contributor opens an ``"issue"`` or a ``"pull-request"`` (no webhook); its number."""
        if kind == "issue":
            issue = await self.host.run(self.fake.open_issue, world.repo, author=world.contributor)
            return issue.number
        pr = await self.host.run(self.fake.open_pull_request, world.repo, author=world.contributor)
        return pr.number

    async def comment_on(
        self, world: World, number: int, body: str
    ) -> tuple[FakeComment, FakeDelivery]:
        """The contributor comments ``body`` on ``number``; GitHub sends ``issue_comment.created``."""
        comment, delivery = await self.host.run_async(
            _comment, self.fake, world.repo, number, world.contributor, body
        )
        assert 200 <= delivery.status_code < 300, delivery.status
        return comment, delivery

    async def comment_until_done(
        self, world: World, number: int, body: str
    ) -> tuple[FakeComment, FakeDelivery]:
        """:meth:`comment_on`, then wait for the bot to finish the delivery, which must be done.
        The caller sets the deadline."""
        comment, delivery = await self.comment_on(world, number, body)
        assert await self.wait_finished(delivery.guid) == "done"
        return comment, delivery

    async def redeliver(self, delivery: FakeDelivery) -> FakeDelivery:
        """Ask the fake, as an app owner would, to redeliver ``delivery`` (same guid); the new attempt.

        ``POST /app/hook/deliveries/{id}/attempts`` with an app JWT, like the "Redeliver" button.
        """
        jwt, _ = encode_app_jwt(self.fake.app_id, generate_private_key(), time.time())
        async with httpx.AsyncClient(base_url=self.host.base_url) as http:
            response = await http.post(
                f"/app/hook/deliveries/{delivery.id}/attempts",
                headers={"Authorization": f"Bearer {jwt}", "User-Agent": USER_AGENT},
            )
        assert response.status_code == 202, response.text
        attempt = await self.host.run(lambda: self.fake.deliveries[-1])
        assert attempt.guid == delivery.guid and attempt.redelivery
        return attempt

    async def requests_since(self, start: int) -> list[RecordedRequest]:
        """The API calls the fake received after the first ``start`` (see :meth:`request_count`)."""
        return await self.host.run(lambda: self.fake.requests[start:])

    async def make_retry_due(self, guid: str) -> None:
        """Move a delivery waiting for its retry to now, as if its backoff had passed.

        The workers' first backoff is 10 s; waiting it out for real would add that to every run.
        """
        table = metadata.tables["deliveries"]

        def update() -> int:
            with self.engine.begin() as conn:
                result = conn.execute(
                    table.update()
                    .where(table.c.delivery_id == guid, table.c.status == "pending")
                    .values(next_attempt_at=dt.datetime.now(dt.UTC))
                )
            return int(result.rowcount)

        assert await trio.to_thread.run_sync(update) == 1

    async def delivery_status(self, guid: str) -> tuple[str, int] | None:
        """The stored delivery's (status, attempts), or None if the bot stored no such delivery."""
        table = metadata.tables["deliveries"]

        def read() -> tuple[str, int] | None:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(table.c.status, table.c.attempts).where(table.c.delivery_id == guid)
                ).one_or_none()
            return None if row is None else (str(row.status), int(row.attempts))

        return await trio.to_thread.run_sync(read)

    async def wait_finished(self, guid: str) -> str:
        """Wait for the bot to finish the delivery (``done`` or ``dead``); its status."""

        async def finished() -> bool:
            status = await self.delivery_status(guid)
            return status is not None and status[0] in FINISHED

        await wait_until(finished)
        status = await self.delivery_status(guid)
        assert status is not None
        return status[0]

    async def invitation(self, world: World, user: FakeUser | None = None) -> Invitation | None:
        user = user or world.contributor
        return await trio.to_thread.run_sync(
            self.store.get_invitation, world.org.account.id, user.id
        )

    async def invitees(self, world: World) -> list[str]:
        invitations = await self.host.run(self.fake.invitations_for, world.org)
        return [invitation.invitee.login for invitation in invitations]

    async def comments(self, pr: FakePullRequest) -> list[str]:
        comments = await self.host.run(self.fake.comments_on, pr.repo, pr.number)
        return [comment.body for comment in comments]

    async def request_count(self) -> int:
        return await self.host.run(lambda: len(self.fake.requests))


async def wait_until(check: Callable[[], Awaitable[bool]], *, interval: float = 0.05) -> None:
    """Poll ``check`` until true. Another process does the work: there is no event to wait for.
    The caller sets the deadline (``trio.fail_after``)."""
    while not await check():  # noqa: ASYNC110 - another process: no event
        await trio.sleep(interval)


@contextmanager
def hosted_github(
    database: str, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[FakeHost, dict[str, str]]]:
    """A fresh fake GitHub hosted on its thread, and the environment of a ``serve`` (or ``worker``)
    on ``database`` that is the fake's app, with ``extra_env``."""
    fake = FakeGitHub(app_id=APP_ID, private_key=generate_private_key())
    with hosted_fake(fake) as host:
        env = serve_env(fake, api_url=host.base_url, database=database) | dict(extra_env or {})
        yield host, env


@contextmanager
def deployed(
    database: str,
    workdir: Path,
    *,
    command: Sequence[str] = ("serve",),
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Deployment]:
    """A fresh fake GitHub and a ``serve`` (or ``command``, with ``extra_env`` in its environment) on
    ``database`` whose webhooks come from that fake."""
    with hosted_github(database, extra_env) as (host, env):
        fake = host.fake
        serve = start_serve(env, workdir, command=command)
        host.run_blocking(setattr, fake, "webhook_url", serve.webhook_url)
        engine = create_store_engine(database)
        try:
            yield Deployment(host=host, serve=serve, database=database, engine=engine)
        finally:
            status = stop_serve(serve)
            engine.dispose()
        assert status == 0, f"serve exited with {status}:\n{serve.log_tail()}"


def sqlite_database(workdir: Path) -> str:
    return database_url(None, default_sqlite_path=str(workdir / "snekomatic.db"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One ``serve`` per backend for the whole module (ids "sqlite", "postgresql")."""
    workdir = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        database = sqlite_database(workdir)
    else:  # a fresh, migrated database on the TEST_DATABASE_URL server (tests/databases.py)
        database = request.getfixturevalue("postgres_module_database")
    with deployed(database, workdir) as running:
        yield running


@pytest.fixture(scope="module")
def sqlite_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One ``serve`` on SQLite for the whole module."""
    workdir = tmp_path_factory.mktemp("e2e-sqlite")
    with deployed(sqlite_database(workdir), workdir) as running:
        yield running
