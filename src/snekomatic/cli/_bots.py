"""Which bot a command runs: snekomatic's own, or the GitHubApp named by ``--app module:attribute``
(``snekomatic run``'s argument), found from the working directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import click

from snekomatic.cli._errors import fail
from snekomatic.runtime import BotFactory, StartupError, app_bot, builtin_bot, import_app

__all__ = ["app_option", "bot_or_fail"]

F = TypeVar("F", bound=Callable[..., None])


def app_option(help: str) -> Callable[[F], F]:
    """The ``--app MODULE:APP`` option, passed to the command as ``reference`` (None: not given)."""
    return click.option("--app", "reference", metavar="MODULE:APP", default=None, help=help)


def bot_or_fail(reference: str | None) -> BotFactory:
    """snekomatic's own bot (``reference`` None), or the one serving the GitHubApp ``reference``
    names (:func:`snekomatic.runtime.import_app` from the working directory); or :func:`fail` with
    the reason. An exception the module itself raises keeps its traceback."""
    if reference is None:
        return builtin_bot
    try:
        return app_bot(import_app(reference, directory=os.getcwd()))
    except StartupError as exc:
        fail(str(exc))
