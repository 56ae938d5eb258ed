"""The HTTP server under the web app (``_web``): Hypercorn's HTTP/1.1 protocol under our own accept loop.

Why not ``hypercorn.trio.serve``: its accept loop (:func:`trio.serve_listeners`) accepts for as long as
the kernel hands out file descriptors. Idle connections cost an attacker nothing, so they could take
every descriptor the process may open; then nothing was answered (not ``/healthz``, not a genuine
delivery) and the loop logged an EMFILE error every 0.1 s until the attacker left. Here:

- at most ``max_connections`` connections are open at once, a number :func:`connection_cap` keeps below
  the process's file limit, with room left for the database, the GitHub client and files;
- at the cap, a new connection takes the place of the one idle the longest (idle: no request in
  progress, i.e. a silent or slow-header connection, or a keep-alive between requests), so idle
  connections cannot keep real traffic out. When every connection has a request in progress (each
  bounded by the webhook body deadline), new ones wait in the kernel's listen backlog;
- HTTP/2 is not served. There is no TLS here (the platform's router terminates it and speaks HTTP/1.1
  to the app, and GitHub delivers webhooks over HTTP/1.1), so the only HTTP/2 on offer would be
  cleartext "h2c", which no client of this bot needs and which multiplexes many bodies over one
  connection. ``Upgrade: h2c`` is ignored (RFC 9110, 7.8: "A server MAY ignore a received Upgrade
  header field"), and a request of any version but 1.0 or 1.1, the HTTP/2 preface ``PRI *
  HTTP/2.0`` included, is answered 505 and its connection closed;
- an exception out of one connection (a bug of ours or of Hypercorn's) is logged, reported to Sentry
  and closes that connection only; under ``hypercorn.trio.serve`` it would end the whole server
  (pgjones/hypercorn#203).

Everything else is Hypercorn's (request parsing and limits, keep-alive, the ASGI bridge, graceful
shutdown), through its protocol classes; ``tests/test_web_server.py`` pins what this module relies on.
The app gets no ASGI lifespan events: none of snekomatic's apps uses them.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import h11
import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.events import Closed, Event, Updated
from hypercorn.logging import Logger as HypercornLogger
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.task_group import TaskGroup
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import AppWrapper, ConnectionState
from hypercorn.utils import parse_socket_addr, repr_socket_addr, wrap_app

from snekomatic.runtime._sentry import capture_exception

__all__ = ["bind_http", "connection_cap", "serve_http11"]

log = structlog.get_logger("snekomatic.web")

# accept(2) errors that mean "out of descriptors or memory for now", as trio.serve_listeners has them.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_SECONDS = 0.1
_WARNING_INTERVAL_SECONDS = 60.0
# Even under a tiny file limit, a handful of connections beats serving none.
_MIN_CONNECTIONS = 8
# Connections the kernel queues before they are accepted (Hypercorn's default).
_LISTEN_BACKLOG = 100


def bind_http(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (an IPv4 or IPv6 address, or a name) and ``port`` (0: a
    free one), set up as Hypercorn sets its own up, for :func:`serve_http11`.

    Raises ``OSError`` (``socket.gaierror`` for a name that does not resolve, ``EADDRINUSE`` for a
    port in use); nothing stays open then. Blocking: a name is looked up.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def connection_cap(max_connections: int, reserved_files: int) -> int:
    """How many connections the server may hold: ``max_connections``, lowered to fit the file limit.

    The soft ``RLIMIT_NOFILE`` minus the descriptors open now minus ``reserved_files`` (for the
    database pool, the GitHub client's connections, log and database files), and never below a
    handful. Reads the process's limit and open descriptors; not a checkpoint.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    available = soft - _open_descriptors() - reserved_files
    return max(_MIN_CONNECTIONS, min(max_connections, available))


def _open_descriptors() -> int:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(directory))
        except OSError:
            continue
    return 0


class _AppErrorLog(HypercornLogger):
    """Hypercorn's log, with its one use of ``exception`` ("Error in ASGI Framework": an exception that
    escaped the app) sent through structlog: one line whose rendered traceback is redacted like every
    other value, where the stdlib record's traceback would be printed as is."""

    async def exception(self, message: str, *args: Any, **kwargs: Any) -> None:
        log.error("unhandled error in the web app", exc_info=True)


