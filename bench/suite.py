"""Run every receiver under load at each concurrency, and check that each 2xx answer left a stored row."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import loadgen, processes

SERVE_READY_DEADLINE = 20.0
RECEIVER_READY_DEADLINE = 15.0


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
class ReceiverResult:
    key: str
    title: str
    skipped: str | None = None
    runs: list[loadgen.LoadResult] = field(default_factory=list)
    rows: list[RowCheck] = field(default_factory=list)

    def at(self, concurrency: int) -> loadgen.LoadResult | None:
        return next((run for run in self.runs if run.concurrency == concurrency), None)


LoadRunner = Callable[[str, int], loadgen.LoadResult]


def snekomatic_serve_argv(port: int) -> list[str]:
    """``python -m snekomatic serve`` (or the console script while ``snekomatic.__main__`` is missing)."""
    tail = ["serve", "--host", processes.HOST, "--port", str(port)]
    if importlib.util.find_spec("snekomatic.__main__") is None:
        script = Path(sys.executable).with_name("snekomatic")
        if script.exists():
            return [str(script), *tail]
    return [sys.executable, "-m", "snekomatic", *tail]


def serve_env(
    *, secret: str, private_key: str, database_url: str, dead_api_url: str
) -> dict[str, str]:
    """The environment for an ingest-only ``snekomatic serve`` that never reaches GitHub."""
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
        SNEKOMATIC_WORKERS="0",
        WORKERS="0",
    )
    return env


def run_receiver(
    receiver: Receiver, load: LoadRunner, concurrencies: Sequence[int], *, log_dir: Path
) -> ReceiverResult:
    """Start the receiver, load it at each concurrency in turn, stop it.

    A receiver that does not become ready in time is reported as skipped, with the reason.
    """
    result = ReceiverResult(key=receiver.key, title=receiver.title)
    print(f"\n--- ({receiver.key}) {receiver.title}", flush=True)
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
            for concurrency in concurrencies:
                # Write out what earlier runs left dirty in the page cache (SQLite's file,
                # PostgreSQL's WAL and tables), so that the kernel's writeback of it does not land
                # in this run's fsyncs: each run pays for its own writes only.
                os.sync()
                before = receiver.count_rows() if receiver.count_rows else None
                run = load(server.base_url, concurrency)
                result.runs.append(run)
                print("    " + format_run(run), flush=True)
                if receiver.count_rows is not None:
                    after = receiver.count_rows()
                    stored = after - before if after is not None and before is not None else None
                    check = RowCheck(concurrency, run.ok, stored)
                    result.rows.append(check)
                    print("    " + format_rows(check), flush=True)
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
