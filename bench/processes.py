"""Server subprocesses for the benchmark: started in their own process group, polled until ready, killed.

Benchmark code may poll (tests may not): readiness is a bounded loop of short connection attempts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


class NotReady(Exception):
    """The server did not become ready before its deadline (or exited first); the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server process: its port, its base URL and where its output goes."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's combined stdout/stderr, for an error message."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def _healthz_ok(url: str) -> bool:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("readiness checks stay on loopback")
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(server: Server, *, deadline: float, healthz: str | None = None) -> None:
    """Poll until the server accepts connections (or GET ``healthz`` answers 200).

    Raises NotReady when ``deadline`` seconds pass or the process exits first.
    """
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        code = server.process.poll()
        if code is not None:
            raise NotReady(f"exited with status {code}: {server.log_tail()}")
        ready = _healthz_ok(server.base_url + healthz) if healthz else _port_accepts(server.port)
        if ready:
            return
        time.sleep(0.1)
    raise NotReady(f"not ready after {deadline:.0f} s: {server.log_tail()}")


def stop(server: Server, *, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it outlives ``grace`` seconds."""
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Kill anything left in the group (a server that forked, or one ignoring SIGTERM).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=5)


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    ready_deadline: float = 20.0,
    healthz: str | None = None,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """Start ``argv`` in a new session, wait until it is ready, yield it, and always stop it.

    Raises NotReady (after killing the process) when it does not become ready in time.
    """
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    server = Server(name=name, port=port, process=process, log_path=log_path)
    try:
        wait_ready(server, deadline=ready_deadline, healthz=healthz)
        yield server
    finally:
        stop(server)


# -- what a process costs, from /proc (Linux) ----------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state); None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def session_pids(sid: int) -> list[int]:
    """Every process in session ``sid`` (a server started with ``start_new_session`` and its children)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[3]) == sid:  # field 6 of stat: session id
                pids.append(int(entry.name))
    return pids


def _status_kb(pid: int, name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_mb(sid: int) -> dict[str, float]:
    """Resident memory of session ``sid``'s processes now (VmRSS) and at their peak (VmHWM), in MB
    (10^6 bytes), summed over the processes (a single process for every receiver here)."""
    pids = session_pids(sid)
    rss = sum(_status_kb(pid, "VmRSS") for pid in pids)
    peak = sum(_status_kb(pid, "VmHWM") for pid in pids)
    return {"rss_mb": round(rss * 1024 / 1e6, 1), "peak_mb": round(peak * 1024 / 1e6, 1)}


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (those still alive)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its CPUs (/proc/stat)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in first[:8]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    """``pid`` and its direct children (PostgreSQL's postmaster and its backends)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:  # field 4 of stat: parent pid
                found.append(int(entry.name))
    return found
