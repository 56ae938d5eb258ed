"""``snekomatic serve`` as a real process: ordered shutdown, a PostgreSQL restart survived, and what
it says at start-up.

These tests wait on another process, so they poll it (``wait_until``) with a deadline: there is no
event to wait for across a process boundary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import trio
from tools.with_postgres import Cluster, find_pg_bin, throwaway_cluster

from snekomatic.gh.sansio import signature_for
from snekomatic.gh.testing import generate_private_key
from tests.loopback import free_port
from tests.payloads import load_payload

SECRET = "serve-test-secret"
BODY = json.dumps(load_payload("pull_request", "closed.with-organization")).encode()


def serve_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SNEKOMATIC_"))}
    env.update(
        GITHUB_APP_ID="1",
        GITHUB_PRIVATE_KEY=generate_private_key(),
        GITHUB_WEBHOOK_SECRET=SECRET,
        GITHUB_API_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens: no GitHub here
        DATABASE_URL=database_url,
        SNEKOMATIC_WORKERS="2",
    )
    return env


def headers(delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Hook-ID": "9",
        "X-Hub-Signature-256": signature_for(BODY, SECRET.encode()),
    }


async def wait_until(check: Callable[[], object]) -> None:
    """Poll ``check`` (run in a thread) until it is true; the caller sets the deadline."""
    while not await trio.to_thread.run_sync(check):  # noqa: ASYNC110 - another process: no event
        await trio.sleep(0.1)


@pytest.fixture
def private_postgres() -> Iterator[Cluster]:
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("needs the PostgreSQL server binaries to run a cluster it may restart")
    with throwaway_cluster(bindir, fsync=False) as cluster:
        yield cluster


def statuses_by_delivery(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT delivery_id, status FROM deliveries").fetchall())


async def start_serve(
    env: dict[str, str], cwd: Path, *, stderr: int = subprocess.DEVNULL
) -> tuple[trio.Process, str]:
    port = free_port()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "snekomatic", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stderr=stderr,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    with trio.fail_after(30):
        await wait_until(ready)
    return process, base


async def test_serve_survives_a_database_restart_without_losing_accepted_deliveries(
    private_postgres: Cluster, tmp_path: Path
) -> None:
    url = private_postgres.url
    process, base = await start_serve(serve_env(url), tmp_path)
    accepted: set[str] = set()
    answers: list[int] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def deliver() -> None:
                delivery_id = str(uuid.uuid4())
                response = await http.post(
                    "/webhook/github", content=BODY, headers=headers(delivery_id)
                )
                answers.append(response.status_code)
                if response.status_code == 202:
                    accepted.add(delivery_id)

            for _ in range(20):
                await deliver()
            restarted = trio.Event()

            async def restart() -> None:
                await trio.to_thread.run_sync(private_postgres.restart)
                restarted.set()

            with trio.fail_after(60):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(restart)
                    sent = 0
                    while not restarted.is_set() and sent < 500:
                        await deliver()
                        sent += 1
                        await trio.sleep(0.01)
            after_restart = len(answers)
            for _ in range(20):
                await deliver()

        assert set(answers) <= {202, 503}  # a failure is a 503 that GitHub records, never a 500
        assert answers[after_restart + 5 :] == [202] * 15  # the pool has reconnected
        with trio.fail_after(60):
            await wait_until(
                lambda: all(statuses_by_delivery(url).get(d) == "done" for d in accepted)
            )
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(25):
            assert await process.wait() == 0
    finally:
        process.kill()
    stored = statuses_by_delivery(url)
    assert accepted <= set(stored)  # every 202 is a stored delivery
    assert len(accepted) >= 40


async def test_serve_says_where_it_listens_once(tmp_path: Path) -> None:
    env = {**serve_env(f"sqlite:///{tmp_path / 'bot.sqlite3'}"), "LOG_FORMAT": "json"}
    process, base = await start_serve(env, tmp_path, stderr=subprocess.PIPE)
    try:
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(25):
            assert await process.wait() == 0
        assert process.stderr is not None
        output = b""
        while chunk := await process.stderr.receive_some():
            output += chunk
    finally:
        process.kill()
    lines = [json.loads(line) for line in output.decode().splitlines()]
    assert [line["event"] for line in lines if base in json.dumps(line)] == ["listening"]
