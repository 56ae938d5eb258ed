"""``snekomatic dev``: the fake GitHub with its demo organization and the bot, in one process.

In-process tests run :func:`snekomatic.dev.run_dev` in the test's Trio run and act through the
simulator's HTTP endpoints, as the page does; they wait on the site's change feed (woken by every write
the fake answers), never by sleeping. The last test runs the real command as a process.
"""

from __future__ import annotations

import json
import re
import shlex
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
from snekomatic.cli._dev import describe_site
from snekomatic.dev import (
    DEFAULT_DATABASE,
    DEFAULT_RUN_FILE,
    DevError,
    DevOptions,
    DevSite,
    fresh_database,
    read_run_file,
    run_dev,
    run_file_for,
)
from snekomatic.features.ping import PONG
from snekomatic.gh.testing import FakeComment, FakePullRequest, issue_comment_payload
from tests.loopback import free_port_pair
from tests.test_cli import clean_env, run_async

DEADLINE = 30  # seconds of real time: the bot paces its writes 1 s apart


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DevSite]:
    """A dev site run from ``tmp_path`` as a person runs it: the default database name there."""
    stop = trio.Event()
    options = DevOptions(port=0, database=tmp_path / DEFAULT_DATABASE)
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


async def simulator_state(site: DevSite) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=site.fake_url) as http:
        state: dict[str, object] = (await http.get("/_simulator/api/state")).json()
    return state


async def test_the_page_shows_the_bots_decision_on_a_newcomers_merge(site: DevSite) -> None:
    pr = site.world.pulls["zeke"]
    with trio.fail_after(DEADLINE):
        await simulator_post(
            site, f"/repos/snake-pit/hissing/pulls/{pr.number}/merge", {"merged_by": "ada"}
        )
        await site.wait_until(lambda: bool(invitees(site)) and bool(bot_comments(site, pr)))
        state = await simulator_state(site)
    (repo,) = state["repos"]  # type: ignore[misc]
    (pull,) = [p for p in repo["pulls"] if p["number"] == pr.number]
    assert pull["decision"]["kind"] == "invited"  # commented, or about to be recorded so
    assert "invited zeke to snake-pit" in pull["decision"]["text"]


@pytest.mark.parametrize(
    ("options", "port"),
    [
        (DevOptions(port=8000), 8001),
        (DevOptions(port=0), 0),
        (DevOptions(port=8000, fake_port=9000), 9000),
    ],
    ids=["next-to-the-bot", "any-free-port", "chosen"],
)
def test_the_simulator_listens_next_to_the_bot_unless_told(options: DevOptions, port: int) -> None:
    assert options.simulator_port == port


def test_replay_dev_reads_the_run_file_of_the_default_database() -> None:
    assert run_file_for(DEFAULT_DATABASE) == DEFAULT_RUN_FILE


async def test_the_run_file_names_the_bot_and_goes_when_dev_stops(tmp_path: Path) -> None:
    stop = trio.Event()
    options = DevOptions(port=0, database=tmp_path / "dev.sqlite3")
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            site: DevSite = await nursery.start(partial(run_dev, options, stop=stop))
            run = read_run_file(site.run_file)
            mode = site.run_file.stat().st_mode & 0o777
            stop.set()
    assert site.run_file == tmp_path / "dev.json"
    assert (run.webhook_url, run.webhook_secret) == (site.webhook_url, site.webhook_secret)
    assert run.database_url == site.database_url
    assert mode == 0o600
    assert not site.run_file.exists()


SNEKOMATIC = [sys.executable, "-m", "snekomatic"]


async def test_what_dev_prints_starts_with_the_simulator_and_its_commands_work(
    site: DevSite, tmp_path: Path
) -> None:
    text = describe_site(site, cwd=tmp_path)
    assert re.findall(r"https?://\S+", text)[0] == site.simulator_url
    assert site.webhook_secret in text
    assert "snekomatic replay FILE --dev" in text
    with trio.fail_after(DEADLINE):
        await simulator_post(site, "/repos/snake-pit/hissing/pulls/1/merge", {"merged_by": "ada"})
        for line in text.splitlines():
            if "DATABASE_URL=" not in line:
                continue
            words = shlex.split(line.replace(" ID", " 1"))
            name, _, value = words[0].partition("=")
            result = await run_async([sys.executable, "-m", *words[1:]], tmp_path, **{name: value})
            assert result.returncode == 0, result.stderr.decode()
            assert b"pull_request" in result.stdout or b"delivery 1" in result.stdout


async def test_replay_dev_sends_a_payload_to_the_dev_bot_running_here(
    site: DevSite, tmp_path: Path
) -> None:
    pr = site.world.pulls["nadia"]
    comment = site.fake.create_comment(pr.repo, pr.number, author=pr.author, body="/ping")
    payload = issue_comment_payload(
        comment,
        pr.issue,
        action="created",
        sender=pr.author,
        installation=site.world.installation,
        api_url=site.fake_url,
    )
    (tmp_path / "comment.json").write_text(json.dumps(payload))
    with trio.fail_after(DEADLINE):
        # No webhook secret in the environment: --dev finds the dev bot's.
        result = await run_async(
            [*SNEKOMATIC, "replay", "comment.json", "--dev", "--event", "issue_comment"], tmp_path
        )
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.startswith(b"202 Accepted")
        await site.wait_until(lambda: bool(bot_comments(site, pr)))
    (pong,) = bot_comments(site, pr)
    assert pong.body.startswith(PONG)


def test_replay_dev_with_no_dev_running_here_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "payload.json").write_text("{}")
    result = subprocess.run(
        [*SNEKOMATIC, "replay", "payload.json", "--dev", "--event", "ping"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "snekomatic: no snekomatic dev is running here: snekomatic-dev.json not found "
        "(start `snekomatic dev` in this directory)"
    ]


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
    port = free_port_pair()
    fake_port = port + 1  # by default, the simulator listens next to the bot
    # Settings the command must ignore: read, they would stop it (a bad app id) or misdirect it.
    (tmp_path / ".env").write_text("GITHUB_APP_ID=not-a-number\n")
    env = clean_env(
        GITHUB_API_URL="http://127.0.0.1:9/", DATABASE_URL="postgresql://nobody@127.0.0.1:9/none"
    )
    argv = [sys.executable, "-m", "snekomatic", "dev", "--port", str(port)]
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
    log_text = (tmp_path / "dev.log").read_text()
    assert simulator.status_code == 200
    # The first address a person reads is the simulator's: start-up logs none before it.
    assert re.findall(r"http://\S+", output)[0] == f"http://127.0.0.1:{fake_port}/_simulator"
    assert "http://" not in log_text.partition("shutting down")[0]
    assert f"http://127.0.0.1:{port}/healthz" in output
    # Started as `python -m snekomatic`: the commands it prints run the same way.
    assert f"{sys.executable} -m snekomatic status --no-github" in output
    assert (tmp_path / "snekomatic-dev.sqlite3").exists()
    assert not (tmp_path / "snekomatic-dev.json").exists()  # the run file goes with the run
