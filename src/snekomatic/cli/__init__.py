"""The ``snekomatic`` command line: the click group :func:`main` (the console script) and its commands.

One module per group of commands, each only parsing options and printing: ``_serve`` (serve, run,
worker, migrate), ``_operate`` (status, replay, redeliver), ``_backfill``, ``_dev`` (dev, fake-github) and
``_setup``. What they run is built by :mod:`snekomatic.runtime` and the packages of each job; a
problem a person must fix stops a command with one line on stderr (``_errors``); ``_bots`` picks the
bot a command runs (snekomatic's own, or ``--app module:attribute``).
"""

from __future__ import annotations

import click

from snekomatic.cli._backfill import backfill as backfill
from snekomatic.cli._dev import dev as dev
from snekomatic.cli._dev import fake_github as fake_github
from snekomatic.cli._operate import redeliver as redeliver
from snekomatic.cli._operate import replay as replay
from snekomatic.cli._operate import status as status
from snekomatic.cli._serve import migrate as migrate
from snekomatic.cli._serve import run as run
from snekomatic.cli._serve import serve as serve
from snekomatic.cli._serve import worker as worker
from snekomatic.cli._setup import setup as setup

__all__ = [
    "backfill",
    "dev",
    "fake_github",
    "main",
    "migrate",
    "redeliver",
    "replay",
    "run",
    "serve",
    "setup",
    "status",
    "worker",
]


@click.group()
@click.version_option(package_name="snekomatic")
def main() -> None:
    """snekomatic: a GitHub App bot that welcomes contributors to your organization."""


for command in (
    serve,
    run,
    worker,
    migrate,
    redeliver,
    fake_github,
    replay,
    status,
    setup,
    dev,
    backfill,
):
    main.add_command(command)
