"""Scale-out: a PostgreSQL inbox filled with N deliveries, drained by 1, 2 and 4 ``snekomatic worker``
processes; processed/s for each, and where the CPU went.

The fill: ``snekomatic serve`` with its workers off, loaded with the bench's signed payload at c=10
until the deliveries table holds N rows (wrk is interrupted then, so a few more may land), then stopped.
That database is the template of one fresh copy per drain (``CREATE DATABASE ... TEMPLATE``), so every
drain starts from the same N pending rows.

A drain: K ``snekomatic worker`` processes (each with its default worker tasks) started at once on the
copy; the settled rows (done or dead) are counted every 0.1 s on one kept connection. processed/s is
measured from the first settled row to the last (the processes' start-up, reported apart, is left
out). CPU over that same window, from /proc: each worker process, the PostgreSQL server (the
postmaster and its children: backends, WAL writer, checkpointer), and the whole machine; on a machine
with few CPUs the sum shows why adding processes stops helping.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import databases, loadgen, processes
from bench.suite import serve_env, snekomatic_serve_argv

PROCESS_COUNTS = (1, 2, 4)
POLL_S = 0.1
FILL_CONCURRENCY = 10


@dataclass
class Drain:
    processes: int
    deliveries: int
    settled: int
    startup_s: float  # processes started -> first settled row
    window_s: float  # first settled row -> last (or the deadline)
    per_second: float
    cpu_percent_workers: list[float]
    cpu_percent_postgres: float | None
    machine_busy_percent: float  # of all CPUs: 100 % = every CPU busy
    statuses: dict[str, int]


def _worker_argv() -> list[str]:
    serve = snekomatic_serve_argv(0)
    return [*serve[: serve.index("serve")], "worker"]


@contextlib.contextmanager
def _workers(count: int, env: dict[str, str], workdir: Path, tag: str) -> Iterator[list[Any]]:
    """``count`` ``snekomatic worker`` processes, each in its own session; always stopped."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(count):
            with open(workdir / f"worker-{tag}-{number}.log", "wb") as log:
                started.append(
                    subprocess.Popen(
                        _worker_argv(),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        cwd=workdir,
                        start_new_session=True,
                    )
                )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


def fill(
    url: str,
    target: int,
    *,
    wrk: str | None,
    payload: loadgen.Payload,
    env: dict[str, str],
    workdir: Path,
    load: Callable[[str, int], Any],
) -> int:
    """Store at least ``target`` deliveries in ``url`` through ``serve`` (workers off); the row count."""
    port = processes.free_port()
    with (
        processes.running(
            "scaleout-fill",
            snekomatic_serve_argv(port),
            port=port,
            log_dir=workdir,
            env=env,
            healthz="/healthz",
            cwd=workdir,
        ) as server,
        databases.PostgresProbe(url) as probe,
    ):
        deadline = time.monotonic() + max(120.0, target / 50)
        while (probe.count() or 0) < target and time.monotonic() < deadline:
            if wrk is None:  # the Python load generator: short runs until there are enough
                load(server.base_url, FILL_CONCURRENCY)
                continue
            argv, wrk_env = loadgen.wrk_command(
                wrk, server.base_url, payload, concurrency=FILL_CONCURRENCY, duration=600
            )
            with subprocess.Popen(
                argv, env=wrk_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ) as running:
                try:
                    while (probe.count() or 0) < target and time.monotonic() < deadline:
                        if running.poll() is not None:
                            break
                        time.sleep(POLL_S)
                finally:
                    if running.poll() is None:
                        running.send_signal(signal.SIGINT)  # wrk stops and prints its summary
                    try:
                        running.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        running.kill()
                        running.wait()
        return probe.count() or 0


def _cpu_percent(before: float, after: float, seconds: float) -> float:
    return round(100 * (after - before) / seconds, 1) if seconds > 0 else 0.0


