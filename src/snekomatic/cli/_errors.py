"""How a command stops on a problem a person must fix: one line on stderr, exit status 2."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from snekomatic.runtime import Settings, StartupError, checked_settings, open_store
from snekomatic.store import Store

__all__ = ["fail", "settings_or_fail", "store_or_fail"]


def fail(message: str) -> NoReturn:
    """Stop with one line on stderr and exit status 2 (a configuration problem, not a crash)."""
    click.echo(f"snekomatic: {message}", err=True)
    sys.exit(2)


def settings_or_fail(*, need_app: bool) -> Settings:
    """:func:`snekomatic.runtime.checked_settings`, or :func:`fail` with the reason."""
    try:
        return checked_settings(need_app=need_app)
    except StartupError as exc:
        fail(str(exc))


def store_or_fail(settings: Settings, *, migrate: bool) -> Store:
    """:func:`snekomatic.runtime.open_store`, or :func:`fail` with the reason."""
    try:
        return open_store(settings, migrate=migrate)
    except StartupError as exc:
        fail(str(exc))
