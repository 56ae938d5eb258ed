"""The wiring: settings, storage, the bot, the service, each built in one place.

Every command (:mod:`snekomatic.cli`) and the dev flow build what they need from these; only here do
the store, the inbox, the features and the web server meet. Nothing here prints or exits: a problem
that stops start-up raises :class:`StartupError`, and the command line says it in one line.

The service serves a :class:`Bot`, made by a :class:`BotFactory`: :func:`builtin_bot` (the features,
for ``snekomatic serve``) or :func:`app_bot` (anyone's ``GitHubApp``, for ``snekomatic run``). Both
get the app from :func:`github_app`, so every bot runs with the settings' credentials, metrics on its
GitHub calls and write pacing shared through the database; the rest of the service is the same.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import structlog
import trio

from snekomatic.features import (
    FeatureOptions,
    MissingPermission,
    register_features,
    send_deferred_invitations,
)
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.client import new_http_client
from snekomatic.inbox import (
    DatabaseClock,
    Doorbell,
    GroupCommitIngest,
    ProcessIdentity,
    StoreQueue,
    WorkerPolicy,
    Workers,
    delivery_processor,
    describe_error,
    reap_dead_owners,
    relay_new_deliveries,
    sweep_periodically,
)
from snekomatic.logs import configure_logging
from snekomatic.runtime._config import Settings, SettingsError, load_settings
from snekomatic.runtime._metrics import Metrics
from snekomatic.runtime._sentry import init_sentry, report_delivery_failure
from snekomatic.runtime._service import Service, repeat_every, stop_on_signals
from snekomatic.runtime._startup import StartupError
from snekomatic.runtime._web import HttpLimits, MiB
from snekomatic.store import (
    Delivery,
    NewDelivery,
    SchemaDriftError,
    SharedWriteSlots,
    Store,
    StoreError,
    StoreUnavailable,
    check_schema,
    create_store_engine,
    database_url,
    open_delivery_writer,
    run_sync,
    upgrade,
)

log = structlog.get_logger("snekomatic")

DEFAULT_SQLITE_FILE = "snekomatic.sqlite3"
#: How often a process looks for leases left by dead processes of its machine (one cheap query).
REAP_INTERVAL = 10.0


def checked_settings(*, acts_as_app: bool, receives_webhooks: bool) -> Settings:
    """The settings, from the environment and ``.env``, checked for what the command uses: acting as
    the app (``acts_as_app``: its id and a key that can sign its JWTs, and a usable invitation
    template) and receiving webhooks (``receives_webhooks``: the webhook secret). Problems stop
    start-up before any work: :class:`StartupError`, one line naming every malformed setting, or
    else every missing one."""
    try:
        settings = load_settings()
        settings.require(app=acts_as_app, webhooks=receives_webhooks)
    except SettingsError as exc:
        raise StartupError(str(exc)) from None
    if acts_as_app:
        feature_options(settings)
    return settings


def start_logging(settings: Settings, *, level: str | None = None) -> None:
    """Logging to stderr at ``level`` (default ``LOG_LEVEL``), in ``LOG_FORMAT`` (default: console
    lines at a terminal, JSON otherwise)."""
    as_json = None if settings.log_format is None else settings.log_format == "json"
    configure_logging(level or settings.log_level, json=as_json)


def start_reporting(settings: Settings) -> None:
    """Logging (:func:`start_logging`) and (when SENTRY_DSN is set) Sentry, for the long-running
    commands."""
    start_logging(settings)
    init_sentry(settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None)


def store_url(settings: Settings) -> str:
    raw = settings.database_url.get_secret_value() if settings.database_url else None
    return database_url(raw, default_sqlite_path=os.path.abspath(DEFAULT_SQLITE_FILE))


def open_store(settings: Settings, *, migrate: bool) -> Store:
    """The store, migrated to the code's schema (``migrate``) and checked against it. Raises
    :class:`StartupError` if the database cannot be used or its schema is not the code's."""
    try:
        engine = create_store_engine(store_url(settings))
        if migrate:
            upgrade(engine)
        check_schema(engine)
    except SchemaDriftError as exc:
        raise StartupError(
            f"the database schema does not match this version of snekomatic: {exc}"
        ) from None
    except StoreUnavailable as exc:
        raise StartupError(f"{exc} (check DATABASE_URL)") from None
    except StoreError as exc:
        raise StartupError(f"the database cannot be used: {exc}") from None
    return Store(engine)


def feature_options(settings: Settings) -> FeatureOptions:
    """The features' options from ``settings``. Raises :class:`StartupError` if
    ``INVITE_MESSAGE_FILE`` cannot be read or is not a usable template."""
    try:
        return FeatureOptions(
            invite_message=settings.invite_message(), org_config=settings.org_config
        )
    except SettingsError as exc:
        raise StartupError(str(exc)) from None
    except ValueError as exc:
        raise StartupError(f"INVITE_MESSAGE_FILE is not a usable template: {exc}") from None