def drain(url: str, count: int, *, env: dict[str, str], workdir: Path, deadline_s: float) -> Drain:
    """Start ``count`` workers on ``url`` and wait until nothing is left to process (or the deadline)."""
    pg_pid = databases.postmaster_pid(url)
    with databases.PostgresProbe(url) as probe:
        total = probe.count() or 0
        pending_at_start = probe.backlog() or 0
        started = time.monotonic()
        with _workers(count, {**env, "DATABASE_URL": url}, workdir, str(count)) as workers:
            pids = [worker.pid for worker in workers]
            # (when, settled then, PostgreSQL CPU s, each worker's CPU s, machine (busy, total) CPU s)
            first: tuple[float, int, float, list[float], tuple[float, float]] | None = None
            left = pending_at_start
            while left and time.monotonic() - started < deadline_s:
                time.sleep(POLL_S)
                current = probe.backlog()
                if current is None:
                    continue
                left = current
                if first is None and left < pending_at_start:
                    pg = processes.cpu_seconds(processes.children_of(pg_pid)) if pg_pid else 0.0
                    first = (
                        time.monotonic(),
                        pending_at_start - left,
                        pg,
                        [processes.cpu_seconds([pid]) for pid in pids],
                        processes.machine_cpu_seconds(),
                    )
                if any(worker.poll() is not None for worker in workers):
                    break
            ended = time.monotonic()
            pg_end = processes.cpu_seconds(processes.children_of(pg_pid)) if pg_pid else 0.0
            workers_end = [processes.cpu_seconds([pid]) for pid in pids]
            machine_end = processes.machine_cpu_seconds()
            died = [number for number, worker in enumerate(workers) if worker.poll() is not None]
        statuses = databases.postgres_status_counts(url)
    if died:
        log = workdir / f"worker-{count}-{died[0]}.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        print(
            f"    !!! {len(died)} of {count} worker process(es) exited before the drain ended: "
            f"{' '.join(tail)[:300]}"
        )
    if first is None:
        return Drain(count, total, 0, ended - started, 0.0, 0.0, [], None, 0.0, statuses)
    at, settled_first, pg_first, workers_first, machine_first = first
    window = ended - at
    settled = pending_at_start - left
    busy = machine_end[0] - machine_first[0]
    capacity = machine_end[1] - machine_first[1]
    return Drain(
        processes=count,
        deliveries=total,
        settled=settled,
        startup_s=round(at - started, 2),
        window_s=round(window, 2),
        per_second=round((settled - settled_first) / window, 1) if window > 0 else 0.0,
        cpu_percent_workers=[
            _cpu_percent(before, after, window)
            for before, after in zip(workers_first, workers_end, strict=True)
        ],
        cpu_percent_postgres=_cpu_percent(pg_first, pg_end, window) if pg_pid else None,
        machine_busy_percent=round(100 * busy / capacity, 1) if capacity > 0 else 0.0,
        statuses=statuses,
    )


