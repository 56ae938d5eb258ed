"""open_github_world: a served fake GitHub, a GitHubApp installed on it, and the clock they share.

What a test of a bot needs before its first line: an organization with the app installed, the app
authenticated against the fake, and one clock for both. Built once here, so that tests say only what
is particular to them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, final

import anyio
import httpx

from snekomatic.gh.app import GitHubApp
from snekomatic.gh.client import GitHubClient, new_http_client
from snekomatic.gh.testing._clock import FakeClock
from snekomatic.gh.testing._fake import FakeGitHub
from snekomatic.gh.testing._keys import generate_private_key
from snekomatic.gh.testing._model import FakeDelivery, FakeInstallation, FakeOrg
from snekomatic.gh.testing._serve import serve_fake_github
from snekomatic.gh.webhook_sender import build_webhook_request

__all__ = ["IN_PROCESS_BASE_URL", "GitHubWorld", "open_github_world"]

# The fake's address when it is reached in-process (``served=False``): never resolved or connected to.
IN_PROCESS_BASE_URL: Final = "http://fake-github.test"
DEFAULT_USER_AGENT: Final = "snekomatic-gh-testing"


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class GitHubWorld:
    """A fake GitHub with an organization, a GitHub App installed on it, and their clock.

    Attributes:
        fake: the :class:`FakeGitHub`: arrange it (``add_user``, ``add_repo``, ``open_pull_request``,
            ``inject_fault``...) and assert on its state.
        app: a :class:`~snekomatic.gh.GitHubApp` for the fake's app (same id and key, the fake's
            webhook secret, ``base_url`` the fake's), reading ``clock``.
        clock: the wall clock the fake and the app share (epoch seconds).
        org: the organization the app is installed on; ``installation`` is that installation.
        base_url: where the fake answers (a loopback URL, or :data:`IN_PROCESS_BASE_URL`).
        http: the ``httpx.AsyncClient`` the app sends through, as ``GitHubApp`` would make it
            (owned by the world; tests may add ``event_hooks`` to it to watch or slow the app's
            requests).
        private_key: the app's private key (PEM). A secret.
    """

    fake: FakeGitHub
    app: GitHubApp
    clock: Callable[[], float]
    org: FakeOrg
    installation: FakeInstallation
    base_url: str
    http: httpx.AsyncClient
    private_key: str = field(repr=False)

    @property
    def client(self) -> GitHubClient:
        """A client of ``installation`` (``app.client_for``). Not a checkpoint."""
        return self.app.client_for(self.installation.id)

    def app_environ(self) -> dict[str, str]:
        """The variables :meth:`GitHubApp.from_env` reads, set to this world's app: for a bot run as
        a process against the fake. Holds the private key and the webhook secret: secrets."""
        return {
            "GITHUB_APP_ID": str(self.fake.app_id),
            "GITHUB_PRIVATE_KEY": self.private_key,
            "GITHUB_WEBHOOK_SECRET": self.fake.webhook_secret,
            "GITHUB_USER_AGENT": self.app.user_agent,
            "GITHUB_API_URL": self.base_url,
        }

    def new_app(self, **overrides: Any) -> GitHubApp:
        """Another :class:`~snekomatic.gh.GitHubApp` for this world's app: the same settings, clock
        and HTTP client as :attr:`app`, with ``overrides`` as constructor arguments (``write_slots=``,
        ``retry=``, ``webhook_secret=[...]``). The caller closes it (``async with``). Raises
        ``TypeError`` for an argument the constructor does not take."""
        settings: dict[str, Any] = {
            "app_id": self.fake.app_id,
            "private_key": self.private_key,
            "webhook_secret": self.fake.webhook_secret,
            "user_agent": self.app.user_agent,
            "base_url": self.base_url,
            "http": self.http,
            "clock": self.clock,
        }
        return GitHubApp(**{**settings, **overrides})

    async def dispatch(self, delivery: FakeDelivery) -> None:
        """Sign ``delivery`` (a webhook the fake logged) with the fake's secret, parse it with
        :attr:`app` and dispatch it, as the bot's web layer and a worker would. A checkpoint; raises
        what :meth:`GitHubApp.dispatch` raises."""
        headers, body = build_webhook_request(
            delivery.event,
            delivery.payload,
            secret=self.fake.webhook_secret,
            delivery_id=delivery.guid,
        )
        await self.app.dispatch(self.app.parse_webhook(headers, body))


def open_github_world(
    *,
    org: str = "octo-org",
    app_id: int = 1,
    clock: Callable[[], float] | None = None,
    served: bool = True,
    user_agent: str = DEFAULT_USER_AGENT,
) -> contextlib.AbstractAsyncContextManager[GitHubWorld]:
    """An async context manager: a fake GitHub with the organization ``org``, a GitHub App
    ``app_id`` installed on it and a :class:`~snekomatic.gh.GitHubApp` for it, sharing ``clock``;
    see :class:`GitHubWorld`. For tests of a bot, under Trio or asyncio::

        async def test_a_merge_is_thanked(autojump_clock):
            async with open_github_world(served=False) as world:
                register_handlers(world.app)  # the bot's @app.route handlers
                repo = world.fake.add_repo(world.org, "widget")
                maintainer = world.fake.add_user("maintainer")
                pr = world.fake.open_pull_request(repo, author=world.fake.add_user("zeke"))
                await world.dispatch(await world.fake.merge_pull_request(pr, merged_by=maintainer))
                assert [c.body for c in world.fake.comments_on(repo, pr.number)] == ["Thanks!"]

    ``clock`` (epoch seconds) defaults to a :class:`FakeClock` following the event loop's clock, so
    that under Trio's ``MockClock`` tokens expire and pacing waits in virtual time; a bot run as a
    separate process signs with its machine's time, so pass ``time.time`` then. ``served``: the fake
    is served over HTTP on 127.0.0.1 (a free port) by a task of the context's own task group, for
    code that needs a URL (another process, webhooks sent to the fake); with a ``MockClock``, give it
    an ``autojump_threshold`` (say 0.05 s) so that it does not jump while a socket is in flight.
    False: the fake is reached in-process through ``httpx.ASGITransport``: no sockets, nothing but
    the test's own tasks, so ``autojump_clock`` can jump at once. The private key is
    :func:`generate_private_key`'s.

    Entering it is a checkpoint; it raises ``OSError`` if the fake cannot be served. On exit the app
    and the HTTP client are closed and the server is cancelled (open connections dropped). An
    exception raised in the block propagates unchanged; one raised by the server cancels the block
    and propagates from the ``async with``.
    """
    return _WorldContext(org=org, app_id=app_id, clock=clock, served=served, user_agent=user_agent)


@final
class _WorldContext:
    def __init__(
        self,
        *,
        org: str,
        app_id: int,
        clock: Callable[[], float] | None,
        served: bool,
        user_agent: str,
    ) -> None:
        self._org = org
        self._app_id = app_id
        self._clock = clock
        self._served = served
        self._user_agent = user_agent
        self._exit: contextlib.AsyncExitStack | None = None

    async def __aenter__(self) -> GitHubWorld:
        if self._exit is not None:
            raise RuntimeError("a world is entered once")
        clock = FakeClock() if self._clock is None else self._clock
        private_key = generate_private_key()
        fake = FakeGitHub(app_id=self._app_id, private_key=private_key, clock=clock)
        org = fake.add_org(self._org)
        installation = fake.install(org)
        async with contextlib.AsyncExitStack() as stack:
            if self._served:
                http = await stack.enter_async_context(new_http_client())
                # Unwound in reverse: the app closes, then the server is cancelled and awaited.
                task_group = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(task_group.cancel_scope.cancel)
                base_url: str = await task_group.start(serve_fake_github, fake)
            else:
                transport = httpx.ASGITransport(app=fake.asgi)
                http = await stack.enter_async_context(new_http_client(transport=transport))
                base_url = fake.base_url = IN_PROCESS_BASE_URL
            app = await stack.enter_async_context(
                GitHubApp(
                    app_id=self._app_id,
                    private_key=private_key,
                    webhook_secret=fake.webhook_secret,
                    user_agent=self._user_agent,
                    base_url=base_url,
                    http=http,
                    clock=clock,
                )
            )
            self._exit = stack.pop_all()
        return GitHubWorld(
            fake=fake,
            app=app,
            clock=clock,
            org=org,
            installation=installation,
            base_url=base_url,
            http=http,
            private_key=private_key,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        assert self._exit is not None, "__aexit__ without __aenter__"
        try:
            return bool(await self._exit.__aexit__(exc_type, exc, traceback))
        except BaseExceptionGroup as group:
            # The task group wraps even a lone exception of the block; the block's own exception
            # leaves the ``async with`` as it was raised (returning False re-raises it untouched).
            if exc is not None and len(group.exceptions) == 1 and group.exceptions[0] is exc:
                return False
            raise
