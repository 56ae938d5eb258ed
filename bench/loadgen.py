"""Load generators: wrk with bench/wrk_webhook.lua, or (when wrk cannot be had) a Python one on httpx+trio.

Both send the same signed request: a fixed JSON body, its fixed X-Hub-Signature-256 (the signature covers
only the body), and a different X-GitHub-Delivery on every request. Both return a ``LoadResult``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("wrk_webhook.lua")
WEBHOOK_PATH = "/webhook/github"
HOOK_ID = "123456"
# An answer slower than this is recorded, not dropped: it must exceed the 1 s target to be visible.
REQUEST_TIMEOUT_S = 5


@dataclass(frozen=True)
class Payload:
    """The request every load generator sends: body file, its signature, and the event name."""

    body_file: Path
    signature: str
    event: str = "pull_request"


@dataclass
class LoadResult:
    """One run of the load generator at one concurrency. Latencies in microseconds."""

    tool: str
    concurrency: int
    duration_s: float
    requests: int
    ok: int  # answers below 400 (the receivers answer 2xx or an error, never 3xx)
    errors_status: int
    errors_connect: int
    errors_read: int
    errors_write: int
    errors_timeout: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float

    @property
    def per_second(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return (
            self.errors_status
            + self.errors_connect
            + self.errors_read
            + self.errors_write
            + self.errors_timeout
        )


def ensure_wrk() -> tuple[str | None, str]:
    """Find wrk, installing Debian's package when we are root. Returns (path or None, a note)."""
    found = shutil.which("wrk")
    if found:
        return found, "wrk found on PATH"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "wrk missing and cannot be installed (not root or no apt-get)"
    install = ["apt-get", "install", "-y", "wrk"]
    if _apt(install) != 0 and _apt(["apt-get", "update"]) == 0:
        _apt(install)
    found = shutil.which("wrk")
    if found:
        return found, "wrk installed with apt-get"
    return None, "apt-get install wrk failed"


def _apt(argv: list[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    ).returncode


def wrk_command(
    wrk: str,
    base_url: str,
    payload: Payload,
    *,
    concurrency: int,
    duration: float,
    path: str = WEBHOOK_PATH,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of a wrk run against ``base_url`` + ``path`` for ``duration`` s."""
    threads = min(concurrency, 2)
    env = {
        **os.environ,
        "BENCH_BODY_FILE": str(payload.body_file),
        "BENCH_SIGNATURE": payload.signature,
        "BENCH_EVENT": payload.event,
        "BENCH_HOOK_ID": HOOK_ID,
        "BENCH_RUN_ID": secrets.token_hex(4),
        "BENCH_PATH": path,
    }
    argv = [
        wrk,
        f"-c{concurrency}",
        f"-t{threads}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={REQUEST_TIMEOUT_S}s",
        "-s",
        str(LUA_SCRIPT),
        base_url + path,
    ]
    return argv, env


def run_wrk(
    wrk: str,
    base_url: str,
    payload: Payload,
    *,
    concurrency: int,
    duration: float,
    path: str = WEBHOOK_PATH,
) -> LoadResult:
    """Run wrk against ``base_url`` + ``path`` for ``duration`` seconds; parse its JSON line."""
    argv, env = wrk_command(
        wrk, base_url, payload, concurrency=concurrency, duration=duration, path=path
    )
    completed = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line.removeprefix("BENCH_JSON "))
            break
    else:
        raise RuntimeError(
            f"wrk printed no result (status {completed.returncode}): {completed.stderr}"
        )
    errors = data["errors"]
    latency = data["latency_us"]
    return LoadResult(
        tool="wrk",
        concurrency=concurrency,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        ok=data["requests"] - errors["status"],
        errors_status=errors["status"],
        errors_connect=errors["connect"],
        errors_read=errors["read"],
        errors_write=errors["write"],
        errors_timeout=errors["timeout"],
        p50_us=latency["p50"],
        p90_us=latency["p90"],
        p99_us=latency["p99"],
        max_us=latency["max"],
    )


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


async def _python_load(
    base_url: str, payload: Payload, concurrency: int, duration: float, path: str
) -> LoadResult:
    import httpx
    import trio

    body = payload.body_file.read_bytes()
    run_id = secrets.token_hex(4)
    latencies: list[float] = []
    counts = {"status": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    started = trio.current_time()
    stop_at = started + duration

    async def worker(http: httpx.AsyncClient, number: int) -> None:
        sent = 0
        while trio.current_time() < stop_at:
            sent += 1
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": payload.event,
                "X-GitHub-Hook-ID": HOOK_ID,
                "X-GitHub-Delivery": f"{run_id}-{number:04x}-4000-8000-{sent:012x}",
                "X-Hub-Signature-256": payload.signature,
            }
            begin = time.perf_counter()
            try:
                response = await http.post(base_url + path, content=body, headers=headers)
            except httpx.ConnectError:
                counts["connect"] += 1
                continue
            except httpx.TimeoutException:
                counts["timeout"] += 1
                continue
            except httpx.TransportError:
                counts["read"] += 1
                continue
            latencies.append((time.perf_counter() - begin) * 1e6)
            if response.status_code >= 400:
                counts["status"] += 1

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        async with trio.open_nursery() as nursery:
            for number in range(concurrency):
                nursery.start_soon(worker, http, number)
    elapsed = trio.current_time() - started
    ordered = sorted(latencies)
    return LoadResult(
        tool="python (httpx+trio)",
        concurrency=concurrency,
        duration_s=elapsed,
        requests=len(latencies),
        ok=len(latencies) - counts["status"],
        errors_status=counts["status"],
        errors_connect=counts["connect"],
        errors_read=counts["read"],
        errors_write=counts["write"],
        errors_timeout=counts["timeout"],
        p50_us=_percentile(ordered, 0.50),
        p90_us=_percentile(ordered, 0.90),
        p99_us=_percentile(ordered, 0.99),
        max_us=ordered[-1] if ordered else 0.0,
    )


def run_python(
    base_url: str,
    payload: Payload,
    *,
    concurrency: int,
    duration: float,
    path: str = WEBHOOK_PATH,
) -> LoadResult:
    """The fallback load generator: ``concurrency`` keep-alive connections for ``duration`` seconds."""
    import trio

    return trio.run(_python_load, base_url, payload, concurrency, duration, path)
