"""``snekomatic status``, ``replay`` and ``redeliver``: looking after a running bot.

What they read and do is :mod:`snekomatic.operate` (and the inbox's redelivery sweep); this module
parses the options, opens the store and the app (:mod:`snekomatic.runtime`), and prints.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import uuid
from pathlib import Path

import click
import httpx
import trio

from snekomatic.cli._bots import app_option, bot_or_fail
from snekomatic.cli._errors import fail, settings_or_fail, store_or_fail
from snekomatic.gh import RetryPolicy, send_webhook
from snekomatic.gh.errors import GitHubError
from snekomatic.inbox import DatabaseClock, delivery_processor, sweep_failed_deliveries
from snekomatic.operate import (
    AmbiguousDelivery,
    RecordingError,
    Requeue,
    UnknownDelivery,
    find_delivery,
    format_installations,
    format_store_status,
    parse_recorded_delivery,
    read_installation_states,
    read_store_status,
    requeue_delivery,
    run_delivery_now,
    truncate,
)
from snekomatic.runtime import BotFactory, SettingsError, github_app, start_logging, worker_name
from snekomatic.store import StoreError, run_sync

__all__ = ["redeliver", "replay", "status"]

GITHUB_TIMEOUT_SECONDS = 30.0


def _width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


@click.command()
@click.argument(
    "file", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option("--event", help="The event to send it as (default: the one the file names).")
@click.option("--url", help="Where to POST it (default http://127.0.0.1:$PORT/webhook/github).")
@click.option("--delivery-id", help="The X-GitHub-Delivery to send (default: a fresh one).")
@click.option(
    "--delivery",
    "stored",
    metavar="ID",
    help="Run a stored delivery again instead: its numeric id or its X-GitHub-Delivery guid.",
)
@click.option("--now", is_flag=True, help="With --delivery: process it in this process, now.")
@click.option(
    "--dev",
    is_flag=True,
    help="Send FILE to the `snekomatic dev` running in this directory, signed with its webhook "
    "secret (both read from its run file, snekomatic-dev.json); no settings are read.",
)
@app_option("With --now: run this GitHubApp's handlers (as `snekomatic run` serves it).")
def replay(
    file: Path | None,
    event: str | None,
    url: str | None,
    delivery_id: str | None,
    stored: str | None,
    now: bool,
    dev: bool,
    reference: str | None,
) -> None:
    """Send a recorded payload FILE to a running bot, signed; or (--delivery ID) run a stored
    delivery through the handlers again.

    FILE holds a payload as GitHub shows it in the app's advanced settings (the bare JSON, or the
    "Request" view with its headers); "-" reads standard input.
    """
    if (file is None) == (stored is None):
        raise click.UsageError("give either FILE or --delivery ID")
    if reference is not None and not now:
        raise click.UsageError("--app goes with --delivery ID --now")
    if stored is not None:
        if event or url or delivery_id or dev:
            raise click.UsageError("--event, --url, --delivery-id and --dev go with FILE")
        _replay_stored(stored, now=now, factory=bot_or_fail(reference))
    else:
        assert file is not None
        if now:
            raise click.UsageError("--now goes with --delivery")
        if dev and url:
            raise click.UsageError("--dev sends to the dev bot: give --dev or --url, not both")
        _replay_file(file, event=event, url=url, delivery_id=delivery_id, dev=dev)


def _dev_bot() -> tuple[str, str]:
    """The webhook URL and secret of the ``snekomatic dev`` running in this directory, or fail."""
    from snekomatic.dev import DEFAULT_RUN_FILE, DevRunError, read_run_file

    try:
        run = read_run_file(DEFAULT_RUN_FILE)
    except DevRunError as exc:
        fail(str(exc))
    return run.webhook_url, run.webhook_secret


def _replay_file(
    file: Path, *, event: str | None, url: str | None, delivery_id: str | None, dev: bool
) -> None:
    # --dev: the dev bot's address and secret come from its run file; no settings are read.
    settings = None if dev else settings_or_fail(acts_as_app=False, receives_webhooks=False)
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        recorded = parse_recorded_delivery(text)
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    except (RecordingError, UnicodeDecodeError) as exc:
        fail(f"{file}: {exc}")
    event = event or recorded.event
    if not event:
        fail("--event is required: the file does not name the event")
    if settings is None:
        target, secret = _dev_bot()
    else:
        if not settings.github_webhook_secret:
            fail("GITHUB_WEBHOOK_SECRET is not set: it signs the payload; set it to the bot's secret")
        target = url or f"http://127.0.0.1:{settings.port}/webhook/github"
        secret = settings.github_webhook_secret[0].get_secret_value()
    guid = delivery_id or str(uuid.uuid4())
    try:
        response = trio.run(
            lambda: send_webhook(target, event, recorded.payload, secret=secret, delivery_id=guid)
        )
    except (httpx.HTTPError, ValueError) as exc:  # ValueError: httpx refuses a malformed URL
        click.echo(f"snekomatic: {target}: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    reason = truncate(response.text, 200)
    # HTTP/1.1 servers may send no reason phrase (snekomatic's own sends none): name the status.
    phrase = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
    click.echo(f"{response.status_code} {phrase}: {event} delivery {guid}")
    if not response.is_success:
        if reason:
            click.echo(f"snekomatic: the bot answered: {reason}", err=True)
        sys.exit(1)


def _replay_stored(ref: str, *, now: bool, factory: BotFactory) -> None:

    settings = settings_or_fail(acts_as_app=now, receives_webhooks=False)
    store = store_or_fail(settings, migrate=False)
    try:
        delivery = find_delivery(store, ref)
        label = f"delivery {delivery.id} ({delivery.event}, {delivery.delivery_id})"
        if not now:
            requeue = requeue_delivery(store, delivery, now=store.database_now())
            click.echo(f"{label}: {_requeue_message(requeue)}")
            return
        start_logging(settings)

        async def run() -> None:
            clock = DatabaseClock(store)  # the workers of a running bot read its lease by it
            await clock.synchronise()
            async with factory(settings, store, clock=clock).app as app:
                process = delivery_processor(app.dispatch)
                outcome = await run_delivery_now(
                    store, delivery, process, owner=worker_name(), clock=clock
                )
            if not outcome.ran:
                message = (
                    _requeue_message(outcome.requeue)
                    if outcome.requeue is not Requeue.REQUEUED
                    else "a running worker claimed it first and runs it"
                )
                click.echo(f"{label}: {message}")
            elif outcome.error is None:
                click.echo(f"{label}: processed here; done")
            else:
                click.echo(f"{label}: processed here; failed, now dead: {outcome.error}")
                sys.exit(1)

        trio.run(run)
    except (UnknownDelivery, AmbiguousDelivery) as exc:
        fail(str(exc.args[0]))
    except StoreError as exc:
        fail(f"the database cannot be used: {exc}")
    finally:
        store.close()


def _requeue_message(requeue: Requeue) -> str:
    return {
        Requeue.REQUEUED: "pending again (attempts 0); the workers of a running bot will run it",
        Requeue.ALREADY_PENDING: "already pending; the workers will run it",
        Requeue.IN_PROGRESS: "a worker is processing it right now; nothing changed",
    }[requeue]


@click.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--no-github", is_flag=True, help="Do not ask GitHub for installation rate limits.")
def status(limit: int, no_github: bool) -> None:
    """Show recent deliveries, dead letters, invitations and (from GitHub) rate limits."""
    settings = settings_or_fail(acts_as_app=False, receives_webhooks=False)
    store = store_or_fail(settings, migrate=False)
    width = _width()
    try:
        moment = store.database_now()  # the clock the store's times were written by
        report = read_store_status(store, now=moment, limit=limit)
    except StoreError as exc:
        fail(f"the database cannot be used: {exc}")
    finally:
        store.close()
    for line in format_store_status(report, now=moment, width=width):
        click.echo(line)
    if no_github:
        return
    click.echo("")
    click.echo(f"GitHub installations ({settings.github_api_url}):")
    try:
        settings.require(app=True, webhooks=False)
    except SettingsError as exc:
        click.echo(f"  not asked: {exc}")
        return

    async def ask() -> None:
        # A look for a person at a terminal: ask once and say what failed, rather than retry for
        # seconds (1 s, 2 s, 4 s by default) before saying anything; running it again is a retry.
        async with github_app(settings).replace(retry=RetryPolicy(max_retries=0)) as app:
            with trio.move_on_after(GITHUB_TIMEOUT_SECONDS) as scope:
                try:
                    states = await read_installation_states(app)
                except GitHubError as exc:
                    click.echo(f"  GitHub could not be asked: {type(exc).__name__}: {exc}")
                    return
                # GitHub's reset times are on GitHub's clock: this machine's is as near as any.
                now = dt.datetime.now(dt.UTC)
                for line in format_installations(states, now=now, width=width):
                    click.echo(line)
            if scope.cancelled_caught:
                click.echo(f"  GitHub did not answer within {GITHUB_TIMEOUT_SECONDS:.0f}s")

    trio.run(ask)


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``24h``, ``3d`` as a timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit():
        raise click.BadParameter(f"{text!r} is not a duration like 30m, 24h or 3d")
    return dt.timedelta(seconds=int(number) * units[unit])


@click.command()
@click.option("--since", default="72h", show_default=True, help="How far back to look (max 3d).")
@click.option("--dry-run", is_flag=True, help="List what would be redelivered; ask for nothing.")
def redeliver(since: str, dry_run: bool) -> None:
    """Ask GitHub to redeliver the app's recent failed webhook deliveries."""
    window = parse_duration(since)
    settings = settings_or_fail(acts_as_app=True, receives_webhooks=False)
    start_logging(settings)  # log lines to stderr; stdout carries the report
    store = store_or_fail(settings, migrate=True)

    async def run() -> None:
        async with github_app(settings) as app:
            report = await sweep_failed_deliveries(
                app.app_client,
                store,
                owner=worker_name(),
                now=await run_sync(store.database_now),
                since=window,
                dry_run=dry_run,
                lease_ttl=None,  # asked for by a person: no need to wait for the periodic sweep
            )
        verb = "would redeliver" if dry_run else "redelivered"
        chosen = report.candidates if dry_run else report.requested
        click.echo(f"examined {report.examined} deliveries; {verb} {len(chosen)}")
        for candidate in chosen:
            click.echo(
                f"  {candidate.delivered_at:%Y-%m-%d %H:%M} {candidate.guid} {candidate.event}"
            )
        for candidate, error in report.failed:
            click.echo(f"  refused: {candidate.guid}: {error}", err=True)

    trio.run(run)
