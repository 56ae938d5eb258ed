"""``snekomatic dev`` and ``snekomatic fake-github``: the bot against a fake GitHub, or the fake alone.

The work happens in :mod:`snekomatic.dev`; this module turns options into its values, prints the URLs
to open, and turns failures into one line on stderr. :mod:`snekomatic.dev` is imported inside the
commands: it brings the fake GitHub, which ``snekomatic serve`` must not load.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click
import trio

from snekomatic.cli._bots import app_option, bot_or_fail
from snekomatic.cli._errors import fail
from snekomatic.logs import configure_logging
from snekomatic.runtime import AddressInUse, StartupError, stop_on_signals

if TYPE_CHECKING:
    from snekomatic.dev import DevSite

__all__ = ["describe_site", "dev", "fake_github"]

#: :data:`snekomatic.dev.DEFAULT_DATABASE` (a test keeps them equal). Not imported from there:
#: :mod:`snekomatic.dev` brings the fake GitHub, which ``snekomatic serve`` must not load.
DEFAULT_DATABASE = Path("snekomatic-dev.sqlite3")


def describe_site(site: DevSite, *, app: str | None = None) -> str:
    """What ``snekomatic dev`` prints once it runs: the URLs to open and what to try (with ``app``,
    the ``--app`` it runs, what to try is up to that app). Pure."""
    world = site.world
    newcomer = world.contributors[0].login
    try_it = (
        f"In the simulator, merge {newcomer}'s pull request: within seconds the bot invites {newcomer} "
        f"to {world.org.login}\nand thanks them in a comment. Comment /ping on a pull request for a "
        "pong. Ctrl-C stops.\n"
        if app is None
        else f"The bot is {app}: open, merge and comment on pull requests in the simulator, and its"
        " handlers answer.\nCtrl-C stops.\n"
    )
    return (
        "snekomatic dev: the bot and a fake GitHub with a demo organization, on this machine only.\n"
        "\n"
        f"  GitHub simulator  {site.simulator_url}   <- open this one\n"
        f"  the bot           {site.bot_url}/\n"
        f"  its health        {site.healthz_url}\n"
        f"  fake GitHub API   {site.fake_url}\n"
        f"  database          {site.database} (recreated at every start)\n"
        "\n" + try_it
    )


@click.command()
@click.option(
    "--port", type=int, default=8000, show_default=True, help="The bot's port (0: any free port)."
)
@click.option(
    "--fake-port",
    type=int,
    default=0,
    show_default=True,
    help="The fake GitHub's port, which serves the simulator page (0: any free port).",
)
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DATABASE,
    show_default=True,
    help="The bot's SQLite file. Recreated at every start: the fake GitHub starts over too.",
)
@app_option("Run your own bot, the GitHubApp at module:attribute (as `snekomatic run` serves it).")
def dev(port: int, fake_port: int, database: Path, reference: str | None) -> None:
    """Try the bot with no GitHub account: a fake GitHub with a demo organization, the bot wired to
    it, and a web page (the GitHub simulator) to open and merge pull requests as anyone.

    Reads no settings from the environment or .env; listens on 127.0.0.1 only.
    """
    from snekomatic.dev import DevError, DevOptions, run_dev

    bot = bot_or_fail(reference)
    configure_logging("info")
    options = DevOptions(port=port, fake_port=fake_port, database=database, bot=bot)

    async def main() -> None:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signals, stop)
            site = await nursery.start(partial(run_dev, options, stop=stop))
            click.echo(describe_site(site, app=reference))

    try:
        trio.run(main)
    except* AddressInUse as group:
        fail(f"{group.exceptions[0]}: choose another with --port (make run PORT={port + 1})")
    except* (DevError, StartupError) as group:
        fail(str(group.exceptions[0]))
    except* OSError as group:
        # The bot's port is bound first (AddressInUse above): this is the fake GitHub's.
        fail(f"cannot listen on 127.0.0.1: {group.exceptions[0]} (choose another --fake-port)")


@click.command("fake-github")
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
