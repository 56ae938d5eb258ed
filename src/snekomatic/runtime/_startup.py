"""What stops start-up: :class:`StartupError`, and the web server's socket, bound before anything is
written so that a port in use or a wrong ``HOST`` stops a command with nothing to undo.

Nothing here prints or exits: the command line says a :class:`StartupError` in one line.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from snekomatic.runtime._web_server import bind_http

__all__ = ["AddressInUse", "StartupError", "open_listening_socket"]


class StartupError(Exception):
    """The bot cannot start with these settings, this address, this database or this app; the
    message says why in one line, and how to fix it, and never shows a secret."""


class AddressInUse(StartupError):
    """Something else listens on the port already: ``port``, on ``host``. The message is
    ``port 8000 on 127.0.0.1 is in use``; a command adds how to choose another with its options."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(f"port {port} on {host} is in use")


def open_listening_socket(host: str, port: int) -> socket.socket:
    """The web server's listening socket on ``host`` and ``port`` (0: a free port), bound before
    anything is written, for :func:`~snekomatic.runtime.run_until_signalled`.

    Raises :class:`AddressInUse`, or :class:`StartupError` for a ``host`` that is not an address of
    this machine or a port it may not use. Blocking (a host name is looked up).
    """
    if _looks_like_ipv4(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise StartupError(f"HOST {host} is not an IP address: {_WHICH_HOST}") from None
    try:
        return bind_http(host, port)
    except socket.gaierror:
        raise StartupError(
            f"HOST {host} is not an IP address or a known host name: {_WHICH_HOST}"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(host, port) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(
                f"HOST {host} is not an address of this machine: {_WHICH_HOST}"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartupError(
                f"port {port} on {host} needs privileges: choose a port above 1023"
            ) from None
        raise StartupError(f"cannot listen on {host} port {port}: {exc.strerror}") from None


_WHICH_HOST = "use 0.0.0.0 (every interface) or 127.0.0.1 (this machine only)"


def _looks_like_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(part.isdigit() for part in parts)
