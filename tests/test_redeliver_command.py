"""``snekomatic redeliver`` as a real process against a served fake GitHub."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from snekomatic.gh.testing import GitHubWorld
from snekomatic.runtime import serve_http
from tests.test_cli import run_async


async def accepted(request: Request) -> Response:
    return Response(status_code=202)


# A stand-in bot that accepts every webhook.
accept_all = Starlette(routes=[Route("/webhook/github", accepted, methods=["POST"])])


@pytest.fixture
def world_clock() -> Callable[[], float]:
    return time.time  # the command signs its JWTs on this machine's clock


async def redeliver(
    *args: str, world: GitHubWorld, cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    return await run_async(
        [sys.executable, "-m", "snekomatic", "redeliver", *args],
        cwd,
        **world.app_environ(),
        DATABASE_URL=f"sqlite:///{cwd / 'snekomatic.sqlite3'}",
    )


async def test_redeliver_asks_once_for_each_failed_delivery(
    github_world: GitHubWorld, nursery: trio.Nursery, tmp_path: Path
) -> None:
    # GitHub's clock runs two minutes behind ours: the failed attempt has settled by our reckoning,
    # and the app's JWT is rebuilt from GitHub's Date header, as it would be with a skewed host.
    fake, org = github_world.fake, github_world.org
    fake.clock_skew = -120
    fake.webhook_url = "http://127.0.0.1:9/webhook/github"
    repo = fake.add_repo(org, "widgets")
    author = fake.add_user("newcomer")
    with trio.fail_after(120):
        pr = fake.open_pull_request(repo, author=author, title="fix")
        failed = await fake.merge_pull_request(pr, merged_by=author)
        assert failed is not None and failed.status_code == 0

        dry = await redeliver("--dry-run", world=github_world, cwd=tmp_path)
        assert b"would redeliver 1" in dry.stdout, dry.stderr
        assert not any(d.redelivery for d in fake.deliveries)

        # The bot is back: redeliveries now reach it.
        [receiver] = await nursery.start(partial(serve_http, accept_all, host="127.0.0.1", port=0))
        fake.webhook_url = f"{receiver}/webhook/github"

        real = await redeliver(world=github_world, cwd=tmp_path)
        again = await redeliver(world=github_world, cwd=tmp_path)
    assert real.returncode == 0 and b"redelivered 1" in real.stdout, real.stderr
    assert again.returncode == 0 and b"redelivered 0" in again.stdout, again.stderr
    assert [(d.guid, d.status_code) for d in fake.deliveries if d.redelivery] == [
        (failed.guid, 202)
    ]
