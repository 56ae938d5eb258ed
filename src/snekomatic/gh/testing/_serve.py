"""Serving the fake (or any ASGI app) over real HTTP on loopback with Hypercorn, under Trio or asyncio."""

from __future__ import annotations

import socket
from typing import Any, cast

import anyio
import sniffio
from anyio.abc import TaskStatus
from hypercorn.config import Config
from hypercorn.typing import Framework

from snekomatic.gh.testing._fake import FakeGitHub


def _config(sock: socket.socket) -> Config:
    config = Config()
    # Hand Hypercorn the already-listening socket: the port is known before serving starts.
    config.bind = [f"fd://{sock.detach()}"]
    config.include_date_header = False  # the fake sends its own Date, from its own clock
    config.include_server_header = False
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.0
    return config


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve_fake_github(
    fake: FakeGitHub,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``fake`` over HTTP on ``host:port`` (port 0: any free port) until cancelled.

    Reports the base URL (``http://127.0.0.1:PORT``) through ``task_status.started`` once connections
    are accepted, and sets ``fake.base_url`` to it. Runs under Trio and asyncio (Hypercorn's matching
    worker). Raises ``OSError`` if the address cannot be bound. Shutdown is cancellation: open
    connections are dropped and the socket closed.
    """

    await _serve(fake.asgi, host, port, task_status, fake=fake)


async def serve_asgi(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the ASGI application ``app`` as :func:`serve_fake_github` serves the fake: on
    ``host:port`` (port 0: any free port) until cancelled, under Trio or asyncio.

    For what the fake talks to in a test: a webhook receiver (set ``fake.webhook_url`` to the reported
    base URL plus its path), or the bot's own web app. Reports the base URL through
    ``task_status.started`` once connections are accepted. Raises ``OSError`` if the address cannot be
    bound. Shutdown is cancellation: open connections are dropped and the socket closed.
    """

    await _serve(app, host, port, task_status)


async def _serve(
    asgi: Any, host: str, port: int, task_status: TaskStatus[str], *, fake: FakeGitHub | None = None
) -> None:
    sock = _listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    url = f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"
    config = _config(sock)
    app = cast(Framework, asgi)
    if fake is not None:
        fake.base_url = url
    if sniffio.current_async_library() == "trio":
        import hypercorn.trio
        import trio

        async def serve_on_trio(*, task_status: trio.TaskStatus[list[str]]) -> None:
            await hypercorn.trio.serve(app, config, task_status=task_status)

        async with trio.open_nursery() as nursery:
            await nursery.start(serve_on_trio)
            task_status.started(url)
    else:
        await _serve_on_asyncio(app, config, url, task_status)


async def _serve_on_asyncio(
    app: Framework, config: Config, url: str, task_status: TaskStatus[str]
) -> None:
    import hypercorn.asyncio

    # Hypercorn's asyncio worker cannot be cancelled mid-flight (its cleanup awaits in ``finally``), so
    # it runs shielded and is stopped through its shutdown trigger when this task is cancelled;
    # graceful_timeout 0 keeps that stop short.
    shutdown = anyio.Event()

    async def run_hypercorn() -> None:
        with anyio.CancelScope(shield=True):
            await hypercorn.asyncio.serve(app, config, shutdown_trigger=shutdown.wait)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(run_hypercorn)
        # The socket already listens, so connections queue in its backlog until Hypercorn accepts.
        task_status.started(url)
        try:
            await anyio.sleep_forever()
        finally:
            shutdown.set()