def scaleout_section(
    *,
    deliveries: int,
    wrk: str | None,
    payload: loadgen.Payload,
    secret: str,
    private_key: str,
    workdir: Path,
    load: Callable[[str, int], Any],
    deadline_s: float = 180.0,
) -> dict[str, Any]:
    """The report's scale-out section; the JSON-ready figures (or why it was skipped)."""
    print(
        f"\n=== Scale-out: {deliveries:,} deliveries in PostgreSQL drained by "
        f"{', '.join(map(str, PROCESS_COUNTS))} `snekomatic worker` processes"
    )
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        print("    skipped: TEST_DATABASE_URL is not set (run it through `make bench`)")
        return {"skipped": "TEST_DATABASE_URL is not set"}
    directory = workdir / "scaleout"
    directory.mkdir()
    env = serve_env(
        secret=secret,
        private_key=private_key,
        database_url="",
        dead_api_url=f"http://{processes.HOST}:{processes.free_port()}",
        workers=None,
    )
    ncpu = len(os.sched_getaffinity(0))
    result: dict[str, Any] = {"deliveries_target": deliveries, "nproc": ncpu, "drains": []}
    try:
        with databases.fresh_postgres(server) as template:
            began = time.monotonic()
            stored = fill(
                template,
                deliveries,
                wrk=wrk,
                payload=payload,
                env={**env, "DATABASE_URL": template, "SNEKOMATIC_WORKERS": "0"},
                workdir=directory,
                load=load,
            )
            result["stored"] = stored
            print(
                f"    filled: {stored:,} deliveries stored by `serve` (workers off) in "
                f"{time.monotonic() - began:.0f} s; each drain runs on a copy of that database"
            )
            print(
                f"    each `snekomatic worker` runs its default worker tasks; {ncpu} CPUs "
                "(100 % = one CPU busy; the machine column is of all CPUs)"
            )
            base: float | None = None
            for count in PROCESS_COUNTS:
                with databases.fresh_postgres(server, template=template) as url:
                    found = drain(url, count, env=env, workdir=directory, deadline_s=deadline_s)
                result["drains"].append(found.__dict__)
                if count == 1 and found.settled >= found.deliveries:
                    base = found.per_second or None
                print("    " + _format(found, base))
    except processes.NotReady as exc:
        print(f"    skipped: the filling serve did not start ({exc})")
        result["skipped"] = str(exc)
        return result
    except Exception as exc:  # a section reports its failure; the rest of the run goes on
        print(f"    failed: {type(exc).__name__}: {exc}")
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result["why"] = _why(result["drains"], ncpu)
    print(f"    {result['why']}")
    return result


def _format(found: Drain, base: float | None) -> str:
    speedup = f" ({found.per_second / base:.2f}x one process)" if base else ""
    unfinished = (
        ""
        if found.settled >= found.deliveries
        else f"   !!! only {found.settled:,} of {found.deliveries:,} settled before the deadline"
    )
    workers = " + ".join(f"{value:.0f}" for value in found.cpu_percent_workers)
    postgres = (
        f"{found.cpu_percent_postgres:.0f} %" if found.cpu_percent_postgres is not None else "n/a"
    )
    return (
        f"{found.processes} process{'es' if found.processes > 1 else '  '}: "
        f"{found.per_second:7,.0f} processed/s{speedup}   start-up {found.startup_s:.1f} s, "
        f"drain {found.window_s:.1f} s   CPU: workers {workers} %, PostgreSQL {postgres}, "
        f"machine {found.machine_busy_percent:.0f} % busy{unfinished}"
    )


def _why(drains: list[dict[str, Any]], ncpu: int) -> str:
    """One sentence on where the curve flattens and what the CPU figures say about why."""
    if len(drains) < 2 or not drains[0]["per_second"]:
        return "no comparison: a drain did not finish"
    rates = [(item["processes"], item["per_second"]) for item in drains]
    flat = next(
        (
            count
            for (count, rate), (_, before) in zip(rates[1:], rates, strict=False)
            if rate < before * 1.15
        ),
        None,
    )
    last = drains[-1]
    workers = sum(last["cpu_percent_workers"])
    postgres = last["cpu_percent_postgres"] or 0.0
    where = (
        f"it flattens from {flat} processes (less than 15 % more than with fewer)"
        if flat
        else "it scales over the counts measured"
    )
    return (
        f"Why: {where}; at {last['processes']} processes the machine's {ncpu} CPUs are "
        f"{last['machine_busy_percent']:.0f} % busy: workers {workers:.0f} %, PostgreSQL "
        f"{postgres:.0f} % of one CPU, the rest (~{max(0.0, last['machine_busy_percent'] * ncpu - workers - postgres):.0f} %) "
        "other processes (this bench, wrk, anything else running)"
        + (
            ": CPU-bound on this machine, more processes only share the same CPUs"
            if last["machine_busy_percent"] >= 85
            else ": the CPUs are not saturated, so the limit is waiting (locks, commits, round trips)"
        )
    )