def github_app(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    store: Store | None = None,
    routes: GitHubApp | None = None,
) -> GitHubApp:
    """The GitHubApp for these settings; it never reads the environment itself. With ``metrics``,
    its calls to GitHub are counted. With ``store``, the writes to each installation are spaced
    (GitHub's 1 s) across every process using that database, not only within this one.

    With ``routes``, the app has its routes, slash commands, command limit and retry policy
    (:meth:`GitHubApp.replace`); the app id, key, webhook secrets, user agent, API URL, HTTP client
    and write pacing it may have had are replaced by these settings'.
    """
    http = None if metrics is None else new_http_client(event_hooks=metrics.http_event_hooks())
    return (GitHubApp() if routes is None else routes).replace(
        http=http,
        app_id=settings.github_app_id,
        private_key=settings.private_key_pem(),
        webhook_secret=[s.get_secret_value() for s in settings.github_webhook_secret],
        user_agent=settings.github_user_agent,
        base_url=settings.github_api_url,
        write_slots=None if store is None else SharedWriteSlots(store),
    )


@dataclass(frozen=True, kw_only=True)
class Bot:
    """A bot as a process serves it: ``app``, the GitHubApp whose handlers the workers run (made by
    :func:`github_app`), and ``sweeps``, the bot's own long-running tasks, which ``serve`` runs
    beside the redelivery sweep and ``worker`` does not."""

    app: GitHubApp
    sweeps: tuple[Callable[[], Awaitable[None]], ...] = ()


class BotFactory(Protocol):
    """Makes the :class:`Bot` a process serves: :func:`builtin_bot`, or :func:`app_bot` of anyone's
    GitHubApp. ``clock`` is the service's (:func:`build_service`); ``metrics`` counts the app's
    GitHub calls. Raises :class:`StartupError` for settings the bot cannot use."""

    def __call__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], dt.datetime],
        metrics: Metrics | None = None,
    ) -> Bot: ...


def builtin_bot(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], dt.datetime],
    metrics: Metrics | None = None,
) -> Bot:
    """snekomatic's own bot (``snekomatic serve``): the features routed on :func:`github_app`, whose
    handlers stamp the store's rows with ``clock``, and the periodic sending of deferred
    invitations, by one process of the deployment at a time. A :class:`BotFactory`."""
    options = feature_options(settings)
    app = github_app(settings, metrics=metrics, store=store)
    register_features(app, store, options=options, clock=clock)
    owner = ProcessIdentity.current().name

    async def resume_deferred_invitations() -> None:
        if await run_sync(
            store.try_acquire_lease, "deferred-invitations", owner, ttl=900, now=clock()
        ):
            await send_deferred_invitations(app, store, now=clock(), options=options)

    return Bot(
        app=app,
        sweeps=(
            partial(repeat_every, 600, resume_deferred_invitations, name="deferred invitations"),
        ),
    )


def app_bot(routes: GitHubApp) -> BotFactory:
    """The :class:`BotFactory` of anyone's bot (``snekomatic run module:app``): the routes and slash
    commands of ``routes`` on :func:`github_app` (so with these settings' credentials, never its
    own), and no sweeps of its own. ``routes`` is not changed."""

    def make(
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], dt.datetime],
        metrics: Metrics | None = None,
    ) -> Bot:
        return Bot(app=github_app(settings, metrics=metrics, store=store, routes=routes))

    return make


