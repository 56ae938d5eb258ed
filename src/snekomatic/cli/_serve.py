"""The ``snekomatic`` command and its subcommands; they build what they need with :mod:`snekomatic.runtime`."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import click
import trio

from snekomatic.cli._backfill import backfill
from snekomatic.cli._dev import dev
from snekomatic.cli._operate import replay, status
from snekomatic.cli._setup import setup
from snekomatic.inbox import DatabaseClock, sweep_failed_deliveries
from snekomatic.logs import configure_logging
from snekomatic.runtime import (
    Metrics,
    bot,
    build_service,
    github_app,
    open_store,
    run_until_signalled,
    settings_or_fail,
    start_reporting,
    stop_on_signals,
    worker_name,
)
from snekomatic.store import run_sync


@click.group()
@click.version_option(package_name="snekomatic")
def main() -> None:
    """snekomatic: a GitHub App bot that welcomes contributors to your organization."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default $HOST or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default $PORT or 8000).")
@click.option("--workers", type=int, default=None, help="In-process workers (default 4; 0: none).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve webhooks, with in-process workers. Applies migrations at start-up."""
    settings = settings_or_fail(need_app=True)
    start_reporting(settings)
    store = open_store(settings, migrate=True)
    metrics = Metrics()
    clock = DatabaseClock(store)
    service = build_service(
        settings,
        store,
        bot(settings, store, clock=clock, metrics=metrics),
        clock=clock,
        worker_count=settings.workers if workers is None else workers,
        sweep=True,
        metrics=metrics,
    )
    trio.run(
        partial(
            run_until_signalled,
            service,
            host=host or settings.host,
            port=settings.port if port is None else port,
        )
    )


@main.command()
@click.option("--workers", type=int, default=None, help="Worker tasks (default 4).")
def worker(workers: int | None) -> None:
    """Process stored deliveries only (run any number of these against one PostgreSQL)."""
    settings = settings_or_fail(need_app=True)
    start_reporting(settings)
    store = open_store(settings, migrate=True)
    count = settings.workers if workers is None else workers
    metrics = Metrics()
    clock = DatabaseClock(store)
    service = build_service(
        settings,
        store,
        bot(settings, store, clock=clock, metrics=metrics),
        clock=clock,
        worker_count=max(count, 1),
        sweep=False,
        metrics=metrics,
    )
    trio.run(partial(run_until_signalled, service, host=None, port=0))


@main.command()
def migrate() -> None:
    """Apply the database migrations and check the schema."""
    settings = settings_or_fail(need_app=False)
    open_store(settings, migrate=True)
    click.echo("database schema is up to date")


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``24h``, ``3d`` as a timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit():
        raise click.BadParameter(f"{text!r} is not a duration like 30m, 24h or 3d")
    return dt.timedelta(seconds=int(number) * units[unit])


@main.command()
@click.option("--since", default="72h", show_default=True, help="How far back to look (max 3d).")
@click.option("--dry-run", is_flag=True, help="List what would be redelivered; ask for nothing.")
def redeliver(since: str, dry_run: bool) -> None:
    """Ask GitHub to redeliver the app's recent failed webhook deliveries."""
    window = parse_duration(since)
    settings = settings_or_fail(need_app=True)
    configure_logging(settings.log_level)  # log lines to stderr; stdout carries the report
    store = open_store(settings, migrate=True)

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


@main.command("fake-github")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=0, help="Port (default: any free port).")
@click.option("--app-id", type=int, default=1, show_default=True)
@click.option(
    "--private-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The app's private key (PEM). Default: generate one and write it to fake-github-key.pem.",
)
@click.option("--webhook-url", default=None, help="Where the fake sends the webhooks it emits.")
@click.option("--webhook-secret", default="fake-webhook-secret", show_default=True)
def fake_github(
    host: str,
    port: int,
    app_id: int,
    private_key_file: Path | None,
    webhook_url: str | None,
    webhook_secret: str,
) -> None:
    """Run the stateful fake GitHub (snekomatic.gh.testing) as a server, for local experiments."""
    from snekomatic.dev import fake_github_key_file, install_simulator
    from snekomatic.gh.testing import FakeGitHub, serve_fake_github

    private_key_file = fake_github_key_file(private_key_file)
    fake = FakeGitHub(
        app_id=app_id,
        private_key=private_key_file.read_text(),
        webhook_secret=webhook_secret,
        webhook_url=webhook_url,
    )
    install_simulator(fake)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(partial(serve_fake_github, fake, host=host, port=port))
            click.echo(f"fake GitHub at {url} (app {app_id}, key in {private_key_file})")
            await stop_on_signals(trio.Event())
            nursery.cancel_scope.cancel()

    trio.run(run)


main.add_command(replay)
main.add_command(status)
main.add_command(setup)
main.add_command(dev)
main.add_command(backfill)
