"""How a command stops on a problem a person must fix: one line on stderr, exit status 2."""

from __future__ import annotations

import socket
import sys
from typing import NoReturn

import click

from snekomatic.runtime import (
    AddressInUse,
    Settings,
    StartupError,
    checked_settings,
    open_listening_socket,
    open_store,
)
from snekomatic.store import Store

__all__ = ["fail", "listening_socket_or_fail", "settings_or_fail", "store_or_fail"]


def fail(message: str) -> NoReturn:
    """Stop with one line on stderr and exit status 2 (a configuration problem, not a crash)."""
    click.echo(f"snekomatic: {message}", err=True)
    sys.exit(2)


def settings_or_fail(*, acts_as_app: bool, receives_webhooks: bool) -> Settings:
    """:func:`snekomatic.runtime.checked_settings`, or :func:`fail` with the reason."""
    try:
        return checked_settings(acts_as_app=acts_as_app, receives_webhooks=receives_webhooks)
    except StartupError as exc:
        fail(str(exc))


def listening_socket_or_fail(host: str, port: int, *, another_port: str) -> socket.socket:
    """:func:`snekomatic.runtime.open_listening_socket`, or :func:`fail` with the reason; for a port
    in use, followed by ``another_port``, how to choose another with the command's options."""
    try:
        return open_listening_socket(host, port)
    except AddressInUse as exc:
        fail(f"{exc}: {another_port}")
    except StartupError as exc:
        fail(str(exc))


def store_or_fail(settings: Settings, *, migrate: bool) -> Store:
    """:func:`snekomatic.runtime.open_store`, or :func:`fail` with the reason."""
    try:
        return open_store(settings, migrate=migrate)
    except StartupError as exc:
        fail(str(exc))
