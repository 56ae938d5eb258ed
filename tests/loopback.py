"""Loopback addresses for tests that start another process on a port of their choosing."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (bound, then released): for a process the
    test starts, or as a port where a connection is refused. Another process may take it meanwhile,
    so pass port 0 to anything that can report the port it bound instead."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A port free on 127.0.0.1 whose next port is free too: for ``snekomatic dev``, whose simulator
    listens on the port after the bot's. As racy as :func:`free_port`."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
