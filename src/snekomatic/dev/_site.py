"""``snekomatic dev``: the bot and a fake GitHub in one process, to try the bot with no GitHub account.

One Trio nursery holds:

- the fake GitHub (:mod:`snekomatic.gh.testing`) on loopback, seeded with a demo organization
  (:func:`seed_demo`) on which the app is installed, and serving the GitHub simulator page
  (``/_simulator``, :mod:`snekomatic.dev._simulator`), where a person opens, merges and comments on
  pull requests as any user;
- the bot (snekomatic's own, or anyone's GitHubApp: ``DevOptions.bot``), built exactly as
  ``snekomatic serve`` and ``snekomatic run`` build it (:mod:`snekomatic.runtime`: store, app with
  its handlers, web server, workers, sweeps), from settings made here in code: the fake's app id, key
  and webhook secret, ``GITHUB_API_URL`` the fake's URL, ``DATABASE_URL`` an SQLite file. Neither the
  environment nor ``.env`` is read, so a configured production bot next to it changes nothing.

The fake's world lives in memory and starts over at every run, so the bot's database must too:
:func:`fresh_database` removes the SQLite file at start-up (and refuses a file that is not SQLite).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from snekomatic.dev._simulator import (
    PAGE_PATH,
    ChangeFeed,
    install_change_feed,
    install_simulator,
)
from snekomatic.gh.testing import (
    FakeGitHub,
    FakeInstallation,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    generate_private_key,
    serve_fake_github,
)
from snekomatic.inbox import DatabaseClock
from snekomatic.runtime import (
    BotFactory,
    Settings,
    build_service,
    builtin_bot,
    load_settings,
    open_listening_socket,
    open_store,
)

__all__ = [
    "DEFAULT_DATABASE",
    "DemoWorld",
    "DevError",
    "DevOptions",
    "DevSite",
    "dev_settings",
    "fresh_database",
    "run_dev",
    "seed_demo",
]

DEFAULT_DATABASE = Path("snekomatic-dev.sqlite3")
APP_ID = 1
APP_SLUG = "snekomatic-dev"
USER_AGENT = "snekomatic-dev"
DEMO_ORG = "snake-pit"
DEMO_REPO = "hissing"
MAINTAINERS = ("ada", "guido")
PENDING_MEMBER = "margaret"
# Outside contributors, each with an open pull request: merging one makes the bot invite its author.
CONTRIBUTIONS = (
    ("zeke", "Fix a typo in the README", "It said 'hiss' twice."),
    ("nadia", "Add type hints to hiss()", "mypy --strict passes now."),
)
BOT_ACCOUNT = "dependabot[bot]"
BOT_CONTRIBUTION = ("Bump trio from 0.34.0 to 0.35.0", "Bumps trio to the latest release.")
SQLITE_MAGIC = b"SQLite format 3\x00"


class DevError(Exception):
    """``snekomatic dev`` cannot start; the message says why, in one line."""


@dataclass(frozen=True, kw_only=True)
class DemoWorld:
    """The demo organization :func:`seed_demo` made, and its people."""

    org: FakeOrg
    repo: FakeRepo
    installation: FakeInstallation
    maintainers: tuple[FakeUser, ...]
    contributors: tuple[FakeUser, ...]
    bot_account: FakeUser
    pulls: dict[str, FakePullRequest]  # the open pull requests, by author login


def seed_demo(fake: FakeGitHub) -> DemoWorld:
    """Seed ``fake`` with the demo: organization ``snake-pit`` (the app installed on it) with active
    maintainers, a pending member, and repository ``hissing`` with open pull requests by outside
    contributors and by a bot account. Emits no webhook. Raises ``ValueError`` if a login is taken."""
    org = fake.add_org(DEMO_ORG, description="A demo organization for snekomatic dev")
    maintainers = tuple(fake.add_user(login) for login in MAINTAINERS)
    for index, maintainer in enumerate(maintainers):
        fake.add_member(org, maintainer, role="admin" if index == 0 else "member")
    fake.add_member(org, fake.add_user(PENDING_MEMBER), state="pending")
    repo = fake.add_repo(org, DEMO_REPO)
    installation = fake.install(org)
    pulls: dict[str, FakePullRequest] = {}
    contributors = []
    for login, title, body in CONTRIBUTIONS:
        contributor = fake.add_user(login)
        contributors.append(contributor)
        pulls[login] = fake.open_pull_request(repo, author=contributor, title=title, body=body)
    bot_account = fake.add_user(BOT_ACCOUNT, type="Bot")
    title, body = BOT_CONTRIBUTION
    pulls[BOT_ACCOUNT] = fake.open_pull_request(repo, author=bot_account, title=title, body=body)
    return DemoWorld(
        org=org,
        repo=repo,
        installation=installation,
        maintainers=maintainers,
        contributors=tuple(contributors),
        bot_account=bot_account,
        pulls=pulls,
    )


def dev_settings(fake: FakeGitHub, *, api_url: str, database: Path) -> Settings:
    """The bot's settings for ``fake`` served at ``api_url``, on the SQLite file ``database``.

    Built from these values only: the environment and ``.env`` are not read. Holds the fake's private
    key and webhook secret (as ``SecretStr``). Pure apart from making ``database`` absolute.
    """
    return load_settings(
        {
            "GITHUB_APP_ID": str(fake.app_id),
            "GITHUB_PRIVATE_KEY": generate_private_key(),
            "GITHUB_WEBHOOK_SECRET": fake.webhook_secret,
            "GITHUB_API_URL": api_url,
            "GITHUB_USER_AGENT": USER_AGENT,
            "DATABASE_URL": f"sqlite:///{database.absolute()}",
        }
    )


def fresh_database(path: Path) -> None:
    """Remove the SQLite database at ``path`` (with its ``-wal``, ``-shm`` and ``-journal`` files).

    A missing file is fine. Raises :class:`DevError` if ``path`` exists and is not an SQLite database
    (nothing is removed then), or cannot be read or removed. Blocking: call it from a thread.
    """
    if path.exists():
        try:
            with path.open("rb") as file:
                header = file.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise DevError(f"{path} cannot be read: {exc.strerror}") from None
        if header and header != SQLITE_MAGIC:
            raise DevError(f"{path} is not an SQLite database; choose another --database")
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            candidate.unlink(missing_ok=True)
        except OSError as exc:
            raise DevError(f"{candidate} cannot be removed: {exc.strerror}") from None


@dataclass(frozen=True, kw_only=True)
class DevOptions:
    """Where ``snekomatic dev`` listens (port 0: any free port), its database file, and the bot it
    runs: snekomatic's own, or anyone's (``--app``: :func:`snekomatic.runtime.app_bot`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    fake_port: int = 0
    database: Path = DEFAULT_DATABASE
    bot: BotFactory = builtin_bot


@dataclass(kw_only=True)
class DevSite:
    """A running ``snekomatic dev``: the fake (touch it only from the same Trio run), its demo world,
    and the URLs to open."""

    fake: FakeGitHub
    world: DemoWorld
    fake_url: str
    bot_url: str
    database: Path
    changes: ChangeFeed = field(repr=False)

    @property
    def simulator_url(self) -> str:
        return self.fake_url + PAGE_PATH

    @property
    def healthz_url(self) -> str:
        return self.bot_url + "/healthz"

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` (over the fake's state) holds; re-checked after every write the
        fake answers (the bot's API calls, the simulator's actions). The caller sets the deadline."""
        await self.changes.wait_until(predicate)


async def run_dev(
    options: DevOptions,
    *,
    stop: trio.Event,
    task_status: trio.TaskStatus[DevSite] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the fake GitHub and the bot until ``stop`` is set, then stop the bot (as ``serve`` does:
    requests in flight finish, workers get their grace period) and the fake.

    Reports a :class:`DevSite` once both listen and the fake's webhooks go to the bot. Raises
    :class:`~snekomatic.runtime.AddressInUse` (or :class:`~snekomatic.runtime.StartupError`) if the
    bot's port cannot be bound, before the database is touched; :class:`DevError` for an unusable
    database file, ``OSError`` if the fake's port cannot be bound, and
    :class:`~snekomatic.runtime.StartupError` if the database cannot be opened.
    Cancellation stops everything at once.
    """
    database = options.database.absolute()
    listening_socket = await trio.to_thread.run_sync(
        open_listening_socket, options.host, options.port
    )
    await trio.to_thread.run_sync(fresh_database, database)
    fake = FakeGitHub(
        app_id=APP_ID,
        private_key=generate_private_key(),
        webhook_secret=secrets.token_urlsafe(24),
        app_slug=APP_SLUG,
    )
    world = seed_demo(fake)
    install_simulator(fake)
    changes = install_change_feed(fake)
    async with trio.open_nursery() as nursery:
        fake_url = await nursery.start(
            partial(serve_fake_github, fake, host=options.host, port=options.fake_port)
        )
        settings = dev_settings(fake, api_url=fake_url, database=database)
        store = await trio.to_thread.run_sync(partial(open_store, settings, migrate=True))
        clock = DatabaseClock(store)
        bot = options.bot(settings, store, clock=clock)
        async with bot.app:
            service = build_service(
                settings, store, bot, clock=clock, worker_count=settings.workers, sweep=True
            )
            async with trio.open_nursery() as bot_nursery:
                binds: list[str] = await bot_nursery.start(
                    partial(service.run, listening_socket=listening_socket, stop=stop)
                )
                bot_url = binds[0].rstrip("/")
                fake.webhook_url = bot_url + "/webhook/github"
                task_status.started(
                    DevSite(
                        fake=fake,
                        world=world,
                        fake_url=fake_url,
                        bot_url=bot_url,
                        database=database,
                        changes=changes,
                    )
                )
        store.engine.dispose()
        nursery.cancel_scope.cancel()
