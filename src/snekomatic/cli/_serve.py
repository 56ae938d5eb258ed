"""``snekomatic serve``, ``worker`` and ``migrate``: the bot's long-running processes, and its schema."""

from __future__ import annotations

from functools import partial

import click
import trio

from snekomatic.cli._errors import listening_socket_or_fail, settings_or_fail, store_or_fail
from snekomatic.runtime import bot_service, run_until_signalled, start_reporting

__all__ = ["migrate", "serve", "worker"]


@click.command()
@click.option("--host", default=None, help="Address to listen on (default $HOST or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default $PORT or 8000).")
@click.option("--workers", type=int, default=None, help="In-process workers (default 4; 0: none).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve webhooks, with in-process workers. Applies migrations at start-up."""
    settings = settings_or_fail(acts_as_app=True, receives_webhooks=True)
    listening_socket = listening_socket_or_fail(
        host or settings.host,
        settings.port if port is None else port,
        another_port="stop what uses it, or choose another port with --port or PORT",
    )
    start_reporting(settings)
    store = store_or_fail(settings, migrate=True)
    count = settings.workers if workers is None else workers
    service = bot_service(settings, store, worker_count=count, sweep=True)
    trio.run(partial(run_until_signalled, service, listening_socket=listening_socket))


@click.command()
@click.option("--workers", type=int, default=None, help="Worker tasks (default 4).")
def worker(workers: int | None) -> None:
    """Process stored deliveries only (run any number of these against one PostgreSQL)."""
    settings = settings_or_fail(acts_as_app=True, receives_webhooks=False)
    start_reporting(settings)
    store = store_or_fail(settings, migrate=True)
    count = settings.workers if workers is None else workers
    service = bot_service(settings, store, worker_count=max(count, 1), sweep=False)
    trio.run(partial(run_until_signalled, service, listening_socket=None))


@click.command()
def migrate() -> None:
    """Apply the database migrations and check the schema."""
    settings = settings_or_fail(acts_as_app=False, receives_webhooks=False)
    store_or_fail(settings, migrate=True)
    click.echo("database schema is up to date")
