"""Run every receiver under load at each concurrency, check that each 2xx answer left a stored row, and,
for a receiver that also processes what it stored, wait for its backlog to drain before the next run."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import loadgen, processes

SERVE_READY_DEADLINE = 20.0
RECEIVER_READY_DEADLINE = 15.0
DRAIN_POLL_S = 0.05
IDLE_SETTLE_S = 1.0  # after readiness, before the idle RSS is read: start-up work finishes


@dataclass(frozen=True)
class Receiver:
    """How to start one receiver, and how to count the deliveries it stored (None: it stores nothing)."""

    key: str
    title: str
    argv: Sequence[str]
    port: int
    env: Mapping[str, str]
    healthz: str | None = None
    ready_deadline: float = RECEIVER_READY_DEADLINE
    count_rows: Callable[[], int | None] | None = None
    cwd: Path | None = None
    label: str | None = None  # what the skip message calls it; defaults to the title
    webhook_path: str = loadgen.WEBHOOK_PATH
    # Deliveries stored but not yet processed (None: unreadable); None for receivers that only store.
    backlog: Callable[[], int | None] | None = None
    drain_deadline: float = 60.0


@dataclass
class RowCheck:
    """Deliveries stored during one load run, compared with the 2xx answers the load generator got."""

    concurrency: int
    answered_2xx: int
    stored: int | None  # None: the table could not be read

    @property
    def missing(self) -> int:
        """2xx answers without a row (must be 0); 0 when the table could not be read."""
        return max(0, self.answered_2xx - self.stored) if self.stored is not None else 0


@dataclass
class Drain:
    """The backlog (stored, not yet processed) when the load stopped, and how long it took to reach 0."""

    concurrency: int
    backlog_at_stop: int | None  # None: the table could not be read
    drain_s: float | None  # None: not drained within the deadline (``left`` remain)
    left: int | None = None


@dataclass
class ReceiverResult:
    key: str
    title: str
    skipped: str | None = None
    runs: list[loadgen.LoadResult] = field(default_factory=list)
    rows: list[RowCheck] = field(default_factory=list)
    drains: list[Drain] = field(default_factory=list)
    # idle_rss_mb (ready, before any load), after_load_rss_mb (after the last run and its drain),
    # peak_mb (VmHWM at the end)
    memory: dict[str, float] = field(default_factory=dict)
    note: str = ""  # versions, worker count: printed under the title

    def drain_at(self, concurrency: int) -> Drain | None:
        return next((drain for drain in self.drains if drain.concurrency == concurrency), None)

    def at(self, concurrency: int) -> loadgen.LoadResult | None:
        return next((run for run in self.runs if run.concurrency == concurrency), None)


LoadRunner = Callable[[str, int, str], loadgen.LoadResult]  # (base URL, concurrency, path)


def snekomatic_serve_argv(port: int) -> list[str]:
    """``python -m snekomatic serve`` (or the console script while ``snekomatic.__main__`` is missing)."""
    tail = ["serve", "--host", processes.HOST, "--port", str(port)]
    if importlib.util.find_spec("snekomatic.__main__") is None:
        script = Path(sys.executable).with_name("snekomatic")
        if script.exists():
            return [str(script), *tail]
    return [sys.executable, "-m", "snekomatic", *tail]


def serve_env(
    *,
    secret: str,
    private_key: str,
    database_url: str,
    dead_api_url: str,
    workers: int | None = 0,
) -> dict[str, str]:
    """The environment for a ``snekomatic serve`` (or ``worker``) that never reaches GitHub.

    ``workers`` 0: ingest only; None: the default number of in-process workers (as deployed).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "SNEKOMATIC_", "SENTRY_"))
        and name not in {"DATABASE_URL", "HOST", "PORT", "WORKERS"}
    }
    env.update(
        GITHUB_WEBHOOK_SECRET=secret,
        GITHUB_APP_ID="1",
        GITHUB_PRIVATE_KEY=private_key,
        GITHUB_API_URL=dead_api_url,
        GITHUB_USER_AGENT="snekomatic-bench",
        DATABASE_URL=database_url,
    )
    if workers is not None:
        env.update(SNEKOMATIC_WORKERS=str(workers), WORKERS=str(workers))
    return env


