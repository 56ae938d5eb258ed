"""GitHub's one write per second is per installation, whichever process writes: two ``snekomatic
worker`` processes acting for one installation, on one PostgreSQL, write at most once a second between
them (issue 10, item 5).

Three processes: a ``serve`` with no workers takes the webhooks in; two ``worker`` processes, each with
its own User-Agent so that the fake's request log tells them apart, process them. The fake records the
arrival time of every request; the installation's writes must arrive about a second apart or more.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine, text

from snekomatic.store import create_store_engine
from tests.e2e.conftest import (
    Deployment,
    ServeProcess,
    hosted_github,
    start_serve,
    stop_serve,
    wait_until,
)

MERGES = 6  # each an invitation and a thank-you comment: about a dozen writes, so a dozen seconds
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# GitHub asks for 1 s; the fake stamps arrivals, a few milliseconds after the bot's reserved starts.
LEAST_GAP = 0.9


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def _listeners(engine: Engine) -> int:
    """How many connections wait on LISTEN: each worker process holds one once it is running."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            ).scalar_one()
        )


@pytest.fixture
def pacing_deployment(
    postgres_module_database: str, tmp_path: Path
) -> Iterator[tuple[Deployment, list[subprocess.Popen[bytes]]]]:
    with hosted_github(postgres_module_database) as (host, env):
        fake = host.fake
        serve: ServeProcess = start_serve(env, tmp_path, workers=0)
        host.run_blocking(setattr, fake, "webhook_url", serve.webhook_url)
        workers = []
        for n in (1, 2):
            worker_env = {**env, "GITHUB_USER_AGENT": f"snekomatic-e2e/1.0 (worker {n})"}
            with (tmp_path / f"worker-{n}.log").open("ab") as log:
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "snekomatic", "worker", "--workers", "2"],
                        env=worker_env,
                        cwd=tmp_path,
                        stdout=log,
                        stderr=log,
                    )
                )
        engine = create_store_engine(postgres_module_database)
        try:
            yield (
                Deployment(
                    host=host, serve=serve, database=postgres_module_database, engine=engine
                ),
                workers,
            )
        finally:
            statuses = [_stop(worker) for worker in workers]
            status = stop_serve(serve)
            engine.dispose()
        logs = "\n".join((tmp_path / f"worker-{n}.log").read_text()[-2000:] for n in (1, 2))
        assert statuses == [0, 0], f"workers exited with {statuses}:\n{logs}"
        assert status == 0, f"serve exited with {status}:\n{serve.log_tail()}"


async def test_two_worker_processes_write_to_one_installation_a_second_apart(
    pacing_deployment: tuple[Deployment, list[subprocess.Popen[bytes]]],
) -> None:
    deployment, workers = pacing_deployment
    with trio.fail_after(20):

        async def both_running() -> bool:
            assert all(worker.poll() is None for worker in workers), "a worker exited"
            return await trio.to_thread.run_sync(_listeners, deployment.engine) >= 2

        await wait_until(both_running, interval=0.1)

    world = await deployment.world()
    contributors = [await deployment.user("newcomer") for _ in range(MERGES)]
    start = await deployment.request_count()
    with trio.fail_after(60):
        deliveries = [(await deployment.merge(world, person))[1] for person in contributors]
        for delivery in deliveries:
            assert await deployment.wait_finished(delivery.guid) == "done"

    assert sorted(await deployment.invitees(world)) == sorted(p.login for p in contributors)
    writes = [
        request
        for request in await deployment.requests_since(start)
        if request.method in WRITES and request.headers.get("authorization") == "token"
    ]
    assert len(writes) >= 2 * MERGES  # an invitation and a comment each
    by_worker = {request.headers["user-agent"] for request in writes}
    assert len(by_worker) == 2, f"only {by_worker} wrote: the test shows nothing"
    times = sorted(request.time for request in writes)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert min(gaps) >= LEAST_GAP, gaps