def needs_a_person(exc: BaseException) -> bool:
    """Whether a delivery's failure cannot be cured by retrying: only missing permissions."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(MissingPermission)[1] is None
    return isinstance(exc, MissingPermission)


def delivery_ingest(store: Store) -> GroupCommitIngest[NewDelivery, int | None]:
    """The group-commit ingest of deliveries into ``store``, through its delivery writer."""
    writer = open_delivery_writer(store)
    return GroupCommitIngest(
        writer.insert_delivery_ids,
        unavailable=(StoreUnavailable,),
        on_stop=writer.close,
        on_error=lambda exc: log.error("delivery not stored", error=str(exc)),
    )


def report_failed_attempt(delivery: Delivery, exc: BaseException, last: bool) -> None:
    """The workers' ``on_failure``: one ERROR line naming the root causes, and Sentry.

    The line's ``error`` is :func:`~snekomatic.inbox.describe_error`, the same text as the
    delivery's ``last_error``: the handlers' own exceptions, not dispatch's group around them.
    """
    log.error(
        "delivery failed",
        delivery_id=delivery.delivery_id,
        attempt=delivery.attempts,
        dead_letter=last,
        error=describe_error(exc),
    )
    report_delivery_failure(exc, delivery_id=delivery.delivery_id, event=delivery.event, last=last)


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        unverified_body_bytes=settings.unverified_body_mib * MiB,
        body_timeout=settings.body_timeout,
        max_connections=settings.max_connections,
    )


def build_service(
    settings: Settings,
    store: Store,
    bot: Bot,
    *,
    clock: DatabaseClock,
    worker_count: int,
    sweep: bool,
    metrics: Metrics | None = None,
) -> Service:
    """The service of ``serve`` (``sweep``: the redelivery sweep and the bot's own sweeps) or
    ``worker``, with ``worker_count`` workers running ``bot``'s handlers.

    ``clock`` is the one clock of the process, the database's: leases, due times and the features'
    rows (``bot`` is made with the same clock) mean the same to every process sharing the
    database. The service measures it at start-up and every five minutes.
    """
    app = bot.app
    doorbell = Doorbell()
    here = ProcessIdentity.current()
    name = here.name

    def on_unavailable(exc: Exception) -> None:
        log.warning("database unavailable", error=str(exc))

    queue = StoreQueue(store, clock=clock)
    workers = (
        Workers(
            queue,
            delivery_processor(app.dispatch),
            count=worker_count,
            name=name,
            policy=WorkerPolicy(),
            doorbell=doorbell,
            on_failure=report_failed_attempt,
            unavailable=(StoreUnavailable,),
            on_unavailable=on_unavailable,
            is_permanent=needs_a_person,
            on_settled=metrics.note_settled if metrics is not None else lambda outcome: None,
            on_stop=queue.close,
        )
        if worker_count > 0
        else None
    )
    background: list[Callable[[], Awaitable[None]]] = [
        partial(repeat_every, 300, clock.synchronise, name="database clock"),
    ]
    startup: list[Callable[[], Awaitable[object]]] = [clock.synchronise]
    if workers is not None:
        # A predecessor killed on this machine left leases: take its work up now, not in a minute.
        reap = partial(reap_dead_owners, store, here, clock=clock)
        startup.append(reap)
        background.append(partial(repeat_every, REAP_INTERVAL, reap, name="dead owners"))
    url = store_url(settings)
    if workers is not None and url.startswith("postgresql"):
        background.append(partial(relay_new_deliveries, store, doorbell))
    if sweep:
        background.append(
            partial(sweep_periodically, app.app_client, store, owner=name, clock=clock)
        )
        background.extend(bot.sweeps)
    return Service(
        store=store,
        ingest=delivery_ingest(store),
        workers=workers,
        doorbell=doorbell,
        webhook_secrets=settings.webhook_secrets(),
        background=background,
        clock=clock,
        startup=startup,
        metrics=metrics,
        rate_limits=app.rate_limits,
        http_limits=http_limits(settings),
        may_handle=app.may_handle,
    )


def bot_service(
    settings: Settings,
    store: Store,
    *,
    worker_count: int,
    sweep: bool,
    factory: BotFactory = builtin_bot,
) -> Service:
    """The service of ``snekomatic serve`` (``sweep``) or ``snekomatic worker``, serving the bot
    ``factory`` makes (``snekomatic run``: :func:`app_bot`): the bot and :func:`build_service` on one
    :class:`~snekomatic.inbox.DatabaseClock`, with metrics. Raises :class:`StartupError` from
    ``factory``."""
    metrics = Metrics()
    clock = DatabaseClock(store)
    bot = factory(settings, store, clock=clock, metrics=metrics)
    return build_service(
        settings,
        store,
        bot,
        clock=clock,
        worker_count=worker_count,
        sweep=sweep,
        metrics=metrics,
    )


def freeze_startup_heap() -> None:
    """Exempt everything built so far from the cyclic garbage collector, for the life of the process.

    A long-running process builds a large heap at start-up (SQLAlchemy, pydantic, structlog, the
    app) that lives until exit; full collections would walk all of it with the event loop stopped,
    and every request in flight would wait (``bench/README.md`` has the figures). Frozen, those
    objects are never scanned again; what the process allocates later is collected as usual.
    (Instagram's ``gc.freeze`` recipe, for latency, not fork.)
    """
    gc.collect()
    gc.freeze()


async def run_until_signalled(service: Service, *, listening_socket: socket.socket | None) -> None:
    """Run ``service`` until SIGTERM or SIGINT, then shut it down in order. Its web server serves
    on ``listening_socket`` (:func:`~snekomatic.runtime.open_listening_socket`); None: no web
    server (a worker process)."""
    freeze_startup_heap()
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(stop_on_signals, stop)
        await service.run(listening_socket=listening_socket, stop=stop)
        nursery.cancel_scope.cancel()