class _Slot:
    """One admitted connection: its cancel scope (cancelled to shed it)."""

    __slots__ = ("scope",)

    def __init__(self) -> None:
        self.scope = trio.CancelScope()


class _Connections:
    """The open connections, which of them are idle (oldest first), and the cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: set[_Slot] = set()
        # Insertion order is the order they became idle: the first is the one idle the longest.
        self._idle: dict[_Slot, None] = {}
        self._changed = trio.Event()

    def _has_room(self) -> bool:
        return len(self._open) < self.cap or bool(self._idle)

    async def wait_for_room(self) -> None:
        """Return once a new connection could be admitted (below the cap, or one to shed)."""
        while not self._has_room():
            await self._changed.wait()

    def admit(self) -> _Slot | None:
        """A slot for a new connection, shedding the longest-idle one at the cap; None if all are busy."""
        if len(self._open) >= self.cap and not self.shed_longest_idle():
            return None
        slot = _Slot()
        self._open.add(slot)
        self._idle[slot] = None  # no request yet: as sheddable as a keep-alive
        return slot

    def shed_longest_idle(self) -> bool:
        """Close the connection idle the longest; False if none is idle."""
        if not self._idle:
            return False
        slot = next(iter(self._idle))
        self._forget(slot)
        slot.scope.cancel()
        return True

    def set_idle(self, slot: _Slot, idle: bool) -> None:
        if slot not in self._open:
            return  # already shed
        self._idle.pop(slot, None)
        if idle:
            self._idle[slot] = None
            self._notify()

    def release(self, slot: _Slot) -> None:
        self._forget(slot)
        self._notify()

    def _forget(self, slot: _Slot) -> None:
        self._open.discard(slot)
        self._idle.pop(slot, None)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


class _NotHttp11(Exception):
    pass


class _Http11Only(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol that never switches to HTTP/2 (see the module docstring)."""

    async def handle(self, event: Event) -> None:
        try:
            await super().handle(event)
        except _NotHttp11:
            await self._send_error_response(505)
            await self.send(Closed())

    async def _check_protocol(self, event: h11.Request) -> None:
        # Replaces Hypercorn's switch to HTTP/2 on "Upgrade: h2c" or the "PRI *" preface.
        if event.http_version not in (b"1.0", b"1.1"):
            raise _NotHttp11


class _Connection(TCPServer):
    """Hypercorn's connection handler, over a plain socket, with :class:`_Http11Only`, reporting
    whether it is idle (Hypercorn's ``Updated`` events) so that the accept loop may shed it."""

    def __init__(
        self,
        app: AppWrapper,
        config: HypercornConfig,
        context: WorkerContext,
        stream: trio.SocketStream,
        on_idle: Callable[[bool], None],
    ) -> None:
        super().__init__(app, config, context, ConnectionState({}), stream)  # type: ignore[arg-type]
        self._on_idle = on_idle

    async def run(self) -> None:
        # TCPServer.run without its TLS branch, and with _Http11Only in place of the protocol
        # wrapper that would switch to HTTP/2.
        socket = self.stream.socket
        try:
            client = parse_socket_addr(socket.family, socket.getpeername())
            server = parse_socket_addr(socket.family, socket.getsockname())
            async with TaskGroup() as task_group:
                self._task_group = task_group
                self.protocol = _Http11Only(  # type: ignore[assignment]
                    self.app,
                    self.config,
                    self.context,
                    task_group,
                    ConnectionState({}),
                    False,
                    client,
                    server,
                    self.protocol_send,
                )
                await self.protocol.initiate()
                await self.idle_task.restart(self._task_group, self._idle_timeout)
                await self._read_data()
        except OSError:
            pass
        finally:
            await self._close()

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated):
            self._on_idle(event.idle)
        try:
            await super().protocol_send(event)
        except trio.BusyResourceError:
            # Hypercorn's _close() shuts the socket's sending side (send_eof) without the lock its
            # sends take, so a response sent meanwhile (its 400 to a client that hung up mid-body,
            # say) meets trio's conflict check. The connection is closing: what was to be sent is
            # lost as it would be on a closed socket, and handled the same way as Hypercorn does.
            await self.protocol.handle(Closed())


