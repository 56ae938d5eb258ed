"""``snekomatic dev``: the fake GitHub with its demo organization and the bot, in one process.

In-process tests run :func:`snekomatic.dev.run_dev` in the test's Trio run and act through the
simulator's HTTP endpoints, as the page does; they wait on the site's change feed (woken by every write
the fake answers), never by sleeping. The last test runs the real command as a process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from snekomatic.cli import main
from snekomatic.dev import DevError, DevOptions, DevSite, fresh_database, run_dev
from snekomatic.features.ping import PONG
from snekomatic.gh.testing import FakeComment, FakePullRequest
from tests.loopback import free_port

DEADLINE = 30  # seconds of real time: the bot paces its writes 1 s apart


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DevSite]:
    stop = trio.Event()
    options = DevOptions(port=0, fake_port=0, database=tmp_path / "dev.sqlite3")
    async with trio.open_nursery() as nursery:
        running: DevSite = await nursery.start(partial(run_dev, options, stop=stop))
        yield running
        stop.set()


def bot_comments(site: DevSite, pr: FakePullRequest) -> list[FakeComment]:
    return [c for c in site.fake.comments_on(pr.repo, pr.number) if c.author is site.fake.bot]


def invitees(site: DevSite) -> list[str]:
    return [i.invitee.login for i in site.fake.invitations_for(site.world.org)]


async def simulator_post(site: DevSite, path: str, fields: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=site.fake_url) as http:
        return await http.post(f"/_simulator/api{path}", json=fields)


async def test_merging_a_contributors_pull_request_invites_and_welcomes_them(
    site: DevSite,
) -> None:
    pr = site.world.pulls["zeke"]
    maintainer = site.world.maintainers[0].login
    with trio.fail_after(DEADLINE):
        response = await simulator_post(
            site, f"/repos/snake-pit/hissing/pulls/{pr.number}/merge", {"merged_by": maintainer}
        )
        assert response.status_code == 201, response.text
        await site.wait_until(lambda: bool(invitees(site)) and bool(bot_comments(site, pr)))
    assert invitees(site) == ["zeke"]
    (welcome,) = bot_comments(site, pr)
    assert "@zeke" in welcome.body and "snake-pit" in welcome.body


async def test_ping_in_a_simulator_comment_gets_pong(site: DevSite) -> None:
    pr = site.world.pulls["nadia"]
    with trio.fail_after(DEADLINE):
        response = await simulator_post(
            site,
            f"/repos/snake-pit/hissing/issues/{pr.number}/comments",
            {"author": "nadia", "body": "/ping"},
        )
        assert response.status_code == 201, response.text
        await site.wait_until(lambda: bool(bot_comments(site, pr)))
    (pong,) = bot_comments(site, pr)
    assert pong.body.startswith(PONG)


async def test_the_fakes_webhooks_go_to_the_bot_and_are_accepted(site: DevSite) -> None:
    pr = site.world.pulls["dependabot[bot]"]
    with trio.fail_after(DEADLINE):
        await simulator_post(
            site, f"/repos/snake-pit/hissing/pulls/{pr.number}/merge", {"merged_by": "ada"}
        )
    delivery = site.fake.deliveries[0]  # the redelivery sweep may add attempts of its own
    assert (delivery.event, delivery.action, delivery.status_code) == (
        "pull_request",
        "closed",
        202,
    )


async def test_the_bot_answers_on_its_own_url(site: DevSite) -> None:
    with trio.fail_after(DEADLINE):
        async with httpx.AsyncClient() as http:
            health = await http.get(site.healthz_url)
            page = await http.get(site.simulator_url)
    assert (health.status_code, page.status_code) == (200, 200)
    assert 'data-testid="merge-button"' in page.text


def test_demo_organization_has_active_and_pending_members() -> None:
    from snekomatic.dev import seed_demo
    from snekomatic.gh.testing import FakeGitHub, generate_private_key

    fake = FakeGitHub(private_key=generate_private_key())
    world = seed_demo(fake)
    states = {m.user.login: m.state for m in world.org.members.values()}
    assert states == {"ada": "active", "guido": "active", "margaret": "pending"}


def test_demo_pull_requests_are_open_and_by_outsiders_and_a_bot() -> None:
    from snekomatic.dev import seed_demo
    from snekomatic.gh.testing import FakeGitHub, generate_private_key

    fake = FakeGitHub(private_key=generate_private_key())
    world = seed_demo(fake)
    authors = {login: (pr.author.type, pr.issue.state) for login, pr in world.pulls.items()}
    assert authors == {
        "zeke": ("User", "open"),
        "nadia": ("User", "open"),
        "dependabot[bot]": ("Bot", "open"),
    }


def test_fresh_database_removes_the_previous_runs_files(tmp_path: Path) -> None:
    database = tmp_path / "dev.sqlite3"
    database.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
    wal = tmp_path / "dev.sqlite3-wal"
    wal.write_bytes(b"")
    fresh_database(database)
    assert (database.exists(), wal.exists()) == (False, False)


def test_fresh_database_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("not a database")
    with pytest.raises(DevError, match="not an SQLite database"):
        fresh_database(precious)
    assert precious.read_text() == "not a database"


# -- the command, as a process -------------------------------------------------------------------


def wait_for_health(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    """Poll another process's /healthz until 200 (there is no event to wait for across processes)."""
    stop = time.monotonic() + deadline
    while True:
        if process.poll() is not None:
            raise AssertionError(f"snekomatic dev exited early with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > stop:
            raise AssertionError(f"{url} did not answer 200 within {deadline} s")
        time.sleep(0.1)


@pytest.mark.skipif(
    "dev" not in main.commands,
    reason="`snekomatic dev` is not registered yet: snekomatic.cli needs main.add_command(dev)",
)
def test_dev_process_prints_the_urls_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    port, fake_port = free_port(), free_port()
    # Settings the command must ignore: read, they would stop it (a bad app id) or misdirect it.
    (tmp_path / ".env").write_text("GITHUB_APP_ID=not-a-number\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_URL"))}
    env.update(
        GITHUB_API_URL="http://127.0.0.1:9/", DATABASE_URL="postgresql://nobody@127.0.0.1:9/none"
    )
    argv = [sys.executable, "-m", "snekomatic", "dev", "--port", str(port)]
    argv += ["--fake-port", str(fake_port)]
    with (tmp_path / "dev.log").open("w") as log:
        process = subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz", process, deadline=30)
        simulator = httpx.get(f"http://127.0.0.1:{fake_port}/_simulator", timeout=5)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=25)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, (tmp_path / "dev.log").read_text()[-2000:]
    assert simulator.status_code == 200
    assert f"http://127.0.0.1:{fake_port}/_simulator" in output
    assert f"http://127.0.0.1:{port}/healthz" in output
    assert (tmp_path / "snekomatic-dev.sqlite3").exists()