def run_receiver(
    receiver: Receiver,
    load: LoadRunner,
    concurrencies: Sequence[int],
    *,
    log_dir: Path,
    note: str = "",
) -> ReceiverResult:
    """Start the receiver, load it at each concurrency in turn, stop it.

    A receiver that does not become ready in time is reported as skipped, with the reason.
    """
    result = ReceiverResult(key=receiver.key, title=receiver.title, note=note)
    print(f"\n--- ({receiver.key}) {receiver.title}", flush=True)
    if note:
        print(f"    {note}", flush=True)
    try:
        with processes.running(
            receiver.key,
            receiver.argv,
            port=receiver.port,
            log_dir=log_dir,
            env=receiver.env,
            ready_deadline=receiver.ready_deadline,
            healthz=receiver.healthz,
            cwd=receiver.cwd,
        ) as server:
            time.sleep(IDLE_SETTLE_S)
            result.memory["idle_rss_mb"] = processes.rss_mb(server.process.pid)["rss_mb"]
            for concurrency in concurrencies:
                # Write out what earlier runs left dirty in the page cache (SQLite's file,
                # PostgreSQL's WAL and tables), so that the kernel's writeback of it does not land
                # in this run's fsyncs: each run pays for its own writes only.
                os.sync()
                before = receiver.count_rows() if receiver.count_rows else None
                run = load(server.base_url, concurrency, receiver.webhook_path)
                stopped = time.monotonic()
                drain = wait_for_drain(receiver, concurrency, stopped) if receiver.backlog else None
                result.runs.append(run)
                print("    " + format_run(run), flush=True)
                if drain is not None:
                    result.drains.append(drain)
                    print("    " + format_drain(drain), flush=True)
                if receiver.count_rows is not None:
                    after = receiver.count_rows()
                    stored = after - before if after is not None and before is not None else None
                    check = RowCheck(concurrency, run.ok, stored)
                    result.rows.append(check)
                    print("    " + format_rows(check), flush=True)
            memory = processes.rss_mb(server.process.pid)
            result.memory["after_load_rss_mb"] = memory["rss_mb"]
            result.memory["peak_mb"] = memory["peak_mb"]
            print("    " + format_memory(result.memory), flush=True)
            if server.process.poll() is not None:
                print(f"    !!! the receiver died during the run: {server.log_tail()}")
    except processes.NotReady as exc:
        result.skipped = str(exc)
        label = receiver.label or receiver.title
        print(f"({receiver.key}) skipped: {label} not available ({exc})", flush=True)
    return result


def format_run(run: loadgen.LoadResult) -> str:
    errors = (
        f"errors {run.errors} (status {run.errors_status}, connect {run.errors_connect}, "
        f"read {run.errors_read}, write {run.errors_write}, timeout {run.errors_timeout})"
        if run.errors
        else "errors 0"
    )
    return (
        f"c={run.concurrency:<3} {run.per_second:9,.0f} deliveries/s   p50 {run.p50_us / 1e3:7.2f} ms"
        f"   p99 {run.p99_us / 1e3:7.2f} ms   max {run.max_us / 1e3:8.2f} ms   {errors}"
    )


def format_rows(check: RowCheck) -> str:
    if check.stored is None:
        return "rows: the deliveries table could not be read (count unavailable)"
    if check.missing:
        return (
            f"!!! MISMATCH: {check.answered_2xx} deliveries were answered 2xx but only {check.stored} "
            f"rows were stored: {check.missing} accepted deliveries are LOST"
        )
    extra = check.stored - check.answered_2xx
    note = f" (+{extra} still in flight when the load stopped)" if extra else ""
    return f"rows: {check.stored} stored for {check.answered_2xx} 2xx answers: ok{note}"


def wait_for_drain(receiver: Receiver, concurrency: int, stopped: float) -> Drain:
    """The backlog right after the load stopped (at ``stopped``, a monotonic time), then poll until it
    is 0: seconds from ``stopped``, or None past the receiver's drain deadline."""
    assert receiver.backlog is not None
    at_stop = receiver.backlog()
    if at_stop is None:
        return Drain(concurrency, None, None)
    left = at_stop
    while left:
        if time.monotonic() - stopped > receiver.drain_deadline:
            return Drain(concurrency, at_stop, None, left)
        time.sleep(DRAIN_POLL_S)
        current = receiver.backlog()
        if current is not None:  # a failed read (a lock, a restart) keeps the last figure
            left = current
    return Drain(concurrency, at_stop, round(time.monotonic() - stopped, 3))


def format_drain(drain: Drain) -> str:
    if drain.backlog_at_stop is None:
        return "backlog: the deliveries table could not be read"
    if drain.drain_s is None:
        return (
            f"backlog {drain.backlog_at_stop} when the load stopped; NOT drained in time "
            f"({drain.left} left)"
        )
    return (
        f"backlog {drain.backlog_at_stop} when the load stopped; drained in {drain.drain_s:.2f} s"
    )


def format_memory(memory: dict[str, float]) -> str:
    return (
        f"RSS idle {memory.get('idle_rss_mb', 0):.0f} MB, after load "
        f"{memory.get('after_load_rss_mb', 0):.0f} MB (peak {memory.get('peak_mb', 0):.0f} MB)"
    )