async def _serve_connection(
    stream: trio.SocketStream,
    slot: _Slot,
    connections: _Connections,
    make: Callable[[trio.SocketStream, Callable[[bool], None]], _Connection],
) -> None:
    try:
        with slot.scope:
            await make(stream, lambda idle: connections.set_idle(slot, idle)).run()
    except Exception as exc:
        # One connection's failure (a bug of ours or of Hypercorn's) must not stop the server and
        # every other connection with it: it is logged with its traceback and reported to Sentry,
        # and the connection closed.
        log.error("connection failed", exc_info=True)
        capture_exception(exc)
    finally:
        connections.release(slot)
        await trio.aclose_forcefully(stream)


async def _accept_forever(
    listener: trio.SocketListener,
    connections: _Connections,
    handlers: trio.Nursery,
    make: Callable[[trio.SocketStream, Callable[[bool], None]], _Connection],
) -> None:
    next_warning = trio.current_time()
    async with listener:
        while True:
            await connections.wait_for_room()
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                # Below the cap this means something else holds the descriptors: make room anyway.
                connections.shed_longest_idle()
                if trio.current_time() >= next_warning:
                    next_warning = trio.current_time() + _WARNING_INTERVAL_SECONDS
                    log.warning(
                        "accept failed, shedding idle connections",
                        error=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
                    )
                await trio.sleep(_ACCEPT_RETRY_SECONDS)
                continue
            # The connections may have become busy while accept() waited: then this one waits for
            # a slot too (one connection beyond the cap, at most, per listener).
            try:
                while (slot := connections.admit()) is None:
                    await connections.wait_for_room()
            except BaseException:
                await trio.aclose_forcefully(stream)
                raise
            handlers.start_soon(_serve_connection, stream, slot, connections, make)


async def serve_http11(
    app: Any,
    *,
    listening_socket: socket.socket,
    keep_alive_timeout: float,
    max_connections: int,
    graceful_timeout: float,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the ASGI ``app`` over HTTP/1.1 on ``listening_socket`` (:func:`bind_http`; closed when
    this returns) until ``shutdown_trigger`` returns, or cancellation.

    Reports the bound URLs (``["http://127.0.0.1:PORT"]``, the real port when it was bound to 0)
    through ``task_status`` once accepting. Holds at most ``max_connections`` connections (see the
    module docstring for what happens at the cap). ``keep_alive_timeout`` is how long a connection may stay
    without a request in progress, which bounds how long a new connection may take to send its first
    request's headers too. On shutdown it stops accepting, closes idle connections, and gives
    requests in progress ``graceful_timeout`` seconds.
    """
    config = HypercornConfig()
    config.accesslog = None
    # Through the process's logging (structlog: one line, redacted), not a second handler of
    # Hypercorn's own that prints every traceback again.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.logger_class = _AppErrorLog
    config.keep_alive_timeout = keep_alive_timeout
    config.graceful_timeout = graceful_timeout
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    context = WorkerContext(None)
    address = listening_socket.getsockname()
    binds = [f"http://{repr_socket_addr(listening_socket.family, address)}"]
    listener = trio.SocketListener(trio.socket.from_stdlib_socket(listening_socket))
    connections = _Connections(max_connections)

    def make(stream: trio.SocketStream, on_idle: Callable[[bool], None]) -> _Connection:
        return _Connection(wrapped, config, context, stream, on_idle)

    async with trio.open_nursery() as handlers:
        try:
            async with trio.open_nursery() as acceptors:
                acceptors.start_soon(_accept_forever, listener, connections, handlers, make)
                task_status.started(binds)
                if shutdown_trigger is None:
                    await trio.sleep_forever()
                else:
                    await shutdown_trigger()
                acceptors.cancel_scope.cancel()
        finally:
            # As Hypercorn's worker does: idle connections close at once (their idle timers wait
            # on ``terminated``), requests in progress get graceful_timeout seconds.
            await context.terminated.set()
            handlers.cancel_scope.deadline = trio.current_time() + graceful_timeout
