"""The running bot: web server, ingest, workers and periodic sweeps in one nursery, and their shutdown.

The pieces are built by the wiring (:func:`snekomatic.runtime.build_service`) and handed in here as
values. Shutdown is ordered so that nothing accepted is lost:

1. the web server stops accepting connections and finishes the requests it has (their deliveries are
   committed by the still-running ingest);
2. the workers stop claiming, get their grace period, and release what is still running;
3. everything else (committers, listeners, sweeps) is cancelled.
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial

import structlog
import trio

from snekomatic.gh.sansio import Envelope, RateLimit
from snekomatic.inbox import Doorbell, GroupCommitIngest, Inbox, ProcessIdentity, Workers
from snekomatic.runtime._metrics import Metrics
from snekomatic.runtime._sentry import capture_exception
from snekomatic.runtime._web import (
    DEFAULT_HTTP_LIMITS,
    HttpLimits,
    create_app,
    serve_http_socket,
)
from snekomatic.store import Delivery, NewDelivery, Store, StoreUnavailable, run_sync

__all__ = ["Service", "repeat_every", "stop_on_signals", "worker_name"]

log = structlog.get_logger("snekomatic.service")


def worker_name() -> str:
    """A name unique across machines and restarts, for lease ownership, that tells this machine's
    processes where it runs (:class:`snekomatic.inbox.ProcessIdentity`)."""
    return ProcessIdentity.current().name


@dataclass(kw_only=True)
class Service:
    """Everything one ``snekomatic serve`` or ``snekomatic worker`` process runs.

    ``workers`` may be None (a web-only process). ``background`` are long-running tasks (the redelivery
    sweep, the LISTEN relay) started with the service and cancelled at the end of shutdown.
    ``startup`` jobs run, in order, before anything else starts (measuring the database's clock).
    """

    store: Store
    ingest: GroupCommitIngest[NewDelivery, int | None]
    workers: Workers[Delivery] | None
    doorbell: Doorbell
    webhook_secrets: list[bytes]
    background: list[Callable[[], Awaitable[None]]]
    clock: Callable[[], dt.datetime]
    startup: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    metrics: Metrics | None = None
    rate_limits: Callable[[], Mapping[int, Mapping[str, RateLimit]]] = dict
    http_limits: HttpLimits = DEFAULT_HTTP_LIMITS
    # Whether a delivery of (event, action) could make a handler run (GitHubApp.may_handle); the
    # others are stored settled. The default settles nothing early.
    may_handle: Callable[[str, str | None], bool] = lambda event, action: True

    async def accept(self, event: Envelope, headers: Mapping[str, str], body: bytes) -> bool:
        """Store a verified delivery (:meth:`snekomatic.inbox.Inbox.accept`); True if new."""
        return await self.inbox.accept(event, headers, body)

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(
            ingest=self.ingest,
            workers=self.workers,
            doorbell=self.doorbell,
            clock=self.clock,
            may_handle=self.may_handle,
            on_accepted=self.metrics.note_accepted if self.metrics is not None else _ignore,
        )

    async def metrics_page(self) -> bytes:
        """``GET /metrics``: this process's counters and the database's backlog (Prometheus text)."""
        assert self.metrics is not None
        return await self.metrics.render(
            backlog=partial(run_sync, self.store.backlog),
            now=self.clock(),
            rate_limits=self.rate_limits(),
        )

    async def database_ok(self) -> bool:
        try:
            with trio.fail_after(5):
                await run_sync(self.store.ping)
        except (StoreUnavailable, trio.TooSlowError):
            return False
        return True

    async def run(
        self,
        *,
        listening_socket: socket.socket | None,
        stop: trio.Event,
        task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until ``stop`` is set, then shut down in order (see the module docstring).

        The web server serves on ``listening_socket``, bound beforehand
        (:func:`snekomatic.runtime.open_listening_socket`); None: no web server runs (a worker
        process). Reports the bound URLs (or ``[]``).
        """
        for job in self.startup:
            await job()
        async with trio.open_nursery() as nursery:
            await nursery.start(self.ingest.run)
            for task in self.background:
                nursery.start_soon(task)
            if self.workers is not None:
                await nursery.start(self.workers.run)
            if listening_socket is None:
                task_status.started([])
                await stop.wait()
            else:
                app = create_app(
                    secrets=self.webhook_secrets,
                    accept=self.accept,
                    database_ok=self.database_ok,
                    metrics=self.metrics_page if self.metrics is not None else None,
                    limits=self.http_limits,
                )
                async with trio.open_nursery() as web:
                    binds = await web.start(
                        partial(
                            serve_http_socket,
                            app,
                            listening_socket=listening_socket,
                            shutdown_trigger=stop.wait,
                            limits=self.http_limits,
                        )
                    )
                    log.info("listening", urls=binds)
                    task_status.started(binds)
            if self.workers is not None:
                await self.workers.stop()
            nursery.cancel_scope.cancel()


def _ignore(is_new: bool) -> None:
    pass


async def stop_on_signals(stop: trio.Event) -> None:
    """Set ``stop`` on SIGTERM (Heroku's and containers' shutdown) or SIGINT."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("shutting down", signal=signal.Signals(signum).name)
            stop.set()
            return


async def repeat_every(interval: float, job: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Run ``job`` now and then every ``interval`` seconds, until cancelled.

    A failing run is logged and reported to Sentry (it may be a missing permission that a person must
    grant), and the next run happens on schedule: a periodic job never takes the process down.
    """
    while True:
        try:
            await job()
        # A boundary like the worker's: the failure is recorded, the schedule goes on.
        except Exception as exc:  # noqa: BLE001
            log.error(f"{name} failed", error=f"{type(exc).__name__}: {exc}")
            capture_exception(exc)
        await trio.sleep(interval)
