"""``snekomatic serve``, ``run``, ``worker`` and ``migrate``: the bot's long-running processes, and its
schema. ``serve`` is ``run`` with snekomatic's own bot: one code path, two sources of handlers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import click
import trio

from snekomatic.cli._bots import app_option, bot_or_fail
from snekomatic.cli._errors import fail, listening_socket_or_fail, settings_or_fail, store_or_fail
from snekomatic.runtime import (
    BotFactory,
    StartupError,
    bot_service,
    builtin_bot,
    run_until_signalled,
    start_reporting,
)

__all__ = ["migrate", "run", "serve", "worker"]

F = TypeVar("F", bound=Callable[..., None])

RUN_HELP = """Serve your own bot: the GitHubApp APP names, as module:attribute (e.g. mybot:app),
with everything `snekomatic serve` has.

\b
    # mybot.py
    from snekomatic.gh import GitHubApp, HandlerContext
    app = GitHubApp()
    @app.route("issues", action="opened")
    async def hello(ctx: HandlerContext) -> None:
        await ctx.client.post(ctx.payload["issue"]["comments_url"], data={"body": "Hello!"})

\b
    $ snekomatic run mybot:app

The module is imported from the working directory or the installed packages. Its app's routes
and slash commands are served with serve's settings (GITHUB_APP_ID, GITHUB_PRIVATE_KEY,
GITHUB_WEBHOOK_SECRET, GITHUB_API_URL, DATABASE_URL, ...) and runtime: webhooks verified and
stored before the answer, workers with retries, the redelivery sweep, /healthz, /metrics, logs,
Sentry, graceful shutdown. The app needs no settings of its own: its credentials, user agent and API
URL come from the settings (any it has are replaced), so handlers reach GitHub through ctx.client
and ctx.app. Run `snekomatic worker --app APP` for more workers on the same PostgreSQL; try it with
no GitHub account with `snekomatic dev --app APP`. Applies migrations at start-up.
"""


def _listening(command: F) -> F:
    """The options of a process that serves webhooks: --host, --port and --workers."""
    options = (
        click.option("--host", default=None, help="Address to listen on (default $HOST or 0.0.0.0)."),
        click.option("--port", type=int, default=None, help="Port (default $PORT or 8000)."),
        click.option(
            "--workers", type=int, default=None, help="In-process workers (default 4; 0: none)."
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _run_bot(
    factory: BotFactory,
    *,
    workers: int | None,
    web: bool,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Run the bot ``factory`` makes until SIGTERM or SIGINT: with the web server and the sweeps
    (``web``: serve, run) or as workers only (worker). The web server's port is bound before the
    store is opened, so that a port in use stops the command with nothing written."""
    settings = settings_or_fail(acts_as_app=True, receives_webhooks=web)
    listening_socket = (
        listening_socket_or_fail(
            host or settings.host,
            settings.port if port is None else port,
            another_port="stop what uses it, or choose another port with --port or PORT",
        )
        if web
        else None
    )
    start_reporting(settings)
    store = store_or_fail(settings, migrate=True)
    count = settings.workers if workers is None else workers
    try:
        service = bot_service(
            settings, store, worker_count=count if web else max(count, 1), sweep=web, factory=factory
        )
    except StartupError as exc:
        fail(str(exc))
    trio.run(partial(run_until_signalled, service, listening_socket=listening_socket))


@click.command()
@_listening
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve webhooks, with in-process workers. Applies migrations at start-up."""
    _run_bot(builtin_bot, workers=workers, web=True, host=host, port=port)


@click.command(help=RUN_HELP)
@click.argument("app", metavar="APP")
@_listening
def run(app: str, host: str | None, port: int | None, workers: int | None) -> None:
    _run_bot(bot_or_fail(app), workers=workers, web=True, host=host, port=port)


@click.command()
@click.option("--workers", type=int, default=None, help="Worker tasks (default 4).")
@app_option("Run this GitHubApp's handlers (as `snekomatic run` serves it), not snekomatic's.")
def worker(workers: int | None, reference: str | None) -> None:
    """Process stored deliveries only (run any number of these against one PostgreSQL)."""
    _run_bot(bot_or_fail(reference), workers=workers, web=False)


@click.command()
def migrate() -> None:
    """Apply the database migrations and check the schema."""
    settings = settings_or_fail(acts_as_app=False, receives_webhooks=False)
    store_or_fail(settings, migrate=True)
    click.echo("database schema is up to date")
