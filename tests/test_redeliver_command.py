"""``snekomatic redeliver`` as a real process against a served fake GitHub."""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from snekomatic.gh.testing import FakeGitHub, generate_private_key, serve_fake_github
from snekomatic.runtime import serve_http
from tests.test_cli import clean_env

KEY = generate_private_key()


async def accepted(request: Request) -> Response:
    return Response(status_code=202)


# A stand-in bot that accepts every webhook.
accept_all = Starlette(routes=[Route("/webhook/github", accepted, methods=["POST"])])


async def redeliver(*args: str, fake: FakeGitHub, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert fake.base_url is not None
    env = clean_env(
        GITHUB_APP_ID=str(fake.app_id),
        GITHUB_PRIVATE_KEY=KEY,
        GITHUB_WEBHOOK_SECRET=fake.webhook_secret,
        GITHUB_API_URL=fake.base_url,
        DATABASE_URL=f"sqlite:///{cwd / 'snekomatic.sqlite3'}",
    )
    return await trio.run_process(
        [sys.executable, "-m", "snekomatic", "redeliver", *args],
        env=env,
        cwd=cwd,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )


async def test_redeliver_asks_once_for_each_failed_delivery(tmp_path: Path) -> None:
    # GitHub's clock runs two minutes behind ours: the failed attempt has settled by our reckoning,
    # and the app's JWT is rebuilt from GitHub's Date header, as it would be with a skewed host.
    fake = FakeGitHub(
        app_id=11,
        private_key=KEY,
        webhook_url="http://127.0.0.1:9/webhook/github",
        clock=lambda: time.time() - 120,
    )
    org = fake.add_org("acme")
    fake.install(org)
    repo = fake.add_repo(org, "widgets")
    author = fake.add_user("newcomer")
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_fake_github, fake)
            pr = fake.open_pull_request(repo, author=author, title="fix")
            failed = await fake.merge_pull_request(pr, merged_by=author)
            assert failed is not None and failed.status_code == 0

            dry = await redeliver("--dry-run", fake=fake, cwd=tmp_path)
            assert b"would redeliver 1" in dry.stdout, dry.stderr
            assert not any(d.redelivery for d in fake.deliveries)

            # The bot is back: redeliveries now reach it.
            [receiver] = await nursery.start(
                partial(serve_http, accept_all, host="127.0.0.1", port=0)
            )
            fake.webhook_url = f"{receiver}/webhook/github"

            real = await redeliver(fake=fake, cwd=tmp_path)
            again = await redeliver(fake=fake, cwd=tmp_path)
            nursery.cancel_scope.cancel()
    assert real.returncode == 0 and b"redelivered 1" in real.stdout, real.stderr
    assert again.returncode == 0 and b"redelivered 0" in again.stdout, again.stderr
    assert [(d.guid, d.status_code) for d in fake.deliveries if d.redelivery] == [
        (failed.guid, 202)
    ]
