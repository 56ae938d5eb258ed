"""The ``snekomatic dev`` command; registered in :mod:`snekomatic.cli` with ``main.add_command(dev)``.

The work happens in :func:`snekomatic.dev.run_dev`; this module turns options into
:class:`~snekomatic.dev.DevOptions`, prints the URLs to open, and turns failures into one line on stderr.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click
import trio

from snekomatic.logs import configure_logging
from snekomatic.runtime import fail, stop_on_signals

if TYPE_CHECKING:
    from snekomatic.dev import DevSite

__all__ = ["describe_site", "dev"]

#: :data:`snekomatic.dev.DEFAULT_DATABASE` (a test keeps them equal). Not imported from there:
#: :mod:`snekomatic.dev` brings the fake GitHub, which ``snekomatic serve`` must not load.
DEFAULT_DATABASE = Path("snekomatic-dev.sqlite3")


def describe_site(site: DevSite) -> str:
    """What ``snekomatic dev`` prints once it runs: the URLs to open and what to try. Pure."""
    world = site.world
    newcomer = world.contributors[0].login
    return (
        "snekomatic dev: the bot and a fake GitHub with a demo organization, on this machine only.\n"
        "\n"
        f"  GitHub simulator  {site.simulator_url}   <- open this one\n"
        f"  the bot           {site.bot_url}/\n"
        f"  its health        {site.healthz_url}\n"
        f"  fake GitHub API   {site.fake_url}\n"
        f"  database          {site.database} (recreated at every start)\n"
        "\n"
        f"In the simulator, merge {newcomer}'s pull request: within seconds the bot invites {newcomer} "
        f"to {world.org.login}\nand thanks them in a comment. Comment /ping on a pull request for a "
        "pong. Ctrl-C stops.\n"
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
def dev(port: int, fake_port: int, database: Path) -> None:
    """Try the bot with no GitHub account: a fake GitHub with a demo organization, the bot wired to
    it, and a web page (the GitHub simulator) to open and merge pull requests as anyone.

    Reads no settings from the environment or .env; listens on 127.0.0.1 only.
    """
    from snekomatic.dev import DevError, DevOptions, run_dev

    configure_logging("info")
    options = DevOptions(port=port, fake_port=fake_port, database=database)

    async def main() -> None:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signals, stop)
            site = await nursery.start(partial(run_dev, options, stop=stop))
            click.echo(describe_site(site))

    try:
        trio.run(main)
    except* DevError as group:
        fail(str(group.exceptions[0]))
    except* OSError as group:
        fail(f"cannot listen on 127.0.0.1: {group.exceptions[0]} (choose another --port)")
